// The AT command driver against a scripted fake modem: in memory, then through a real pty
// pair (socat) with serialport on both ends, then against the modem emulator.
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { Duplex } from "node:stream";
import { AtDriver, AtError, type AtDriverOptions, type AtUrc } from "../modem/driver.js";
import { openSerialPort } from "../modem/serial.js";
import { buildAtCommand } from "../modem/escape.js";
import { AtModemEmulator } from "../emulator/index.js";
import { createLinkPair } from "../modem/link.js";
import { startBroker, type RunningBroker } from "../main/index.js";
import { startSocat } from "./support/socat.js";

const b = (s: string) => Buffer.from(s, "latin1");
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const NASTY = Buffer.concat([b('\r\nOK\r\n\r\n>,"q",\0\r\nERROR\r\n+MQTTPUB:OK\r\nbusy p...\r\n'), ALL_BYTES]);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two connected in-memory stream ends, like a serial cable. */
function linkPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  for (let i = 0; i < 2; i++) {
    ends.push(
      new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          const peer = ends[1 - i]!;
          if (!peer.destroyed) peer.push(chunk);
          callback();
        },
        final(callback) {
          ends[1 - i]!.push(null);
          callback();
        },
      }),
    );
  }
  return [ends[0]!, ends[1]!];
}

type Handler = (command: string, modem: FakeModem) => void;

/**
 * A modem that answers per a script: `handler` gets each command line; raw data is read
 * when the script asks for it. Echo is on until ATE0, as on real firmware.
 */
class FakeModem {
  echo = true;
  readonly commands: string[] = [];
  private buffer = Buffer.alloc(0);
  private wanted = 0;
  private onData: ((data: Buffer) => void) | undefined;

  constructor(
    readonly port: Duplex,
    private readonly handler: Handler,
  ) {
    port.on("data", (chunk: Buffer) => this.feed(chunk));
    port.on("error", () => {});
  }

  send(...parts: Array<string | Buffer>): void {
    if (this.port.destroyed || this.port.writableEnded) return;
    this.port.write(Buffer.concat(parts.map((p) => (typeof p === "string" ? b(p) : p))));
  }

  later(ms: number, ...parts: Array<string | Buffer>): void {
    setTimeout(() => this.send(...parts), ms);
  }

  /** Prompt, then hand exactly `length` bytes to `done`. */
  prompt(length: number, done: (data: Buffer) => void, prompt = "\r\nOK\r\n\r\n>"): void {
    this.wanted = length;
    this.onData = done;
    this.send(prompt);
  }

  private feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.wanted > 0) {
        if (this.buffer.length < this.wanted) return;
        const data = this.buffer.subarray(0, this.wanted);
        this.buffer = this.buffer.subarray(this.wanted);
        this.wanted = 0;
        this.onData!(Buffer.from(data));
        continue;
      }
      const end = this.buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = this.buffer.toString("utf8", 0, end);
      this.buffer = this.buffer.subarray(end + 2);
      this.commands.push(line);
      if (this.echo) this.send(line, "\r\n");
      if (line === "ATE0") this.echo = false;
      this.handler(line, this);
    }
  }
}

/** Answers OK to everything it does not know. */
const okModem: Handler = (cmd, m) => {
  if (cmd === "AT+SYSLOG=1" || cmd === "AT" || cmd === "ATE0") m.send("\r\nOK\r\n");
  else m.send("\r\nOK\r\n");
};

function setup(
  handler: Handler,
  options: AtDriverOptions = {},
): { driver: AtDriver; modem: FakeModem; urcs: AtUrc[]; host: Duplex } {
  const [host, device] = linkPair();
  const driver = new AtDriver(host, options);
  const modem = new FakeModem(device, handler);
  const urcs: AtUrc[] = [];
  driver.onUrc((u) => urcs.push(u));
  return { driver, modem, urcs, host };
}

async function rejection(promise: Promise<unknown>): Promise<AtError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AtError);
    return err as AtError;
  }
  throw new Error("expected a rejection");
}

describe("AT driver", () => {
  const open: AtDriver[] = [];
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
  });
  const track = <T extends { driver: AtDriver }>(x: T): T => (open.push(x.driver), x);

  it("handshakes: AT, ATE0, AT+SYSLOG=1, skipping the echo", async () => {
    const { driver, modem } = track(setup(okModem));
    expect(await driver.handshake()).to.deep.equal({ syslog: true });
    expect(modem.commands).to.deep.equal(["AT", "ATE0", "AT+SYSLOG=1"]);
  });

  it("handshakes with a W800 (no AT+SYSLOG) and an ESP-AT without it (ERROR tolerated)", async () => {
    const w800 = track(setup(okModem, { dialect: "w800" }));
    expect(await w800.driver.handshake()).to.deep.equal({ syslog: false });
    expect(w800.modem.commands).to.deep.equal(["AT", "ATE0"]);
    const old = track(setup((cmd, m) => m.send(cmd === "AT+SYSLOG=1" ? "\r\nERROR\r\n" : "\r\nOK\r\n")));
    expect(await old.driver.handshake()).to.deep.equal({ syslog: false });
  });

  it("keeps sending AT while the modem boots, then goes on", async () => {
    let seen = 0;
    const { driver, modem } = track(
      setup((cmd, m) => {
        if (cmd === "AT" && ++seen <= 3) {
          if (seen === 2) m.send("\x00\xff\x13boot noise");
          return;
        }
        if (seen === 4 && cmd === "AT") m.send("\r\nready\r\n");
        m.send("\r\nOK\r\n");
      }),
    );
    const result = await driver.handshake({ attemptTimeoutMs: 100 });
    expect(result.syslog).to.equal(true);
    expect(modem.commands.filter((c) => c === "AT")).to.have.length(5);
  });

  it("gives a clear error for a silent modem, never hangs, and recovers for the next command", async () => {
    let silent = true;
    const { driver, modem } = track(setup((_cmd, m) => (silent ? undefined : m.send("\r\nOK\r\n")), { timeoutMs: 150 }));
    modem.echo = false;
    const handshake = await rejection(driver.handshake({ attempts: 3, attemptTimeoutMs: 50 }));
    expect(handshake.kind).to.equal("no-answer");
    expect(handshake.message).to.equal(
      "AT modem did not answer AT after 3 attempts (50 ms each); check the port, baud rate and wiring",
    );
    const started = Date.now();
    const err = await rejection(driver.send('AT+MQTTPUB=0,"t","x",1,0'));
    expect(err.kind).to.equal("timeout");
    expect(err.message).to.equal("AT modem did not answer AT+MQTTPUB within 150 ms");
    expect(Date.now() - started).to.be.within(140, 1000);
    silent = false;
    expect((await driver.send("AT")).ok).to.equal(true);
  });

  it("uses the long timeout for AT+MQTTCONN= but not for the query", async () => {
    const { driver } = track(setup(() => undefined, { timeoutMs: 50, connectTimeoutMs: 250 }));
    const [conn, query] = await Promise.all([
      rejection(driver.send('AT+MQTTCONN=0,"h",1883,1')),
      rejection(driver.send("AT+MQTTCONN?")),
    ]);
    expect(conn.message).to.equal("AT modem did not answer AT+MQTTCONN within 250 ms");
    expect(query.message).to.equal("AT modem did not answer AT+MQTTCONN? within 50 ms");
  });

  it("sends one command at a time, in order, each with its own response lines", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { driver, modem } = track(
      setup((cmd, m) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const n = cmd.slice(-1);
        setTimeout(() => {
          inFlight--;
          m.send(`\r\n+R:${n}\r\n+R:${n}${n}\r\n\r\nOK\r\n`);
        }, 20 - Number(n) * 5);
      }),
    );
    const results = await Promise.all(["AT+Q1", "AT+Q2", "AT+Q3"].map((c) => driver.send(c)));
    expect(maxInFlight).to.equal(1);
    expect(modem.commands).to.deep.equal(["AT+Q1", "AT+Q2", "AT+Q3"]);
    expect(results.map((r) => [r.command, r.result, r.lines.map(String)])).to.deep.equal([
      ["AT+Q1", "OK", ["+R:1", "+R:11"]],
      ["AT+Q2", "OK", ["+R:2", "+R:22"]],
      ["AT+Q3", "OK", ["+R:3", "+R:33"]],
    ]);
  });

  it("skips the echo with echo on and collects query lines", async () => {
    const { driver, modem } = track(
      setup((cmd, m) => {
        if (cmd === "AT+MQTTSUB?") m.send('+MQTTSUB:0,6,"a/b",1\r\n+MQTTSUB:0,6,"c,\\"d",0\r\n\r\nOK\r\n');
        else m.send("\r\nOK\r\n");
      }),
    );
    const response = await driver.send("AT+MQTTSUB?");
    expect(modem.echo).to.equal(true);
    expect(response.lines.map(String)).to.deep.equal(['+MQTTSUB:0,6,"a/b",1', '+MQTTSUB:0,6,"c,\\"d",0']);
  });

  it("retries after busy p... and gives up after the bounded number of retries", async () => {
    let busy = 2;
    const { driver, modem } = track(
      setup(
        (cmd, m) => {
          if (cmd === "AT+GMR") m.send(busy-- > 0 ? "\r\nbusy p...\r\n" : "\r\nAT version:3.4\r\nOK\r\n");
          else m.send("\r\nbusy ...\r\n");
        },
        { busyRetryDelayMs: 10, busyRetries: 3 },
      ),
    );
    const response = await driver.send("AT+GMR");
    expect(response.lines.map(String)).to.deep.equal(["AT version:3.4"]);
    expect(modem.commands.filter((c) => c === "AT+GMR")).to.have.length(3);
    const err = await rejection(driver.send("AT+CWSTATE?"));
    expect(err.kind).to.equal("busy");
    expect(err.message).to.equal("AT modem stayed busy and did not accept AT+CWSTATE?");
    expect(modem.commands.filter((c) => c === "AT+CWSTATE?")).to.have.length(4);
  });

  it("rejects ERROR with the ERR CODE and what the modem said", async () => {
    const { driver } = track(
      setup((cmd, m) => {
        if (cmd.startsWith("AT+MQTTSUB=")) m.send("\r\nERR CODE:0x010a6034\r\nERROR\r\n");
        else if (cmd.startsWith("AT+MQTTUNSUB=")) m.send("\r\nNO UNSUBSCRIBE\r\n\r\nERROR\r\n");
        else m.send("\r\nERROR\r\n");
      }),
    );
    const err = await rejection(driver.send('AT+MQTTSUB=0,"t",1'));
    expect(err.kind).to.equal("error");
    expect(err.message).to.equal("AT modem answered ERROR to AT+MQTTSUB (ERR CODE 0x010a6034 AT_MQTT_LWT_MSG_IS_NULL)");
    expect(err.errCodes).to.deep.equal([0x010a6034]);
    const unsub = await rejection(driver.send('AT+MQTTUNSUB=0,"t"'));
    expect(unsub.message).to.equal("AT modem answered ERROR to AT+MQTTUNSUB (NO UNSUBSCRIBE)");
    const plain = await rejection(driver.send("AT+FOO"));
    expect(plain.message).to.equal("AT modem answered ERROR to AT+FOO");
    const accepted = await driver.send("AT+FOO", { acceptError: true });
    expect([accepted.ok, accepted.result]).to.deep.equal([false, "ERROR"]);
  });

  it("sends raw data after the prompt, with URCs between OK and > and before the result", async () => {
    const received: Buffer[] = [];
    const { driver, urcs } = track(
      setup((cmd, m) => {
        const raw = /^AT\+MQTTPUBRAW=0,"t",(\d+),1,0$/.exec(cmd);
        if (raw) {
          m.send("\r\nOK\r\n", '+MQTTCONNECTED:0,1,"broker.local","1883","",1\r\n');
          m.send(`+MQTTSUBRECV:0,"in",${NASTY.length},`, NASTY, "\r\n");
          m.prompt(Number(raw[1]), (data) => {
            received.push(data);
            m.send(`+MQTTSUBRECV:0,"in2",3,>\r\n\r\n`, "+MQTTDISCONNECTED:0\r\n");
            m.later(10, "\r\n+MQTTPUB:OK\r\n");
          }, "\r\n>");
          return;
        }
        const long = /^AT\+MQTTLONGCLIENTID=0,(\d+)$/.exec(cmd);
        if (long) {
          m.prompt(Number(long[1]), (data) => {
            received.push(data);
            m.send("\r\nOK\r\n");
          });
          return;
        }
        m.send("\r\nOK\r\n");
      }),
    );
    const response = await driver.send(`AT+MQTTPUBRAW=0,"t",${NASTY.length},1,0`, { data: NASTY });
    expect(response.result).to.equal("+MQTTPUB:OK");
    expect(received[0]).to.deep.equal(NASTY);
    const id = Buffer.from("id,with\r\n\"all\"\0", "latin1");
    expect((await driver.send(`AT+MQTTLONGCLIENTID=0,${id.length}`, { data: id })).result).to.equal("OK");
    expect(received[1]).to.deep.equal(id);
    expect(urcs.map((u) => u.type)).to.deep.equal(["mqtt-connected", "subrecv", "subrecv", "mqtt-disconnected"]);
    expect(urcs[0]).to.include({ host: "broker.local", port: 1883, path: "", scheme: 1, reconnect: true, linkId: 0 });
    const sub = urcs[1] as Extract<AtUrc, { type: "subrecv" }>;
    expect([sub.topic.toString(), sub.payload]).to.deep.equal(["in", NASTY]);
    const sub2 = urcs[2] as Extract<AtUrc, { type: "subrecv" }>;
    expect([sub2.topic.toString(), sub2.payload]).to.deep.equal(["in2", b(">\r\n")]);
    // Nothing was mistaken for a result line: the next command still pairs up.
    expect((await driver.send("AT")).lines).to.deep.equal([]);
  });

  it("reports +MQTTPUB:FAIL and a raw-data command refused before the prompt", async () => {
    const { driver, modem } = track(
      setup((cmd, m) => {
        if (cmd.startsWith("AT+MQTTPUBRAW=0,\"bad\"")) m.send("\r\nERR CODE:0x010a6051\r\nERROR\r\n");
        else if (cmd.startsWith("AT+MQTTPUBRAW")) m.prompt(2, () => m.send("\r\n+MQTTPUB:FAIL\r\n"));
        else m.send("\r\nOK\r\n");
      }),
    );
    const fail = await rejection(driver.send('AT+MQTTPUBRAW=0,"t",2,1,0', { data: b("hi") }));
    expect(fail.message).to.equal("AT modem answered +MQTTPUB:FAIL to AT+MQTTPUBRAW");
    const refused = await rejection(driver.send('AT+MQTTPUBRAW=0,"bad",2,1,0', { data: b("hi") }));
    expect(refused.message).to.equal(
      "AT modem answered ERROR to AT+MQTTPUBRAW (ERR CODE 0x010a6051 AT_MQTT_IN_DISCONNECTED_STATE)",
    );
    // The refused data was never sent, and a later `>` is no prompt.
    modem.send(">\r\n");
    expect((await driver.send("AT")).ok).to.equal(true);
    expect(modem.commands.at(-1)).to.equal("AT");
  });

  it("times out waiting for the prompt with its own message", async () => {
    const { driver } = track(setup((_cmd, m) => m.send("\r\nOK\r\n"), { timeoutMs: 100 }));
    const err = await rejection(driver.send('AT+MQTTPUBRAW=0,"t",2,0,0', { data: b("hi") }));
    expect(err.message).to.equal("AT modem did not send the > prompt for AT+MQTTPUBRAW within 100 ms");
  });

  it("reports a reboot as an event and fails the command it interrupted", async () => {
    const { driver, modem, urcs } = track(
      setup((cmd, m) => {
        if (cmd.startsWith("AT+MQTTCONN=")) m.later(10, "\r\nready\r\n");
        else if (cmd === "AT+RST") {
          m.send("\r\nOK\r\n");
          m.later(20, "\x00\x8f\xffets Jan  8 2013\r\n", "\r\nready\r\n");
          m.echo = true;
        } else m.send("\r\nOK\r\n");
      }),
    );
    const err = await rejection(driver.send('AT+MQTTCONN=0,"h",1883,1'));
    expect(err.kind).to.equal("reboot");
    expect(err.message).to.equal("AT modem restarted (printed ready) while running AT+MQTTCONN");
    expect(urcs.map((u) => u.type)).to.deep.equal(["ready"]);
    expect((await driver.restart()).syslog).to.equal(true);
    expect(urcs.filter((u) => u.type === "ready")).to.have.length(2);
    expect(modem.commands.slice(-4)).to.deep.equal(["AT+RST", "AT", "ATE0", "AT+SYSLOG=1"]);
  });

  it("joins the 1024-byte pieces of a long message and keeps other messages apart", async () => {
    const { modem, urcs } = track(setup(okModem, { subrecvFragmentWaitMs: 40 }));
    const piece = (topic: string, payload: Buffer) =>
      Buffer.concat([b(`+MQTTSUBRECV:0,"${topic}",${payload.length},`), payload, b("\r\n")]);
    const long = Buffer.from(Array.from({ length: 2500 }, (_, i) => (i * 7) % 256));
    const exact = Buffer.alloc(1024, 0x0a);
    modem.send(piece("big", long.subarray(0, 1024)), piece("big", long.subarray(1024, 2048)));
    await delay(5);
    modem.send(piece("big", long.subarray(2048)), piece("x", exact), piece("y", b("short")), piece("z", exact));
    await delay(10);
    expect(urcs).to.have.length(3);
    await delay(80);
    const got = urcs.map((u) => (u.type === "subrecv" ? [u.topic.toString(), u.payload] : u.type));
    expect(got).to.deep.equal([
      ["big", long],
      ["x", exact],
      ["y", b("short")],
      ["z", exact],
    ]);
  });

  it("starts a command sent from a URC listener only after the chunk in hand", async () => {
    const received: Buffer[] = [];
    const { driver, modem } = track(
      setup((cmd, m) => {
        if (cmd.startsWith("AT+MQTTPUBRAW")) m.prompt(3, (data) => (received.push(data), m.send("\r\n+MQTTPUB:OK\r\n")));
        else m.send("\r\nOK\r\n");
      }),
    );
    modem.echo = false;
    const results: Array<Promise<unknown>> = [];
    driver.onUrc((u) => {
      if (u.type === "mqtt-disconnected") results.push(driver.send('AT+MQTTPUBRAW=0,"t",3,0,0', { data: b("abc") }));
    });
    // One chunk: the stray `>` after the URC is not the new command's prompt.
    modem.send("+MQTTDISCONNECTED:0\r\n>");
    await delay(10);
    modem.send("\r\n");
    await delay(10);
    expect(results).to.have.length(1);
    expect(await results[0]).to.include({ result: "+MQTTPUB:OK" });
    expect(received).to.deep.equal([b("abc")]);
  });

  it("delivers lines and results that arrive while idle as URCs (answers to Lua at.raw)", async () => {
    const { driver, modem, urcs } = track(setup(okModem));
    modem.send("\r\nWIFI GOT IP\r\n+TIME_UPDATED\r\n+UNKNOWN:1\r\nhello\r\nOK\r\n");
    await delay(20);
    expect((await driver.send("AT")).ok).to.equal(true);
    expect(urcs.map((u) => (u.type === "line" ? [u.name, u.line.toString()] : u.type))).to.deep.equal([
      ["WIFI GOT IP", "WIFI GOT IP"],
      ["+TIME_UPDATED", "+TIME_UPDATED"],
      ["+UNKNOWN", "+UNKNOWN:1"],
      ["", "hello"],
      ["", "OK"],
    ]);
  });

  it("rejects the running and queued commands when the port closes mid-command", async () => {
    const { driver, modem } = track(setup(() => undefined));
    const closes: string[] = [];
    driver.onClose((e) => closes.push(e.message));
    const running = rejection(driver.send('AT+MQTTPUB=0,"t","x",1,0'));
    const queued = rejection(driver.send('AT+MQTTSUB=0,"t",1'));
    await delay(20);
    modem.port.end();
    expect((await running).message).to.equal("AT modem port closed while waiting for AT+MQTTPUB");
    expect((await queued).message).to.equal("AT modem port closed before AT+MQTTSUB was sent");
    expect(driver.closed).to.equal(true);
    expect(closes).to.deep.equal(["AT modem port closed"]);
    expect((await rejection(driver.send("AT"))).message).to.equal("cannot send AT: AT modem port closed");
  });

  it("rejects pending commands when the port fails, and on close()", async () => {
    const failing = track(setup(() => undefined));
    const pending = rejection(failing.driver.send("AT+GMR"));
    await delay(5);
    failing.host.destroy(new Error("EIO: i/o error, read"));
    expect((await pending).message).to.equal("AT modem port failed (EIO: i/o error, read) while waiting for AT+GMR");

    const closing = track(setup(() => undefined));
    const waiting = rejection(closing.driver.send("AT+GMR"));
    await closing.driver.close();
    expect((await waiting).message).to.equal("AT modem driver closed while waiting for AT+GMR");
  });

  it("refuses an over-long command before sending anything", async () => {
    const { driver, modem } = track(setup(okModem));
    const err = await rejection(driver.send(`AT+MQTTPUB=0,"t","${"x".repeat(300)}",0,0`));
    expect(err.kind).to.equal("invalid");
    expect(err.message).to.equal("AT command AT+MQTTPUB is 325 bytes with its line end; the modem accepts at most 256");
    await delay(5);
    expect(modem.commands).to.deep.equal([]);
  });
});


describe("AT driver over a real pty pair (socat + serialport)", function () {
  let socat: ChildProcess | undefined;
  before(function () {
    if (!existsSync("/usr/bin/socat") && !existsSync("/usr/local/bin/socat")) this.skip();
  });
  after(() => {
    if (socat && socat.exitCode === null) socat.kill();
  });

  it("says clearly when the port does not exist", async () => {
    let message = "";
    try {
      await openSerialPort("/dev/does-not-exist-moonrig", 115200);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.equal("AT modem port /dev/does-not-exist-moonrig does not exist");
  });

  it("lets go of the port when the driver closes: a silent modem's port opens again", async () => {
    const started = await startSocat();
    socat = started.proc;
    const [hostPath] = started.paths;
    const driver = new AtDriver(await openSerialPort(hostPath, 115200), { timeoutMs: 50 });
    expect((await rejection(driver.handshake({ attempts: 2, attemptTimeoutMs: 50 }))).kind).to.equal("no-answer");
    await driver.close();
    const again = await openSerialPort(hostPath, 115200);
    expect(again.destroyed).to.equal(false);
    again.destroy();
    socat.kill();
  });

  it("handshakes, publishes raw bytes and receives binary messages, then fails cleanly when the link goes", async () => {
    const started = await startSocat();
    socat = started.proc;
    const [hostPath, modemPath] = started.paths;
    const modemPort = await openSerialPort(modemPath, 115200);
    const hostPort = await openSerialPort(hostPath, 115200);
    const published: Buffer[] = [];
    const modem = new FakeModem(modemPort, (cmd, m) => {
      const raw = /^AT\+MQTTPUBRAW=0,"t",(\d+),0,0$/.exec(cmd);
      if (raw) {
        m.prompt(Number(raw[1]), (data) => {
          published.push(data);
          m.send("\r\n+MQTTPUB:OK\r\n");
          m.send(`+MQTTSUBRECV:0,"t",${data.length},`, data, "\r\n");
        });
      } else if (cmd === "AT+HANG") {
        // no answer: the link will go away under it
      } else {
        m.send("\r\nOK\r\n");
      }
    });
    const driver = new AtDriver(hostPort);
    const urcs: AtUrc[] = [];
    driver.onUrc((u) => urcs.push(u));
    try {
      expect(await driver.handshake()).to.deep.equal({ syslog: true });
      const big = Buffer.concat([NASTY, ALL_BYTES, ALL_BYTES, ALL_BYTES, NASTY]);
      expect((await driver.send(`AT+MQTTPUBRAW=0,"t",${big.length},0,0`, { data: big })).result).to.equal("+MQTTPUB:OK");
      expect(published).to.deep.equal([big]);
      for (let i = 0; i < 50 && urcs.length === 0; i++) await delay(10);
      const sub = urcs[0] as Extract<AtUrc, { type: "subrecv" }>;
      expect(sub.type).to.equal("subrecv");
      expect(sub.payload).to.deep.equal(big);
      expect(modem.commands.slice(0, 3)).to.deep.equal(["AT", "ATE0", "AT+SYSLOG=1"]);

      const hanging = rejection(driver.send("AT+HANG"));
      await delay(50);
      socat.kill();
      const err = await hanging;
      expect(err.kind).to.equal("closed");
      expect(err.message).to.match(/^AT modem port (closed|failed \(.+\)) while waiting for AT\+HANG$/);
      expect(driver.closed).to.equal(true);
    } finally {
      await driver.close();
      modemPort.destroy();
    }
  });
});

describe("AT driver against the modem emulator (createLinkPair)", () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker({});
  });
  after(async () => {
    await broker.close();
  });

  for (const [dialect, baud] of [
    ["esp-at", undefined],
    ["w800", 115200],
  ] as const) {
    it(`drives a ${dialect} emulator${baud ? ` at ${baud} baud` : ""}: connect, subscribe, binary publish and receive`, async () => {
      const [hostEnd, modemEnd] = createLinkPair(baud === undefined ? {} : { baud });
      const driver = new AtDriver(hostEnd, { dialect });
      const urcs: AtUrc[] = [];
      driver.onUrc((u) => urcs.push(u));
      const booted = driver.waitForReady(5000);
      const emulator = new AtModemEmulator(modemEnd, { dialect, broker: broker.tcpUrl });
      emulator.start();
      const received = (topic: string, count: number) =>
        (async () => {
          for (let i = 0; i < 300; i++) {
            const got = urcs.filter((u): u is Extract<AtUrc, { type: "subrecv" }> => u.type === "subrecv" && u.topic.toString() === topic);
            if (got.length >= count) return got.map((u) => u.payload);
            await delay(10);
          }
          throw new Error(`no message on ${topic}`);
        })();
      try {
        await booted;
        expect(await driver.handshake()).to.deep.equal({ syslog: dialect === "esp-at" });
        await driver.send(buildAtCommand("AT+MQTTUSERCFG", [0, 1, `drv-${dialect}`, "", "", 0, 0, ""]));
        await driver.send(buildAtCommand("AT+MQTTCONN", [0, "127.0.0.1", broker.tcpPort, 0]));
        await driver.send(buildAtCommand("AT+MQTTSUB", [0, "drv/#", 1]));
        const state = await driver.send("AT+MQTTCONN?");
        expect(state.lines.map(String)[0]).to.match(/^\+MQTTCONN:0,6,1,"127\.0\.0\.1","\d+","",0$/);

        // Raw bytes that look like protocol, then a message long enough to be split.
        const pub = await driver.send(buildAtCommand("AT+MQTTPUBRAW", [0, "drv/raw", NASTY.length, 1, 0]), { data: NASTY });
        expect(pub.result).to.equal("+MQTTPUB:OK");
        expect(await received("drv/raw", 1)).to.deep.equal([NASTY]);
        const long = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13) % 256));
        await driver.send(buildAtCommand("AT+MQTTPUBRAW", [0, "drv/long", long.length, 0, 0]), { data: long });
        expect(await received("drv/long", 1)).to.deep.equal([long]);

        // An escaped string payload arrives unescaped.
        const text = 'say "hi", \\ then go';
        await driver.send(buildAtCommand("AT+MQTTPUB", [0, "drv/text", text, 1, 0]));
        expect((await received("drv/text", 1)).map(String)).to.deep.equal([text]);

        const err = await rejection(driver.send(buildAtCommand("AT+MQTTSUB", [0, "x".repeat(200), 0])));
        expect(err.kind).to.equal("error");
        expect(err.message).to.match(/^AT modem answered ERROR to AT\+MQTTSUB/);
        if (dialect === "esp-at") {
          expect(err.message).to.equal("AT modem answered ERROR to AT+MQTTSUB (ERR CODE 0x010a6043 AT_MQTT_TOPIC_IS_OVERLENGTH)");
        }
        await driver.send("AT+MQTTCLEAN=0");
      } finally {
        await emulator.close();
        await driver.close();
      }
    });
  }
});
