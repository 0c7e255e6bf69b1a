// Throw-away project directories for tests.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

// Every test file is bundled with its own copy of this module; they share one list and
// one exit listener through a process-wide key, instead of one listener per bundle.
const KEY = Symbol.for("moonrig.test.projects");
const shared = globalThis as { [KEY]?: string[] };
const made: string[] = shared[KEY] ?? (() => {
  const list: string[] = [];
  shared[KEY] = list;
  process.on("exit", () => {
    for (const dir of list) rmSync(dir, { recursive: true, force: true });
  });
  return list;
})();

export function makeProject(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(tmpdir(), "moonrig-test-"));
  made.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
