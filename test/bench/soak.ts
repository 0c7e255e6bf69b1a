// Soak: memory and CPU of the moonrig command itself (package.json "bin", a process of its
// own) over long runs against a Mosquitto this run starts, read from /proc/PID/stat and
// /proc/PID/status every SAMPLE_MS:
//   receive  1,000,000 QoS 0 and 100,000 QoS 1 messages (NodeMCU and LuatOS, one at a time;
//            --soak-messages sets the first, the second is a tenth of it)
//   publish  a message every 10 ms for --soak-seconds (default 300; both flavours at once)
//   idle     a script waiting on a 60 s timer (both flavours at once)
// A run is cut in tenths (of its messages, or of its time): the warm-up level is the median
// RSS over a tenth once the heap's sizing has settled, the end level the median over the
// last tenth. Target: the end level within 10% of the warm-up level, and for the idle
// scripts CPU ≈ 0 as well.
// Settled means V8's young generation has its final size. It only holds objects that have
// not yet survived two scavenges, so a leak cannot stay in it; but V8 resizes it by its own
// heuristics (which weigh what survives scavenges): a receiver's grew 16 -> 32 MiB anywhere
// from 0.1 to over 3 million messages in, and one shrank back to 8 MiB, steps of 8-16 MiB
// of RSS that say nothing about leaks (BENCHMARKS.md, Soak). A probe that NODE_OPTIONS
// loads into moonrig reports the young generation's committed size after each GC on fd 3;
// the warm-up tenth starts half a tenth after its last change (second tenth at the earliest).
// Where that leaves no tenth before the last, RSS minus the committed young generation is
// compared instead, which the table says. That figure, second tenth against the last, must
// also stay within 10% in every run, so a warm-up moved late cannot hide a slow leak.
// Linux only (/proc).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { join } from "node:path";
import mqtt from "mqtt";
import { startMosquitto } from "../support/mosquitto.js";
import { removeTempDir, tempDir } from "../support/temp.js";
import { median, moonrigCommand, type Benchmark, type Table } from "./bench.js";

const SAMPLE_MS = 50;
/** The end level may exceed the warm-up level by this factor at most. */
const RSS_TARGET = 1.1;
/** Idle CPU seconds per minute at most: 0.1% of one core, a few clock ticks a minute. */
const IDLE_TARGET = 0.06;
/** Receivers print their count every STEP messages; the publisher stays WINDOW ahead of it. */
const STEP = 1000;
const WINDOW = 20000;
const IDLE_TIMER_S = 60;

type Flavor = "nodemcu" | "luatos";
const FLAVOR_NAME: Record<Flavor, string> = { nodemcu: "NodeMCU", luatos: "LuatOS" };

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

interface Usage {
  rssKiB: number;
  cpuSeconds: number;
}

function usage(pid: number): Usage {
  // Fields after the command name, which is in parentheses and may hold spaces: state is
  // field 3, utime and stime fields 14 and 15 (proc(5)).
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  // A process that has died but is not yet reaped (a zombie) has no VmRSS.
  if (!rss) throw new Error(`moonrig (pid ${pid}) has exited`);
  return { rssKiB: Number(rss[1]), cpuSeconds: ticks / CLOCK_TICKS };
}

interface Sample extends Usage {
  /** How far the run is, 0 to 1 (messages or time). */
  progress: number;
  /** V8's young generation (new space and its large objects), committed, as last reported. */
  youngKiB: number;
}

/**
 * Preloaded into moonrig (NODE_OPTIONS=--require): writes the young generation's committed
 * size in KiB on fd 3 at start and after every GC that changed it (only GCs change it). GC
 * entries come anyway, so the probe adds no wake-ups of its own (the idle scripts' CPU
 * stays theirs). Committed, not V8's "physical" size: only GCs change the committed size,
 * so what the probe reports is exact, while the physical one trails what is resident as
 * fresh pages are first used. Neither is what the young generation has resident (after a
 * growth not every committed page is touched at once): levels() compares the whole RSS
 * wherever V8 left a settled tenth, and uses RSS minus this only where it did not.
 */
const PROBE = `"use strict";
if (process.env.MOONRIG_SOAK_PROBE === "1") {
  delete process.env.MOONRIG_SOAK_PROBE;
  const { writeSync } = require("node:fs");
  const { getHeapSpaceStatistics } = require("node:v8");
  const { PerformanceObserver } = require("node:perf_hooks");
  let last = -1;
  const report = () => {
    let bytes = 0;
    for (const s of getHeapSpaceStatistics()) if (s.space_name === "new_space" || s.space_name === "new_large_object_space") bytes += s.space_size;
    const kib = Math.round(bytes / 1024);
    if (kib === last) return;
    last = kib;
    try { writeSync(3, kib + "\\n"); } catch {}
  };
  report();
  new PerformanceObserver(report).observe({ entryTypes: ["gc"] });
}
`;

// A benchmark that dies (an uncaught error) must not leave moonrig processes behind.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Both runs to their end (each stops its own moonrig), then the first failure, if any. */
async function together<T>(runs: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** The moonrig command running one script, with its output lines and /proc samples. */
class Moonrig {
  readonly samples: Sample[] = [];
  private readonly child: ChildProcess;
  private stderr = "";
  private partial = "";
  private readonly lineListeners: Array<(line: string) => void> = [];
  private sampler: NodeJS.Timeout | undefined;
  private readonly exited: Promise<void>;
  /** Why sampling stopped early. */
  private failure: Error | undefined;
  /** The young generation's size as the probe last reported it; -1 before its first report. */
  private youngKiB = -1;

  constructor(dir: string, name: string, script: string) {
    const file = join(dir, `${name}.lua`);
    writeFileSync(file, script);
    const probe = join(dir, "heap-probe.cjs");
    writeFileSync(probe, PROBE);
    const command = moonrigCommand();
    const env = { ...process.env, MOONRIG_SOAK_PROBE: "1", NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --require ${JSON.stringify(probe)}` };
    this.child = spawn(command.file, [...command.args, file], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
    let probed = "";
    (this.child.stdio[3] as Readable | null)?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (probed + chunk).split("\n");
      probed = lines.pop() ?? "";
      const last = lines.at(-1);
      if (last !== undefined) this.youngKiB = Number(last);
    });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (this.partial + chunk).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) for (const listener of this.lineListeners) listener(line);
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    running.add(this.child);
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    // An exit while sampling is a failure the scenario reports (stillRunning), not a /proc error.
    void this.exited.then(() => {
      running.delete(this.child);
      this.stopSampling();
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("moonrig did not start");
    return this.child.pid;
  }

  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  /** Resolves on the first output line that `accept` takes; rejects if moonrig exits first. */
  waitFor(accept: (line: string) => boolean, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.onLine((line) => accept(line) && resolve(line));
      void this.exited.then(() => reject(new Error(`moonrig exited before ${what}; stderr: ${this.stderr}`)));
    });
  }

  usage(): Usage {
    this.stillRunning();
    if (this.failure) throw new Error(`${this.failure.message}; stderr: ${this.stderr}`);
    return usage(this.pid);
  }

  startSampling(progress: () => number): void {
    if (this.youngKiB < 0) throw new Error(`the heap probe did not report; stderr: ${this.stderr}`);
    this.sampler = setInterval(() => {
      try {
        this.samples.push({ ...this.usage(), progress: Math.min(1, progress()), youngKiB: this.youngKiB });
      } catch (error) {
        this.failure = error as Error;
        this.stopSampling();
      }
    }, SAMPLE_MS);
  }

  stopSampling(): void {
    clearInterval(this.sampler);
  }

  /** Throws, with moonrig's stderr, if it has exited: a scenario's figures are void then. */
  stillRunning(): void {
    const { exitCode, signalCode } = this.child;
    if (exitCode !== null || signalCode !== null) throw new Error(`moonrig exited (${signalCode ?? `code ${exitCode}`}) during the run; stderr: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    this.stopSampling();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

interface Level {
  rss: number;
  young: number;
  /** RSS outside the young generation. */
  rest: number;
}

interface Levels {
  /** Where the warm-up tenth starts: 0.1, or later when V8 resized the young generation later. */
  from: number;
  /** Where V8 last resized the young generation (0: not after the start). */
  lastResize: number;
  warm: Level;
  end: Level;
  /**
   * "rss": the whole RSS of two tenths with the same young generation. "outside": V8
   * resized it too late for a warm-up tenth before the last; RSS outside it is compared.
   */
  basis: "rss" | "outside";
  ratio: number;
  /**
   * RSS outside the young generation, second tenth against the last, whatever V8 did: a
   * warm-up tenth moved late in the run leaves a slow leak little time to show, this not.
   */
  outsideRatio: number;
}

/**
 * The warm-up tenth starts once the young generation has its final size: at 0.1, or half
 * a tenth after V8 last resized it (the first scavenges after a growth touch its new pages).
 * Both levels are medians (KiB); the end level is the last tenth's.
 */
function levels(samples: readonly Sample[]): Levels {
  const level = (from: number, to: number): Level => {
    const chosen = samples.filter((s) => s.progress >= from && s.progress < to);
    if (chosen.length === 0) throw new Error(`too few samples (${samples.length}) for the warm-up and end levels`);
    return { rss: median(chosen.map((s) => s.rssKiB)), young: median(chosen.map((s) => s.youngKiB)), rest: median(chosen.map((s) => s.rssKiB - s.youngKiB)) };
  };
  const final = samples.at(-1)?.youngKiB;
  let lastResize = 0;
  for (const s of samples) if (s.youngKiB !== final) lastResize = s.progress;
  const from = Math.max(0.1, lastResize + 0.05);
  const end = level(0.9, Infinity);
  const second = level(0.1, 0.2);
  const outsideRatio = end.rest / second.rest;
  if (from <= 0.8) {
    const warm = level(from, from + 0.1);
    return { from, lastResize, warm, end, basis: "rss", ratio: end.rss / warm.rss, outsideRatio };
  }
  return { from: 0.1, lastResize, warm: second, end, basis: "outside", ratio: outsideRatio, outsideRatio };
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
const percent = (progress: number): string => `${Math.round(progress * 100)}%`;
const warmUpFrom = (l: Levels): string => (l.basis === "rss" ? percent(l.from) : `${percent(l.from)} (young generation resized at ${percent(l.lastResize)})`);

interface Result {
  name: string;
  levels: Levels;
  cpu: string;
  /** False when a target other than the RSS level (idle CPU) is missed. */
  cpuOk: boolean;
  cpuTarget?: string;
}

// ---------------------------------------------------------------------------------------
// Scripts

function receiverScript(flavor: Flavor, port: number, topic: string, qos: 0 | 1): string {
  const count = `n = n + 1 if n % ${STEP} == 0 then print(n) end`;
  if (flavor === "nodemcu") {
    return `local n = 0
m = mqtt.Client("soak-rx-${flavor}-${qos}", 60, nil, nil, 1, 1024)
m:on("message", function(_, t, d) ${count} end)
m:connect("127.0.0.1", ${port}, false, function(c) c:subscribe("${topic}", ${qos}, function() print("ready") end) end)
`;
  }
  return `local n = 0
local c = mqtt.create(nil, "127.0.0.1", ${port}, false)
c:auth("soak-rx-${flavor}-${qos}")
c:on(function(cl, event, data, payload)
  if event == "conack" then cl:subscribe("${topic}", ${qos})
  elseif event == "suback" then print("ready")
  elseif event == "recv" then ${count} end
end)
c:connect()
sys.run()
`;
}

/** Publishes "reading N" every 10 ms once connected. */
function publisherScript(flavor: Flavor, port: number, topic: string): string {
  if (flavor === "nodemcu") {
    return `m = mqtt.Client("soak-tx-nodemcu", 60)
m:connect("127.0.0.1", ${port}, false, function(c)
  print("ready")
  local n = 0
  tmr.create():alarm(10, tmr.ALARM_AUTO, function() n = n + 1 c:publish("${topic}", "reading " .. n, 1, 0) end)
end)
`;
  }
  return `sys.taskInit(function()
  local c = mqtt.create(nil, "127.0.0.1", ${port}, false)
  c:auth("soak-tx-luatos")
  c:on(function(_, event) if event == "conack" then sys.publish("SOAK_UP") end end)
  c:connect()
  sys.waitUntil("SOAK_UP")
  print("ready")
  local n = 0
  while true do n = n + 1 c:publish("${topic}", "reading " .. n, 1) sys.wait(10) end
end)
sys.run()
`;
}

function idleScript(flavor: Flavor): string {
  if (flavor === "nodemcu") return `tmr.create():alarm(${IDLE_TIMER_S * 1000}, tmr.ALARM_SINGLE, function() print("fired") end)\nprint("ready")\n`;
  return `sys.taskInit(function() print("ready") sys.wait(${IDLE_TIMER_S * 1000}) print("fired") end)\nsys.run()\n`;
}

// ---------------------------------------------------------------------------------------
// Scenarios

/** Lets the socket write what was queued before publishing more. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function receive(dir: string, url: string, port: number, flavor: Flavor, qos: 0 | 1, count: number): Promise<Result> {
  const topic = `soak/rx/${flavor}/${qos}`;
  const moonrig = new Moonrig(dir, `rx-${flavor}-${qos}`, receiverScript(flavor, port, topic, qos));
  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    await moonrig.waitFor((line) => line === "ready", "subscribing");
    let seen = 0;
    let waiting: { n: number; resolve: () => void } | undefined;
    moonrig.onLine((line) => {
      if (!/^\d+$/.test(line)) return;
      seen = Number(line);
      if (waiting && seen >= waiting.n) waiting.resolve();
    });
    // Rejects if moonrig exits mid-run, and again when stop() ends it: only a race listens.
    const lost = moonrig.waitFor(() => false, "receiving every message").then(() => undefined);
    lost.catch(() => undefined);
    // One waiter at a time: the publishing loop awaits each before going on.
    const reached = (n: number): Promise<void> => (seen >= n ? Promise.resolve() : Promise.race([new Promise<void>((resolve) => (waiting = { n, resolve })), lost]));
    const payload = Buffer.alloc(64, 0x5a);
    const start = moonrig.usage();
    moonrig.startSampling(() => seen / count);
    for (let i = 0; i < count; i++) {
      if (i % 500 === 0) {
        await flush();
        if (i >= WINDOW) await reached(i - WINDOW);
      }
      publisher.publish(topic, payload, { qos });
    }
    await reached(count);
    moonrig.stopSampling();
    const cpu = moonrig.usage().cpuSeconds - start.cpuSeconds;
    const name = `receive ${count.toLocaleString("en-US")} × QoS ${qos} (64 B), ${FLAVOR_NAME[flavor]}`;
    return { name, levels: levels(moonrig.samples), cpu: `${((cpu / count) * 1e6).toFixed(2)} µs/msg`, cpuOk: true };
  } finally {
    await publisher.endAsync();
    await moonrig.stop();
  }
}

async function publish(dir: string, url: string, port: number, flavor: Flavor, seconds: number): Promise<Result> {
  const topic = `soak/tx/${flavor}`;
  const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const moonrig = new Moonrig(dir, `tx-${flavor}`, publisherScript(flavor, port, topic));
  try {
    await subscriber.subscribeAsync(topic, { qos: 1 });
    let received = 0;
    subscriber.on("message", () => received++);
    await moonrig.waitFor((line) => line === "ready", "connecting");
    const started = performance.now();
    const start = moonrig.usage();
    moonrig.startSampling(() => (performance.now() - started) / (seconds * 1000));
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    moonrig.stopSampling();
    const cpu = moonrig.usage().cpuSeconds - start.cpuSeconds;
    const minutes = (performance.now() - started) / 60000;
    const name = `publish every 10 ms (QoS 1) for ${seconds} s, ${FLAVOR_NAME[flavor]}: ${received.toLocaleString("en-US")} received`;
    return { name, levels: levels(moonrig.samples), cpu: `${(cpu / minutes).toFixed(2)} s/min, ${((cpu / received) * 1e6).toFixed(0)} µs/msg`, cpuOk: true };
  } finally {
    await moonrig.stop();
    await subscriber.endAsync();
  }
}

async function idle(dir: string, flavor: Flavor, seconds: number): Promise<Result> {
  const moonrig = new Moonrig(dir, `idle-${flavor}`, idleScript(flavor));
  try {
    await moonrig.waitFor((line) => line === "ready", "arming its timer");
    const started = performance.now();
    const start = moonrig.usage();
    const measured = Math.min(seconds, IDLE_TIMER_S);
    moonrig.startSampling(() => (performance.now() - started) / (measured * 1000));
    // With the full 60 s the timer's firing ends the run; a shorter run stops before it.
    await (seconds >= IDLE_TIMER_S ? moonrig.waitFor((line) => line === "fired", "its timer fired") : new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
    moonrig.stopSampling();
    // Its timer's firing ends the script (nothing else holds it), maybe before this line
    // runs: then the last sample, at most SAMPLE_MS old, tells the CPU time.
    let end: Sample | Usage | undefined;
    try {
      end = moonrig.usage();
    } catch (error) {
      end = moonrig.samples.at(-1);
      if (end === undefined || seconds < IDLE_TIMER_S) throw error;
    }
    const cpu = end.cpuSeconds - start.cpuSeconds;
    const perMinute = cpu / ((performance.now() - started) / 60000);
    return {
      name: `idle, waiting on a ${IDLE_TIMER_S} s timer (measured ${measured} s), ${FLAVOR_NAME[flavor]}`,
      levels: levels(moonrig.samples),
      cpu: `${perMinute.toFixed(3)} s/min`,
      cpuOk: perMinute <= IDLE_TARGET,
      cpuTarget: `CPU ≤ ${IDLE_TARGET} s/min`,
    };
  } finally {
    await moonrig.stop();
  }
}

/** The soak runs take minutes: say on stderr what each finished one measured. */
let reported = 0;
function report(results: readonly Result[]): void {
  for (const r of results.slice(reported)) {
    const { warm, end } = r.levels;
    process.stderr.write(`bench: soak: ${r.name}: warm-up from ${warmUpFrom(r.levels)}, RSS ${mib(warm.rss)} -> ${mib(end.rss)}, young generation ${mib(warm.young)} -> ${mib(end.young)}, rest ${mib(warm.rest)} -> ${mib(end.rest)}, CPU ${r.cpu}\n`);
  }
  reported = results.length;
}

export const soakBenchmark: Benchmark = async ({ soakSeconds, soakMessages }) => {
  if (process.platform !== "linux") throw new Error("the soak benchmark reads /proc: Linux only");
  const mosquitto = await startMosquitto({ throughput: true });
  const dir = tempDir("soak");
  const results: Result[] = [];
  try {
    const { tcp: url } = mosquitto.urls;
    const port = mosquitto.ports.tcp;
    for (const flavor of ["nodemcu", "luatos"] as const) {
      for (const [qos, count] of [[0, soakMessages], [1, Math.round(soakMessages / 10)]] as const) {
        results.push(await receive(dir, url, port, flavor, qos, count));
        report(results);
      }
    }
    results.push(...(await together([publish(dir, url, port, "nodemcu", soakSeconds), publish(dir, url, port, "luatos", soakSeconds)])));
    report(results);
    results.push(...(await together([idle(dir, "nodemcu", soakSeconds), idle(dir, "luatos", soakSeconds)])));
    report(results);
  } finally {
    await mosquitto.stop();
    removeTempDir(dir);
  }
  const rows = results.map((r) => {
    const { warm, end, basis, ratio, outsideRatio } = r.levels;
    const target = [`both ≤ ${RSS_TARGET}`, ...(r.cpuTarget ? [r.cpuTarget] : [])].join("; ");
    const compared = basis === "rss" ? ratio.toFixed(3) : `${ratio.toFixed(3)} (outside the young generation)`;
    const cells = [r.name, warmUpFrom(r.levels), `${mib(warm.rss)} → ${mib(end.rss)}`, `${mib(warm.young)} → ${mib(end.young)}`, compared, outsideRatio.toFixed(3), r.cpu, target];
    return { cells, pass: ratio <= RSS_TARGET && outsideRatio <= RSS_TARGET && r.cpuOk };
  });
  const columns = ["soak", "warm-up from", "RSS warm-up → end", "young generation", "end ÷ warm-up", "outside the young generation, 2nd ÷ last tenth", "CPU", "target"];
  return { columns, rows } satisfies Table;
};
