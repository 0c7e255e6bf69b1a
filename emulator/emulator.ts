// An ESP-AT / W800 AT modem on a byte stream: echo, the 256-byte command line, `>` data
// mode, busy replies while a command is still running, unsolicited lines at any moment,
// and the basic and MQTT command sets of at-modem.md, byte for byte. The port may be a
// pty, a serial device or one end of createLinkPair(); the emulator never closes it.
import type { Duplex } from "node:stream";
import { LinePacer } from "../modem/link.js";
import { Router } from "../mqtt/routing.js";
import type { LookupFunction, SessionFactory } from "../mqtt/session.js";
import { createMqttJsSession } from "../mqtt/mqttjs.js";
import { dialectFor, type AtDialectName, type Dialect } from "./dialect.js";
import { AtError, formatErrCode } from "./errors.js";
import { MqttLink, type MqttHost } from "./mqtt.js";
import { parseCommandLine, Params, splitParams, type CommandForm } from "./params.js";

/** Longest command line the firmware accepts, counting the CR LF that ends it. */
export const MAX_COMMAND_LINE = 256;

export interface AtModemTiming {
  /** AT+RST: from OK to the ready banner. */
  bootMs: number;
  /** AT+CWJAP: association and DHCP. */
  wifiJoinMs: number;
  /** From SNTP enabled with Wi-Fi up to +TIME_UPDATED. */
  sntpMs: number;
  /** Pause between automatic MQTT reconnect attempts (reconnect=1). */
  reconnectMs: number;
  /** How long a QoS 1/2 publish, a subscribe or an unsubscribe waits for the broker. */
  commandTimeoutMs: number;
  /** AT+MQTTCONN without an explicit timeout. */
  connectTimeoutMs: number;
}

export const DEFAULT_TIMING: AtModemTiming = {
  bootMs: 300,
  wifiJoinMs: 400,
  sntpMs: 500,
  reconnectMs: 2000,
  commandTimeoutMs: 10000,
  connectTimeoutMs: 10000,
};

export interface AtModemOptions {
  dialect: AtDialectName;
  /** Send every MQTT connection here (a broker URL), as the runtime's --broker does. */
  broker?: string;
  /** Per-host redirects, as the runtime's --map (`[HOST[:PORT], URL]`). */
  map?: ReadonlyArray<readonly [string, string]>;
  /** A ready-made route (the runtime's own Router) instead of broker/map. */
  route?: (url: URL) => URL;
  /** Where the router announces a redirect the first time it is used. */
  notice?: (line: string) => void;
  lookup?: LookupFunction;
  /** One line per MQTT packet (the runtime's --trace). */
  trace?: (line: string) => void;
  /** PEM material the TLS schemes use (a real module holds these in flash). */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array };
  /** Pace output at this line rate (8N1), for realistic timing on a pty. */
  baud?: number;
  /** Human-readable activity: commands, results, MQTT events. */
  log?: (line: string) => void;
  timing?: Partial<AtModemTiming>;
  /** AT+MQTTCONN fails until AT+CWJAP has succeeded, as on hardware. Off by default. */
  requireWifi?: boolean;
  /** Largest AT+MQTTPUBRAW length accepted. */
  maxPublishRaw?: number;
  /** The MQTT transport; mqtt.js unless a test substitutes it. */
  sessionFactory?: SessionFactory;
}

type InputMode = "command" | "data" | "busy" | "rebooting" | "closed";

type Handler = (params: Params) => void;
interface CommandEntry {
  execute?: () => void;
  query?: () => void;
  set?: Handler;
  test?: () => void;
}

const CR = 0x0d;
const LF = 0x0a;

/** Printable form of a command line for the log. */
function show(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1").replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Thu Jan 01 08:00:00 1970`: the firmware's asctime-like form with a zero-padded day. */
function sntpTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** Minutes east of UTC for an SNTP timezone: hours in [-12, 14] or ±HHMM. */
function timezoneMinutes(tz: number): number | undefined {
  if (tz >= -12 && tz <= 14) return tz * 60;
  const sign = tz < 0 ? -1 : 1;
  const abs = Math.abs(tz);
  const hours = Math.floor(abs / 100);
  const minutes = abs % 100;
  if (minutes >= 60) return undefined;
  const total = sign * (hours * 60 + minutes);
  return total >= -12 * 60 && total <= 14 * 60 ? total : undefined;
}

export class AtModemEmulator {
  readonly dialect: Dialect;
  private readonly timing: AtModemTiming;
  private readonly pacer: LinePacer | undefined;
  private readonly mqtt: MqttLink;
  private readonly commands: Map<string, CommandEntry>;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onPortGone = (): void => void this.close();

  private mode: InputMode = "closed";
  private started = false;
  private echo = true;
  private syslog = false;
  /** The command line so far (bytes after the last line end). */
  private line: Buffer[] = [];
  private lineLength = 0;
  private pendingCR = false;
  /** Raw bytes being collected after `>`. */
  private data: { remaining: number; chunks: Buffer[]; done: (data: Buffer) => void } | undefined;
  /** Input not yet processed: chunks arriving while a chunk is being handled. */
  private inbox: Buffer[] = [];
  private processing = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  // Wi-Fi and SNTP, enough for a host's start-up sequence.
  private wifiMode = 1;
  private wifi: { ssid: Buffer; password: Buffer; state: "connected" | "disconnected" } | undefined;
  private sntp: { enabled: boolean; timezone: number; servers: Buffer[] } = { enabled: false, timezone: 0, servers: [Buffer.from("cn.ntp.org.cn"), Buffer.from("ntp.sjtu.edu.cn"), Buffer.from("us.pool.ntp.org")] };
  private timeSynced = false;
  private sntpTimer: NodeJS.Timeout | undefined;

  constructor(private readonly port: Duplex, private readonly options: AtModemOptions) {
    this.dialect = dialectFor(options.dialect);
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    if (options.baud !== undefined) this.pacer = new LinePacer(options.baud, (bytes) => this.port.write(bytes));
    let route = options.route;
    if (!route) {
      const router = new Router({ broker: options.broker, map: options.map, notice: options.notice ?? options.log });
      route = (url) => router.route(url).url;
    }
    const host: MqttHost = {
      dialect: this.dialect,
      write: (bytes) => this.write(bytes),
      ok: () => this.ok(),
      error: (code) => this.error(code),
      finish: (text) => this.finish(text),
      busy: () => this.busy(),
      prompt: (length, done) => this.prompt(length, done),
      log: (line) => this.log(line),
      networkUp: () => this.wifi?.state === "connected",
    };
    this.mqtt = new MqttLink(host, {
      sessionFactory: options.sessionFactory ?? createMqttJsSession,
      route,
      lookup: options.lookup,
      trace: options.trace,
      tls: options.tls,
      requireWifi: options.requireWifi ?? false,
      commandTimeoutMs: this.timing.commandTimeoutMs,
      connectTimeoutMs: this.timing.connectTimeoutMs,
      reconnectMs: this.timing.reconnectMs,
      maxPublishRaw: options.maxPublishRaw ?? 65536,
    });
    this.commands = this.commandTable();
  }

  /** Powers the module up: listens on the port and sends the ready banner. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.port.on("data", this.onData);
    this.port.once("close", this.onPortGone);
    this.mode = "command";
    this.write(this.dialect.boot);
    this.log("ready");
  }

  /** Powers the module down: drops the MQTT link and stops reading. The port stays open. */
  async close(): Promise<void> {
    if (this.mode === "closed" && !this.started) return;
    this.mode = "closed";
    this.started = false;
    this.port.off("data", this.onData);
    this.port.off("close", this.onPortGone);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    clearTimeout(this.sntpTimer);
    this.mqtt.close();
    this.data = undefined;
    this.inbox = [];
    if (this.pacer) {
      // Whatever is still on its way goes out: a final OK should not be lost to a close.
      await Promise.race([this.pacer.drained(), new Promise((resolve) => setTimeout(resolve, 1000))]);
      this.pacer.close();
    }
  }

  /** The MQTT link state 0..6 (as AT+MQTTCONN? reports it). */
  get mqttState(): number {
    return this.mqtt.state;
  }

  // ---- output ----------------------------------------------------------------------

  private write(bytes: string | Uint8Array): void {
    if (this.mode === "closed" && !this.started) return;
    const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    if (buffer.length === 0) return;
    if (this.pacer) this.pacer.write(buffer);
    else if (!this.port.destroyed && this.port.writable) this.port.write(buffer);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private ok(): void {
    this.write("\r\nOK\r\n");
    this.log("-> OK");
    this.endCommand();
  }

  private error(code?: number): void {
    if (this.syslog && code !== undefined) this.write(`${formatErrCode(code)}\r\n`);
    this.write("\r\nERROR\r\n");
    this.log(code === undefined ? "-> ERROR" : `-> ERROR (${formatErrCode(code)})`);
    this.endCommand();
  }

  private finish(text: string): void {
    this.write(text);
    this.log(`-> ${text.trim()}`);
    this.endCommand();
  }

  private busy(): void {
    if (this.mode === "command" || this.mode === "data") this.mode = "busy";
  }

  private endCommand(): void {
    if (this.mode === "busy" || this.mode === "data") {
      this.mode = "command";
      this.resetLine();
    }
  }

  private prompt(length: number, done: (data: Buffer) => void): void {
    this.data = { remaining: length, chunks: [], done };
    this.mode = "data";
    this.write("\r\nOK\r\n\r\n>");
    this.log(`-> OK > (${length} bytes)`);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  // ---- input -----------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    this.inbox.push(chunk);
    // A handler may write, and a linked peer may answer synchronously; input that arrives
    // meanwhile waits its turn so commands never interleave.
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.inbox.length > 0) this.consume(this.inbox.shift() as Buffer);
    } finally {
      this.processing = false;
    }
  }

  private consume(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.mode) {
        case "closed":
        case "rebooting":
          // A module that is off or restarting hears nothing.
          return;
        case "data": {
          const data = this.data as NonNullable<AtModemEmulator["data"]>;
          const take = Math.min(data.remaining, chunk.length - i);
          data.chunks.push(Buffer.from(chunk.subarray(i, i + take)));
          data.remaining -= take;
          i += take;
          if (data.remaining === 0) {
            this.data = undefined;
            this.mode = "command";
            this.resetLine();
            data.done(Buffer.concat(data.chunks));
          }
          break;
        }
        case "busy": {
          const lf = chunk.indexOf(LF, i);
          if (lf < 0) return;
          i = lf + 1;
          this.write(this.dialect.busy);
          this.log("-> busy");
          break;
        }
        case "command":
          i = this.consumeCommand(chunk, i);
          break;
      }
    }
  }

  /** Reads command bytes from `start`; returns where it stopped (after a line end, or the end). */
  private consumeCommand(chunk: Buffer, start: number): number {
    let i = start;
    while (i < chunk.length) {
      const byte = chunk[i] as number;
      i++;
      if (byte === LF && this.pendingCR) {
        if (this.echo) this.write(chunk.subarray(start, i));
        this.pendingCR = false;
        const overlong = this.lineLength + 1 > MAX_COMMAND_LINE;
        const line = Buffer.concat(this.line);
        this.resetLine();
        this.execute(line.subarray(0, Math.max(0, line.length - 1)), overlong);
        return i;
      }
      this.pendingCR = byte === CR;
      this.lineLength++;
      // Past the limit the bytes are only counted: the line is refused when it ends.
      if (this.lineLength <= MAX_COMMAND_LINE) this.line.push(Buffer.from([byte]));
    }
    if (this.echo) this.write(chunk.subarray(start, i));
    return i;
  }

  private resetLine(): void {
    this.line = [];
    this.lineLength = 0;
    this.pendingCR = false;
  }

  private execute(line: Buffer, overlong: boolean): void {
    if (overlong) {
      this.log(`<- (${this.lineLength} byte line)`);
      return this.error(AtError.PARA_LENGTH_MISMATCH);
    }
    // A bare line end is not a command; the firmware just waits for the next one.
    if (line.length === 0) return;
    this.log(`<- ${show(line)}`);
    if (line[0] !== 0x41 || line[1] !== 0x54) return this.error(AtError.NO_AT);
    const command = parseCommandLine(line);
    if (!command) return this.error(AtError.UNSUPPORTED_COMMAND);
    const entry = this.commands.get(command.name);
    if (!entry) return this.error(AtError.UNSUPPORTED_COMMAND);
    const run = this.handlerFor(entry, command.form, command.args);
    if (!run) return this.error(AtError.OP_ERROR);
    run();
  }

  private handlerFor(entry: CommandEntry, form: CommandForm, args: Buffer): (() => void) | undefined {
    switch (form) {
      case "execute":
        return entry.execute;
      case "query":
        return entry.query;
      case "test":
        return entry.test;
      case "set": {
        const set = entry.set;
        if (!set) return undefined;
        return () => {
          const list = splitParams(args);
          if (!list) return this.error(AtError.PARA_PARSE_FAIL);
          set(new Params(list));
        };
      }
    }
  }

  // ---- the command table -----------------------------------------------------------

  private commandTable(): Map<string, CommandEntry> {
    const mqtt = this.mqtt;
    const table = new Map<string, CommandEntry>([
      ["AT", { execute: () => this.ok() }],
      ["ATE0", { execute: () => this.setEcho(false) }],
      ["ATE1", { execute: () => this.setEcho(true) }],
      ["AT+RST", { execute: () => this.reset() }],
      ["AT+GMR", { execute: () => this.lines(this.dialect.version) }],
      ["AT+SYSLOG", { query: () => this.lines([`+SYSLOG:${this.syslog ? 1 : 0}`]), set: (p) => this.setSyslog(p) }],
      ["AT+CWMODE", { query: () => this.lines([`+CWMODE:${this.wifiMode}`]), set: (p) => this.setWifiMode(p) }],
      ["AT+CWJAP", { query: () => this.wifiQuery(), set: (p) => this.joinWifi(p), execute: () => this.rejoinWifi() }],
      ["AT+CWQAP", { execute: () => this.leaveWifi() }],
      ["AT+CWSTATE", { query: () => this.wifiStateQuery() }],
      ["AT+CIPSNTPCFG", { query: () => this.sntpQuery(), set: (p) => this.setSntp(p) }],
      ["AT+CIPSNTPTIME", { query: () => this.lines([`+CIPSNTPTIME:${this.sntpNow()}`]) }],
      ["AT+MQTTUSERCFG", { set: (p) => mqtt.userConfig(p), query: this.dialect.configQueries ? () => mqtt.userConfigQuery() : undefined }],
      ["AT+MQTTLONGCLIENTID", { set: (p) => mqtt.longField("clientId", p) }],
      ["AT+MQTTLONGUSERNAME", { set: (p) => mqtt.longField("username", p) }],
      ["AT+MQTTLONGPASSWORD", { set: (p) => mqtt.longField("password", p) }],
      ["AT+MQTTCONNCFG", { set: (p) => mqtt.connConfig(p), query: this.dialect.configQueries ? () => mqtt.connConfigQuery() : undefined }],
      ["AT+MQTTALPN", { set: (p) => mqtt.alpnConfig(p), query: this.dialect.configQueries ? () => mqtt.alpnQuery() : undefined }],
      ["AT+MQTTCONN", { set: (p) => mqtt.connect(p), query: () => mqtt.connQuery() }],
      ["AT+MQTTPUB", { set: (p) => mqtt.publish(p) }],
      ["AT+MQTTPUBRAW", { set: (p) => mqtt.publishRaw(p) }],
      ["AT+MQTTSUB", { set: (p) => mqtt.subscribe(p), query: () => mqtt.subscriptionsQuery() }],
      ["AT+MQTTUNSUB", { set: (p) => mqtt.unsubscribe(p) }],
      ["AT+MQTTCLEAN", { set: (p) => mqtt.clean(p) }],
    ]);
    if (this.dialect.sni) table.set("AT+MQTTSNI", { set: (p) => mqtt.sniConfig(p) });
    return table;
  }

  /** Information lines, each ended by CR LF, then OK. */
  private lines(lines: readonly string[]): void {
    for (const line of lines) this.write(`${line}\r\n`);
    this.ok();
  }

  private setEcho(on: boolean): void {
    this.echo = on;
    this.ok();
  }

  private setSyslog(params: Params): void {
    const value = params.int(0);
    if (params.count !== 1) return this.error(AtError.PARA_NUM_MISMATCH);
    if (value !== 0 && value !== 1) return this.error(AtError.PARA_INVALID);
    this.syslog = value === 1;
    this.ok();
  }

  private reset(): void {
    this.ok();
    this.mode = "rebooting";
    this.log("rebooting");
    const hadWifi = this.wifi?.state === "connected";
    // Power cycling drops the TCP link without a DISCONNECT, so the broker sends the will.
    this.mqtt.reset(false);
    clearTimeout(this.sntpTimer);
    this.later(this.timing.bootMs, () => {
      this.echo = true;
      this.syslog = false;
      this.timeSynced = false;
      this.sntp.enabled = false;
      if (this.wifi) this.wifi.state = "disconnected";
      this.resetLine();
      this.mode = "command";
      this.write(this.dialect.boot);
      this.log("ready");
      // The station configuration is kept in flash and the module joins again by itself.
      if (hadWifi && (this.wifiMode === 1 || this.wifiMode === 3)) {
        this.later(this.timing.wifiJoinMs, () => {
          if (!this.wifi || this.mode === "rebooting" || this.mode === "closed") return;
          this.wifi.state = "connected";
          this.write("WIFI CONNECTED\r\nWIFI GOT IP\r\n");
          this.log("wifi connected");
        });
      }
    });
  }

  private setWifiMode(params: Params): void {
    const mode = params.int(0);
    if (params.count < 1 || params.count > 2) return this.error(AtError.PARA_NUM_MISMATCH);
    if (mode === undefined || mode < 0 || mode > 3) return this.error(AtError.PARA_INVALID);
    if (params.count === 2) {
      const auto = params.int(1);
      if (auto !== 0 && auto !== 1) return this.error(AtError.PARA_INVALID);
    }
    this.wifiMode = mode;
    if ((mode === 0 || mode === 2) && this.wifi?.state === "connected") {
      this.wifi.state = "disconnected";
      this.write("WIFI DISCONNECT\r\n");
    }
    this.ok();
  }

  private joinWifi(params: Params): void {
    const ssid = params.str(0);
    const password = params.str(1);
    if (params.count < 2) return this.error(AtError.PARA_NUM_MISMATCH);
    if (ssid === undefined || ssid.length === 0 || ssid.length > 32 || password === undefined || password.length > 64) {
      return this.error(AtError.PARA_INVALID);
    }
    this.startJoin(ssid, password);
  }

  private rejoinWifi(): void {
    if (!this.wifi) return this.error(AtError.EXEC_FAIL);
    this.startJoin(this.wifi.ssid, this.wifi.password);
  }

  private startJoin(ssid: Buffer, password: Buffer): void {
    if (this.wifiMode !== 1 && this.wifiMode !== 3) return this.error(AtError.EXEC_FAIL);
    const wasConnected = this.wifi?.state === "connected";
    this.wifi = { ssid, password, state: "disconnected" };
    this.busy();
    if (wasConnected) this.write("WIFI DISCONNECT\r\n");
    this.later(this.timing.wifiJoinMs, () => {
      if (!this.wifi) return;
      this.wifi.state = "connected";
      this.write("WIFI CONNECTED\r\nWIFI GOT IP\r\n");
      this.log("wifi connected");
      this.ok();
      this.scheduleTimeSync();
    });
  }

  private leaveWifi(): void {
    const wasConnected = this.wifi?.state === "connected";
    if (this.wifi) this.wifi.state = "disconnected";
    if (wasConnected) this.write("WIFI DISCONNECT\r\n");
    this.ok();
  }

  private wifiQuery(): void {
    const wifi = this.wifi;
    if (!wifi || wifi.state !== "connected") return this.lines(["No AP"]);
    this.write(Buffer.concat([Buffer.from('+CWJAP:"'), wifi.ssid, Buffer.from('","02:6d:6f:6f:6e:72",6,-52,0,1,3,0,1\r\n')]));
    this.ok();
  }

  private wifiStateQuery(): void {
    const wifi = this.wifi;
    // 0: never started, 2: got an IPv4 address, 4: disconnected.
    const state = !wifi ? 0 : wifi.state === "connected" ? 2 : 4;
    this.write(Buffer.concat([Buffer.from(`+CWSTATE:${state},"`), wifi?.ssid ?? Buffer.alloc(0), Buffer.from('"\r\n')]));
    this.ok();
  }

  private setSntp(params: Params): void {
    if (params.count < 1 || params.count > 5) return this.error(AtError.PARA_NUM_MISMATCH);
    const enable = params.int(0);
    if (enable !== 0 && enable !== 1) return this.error(AtError.PARA_INVALID);
    let timezone = this.sntp.timezone;
    if (params.count >= 2) {
      const tz = params.int(1);
      if (tz === undefined || timezoneMinutes(tz) === undefined) return this.error(AtError.PARA_INVALID);
      timezone = tz;
    }
    const servers: Buffer[] = [];
    for (let i = 2; i < params.count; i++) {
      const server = params.str(i);
      if (server === undefined || server.length === 0) return this.error(AtError.PARA_INVALID);
      servers.push(server);
    }
    this.sntp.enabled = enable === 1;
    this.sntp.timezone = timezone;
    if (servers.length > 0) this.sntp.servers = servers;
    this.ok();
    if (this.sntp.enabled) this.scheduleTimeSync();
    else clearTimeout(this.sntpTimer);
  }

  private sntpQuery(): void {
    const parts: Buffer[] = [Buffer.from(`+CIPSNTPCFG:${this.sntp.enabled ? 1 : 0},${this.sntp.timezone}`)];
    if (this.sntp.enabled) for (const server of this.sntp.servers) parts.push(Buffer.from(',"'), server, Buffer.from('"'));
    parts.push(Buffer.from("\r\n"));
    this.write(Buffer.concat(parts));
    this.ok();
  }

  private scheduleTimeSync(): void {
    if (!this.sntp.enabled || this.wifi?.state !== "connected" || this.sntpTimer) return;
    this.sntpTimer = setTimeout(() => {
      this.sntpTimer = undefined;
      if (!this.sntp.enabled || this.wifi?.state !== "connected" || this.mode === "rebooting" || this.mode === "closed") return;
      this.timeSynced = true;
      this.write("+TIME_UPDATED\r\n");
      this.log("time updated");
    }, this.timing.sntpMs);
  }

  private sntpNow(): string {
    const offset = (timezoneMinutes(this.sntp.timezone) ?? 0) * 60000;
    // Until the first sync the clock starts at the epoch, shown in the configured zone.
    return sntpTime((this.timeSynced ? Date.now() : 0) + offset);
  }
}
