// The modem's one MQTT link (LinkID 0): its configuration, the 0..6 state the firmware
// reports, the subscription list it re-sends after an automatic reconnect, and the AT
// commands that drive it. The connection itself is a moonrig MqttSession, so routing
// (--broker, --map), DNS injection and --trace behave exactly as for the runtime's own
// clients.
import type { LookupFunction, MqttSession, SessionFactory, SessionListener, SessionOptions, TlsSettings } from "../mqtt/session.js";
import type { Dialect } from "./dialect.js";
import { MqttError, mqttErrorCode } from "./errors.js";
import type { Params } from "./params.js";

/** What the MQTT commands need from the command interpreter. */
export interface MqttHost {
  readonly dialect: Dialect;
  /** Bytes straight to the port: unsolicited lines, notes, raw results. */
  write(bytes: string | Uint8Array): void;
  ok(): void;
  /** `ERR CODE` (with AT+SYSLOG=1) and `ERROR`. */
  error(code: number): void;
  /** Ends a command with text other than OK/ERROR (`+MQTTPUB:OK`). */
  finish(text: string): void;
  /** The command goes on asynchronously; input meanwhile gets the busy reply. */
  busy(): void;
  /** Writes the `>` prompt and hands over exactly `length` raw bytes. */
  prompt(length: number, onData: (data: Buffer) => void): void;
  log(line: string): void;
  /** Whether Wi-Fi has an address; only consulted when the emulator requires Wi-Fi. */
  networkUp(): boolean;
}

export interface MqttLinkOptions {
  sessionFactory: SessionFactory;
  route: (url: URL) => URL;
  lookup?: LookupFunction;
  trace?: (line: string) => void;
  /** PEM material for the TLS schemes that verify the server (3, 5, 8, 10) or present a certificate (4, 5, 9, 10). */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array };
  requireWifi: boolean;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMs: number;
  maxPublishRaw: number;
}

const LINK_ID = 0;
const MAX_SUBSCRIPTIONS = 10;
const MAX_TOPIC = 128;
const MAX_HOST = 128;
const MAX_CLIENT_ID = 256;
const MAX_USERNAME = 64;
const MAX_PASSWORD = 64;
const MAX_PATH = 32;
const MAX_LWT = 128;
const MAX_LONG = 1024;
const MAX_ALPN = 5;
/** +MQTTSUBRECV carries at most this many payload bytes; longer messages come in pieces. */
export const SUBRECV_FRAGMENT = 1024;

interface UserConfig {
  scheme: number;
  clientId: Buffer;
  username: Buffer;
  password: Buffer;
  path: Buffer;
}

interface ConnConfig {
  keepalive: number;
  disableClean: number;
  lwtTopic: Buffer;
  lwtMsg: Buffer;
  lwtQos: 0 | 1 | 2;
  lwtRetain: number;
}

interface Target {
  host: Buffer;
  port: number;
  reconnect: number;
}

interface Subscription {
  topic: Buffer;
  qos: 0 | 1 | 2;
}

type Pending =
  | { kind: "connect"; timer: NodeJS.Timeout }
  | { kind: "publish"; id: number; raw: boolean; timer: NodeJS.Timeout }
  | { kind: "subscribe"; id: number; sub: Subscription; timer: NodeJS.Timeout }
  | { kind: "unsubscribe"; id: number; topic: Buffer; timer: NodeJS.Timeout };

const textDecoder = new TextDecoder();

function asQos(value: number): 0 | 1 | 2 {
  return value === 1 || value === 2 ? value : 0;
}

/** Printable form of bytes for the log. */
function show(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1").replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export class MqttLink {
  private stateValue = 0;
  private user: UserConfig | undefined;
  private conn: ConnConfig | undefined;
  private alpn: Buffer[] = [];
  private sni: Buffer | undefined;
  private target: Target | undefined;
  private subscriptions: Subscription[] = [];
  private session: MqttSession | undefined;
  private pending: Pending | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Set once the link was up: from then on a failed attempt is a reconnect, not a command failure. */
  private everConnected = false;
  /** QoS 0 subscriptions already answered with OK whose SUBACK may still refuse them. */
  private readonly backgroundSubscribes = new Map<number, Subscription>();
  /** The SUBSCRIBE that restores the topic list after an automatic reconnect. */
  private resubscribeId: number | undefined;

  constructor(private readonly host: MqttHost, private readonly options: MqttLinkOptions) {}

  get state(): number {
    return this.stateValue;
  }

  /** Forgets everything, as AT+MQTTCLEAN and a reboot do; a live connection is simply dropped. */
  reset(graceful: boolean): void {
    this.stopReconnect();
    this.cancelPending();
    const session = this.session;
    this.session = undefined;
    if (session) {
      if (graceful && session.state === "connected") session.disconnect();
      else session.destroy();
    }
    this.stateValue = 0;
    this.user = undefined;
    this.conn = undefined;
    this.alpn = [];
    this.sni = undefined;
    this.target = undefined;
    this.subscriptions = [];
    this.everConnected = false;
    this.backgroundSubscribes.clear();
    this.resubscribeId = undefined;
  }

  close(): void {
    this.reset(false);
  }

  // ---- parameter checks shared by the commands -------------------------------------

  /** The LinkID parameter; reports the error itself and returns false when wrong. */
  private linkOk(params: Params): boolean {
    const link = params.int(0);
    if (link === undefined) return this.fail(MqttError.LINK_ID_READ_FAILED);
    if (link !== LINK_ID) return this.fail(MqttError.LINK_ID_VALUE_IS_WRONG);
    return true;
  }

  private fail(extension: number): false {
    this.host.error(mqttErrorCode(extension));
    return false;
  }

  private topicOk(topic: Buffer | undefined): topic is Buffer {
    if (topic === undefined) return this.fail(MqttError.TOPIC_READ_FAILED);
    if (topic.length === 0) return this.fail(MqttError.TOPIC_IS_NULL);
    if (topic.length > MAX_TOPIC) return this.fail(MqttError.TOPIC_IS_OVERLENGTH);
    return true;
  }

  private qosOk(value: number | undefined, readFailed: number, wrong: number): value is number {
    if (value === undefined) return this.fail(readFailed);
    if (value < 0 || value > 2) return this.fail(wrong);
    return true;
  }

  private flagOk(value: number | undefined, readFailed: number, wrong: number): value is number {
    if (value === undefined) return this.fail(readFailed);
    if (value !== 0 && value !== 1) return this.fail(wrong);
    return true;
  }

  private get connected(): boolean {
    return this.stateValue >= 4 && this.session?.state === "connected";
  }

  /** The state a configured but unconnected link reports. */
  private configuredState(): number {
    if (this.conn) return 2;
    return this.user ? 1 : 0;
  }

  // ---- configuration ---------------------------------------------------------------

  userConfig(params: Params): void {
    if (params.count !== 8) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const scheme = params.int(1);
    if (scheme === undefined) return void this.fail(MqttError.SCHEME_READ_FAILED);
    if (scheme < 1 || scheme > 10) return void this.fail(MqttError.SCHEME_VALUE_IS_WRONG);
    const clientId = params.str(2);
    if (clientId === undefined) return void this.fail(MqttError.CLIENT_ID_READ_FAILED);
    if (clientId.length === 0) return void this.fail(MqttError.CLIENT_ID_IS_NULL);
    if (clientId.length > MAX_CLIENT_ID) return void this.fail(MqttError.CLIENT_ID_IS_OVERLENGTH);
    const username = params.str(3);
    if (username === undefined) return void this.fail(MqttError.USERNAME_READ_FAILED);
    if (username.length > MAX_USERNAME) return void this.fail(MqttError.USERNAME_IS_OVERLENGTH);
    const password = params.str(4);
    if (password === undefined) return void this.fail(MqttError.PASSWORD_READ_FAILED);
    if (password.length > MAX_PASSWORD) return void this.fail(MqttError.PASSWORD_IS_OVERLENGTH);
    const certKeyId = params.int(5);
    if (certKeyId === undefined) return void this.fail(MqttError.CERT_KEY_ID_READ_FAILED);
    if (certKeyId !== 0) return void this.fail(MqttError.CERT_KEY_ID_VALUE_IS_WRONG);
    const caId = params.int(6);
    if (caId === undefined) return void this.fail(MqttError.CA_ID_READ_FAILED);
    if (caId !== 0) return void this.fail(MqttError.CA_ID_VALUE_IS_WRONG);
    const path = params.str(7);
    if (path === undefined) return void this.fail(MqttError.PATH_READ_FAILED);
    if (path.length > MAX_PATH) return void this.fail(MqttError.PATH_IS_OVERLENGTH);
    this.user = { scheme, clientId, username, password, path };
    if (this.stateValue === 0) this.stateValue = 1;
    this.host.ok();
  }

  userConfigQuery(): void {
    const user = this.user;
    if (!user) return void this.fail(MqttError.NO_CONFIGURED);
    this.host.write(Buffer.concat([
      Buffer.from(`+MQTTUSERCFG:${LINK_ID},${user.scheme},"`), user.clientId, Buffer.from('","'), user.username,
      Buffer.from('","'), user.password, Buffer.from('",0,0,"'), user.path, Buffer.from('"\r\n'),
    ]));
    this.host.ok();
  }

  /** AT+MQTTLONGCLIENTID / LONGUSERNAME / LONGPASSWORD. */
  longField(field: "clientId" | "username" | "password", params: Params): void {
    const codes = {
      clientId: [MqttError.CLIENT_ID_READ_FAILED, MqttError.CLIENT_ID_IS_NULL, MqttError.CLIENT_ID_IS_OVERLENGTH],
      username: [MqttError.USERNAME_READ_FAILED, MqttError.USERNAME_IS_NULL, MqttError.USERNAME_IS_OVERLENGTH],
      password: [MqttError.PASSWORD_READ_FAILED, MqttError.PASSWORD_IS_NULL, MqttError.PASSWORD_IS_OVERLENGTH],
    }[field];
    if (params.count !== 2) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const length = params.int(1);
    if (length === undefined) return void this.fail(codes[0]);
    if (length < 1) return void this.fail(codes[1]);
    if (length > MAX_LONG) return void this.fail(codes[2]);
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    this.host.prompt(length, (data) => {
      // A MQTTCLEAN cannot run meanwhile (the port is in data mode), but a reboot can.
      if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
      this.user[field] = data;
      this.host.ok();
    });
  }

  connConfig(params: Params): void {
    if (params.count !== 7) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const keepalive = params.int(1);
    if (keepalive === undefined) return void this.fail(MqttError.KEEPALIVE_READ_FAILED);
    if (keepalive < 0 || keepalive > 7200) return void this.fail(MqttError.KEEPALIVE_VALUE_IS_WRONG);
    const disableClean = params.int(2);
    if (!this.flagOk(disableClean, MqttError.DISABLE_CLEAN_SESSION_READ_FAILED, MqttError.DISABLE_CLEAN_SESSION_VALUE_IS_WRONG)) return;
    const lwtTopic = params.str(3);
    if (lwtTopic === undefined) return void this.fail(MqttError.LWT_TOPIC_READ_FAILED);
    if (lwtTopic.length > MAX_LWT) return void this.fail(MqttError.LWT_TOPIC_IS_OVERLENGTH);
    const lwtMsg = params.str(4);
    if (lwtMsg === undefined) return void this.fail(MqttError.LWT_MSG_READ_FAILED);
    if (lwtMsg.length > MAX_LWT) return void this.fail(MqttError.LWT_MSG_IS_OVERLENGTH);
    const lwtQos = params.int(5);
    if (!this.qosOk(lwtQos, MqttError.LWT_QOS_READ_FAILED, MqttError.LWT_QOS_VALUE_IS_WRONG)) return;
    const lwtRetain = params.int(6);
    if (!this.flagOk(lwtRetain, MqttError.LWT_RETAIN_READ_FAILED, MqttError.LWT_RETAIN_VALUE_IS_WRONG)) return;
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    // The firmware turns keepalive 0 into its default of 120 s.
    this.conn = { keepalive: keepalive === 0 ? 120 : keepalive, disableClean, lwtTopic, lwtMsg, lwtQos: asQos(lwtQos), lwtRetain };
    if (this.stateValue === 1) this.stateValue = 2;
    this.host.ok();
  }

  connConfigQuery(): void {
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    const c = this.conn ?? { keepalive: 120, disableClean: 0, lwtTopic: Buffer.alloc(0), lwtMsg: Buffer.alloc(0), lwtQos: 0, lwtRetain: 0 };
    this.host.write(Buffer.concat([
      Buffer.from(`+MQTTCONNCFG:${LINK_ID},${c.keepalive},${c.disableClean},"`), c.lwtTopic, Buffer.from('","'), c.lwtMsg,
      Buffer.from(`",${c.lwtQos},${c.lwtRetain}\r\n`),
    ]));
    this.host.ok();
  }

  alpnConfig(params: Params): void {
    if (params.count < 2) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const count = params.int(1);
    if (count === undefined) return void this.fail(MqttError.PARAM_PREPARE_ERROR);
    if (count < 0 || count > MAX_ALPN) return void this.fail(MqttError.PARAM_PREPARE_ERROR);
    if (params.count !== 2 + count) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    const names: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const name = params.str(2 + i);
      if (name === undefined || name.length === 0) return void this.fail(MqttError.PARAM_PREPARE_ERROR);
      names.push(name);
    }
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    this.alpn = names;
    this.host.ok();
  }

  alpnQuery(): void {
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    for (const name of this.alpn) this.host.write(Buffer.concat([Buffer.from(`+MQTTALPN:${LINK_ID},"`), name, Buffer.from('"\r\n')]));
    this.host.ok();
  }

  sniConfig(params: Params): void {
    if (params.count !== 2) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const sni = params.str(1);
    if (sni === undefined) return void this.fail(MqttError.PARAM_PREPARE_ERROR);
    if (!this.user) return void this.fail(MqttError.NO_CONFIGURED);
    this.sni = sni.length > 0 ? sni : undefined;
    this.host.ok();
  }

  // ---- connection ------------------------------------------------------------------

  connect(params: Params): void {
    const maxCount = this.host.dialect.connectTimeoutParam ? 5 : 4;
    if (params.count < 4 || params.count > maxCount) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const host = params.str(1);
    if (host === undefined) return void this.fail(MqttError.HOST_READ_FAILED);
    if (host.length === 0) return void this.fail(MqttError.HOST_IS_NULL);
    if (host.length > MAX_HOST) return void this.fail(MqttError.HOST_IS_OVERLENGTH);
    const port = params.int(2);
    if (port === undefined) return void this.fail(MqttError.PORT_READ_FAILED);
    if (port < 1 || port > 65535) return void this.fail(MqttError.PORT_VALUE_IS_WRONG);
    const reconnect = params.int(3);
    if (!this.flagOk(reconnect, MqttError.RECONNECT_READ_FAILED, MqttError.RECONNECT_VALUE_IS_WRONG)) return;
    let timeoutMs = this.options.connectTimeoutMs;
    if (params.count === 5) {
      const given = params.int(4);
      if (given === undefined || given < 1 || given > 600000) return void this.fail(MqttError.PARAM_PREPARE_ERROR);
      timeoutMs = given;
    }
    if (this.stateValue === 0 || !this.user) return void this.fail(MqttError.NO_CONFIGURED);
    if (this.stateValue >= 4) return void this.fail(MqttError.ALREADY_CONNECTED);
    // After a drop the link stays unusable until AT+MQTTCLEAN (or it reconnects by itself).
    if (this.stateValue === 3) return void this.fail(MqttError.NOT_IN_CONFIGURED_STATE);
    if (urlFor(this.user.scheme, host, port, this.user.path) === undefined) return void this.fail(MqttError.URI_PARSE_FAILED);
    if (this.options.requireWifi && !this.host.networkUp()) return void this.fail(MqttError.CLIENT_START_FAILED);
    this.target = { host, port, reconnect };
    this.everConnected = false;
    this.host.busy();
    const timer = setTimeout(() => {
      if (this.pending?.kind !== "connect") return;
      this.host.log(`mqtt: no CONNACK within ${timeoutMs} ms`);
      this.abandonAttempt();
      this.pending = undefined;
      this.stateValue = this.configuredState();
      this.host.error(mqttErrorCode(MqttError.CLIENT_START_FAILED));
    }, timeoutMs);
    this.pending = { kind: "connect", timer };
    this.openSession(timeoutMs);
  }

  connQuery(): void {
    const user = this.user;
    const target = this.target;
    const line = Buffer.concat([
      Buffer.from(`+MQTTCONN:${LINK_ID},${this.stateValue},${user?.scheme ?? 0},"`), target?.host ?? Buffer.alloc(0),
      Buffer.from(`","${target ? target.port : ""}","`), user?.path ?? Buffer.alloc(0), Buffer.from(`",${target?.reconnect ?? 0}\r\n`),
    ]);
    this.host.write(line);
    this.host.ok();
  }

  clean(params: Params): void {
    if (params.count !== 1) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    if (this.stateValue === 0) return void this.fail(MqttError.UNINITIATED_OR_ALREADY_CLEAN);
    this.reset(true);
    this.host.ok();
  }

  private connectedLine(): Buffer {
    const user = this.user as UserConfig;
    const target = this.target as Target;
    return Buffer.concat([
      Buffer.from(`+MQTTCONNECTED:${LINK_ID},${user.scheme},"`), target.host, Buffer.from(`","${target.port}","`), user.path,
      Buffer.from(`",${target.reconnect}\r\n`),
    ]);
  }

  private sessionOptions(connectTimeoutMs: number): SessionOptions {
    const user = this.user as UserConfig;
    const target = this.target as Target;
    const conn = this.conn;
    const url = urlFor(user.scheme, target.host, target.port, user.path) as URL;
    return {
      url,
      clientId: textDecoder.decode(user.clientId),
      username: user.username.length > 0 ? user.username : undefined,
      password: user.password.length > 0 ? user.password : undefined,
      keepalive: conn?.keepalive ?? 120,
      clean: (conn?.disableClean ?? 0) === 0,
      will: conn && conn.lwtTopic.length > 0 ? { topic: conn.lwtTopic, payload: conn.lwtMsg, qos: conn.lwtQos, retain: conn.lwtRetain === 1 } : undefined,
      tls: tlsFor(user.scheme, this.options.tls, this.sni),
      connackTimeoutMs: connectTimeoutMs,
    };
  }

  private openSession(connectTimeoutMs: number): void {
    const options = this.sessionOptions(connectTimeoutMs);
    if (this.alpn.length > 0) {
      // The session opens sockets itself and has no ALPN knob; the names are kept for the
      // queries and noted here so a user can see they were not sent.
      this.host.log(`mqtt: ALPN stored but not sent (alpn=${this.alpn.map(show).join(",")})`);
    }
    let session: MqttSession | undefined;
    const current = (): boolean => session !== undefined && this.session === session;
    const listener: SessionListener = {
      connected: () => {
        if (current()) this.onConnected();
      },
      connectFailed: (failure) => {
        if (!current()) return;
        this.session = undefined;
        this.onConnectFailed(failure.message);
      },
      closed: (cause) => {
        if (!current() || cause.kind === "local") return;
        this.session = undefined;
        this.onDropped(cause.kind === "network" ? cause.message : cause.kind);
      },
      message: (topic, payload) => {
        if (current()) this.onMessage(Buffer.from(topic), Buffer.from(payload.buffer, payload.byteOffset, payload.length));
      },
      published: (messageId, qos) => {
        if (current()) this.onPublished(messageId, qos);
      },
      subscribed: (messageId, granted) => {
        if (current()) this.onSubscribed(messageId, granted);
      },
      unsubscribed: (messageId) => {
        if (current()) this.onUnsubscribed(messageId);
      },
      pong: () => {},
    };
    session = this.options.sessionFactory(options, listener, {
      route: this.options.route,
      lookup: this.options.lookup,
      trace: this.options.trace,
    });
    this.session = session;
    this.host.log(`mqtt: connecting to ${options.url.href}`);
    session.connect();
  }

  private abandonAttempt(): void {
    const session = this.session;
    this.session = undefined;
    session?.destroy();
  }

  private onConnected(): void {
    this.stateValue = 4;
    const wasReconnect = this.everConnected;
    this.everConnected = true;
    this.host.log(`mqtt: connected${wasReconnect ? " again" : ""}`);
    this.host.write(this.connectedLine());
    if (this.pending?.kind === "connect") {
      clearTimeout(this.pending.timer);
      this.pending = undefined;
      this.host.ok();
    }
    if (wasReconnect && this.subscriptions.length > 0) {
      // The firmware keeps its topic list across automatic reconnects and subscribes again.
      const id = this.session?.subscribe(this.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })));
      this.host.log(`mqtt: re-subscribing ${this.subscriptions.length} topic(s) (id ${id ?? "-"})`);
      this.resubscribeId = id;
    }
  }

  private onConnectFailed(reason: string): void {
    this.host.log(`mqtt: connect failed: ${reason}`);
    if (this.pending?.kind === "connect") {
      clearTimeout(this.pending.timer);
      this.pending = undefined;
      // A failed AT+MQTTCONN is final, whatever reconnect says.
      this.stateValue = this.configuredState();
      this.host.error(mqttErrorCode(MqttError.CLIENT_START_FAILED));
      return;
    }
    this.scheduleReconnect();
  }

  private onDropped(reason: string): void {
    this.host.log(`mqtt: connection lost: ${reason}`);
    this.stateValue = 3;
    // Packet ids of the old connection mean nothing on the next one.
    this.backgroundSubscribes.clear();
    this.resubscribeId = undefined;
    const pending = this.pending;
    this.pending = undefined;
    this.host.write("+MQTTDISCONNECTED:0\r\n");
    if (pending) {
      clearTimeout(pending.timer);
      this.failPending(pending);
    }
    if (this.target?.reconnect === 1) this.scheduleReconnect();
  }

  private failPending(pending: Pending): void {
    switch (pending.kind) {
      case "connect":
        this.host.error(mqttErrorCode(MqttError.CLIENT_START_FAILED));
        break;
      case "publish":
        if (pending.raw) this.host.finish("+MQTTPUB:FAIL\r\n");
        else this.host.error(mqttErrorCode(MqttError.CLIENT_PUBLISH_FAILED));
        break;
      case "subscribe":
        this.host.error(mqttErrorCode(MqttError.CLIENT_SUBSCRIBE_FAILED));
        break;
      case "unsubscribe":
        this.host.error(mqttErrorCode(MqttError.CLIENT_UNSUBSCRIBE_FAILED));
        break;
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || !this.target || !this.user) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.target || !this.user || this.session) return;
      this.openSession(this.options.connectTimeoutMs);
    }, this.options.reconnectMs);
  }

  private stopReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private cancelPending(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  // ---- traffic ---------------------------------------------------------------------

  publish(params: Params): void {
    if (params.count !== 5) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const topic = params.str(1);
    if (!this.topicOk(topic)) return;
    const data = params.str(2);
    if (data === undefined) return void this.fail(MqttError.DATA_READ_FAILED);
    const qos = params.int(3);
    if (!this.qosOk(qos, MqttError.QOS_READ_FAILED, MqttError.QOS_VALUE_IS_WRONG)) return;
    const retain = params.int(4);
    if (!this.flagOk(retain, MqttError.RETAIN_READ_FAILED, MqttError.RETAIN_VALUE_IS_WRONG)) return;
    if (!this.connected) return void this.fail(MqttError.IN_DISCONNECTED_STATE);
    this.send(topic, data, asQos(qos), retain === 1, false);
  }

  publishRaw(params: Params): void {
    if (params.count !== 5) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const topic = params.str(1);
    if (!this.topicOk(topic)) return;
    const length = params.int(2);
    if (length === undefined) return void this.fail(MqttError.PUBLISH_LENGTH_READ_FAILED);
    if (length < 1 || length > this.options.maxPublishRaw) return void this.fail(MqttError.PUBLISH_LENGTH_VALUE_IS_WRONG);
    const qos = params.int(3);
    if (!this.qosOk(qos, MqttError.QOS_READ_FAILED, MqttError.QOS_VALUE_IS_WRONG)) return;
    const retain = params.int(4);
    if (!this.flagOk(retain, MqttError.RETAIN_READ_FAILED, MqttError.RETAIN_VALUE_IS_WRONG)) return;
    if (!this.connected) return void this.fail(MqttError.IN_DISCONNECTED_STATE);
    this.host.prompt(length, (data) => {
      if (!this.connected) return void this.host.finish("+MQTTPUB:FAIL\r\n");
      this.send(topic, data, asQos(qos), retain === 1, true);
    });
  }

  private send(topic: Buffer, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, raw: boolean): void {
    const session = this.session as MqttSession;
    const id = session.publish(topic, payload, qos, retain);
    this.host.log(`mqtt: publish ${show(topic)} ${payload.length} bytes qos ${qos}${retain ? " retain" : ""}${id === undefined ? " refused" : ""}`);
    const succeed = (): void => (raw ? this.host.finish("+MQTTPUB:OK\r\n") : this.host.ok());
    const failNow = (): void => (raw ? this.host.finish("+MQTTPUB:FAIL\r\n") : this.host.error(mqttErrorCode(MqttError.CLIENT_PUBLISH_FAILED)));
    if (id === undefined) return failNow();
    // QoS 0 is done once handed to the stack; QoS 1/2 wait for PUBACK/PUBCOMP.
    if (qos === 0) return succeed();
    this.host.busy();
    const timer = setTimeout(() => {
      if (this.pending?.kind !== "publish" || this.pending.id !== id) return;
      this.pending = undefined;
      this.host.log(`mqtt: no acknowledgement for message ${id}`);
      failNow();
    }, this.options.commandTimeoutMs);
    this.pending = { kind: "publish", id, raw, timer };
  }

  private onPublished(messageId: number, qos: number): void {
    const pending = this.pending;
    if (qos === 0 || pending?.kind !== "publish" || pending.id !== messageId) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    if (pending.raw) this.host.finish("+MQTTPUB:OK\r\n");
    else this.host.ok();
  }

  subscribe(params: Params): void {
    if (params.count !== 3) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const topic = params.str(1);
    if (!this.topicOk(topic)) return;
    const qosValue = params.int(2);
    if (!this.qosOk(qosValue, MqttError.QOS_READ_FAILED, MqttError.QOS_VALUE_IS_WRONG)) return;
    const qos = asQos(qosValue);
    if (!this.connected) return void this.fail(MqttError.IN_DISCONNECTED_STATE);
    const notes = this.host.dialect.subscriptionNotes;
    if (this.subscriptions.some((s) => s.topic.equals(topic))) {
      if (notes) this.host.write("ALREADY SUBSCRIBE\r\n");
      return void this.host.ok();
    }
    if (this.subscriptions.length >= MAX_SUBSCRIPTIONS) {
      if (notes) this.host.write("ALREADY FULL SUBSCRIBE\r\n");
      return void this.fail(MqttError.CLIENT_SUBSCRIBE_FAILED);
    }
    const sub: Subscription = { topic, qos };
    const id = this.session?.subscribe([{ topic, qos }]);
    this.host.log(`mqtt: subscribe ${show(topic)} qos ${qos}`);
    if (id === undefined) return void this.fail(MqttError.CLIENT_SUBSCRIBE_FAILED);
    if (qos === 0) {
      // QoS 0 subscriptions are acknowledged at once; a refusal in the SUBACK later only
      // removes the topic again.
      this.addSubscription(sub);
      this.backgroundSubscribes.set(id, sub);
      return void this.host.ok();
    }
    this.host.busy();
    const timer = setTimeout(() => {
      if (this.pending?.kind !== "subscribe" || this.pending.id !== id) return;
      this.pending = undefined;
      this.fail(MqttError.CLIENT_SUBSCRIBE_FAILED);
    }, this.options.commandTimeoutMs);
    this.pending = { kind: "subscribe", id, sub, timer };
  }

  private addSubscription(sub: Subscription): void {
    this.subscriptions.push(sub);
    if (this.stateValue >= 4) this.stateValue = 6;
  }

  private onSubscribed(messageId: number, granted: number[]): void {
    const refused = granted.length === 0 || granted.some((g) => g === 0x80 || g > 2);
    const pending = this.pending;
    if (pending?.kind === "subscribe" && pending.id === messageId) {
      clearTimeout(pending.timer);
      this.pending = undefined;
      if (refused) return void this.fail(MqttError.CLIENT_SUBSCRIBE_FAILED);
      this.addSubscription(pending.sub);
      return void this.host.ok();
    }
    const background = this.backgroundSubscribes.get(messageId);
    if (background) {
      this.backgroundSubscribes.delete(messageId);
      if (refused) {
        this.host.log(`mqtt: broker refused subscription ${show(background.topic)}`);
        this.subscriptions = this.subscriptions.filter((s) => s !== background);
        if (this.subscriptions.length === 0 && this.stateValue === 6) this.stateValue = 5;
      }
      return;
    }
    if (messageId === this.resubscribeId) {
      this.resubscribeId = undefined;
      if (refused) this.host.log("mqtt: broker refused a re-subscription");
      if (this.subscriptions.length > 0 && this.stateValue >= 4) this.stateValue = 6;
    }
  }

  unsubscribe(params: Params): void {
    if (params.count !== 2) return void this.fail(MqttError.PARAMETER_COUNTS_IS_WRONG);
    if (!this.linkOk(params)) return;
    const topic = params.str(1);
    if (!this.topicOk(topic)) return;
    if (!this.connected) return void this.fail(MqttError.IN_DISCONNECTED_STATE);
    const known = this.subscriptions.some((s) => s.topic.equals(topic));
    if (!known && this.host.dialect.subscriptionNotes) {
      this.host.write("NO UNSUBSCRIBE\r\n");
      return void this.host.ok();
    }
    // ESP-AT sends the UNSUBSCRIBE even for a topic it never subscribed (its note goes to
    // the log UART), so the OK still waits for the broker.
    const id = this.session?.unsubscribe([topic]);
    this.host.log(`mqtt: unsubscribe ${show(topic)}`);
    if (id === undefined) return void this.fail(MqttError.CLIENT_UNSUBSCRIBE_FAILED);
    this.host.busy();
    const timer = setTimeout(() => {
      if (this.pending?.kind !== "unsubscribe" || this.pending.id !== id) return;
      this.pending = undefined;
      this.fail(MqttError.CLIENT_UNSUBSCRIBE_FAILED);
    }, this.options.commandTimeoutMs);
    this.pending = { kind: "unsubscribe", id, topic, timer };
  }

  private onUnsubscribed(messageId: number): void {
    const pending = this.pending;
    if (pending?.kind !== "unsubscribe" || pending.id !== messageId) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    const before = this.subscriptions.length;
    this.subscriptions = this.subscriptions.filter((s) => !s.topic.equals(pending.topic));
    if (before > 0 && this.subscriptions.length === 0 && this.stateValue === 6) this.stateValue = 5;
    this.host.ok();
  }

  subscriptionsQuery(): void {
    for (const sub of this.subscriptions) {
      this.host.write(Buffer.concat([Buffer.from(`+MQTTSUB:${LINK_ID},${this.stateValue},"`), sub.topic, Buffer.from(`",${sub.qos}\r\n`)]));
    }
    this.host.ok();
  }

  private onMessage(topic: Buffer, payload: Buffer): void {
    if (this.stateValue < 4) return;
    this.host.log(`mqtt: message ${show(topic)} ${payload.length} bytes`);
    let offset = 0;
    do {
      const piece = payload.subarray(offset, offset + SUBRECV_FRAGMENT);
      this.host.write(Buffer.concat([
        Buffer.from(`+MQTTSUBRECV:${LINK_ID},"`), topic, Buffer.from(`",${piece.length},`), piece, Buffer.from("\r\n"),
      ]));
      offset += piece.length;
    } while (offset < payload.length);
  }
}

/** The broker URL a scheme, host, port and path stand for; undefined when they make no URL. */
export function urlFor(scheme: number, host: Buffer, port: number, path: Buffer): URL | undefined {
  const protocol = scheme === 1 ? "mqtt" : scheme <= 5 ? "mqtts" : scheme === 6 ? "ws" : "wss";
  const name = host.toString("latin1");
  // Control bytes, spaces and the URL's own delimiters cannot be part of a host name.
  if (!/^[\x21-\x7e]+$/.test(name) || /[/?#@\\]/.test(name)) return undefined;
  const hostPart = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  let pathPart = "";
  if (protocol === "ws" || protocol === "wss") {
    const text = path.toString("latin1");
    pathPart = text.startsWith("/") ? text : `/${text}`;
  }
  try {
    return new URL(`${protocol}://${hostPart}:${port}${pathPart}`);
  } catch {
    return undefined;
  }
}

function tlsFor(scheme: number, material: MqttLinkOptions["tls"], sni: Buffer | undefined): TlsSettings | undefined {
  if (scheme === 1 || scheme === 6) return undefined;
  // 2/7 skip verification, 3/8 verify, 4/9 present a client certificate, 5/10 do both.
  const kind = scheme <= 5 ? scheme : scheme - 5;
  const verify = kind === 3 || kind === 5;
  const withCert = kind === 4 || kind === 5;
  return {
    verify,
    ca: verify ? material?.ca : undefined,
    cert: withCert ? material?.cert : undefined,
    key: withCert ? material?.key : undefined,
    // esp-mqtt hands the SNI to esp-tls as the common name: sent in the ClientHello and,
    // for the verifying schemes, the name the certificate must carry instead of the host.
    serverName: sni ? sni.toString("latin1") : undefined,
  };
}
