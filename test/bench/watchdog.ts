// The cost of the VM watchdog (the count hook that lets --run-for, Ctrl-C and close() stop
// Lua that never yields): CPU time of a loop of Lua calls and arithmetic with the hook, as
// every script runs, against the same loop after `debug.sethook()` removed it. Each sample
// is its own process, the two kinds alternating, so JIT warm-up and load hit both alike.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { median, type Benchmark } from "./bench.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ITERATIONS = 3_000_000;

const SCRIPT = `
if arg[1] == "off" then debug.sethook() end
local function step(x) return x + 1 end
local function work(n) local s = 0 for i = 1, n do s = step(s) + i % 7 end return s end
work(100000)
local started = os.clock()
work(${ITERATIONS})
print(os.clock() - started)
`;

function sample(script: string, mode: "on" | "off"): number {
  const result = spawnSync(process.execPath, [join(ROOT, "bin", "moonrig.cjs"), script, mode], { encoding: "utf8" });
  const seconds = Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(seconds)) throw new Error(`watchdog bench (${mode}) failed: ${result.stderr}`);
  return seconds;
}

export const watchdogBenchmark: Benchmark = async ({ runs }) => {
  const dir = mkdtempSync(join(tmpdir(), "moonrig-bench-"));
  try {
    const script = join(dir, "watchdog.lua");
    writeFileSync(script, SCRIPT);
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        on.push(sample(script, "on"));
        off.push(sample(script, "off"));
      } else {
        off.push(sample(script, "off"));
        on.push(sample(script, "on"));
      }
    }
    const nsPerIteration = (seconds: number): string => `${((seconds * 1e9) / ITERATIONS).toFixed(1)} ns/iteration`;
    return [{
      name: "Lua loop with calls, watchdog hook vs none (CPU)",
      moonrig: nsPerIteration(median(on)),
      baseline: `${nsPerIteration(median(off))} (debug.sethook())`,
      ratio: median(on.map((t, i) => t / (off[i] as number))),
      target: { op: "<=", value: 1.05 },
    }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
