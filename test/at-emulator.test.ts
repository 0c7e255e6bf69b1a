import { expect } from "chai";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectAsync, type MqttClient } from "mqtt";
import { createLinkPair } from "../modem/link.js";
import { AtModemEmulator, type AtModemOptions } from "../emulator/index.js";
import { createMqttJsSession } from "../mqtt/mqttjs.js";
import type { SessionOptions } from "../mqtt/session.js";
import { startBroker, type RunningBroker } from "../runtime/broker.js";
import { atModemCommand } from "../runtime/at-modem.js";
import { tempDir } from "./support/temp.js";

const HOST = "127.0.0.1";
const WAIT_MS = 3000;
// Every byte value, so any text decoding or stripped NUL on the way shows up.
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
// Everything a line-oriented reader could trip over.
const TRICKY = Buffer.from('a\r\nOK\r\n\r\nERROR\r\n>,"quoted",\\,\x00+MQTTSUBRECV:0,"x",3,abc\r\n\x00', "latin1");
const FAST = { bootMs: 20, wifiJoinMs: 20, sntpMs: 40, reconnectMs: 100, commandTimeoutMs: 1500, connectTimeoutMs: 2000 };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function bytes(text: string | Buffer): Buffer {
  return typeof text === "string" ? Buffer.from(text, "latin1") : text;
}

function show(buffer: Buffer): string {
  return JSON.stringify(buffer.toString("latin1"));
}

/** The host side of the line: writes commands and checks the exact bytes that come back. */
class Wire {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  echo = true;

  constructor(readonly port: Duplex) {
    port.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
  }

  get pending(): Buffer {
    return this.buffer;
  }

  /** Forgets whatever has arrived so far. */
  discard(): void {
    this.buffer = Buffer.alloc(0);
  }

  write(data: string | Buffer): void {
    this.port.write(bytes(data));
  }

  private async waitFor(condition: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}; have ${show(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Exactly these bytes come next (checked as they arrive, so a mismatch fails at once). */
  async expect(expected: string | Buffer, timeoutMs = WAIT_MS): Promise<void> {
    const want = bytes(expected);
    await this.waitFor(() => {
      const n = Math.min(this.buffer.length, want.length);
      if (!this.buffer.subarray(0, n).equals(want.subarray(0, n))) {
        throw new Error(`expected ${show(want)}\n     got ${show(this.buffer)}`);
      }
      return this.buffer.length >= want.length;
    }, () => show(want), timeoutMs);
    this.buffer = this.buffer.subarray(want.length);
  }

  /** Everything up to and including `terminator`. */
  async readUntil(terminator: string | Buffer, timeoutMs = WAIT_MS): Promise<Buffer> {
    const end = bytes(terminator);
    await this.waitFor(() => this.buffer.indexOf(end) >= 0, () => show(end), timeoutMs);
    const at = this.buffer.indexOf(end) + end.length;
    const out = this.buffer.subarray(0, at);
    this.buffer = this.buffer.subarray(at);
    return out;
  }

  /** Nothing arrives for `ms`. */
  async silent(ms: number): Promise<void> {
    await delay(ms);
    expect(show(this.buffer)).to.equal('""');
  }

  /** Sends a command line and expects its echo (when on) followed by `response`. */
  async at(command: string | Buffer, response: string | Buffer, timeoutMs = WAIT_MS): Promise<void> {
    const line = Buffer.concat([bytes(command), Buffer.from("\r\n")]);
    this.write(line);
    await this.expect(Buffer.concat([this.echo ? line : Buffer.alloc(0), bytes(response)]), timeoutMs);
  }
}

interface Running {
  wire: Wire;
  emulator: AtModemEmulator;
  sessions: SessionOptions[];
}

async function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("AT modem emulator", function () {
  let broker: RunningBroker;
  const brokerLog: string[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  before(async function () {
    broker = await startBroker({ verbose: true, log: (line) => brokerLog.push(line) });
  });

  after(async function () {
    await broker.close();
  });

  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A powered-up modem on an in-process line, its boot banner already read. */
  async function modem(options: Partial<AtModemOptions> = {}): Promise<Running> {
    const [hostEnd, modemEnd] = createLinkPair();
    const sessions: SessionOptions[] = [];
    const emulator = new AtModemEmulator(modemEnd, {
      dialect: "esp-at",
      timing: FAST,
      sessionFactory: (o, listener, env) => {
        sessions.push(o);
        return createMqttJsSession(o, listener, env);
      },
      ...options,
    });
    const wire = new Wire(hostEnd);
    emulator.start();
    cleanups.push(async () => {
      await emulator.close();
      hostEnd.destroy();
      modemEnd.destroy();
    });
    await wire.expect(options.dialect === "w800" ? "ready\r\n" : "\r\nready\r\n");
    return { wire, emulator, sessions };
  }

  async function peer(url = broker.tcpUrl, clientId = `peer-${Math.random().toString(16).slice(2)}`): Promise<MqttClient> {
    const client = await withTimeout(connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: WAIT_MS }, false), `peer ${clientId}`);
    cleanups.push(() => void client.end(true));
    return client;
  }

  function nextMessage(client: MqttClient, topic?: string): Promise<{ topic: string; payload: Buffer; qos: number; retain: boolean }> {
    return withTimeout(new Promise((resolve) => {
      const onMessage = (t: string, payload: Buffer, packet: { qos: number; retain: boolean }): void => {
        if (topic !== undefined && t !== topic) return;
        client.off("message", onMessage);
        resolve({ topic: t, payload, qos: packet.qos, retain: packet.retain });
      };
      client.on("message", onMessage);
    }), `a message${topic ? ` on ${topic}` : ""}`);
  }

  const connected = (scheme: number, host: string, port: number | string, path: string, reconnect: number): string =>
    `+MQTTCONNECTED:0,${scheme},"${host}","${port}","${path}",${reconnect}\r\n`;

  /** Configures and connects link 0 to the test broker. */
  async function online(wire: Wire, clientId = "esp32", reconnect = 0): Promise<void> {
    await wire.at(`AT+MQTTUSERCFG=0,1,"${clientId}","","",0,0,""`, "\r\nOK\r\n");
    await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},${reconnect}`, `${connected(1, HOST, broker.tcpPort, "", reconnect)}\r\nOK\r\n`);
  }

  describe("createLinkPair", function () {
    it("carries every byte value both ways, in order, and passes an end on", async function () {
      const [a, b] = createLinkPair();
      const atB: Buffer[] = [];
      const atA: Buffer[] = [];
      b.on("data", (chunk: Buffer) => atB.push(chunk));
      a.on("data", (chunk: Buffer) => atA.push(chunk));
      for (let i = 0; i < 4; i++) a.write(ALL_BYTES.subarray(i * 64, i * 64 + 64));
      b.write(TRICKY);
      const ended = new Promise<void>((resolve) => b.once("end", () => resolve()));
      a.end();
      b.resume();
      await withTimeout(ended, "the end to cross");
      expect(Buffer.concat(atB).equals(ALL_BYTES)).to.equal(true);
      expect(Buffer.concat(atA).equals(TRICKY)).to.equal(true);
      a.destroy();
      b.destroy();
    });

    it("paces bytes at the line rate with baud (10 bits a byte)", async function () {
      const [a, b] = createLinkPair({ baud: 115200 });
      const got: Buffer[] = [];
      let total = 0;
      const start = performance.now();
      const done = new Promise<number>((resolve) => {
        b.on("data", (chunk: Buffer) => {
          got.push(chunk);
          total += chunk.length;
          if (total === 2304) resolve(performance.now() - start);
        });
      });
      // 2304 bytes at 11520 bytes/s take 200 ms.
      for (let i = 0; i < 9; i++) a.write(ALL_BYTES);
      const elapsed = await withTimeout(done, "paced bytes");
      expect(elapsed).to.be.within(180, 400);
      expect(Buffer.concat(got).equals(Buffer.concat(Array.from({ length: 9 }, () => ALL_BYTES)))).to.equal(true);
      // Delivery is spread out, not one burst at the end.
      expect(got.length).to.be.above(20);
      a.destroy();
      b.destroy();
    });

    it("holds a writer back until its bytes are on the line", async function () {
      const [a, b] = createLinkPair({ baud: 9600 });
      b.resume();
      const start = performance.now();
      // 96 bytes at 960 bytes/s: 100 ms before the write callback.
      await new Promise<void>((resolve) => a.write(Buffer.alloc(96, 0x55), () => resolve()));
      expect(performance.now() - start).to.be.within(85, 250);
      a.destroy();
      b.destroy();
    });
  });

  describe("basic commands", function () {
    it("boots with ready, echoes commands and answers AT with OK", async function () {
      const { wire } = await modem();
      await wire.at("AT", "\r\nOK\r\n");
    });

    it("stops echoing after ATE0 and starts again after ATE1", async function () {
      const { wire } = await modem();
      await wire.at("ATE0", "\r\nOK\r\n");
      wire.echo = false;
      await wire.at("AT", "\r\nOK\r\n");
      await wire.at("ATE1", "\r\nOK\r\n");
      wire.echo = true;
      await wire.at("AT", "\r\nOK\r\n");
    });

    it("echoes bytes as they arrive, before the line is complete", async function () {
      const { wire } = await modem();
      wire.write("AT+GM");
      await wire.expect("AT+GM");
      wire.write("R\r");
      await wire.expect("R\r");
      wire.write("\n");
      await wire.expect("\n");
      await wire.readUntil("\r\nOK\r\n");
    });

    it("refuses unknown commands, lower-case prefixes and unsupported forms with ERROR", async function () {
      const { wire } = await modem();
      await wire.at("AT+NOSUCH", "\r\nERROR\r\n");
      await wire.at("at", "\r\nERROR\r\n");
      await wire.at("AT+GMR?", "\r\nERROR\r\n");
      await wire.at("AT+MQTTPUB?", "\r\nERROR\r\n");
      await wire.at("ATE2", "\r\nERROR\r\n");
    });

    it("answers AT+GMR with version lines", async function () {
      const { wire } = await modem();
      wire.write("AT+GMR\r\n");
      await wire.expect("AT+GMR\r\n");
      const reply = (await wire.readUntil("\r\nOK\r\n")).toString("latin1");
      expect(reply).to.match(/^AT version:[^\r\n]+\r\nSDK version:[^\r\n]+\r\ncompile time[^\r\n]+\r\nBin version:[^\r\n]+\r\n\r\nOK\r\n$/);
    });

    it("AT+RST answers OK, then boots again with ready and echo back on", async function () {
      const { wire } = await modem();
      await wire.at("ATE0", "\r\nOK\r\n");
      wire.echo = false;
      await wire.at("AT+RST", "\r\nOK\r\n\r\nready\r\n");
      wire.echo = true;
      await wire.at("AT", "\r\nOK\r\n");
    });

    it("AT+SYSLOG sets and reports the error-code lines", async function () {
      const { wire } = await modem();
      await wire.at("AT+SYSLOG?", "+SYSLOG:0\r\n\r\nOK\r\n");
      await wire.at("AT+NOSUCH", "\r\nERROR\r\n");
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at("AT+SYSLOG?", "+SYSLOG:1\r\n\r\nOK\r\n");
      await wire.at("AT+NOSUCH", "ERR CODE:0x01090000\r\n\r\nERROR\r\n");
      await wire.at("AT+SYSLOG=2", "ERR CODE:0x01070000\r\n\r\nERROR\r\n");
      await wire.at("AT+SYSLOG=0", "\r\nOK\r\n");
      await wire.at("AT+NOSUCH", "\r\nERROR\r\n");
    });

    it("joins Wi-Fi as the seed's examples do and reports the station state", async function () {
      const { wire } = await modem();
      await wire.at("AT+CWSTATE?", '+CWSTATE:0,""\r\n\r\nOK\r\n');
      await wire.at("AT+CWJAP?", "No AP\r\n\r\nOK\r\n");
      await wire.at("AT+CWMODE=1", "\r\nOK\r\n");
      await wire.at("AT+CWMODE?", "+CWMODE:1\r\n\r\nOK\r\n");
      await wire.at('AT+CWJAP="ssid","password"', "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n");
      await wire.at("AT+CWSTATE?", '+CWSTATE:2,"ssid"\r\n\r\nOK\r\n');
      wire.write("AT+CWJAP?\r\n");
      await wire.expect('AT+CWJAP?\r\n+CWJAP:"ssid","');
      expect((await wire.readUntil("\r\n\r\nOK\r\n")).toString("latin1")).to.match(/^[0-9a-f:]{17}",\d+,-\d+,\d,\d,\d,\d,\d\r\n\r\nOK\r\n$/);
      await wire.at("AT+CWQAP", "WIFI DISCONNECT\r\n\r\nOK\r\n");
      await wire.at("AT+CWSTATE?", '+CWSTATE:4,"ssid"\r\n\r\nOK\r\n');
      await wire.at("AT+CWMODE=0", "\r\nOK\r\n");
      await wire.at('AT+CWJAP="ssid","password"', "\r\nERROR\r\n");
    });

    it("syncs time after AT+CIPSNTPCFG with +TIME_UPDATED and reports it in the zone", async function () {
      const { wire } = await modem();
      await wire.at('AT+CWJAP="ssid","password"', "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n");
      await wire.at("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Thu Jan 01 00:00:00 1970\r\n\r\nOK\r\n");
      await wire.at('AT+CIPSNTPCFG=1,8,"ntp1.aliyun.com","ntp2.aliyun.com"', "\r\nOK\r\n");
      await wire.at("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Thu Jan 01 08:00:00 1970\r\n\r\nOK\r\n");
      await wire.at("AT+CIPSNTPCFG?", '+CIPSNTPCFG:1,8,"ntp1.aliyun.com","ntp2.aliyun.com"\r\n\r\nOK\r\n');
      await wire.expect("+TIME_UPDATED\r\n");
      wire.write("AT+CIPSNTPTIME?\r\n");
      await wire.expect("AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:");
      const line = (await wire.readUntil("\r\n\r\nOK\r\n")).toString("latin1");
      const match = /^(\w{3}) (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\r\n/.exec(line);
      expect(match, line).to.not.equal(null);
      const now = new Date(Date.now() + 8 * 3600000);
      expect(Number(match?.[7])).to.equal(now.getUTCFullYear());
      expect(Number(match?.[4])).to.equal(now.getUTCHours());
    });

    it("refuses a command line longer than 256 bytes (CR LF included) and accepts one of exactly 256", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      const prefix = 'AT+MQTTPUB=0,"t/len","';
      const suffix = '",0,0';
      const fill = (n: number): string => "x".repeat(n - prefix.length - suffix.length - 2);
      await wire.at(`${prefix}${fill(256)}${suffix}`, "\r\nOK\r\n");
      await wire.at(`${prefix}${fill(257)}${suffix}`, "ERR CODE:0x01040000\r\n\r\nERROR\r\n");
      await wire.at("AT", "\r\nOK\r\n");
    });

    it("answers input that arrives while a command runs with busy p... and keeps the command going", async function () {
      const silent = await hangingServer();
      const { wire } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,1,"esp32","","",0,0,""', "\r\nOK\r\n");
      wire.write(`AT+MQTTCONN=0,"${HOST}",${silent.port},0,400\r\n`);
      await wire.expect(`AT+MQTTCONN=0,"${HOST}",${silent.port},0,400\r\n`);
      wire.write("AT\r\n");
      await wire.expect("\r\nbusy p...\r\n");
      wire.write("AT+GMR\r\nAT\r\n");
      await wire.expect("\r\nbusy p...\r\n\r\nbusy p...\r\n");
      await wire.expect("\r\nERROR\r\n");
      await wire.at("AT", "\r\nOK\r\n");
    });
  });

  describe("MQTT configuration", function () {
    it("accepts the seed's configuration sequence and connects through the routing", async function () {
      const { wire, sessions } = await modem({ map: [["192.168.200.2:8883", broker.tcpUrl]] });
      await wire.at("AT+CWMODE=1", "\r\nOK\r\n");
      await wire.at('AT+CWJAP="ssid","password"', "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n");
      await wire.at('AT+CIPSNTPCFG=1,8,"ntp1.aliyun.com","ntp2.aliyun.com"', "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,5,"esp32","espressif","1234567890",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTALPN=0,2,"mqtt-ca.cn","mqtt-ca.us"', "\r\nOK\r\n");
      await wire.at('AT+MQTTSNI=0,"my_specific_prefix.iot.my_aws_region.amazonaws.com"', "\r\nOK\r\n");
      wire.write('AT+MQTTCONN=0,"192.168.200.2",8883,1\r\n');
      await wire.expect('AT+MQTTCONN=0,"192.168.200.2",8883,1\r\n');
      // +TIME_UPDATED may come at any point; the test takes whatever order the timers gave.
      const rest = (await wire.readUntil("\r\nOK\r\n")).toString("latin1").replace("+TIME_UPDATED\r\n", "");
      expect(rest).to.equal(`${connected(5, "192.168.200.2", 8883, "", 1)}\r\nOK\r\n`);
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,4,5,"192.168.200.2","8883","",1\r\n\r\nOK\r\n');
      const session = sessions[0] as SessionOptions;
      expect(session.url.href).to.equal("mqtts://192.168.200.2:8883");
      expect(session.clientId).to.equal("esp32");
      expect(Buffer.from(session.username ?? []).toString()).to.equal("espressif");
      expect(Buffer.from(session.password ?? []).toString()).to.equal("1234567890");
      expect(session.tls).to.deep.include({ verify: true });
      expect(session.keepalive).to.equal(120);
      expect(session.clean).to.equal(true);
    });

    it("reports the states 0..6 in AT+MQTTCONN? as the link goes through them", async function () {
      const { wire } = await modem();
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,0,0,"","","",0\r\n\r\nOK\r\n');
      await wire.at('AT+MQTTUSERCFG=0,1,"states","","",0,0,""', "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,1,1,"","","",0\r\n\r\nOK\r\n');
      await wire.at('AT+MQTTCONNCFG=0,30,0,"","",0,0', "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,2,1,"","","",0\r\n\r\nOK\r\n');
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,4,1,"${HOST}","${broker.tcpPort}","",0\r\n\r\nOK\r\n`);
      await wire.at('AT+MQTTSUB=0,"s/1",1', "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,6,1,"${HOST}","${broker.tcpPort}","",0\r\n\r\nOK\r\n`);
      await wire.at('AT+MQTTUNSUB=0,"s/1"', "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,5,1,"${HOST}","${broker.tcpPort}","",0\r\n\r\nOK\r\n`);
      await wire.at("AT+MQTTCLEAN=0", "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,0,0,"","","",0\r\n\r\nOK\r\n');
    });

    it("takes long client id, username and password after the > prompt, byte for byte", async function () {
      const { wire, sessions } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,1,"short","u","p",0,0,""', "\r\nOK\r\n");
      const id = Buffer.from(`${"i".repeat(300)},"quoted"\\\r\n-end`, "latin1");
      const user = Buffer.from("user,with\"odd\"\r\nbytes".repeat(20), "latin1");
      const password = Buffer.concat([ALL_BYTES, ALL_BYTES]);
      for (const [command, value] of [["AT+MQTTLONGCLIENTID", id], ["AT+MQTTLONGUSERNAME", user], ["AT+MQTTLONGPASSWORD", password]] as const) {
        await wire.at(`${command}=0,${value.length}`, "\r\nOK\r\n\r\n>");
        // The data is not echoed; OK follows exactly when the last byte arrives.
        wire.write(value.subarray(0, 10));
        await wire.silent(30);
        wire.write(value.subarray(10));
        await wire.expect("\r\nOK\r\n");
      }
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
      const session = sessions[0] as SessionOptions;
      expect(session.clientId).to.equal(id.toString("latin1"));
      expect(Buffer.from(session.username ?? []).equals(user)).to.equal(true);
      expect(Buffer.from(session.password ?? []).equals(password)).to.equal(true);
      expect(brokerLog).to.include(`connect ${id.toString("latin1")}`);
    });

    it("passes keepalive, clean session and the will on, and the broker sends the will when the modem dies", async function () {
      const { wire, sessions } = await modem();
      const watcher = await peer();
      await watcher.subscribeAsync("will/esp", { qos: 1 });
      await wire.at('AT+MQTTUSERCFG=0,1,"with-will","","",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTCONNCFG=0,0,1,"will/esp","gone\\, for now",1,0', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
      const session = sessions[0] as SessionOptions;
      expect(session.keepalive).to.equal(120);
      expect(session.clean).to.equal(false);
      expect(session.will?.qos).to.equal(1);
      const will = nextMessage(watcher, "will/esp");
      // A reset drops the TCP link without DISCONNECT, as a power cut would.
      await wire.at("AT+RST", "\r\nOK\r\n\r\nready\r\n");
      expect((await will).payload.toString()).to.equal("gone, for now");
    });

    it("checks every parameter and reports the seed's error codes with AT+SYSLOG=1", async function () {
      const { wire } = await modem();
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      const fails: Array<[string, number]> = [
        ['AT+MQTTCONNCFG=0,120,0,"","",0,0', 0x6001],
        ['AT+MQTTCONN=0,"127.0.0.1",1883,0', 0x6001],
        ["AT+MQTTCLEAN=0", 0x6003],
        ['AT+MQTTUSERCFG=0,1,"id","","",0,0', 0x6008],
        ['AT+MQTTUSERCFG=1,1,"id","","",0,0,""', 0x6011],
        ['AT+MQTTUSERCFG=x,1,"id","","",0,0,""', 0x6010],
        ['AT+MQTTUSERCFG=0,11,"id","","",0,0,""', 0x6013],
        ['AT+MQTTUSERCFG=0,1,id,"","",0,0,""', 0x6014],
        ['AT+MQTTUSERCFG=0,1,"","","",0,0,""', 0x6015],
        [`AT+MQTTUSERCFG=0,1,"id","${"u".repeat(65)}","",0,0,""`, 0x6019],
        [`AT+MQTTUSERCFG=0,1,"id","","${"p".repeat(65)}",0,0,""`, 0x601c],
        ['AT+MQTTUSERCFG=0,1,"id","","",1,0,""', 0x601e],
        ['AT+MQTTUSERCFG=0,1,"id","","",0,1,""', 0x6020],
        [`AT+MQTTUSERCFG=0,1,"id","","",0,0,"${"/".repeat(33)}"`, 0x6029],
      ];
      for (const [command, code] of fails) {
        await wire.at(command, `ERR CODE:0x010a${code.toString(16)}\r\n\r\nERROR\r\n`);
      }
      await wire.at('AT+MQTTUSERCFG=0,1,"id","","",0,0,""', "\r\nOK\r\n");
      const more: Array<[string, number]> = [
        ["AT+MQTTLONGCLIENTID=0,0", 0x6015],
        ["AT+MQTTLONGCLIENTID=0,1025", 0x6016],
        ["AT+MQTTLONGUSERNAME=0,1025", 0x6019],
        ["AT+MQTTLONGPASSWORD=0,0", 0x601b],
        ['AT+MQTTCONNCFG=0,7201,0,"","",0,0', 0x602d],
        ['AT+MQTTCONNCFG=0,120,2,"","",0,0', 0x602f],
        [`AT+MQTTCONNCFG=0,120,0,"${"t".repeat(129)}","",0,0`, 0x6032],
        ['AT+MQTTCONNCFG=0,120,0,"t","m",3,0', 0x6037],
        ['AT+MQTTCONNCFG=0,120,0,"t","m",0,2', 0x6039],
        ['AT+MQTTALPN=0,6,"a","b","c","d","e","f"', 0x600a],
        ['AT+MQTTALPN=0,2,"a"', 0x6008],
        ['AT+MQTTCONN=0,"",1883,0', 0x603b],
        [`AT+MQTTCONN=0,"${"h".repeat(129)}",1883,0`, 0x603c],
        ['AT+MQTTCONN=0,"127.0.0.1",0,0', 0x603e],
        ['AT+MQTTCONN=0,"127.0.0.1",65536,0', 0x603e],
        ['AT+MQTTCONN=0,"127.0.0.1",1883,2', 0x6040],
        ['AT+MQTTCONN=0,"bad host",1883,0', 0x6050],
        ['AT+MQTTPUB=0,"t","d",0,0', 0x6051],
        ['AT+MQTTPUBRAW=0,"t",5,0,0', 0x6051],
        ['AT+MQTTSUB=0,"t",0', 0x6051],
        ['AT+MQTTUNSUB=0,"t"', 0x6051],
        ['AT+MQTTPUB=0,"","d",0,0', 0x6042],
        [`AT+MQTTPUB=0,"${"t".repeat(129)}","d",0,0`, 0x6043],
        ['AT+MQTTPUB=0,"t","d",3,0', 0x6048],
        ['AT+MQTTPUB=0,"t","d",0,2', 0x604a],
        ['AT+MQTTPUBRAW=0,"t",0,0,0', 0x604c],
        ['AT+MQTTSUB=0,"t",5', 0x6048],
      ];
      for (const [command, code] of more) {
        await wire.at(command, `ERR CODE:0x010a${code.toString(16)}\r\n\r\nERROR\r\n`);
      }
      await wire.at('AT+MQTTPUB=0,"open', "ERR CODE:0x01080000\r\n\r\nERROR\r\n");
    });

    it("reports a broker that cannot be reached with ERROR and lets the host try again", async function () {
      const { wire } = await modem();
      const closed = await unusedPort();
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"retry","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${closed},1`, "ERR CODE:0x010a600b\r\n\r\nERROR\r\n");
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,1,1,"${HOST}","${closed}","",1\r\n\r\nOK\r\n`);
      // No automatic retry after a failed AT+MQTTCONN, even with reconnect=1.
      await wire.silent(300);
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, "ERR CODE:0x010a6004\r\n\r\nERROR\r\n");
    });

    it("gives up on a silent broker after the AT+MQTTCONN timeout", async function () {
      const silent = await hangingServer();
      const { wire } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,1,"slow","","",0,0,""', "\r\nOK\r\n");
      const start = Date.now();
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${silent.port},0,300`, "\r\nERROR\r\n");
      expect(Date.now() - start).to.be.within(250, 1500);
    });

    it("connects over WebSocket for scheme 6 with the configured path", async function () {
      const { wire, sessions } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,6,"over-ws","","",0,0,"/mqtt"', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.wsPort},0`, `${connected(6, HOST, broker.wsPort, "/mqtt", 0)}\r\nOK\r\n`);
      expect((sessions[0] as SessionOptions).url.href).to.equal(`ws://${HOST}:${broker.wsPort}/mqtt`);
      const watcher = await peer();
      await watcher.subscribeAsync("ws/t", { qos: 1 });
      const got = nextMessage(watcher);
      await wire.at('AT+MQTTPUB=0,"ws/t","over websocket",1,0', "\r\nOK\r\n");
      expect((await got).payload.toString()).to.equal("over websocket");
    });

    it("sends every connection to --broker when one is given, whatever host the command names", async function () {
      const notices: string[] = [];
      const { wire } = await modem({ broker: broker.tcpUrl, notice: (line) => notices.push(line) });
      await wire.at('AT+MQTTUSERCFG=0,1,"routed","","",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTCONN=0,"broker.emqx.io",1883,0', `${connected(1, "broker.emqx.io", 1883, "", 0)}\r\nOK\r\n`);
      expect(notices).to.deep.equal([`moonrig: broker.emqx.io:1883 -> ${broker.tcpUrl}`]);
      expect(brokerLog).to.include("connect routed");
    });
  });

  describe("MQTT traffic", function () {
    it("publishes strings with escapes, as in the seed's example, at QoS 0, 1 and 2", async function () {
      const { wire } = await modem({ map: [["192.168.10.234", broker.tcpUrl]] });
      const watcher = await peer();
      await watcher.subscribeAsync("topic", { qos: 2 });
      await wire.at('AT+MQTTUSERCFG=0,1,"esp32","espressif","1234567890",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTCONN=0,"192.168.10.234",1883,0', `${connected(1, "192.168.10.234", 1883, "", 0)}\r\nOK\r\n`);
      for (const qos of [0, 1, 2]) {
        const got = nextMessage(watcher);
        await wire.at(`AT+MQTTPUB=0,"topic","\\"{\\"timestamp\\":\\"20201121085253\\"}\\"",${qos},0`, "\r\nOK\r\n");
        const message = await got;
        expect(message.payload.toString()).to.equal('"{"timestamp":"20201121085253"}"');
        expect(message.qos).to.equal(qos);
      }
      const got = nextMessage(watcher);
      await wire.at('AT+MQTTPUB=0,"topic","a\\,b\\\\c,d",1,0', "\r\nOK\r\n");
      expect((await got).payload.toString()).to.equal("a,b\\c,d");
    });

    it("takes a backslash before any byte in a quoted parameter as that byte, in every command (ESP-AT's \\<any>)", async function () {
      const { wire } = await modem();
      const watcher = await peer();
      // Escaped: quote, comma, backslash, and two bytes that need no escape (q, /).
      await watcher.subscribeAsync('esc/"a,b\\q/', { qos: 1 });
      await wire.at('AT+CWJAP="comma\\,backslash\\\\ssid\\q","1234567890"', "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n");
      await wire.at("AT+CWSTATE?", '+CWSTATE:2,"comma,backslash\\ssidq"\r\n\r\nOK\r\n');
      await wire.at('AT+MQTTUSERCFG=0,1,"id\\"\\,\\\\\\x","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
      expect(brokerLog).to.include('connect id",\\x');
      const got = nextMessage(watcher);
      await wire.at('AT+MQTTPUB=0,"esc/\\"a\\,b\\\\\\q\\/","\\"{\\"sensor\\":012}\\"\\a",1,0', "\r\nOK\r\n");
      const message = await got;
      expect([message.topic, message.payload.toString("latin1")]).to.deep.equal(['esc/"a,b\\q/', '"{"sensor":012}"a']);
      await wire.at('AT+MQTTSUB=0,"in\\,\\"x\\"",1', "\r\nOK\r\n");
      await wire.at("AT+MQTTSUB?", '+MQTTSUB:0,6,"in,"x"",1\r\n\r\nOK\r\n');
      // A backslash before the closing quote escapes it: the string never ends.
      await wire.at('AT+MQTTPUB=0,"t","open\\",0,0', "\r\nERROR\r\n");
    });

    it("publishes retained messages", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at('AT+MQTTPUB=0,"retained/at","kept",1,1', "\r\nOK\r\n");
      const late = await peer();
      const got = nextMessage(late);
      await late.subscribeAsync("retained/at", { qos: 1 });
      const message = await got;
      expect(message.payload.toString()).to.equal("kept");
      expect(message.retain).to.equal(true);
      await wire.at('AT+MQTTPUB=0,"retained/at","",1,1', "\r\nOK\r\n");
    });

    for (const qos of [0, 1, 2]) {
      it(`publishes raw bytes after the prompt (all 256 values, CR LF, quotes, OK, >, NUL) at QoS ${qos}`, async function () {
        const { wire } = await modem();
        const watcher = await peer();
        await watcher.subscribeAsync("raw/#", { qos: 2 });
        await online(wire);
        const payload = Buffer.concat([ALL_BYTES, TRICKY, ALL_BYTES]);
        await wire.at(`AT+MQTTPUBRAW=0,"raw/all",${payload.length},${qos},0`, "\r\nOK\r\n\r\n>");
        const got = nextMessage(watcher);
        wire.write(payload);
        await wire.expect("+MQTTPUB:OK\r\n");
        const message = await got;
        expect(message.payload.equals(payload)).to.equal(true, message.payload.toString("hex"));
        expect(message.qos).to.equal(qos);
        await wire.at("AT", "\r\nOK\r\n");
      });
    }

    it("reports +MQTTPUB:FAIL when the link is gone by the time the raw data is complete", async function () {
      const own = await startBroker();
      cleanups.push(() => own.close());
      const { wire } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,1,"fail-raw","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${own.tcpPort},0`, `${connected(1, HOST, own.tcpPort, "", 0)}\r\nOK\r\n`);
      await wire.at('AT+MQTTPUBRAW=0,"t",4,1,0', "\r\nOK\r\n\r\n>");
      await own.close();
      await wire.expect("+MQTTDISCONNECTED:0\r\n");
      wire.write("abcd");
      await wire.expect("+MQTTPUB:FAIL\r\n");
    });

    it("delivers subscribed messages as +MQTTSUBRECV with exact raw bytes", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at('AT+MQTTSUB=0,"in/bin",1', "\r\nOK\r\n");
      const sender = await peer();
      for (const payload of [ALL_BYTES, TRICKY, Buffer.from("x"), Buffer.alloc(0)]) {
        await sender.publishAsync("in/bin", payload, { qos: 1 });
        await wire.expect(Buffer.concat([Buffer.from(`+MQTTSUBRECV:0,"in/bin",${payload.length},`), payload, Buffer.from("\r\n")]));
      }
    });

    it("splits messages over 1024 bytes into fragments, each with its own length", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at('AT+MQTTSUB=0,"big/+",1', "\r\nOK\r\n");
      const sender = await peer();
      const payload = Buffer.concat(Array.from({ length: 10 }, () => ALL_BYTES)).subarray(0, 2500);
      await sender.publishAsync("big/one", payload, { qos: 0 });
      const expected = Buffer.concat([
        Buffer.from('+MQTTSUBRECV:0,"big/one",1024,'), payload.subarray(0, 1024), Buffer.from("\r\n"),
        Buffer.from('+MQTTSUBRECV:0,"big/one",1024,'), payload.subarray(1024, 2048), Buffer.from("\r\n"),
        Buffer.from('+MQTTSUBRECV:0,"big/one",452,'), payload.subarray(2048), Buffer.from("\r\n"),
      ]);
      await wire.expect(expected);
      const exact = Buffer.alloc(1024, 0x41);
      await sender.publishAsync("big/two", exact, { qos: 0 });
      await wire.expect(Buffer.concat([Buffer.from('+MQTTSUBRECV:0,"big/two",1024,'), exact, Buffer.from("\r\n")]));
    });

    it("prints +MQTTSUBRECV while it waits for raw data, before +MQTTPUB:OK", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at('AT+MQTTSUB=0,"urc/t",1', "\r\nOK\r\n");
      const sender = await peer();
      await wire.at('AT+MQTTPUBRAW=0,"other",3,0,0', "\r\nOK\r\n\r\n>");
      // A message while the modem waits for raw data arrives right away, before +MQTTPUB.
      await sender.publishAsync("urc/t", Buffer.from("mid"), { qos: 1 });
      await wire.expect('+MQTTSUBRECV:0,"urc/t",3,mid\r\n');
      wire.write("xyz");
      await wire.expect("+MQTTPUB:OK\r\n");
    });

    it("lists subscriptions, and unsubscribes (ESP-AT: duplicate and unknown topics just get OK)", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at('AT+MQTTSUB?', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"a/1",0', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"b/#",2', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"a/1",1', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB?', '+MQTTSUB:0,6,"a/1",0\r\n+MQTTSUB:0,6,"b/#",2\r\n\r\nOK\r\n');
      await wire.at('AT+MQTTUNSUB=0,"a/1"', "\r\nOK\r\n");
      await wire.at('AT+MQTTUNSUB=0,"never"', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB?', '+MQTTSUB:0,6,"b/#",2\r\n\r\nOK\r\n');
      const sender = await peer();
      await sender.publishAsync("a/1", "gone", { qos: 1 });
      await sender.publishAsync("b/x", "here", { qos: 1 });
      await wire.expect('+MQTTSUBRECV:0,"b/x",4,here\r\n');
    });

    it("allows at most 10 subscriptions", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      for (let i = 0; i < 10; i++) await wire.at(`AT+MQTTSUB=0,"t/${i}",0`, "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"t/10",0', "ERR CODE:0x010a600d\r\n\r\nERROR\r\n");
      await wire.at('AT+MQTTUNSUB=0,"t/3"', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"t/10",0', "\r\nOK\r\n");
    });

    it("reports a broker-refused subscription with ERROR", async function () {
      const { wire } = await modem();
      await online(wire);
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      // Aedes refuses invalid filters in its SUBACK.
      await wire.at('AT+MQTTSUB=0,"bad/#/x",1', "ERR CODE:0x010a600d\r\n\r\nERROR\r\n");
      await wire.at("AT+MQTTSUB?", "\r\nOK\r\n");
    });

    it("reconnect=1: survives a broker restart, announces both edges and re-subscribes", async function () {
      this.timeout(15000);
      let own = await startBroker();
      const port = own.tcpPort;
      cleanups.push(() => own.close());
      const { wire } = await modem();
      await wire.at('AT+MQTTUSERCFG=0,1,"phoenix","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${port},1`, `${connected(1, HOST, port, "", 1)}\r\nOK\r\n`);
      await wire.at('AT+MQTTSUB=0,"back/again",1', "\r\nOK\r\n");
      await own.close();
      await wire.expect("+MQTTDISCONNECTED:0\r\n");
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,3,1,"${HOST}","${port}","",1\r\n\r\nOK\r\n`);
      await wire.at('AT+MQTTPUB=0,"x","y",0,0', "\r\nERROR\r\n");
      await delay(250);
      own = await startBroker({ port });
      await wire.expect(connected(1, HOST, port, "", 1), 5000);
      const sender = await withTimeout(connectAsync(own.tcpUrl, { clientId: "sender", reconnectPeriod: 0 }, false), "sender");
      cleanups.push(() => void sender.end(true));
      // The re-subscription is in flight right after +MQTTCONNECTED; retry until it lands.
      const deadline = Date.now() + 3000;
      let seen = false;
      while (!seen && Date.now() < deadline) {
        await sender.publishAsync("back/again", "hello", { qos: 1 });
        try {
          await wire.expect('+MQTTSUBRECV:0,"back/again",5,hello\r\n', 200);
          seen = true;
        } catch {
          // not subscribed yet
        }
      }
      expect(seen).to.equal(true);
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,6,1,"${HOST}","${port}","",1\r\n\r\nOK\r\n`);
    });

    it("reconnect=0: a drop leaves state 3 until AT+MQTTCLEAN", async function () {
      const own = await startBroker();
      cleanups.push(() => own.close());
      const { wire } = await modem();
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"once","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${own.tcpPort},0`, `${connected(1, HOST, own.tcpPort, "", 0)}\r\nOK\r\n`);
      await own.close();
      await wire.expect("+MQTTDISCONNECTED:0\r\n");
      await wire.silent(300);
      await wire.at("AT+MQTTCONN?", `+MQTTCONN:0,3,1,"${HOST}","${own.tcpPort}","",0\r\n\r\nOK\r\n`);
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, "ERR CODE:0x010a6002\r\n\r\nERROR\r\n");
      await wire.at("AT+MQTTCLEAN=0", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"once","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
    });

    it("fails a QoS 1 publish with ERROR when the broker drops the link before PUBACK", async function () {
      const fake = await fakeBroker((socket, packet) => {
        // CONNECT (0x10) gets a CONNACK; PUBLISH (0x3x) makes the broker hang up.
        if ((packet[0] as number) >> 4 === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        else if ((packet[0] as number) >> 4 === 3) socket.destroy();
      });
      const { wire } = await modem();
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"dropped","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${fake.port},0`, `${connected(1, HOST, fake.port, "", 0)}\r\nOK\r\n`);
      await wire.at('AT+MQTTPUB=0,"t","d",1,0', "+MQTTDISCONNECTED:0\r\nERR CODE:0x010a600c\r\n\r\nERROR\r\n");
    });

    it("fails a QoS 1 publish with ERROR when no PUBACK comes in time", async function () {
      const fake = await fakeBroker((socket, packet) => {
        if ((packet[0] as number) >> 4 === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
      });
      const { wire } = await modem({ timing: { ...FAST, commandTimeoutMs: 300 } });
      await wire.at('AT+MQTTUSERCFG=0,1,"no-ack","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${fake.port},0`, `${connected(1, HOST, fake.port, "", 0)}\r\nOK\r\n`);
      await wire.at('AT+MQTTPUB=0,"t","d",1,0', "\r\nERROR\r\n");
      await wire.at('AT+MQTTPUBRAW=0,"t",2,1,0', "\r\nOK\r\n\r\n>");
      wire.write("hi");
      await wire.expect("+MQTTPUB:FAIL\r\n");
    });

    it("AT+MQTTCLEAN closes the link (no will) and forgets configuration and topics", async function () {
      const { wire } = await modem();
      const watcher = await peer();
      await watcher.subscribeAsync("will/clean", { qos: 1 });
      await wire.at('AT+MQTTUSERCFG=0,1,"cleaner","","",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTCONNCFG=0,60,0,"will/clean","bye",0,0', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},1`, `${connected(1, HOST, broker.tcpPort, "", 1)}\r\nOK\r\n`);
      await wire.at('AT+MQTTSUB=0,"c/t",1', "\r\nOK\r\n");
      let willSeen = false;
      watcher.on("message", () => (willSeen = true));
      await wire.at("AT+MQTTCLEAN=0", "\r\nOK\r\n");
      await wire.at("AT+MQTTSUB?", "\r\nOK\r\n");
      await wire.at("AT+MQTTCONN?", '+MQTTCONN:0,0,0,"","","",0\r\n\r\nOK\r\n');
      await wire.silent(300);
      expect(willSeen).to.equal(false);
      await wire.at("AT+MQTTCLEAN=0", "\r\nERROR\r\n");
    });
  });

  describe("W800 dialect", function () {
    it("boots with ready and no leading line end, and has no AT+MQTTSNI", async function () {
      const { wire } = await modem({ dialect: "w800" });
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"w800","WinnerMicro","1234567890",0,0,""', "\r\nOK\r\n");
      await wire.at('AT+MQTTSNI=0,"x"', "ERR CODE:0x01090000\r\n\r\nERROR\r\n");
    });

    it("answers the configuration queries in seed 000's formats", async function () {
      const { wire } = await modem({ dialect: "w800" });
      await wire.at("AT+MQTTUSERCFG?", "\r\nERROR\r\n");
      await wire.at('AT+MQTTUSERCFG=0,5,"w800","WinnerMicro","1234567890",0,0,""', "\r\nOK\r\n");
      await wire.at("AT+MQTTUSERCFG?", '+MQTTUSERCFG:0,5,"w800","WinnerMicro","1234567890",0,0,""\r\n\r\nOK\r\n');
      await wire.at("AT+MQTTCONNCFG?", '+MQTTCONNCFG:0,120,0,"","",0,0\r\n\r\nOK\r\n');
      await wire.at('AT+MQTTCONNCFG=0,0,1,"lwt/t","lwt\\"msg",1,1', "\r\nOK\r\n");
      await wire.at("AT+MQTTCONNCFG?", '+MQTTCONNCFG:0,120,1,"lwt/t","lwt"msg",1,1\r\n\r\nOK\r\n');
      await wire.at("AT+MQTTALPN?", "\r\nOK\r\n");
      await wire.at('AT+MQTTALPN=0,2,"mqtt-ca.cn","mqtt-ca.us"', "\r\nOK\r\n");
      await wire.at("AT+MQTTALPN?", '+MQTTALPN:0,"mqtt-ca.cn"\r\n+MQTTALPN:0,"mqtt-ca.us"\r\n\r\nOK\r\n');
    });

    it("refuses the ESP-AT connect timeout parameter", async function () {
      const { wire } = await modem({ dialect: "w800" });
      await wire.at("AT+SYSLOG=1", "\r\nOK\r\n");
      await wire.at('AT+MQTTUSERCFG=0,1,"w800","","",0,0,""', "\r\nOK\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0,5000`, "ERR CODE:0x010a6008\r\n\r\nERROR\r\n");
      await wire.at(`AT+MQTTCONN=0,"${HOST}",${broker.tcpPort},0`, `${connected(1, HOST, broker.tcpPort, "", 0)}\r\nOK\r\n`);
    });

    it("prints ALREADY SUBSCRIBE, ALREADY FULL SUBSCRIBE and NO UNSUBSCRIBE on the AT port", async function () {
      const { wire } = await modem({ dialect: "w800" });
      await online(wire, "w800");
      await wire.at('AT+MQTTSUB=0,"w/0",1', "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"w/0",1', "ALREADY SUBSCRIBE\r\n\r\nOK\r\n");
      for (let i = 1; i < 10; i++) await wire.at(`AT+MQTTSUB=0,"w/${i}",0`, "\r\nOK\r\n");
      await wire.at('AT+MQTTSUB=0,"w/10",0', "ALREADY FULL SUBSCRIBE\r\n\r\nERROR\r\n");
      await wire.at('AT+MQTTUNSUB=0,"w/none"', "NO UNSUBSCRIBE\r\n\r\nOK\r\n");
      await wire.at('AT+MQTTUNSUB=0,"w/0"', "\r\nOK\r\n");
    });

    it("answers input during a running command with busy ...", async function () {
      const silent = await hangingServer();
      const { wire } = await modem({ dialect: "w800" });
      await wire.at('AT+MQTTUSERCFG=0,1,"w800","","",0,0,""', "\r\nOK\r\n");
      wire.write(`AT+MQTTCONN=0,"${HOST}",${silent.port},0\r\n`);
      await wire.expect(`AT+MQTTCONN=0,"${HOST}",${silent.port},0\r\n`);
      wire.write("AT\r\n");
      await wire.expect("\r\nbusy ...\r\n");
    });

    it("reboots to ready without the leading line end", async function () {
      const { wire } = await modem({ dialect: "w800" });
      await wire.at("AT+RST", "\r\nOK\r\nready\r\n");
    });
  });

  describe("paced output", function () {
    it("sends replies no faster than the configured baud rate", async function () {
      const { wire } = await modem({ baud: 9600 });
      await online(wire);
      await wire.at('AT+MQTTSUB=0,"slow/t",1', "\r\nOK\r\n", 5000);
      const sender = await peer();
      const payload = Buffer.alloc(200, 0x5a);
      const start = performance.now();
      await sender.publishAsync("slow/t", payload, { qos: 0 });
      await wire.expect(Buffer.concat([Buffer.from('+MQTTSUBRECV:0,"slow/t",200,'), payload, Buffer.from("\r\n")]), 5000);
      // 229 bytes at 960 bytes/s: about 240 ms.
      expect(performance.now() - start).to.be.within(200, 800);
    });
  });

  describe("moonrig at-modem", function () {
    const io = () => {
      const out = { stdout: "", stderr: "" };
      return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
    };

    it("rejects bad usage with exit code 2 and the usage line", async function () {
      for (const argv of [["--bogus"], ["--port", "/dev/null", "--pty"], ["--dialect", "sim800"], ["--baud", "fast"], ["--broker", "http://x"], ["--map", "nonsense"], ["--port"], ["extra"]]) {
        const { out, io: streams } = io();
        expect(await atModemCommand(argv, streams)).to.equal(2, argv.join(" "));
        expect(out.stderr).to.match(/^moonrig at-modem: .+\nusage: moonrig at-modem \[--port PATH \| --pty\]/);
      }
      const { out, io: streams } = io();
      expect(await atModemCommand(["--help"], streams)).to.equal(0);
      expect(out.stdout).to.match(/^usage: moonrig at-modem/);
    });

    it("refuses certificate files it cannot read or that are not PEM, naming the option", async function () {
      const notPem = join(tempDir("at"), "ca.txt");
      writeFileSync(notPem, "not a certificate");
      const cases: Array<[string[], string]> = [
        [["--ca", "/no/such/ca.pem"], "moonrig at-modem: cannot read --ca /no/such/ca.pem: ENOENT"],
        [["--key", notPem], `moonrig at-modem: --key ${notPem} is not a PEM file`],
        [["--cert"], "moonrig at-modem: --cert needs a value"],
      ];
      for (const [argv, message] of cases) {
        const { out, io: streams } = io();
        expect(await atModemCommand(argv, streams)).to.equal(2);
        expect(out.stderr.split("\n")[0]).to.equal(message);
      }
    });

    it("reports a serial port that cannot be opened with exit code 1", async function () {
      const { out, io: streams } = io();
      expect(await atModemCommand(["--port", "/dev/no-such-tty", "--broker", broker.tcpUrl], streams)).to.equal(1);
      expect(out.stderr).to.match(/moonrig at-modem: cannot open \/dev\/no-such-tty/);
    });

    it("--pty makes a pty pair, prints the path to open and serves AT over it until SIGTERM", async function () {
      this.timeout(15000);
      const { out, io: streams } = io();
      const exit = atModemCommand(["--pty", "--broker", broker.tcpUrl, "--baud", "115200"], streams);
      const deadline = Date.now() + 5000;
      while (!/\n/.test(out.stdout) && Date.now() < deadline) await delay(20);
      const match = /^moonrig at-modem: (\/dev\/\S+)\n$/.exec(out.stdout);
      expect(match, out.stdout + out.stderr).to.not.equal(null);
      const { SerialPort } = await import("serialport");
      const serial = new SerialPort({ path: match?.[1] as string, baudRate: 115200, autoOpen: false });
      await new Promise<void>((resolve, reject) => serial.open((error) => (error ? reject(error) : resolve())));
      cleanups.push(() => new Promise<void>((resolve) => (serial.isOpen ? serial.close(() => resolve()) : resolve())));
      const wire = new Wire(serial);
      // The boot banner went out before anyone opened the pty; whether it was kept depends on
      // timing, so the test starts from a clean line.
      await delay(100);
      wire.discard();
      await wire.at("AT", "\r\nOK\r\n");
      const watcher = await peer();
      await watcher.subscribeAsync("pty/#", { qos: 1 });
      await online(wire, "over-pty");
      await wire.at('AT+MQTTSUB=0,"pty/in",1', "\r\nOK\r\n");
      await wire.at(`AT+MQTTPUBRAW=0,"pty/out",${ALL_BYTES.length},1,0`, "\r\nOK\r\n\r\n>");
      const got = nextMessage(watcher, "pty/out");
      wire.write(ALL_BYTES);
      await wire.expect("+MQTTPUB:OK\r\n");
      expect((await got).payload.equals(ALL_BYTES)).to.equal(true);
      await watcher.publishAsync("pty/in", ALL_BYTES, { qos: 1 });
      await wire.expect(Buffer.concat([Buffer.from(`+MQTTSUBRECV:0,"pty/in",256,`), ALL_BYTES, Buffer.from("\r\n")]));
      expect(process.listenerCount("SIGTERM")).to.be.above(0);
      process.emit("SIGTERM");
      expect(await withTimeout(exit, "the command to stop")).to.equal(0);
      // --broker redirects every host, the named one included, and says so once.
      expect(out.stderr).to.equal(`moonrig: ${HOST}:${broker.tcpPort} -> ${broker.tcpUrl}\n`);
    });

    it("--port serves a pty made by socat, with the embedded broker by default and --verbose logging", async function () {
      this.timeout(15000);
      const pair = await socatPair();
      cleanups.push(() => void pair.child.kill("SIGTERM"));
      const { out, io: streams } = io();
      const abort = new AbortController();
      const exit = atModemCommand(["--port", pair.paths[0], "--dialect", "w800", "--verbose"], streams, { signal: abort.signal });
      const { SerialPort } = await import("serialport");
      const serial = new SerialPort({ path: pair.paths[1], baudRate: 115200, autoOpen: false });
      await new Promise<void>((resolve, reject) => serial.open((error) => (error ? reject(error) : resolve())));
      cleanups.push(() => new Promise<void>((resolve) => (serial.isOpen ? serial.close(() => resolve()) : resolve())));
      const wire = new Wire(serial);
      await wire.expect("ready\r\n", 5000);
      const embedded = /embedded broker (mqtt:\/\/\S+)/.exec(out.stderr);
      expect(embedded, out.stderr).to.not.equal(null);
      await wire.at('AT+MQTTUSERCFG=0,1,"w800","","",0,0,""', "\r\nOK\r\n");
      // The host names a public broker; the default route keeps it on the embedded one.
      await wire.at('AT+MQTTCONN=0,"broker.emqx.io",1883,0', `${connected(1, "broker.emqx.io", 1883, "", 0)}\r\nOK\r\n`);
      expect(out.stderr).to.include(`moonrig: broker.emqx.io:1883 -> ${embedded?.[1]}`);
      expect(out.stderr).to.include("moonrig at-modem: <- AT+MQTTCONN=");
      abort.abort();
      expect(await withTimeout(exit, "the command to stop")).to.equal(0);
    });
  });

  /** A TCP server that accepts connections and never says a word. */
  async function hangingServer(): Promise<{ port: number }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
    cleanups.push(() => closeServer(server, sockets));
    return { port: (server.address() as AddressInfo).port };
  }

  /** A broker stand-in that hands each received chunk (one packet in these tests) to `react`. */
  async function fakeBroker(react: (socket: Socket, packet: Buffer) => void): Promise<{ port: number }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("data", (chunk: Buffer) => react(socket, chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
    cleanups.push(() => closeServer(server, sockets));
    return { port: (server.address() as AddressInfo).port };
  }

  async function unusedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  async function socatPair(): Promise<{ child: import("node:child_process").ChildProcess; paths: [string, string] }> {
    const { spawn } = await import("node:child_process");
    const child = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], { stdio: ["ignore", "ignore", "pipe"] });
    let text = "";
    const paths = await withTimeout(new Promise<[string, string]>((resolve) => {
      child.stderr.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const found = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
        if (found.length >= 2) resolve([found[0] as string, found[1] as string]);
      });
    }), "socat's ptys");
    return { child, paths };
  }
});

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
