// LuatOS `websocket` (components/network/websocket): the firmware's client over a real TCP or
// TLS connection, with its fixed handshake (Host with the port, the script's headers, then
// Upgrade, Connection, the constant Sec-WebSocket-Key w4v7O6xFTi36lq3RNcgctw== and version
// 13; the answer must start "HTTP/1.1 101", the accept key is not checked), its frames
// (always FIN, masked with 00 01 02 03, text unless send's third argument is 1; 65535 bytes
// or more refused) and its events through the one callback: conack (then the system message
// WEBSOCKET_CONNACK), recv (each frame of opcode 0-2 with its FIN and opcode), sent (per
// send() once written), error (connect/rx/tx with 0) and disconnect, with autoreconn
// retrying after its period. A close frame from the server, a frame of an unknown opcode or a
// 64-bit length, or a payload over 32 KiB is an "rx" error. Pings: 30 s after the handshake,
// then `keepalive` seconds (60 by default) after the last traffic. TLS checks nothing (the
// firmware's default verify 0). A --map entry for the URL's host and port moves the
// connection.
import * as nodeNet from "node:net";
import * as nodeTls from "node:tls";
import { lua, pushBytes, pushText, pushUserdata, testUserdata, toBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defaultPort } from "../../mqtt/routing.js";
import { defineModule } from "../common/module.js";
import { resolveHost } from "../common/dns.js";
import { publishSystemMessage } from "./rtos.js";
import { toZbuff } from "./zbuff.js";

const CLIENT = "WS*";
const KEY = "w4v7O6xFTi36lq3RNcgctw==";
const MASK = Buffer.from([0, 1, 2, 3]);
const PAYLOAD_MAX = 32 * 1024;
const HEADERS_MAX = 1024;
const FIRST_PING_MS = 30000;
const ADAPTER_COUNT = 21;

class WsClient {
  selfRef: number | undefined;
  callbackRef: number | undefined;
  /** 0 until the handshake is answered, 1 after, as websocket_state. */
  state = 0;
  released = false;
  headers = "";
  debug = false;
  reconnect = false;
  reconnectMs = 3000;
  keepaliveS = 60;
  private socket: nodeNet.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private framesWaiting = 0;
  private release: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(
    readonly board: Board,
    readonly url: { secure: boolean; host: string; port: number; path: string },
  ) {}

  connect(): boolean {
    if (this.released) return false;
    this.closeSocket(false);
    this.release ??= this.board.hold();
    this.forget ??= this.board.own(() => this.shutdown());
    const board = this.board;
    const original = new URL(`${this.url.secure ? "wss" : "ws"}://${this.url.host.includes(":") ? `[${this.url.host}]` : this.url.host}:${this.url.port}/`);
    const target = board.host.runtime.router.mapped(original)?.url;
    const secure = target ? target.protocol === "wss:" || target.protocol === "https:" : this.url.secure;
    const host = target ? target.hostname.replace(/^\[|\]$/g, "") : this.url.host;
    const port = target ? defaultPort(target) : this.url.port;
    void resolveHost(board, host).then((address) => {
      board.post(() => {
        if (this.released || this.socket) return;
        if (address === undefined) return this.broken("connect");
        this.open(secure, address, port);
      });
    });
    return true;
  }

  private open(secure: boolean, address: string, port: number): void {
    const socket = secure
      ? nodeTls.connect({ host: address, port, servername: nodeNet.isIP(this.url.host) ? undefined : this.url.host, rejectUnauthorized: false })
      : nodeNet.connect({ host: address, port });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.once(secure ? "secureConnect" : "connect", () => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        socket.write(Buffer.from(`GET ${this.url.path} HTTP/1.1\r\nHost: ${this.url.host}:${this.url.port}\r\n${this.headers}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`, "latin1"));
      });
    });
    socket.on("data", (data: Buffer) => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        this.buffer = Buffer.concat([this.buffer, data]);
        if (!this.parse()) return this.broken("rx");
        this.armPing(this.keepaliveS * 1000);
      });
    });
    // A refused, broken or closed connection is the firmware's "connect" error.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.board.post(() => {
        if (this.socket === socket) this.broken("connect");
      });
    });
  }

  /** Takes what the buffer holds; false for what the firmware treats as a receive error. */
  private parse(): boolean {
    for (;;) {
      const b = this.buffer;
      if (this.state === 0) {
        if (b.length < 12) return true;
        if (b.toString("latin1", 0, 12) !== "HTTP/1.1 101") return false;
        const end = b.indexOf("\r\n\r\n", 4, "latin1");
        if (end === -1) return true;
        // As the firmware, whatever follows the handshake in the same read is dropped.
        this.buffer = Buffer.alloc(0);
        this.state = 1;
        this.armPing(FIRST_PING_MS);
        this.emit("conack");
        const ref = this.selfRef;
        publishSystemMessage(this.board, "WEBSOCKET_CONNACK", (L) => {
          if (ref !== undefined) this.board.pushRef(L, ref);
          else lua.lua_pushnil(L);
          return 1;
        });
        return true;
      }
      if (b.length < 2) return true;
      const fin = ((b[0] as number) >> 7) & 1;
      const opcode = (b[0] as number) & 0x0f;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 127) return false;
      if (length === 126) {
        if (b.length < 4) return true;
        length = b.readUInt16BE(2);
        offset = 4;
      }
      if (length > PAYLOAD_MAX) return false;
      if (b.length < offset + length) return true;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      this.buffer = b.subarray(offset + length);
      if (opcode === 0x08 || (opcode > 0x02 && opcode !== 0x09 && opcode !== 0x0a)) return false;
      if (opcode === 0x09) this.sendFrame(0x0a, payload);
      if (opcode <= 0x02) {
        this.emit("recv", (L) => {
          pushBytes(L, payload);
          lua.lua_pushinteger(L, fin);
          lua.lua_pushinteger(L, opcode);
          return 3;
        });
      }
    }
  }

  private armPing(ms: number): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.board.post(() => this.sendFrame(0x09, Buffer.alloc(0))), ms);
  }

  /** A frame as luat_websocket_send_frame writes it; false when it is refused. */
  sendFrame(opcode: number, payload: Uint8Array, counted = false): boolean {
    const socket = this.socket;
    if (this.state === 0 || !socket) return false;
    if (payload.length >= 0xffff) return false;
    const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (MASK[i % 4] as number);
    if (counted) this.framesWaiting++;
    socket.write(Buffer.concat([head, MASK, body]), () => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        this.armPing(this.keepaliveS * 1000);
        if (counted && this.framesWaiting > 0) {
          this.framesWaiting--;
          this.emit("sent");
        }
      });
    });
    return true;
  }

  /** An error event, then the socket closes (and autoreconn takes over). */
  private broken(kind: "connect" | "rx" | "tx"): void {
    this.emit("error", (L) => {
      pushText(L, kind);
      lua.lua_pushinteger(L, 0);
      return 2;
    });
    this.closeSocket(true);
  }

  /** luat_websocket_close_socket: the connection goes, "disconnect", then a retry if set. */
  closeSocket(announce = true): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.removeAllListeners("data");
    socket?.on("error", () => undefined);
    socket?.destroy();
    clearInterval(this.pingTimer);
    this.state = 0;
    this.framesWaiting = 0;
    if (!announce) return;
    this.emit("disconnect");
    if (this.reconnect && !this.released) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.board.post(() => this.connect()), this.reconnectMs);
    }
  }

  /** wsc:close(): the callback goes first, so its "disconnect" reaches nobody; the client is then unusable. */
  close(): void {
    if (this.callbackRef !== undefined) this.board.unref(this.callbackRef);
    this.callbackRef = undefined;
    this.closeSocket(true);
    this.shutdown();
  }

  private shutdown(): void {
    this.released = true;
    this.closeSocket(false);
    clearTimeout(this.reconnectTimer);
    this.release?.();
    this.forget?.();
    this.release = undefined;
    this.forget = undefined;
    if (this.selfRef !== undefined) this.board.unref(this.selfRef);
    this.selfRef = undefined;
  }

  emit(event: string, more?: (L: LuaState) => number): void {
    const ref = this.callbackRef;
    const selfRef = this.selfRef;
    if (ref === undefined) return;
    this.board.callRef(ref, (L) => {
      if (selfRef !== undefined) this.board.pushRef(L, selfRef);
      else lua.lua_pushnil(L);
      this.board.pushName(L, event);
      return 2 + (more ? more(L) : 0);
    });
  }
}

/** The firmware's URL split: scheme (ws:// or wss://, else plain), host[:port], path. */
function parseUrl(text: string): WsClient["url"] {
  let rest = text;
  let secure = false;
  if (rest.startsWith("wss://")) {
    secure = true;
    rest = rest.slice(6);
  } else if (rest.startsWith("ws://")) rest = rest.slice(5);
  let pathAt = rest.indexOf("/");
  if (pathAt < 2) pathAt = rest.length;
  const authority = rest.slice(0, pathAt);
  const colon = authority.indexOf(":");
  const host = colon === -1 ? authority : authority.slice(0, colon);
  const port = colon === -1 ? 0 : Number.parseInt(authority.slice(colon + 1, colon + 6), 10) || 0;
  return { secure, host, port: port === 0 ? (secure ? 443 : 80) : port, path: rest.slice(pathAt) || "/" };
}

/** The client at argument 1, as get_websocket_ctrl takes it (also through websocket.fn(wsc)). */
function clientArg(L: LuaState): WsClient | undefined {
  const client = testUserdata<WsClient>(L, 1, CLIENT);
  return client && !client.released ? client : undefined;
}

/** websocket.create(adapter, url[, keepalive[, ipv6]]) */
const create = (L: LuaState): number => {
  const adapter = lua.lua_isnoneornil(L, 1) ? 0 : optInteger(L, 1, 0);
  if (adapter < 0 || adapter >= ADAPTER_COUNT) return 0;
  const url = parseUrl(Buffer.from(checkBytes(L, 2)).toString("latin1"));
  const client = new WsClient(boardOf(L), url);
  if (lua.lua_isinteger(L, 3) && lua.lua_tointeger(L, 3) > 0) client.keepaliveS = lua.lua_tointeger(L, 3);
  pushUserdata(L, client, CLIENT);
  client.selfRef = client.board.ref(L, -1);
  return 1;
};

/** wsc:on(cb): the one callback, replaced (or removed by a non-function). */
const on = (L: LuaState): number => {
  const client = clientArg(L);
  if (!client) return 0;
  if (client.callbackRef !== undefined) client.board.unref(client.callbackRef);
  client.callbackRef = lua.lua_type(L, 2) === lua.LUA_TFUNCTION ? client.board.ref(L, 2) : undefined;
  return 0;
};

const connect = (L: LuaState): number => {
  const client = clientArg(L);
  lua.lua_pushboolean(L, client ? client.connect() : false);
  return 1;
};

/** wsc:autoreconn(enable[, period_ms]): at least 1000 ms, 3000 by default. */
const autoreconn = (L: LuaState): number => {
  const client = clientArg(L);
  if (!client) return 0;
  client.reconnect = lua.lua_toboolean(L, 2);
  if (client.reconnect) client.reconnectMs = Math.max(1000, optInteger(L, 3, 3000));
  return 0;
};

/** wsc:send(data[, opt]): a string or zbuff; 1 as the third argument sends a binary frame. */
const send = (L: LuaState): number => {
  const client = clientArg(L);
  if (!client) return 0;
  let payload: Uint8Array | undefined;
  if (lua.lua_isstring(L, 2)) payload = checkBytes(L, 2);
  else payload = toZbuff(L, 2)?.used();
  if (payload === undefined) return 0;
  const binary = lua.lua_isinteger(L, 3) && lua.lua_tointeger(L, 3) === 1;
  lua.lua_pushboolean(L, client.sendFrame(binary ? 0x02 : 0x01, payload, true));
  return 1;
};

const close = (L: LuaState): number => {
  clientArg(L)?.close();
  return 0;
};

const ready = (L: LuaState): number => {
  lua.lua_pushboolean(L, (clientArg(L)?.state ?? 0) > 0);
  return 1;
};

/** wsc:headers(table|string): true, or nothing for what the firmware refuses. */
const headers = (L: LuaState): number => {
  const client = clientArg(L);
  if (!client || !(lua.lua_istable(L, 2) || lua.lua_isstring(L, 2))) return 0;
  let text = "";
  if (lua.lua_istable(L, 2)) {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, 2)) {
      const value = toBytes(L, -1);
      lua.lua_pushvalue(L, -2);
      const name = toBytes(L, -1);
      lua.lua_pop(L, 2);
      if (!name || !value || name.length === 0 || value.length === 0 || name.length + value.length > 256) {
        lua.lua_pop(L, 1);
        return 0;
      }
      text += `${Buffer.from(name).toString("latin1")}:`;
      if (HEADERS_MAX - text.length < value.length * 2) {
        lua.lua_pop(L, 1);
        return 0;
      }
      // The firmware percent-encodes these five characters in table values.
      text += Buffer.from(value).toString("latin1").replace(/[*\-._ ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
      text += "\r\n";
    }
  } else {
    const bytes = checkBytes(L, 2);
    if (bytes.length > HEADERS_MAX - 1) return 0;
    text = Buffer.from(bytes).toString("latin1");
  }
  client.headers = text;
  lua.lua_pushboolean(L, true);
  return 1;
};

const debug = (L: LuaState): number => {
  const client = clientArg(L);
  if (client && lua.lua_type(L, 2) === lua.LUA_TBOOLEAN) client.debug = lua.lua_toboolean(L, 2);
  return 0;
};

const functions = { create, on, connect, autoreconn, send, close, ready, headers, debug };

export const websocket = defineModule("websocket", {
  functions,
  // The client's methods are the module's functions, websocket.send(wsc, ...) as wsc:send(...).
  metatables: { [CLIENT]: { methods: functions } },
});
