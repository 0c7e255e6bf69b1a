// MQTT benchmarks: messages/s delivered to Lua callbacks (NodeMCU on("message"), LuatOS
// on(fn) and sys.publish into a waiting task) against a raw mqtt.js subscriber, and
// publishes/s from a Lua loop against a raw mqtt.js loop, all on one Mosquitto that this
// run starts. Each ratio pairs medians of alternating samples taken in the same run.
// The receive publisher runs in a process of its own (publisher.ts), so this process's CPU
// time per message is the receiver's: the second figure, which says what a receiver costs
// even where the broker, not the receiver, limits the messages/s.
import { fork, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { Runtime } from "../../main/index.js";
import { startMosquitto } from "../support/mosquitto.js";
import { median, type Benchmark, type Row } from "./bench.js";
import type { PublisherCommand, PublisherReport } from "./publisher.js";

interface Case {
  qos: 0 | 1;
  size: number;
  count: number;
}

const CASES: Case[] = [
  { qos: 0, size: 64, count: 50000 },
  { qos: 1, size: 64, count: 50000 },
  { qos: 0, size: 4096, count: 10000 },
  { qos: 1, size: 4096, count: 10000 },
];

type Receiver = "raw" | "nodemcu" | "luatos" | "luatos-sys";

/**
 * The publisher stays at most WINDOW messages ahead of what the receiver has reported
 * (receivers report every STEP messages), so a slow receiver is not buried under a queue
 * it cannot catch up with. The window is wide enough that the receiver never idles while
 * its report travels back: a narrow one (600) measured round trips, not receiving, and
 * made every receiver look alike. The Mosquitto of this run queues without limit.
 */
const WINDOW = 5000;
const STEP = 200;

let topicCounter = 0;


/** A Lua receiver that prints "ready" once subscribed and "done" after `count` messages. */
function receiverScript(kind: Exclude<Receiver, "raw">, topic: string, c: Case, port: number): string {
  if (kind === "nodemcu") {
    return `local n = 0
      m = mqtt.Client("bench-${topic}", 60, nil, nil, 1, 8192)
      m:on("message", function(_, t, d) n = n + 1 if n % ${STEP} == 0 then print("p") end if n == ${c.count} then print("done") end end)
      m:connect("127.0.0.1", ${port}, false, function(cl) cl:subscribe("${topic}", ${c.qos}, function() print("ready") end) end)`;
  }
  const count = `n = n + 1 if n % ${STEP} == 0 then print("p") end if n == ${c.count} then print("done") end`;
  const deliver = kind === "luatos"
    ? count
    : `sys.publish("BENCH_MSG", payload)`;
  return `local n = 0
    ${kind === "luatos-sys" ? `sys.taskInit(function() while true do sys.waitUntil("BENCH_MSG") ${count} end end)` : ""}
    local c = mqtt.create(nil, "127.0.0.1", ${port}, false, {rxSize = 8192})
    c:auth("bench-${topic}")
    c:on(function(cl, event, data, payload)
      if event == "conack" then cl:subscribe("${topic}", ${c.qos})
      elseif event == "suback" then print("ready")
      elseif event == "recv" then ${deliver} end
    end)
    c:connect()`;
}

interface Receiving {
  done: Promise<void>;
  /** Resolves once the receiver has reported at least `n` messages. */
  reached(n: number): Promise<void>;
  /** Calls `listener` with the count each time the receiver reports progress. */
  watch(listener: (seen: number) => void): void;
  close(): Promise<void>;
}

/** Progress bookkeeping shared by both kinds of receiver. */
function progress(): { add(n: number): void; reached(n: number): Promise<void>; watch(listener: (seen: number) => void): void } {
  let seen = 0;
  let watcher: ((seen: number) => void) | undefined;
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  return {
    watch(listener) {
      watcher = listener;
    },
    add(n) {
      seen += n;
      watcher?.(seen);
      for (let i = waiting.length - 1; i >= 0; i--) {
        const w = waiting[i] as { n: number; resolve: () => void };
        if (seen >= w.n) {
          waiting.splice(i, 1);
          w.resolve();
        }
      }
    },
    reached(n) {
      return seen >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }));
    },
  };
}

async function startReceiver(kind: Receiver, topic: string, c: Case, url: string, port: number): Promise<Receiving> {
  const tally = progress();
  if (kind === "raw") {
    const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await sub.subscribeAsync(topic, { qos: c.qos });
    let n = 0;
    const done = new Promise<void>((resolve) => sub.on("message", () => {
      n++;
      if (n % STEP === 0) tally.add(STEP);
      if (n === c.count) resolve();
    }));
    return { done, reached: tally.reached, watch: tally.watch, close: () => sub.endAsync() };
  }
  let ready!: () => void;
  let finished!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<void>((r) => (finished = r));
  const rt = new Runtime({
    flavor: kind === "nodemcu" ? "nodemcu" : "luatos",
    stdout: (bytes) => {
      const text = Buffer.from(bytes).toString();
      if (text === "p\n") tally.add(STEP);
      else if (text.includes("ready")) ready();
      else if (text.includes("done")) finished();
    },
    prelude: [receiverScript(kind, topic, c, port)],
  });
  await rt.run();
  await readyP;
  return { done, reached: tally.reached, watch: tally.watch, close: () => rt.close() };
}

/** Lets the socket write what was queued: mqtt.js waits for "drain" once per packet it could not write. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Publishes `count` messages, never more than WINDOW ahead of the receiver. */
async function publishWindowed(publisher: mqtt.MqttClient, topic: string, c: Case, receiver: Receiving): Promise<void> {
  const payload = Buffer.alloc(c.size, 0x5a);
  for (let i = 0; i < c.count; i++) {
    if (i % STEP === 0) {
      await flush();
      if (i >= WINDOW) await receiver.reached(i - WINDOW);
    }
    publisher.publish(topic, payload, { qos: c.qos });
  }
}

/** The raw mqtt.js publisher process (publisher.ts). */
class Publisher {
  private readonly child: ChildProcess;
  private readonly pending: Array<{ type: PublisherReport["type"]; resolve: () => void }> = [];

  constructor() {
    this.child = fork(join(dirname(fileURLToPath(import.meta.url)), "publisher.js"), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (report: PublisherReport) => {
      const index = this.pending.findIndex((p) => p.type === report.type);
      if (index >= 0) this.pending.splice(index, 1)[0]?.resolve();
    });
  }

  send(command: PublisherCommand): void {
    this.child.send(command);
  }

  request(command: PublisherCommand, answer: PublisherReport["type"]): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({ type: answer, resolve });
      this.send(command);
    });
  }

  end(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.send({ type: "end" });
    });
  }
}

interface ReceiveSample {
  /** Messages/s from the first publish to the last message received. */
  rate: number;
  /** CPU time of this process (the receiver) per message, µs. */
  cpuMicros: number;
}

/** What one receiver sees while the publisher process sends `count` messages. */
async function receiveRate(kind: Receiver, c: Case, url: string, port: number, publisher: Publisher): Promise<ReceiveSample> {
  const topic = `bench/${kind}/${++topicCounter}`;
  const receiver = await startReceiver(kind, topic, c, url, port);
  await publisher.request({ type: "run", topic, qos: c.qos, size: c.size, count: c.count }, "running");
  receiver.watch((seen) => publisher.send({ type: "allow", upTo: seen + WINDOW }));
  const cpu = process.cpuUsage();
  const started = performance.now();
  publisher.send({ type: "allow", upTo: WINDOW });
  await receiver.done;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await receiver.close();
  return { rate: c.count / seconds, cpuMicros: (used.user + used.system) / c.count };
}

/** Publishes/s from a loop (Lua or raw mqtt.js) measured until a raw subscriber has them all. */
async function publishRate(lua: boolean, c: Case, url: string, port: number): Promise<number> {
  const topic = `bench/pub/${++topicCounter}`;
  const receiver = await startReceiver("raw", topic, c, url, port);
  let started = 0;
  if (lua) {
    let connected!: () => void;
    const up = new Promise<void>((r) => (connected = r));
    const rt = new Runtime({ flavor: "nodemcu", stdout: () => connected(), prelude: [`m = mqtt.Client("bench-pub-${topicCounter}", 60)
      m:connect("127.0.0.1", ${port}, false, function() print("up") end)`] });
    await rt.run();
    await up;
    started = performance.now();
    rt.exec(`payload = string.rep("Z", ${c.size})`);
    for (let sent = 0; sent < c.count; sent += STEP) {
      await flush();
      if (sent >= WINDOW) await receiver.reached(sent - WINDOW);
      rt.exec(`for i = 1, ${STEP} do m:publish("${topic}", payload, ${c.qos}, 0) end`);
    }
    await receiver.done;
    const seconds = (performance.now() - started) / 1000;
    await rt.close();
    await receiver.close();
    return c.count / seconds;
  }
  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  started = performance.now();
  await publishWindowed(publisher, topic, c, receiver);
  await receiver.done;
  const seconds = (performance.now() - started) / 1000;
  await publisher.endAsync();
  await receiver.close();
  return c.count / seconds;
}

/**
 * Capacity, where no broker is the limit: a feeder on a loopback socket answers CONNECT and
 * SUBSCRIBE and then writes pre-encoded QoS 0 PUBLISH packets, 500 to a write, as fast as
 * the receiver reads them. Not a broker (it routes nothing); it only measures the receiver.
 */
class Feeder {
  private readonly server = createServer((socket) => this.serve(socket));
  private subscribed: ((socket: Socket) => void) | undefined;

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves with the connection of the next client that subscribes. */
  nextSubscriber(): Promise<Socket> {
    return new Promise((resolve) => (this.subscribed = resolve));
  }

  private serve(socket: Socket): void {
    socket.on("error", () => undefined);
    socket.on("data", (data: Buffer) => {
      for (let at = 0; at < data.length;) {
        const type = (data[at] as number) >> 4;
        let length = 0;
        let scale = 1;
        let next = at + 1;
        for (;;) {
          const byte = data[next++] as number;
          length += (byte & 0x7f) * scale;
          scale *= 128;
          if (byte < 0x80) break;
        }
        if (type === 1) socket.write(Buffer.from([0x20, 2, 0, 0]));
        else if (type === 8) {
          socket.write(Buffer.from([0x90, 3, data[next] as number, data[next + 1] as number, 0]));
          this.subscribed?.(socket);
        } else if (type === 12) socket.write(Buffer.from([0xd0, 0]));
        at = next + length;
      }
    });
  }
}

const FEED_BATCH = 500;

function publishPackets(topic: string, size: number, count: number): Buffer {
  const name = Buffer.from(topic);
  const length = 2 + name.length + size;
  const header = [0x30];
  for (let rest = length; ; ) {
    const byte = rest % 128;
    rest = Math.floor(rest / 128);
    header.push(rest > 0 ? byte | 0x80 : byte);
    if (rest === 0) break;
  }
  const one = Buffer.concat([Buffer.from(header), Buffer.from([name.length >> 8, name.length & 0xff]), name, Buffer.alloc(size, 0x5a)]);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/** Messages/s one receiver takes from the feeder. */
async function capacity(kind: Receiver, c: Case, feeder: Feeder, port: number): Promise<number> {
  const topic = `cap/${kind}/${++topicCounter}`;
  const subscriber = feeder.nextSubscriber();
  const receiver = await startReceiver(kind, topic, c, `mqtt://127.0.0.1:${port}`, port);
  const socket = await subscriber;
  const batch = publishPackets(topic, c.size, FEED_BATCH);
  const started = performance.now();
  for (let sent = 0; sent < c.count; sent += FEED_BATCH) {
    if (!socket.write(batch)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  await receiver.done;
  const seconds = (performance.now() - started) / 1000;
  await receiver.close();
  return c.count / seconds;
}

/** Alternating samples per row, after one unmeasured round that warms up both sides. */
const SAMPLES = 5;

function micros(value: number): string {
  return `${value.toFixed(2)} µs`;
}

function rate(value: number): string {
  return `${Math.round(value).toLocaleString("en-US")} msg/s`;
}

export const mqttBenchmark: Benchmark = async () => {
  const mosquitto = await startMosquitto({ throughput: true });
  const url = mosquitto.urls.tcp;
  const port = mosquitto.ports.tcp;
  const rows: Row[] = [];
  const publisher = new Publisher();
  try {
    await publisher.request({ type: "connect", url }, "connected");
    for (const c of CASES) {
      const label = `QoS ${c.qos}, ${c.size >= 1024 ? `${c.size / 1024} KiB` : `${c.size} B`}`;
      for (const kind of ["nodemcu", "luatos", "luatos-sys"] as const) {
        if (kind === "luatos-sys" && c.size !== 64) continue;
        await receiveRate("raw", c, url, port, publisher);
        await receiveRate(kind, c, url, port, publisher);
        const raw: ReceiveSample[] = [];
        const lua: ReceiveSample[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          raw.push(await receiveRate("raw", c, url, port, publisher));
          lua.push(await receiveRate(kind, c, url, port, publisher));
        }
        const name = { nodemcu: "receive via on(\"message\")", luatos: "receive via LuatOS on(fn)", "luatos-sys": "receive via sys.publish → task" }[kind];
        const rawRate = median(raw.map((s) => s.rate));
        const luaRate = median(lua.map((s) => s.rate));
        rows.push({ name: `${name}, ${label}`, moonrig: rate(luaRate), baseline: `${rate(rawRate)} raw mqtt.js`, ratio: luaRate / rawRate, target: { op: ">=", value: 0.9 } });
        // Messages per CPU-second, the rate each receiver would reach were the broker never the limit.
        const rawCpu = median(raw.map((s) => s.cpuMicros));
        const luaCpu = median(lua.map((s) => s.cpuMicros));
        rows.push({ name: `… receiver CPU per message (ratio: raw ÷ moonrig)`, moonrig: micros(luaCpu), baseline: `${micros(rawCpu)} raw mqtt.js`, ratio: rawCpu / luaCpu });
      }
      if (c.size === 64) {
        const raw: number[] = [];
        const lua: number[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          raw.push(await publishRate(false, c, url, port));
          lua.push(await publishRate(true, c, url, port));
        }
        rows.push({ name: `publish from a Lua loop, ${label}`, moonrig: rate(median(lua)), baseline: `${rate(median(raw))} raw mqtt.js`, ratio: median(lua) / median(raw) });
      }
    }
  } finally {
    await publisher.end();
    await mosquitto.stop();
  }
  const feeder = new Feeder();
  const feederPort = await feeder.listen();
  try {
    for (const c of CAPACITY_CASES) {
      const label = `QoS 0, ${c.size >= 1024 ? `${c.size / 1024} KiB` : `${c.size} B`}`;
      for (const kind of ["nodemcu", "luatos", "luatos-sys"] as const) {
        await capacity("raw", c, feeder, feederPort);
        await capacity(kind, c, feeder, feederPort);
        const raw: number[] = [];
        const lua: number[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          raw.push(await capacity("raw", c, feeder, feederPort));
          lua.push(await capacity(kind, c, feeder, feederPort));
        }
        const name = { nodemcu: "on(\"message\")", luatos: "LuatOS on(fn)", "luatos-sys": "sys.publish → task" }[kind];
        rows.push({ name: `capacity via ${name}, ${label}, fed without a broker`, moonrig: rate(median(lua)), baseline: `${rate(median(raw))} raw mqtt.js`, ratio: median(lua) / median(raw) });
      }
    }
  } finally {
    await feeder.close();
  }
  return rows;
};

const CAPACITY_CASES: Case[] = [
  { qos: 0, size: 64, count: 100000 },
  { qos: 0, size: 4096, count: 20000 },
];
