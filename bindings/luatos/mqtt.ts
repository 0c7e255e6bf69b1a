// LuatOS `mqtt`: mqtt.create and the client methods, a thin shell over the MQTT session.
// Every event goes through the one callback set with on(fn), asynchronously and in order;
// the failure orders below are the firmware's.
import { lua, pushBytesShared, pushText, pushUserdata, testUserdata, bytesOf, visibleArgs, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger, typeError, argError } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { createSession, PacketIds, type ConnectFailure, type CloseCause, type MessageMeta, type MqttSession, type SessionListener, type TlsSettings, type Will } from "../../runtime/mqtt.js";
import { defineModule } from "../common/module.js";

const METATABLE = "mqtt_ctrl";
const STATE_DISCONNECT = 0;
const STATE_SCONNECT = 1;
const STATE_MQTT = 2;
const STATE_READY = 3;
const DEFAULT_RX_SIZE = 4096 + 4;
const DEFAULT_KEEPALIVE = 240;

type EventArgs = (L: LuaState) => number;

class LuatClient {
  clientId = "";
  username: Uint8Array | undefined;
  password: Uint8Array | undefined;
  clean = true;
  keepalive = DEFAULT_KEEPALIVE;
  will: Will | undefined;
  reconnectMs: number | undefined;
  callbackRef: number | undefined;
  /** Whether the callback can see recv's 5th argument; if not, the table is not built. */
  wantsMetas = true;
  selfRef: number | undefined;
  state = STATE_DISCONNECT;
  closed = false;
  debug = false;
  private session: MqttSession | undefined;
  /** libemqtt's seq: set to 1 by auth(), kept across reconnects. */
  packetIds = new PacketIds();
  private stopping = false;
  private release: (() => void) | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(readonly board: Board, readonly url: URL, readonly tls: TlsSettings | undefined, readonly rxSize: number, readonly connTimeoutS: number) {
    board.own(() => this.shutdown());
    clientsOf(board).add(this);
  }

  /** socket.close_all: the link is cut under the client, as a network loss would cut it. */
  cut(): void {
    if (this.state !== STATE_READY) return;
    this.session?.destroy();
    this.ended({ kind: "network", message: "closed by socket.close_all" });
  }

  emit(event: string, pushRest?: EventArgs): void {
    this.board.post(this.callbackJob(event, pushRest));
  }

  private callbackJob(event: string, pushRest?: EventArgs): () => void {
    return () => {
      if (this.callbackRef === undefined || this.selfRef === undefined) return;
      const selfRef = this.selfRef;
      this.board.callRef(this.callbackRef, (L) => {
        this.board.pushRef(L, selfRef);
        this.board.pushName(L, event);
        return 2 + (pushRest ? pushRest(L) : 0);
      });
    };
  }

  connect(): boolean {
    if (this.closed || this.state !== STATE_DISCONNECT || this.reconnectTimer) return false;
    this.stopping = false;
    this.open();
    return true;
  }

  private open(): void {
    this.session?.destroy();
    this.session = createSession(this.board, {
      url: this.url,
      clientId: this.clientId,
      username: this.username,
      password: this.password,
      keepalive: this.keepalive,
      clean: this.clean,
      will: this.will,
      tls: this.tls,
      connackTimeoutMs: this.connTimeoutS * 1000,
      maxIncomingPacket: this.rxSize,
      packetIds: this.packetIds,
    }, this.listener(), () => this.debug);
    this.state = STATE_SCONNECT;
    try {
      this.session.connect();
    } catch (error) {
      // A modem limit, raised to the script: nothing was started.
      this.state = STATE_DISCONNECT;
      throw error;
    }
    this.release ??= this.board.hold();
  }

  private listener(): SessionListener {
    return {
      transportUp: () => {
        this.state = STATE_MQTT;
      },
      connected: () => {
        this.state = STATE_READY;
        this.emit("conack");
      },
      connectFailed: (failure) => this.failed(failure),
      closed: (cause) => this.ended(cause),
      // Handed over last by the session: see Board.deliverWith.
      message: (topic, payload, meta) => this.board.deliverWith(this.recv, topic, payload, meta),
      // QoS 0 announces itself at publish() (see there).
      published: (messageId, qos) => {
        if (qos === 0) return;
        this.emit("sent", (L) => {
          lua.lua_pushinteger(L, messageId);
          return 1;
        });
      },
      subscribed: (_id, granted) => {
        const code = granted[0] ?? 0x80;
        this.emit("suback", (L) => {
          lua.lua_pushboolean(L, code <= 2);
          lua.lua_pushinteger(L, code);
          return 2;
        });
      },
      unsubscribed: () => this.emit("unsuback"),
      pong: () => this.emit("pong"),
    };
  }

  /** The "recv" event, one function for every message (no closure each). */
  private readonly recv = (topic: Uint8Array, payload: Uint8Array, meta: MessageMeta): void => {
    const callback = this.callbackRef;
    const self = this.selfRef;
    if (callback === undefined || self === undefined) return;
    const board = this.board;
    const L = board.L;
    const handler = board.pushCall(callback);
    board.pushRef(L, self);
    board.pushName(L, "recv");
    pushBytesShared(L, topic);
    pushBytesShared(L, payload);
    if (!this.wantsMetas) {
      board.callPushed(handler, 4);
      return;
    }
    lua.lua_createtable(L, 0, 4);
    setIntegerField(board, L, "qos", meta.qos);
    setIntegerField(board, L, "retain", meta.retain ? 1 : 0);
    setIntegerField(board, L, "dup", meta.dup ? 1 : 0);
    setIntegerField(board, L, "message_id", meta.messageId ?? 0);
    board.callPushed(handler, 5);
  };

  private failed(failure: ConnectFailure): void {
    this.state = STATE_DISCONNECT;
    const pushNumber = (n: number): EventArgs => (L) => {
      lua.lua_pushinteger(L, n);
      return 1;
    };
    const pushError = (kind: string, code: number): EventArgs => (L) => {
      pushText(L, kind);
      lua.lua_pushinteger(L, code);
      return 2;
    };
    if (failure.kind === "refused") {
      this.emit("disconnect", pushNumber(failure.code));
      this.afterDisconnect(() => this.emit("error", pushError("conack", failure.code)));
      return;
    }
    this.emit("error", pushError(failure.kind === "timeout" ? "timeout" : "connect", 0));
    this.emit("disconnect", pushNumber(-1));
    this.afterDisconnect();
  }

  private ended(cause: CloseCause): void {
    this.state = STATE_DISCONNECT;
    if (cause.kind === "oversize") {
      this.emit("error", (L) => {
        pushText(L, "other");
        lua.lua_pushinteger(L, 0);
        return 2;
      });
    }
    this.emit("disconnect", (L) => {
      lua.lua_pushinteger(L, cause.kind === "server-disconnect" ? -2 : -1);
      return 1;
    });
    this.afterDisconnect();
  }

  /** close, or a reconnect when autoreconn is on; `then` runs after close (refusal order). */
  private afterDisconnect(then?: () => void): void {
    if (this.reconnectMs !== undefined && !this.stopping && !this.closed) {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (!this.closed && !this.stopping) this.open();
      }, this.reconnectMs);
      then?.();
      return;
    }
    this.emit("close");
    then?.();
    this.letGo();
  }

  /** disconnect(): DISCONNECT now; autoreconn (if on) brings the link back later. */
  disconnect(): void {
    if (this.state === STATE_READY) this.session?.disconnect();
    else if (this.state !== STATE_DISCONNECT) {
      this.session?.destroy();
      this.ended({ kind: "local" });
    }
  }

  close(): void {
    if (this.closed) return;
    this.stopping = true;
    const wasReady = this.state === STATE_READY;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (wasReady) this.session?.disconnect();
    else this.session?.destroy();
    this.closed = true;
    this.state = STATE_DISCONNECT;
    if (this.callbackRef !== undefined) this.board.unref(this.callbackRef);
    this.callbackRef = undefined;
    if (!wasReady) this.letGo();
  }

  get liveSession(): MqttSession | undefined {
    return this.state === STATE_READY ? this.session : undefined;
  }

  private letGo(): void {
    this.release?.();
    this.release = undefined;
  }

  private shutdown(): void {
    clientsOf(this.board).delete(this);
    clearTimeout(this.reconnectTimer);
    this.session?.destroy();
    this.session = undefined;
    this.letGo();
  }
}

/** table[name] = value for the table on top of the stack. */
function setIntegerField(board: Board, L: LuaState, name: string, value: number): void {
  board.pushName(L, name);
  lua.lua_pushinteger(L, value);
  lua.lua_rawset(L, -3);
}

const textDecoder = new TextDecoder();

function stringField(L: LuaState, table: number, field: string): Uint8Array | undefined {
  lua.lua_getfield(L, table, field);
  const value = lua.lua_type(L, -1) === lua.LUA_TSTRING ? (lua.lua_tolstring(L, -1) as Uint8Array) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

function numberField(L: LuaState, table: number, field: string): number | undefined {
  lua.lua_getfield(L, table, field);
  const value = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tointeger(L, -1) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

const clientsOf = perBoard((): Set<LuatClient> => new Set());

/** Cuts every connected MQTT client's link (socket.close_all); one network serves every adapter here. */
export function cutAllClients(board: Board): void {
  for (const client of clientsOf(board)) client.cut();
}

/** mqtt.create(adapter, host, port[, ssl[, opts]]) */
const create = (L: LuaState): number => {
  const board = boardOf(L);
  const host = textDecoder.decode(checkBytes(L, 2));
  const websocket = /^wss?:\/\//i.exec(host);
  let url: URL;
  let tls: TlsSettings | undefined;
  const sslType = lua.lua_type(L, 4);
  if (sslType === lua.LUA_TTABLE) {
    const serverCert = stringField(L, 4, "server_cert");
    // The firmware's verify defaults to 2 (mbedtls REQUIRED) for a table, whose CA chain
    // is empty without server_cert: such a connection fails on the device, and here.
    const verify = numberField(L, 4, "verify") ?? 2;
    tls = {
      ca: verify === 2 ? (serverCert ?? new Uint8Array(0)) : undefined,
      cert: stringField(L, 4, "client_cert"),
      key: stringField(L, 4, "client_key"),
      passphrase: ((p) => (p ? textDecoder.decode(p) : undefined))(stringField(L, 4, "client_password")),
      verify: verify === 2,
    };
  } else if (sslType === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 4)) {
    tls = { verify: false };
  }
  if (websocket) {
    try {
      url = new URL(host);
    } catch {
      return argError(L, 2, "invalid url");
    }
    if (!lua.lua_isnoneornil(L, 3)) url.port = String(checkInteger(L, 3));
    if (url.protocol === "wss:") tls ??= { verify: false };
  } else {
    const port = checkInteger(L, 3);
    if (host === "") {
      lua.lua_pushnil(L);
      return 1;
    }
    const scheme = tls ? "mqtts" : "mqtt";
    try {
      url = new URL(`${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`);
    } catch {
      lua.lua_pushnil(L);
      return 1;
    }
  }
  let rxSize = DEFAULT_RX_SIZE;
  let connTimeout = 30;
  if (lua.lua_type(L, 5) === lua.LUA_TTABLE) {
    rxSize = numberField(L, 5, "rxSize") ?? rxSize;
    connTimeout = Math.min(120, Math.max(5, numberField(L, 5, "conn_timeout") ?? connTimeout));
  }
  const client = new LuatClient(board, url, tls, rxSize, connTimeout);
  pushUserdata(L, client, METATABLE);
  client.selfRef = board.ref(L, -1);
  return 1;
};

function clientOf(L: LuaState): LuatClient {
  const client = testUserdata<LuatClient>(L, 1, METATABLE);
  if (!client) return typeError(L, 1, "mqtt_ctrl");
  return client;
}

function done(L: LuaState, value: boolean): number {
  lua.lua_pushboolean(L, value);
  return 1;
}

const auth = (L: LuaState): number => {
  const c = clientOf(L);
  c.clientId = lua.lua_isnoneornil(L, 2) ? "" : textDecoder.decode(checkBytes(L, 2));
  const user = lua.lua_isnoneornil(L, 3) ? undefined : checkBytes(L, 3);
  const pass = lua.lua_isnoneornil(L, 4) ? undefined : checkBytes(L, 4);
  c.username = user && user.length > 0 ? user : undefined;
  c.password = pass && pass.length > 0 ? pass : undefined;
  c.clean = !(lua.lua_type(L, 5) === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, 5));
  c.packetIds = new PacketIds();
  return done(L, true);
};

const keepalive = (L: LuaState): number => {
  const c = clientOf(L);
  c.keepalive = Math.min(600, Math.max(15, optInteger(L, 2, DEFAULT_KEEPALIVE)));
  return done(L, true);
};

const will = (L: LuaState): number => {
  const c = clientOf(L);
  const topic = checkBytes(L, 2);
  const payload = checkBytes(L, 3);
  const qos = optInteger(L, 4, 0);
  c.will = { topic, payload, qos: subscribeQos(qos), retain: optInteger(L, 5, 0) !== 0 };
  return done(L, true);
};

const autoreconn = (L: LuaState): number => {
  const c = clientOf(L);
  const enable = lua.lua_toboolean(L, 2);
  c.reconnectMs = enable ? Math.max(1000, optInteger(L, 3, 3000)) : undefined;
  return done(L, true);
};

const on = (L: LuaState): number => {
  const c = clientOf(L);
  if (c.callbackRef !== undefined) c.board.unref(c.callbackRef);
  c.callbackRef = lua.lua_type(L, 2) === lua.LUA_TFUNCTION ? c.board.ref(L, 2) : undefined;
  c.wantsMetas = c.callbackRef !== undefined && visibleArgs(L, 2) >= 5;
  return 0;
};

const connect = (L: LuaState): number => done(L, clientOf(L).connect());

const disconnect = (L: LuaState): number => {
  clientOf(L).disconnect();
  return done(L, true);
};

const close = (L: LuaState): number => {
  clientOf(L).close();
  return 0;
};

const ready = (L: LuaState): number => done(L, clientOf(L).state === STATE_READY);

const state = (L: LuaState): number => {
  lua.lua_pushinteger(L, clientOf(L).state);
  return 1;
};

function pushPacketId(L: LuaState, id: number | undefined): number {
  if (id === undefined) lua.lua_pushnil(L);
  else lua.lua_pushinteger(L, id);
  return 1;
}

const subscribe = (L: LuaState): number => {
  const c = clientOf(L);
  const session = c.liveSession;
  const subscriptions: Array<{ topic: Uint8Array; qos: 0 | 1 | 2 }> = [];
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, 2)) {
      if (lua.lua_type(L, -2) === lua.LUA_TSTRING) subscriptions.push({ topic: lua.lua_tolstring(L, -2) as Uint8Array, qos: subscribeQos(lua.lua_tointeger(L, -1)) });
      lua.lua_pop(L, 1);
    }
  } else {
    subscriptions.push({ topic: checkBytes(L, 2), qos: subscribeQos(optInteger(L, 3, 0)) });
  }
  if (!session) return pushPacketId(L, undefined);
  // One SUBSCRIBE per topic, as the firmware sends them; the last id is returned.
  let id: number | undefined;
  for (const subscription of subscriptions) id = session.subscribe([subscription]);
  return pushPacketId(L, id);
};

const unsubscribe = (L: LuaState): number => {
  const c = clientOf(L);
  const session = c.liveSession;
  const topics: Uint8Array[] = [];
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    for (let i = 1; ; i++) {
      if (lua.lua_rawgeti(L, 2, i) === lua.LUA_TNIL) {
        lua.lua_pop(L, 1);
        break;
      }
      topics.push(checkBytes(L, -1));
      lua.lua_pop(L, 1);
    }
  } else {
    topics.push(checkBytes(L, 2));
  }
  if (!session) return pushPacketId(L, undefined);
  let id: number | undefined;
  for (const topic of topics) id = session.unsubscribe([topic]);
  return pushPacketId(L, id);
};

const publish = (L: LuaState): number => {
  const c = clientOf(L);
  const topic = checkBytes(L, 2);
  const payload = checkBytes(L, 3);
  // libemqtt takes QoS and retain as uint8_t: 1 and 2 are themselves, every other value
  // goes out as QoS 0, and only a true 0 gets the "sent" event l_mqtt_publish posts.
  const qos = optInteger(L, 4, 0) & 0xff;
  const retain = (optInteger(L, 5, 0) & 0xff) !== 0;
  const id = c.liveSession?.publish(topic, payload, qos === 1 || qos === 2 ? qos : 0, retain);
  if (id !== undefined && qos === 0) {
    c.emit("sent", (L2) => {
      lua.lua_pushinteger(L2, 0);
      return 1;
    });
  }
  return pushPacketId(L, id);
};

/** mqtt_subscribe and mqtt_set_will: a uint8_t QoS above 2 becomes 0. */
function subscribeQos(qos: number): 0 | 1 | 2 {
  const byte = qos & 0xff;
  return byte <= 2 ? (byte as 0 | 1 | 2) : 0;
}

const debug = (L: LuaState): number => {
  const c = clientOf(L);
  c.debug = lua.lua_toboolean(L, 2);
  return 0;
};

const toString = (L: LuaState): number => {
  const id = (lua.lua_topointer(L, 1) as { id?: number }).id ?? 0;
  lua.lua_pushstring(L, bytesOf(`MQTTCTRL*: 0x${id.toString(16).padStart(8, "0")}`));
  return 1;
};

const methods = { auth, keepalive, will, autoreconn, on, connect, disconnect, close, ready, state, subscribe, unsubscribe, publish, debug };

export const mqtt = defineModule("mqtt", {
  functions: { create, ...methods },
  constants: { STATE_DISCONNECT, STATE_SCONNECT, STATE_MQTT, STATE_READY, VERIFY_NONE: 0, VERIFY_OPTION: 1, VERIFY_REQUIRED: 2 },
  metatables: { [METATABLE]: { methods, meta: { __tostring: toString } } },
});
