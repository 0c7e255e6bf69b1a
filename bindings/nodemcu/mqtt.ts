// NodeMCU `mqtt`: mqtt.Client and its methods, a thin shell over the MQTT session. The
// firmware keeps one callback per event kind (the latest set wins), so publish, subscribe
// and unsubscribe callbacks are slots, not per-call promises.
import { lua, pushBytesShared, pushUserdata, checkUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, checkOption, optInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { createSession, clampQos, PacketIds, type ConnectFailure, type MqttSession, type SessionListener, type TlsSettings, type Will } from "../../runtime/mqtt.js";
import { deprecationNote } from "./deprecation.js";
import { mqttTlsSettings } from "./tls-cert.js";
import { defineModule } from "../common/module.js";

const METATABLE = "mqtt.socket";
const EVENTS = ["connect", "connfail", "offline", "message", "overflow", "puback", "suback", "unsuback"] as const;
type EventName = (typeof EVENTS)[number];

const CONN_FAIL_SERVER_NOT_FOUND = -5;
const CONN_FAIL_NOT_A_CONNACK_MSG = -4;
const CONN_FAIL_DNS = -3;
const CONN_FAIL_TIMEOUT_RECEIVING = -2;
const CONN_FAIL_TIMEOUT_SENDING = -1;
/** The firmware gives up on a broker that does not answer CONNECT within 5 s. */
const CONNACK_TIMEOUT_MS = 5000;
const RECONNECT_DELAY_MS = 1000;

interface ClientConfig {
  clientId: string;
  keepalive: number;
  username?: Uint8Array;
  password?: Uint8Array;
  clean: boolean;
  maxMessageLength: number;
}

class Client {
  readonly callbacks = new Map<EventName, number>();
  selfRef: number | undefined;
  will: Will | undefined;
  session: MqttSession | undefined;
  /** The firmware's next_message_id: one counter for the client's whole life. */
  readonly packetIds = new PacketIds();
  connected = false;
  autoreconnect = false;
  private everConnected = false;
  private closing = false;
  private release: (() => void) | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(readonly board: Board, readonly config: ClientConfig) {
    board.own(() => this.shutdown());
  }

  get busy(): boolean {
    return this.connected || this.session?.state === "connecting" || this.reconnectTimer !== undefined;
  }

  setCallback(L: LuaState, event: EventName, idx: number): void {
    const old = this.callbacks.get(event);
    if (old !== undefined) this.board.unref(old);
    this.callbacks.set(event, this.board.ref(L, idx));
  }

  /** Queues the event's callback with (client, ...extra) from the event loop. */
  emit(event: EventName, pushExtra?: (L: LuaState) => number): void {
    this.board.post(this.callbackJob(event, pushExtra));
  }

  private callbackJob(event: EventName, pushExtra?: (L: LuaState) => number): () => void {
    return () => {
      const ref = this.callbacks.get(event);
      if (ref === undefined || this.selfRef === undefined) return;
      const selfRef = this.selfRef;
      this.board.callRef(ref, (L) => {
        this.board.pushRef(L, selfRef);
        return 1 + (pushExtra ? pushExtra(L) : 0);
      });
    };
  }

  start(url: URL, tls: TlsSettings | undefined, autoreconnect: boolean): void {
    this.autoreconnect = autoreconnect;
    this.everConnected = false;
    this.closing = false;
    const c = this.config;
    // close() then connect() at once (the seed's "m:close(); -- you can call m:connect
    // again"): the old session still sends its DISCONNECT; its events no longer count.
    if (this.session?.state !== "closing") this.session?.destroy();
    const session: MqttSession = createSession(this.board, {
      url,
      clientId: c.clientId,
      username: c.username,
      password: c.password,
      keepalive: c.keepalive,
      clean: c.clean,
      will: this.will,
      tls,
      connackTimeoutMs: CONNACK_TIMEOUT_MS,
      packetIds: this.packetIds,
    }, this.listener(() => this.session === session));
    // A modem limit throws here, to the script: then nothing was started.
    session.connect();
    this.session = session;
    this.holdOpen();
  }

  /** A host that cannot be a name: the firmware's lookup fails, so connfail says DNS. */
  failLookup(): void {
    this.emit("connfail", (L) => {
      lua.lua_pushinteger(L, CONN_FAIL_DNS);
      return 1;
    });
  }

  /** Like the firmware, not connected from here on: publish raises, connect may start. */
  close(): boolean {
    if (!this.connected || !this.session || this.closing) return false;
    this.closing = true;
    this.connected = false;
    this.session.disconnect();
    return true;
  }

  /** The "message" event, or "overflow" past max_message_length: one function for every message (no closure each). */
  private readonly received = (topic: Uint8Array, payload: Uint8Array): void => {
    const max = this.config.maxMessageLength;
    const overflow = payload.length > max;
    const callback = this.callbacks.get(overflow ? "overflow" : "message");
    const self = this.selfRef;
    if (callback === undefined || self === undefined) return;
    const board = this.board;
    const L = board.L;
    const handler = board.pushCall(callback);
    board.pushRef(L, self);
    pushBytesShared(L, topic);
    if (overflow) pushBytesShared(L, payload.subarray(0, max));
    else if (payload.length === 0) lua.lua_pushnil(L);
    else pushBytesShared(L, payload);
    board.callPushed(handler, 3);
  };

  /** `current` says whether the session is still this client's (see start()). */
  private listener(current: () => boolean): SessionListener {
    return {
      connected: () => {
        if (!current()) return;
        this.connected = true;
        this.everConnected = true;
        this.emit("connect");
      },
      connectFailed: (failure) => {
        if (!current()) return;
        if (this.everConnected && this.autoreconnect && !this.closing) {
          this.scheduleReconnect();
          return;
        }
        this.letGo();
        this.emit("connfail", (L) => {
          lua.lua_pushinteger(L, failureReason(failure));
          return 1;
        });
      },
      closed: () => {
        if (!current()) return;
        const wasConnected = this.connected;
        this.connected = false;
        if (wasConnected || this.everConnected) this.emit("offline");
        if (this.autoreconnect && !this.closing && this.everConnected) this.scheduleReconnect();
        else this.letGo();
      },
      // Handed over last by the session: see Board.deliverWith.
      message: (topic, payload) => {
        if (current()) this.board.deliverWith(this.received, topic, payload, undefined);
      },
      published: () => current() && this.emit("puback"),
      subscribed: () => current() && this.emit("suback"),
      unsubscribed: () => current() && this.emit("unsuback"),
      pong: () => undefined,
    };
  }

  private scheduleReconnect(): void {
    this.holdOpen();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.session?.connect();
    }, RECONNECT_DELAY_MS);
  }

  private holdOpen(): void {
    this.release ??= this.board.hold();
  }

  private letGo(): void {
    this.release?.();
    this.release = undefined;
  }

  private shutdown(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.session?.destroy();
    this.session = undefined;
    this.connected = false;
    this.letGo();
  }
}

function failureReason(failure: ConnectFailure): number {
  switch (failure.kind) {
    case "dns": return CONN_FAIL_DNS;
    case "timeout": return CONN_FAIL_TIMEOUT_RECEIVING;
    case "send-timeout": return CONN_FAIL_TIMEOUT_SENDING;
    case "not-connack": return CONN_FAIL_NOT_A_CONNACK_MSG;
    case "refused": return failure.code;
    default: return CONN_FAIL_SERVER_NOT_FOUND;
  }
}

const textDecoder = new TextDecoder();

function chipIdHex(board: Board): string {
  return (board.host.runtime.options.device?.chipId ?? 0x00c0ffee).toString(16);
}

/**
 * mqtt.Client([clientid][, keepalive][, username][, password][, cleansession][, max_message_length]):
 * arguments fill the slots left to right by type; a slot whose type does not match keeps
 * its default and the argument moves on to the next slot; nil takes a slot's default.
 */
const Client_ = (L: LuaState): number => {
  const board = boardOf(L);
  const slots = ["clientid", "keepalive", "username", "password", "cleansession", "maxlen"] as const;
  const wants: Record<(typeof slots)[number], "string" | "number"> = { clientid: "string", keepalive: "number", username: "string", password: "string", cleansession: "number", maxlen: "number" };
  const values: Partial<Record<(typeof slots)[number], number | Uint8Array>> = {};
  const top = lua.lua_gettop(L);
  let arg = 1;
  for (const slot of slots) {
    if (arg > top) break;
    const t = lua.lua_type(L, arg);
    if (t === lua.LUA_TNIL) {
      arg++;
      continue;
    }
    const isString = t === lua.LUA_TSTRING || (slot === "clientid" && t === lua.LUA_TNUMBER);
    if (wants[slot] === "string" && isString) values[slot] = lua.lua_tolstring(L, arg) as Uint8Array;
    // A numeric string fills a number slot, as lua_isnumber lets it in the firmware.
    else if (wants[slot] === "number" && lua.lua_isnumber(L, arg)) values[slot] = lua.lua_tointeger(L, arg);
    else if (t !== lua.LUA_TBOOLEAN || slot !== "cleansession") continue;
    else values[slot] = lua.lua_toboolean(L, arg) ? 1 : 0;
    arg++;
  }
  const keepalive = (values.keepalive as number | undefined) ?? 0;
  const username = values.username as Uint8Array | undefined;
  const password = values.password as Uint8Array | undefined;
  const config: ClientConfig = {
    clientId: values.clientid ? textDecoder.decode(values.clientid as Uint8Array) : `NodeMCU_${chipIdHex(board)}`,
    keepalive: keepalive > 0 ? keepalive : 60,
    username: username && username.length > 0 ? username : undefined,
    password: password && password.length > 0 ? password : undefined,
    clean: ((values.cleansession as number | undefined) ?? 1) !== 0,
    maxMessageLength: (values.maxlen as number | undefined) ?? 1024,
  };
  const client = new Client(board, config);
  pushUserdata(L, client, METATABLE);
  client.selfRef = board.ref(L, -1);
  return 1;
};

function checkClient(L: LuaState): Client {
  return checkUserdata<Client>(L, 1, METATABLE);
}

const on = (L: LuaState): number => {
  const client = checkClient(L);
  const event = checkOption(L, 2, EVENTS);
  if (lua.lua_type(L, 3) !== lua.LUA_TFUNCTION) typeError(L, 3, "function");
  client.setCallback(L, event, 3);
  return 0;
};

const lwt = (L: LuaState): number => {
  const client = checkClient(L);
  if (lua.lua_type(L, 2) !== lua.LUA_TSTRING && lua.lua_type(L, 2) !== lua.LUA_TNUMBER) raise(L, "need lwt topic");
  if (lua.lua_type(L, 3) !== lua.LUA_TSTRING && lua.lua_type(L, 3) !== lua.LUA_TNUMBER) raise(L, "need lwt message");
  client.will = {
    topic: lua.lua_tolstring(L, 2) as Uint8Array,
    payload: lua.lua_tolstring(L, 3) as Uint8Array,
    qos: clampQos(optInteger(L, 4, 0)),
    retain: optInteger(L, 5, 0) !== 0,
  };
  return 0;
};

function readPem(L: LuaState, table: number, field: string): Uint8Array | undefined {
  lua.lua_getfield(L, table, field);
  const value = lua.lua_type(L, -1) === lua.LUA_TSTRING ? (lua.lua_tolstring(L, -1) as Uint8Array) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

const deprecationShown = new WeakSet<Board>();

const connect = (L: LuaState): number => {
  const client = checkClient(L);
  const board = client.board;
  let hostText = textDecoder.decode(checkBytes(L, 2));
  if (client.busy) raise(L, "already connected");
  const top = lua.lua_gettop(L);
  let idx = 3;
  let port = 1883;
  let secure = false;
  let tls: TlsSettings | undefined;
  let autoreconnect = false;
  let portGiven = false;
  // Numeric slots take what lua_isnumber takes, as the firmware reads them: "1883" too.
  if (idx <= top && lua.lua_isnumber(L, idx)) {
    port = lua.lua_tointeger(L, idx++);
    portGiven = true;
  }
  const secureType = idx > top ? lua.LUA_TNONE : lua.lua_isnumber(L, idx) ? lua.LUA_TNUMBER : lua.lua_type(L, idx);
  if (secureType === lua.LUA_TNUMBER || secureType === lua.LUA_TBOOLEAN || secureType === lua.LUA_TTABLE) {
    if (secureType === lua.LUA_TTABLE) {
      secure = true;
      const ca = readPem(L, idx, "ca_cert");
      const cert = readPem(L, idx, "client_cert");
      const key = readPem(L, idx, "client_key");
      tls = { ca, cert: cert && key ? cert : undefined, key: cert && key ? key : undefined, verify: ca !== undefined };
    } else {
      secure = secureType === lua.LUA_TNUMBER ? lua.lua_tointeger(L, idx) !== 0 : lua.lua_toboolean(L, idx);
      if (secureType === lua.LUA_TNUMBER && !deprecationShown.has(board)) {
        deprecationShown.add(board);
        board.write(deprecationNote("mqtt.connect secure parameter as integer", "in the future"));
      }
    }
    idx++;
    if (idx <= top && lua.lua_isnumber(L, idx)) {
      const value = lua.lua_tointeger(L, idx++);
      autoreconnect = value === 1;
      if (autoreconnect) board.write(deprecationNote("autoreconnect == 1 is deprecated", "in the next version"));
    }
  }
  // Each callback slot is taken even when it holds no function, which is then ignored.
  for (const event of ["connect", "connfail"] as const) {
    if (idx > top) break;
    if (lua.lua_type(L, idx) === lua.LUA_TFUNCTION) client.setCallback(L, event, idx);
    idx++;
  }
  let scheme = secure ? "mqtts" : "mqtt";
  const uri = /^(mqtts?|wss?):\/\/(.*)$/i.exec(hostText);
  if (uri) {
    const parsed = new URL(hostText);
    scheme = (uri[1] as string).toLowerCase();
    hostText = parsed.hostname.replace(/^\[|\]$/g, "");
    port = parsed.port ? Number(parsed.port) : portGiven && !parsed.port ? port : { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 }[scheme] ?? 1883;
    if (scheme === "mqtts" || scheme === "wss") tls ??= mqttTlsSettings(board);
    const path = parsed.pathname;
    const url = new URL(`${scheme}://${hostText.includes(":") ? `[${hostText}]` : hostText}:${port}${path}`);
    client.start(url, tls, autoreconnect);
    lua.lua_pushboolean(L, true);
    return 1;
  }
  if (secure) tls ??= mqttTlsSettings(board);
  let url: URL | undefined;
  try {
    if (hostText !== "") url = new URL(`${scheme}://${hostText.includes(":") ? `[${hostText}]` : hostText}:${port}`);
  } catch {
    url = undefined;
  }
  if (url) client.start(url, tls, autoreconnect);
  else client.failLookup();
  lua.lua_pushboolean(L, true);
  return 1;
};

const close = (L: LuaState): number => {
  lua.lua_pushboolean(L, checkClient(L).close());
  return 1;
};

function requireConnected(L: LuaState, client: Client): MqttSession {
  if (!client.connected || !client.session) return raise(L, "not connected");
  return client.session;
}

const publish = (L: LuaState): number => {
  const client = checkClient(L);
  const session = requireConnected(L, client);
  const topic = checkBytes(L, 2);
  const payload = checkBytes(L, 3);
  // The firmware keeps both in a uint8_t and puts qos & 3 and retain & 1 in the header.
  const qos = checkInteger(L, 4) & 0xff;
  const retain = (checkInteger(L, 5) & 1) === 1;
  if (lua.lua_type(L, 6) === lua.LUA_TFUNCTION) client.setCallback(L, "puback", 6);
  const wireQos = qos & 3;
  let queued: boolean;
  if (qos <= 2 || wireQos === 1 || wireQos === 2) {
    queued = session.publish(topic, payload, wireQos as 0 | 1 | 2, retain) !== undefined;
  } else if (session.sendRaw) {
    // QoS bits 11 (3, 7, -1, ...) or 00 with a packet id (4, 8, ...): sent as built, with no
    // PUBACK to come. A broker closes the connection on the first (offline follows); the
    // second reaches subscribers with the id's two bytes in front of the payload.
    queued = session.sendRaw((allocateId) => publishPacket(topic, payload, wireQos, retain, allocateId()));
  } else {
    queued = session.publish(topic, payload, 0, retain) !== undefined;
  }
  lua.lua_pushboolean(L, queued);
  return 1;
};

/** A PUBLISH as the firmware's mqtt_msg_publish lays it out, whatever the QoS bits. */
function publishPacket(topic: Uint8Array, payload: Uint8Array, wireQos: number, retain: boolean, id: number): Uint8Array {
  const body = [lengthPrefixed(topic), Uint8Array.of(id >> 8, id & 0xff), payload];
  return packet(0x30 | (wireQos << 1) | (retain ? 1 : 0), body);
}

/** A SUBSCRIBE carrying each requested QoS byte as given. */
function subscribePacket(subscriptions: ReadonlyArray<{ topic: Uint8Array; qos: number }>, id: number): Uint8Array {
  const body: Uint8Array[] = [Uint8Array.of(id >> 8, id & 0xff)];
  for (const s of subscriptions) body.push(lengthPrefixed(s.topic), Uint8Array.of(s.qos));
  return packet(0x82, body);
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 2);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

function packet(firstByte: number, body: readonly Uint8Array[]): Uint8Array {
  let remaining = body.reduce((n, part) => n + part.length, 0);
  const header = [firstByte];
  do {
    const digit = remaining % 128;
    remaining = Math.floor(remaining / 128);
    header.push(remaining > 0 ? digit | 0x80 : digit);
  } while (remaining > 0);
  return Buffer.concat([Uint8Array.from(header), ...body]);
}

/** Reads `{topic = value, ...}` at idx as topic bytes and integer values. */
function topicTable(L: LuaState, idx: number): Array<[Uint8Array, number]> {
  const pairs: Array<[Uint8Array, number]> = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    if (lua.lua_type(L, -2) === lua.LUA_TSTRING) {
      pairs.push([lua.lua_tolstring(L, -2) as Uint8Array, lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tointeger(L, -1) : 0]);
    }
    lua.lua_pop(L, 1);
  }
  return pairs;
}

const subscribe = (L: LuaState): number => {
  const client = checkClient(L);
  const session = requireConnected(L, client);
  // Each requested QoS goes out as the byte the firmware's uint8_t holds, unchecked.
  let subscriptions: Array<{ topic: Uint8Array; qos: number }>;
  let fnIndex: number;
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    subscriptions = topicTable(L, 2).map(([topic, qos]) => ({ topic, qos: qos & 0xff }));
    if (subscriptions.length === 0) raise(L, "no topics found");
    fnIndex = 3;
  } else {
    const topic = checkBytes(L, 2);
    const qos = lua.lua_type(L, 3) === lua.LUA_TNUMBER ? lua.lua_tointeger(L, 3) : 0;
    subscriptions = [{ topic, qos: qos & 0xff }];
    fnIndex = lua.lua_type(L, 3) === lua.LUA_TFUNCTION ? 3 : 4;
  }
  if (lua.lua_type(L, fnIndex) === lua.LUA_TFUNCTION) client.setCallback(L, "suback", fnIndex);
  let queued: boolean;
  if (subscriptions.every((s) => s.qos <= 2)) {
    queued = session.subscribe(subscriptions.map((s) => ({ topic: s.topic, qos: s.qos as 0 | 1 | 2 }))) !== undefined;
  } else if (session.sendRaw) {
    // A QoS byte above 2 makes the SUBSCRIBE malformed: the broker closes the connection.
    queued = session.sendRaw((allocateId) => subscribePacket(subscriptions, allocateId()));
  } else {
    queued = session.subscribe(subscriptions.map((s) => ({ topic: s.topic, qos: clampQos(s.qos) }))) !== undefined;
  }
  lua.lua_pushboolean(L, queued);
  return 1;
};

const unsubscribe = (L: LuaState): number => {
  const client = checkClient(L);
  const session = requireConnected(L, client);
  let topics: Uint8Array[];
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    topics = topicTable(L, 2).map(([topic]) => topic);
    if (topics.length === 0) raise(L, "no topics found");
  } else {
    topics = [checkBytes(L, 2)];
  }
  if (lua.lua_type(L, 3) === lua.LUA_TFUNCTION) client.setCallback(L, "unsuback", 3);
  lua.lua_pushboolean(L, session.unsubscribe(topics) !== undefined);
  return 1;
};

const toString = (L: LuaState): number => {
  const id = (lua.lua_topointer(L, 1) as { id?: number }).id ?? 0;
  lua.lua_pushstring(L, `mqtt.socket: 0x${id.toString(16).padStart(8, "0")}`);
  return 1;
};

export const mqtt = defineModule("mqtt", {
  functions: { Client: Client_ },
  constants: {
    CONN_FAIL_SERVER_NOT_FOUND,
    CONN_FAIL_NOT_A_CONNACK_MSG,
    CONN_FAIL_DNS,
    CONN_FAIL_TIMEOUT_RECEIVING,
    CONN_FAIL_TIMEOUT_SENDING,
    CONNACK_ACCEPTED: 0,
    CONNACK_REFUSED_PROTOCOL_VER: 1,
    CONNACK_REFUSED_ID_REJECTED: 2,
    CONNACK_REFUSED_SERVER_UNAVAILABLE: 3,
    CONNACK_REFUSED_BAD_USER_OR_PASS: 4,
    CONNACK_REFUSED_NOT_AUTHORIZED: 5,
  },
  metatables: { [METATABLE]: { methods: { connect, close, lwt, on, publish, subscribe, unsubscribe }, meta: { __tostring: toString } } },
});
