// NodeMCU `tls` (ESP8266, app/modules/tls.c): TLS client sockets over real connections, and
// tls.cert.verify/auth (tls-cert.ts), which also govern https, wss and secure mqtt. A socket
// reports as the firmware's: "dns" for every connect (the address, or nil, after which the
// attempt ends quietly), "connection", "receive" per chunk, "sent", "disconnection" also
// after the script's own close(), "reconnection" with the SDK's reason text for a broken
// or refused connection or a failed handshake. send() on a socket that is not connected
// does nothing. The connection goes where --map sends host:port (any target scheme: its
// host and port are used), else to the host, resolved by the embedder's `lookup` or the
// system.
import * as nodeNet from "node:net";
import * as nodeTls from "node:tls";
import { checkUserdata, lua, pushBytes, pushText, pushUserdata, textOf, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defaultPort } from "../../mqtt/routing.js";
import { defineModule } from "../common/module.js";
import { callWithSelf } from "../common/callbacks.js";
import { resolveHost } from "../common/dns.js";
import { auth, clientTlsOptions, verify } from "./tls-cert.js";

const SOCKET = "tls.socket";
const EVENTS = ["connection", "disconnection", "reconnection", "receive", "sent", "dns"] as const;
type TlsEvent = (typeof EVENTS)[number];

/** The reason strings tls.c gives "reconnection" for the SDK's error codes. */
const REASON = {
  reset: "Connection reset",
  aborted: "Connection aborted",
  timeout: "Timeout",
  handshake: "SSL handshake failed",
} as const;

class TlsSocket {
  selfRef: number | undefined;
  readonly refs = new Map<TlsEvent, number>();
  socket: nodeTls.TLSSocket | undefined;
  peer: { address: string; port: number } | undefined;
  private release: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(readonly board: Board) {}

  get busy(): boolean {
    return this.release !== undefined;
  }

  start(host: string, port: number): void {
    const board = this.board;
    this.release = board.hold();
    this.forget = board.own(() => this.drop());
    const original = new URL(`tls://${host.includes(":") ? `[${host}]` : host}:${port}/`);
    const target = board.host.runtime.router.mapped(original)?.url;
    const targetHost = target ? target.hostname.replace(/^\[|\]$/g, "") : host;
    const targetPort = target ? defaultPort(target) : port;
    void resolveHost(board, targetHost, 4).then((address) => {
      board.post(() => {
        if (!this.busy) return;
        this.emit("dns", (L) => {
          if (address === undefined) lua.lua_pushnil(L);
          else pushText(L, address);
          return 1;
        });
        if (address === undefined || !this.busy) return this.finish();
        this.open(host, address, targetPort);
      });
    });
  }

  private open(host: string, address: string, port: number): void {
    const socket = nodeTls.connect({ host: address, port, servername: nodeNet.isIP(host) ? undefined : host, ...clientTlsOptions(this.board) });
    this.socket = socket;
    let reason: string | undefined;
    let secured = false;
    socket.once("secureConnect", () => {
      secured = true;
      this.board.post(() => {
        if (this.socket !== socket) return;
        this.peer = { address, port };
        this.emit("connection");
      });
    });
    socket.on("data", (data: Buffer) => {
      const bytes = new Uint8Array(data);
      this.board.post(() => {
        if (this.socket === socket) this.emit("receive", (L) => (pushBytes(L, bytes), 1));
      });
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (!secured && error.code !== "ECONNREFUSED" && error.code !== "ECONNRESET" && error.code !== "ETIMEDOUT") reason = REASON.handshake;
      else reason = error.code === "ETIMEDOUT" ? REASON.timeout : error.code === "ECONNABORTED" ? REASON.aborted : REASON.reset;
    });
    socket.on("close", () => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        if (reason !== undefined && this.refs.has("reconnection")) this.finish("reconnection", reason);
        else this.finish("disconnection");
      });
    });
  }

  send(data: Uint8Array): void {
    const socket = this.socket;
    if (!socket || !this.peer) return;
    socket.write(data, () => {
      this.board.post(() => {
        if (this.socket === socket) this.emit("sent");
      });
    });
  }

  /** The connection is over: the script hears `event` (if any), then the socket is idle. */
  finish(event?: "disconnection" | "reconnection", reason?: string): void {
    const selfRef = this.selfRef;
    this.selfRef = undefined;
    this.drop();
    this.release?.();
    this.forget?.();
    this.release = undefined;
    this.forget = undefined;
    const ref = event ? this.refs.get(event) : undefined;
    if (ref !== undefined) {
      this.board.callRef(ref, (L) => {
        if (selfRef !== undefined) this.board.pushRef(L, selfRef);
        else lua.lua_pushnil(L);
        if (event === "reconnection") pushText(L, reason as string);
        return event === "reconnection" ? 2 : 1;
      });
    }
    if (selfRef !== undefined) this.board.unref(selfRef);
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.peer = undefined;
    socket?.removeAllListeners("data");
    socket?.on("error", () => undefined);
    socket?.destroy();
  }

  emit(event: TlsEvent, more?: (L: LuaState) => number): void {
    const ref = this.refs.get(event);
    const selfRef = this.selfRef;
    if (ref === undefined) return;
    callWithSelf(this.board, ref, selfRef, more);
  }
}

const createConnection = (L: LuaState): number => {
  pushUserdata(L, new TlsSocket(boardOf(L)), SOCKET);
  return 1;
};

/** socket:connect(port[, host]) */
const connect = (L: LuaState): number => {
  const socket = checkUserdata<TlsSocket>(L, 1, SOCKET);
  if (socket.busy) raise(L, "already connected");
  const port = checkInteger(L, 2) & 0xffff;
  const host = lua.lua_isstring(L, 3) ? textOf(checkBytes(L, 3)) : "127.0.0.1";
  if (port === 0) raise(L, "invalid port");
  if (socket.selfRef === undefined) socket.selfRef = socket.board.ref(L, 1);
  socket.start(host, port);
  return 0;
};

/** socket:on(event, fn|nil) */
const on = (L: LuaState): number => {
  const socket = checkUserdata<TlsSocket>(L, 1, SOCKET);
  const name = textOf(checkBytes(L, 2));
  const event = EVENTS.find((candidate) => candidate === name);
  if (event === undefined) raise(L, "invalid method");
  const type = lua.lua_type(L, 3);
  if (type !== lua.LUA_TFUNCTION && type !== lua.LUA_TNIL) raise(L, "invalid callback function");
  const old = socket.refs.get(event);
  if (old !== undefined) socket.board.unref(old);
  socket.refs.delete(event);
  if (type === lua.LUA_TFUNCTION) socket.refs.set(event, socket.board.ref(L, 3));
  return 0;
};

const send = (L: LuaState): number => {
  const socket = checkUserdata<TlsSocket>(L, 1, SOCKET);
  socket.send(Uint8Array.from(checkBytes(L, 2)));
  return 0;
};

const hold = (L: LuaState): number => {
  checkUserdata<TlsSocket>(L, 1, SOCKET).socket?.pause();
  return 0;
};

const unhold = (L: LuaState): number => {
  checkUserdata<TlsSocket>(L, 1, SOCKET).socket?.resume();
  return 0;
};

/** socket:getpeer(): ip, port (in this order, unlike net), or nil, nil. */
const getpeer = (L: LuaState): number => {
  const peer = checkUserdata<TlsSocket>(L, 1, SOCKET).peer;
  if (!peer) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
  } else {
    pushText(L, peer.address);
    lua.lua_pushinteger(L, peer.port);
  }
  return 2;
};

/** socket:close(): the connection ends and "disconnection" follows, as on the board. */
const close = (L: LuaState): number => {
  const socket = checkUserdata<TlsSocket>(L, 1, SOCKET);
  if (socket.socket) socket.socket.end();
  else if (socket.busy) socket.finish("disconnection");
  return 0;
};

/** tls.setDebug(level): mbedTLS debug output has no counterpart here; the level is checked. */
const setDebug = (L: LuaState): number => {
  checkInteger(L, 1);
  return 0;
};

export const tls = defineModule("tls", {
  functions: { createConnection, setDebug },
  tables: { cert: { functions: { verify: (L) => verify(L, boardOf(L)), auth: (L) => auth(L, boardOf(L)) } } },
  metatables: { [SOCKET]: { methods: { connect, close, on, send, hold, unhold, getpeer } } },
});
