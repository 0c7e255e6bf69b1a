// Faults on the AT modem path: the driver fed noise, cut-off and stalled messages and a
// modem that falls silent after its prompt; the emulator fed malformed commands; scripts
// whose modem misbehaves (over a pty) or whose broker dies mid-stream (--at emulator).
// Every case must end in a documented event or error: no crash, no hang, no stack trace.
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { Duplex } from "node:stream";
import { AtDriver, AtError, type AtDriverOptions, type AtUrc } from "../modem/driver.js";
import { AtModemEmulator } from "../emulator/index.js";
import { createLinkPair } from "../modem/link.js";
import { configureAtModem } from "../runtime/modem.js";
import { openSerialPort } from "../modem/serial.js";
import { captured, type Captured } from "./support/capture.js";
import { closeAfterEach } from "./support/hooks.js";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";
import { delay, waitUntil } from "./support/wait.js";
import { startSocat } from "./support/socat.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Deterministic noise: mulberry32, so a failing case can be replayed from its seed. */
function random(seed: number): (n: number) => Buffer {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
    return out;
  };
}

/** The driver on one end of an in-memory line; the test writes the modem's side by hand. */
function wired(options: AtDriverOptions = {}): { driver: AtDriver; modem: Duplex; heard: () => string; urcs: AtUrc[]; closes: AtError[] } {
  const [host, modem] = createLinkPair();
  const driver = new AtDriver(host, options);
  let heard = "";
  modem.on("data", (chunk: Buffer) => (heard += chunk.toString("latin1")));
  const urcs: AtUrc[] = [];
  const closes: AtError[] = [];
  driver.onUrc((u) => urcs.push(u));
  driver.onClose((e) => closes.push(e));
  return { driver, modem, heard: () => heard, urcs, closes };
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    const response = (await promise) as { result: string };
    return `result ${response.result}`;
  } catch (error) {
    expect(error).to.be.instanceOf(AtError);
    return `${(error as AtError).kind}: ${(error as AtError).message}`;
  }
}

describe("AT faults: the driver", () => {
  const drivers: AtDriver[] = [];
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
  });
  const setup = (options: AtDriverOptions = {}): ReturnType<typeof wired> => {
    const w = wired(options);
    drivers.push(w.driver);
    return w;
  };

  for (const seed of [1, 7, 42, 2024]) {
    it(`random bytes (seed ${seed}) end each command in a result or an AtError, and a clean answer is heard after`, async () => {
      const noise = random(seed);
      const { driver, modem } = setup({ timeoutMs: 60, busyRetries: 2, busyRetryDelayMs: 5 });
      const outcomes: Array<Promise<string>> = [];
      for (let round = 0; round < 20; round++) {
        outcomes.push(outcome(driver.send(`AT+GMR`)));
        // Chunks of 1..300 bytes, as a UART read would cut them.
        const chunk = noise(1 + (noise(1)[0]! % 255) + (noise(1)[0]! % 46));
        modem.write(chunk);
        await delay(2);
      }
      for (const text of await Promise.all(outcomes)) {
        expect(text).to.match(/^(result (OK|ERROR|FAIL|SEND OK|SEND FAIL)|(timeout|busy|reboot|error): AT modem .+)$/);
      }
      // The modem comes back: a line end ends whatever the noise left half read.
      const answer = driver.send("AT", { timeoutMs: 500 });
      await delay(5);
      modem.write(b("\r\n\r\nOK\r\n"));
      expect(await outcome(answer)).to.equal("result OK");
      expect(driver.closed).to.equal(false);
    });
  }

  it("a +MQTTSUBRECV cut short (its length says more than arrives, then silence) is dropped and the line reads again", async () => {
    const { driver, modem, urcs } = setup({ timeoutMs: 2000, subrecvStallMs: 100 });
    modem.write(b('+MQTTSUBRECV:0,"cut",100,only ten b'));
    await delay(20);
    // Sent while the payload is still counted: its answer must not be taken for payload.
    const answer = driver.send("AT");
    await delay(150);
    modem.write(b("\r\nOK\r\n"));
    expect(await outcome(answer)).to.equal("result OK");
    modem.write(b('+MQTTSUBRECV:0,"next",3,abc\r\n'));
    await waitUntil(() => urcs.length > 0, "the next message");
    expect(urcs.map((u) => (u.type === "subrecv" ? `${u.topic}=${u.payload}` : u.type))).to.deep.equal(["next=abc"]);
  });

  it("a +MQTTSUBRECV split across many reads, payload full of protocol, arrives whole", async () => {
    const { driver, modem, urcs } = setup({ subrecvStallMs: 200 });
    const payload = b('\r\nOK\r\n\r\n>+MQTTSUBRECV:0,"x",2,ERROR\r\n,"q"\\');
    const message = Buffer.concat([b(`+MQTTSUBRECV:0,"a/b",${payload.length},`), payload, b("\r\n")]);
    const answer = driver.send("AT+GMR");
    for (let i = 0; i < message.length; i += 3) {
      modem.write(message.subarray(i, i + 3));
      await delay(1);
    }
    modem.write(b("AT version:x\r\n\r\nOK\r\n"));
    expect(await outcome(answer)).to.equal("result OK");
    await waitUntil(() => urcs.length > 0, "the message");
    const got = urcs[0] as Extract<AtUrc, { type: "subrecv" }>;
    expect([got.type, got.topic.toString(), got.payload]).to.deep.equal(["subrecv", "a/b", payload]);
  });

  it("a > never followed by anything: the modem is lost, the command and every queued one fail, close is reported once", async () => {
    const { driver, modem, closes } = setup({ timeoutMs: 200 });
    const raw = driver.send('AT+MQTTPUBRAW=0,"t",4,1,0', { data: b("data") });
    const queued = driver.send('AT+MQTTPUB=0,"t","x",0,0');
    await delay(10);
    modem.write(b("\r\nOK\r\n\r\n>"));
    const started = Date.now();
    expect(await outcome(raw)).to.equal("timeout: AT modem stopped answering after the > prompt for AT+MQTTPUBRAW (nothing within 200 ms)");
    expect(Date.now() - started).to.be.within(150, 1000);
    expect(await outcome(queued)).to.equal("closed: AT modem stopped answering after the > prompt for AT+MQTTPUBRAW before AT+MQTTPUB was sent");
    expect(closes.map((e) => e.message)).to.deep.equal(["AT modem stopped answering after the > prompt for AT+MQTTPUBRAW"]);
    expect(driver.closed).to.equal(true);
    expect(await outcome(driver.send("AT"))).to.equal("closed: cannot send AT: AT modem stopped answering after the > prompt for AT+MQTTPUBRAW");
  });

  it("megabytes of noise: bounded memory, no hang, and the driver answers after", async function () {
    this.timeout(20000);
    const { driver, modem, urcs } = setup({ timeoutMs: 500 });
    const noise = random(99);
    const before = process.memoryUsage().heapUsed;
    const started = Date.now();
    // 16 MiB: random bytes (short lines), a run with no line end at all (longer than any
    // line kept), and a +MQTTSUBRECV whose length is past the payload limit.
    for (let i = 0; i < 96; i++) modem.write(noise(128 * 1024));
    for (let i = 0; i < 32; i++) modem.write(Buffer.alloc(128 * 1024, 0x41));
    modem.write(b('\r\n+MQTTSUBRECV:0,"huge",999999999,'));
    for (let i = 0; i < 8; i++) modem.write(Buffer.alloc(64 * 1024, 0x42));
    const answer = driver.send("AT");
    modem.write(b("\r\n\r\nOK\r\n"));
    expect(await outcome(answer)).to.equal("result OK");
    expect(Date.now() - started).to.be.below(15000);
    expect(urcs.filter((u) => u.type === "subrecv")).to.deep.equal([]);
    // The parser keeps at most one line (4 KiB) of what it has not understood.
    expect(process.memoryUsage().heapUsed - before).to.be.below(48 * 1024 * 1024);
  });
});

/** The host's side of an emulated modem: command lines out, exact bytes back. */
class Line {
  private buffer = Buffer.alloc(0);
  constructor(readonly port: Duplex) {
    port.on("data", (chunk: Buffer) => (this.buffer = Buffer.concat([this.buffer, chunk])));
  }

  /** Writes `bytes`, then waits until `until` has arrived; returns everything up to it. */
  async exchange(bytes: Buffer | string, until: string, timeoutMs = 3000): Promise<string> {
    this.port.write(typeof bytes === "string" ? b(bytes) : bytes);
    await waitUntil(() => this.buffer.includes(until), JSON.stringify(until), timeoutMs);
    const at = this.buffer.indexOf(until) + until.length;
    const text = this.buffer.toString("latin1", 0, at);
    this.buffer = this.buffer.subarray(at);
    return text;
  }
}

describe("AT faults: the emulator fed malformed commands", () => {
  let emulator: AtModemEmulator;
  let line: Line;
  let ends: Duplex[];
  beforeEach(async () => {
    const [host, device] = createLinkPair();
    ends = [host, device];
    emulator = new AtModemEmulator(device, { dialect: "esp-at", timing: { bootMs: 10 } });
    line = new Line(host);
    emulator.start();
    await line.exchange("", "\r\nready\r\n");
    // No echo and error codes on: each answer is exactly the ERR CODE and ERROR.
    await line.exchange("ATE0\r\n", "\r\nOK\r\n");
    await line.exchange("AT+SYSLOG=1\r\n", "\r\nOK\r\n");
  });
  afterEach(async () => {
    await emulator.close();
    for (const end of ends) end.destroy();
  });

  const usable = async (): Promise<void> => {
    expect(await line.exchange("AT\r\n", "\r\nOK\r\n")).to.equal("\r\nOK\r\n");
  };

  const cases: Array<[string, string | Buffer, string]> = [
    // The codes are esp_at_core.h's: 0x0103 no AT prefix, 0x0109 unsupported command,
    // 0x010c wrong form, 0x0108 a parameter that cannot be parsed, 0x0104 too long.
    ["an unknown command", "AT+NOSUCH=1", "ERR CODE:0x01090000\r\n\r\nERROR\r\n"],
    ["a command in lower case", "at+gmr", "ERR CODE:0x01030000\r\n\r\nERROR\r\n"],
    ["a line that is not a command", "hello", "ERR CODE:0x01030000\r\n\r\nERROR\r\n"],
    ["a set form the command does not have", "AT+GMR=1", "ERR CODE:0x010c0000\r\n\r\nERROR\r\n"],
    ["a test form no command here has", "AT+MQTTPUB=?", "ERR CODE:0x010c0000\r\n\r\nERROR\r\n"],
    ["missing parameters", 'AT+MQTTPUB=0,"t"', "ERR CODE:0x010a6008\r\n\r\nERROR\r\n"],
    ["extra parameters", "AT+MQTTCLEAN=0,1", "ERR CODE:0x010a6008\r\n\r\nERROR\r\n"],
    ["a text where a number goes", 'AT+MQTTCLEAN="0"', "ERR CODE:0x010a6010\r\n\r\nERROR\r\n"],
    ["an unterminated quote", 'AT+MQTTUSERCFG=0,1,"id,"","",0,0,"', "ERR CODE:0x01080000\r\n\r\nERROR\r\n"],
    ["garbage after a closing quote", 'AT+MQTTSUB=0,"t"x,0', "ERR CODE:0x01080000\r\n\r\nERROR\r\n"],
    ["an over-long line", `AT+MQTTPUB=0,"t","${"x".repeat(400)}",0,0`, "ERR CODE:0x01040000\r\n\r\nERROR\r\n"],
    ["binary garbage", Buffer.from(random(5)(300).map((x) => (x === 0x0d || x === 0x0a ? 0x20 : x))), "ERR CODE:0x01040000\r\n\r\nERROR\r\n"],
    ["short binary garbage", Buffer.from(random(6)(40).map((x) => (x === 0x0d || x === 0x0a ? 0x20 : x))), "ERR CODE:0x01030000\r\n\r\nERROR\r\n"],
    ["binary garbage that starts like a command", Buffer.concat([b("AT+"), Buffer.from([0xff, 0x00, 0x80])]), "ERR CODE:0x01090000\r\n\r\nERROR\r\n"],
  ];
  for (const [what, command, answer] of cases) {
    it(`${what}: ERROR, then the modem is usable`, async () => {
      const bytes = Buffer.concat([typeof command === "string" ? b(command) : command, b("\r\n")]);
      expect(await line.exchange(bytes, "ERROR\r\n")).to.equal(answer);
      await usable();
    });
  }

  it("megabytes of garbage with line ends in it: one ERROR per line, and the modem is usable", async function () {
    this.timeout(15000);
    const noise = random(11);
    let lines = 0;
    for (let i = 0; i < 32; i++) {
      const chunk = noise(64 * 1024);
      // Keep CR LF pairs only where this test puts them, so the lines can be counted.
      for (let j = 0; j < chunk.length; j++) if (chunk[j] === 0x0a || chunk[j] === 0x0d) chunk[j] = 0x20;
      for (let j = 1000; j < chunk.length; j += 1000) {
        chunk[j - 1] = 0x0d;
        chunk[j] = 0x0a;
        lines++;
      }
      line.port.write(chunk);
    }
    line.port.write(b("\r\n"));
    lines++;
    const text = await line.exchange("AT\r\n", "\r\nERROR\r\n\r\nOK\r\n", 10000);
    expect(text.split("\r\nERROR\r\n").length - 1).to.equal(lines);
  });
});


type Behaviour = "normal" | "silent-after-prompt";

/**
 * A scripted ESP-AT on the far end of a pty: it answers what the host's MQTT session
 * sends, and misbehaves as the test says.
 */
class ScriptedModem {
  readonly commands: string[] = [];
  behaviour: Behaviour = "normal";
  private echo = true;
  private buffer = Buffer.alloc(0);
  private rawLeft = 0;
  private hung = false;

  constructor(readonly port: Duplex) {
    port.on("data", (chunk: Buffer) => this.feed(chunk));
    port.on("error", () => {});
  }

  send(bytes: string | Buffer): void {
    if (!this.port.destroyed) this.port.write(typeof bytes === "string" ? b(bytes) : bytes);
  }

  private feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.rawLeft > 0) {
        if (this.buffer.length < this.rawLeft) return;
        this.buffer = this.buffer.subarray(this.rawLeft);
        this.rawLeft = 0;
        if (!this.hung) this.send("\r\n+MQTTPUB:OK\r\n");
        this.hung = false;
        continue;
      }
      const end = this.buffer.indexOf("\r\n");
      if (end < 0) return;
      const command = this.buffer.toString("latin1", 0, end);
      this.buffer = this.buffer.subarray(end + 2);
      this.commands.push(command);
      this.answer(command);
    }
  }

  private answer(command: string): void {
    if (this.echo) this.send(`${command}\r\n`);
    if (command === "ATE0") this.echo = false;
    const conn = /^AT\+MQTTCONN=0,"([^"]*)",(\d+),(\d)$/.exec(command);
    const raw = /^AT\+MQTTPUBRAW=0,"[^"]*",(\d+),\d,\d$/.exec(command);
    if (conn) {
      this.send(`+MQTTCONNECTED:0,1,"${conn[1]}","${conn[2]}","",${conn[3]}\r\n\r\nOK\r\n`);
    } else if (raw) {
      this.send("\r\nOK\r\n\r\n>");
      this.rawLeft = Number(raw[1]);
      // A modem that takes the prompt and the data, then hangs (once).
      if (this.behaviour === "silent-after-prompt") {
        this.behaviour = "normal";
        this.hung = true;
      }
    } else {
      this.send("\r\nOK\r\n");
    }
  }
}

describe("AT faults: scripts whose modem misbehaves (--at PATH on a pty)", function () {
  this.timeout(20000);
  const track = closeAfterEach();
  let socat: ChildProcess | undefined;
  let modemPort: Duplex | undefined;
  before(function () {
    if (!existsSync("/usr/bin/socat") && !existsSync("/usr/local/bin/socat")) this.skip();
  });
  afterEach(() => {
    modemPort?.destroy();
    if (socat && socat.exitCode === null) socat.kill();
  });

  async function withModem(flavor: "nodemcu" | "luatos", script: string, behaviour: Behaviour = "normal"): Promise<{ c: Captured; modem: ScriptedModem }> {
    const started = await startSocat();
    socat = started.proc;
    modemPort = await openSerialPort(started.paths[1], 115200);
    const modem = new ScriptedModem(modemPort);
    modem.behaviour = behaviour;
    const c = track(captured({ flavor, at: started.paths[0], prelude: [script] }));
    // What ESP-AT leaves to 15 s and more, here in a fraction of a second.
    configureAtModem(c.rt, { driver: { mqttTimeoutMs: 300 }, handshakeAttempts: 2, handshakeAttemptMs: 200 });
    await c.rt.run();
    return { c, modem };
  }

  it("NodeMCU: a modem silent after the > prompt means offline; the next connect opens the port again and handshakes", async () => {
    const { c, modem } = await withModem("nodemcu", `
      m = mqtt.Client("silent", 30)
      local rounds = 0
      local function up(cl)
        rounds = rounds + 1
        print("connected", rounds)
        if rounds == 1 then cl:publish("t", "bin\\0ary", 0, 0, function() print("published") end)
        else cl:close() end
      end
      m:on("offline", function()
        print("offline")
        if rounds == 1 then m:connect("127.0.0.1", 1883, false, up, function(_, r) print("fail", r) end) end
      end)
      m:connect("127.0.0.1", 1883, false, up, function(_, r) print("fail", r) end)
    `, "silent-after-prompt");
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("connected\t1\noffline\nconnected\t2\noffline\n");
    // Told once, in words, without a stack trace.
    expect(c.stderr()).to.equal(`moonrig: AT modem ${c.rt.options.at}: AT modem stopped answering after the > prompt for AT+MQTTPUBRAW\n`);
    // The second connect started from the handshake on a freshly opened port.
    const handshakes = modem.commands.map((cmd, i) => (cmd === "AT" ? i : -1)).filter((i) => i >= 0);
    expect(handshakes.length).to.equal(2);
    expect(modem.commands[handshakes[1]! - 1]).to.match(/^AT\+MQTTPUBRAW=0,"t",7,0,0$/);
  });

  it("LuatOS: a modem silent after the > prompt gives the disconnect event, as a lost link does", async () => {
    const { c } = await withModem("luatos", `
      c = mqtt.create(nil, "127.0.0.1", 1883)
      c:auth("silent-lt")
      c:on(function(cl, event, data)
        print(event, data)
        if event == "conack" then cl:publish("t", "bin\\0ary", 0) end
        if event == "disconnect" then cl:close() end
      end)
      c:connect()
    `, "silent-after-prompt");
    expect(await c.rt.finished).to.equal(0);
    // QoS 0 is "sent" once handed over, as l_mqtt_publish posts it; the modem then goes silent.
    expect(c.stdout()).to.equal("conack\tnil\nsent\t0\ndisconnect\t-1\n");
  });

  it("NodeMCU: a +MQTTSUBRECV for a link the host never opened is ignored and told once; link 0 still delivers", async () => {
    const { c, modem } = await withModem("nodemcu", `
      m = mqtt.Client("links", 30)
      m:on("message", function(cl, t, d) print("message", t, d) cl:close() end)
      m:on("offline", function() print("offline") end)
      m:connect("127.0.0.1", 1883, false, function(cl) cl:subscribe("t", 0, function() print("subscribed") end) end)
    `);
    await c.waitFor("subscribed\n");
    modem.send('+MQTTSUBRECV:9,"t",5,nine!\r\n+MQTTSUBRECV:7,"t",5,seven\r\n+MQTTDISCONNECTED:9\r\n');
    await delay(100);
    modem.send('+MQTTSUBRECV:0,"t",4,zero\r\n');
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("subscribed\nmessage\tt\tzero\noffline\n");
    expect(c.stderr()).to.equal("moonrig: AT modem sent +MQTTSUBRECV for link 9, which this host never opened (it uses link 0); ignored\n");
  });
});

describe("AT faults: the broker killed and restarted mid-stream (--at emulator, QoS 1)", function () {
  this.timeout(30000);
  const track = closeAfterEach();
  let mosquitto: Mosquitto | undefined;
  before(async function () {
    if (!existsSync(process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto")) this.skip();
    mosquitto = await startMosquitto();
  });
  after(async () => {
    await mosquitto?.stop();
  });

  it("NodeMCU: offline, reconnect, go on: no acknowledged message lost, at most the one in flight repeated", async () => {
    const broker = mosquitto as Mosquitto;
    const total = 30;
    const c = track(captured({ flavor: "nodemcu", at: "emulator", broker: broker.urls.tcp, prelude: [`
      m = mqtt.Client("at-kill", 5)
      local acked = 0
      local function publish(cl)
        local i = acked + 1
        cl:publish("kill/" .. i, tostring(i), 1, 0, function()
          acked = i
          print("ack", i)
          if i == ${total} then cl:close() else publish(cl) end
        end)
      end
      local connect
      local function retry() tmr.create():alarm(100, tmr.ALARM_SINGLE, connect) end
      connect = function() m:connect("broker.example", 1883, false, publish, retry) end
      m:on("offline", function() print("offline") if acked < ${total} then retry() end end)
      connect()
    `] }));
    const from = broker.log().length;
    await c.rt.run();
    await c.waitFor("ack\t10\n", 10000);
    await broker.restart();
    expect(await c.rt.finished).to.equal(0);
    const out = c.stdout().split("\n").filter(Boolean);
    expect(out.filter((l) => l === "offline")).to.have.length(2);
    expect(out.filter((l) => l.startsWith("ack")).map((l) => Number(l.split("\t")[1]))).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
    // What reached the broker, across the restart: every message, each at most twice.
    const received = new Map<number, number>();
    for (const match of broker.log().slice(from).matchAll(/Received PUBLISH from at-kill \([^)]*'kill\/(\d+)'/g)) {
      const n = Number(match[1]);
      received.set(n, (received.get(n) ?? 0) + 1);
    }
    const lost = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !received.has(n));
    const duplicates = [...received.values()].reduce((sum, count) => sum + count - 1, 0);
    expect(lost).to.deep.equal([]);
    expect(duplicates).to.be.at.most(1);
    expect(c.stderr()).to.equal(`moonrig: broker.example:1883 -> ${broker.urls.tcp}\n`);
  });
});
