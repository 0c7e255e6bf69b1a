// `npm run bench`: measures moonrig against plain node and prints one markdown table.
// Every figure in a row comes from one run of this program, with the two sides measured
// alternately, so machine load affects both alike. Not part of `npm test`.
//
//   node build/bench/bench.js [--runs N] [--only NAME[,NAME]] [--soak-seconds S] [--soak-messages M] [--strict]
//
// --runs N          samples per side (default 21, at least 15); BENCH_RUNS=N works too
// --only            run only the named benchmarks (startup, mqtt, at, watchdog, soak)
// --soak-seconds S  how long the soak benchmark publishes (default 300) and idles (at most 60)
// --soak-messages M how many QoS 0 messages the soak receivers get (default 1000000; QoS 1: a
//                   tenth). Shorter runs are for trying changes out; the documented figures
//                   come from the defaults.
// --strict          exit 1 when a row misses its target
//
// A benchmark is a function returning rows, or a table of its own where its figures do not
// fit the rows' columns (soak); add new ones to BENCHMARKS below.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mqttBenchmark } from "./mqtt.js";
import { atBenchmark } from "./at.js";
import { watchdogBenchmark } from "./watchdog.js";
import { soakBenchmark } from "./soak.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Target {
  /** "<=": smaller is better (time ratios); ">=": larger is better (throughput ratios). */
  op: "<=" | ">=";
  value: number;
}

export interface Row {
  name: string;
  /** moonrig's figure, formatted with its unit. */
  moonrig: string;
  /** The reference figure, formatted, naming what it is. */
  baseline: string;
  /** moonrig / baseline (for timings: the median of per-round ratios). */
  ratio: number;
  /** Absent for rows that are only informative. */
  target?: Target;
}

/** A benchmark whose figures do not fit Row's columns (the soak runs): a table of its own. */
export interface Table {
  columns: string[];
  /** `cells` in the order of `columns`; the result column follows from `pass`. */
  rows: Array<{ cells: string[]; pass: boolean }>;
}

export interface BenchContext {
  runs: number;
  soakSeconds: number;
  soakMessages: number;
}

export type Benchmark = (context: BenchContext) => Promise<Row[] | Table>;

// ---------------------------------------------------------------------------------------
// Helpers

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

interface Command {
  file: string;
  args: string[];
}

/** Wall time of one run in ms, from spawn to exit; throws if the command fails. */
function timeRun(command: Command, options: SpawnSyncOptions): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command.file, command.args, options);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command.file} ${command.args.join(" ")} exited with ${result.status ?? result.signal}`);
  return elapsed;
}

interface Comparison {
  /** Median wall time of each command, ms. */
  a: number;
  b: number;
  /** Median over the rounds of a/b: each round runs both back to back, so the ratio stays
   *  fair when the machine speeds up or slows down during the benchmark. */
  ratio: number;
}

/**
 * Times two commands over `runs` rounds, alternating A B / B A so neither side always runs
 * first; a few unmeasured rounds go first (disk cache, CPU clocks).
 */
function alternate(a: Command, b: Command, runs: number, options: SpawnSyncOptions): Comparison {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < 3; i++) {
    timeRun(a, options);
    timeRun(b, options);
  }
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      times[0].push(timeRun(a, options));
      times[1].push(timeRun(b, options));
    } else {
      times[1].push(timeRun(b, options));
      times[0].push(timeRun(a, options));
    }
  }
  return { a: median(times[0]), b: median(times[1]), ratio: median(times[0].map((t, i) => t / (times[1][i] as number))) };
}

/** The user-facing command: package.json's "bin", run as a user's shell runs it. */
export function moonrigCommand(): Command {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.["moonrig"];
  if (!bin) throw new Error("package.json has no bin for moonrig");
  const file = join(ROOT, bin);
  // Windows cannot execute a script by its #! line; elsewhere run it as the shell would.
  return process.platform === "win32" ? { file: process.execPath, args: [file] } : { file, args: [] };
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;

// ---------------------------------------------------------------------------------------
// Benchmarks

/**
 * Start-up: `moonrig hello.lua` (the bin command, as typed by a user) against `node -e 0`.
 * Output goes to /dev/null, as with hyperfine; it is checked once beforehand.
 * NODE_EXTRA_CA_CERTS makes node parse a CA bundle at every start (tens of ms here), which
 * shrinks every ratio; when it is set, the rows are also measured without it.
 */
const startup: Benchmark = async ({ runs }) => {
  const dir = mkdtempSync(join(tmpdir(), "moonrig-bench-"));
  try {
    const script = join(dir, "hello.lua");
    writeFileSync(script, 'print("hello world")\n');
    const moonrig = moonrigCommand();
    const hello: Command = { file: moonrig.file, args: [...moonrig.args, script] };
    const plain: Command = { file: process.execPath, args: [join(ROOT, "dist", "cli.js"), script] };
    const node: Command = { file: process.execPath, args: ["-e", "0"] };
    for (const command of [hello, plain]) {
      const check = spawnSync(command.file, command.args, { encoding: "utf8", cwd: dir });
      if (check.status !== 0 || check.stdout !== "hello world\n") {
        throw new Error(`${command.file} ${command.args.join(" ")} printed ${JSON.stringify(check.stdout)} (status ${check.status}): ${check.stderr}`);
      }
    }
    const environments: Array<[string, NodeJS.ProcessEnv]> = [["", process.env]];
    if (process.env["NODE_EXTRA_CA_CERTS"]) {
      const clean = { ...process.env };
      delete clean["NODE_EXTRA_CA_CERTS"];
      environments.push([", NODE_EXTRA_CA_CERTS unset", clean]);
    }
    const rows: Row[] = [];
    for (const [label, env] of environments) {
      const options: SpawnSyncOptions = { cwd: dir, env, stdio: "ignore" };
      const result = alternate(hello, node, runs, options);
      rows.push({ name: `startup hello-world${label}`, moonrig: ms(result.a), baseline: `${ms(result.b)} (node -e 0)`, ratio: result.ratio, target: { op: "<=", value: 1.3 } });
    }
    // For reference: the plain ES module entry (what bin/moonrig.cjs falls back to).
    const options: SpawnSyncOptions = { cwd: dir, env: environments.at(-1)?.[1], stdio: "ignore" };
    const result = alternate(plain, node, Math.max(5, Math.ceil(runs / 3)), options);
    rows.push({ name: `startup, plain dist/cli.js${environments.length > 1 ? environments[1]?.[0] : ""}`, moonrig: ms(result.a), baseline: `${ms(result.b)} (node -e 0)`, ratio: result.ratio });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const BENCHMARKS: ReadonlyArray<[string, Benchmark]> = [["startup", startup], ["mqtt", mqttBenchmark], ["at", atBenchmark], ["watchdog", watchdogBenchmark], ["soak", soakBenchmark]];

// ---------------------------------------------------------------------------------------
// Table

function verdict(row: Row): string {
  if (!row.target) return "—";
  const ok = row.target.op === "<=" ? row.ratio <= row.target.value : row.ratio >= row.target.value;
  return ok ? "PASS" : "FAIL";
}

function formatTable(rows: readonly Row[]): string {
  const lines = [
    "| benchmark | moonrig | baseline | ratio | target | result |",
    "| --- | ---: | ---: | ---: | --- | --- |",
    ...rows.map((row) => `| ${row.name} | ${row.moonrig} | ${row.baseline} | ${row.ratio.toFixed(2)} | ${row.target ? `${row.target.op === "<=" ? "≤" : "≥"} ${row.target.value}` : "—"} | ${verdict(row)} |`),
  ];
  return lines.join("\n");
}

function formatOwnTable(table: Table): string {
  const lines = [
    `| ${[...table.columns, "result"].join(" | ")} |`,
    `| --- |${" ---: |".repeat(table.columns.length - 2)} --- | --- |`,
    ...table.rows.map((row) => `| ${[...row.cells, row.pass ? "PASS" : "FAIL"].join(" | ")} |`),
  ];
  return lines.join("\n");
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${process.platform}-${process.arch}, nproc ${availableParallelism()}, ${cpu}`;
}

/** Other work on the machine skews wall times (moonrig more than node -e 0): say how much there was. */
const load = (): string => (process.platform === "win32" ? "n/a" : (loadavg()[0] ?? 0).toFixed(2));

async function main(argv: readonly string[]): Promise<number> {
  const at = argv.indexOf("--runs");
  const runs = Number(at >= 0 ? argv[at + 1] : (process.env["BENCH_RUNS"] ?? 21));
  if (!Number.isInteger(runs) || runs < 15) throw new Error("--runs must be a whole number of at least 15");
  const soak = argv.indexOf("--soak-seconds");
  const soakSeconds = soak >= 0 ? Number(argv[soak + 1]) : 300;
  if (!(soakSeconds >= 5)) throw new Error("--soak-seconds must be a number of at least 5");
  const messages = argv.indexOf("--soak-messages");
  const soakMessages = messages >= 0 ? Number(argv[messages + 1]) : 1_000_000;
  if (!Number.isInteger(soakMessages) || soakMessages < 100_000) throw new Error("--soak-messages must be a whole number of at least 100000");
  const only = argv.indexOf("--only");
  const chosen = only >= 0 ? (argv[only + 1] ?? "").split(",") : BENCHMARKS.map(([name]) => name);
  const unknown = chosen.filter((name) => !BENCHMARKS.some(([known]) => known === name));
  if (unknown.length > 0) throw new Error(`--only: no benchmark named ${unknown.join(", ")}`);
  const rows: Row[] = [];
  const tables: Table[] = [];
  const loadBefore = load();
  for (const [name, benchmark] of BENCHMARKS.filter(([known]) => chosen.includes(known))) {
    process.stderr.write(`bench: ${name}...\n`);
    const result = await benchmark({ runs, soakSeconds, soakMessages });
    if (Array.isArray(result)) rows.push(...result);
    else tables.push(result);
  }
  const printed = [...(rows.length > 0 ? [formatTable(rows)] : []), ...tables.map(formatOwnTable)];
  process.stdout.write(`${machine()}; median of ${runs} alternating runs; load average ${loadBefore} before, ${load()} after\n\n${printed.join("\n\n")}\n`);
  const failed = rows.some((row) => verdict(row) === "FAIL") || tables.some((table) => table.rows.some((row) => !row.pass));
  return argv.includes("--strict") && failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
