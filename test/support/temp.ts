// Temporary folders for tests: `tempDir` makes one in the system's temp folder and removes
// it, with everything in it, when the test process exits. Exit rather than an after hook:
// support modules (Mosquitto, certificates) and the benchmarks use it outside any suite,
// and a folder a suite's `before` made stays valid for every test in it. Mocha runs with
// `exit: true`, so the listener runs at the end of every run, passed or failed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Every test file is bundled with its own copy of this module; they share one list and
// one exit listener through a process-wide key, instead of one listener per bundle.
const KEY = Symbol.for("moonrig.test.tempDirs");
const shared = globalThis as { [KEY]?: Set<string> };

function made(): Set<string> {
  const known = shared[KEY];
  if (known) return known;
  const dirs = new Set<string>();
  shared[KEY] = dirs;
  process.on("exit", () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return dirs;
}

/** A new folder `moonrig-NAME-XXXXXX` in os.tmpdir(), removed when the process exits. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `moonrig-${name}-`));
  made().add(dir);
  return dir;
}

/** Removes a folder from `tempDir` now, for callers that are done with it early. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made().delete(dir);
}
