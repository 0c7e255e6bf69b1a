// NodeMCU `net`: TCP servers, TCP clients and UDP sockets that are real only on loopback.
// A server listens on 127.0.0.1 whatever address the script names, so nothing is exposed;
// a client reaches 127.0.0.0/8 (or "localhost") and any other host fails the way an
// unreachable one does on the device (reconnection, else disconnection, with ERR_ABRT),
// with one notice on stderr. Host names are looked up only through the embedder's
// `lookup` option, except net.dns.resolve and socket:dns, which are explicit DNS requests
// and fall back to the system resolver. Errors the firmware reports through lwIP codes
// after the call returned (a port in use) are reported on stderr instead.
import * as nodeNet from "node:net";
import * as dgram from "node:dgram";
import { lookup as systemLookup } from "node:dns/promises";
import { lua, pushBytes, pushText, pushUserdata, testUserdata, textOf, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, checkText, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { callWithSelf } from "../common/callbacks.js";

const TCP = 1;
const UDP = 2;
const ERR_OK = 0;
const ERR_ABRT = -8;
const ERR_RST = -9;
const DNS_MAX_SERVERS = 2;
const DEFAULT_TTL = 64;
const DEFAULT_DNS = "208.67.222.222";

const SERVER = "net.tcpserver";
const SOCKET = "net.tcpsocket";
const UDP_SOCKET = "net.udpsocket";

type Kind = "server" | "tcp" | "udp";

const TCP_EVENTS = ["connection", "disconnection", "reconnection", "dns", "receive", "sent"];
const UDP_EVENTS = ["dns", "receive", "sent"];

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

function isIPv4(text: string): boolean {
  return nodeNet.isIPv4(text);
}

/** Resolves without sending a query unless the embedder's lookup (or `system`) allows one. */
async function resolveHost(board: Board, host: string, system: boolean): Promise<string | undefined> {
  if (nodeNet.isIP(host)) return host;
  if (host.toLowerCase() === "localhost") return "127.0.0.1";
  const lookup = board.host.runtime.options.lookup;
  try {
    if (lookup) return (await lookup(host)).address;
    if (system) return (await systemLookup(host, { family: 4 })).address;
  } catch {
    return undefined;
  }
  return undefined;
}

const noticed = new WeakMap<Board, Set<string>>();

function notice(board: Board, key: string, line: string): void {
  let seen = noticed.get(board);
  if (!seen) {
    seen = new Set();
    noticed.set(board, seen);
  }
  if (seen.has(key)) return;
  seen.add(key);
  board.host.stderr(`moonrig: net: ${line}\n`);
}

class NetObject {
  selfRef: number | undefined;
  readonly refs = new Map<string, number>();
  tcp: nodeNet.Socket | undefined;
  server: nodeNet.Server | undefined;
  udp: dgram.Socket | undefined;
  connected = false;
  local: { port: number; address: string } | undefined;
  remote: { port: number; address: string } | undefined;
  ttl = DEFAULT_TTL;
  private release: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(readonly kind: Kind, readonly board: Board) {}

  get open(): boolean {
    return this.tcp !== undefined || this.server !== undefined || this.udp !== undefined;
  }

  /** Keeps the userdata reachable from callbacks while something is under way. */
  keepSelf(L: LuaState, idx: number): void {
    if (this.selfRef === undefined) this.selfRef = this.board.ref(L, lua.lua_absindex(L, idx));
  }

  /** Holds the script alive and arranges cleanup at reboot/close; idempotent. */
  activate(): void {
    if (this.release) return;
    this.release = this.board.hold();
    this.forget = this.board.own(() => this.shutdown());
  }

  setRef(event: string, ref: number | undefined): void {
    const old = this.refs.get(event);
    if (old !== undefined) this.board.unref(old);
    if (ref === undefined) this.refs.delete(event);
    else this.refs.set(event, ref);
  }

  /** Calls the script's callback for `event` with self first; `more` pushes the rest. */
  emit(event: string, more?: (L: LuaState) => number): void {
    const ref = this.refs.get(event);
    const selfRef = this.selfRef;
    if (ref === undefined) return;
    callWithSelf(this.board, ref, selfRef, more);
  }

  /** Closes the JS side without any callback (script close, reboot). */
  shutdown(): void {
    this.tcp?.removeAllListeners();
    this.tcp?.on("error", () => undefined);
    this.tcp?.destroy();
    if (this.server?.listening) this.server.close();
    this.udp?.removeAllListeners();
    this.udp?.on("error", () => undefined);
    try {
      this.udp?.close();
    } catch {
      // already closed
    }
    this.tcp = undefined;
    this.server = undefined;
    this.udp = undefined;
    this.connected = false;
    this.local = undefined;
    this.remote = undefined;
  }

  /** Back to idle: nothing open, nothing holding the script, self no longer pinned. */
  deactivate(): void {
    this.shutdown();
    this.forget?.();
    this.release?.();
    this.forget = undefined;
    this.release = undefined;
    if (this.selfRef !== undefined) this.board.unref(this.selfRef);
    this.selfRef = undefined;
  }

  /** A connection that ended: reconnection for errors when set, else disconnection. */
  ended(err: number): void {
    const event = err !== ERR_OK && this.refs.has("reconnection") ? "reconnection" : "disconnection";
    const selfRef = this.selfRef;
    // Idle before the callback, so the callback may connect the same socket again.
    this.selfRef = undefined;
    this.deactivate();
    const ref = this.refs.get(event);
    if (ref !== undefined) {
      this.board.callRef(ref, (L) => {
        if (selfRef !== undefined) this.board.pushRef(L, selfRef);
        else lua.lua_pushnil(L);
        lua.lua_pushinteger(L, err);
        return 2;
      });
    }
    if (selfRef !== undefined) this.board.unref(selfRef);
  }

  /** Wires a live TCP socket (dialled or accepted) to the script's callbacks. */
  attach(socket: nodeNet.Socket): void {
    this.tcp = socket;
    let failure: number | undefined;
    socket.on("data", (data: Buffer) => {
      const bytes = new Uint8Array(data);
      this.board.post(() => {
        if (this.tcp !== socket) return;
        this.emit("receive", (L) => {
          pushBytes(L, bytes);
          return 1;
        });
      });
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      failure = error.code === "ECONNREFUSED" || error.code === "ECONNRESET" || error.code === "EPIPE" ? ERR_RST : ERR_ABRT;
    });
    socket.on("close", () => {
      this.board.post(() => {
        if (this.tcp !== socket) return;
        this.ended(failure ?? ERR_OK);
      });
    });
  }
}

// ---- helpers ----

function checkObject(L: LuaState, kinds: readonly Kind[]): NetObject {
  const object = testUserdata<NetObject>(L, 1, SERVER) ?? testUserdata<NetObject>(L, 1, SOCKET) ?? testUserdata<NetObject>(L, 1, UDP_SOCKET);
  if (!object || !kinds.includes(object.kind)) raise(L, "invalid user data");
  return object;
}

const METATABLES: Record<Kind, string> = { server: SERVER, tcp: SOCKET, udp: UDP_SOCKET };

function create(L: LuaState, kind: Kind): number {
  pushUserdata(L, new NetObject(kind, boardOf(L)), METATABLES[kind]);
  return 1;
}

function pushAddress(L: LuaState, address: { port: number; address: string } | undefined): number {
  if (!address || address.port === 0) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
  } else {
    lua.lua_pushinteger(L, address.port);
    pushText(L, address.address);
  }
  return 2;
}

// ---- module functions ----

const createServer = (L: LuaState): number => {
  const type = lua.lua_isnoneornil(L, 1) ? TCP : checkInteger(L, 1);
  if (type === UDP) return create(L, "udp");
  if (type !== TCP) raise(L, "invalid type");
  return create(L, "server");
};

const createConnection = (L: LuaState): number => {
  const type = lua.lua_isnoneornil(L, 1) ? TCP : checkInteger(L, 1);
  const secure = lua.lua_isnoneornil(L, 2) ? 0 : checkInteger(L, 2);
  if (type === UDP) return create(L, "udp");
  if (type !== TCP) raise(L, "invalid type");
  if (secure) raise(L, "secure connections not enabled");
  return create(L, "tcp");
};

const createUDPSocket = (L: LuaState): number => create(L, "udp");

// ---- shared methods ----

/** server:listen([port][, ip], fn(conn)) and udpsocket:listen([port][, ip]) */
const listen = (L: LuaState): number => {
  const object = checkObject(L, ["server", "udp"]);
  if (object.open) raise(L, "already listening");
  let arg = 2;
  let port = 0;
  let address = "0.0.0.0";
  if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) port = lua.lua_tointeger(L, arg++) & 0xffff;
  if (lua.lua_type(L, arg) === lua.LUA_TSTRING) address = checkText(L, arg++);
  if (!isIPv4(address)) raise(L, "invalid IP address");
  const board = object.board;
  if (object.kind === "server") {
    if (lua.lua_type(L, arg) !== lua.LUA_TFUNCTION) raise(L, "need callback");
    object.setRef("accept", board.ref(L, arg));
  }
  object.keepSelf(L, 1);
  object.activate();
  const failed = (error: NodeJS.ErrnoException) => {
    notice(board, `listen:${port}`, `cannot listen on port ${port}: ${error.code ?? error.message}`);
    board.post(() => object.deactivate());
  };
  if (object.kind === "server") {
    const server = nodeNet.createServer((socket) => accept(object, socket));
    object.server = server;
    server.on("error", failed);
    server.listen({ port, host: "127.0.0.1" }, () => {
      const bound = server.address() as nodeNet.AddressInfo;
      object.local = { port: bound.port, address };
    });
  } else {
    const udp = bindUdp(object, port, address);
    udp.on("error", failed);
  }
  return 0;
};

function bindUdp(object: NetObject, port: number, address: string): dgram.Socket {
  const udp = dgram.createSocket("udp4");
  object.udp = udp;
  udp.on("message", (data, info) => {
    const bytes = new Uint8Array(data);
    object.board.post(() => {
      if (object.udp !== udp) return;
      object.emit("receive", (L) => {
        pushBytes(L, bytes);
        lua.lua_pushinteger(L, info.port);
        pushText(L, info.address);
        return 3;
      });
    });
  });
  udp.bind({ port, address: "127.0.0.1" }, () => {
    object.local = { port: udp.address().port, address };
  });
  return udp;
}

/** Like the firmware: the accept callback first, then the new socket's "connection". */
function accept(server: NetObject, socket: nodeNet.Socket): void {
  const board = server.board;
  const connection = new NetObject("tcp", board);
  connection.attach(socket);
  connection.connected = true;
  connection.local = { port: socket.localPort ?? 0, address: socket.localAddress ?? "127.0.0.1" };
  connection.remote = { port: socket.remotePort ?? 0, address: (socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "") };
  connection.activate();
  board.post(() => {
    const acceptRef = server.refs.get("accept");
    if (!server.server || acceptRef === undefined || connection.tcp !== socket) {
      connection.deactivate();
      return;
    }
    board.callRef(acceptRef, (L) => {
      pushUserdata(L, connection, SOCKET);
      connection.keepSelf(L, -1);
      return 1;
    });
    connection.emit("connection");
  });
}

/** client:connect(port[, host][, fn]) */
const connect = (L: LuaState): number => {
  const object = checkObject(L, ["tcp"]);
  if (object.tcp || object.selfRef !== undefined) raise(L, "already connected");
  const port = checkInteger(L, 2) & 0xffff;
  if (port === 0) raise(L, "specify port");
  const host = lua.lua_isstring(L, 3) ? checkText(L, 3) : "127.0.0.1";
  const board = object.board;
  if (lua.lua_gettop(L) > 3) {
    if (lua.lua_type(L, 4) !== lua.LUA_TFUNCTION) argError(L, 4, "not a function");
    object.setRef("connection", board.ref(L, 4));
  }
  object.keepSelf(L, 1);
  object.activate();
  void resolveHost(board, host, false).then((address) => {
    board.post(() => dial(object, host, address, port));
  });
  return 0;
};

function dial(object: NetObject, host: string, address: string | undefined, port: number): void {
  if (object.selfRef === undefined) return;
  if (address === undefined || !isLoopback(address)) {
    notice(object.board, `${host}:${port}`, `${host}:${port} is not reachable from the simulated board (only loopback is)`);
    object.ended(ERR_ABRT);
    return;
  }
  const socket = nodeNet.connect({ port, host: address });
  object.attach(socket);
  socket.on("connect", () => {
    object.board.post(() => {
      if (object.tcp !== socket) return;
      object.connected = true;
      object.local = { port: socket.localPort ?? 0, address: socket.localAddress ?? "127.0.0.1" };
      object.remote = { port, address };
      object.emit("connection");
    });
  });
}

/** socket:on(event, fn|nil) */
const on = (L: LuaState): number => {
  const object = checkObject(L, ["tcp", "udp"]);
  const name = textOf(checkBytes(L, 2));
  const events = object.kind === "tcp" ? TCP_EVENTS : UDP_EVENTS;
  if (!events.includes(name)) raise(L, "invalid callback name");
  if (lua.lua_type(L, 3) === lua.LUA_TFUNCTION) object.setRef(name, object.board.ref(L, 3));
  else if (lua.lua_isnil(L, 3)) object.setRef(name, undefined);
  else raise(L, "invalid callback function");
  return 0;
};

/** tcp: send(data[, fn]); udp: send(port, ip, data[, fn]) */
const send = (L: LuaState): number => {
  const object = checkObject(L, ["tcp", "udp"]);
  const board = object.board;
  let arg = 2;
  let port = 0;
  let address = "";
  if (object.kind === "udp") {
    port = checkInteger(L, arg++) & 0xffff;
    if (port === 0) raise(L, "need port");
    address = checkText(L, arg++);
    if (!isIPv4(address)) raise(L, "invalid IP address");
  }
  const data = Uint8Array.from(checkBytes(L, arg++));
  if (data.length === 0) raise(L, "no data to send");
  if (lua.lua_type(L, arg) === lua.LUA_TFUNCTION) object.setRef("sent", board.ref(L, arg));
  if (object.kind === "udp") {
    if (!object.udp) {
      object.keepSelf(L, 1);
      object.activate();
      bindUdp(object, 0, "0.0.0.0").on("error", () => undefined);
    }
    if (isLoopback(address)) object.udp?.send(data, port, address);
    else notice(board, `udp:${address}:${port}`, `${address}:${port} is not reachable from the simulated board (only loopback is)`);
    // The firmware calls "sent" before send returns: datagrams are not acknowledged.
    const sentRef = object.refs.get("sent");
    if (sentRef !== undefined && object.selfRef !== undefined) {
      board.pushRef(L, sentRef);
      board.pushRef(L, object.selfRef);
      lua.lua_call(L, 1, 0);
    }
    return 0;
  }
  const socket = object.tcp;
  if (!socket || object.selfRef === undefined) raise(L, "not connected");
  socket.write(data, () => {
    board.post(() => {
      if (object.tcp === socket) object.emit("sent");
    });
  });
  return 0;
};

const close = (L: LuaState): number => {
  const object = checkObject(L, ["server", "tcp", "udp"]);
  if (!object.open) raise(L, "not connected");
  // Ending gracefully lets queued data go out; no callback follows a script's close.
  const socket = object.tcp;
  if (socket) {
    socket.removeAllListeners();
    socket.on("error", () => undefined);
    socket.end();
    object.tcp = undefined;
  }
  object.deactivate();
  return 0;
};

const hold = (L: LuaState): number => {
  checkObject(L, ["tcp"]).tcp?.pause();
  return 0;
};

const unhold = (L: LuaState): number => {
  checkObject(L, ["tcp"]).tcp?.resume();
  return 0;
};

/** socket:dns(domain, fn(socket, ip)) */
const dns = (L: LuaState): number => {
  const object = checkObject(L, ["tcp", "udp"]);
  const domain = checkText(L, 2);
  const board = object.board;
  if (lua.lua_type(L, 3) === lua.LUA_TFUNCTION) object.setRef("dns", board.ref(L, 3));
  if (!object.refs.has("dns")) raise(L, "no callback specified");
  lua.lua_pushvalue(L, 1);
  const selfRef = board.ref(L, -1);
  lua.lua_pop(L, 1);
  const release = board.hold();
  void resolveHost(board, domain, true).then((address) => {
    release();
    board.post(() => {
      const ref = object.refs.get("dns");
      if (ref !== undefined) {
        board.callRef(ref, (L1) => {
          board.pushRef(L1, selfRef);
          if (address === undefined) lua.lua_pushnil(L1);
          else pushText(L1, address);
          return 2;
        });
      }
      board.unref(selfRef);
    });
  });
  return 0;
};

const ttl = (L: LuaState): number => {
  const object = checkObject(L, ["tcp", "udp"]);
  if (!object.open) raise(L, "socket is not open/bound yet");
  if (!lua.lua_isnoneornil(L, 2)) {
    const value = checkInteger(L, 2);
    if (value !== -1) object.ttl = value;
  }
  lua.lua_pushinteger(L, object.ttl);
  return 1;
};

const getpeer = (L: LuaState): number => pushAddress(L, checkObject(L, ["tcp"]).remote);

const getaddr = (L: LuaState): number => pushAddress(L, checkObject(L, ["server", "tcp", "udp"]).local);

// ---- net.dns ----

const serversOf = perBoard((): Array<string | undefined> => [DEFAULT_DNS, undefined]);

function checkServerIndex(L: LuaState, value: number): number {
  if (value >= DNS_MAX_SERVERS) raise(L, `server index out of range [0-${DNS_MAX_SERVERS - 1}]`);
  return value;
}

const resolve = (L: LuaState): number => {
  const domain = checkText(L, 1);
  if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) typeError(L, 2, "function");
  const board = boardOf(L);
  const ref = board.ref(L, 2);
  const release = board.hold();
  void resolveHost(board, domain, true).then((address) => {
    release();
    board.post(() => {
      board.callRef(ref, (L1) => {
        lua.lua_pushnil(L1);
        if (address === undefined) lua.lua_pushnil(L1);
        else pushText(L1, address);
        return 2;
      });
      board.unref(ref);
    });
  });
  return 0;
};

const getdnsserver = (L: LuaState): number => {
  const index = checkServerIndex(L, lua.lua_isnoneornil(L, 1) ? 0 : checkInteger(L, 1));
  const server = serversOf(boardOf(L))[index];
  if (server === undefined) lua.lua_pushnil(L);
  else pushText(L, server);
  return 1;
};

const setdnsserver = (L: LuaState): number => {
  const server = checkText(L, 1);
  if (server.length > 16 || !isIPv4(server) || server === "0.0.0.0" || server === "255.255.255.255") raise(L, "invalid dns server ip");
  const index = checkServerIndex(L, lua.lua_isnoneornil(L, 2) ? 0 : checkInteger(L, 2));
  serversOf(boardOf(L))[index] = server;
  return 0;
};

/** Group membership has no effect on a loopback-only network; the arguments are still checked. */
const multicast = (L: LuaState): number => {
  if (!lua.lua_isstring(L, 1)) raise(L, "wrong arg type");
  const ifIp = checkText(L, 1);
  if (ifIp !== "" && ifIp.toLowerCase() !== "any" && (ifIp.length > 15 || ifIp.length < 7)) raise(L, "invalid if ip");
  if (!lua.lua_isstring(L, 2)) raise(L, "wrong arg type");
  const group = checkText(L, 2);
  if (group.length > 15 || group.length < 7) raise(L, "invalid multicast ip");
  return 0;
};

export const net = defineModule("net", {
  functions: { createServer, createConnection, createUDPSocket, multicastJoin: multicast, multicastLeave: multicast },
  constants: { TCP, UDP },
  tables: { dns: { functions: { resolve, getdnsserver, setdnsserver } } },
  metatables: {
    [SERVER]: { methods: { listen, getaddr, close } },
    [SOCKET]: { methods: { connect, close, on, send, hold, unhold, dns, ttl, getpeer, getaddr } },
    [UDP_SOCKET]: { methods: { listen, close, on, send, dns, ttl, getaddr } },
  },
});
