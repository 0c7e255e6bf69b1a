// LuatOS socket connections (socket.create/config/connect/tx/rx/wait/discon/close/release):
// real TCP (node:net, node:tls) and UDP (node:dgram) sockets. The event model follows the
// firmware's network core (luat_network_adapter.c, luat_lib_socket.c): every operation
// returns at once, the outcome arrives later as an event (ON_LINE, TX_OK, EVENT, CLOSED)
// with 0 for success and -1 for failure, to the callback function, the named task
// (sys_send) or, without either, as the sys message "NWCTRL*".
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup as dnsLookup } from "node:dns/promises";
import { lua, pushBytes, pushText, pushUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defaultPort } from "../../mqtt/routing.js";
import { publishSys } from "./sysbus.js";
import { toZbuff } from "./zbuff.js";

export const CTRL = "NWCTRL*";

// Event ids: the firmware's EV_NW_RESULT_* masked with 0x0fffffff (NW_WAIT_* + base).
const EV_NW_RESULT_BASE = 0x2000000 + 15;
export const LINK = EV_NW_RESULT_BASE + 1;
export const ON_LINE = EV_NW_RESULT_BASE + 2;
export const TX_OK = EV_NW_RESULT_BASE + 3;
export const CLOSED = EV_NW_RESULT_BASE + 4;
export const EVENT = EV_NW_RESULT_BASE + 5;

// network_ctrl_t states and network_ctrl_state_string's texts.
const STATE_OFF_LINE = 1;
const STATE_WAIT_DNS = 2;
const STATE_CONNECTING = 3;
const STATE_SHAKEHAND = 4;
const STATE_ONLINE = 5;
const STATE_DISCONNECTING = 7;
const STATE_TEXT = ["硬件离线", "离线", "等待DNS", "正在连接", "正在TLS握手", "在线", "在监听", "正在离线", "未知"];

const OK = 0;
const FAIL = -1;

interface Datagram {
  bytes: Buffer;
  address: string;
  port: number;
}

interface TlsConfig {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  passphrase: string | undefined;
}

let nextSocketId = 0;

/** The board's sockets that hold a connection, for socket.close_all. */
const openOf = perBoard((): Set<Ctrl> => new Set());

/** socket.close_all: network_close (socket.discon) on every socket of the adapter. */
export function disconnectAll(board: Board, adapter: number): void {
  for (const ctrl of [...openOf(board)]) if (ctrl.adapter === adapter) ctrl.discon();
}

export class Ctrl {
  callbackRef: number | undefined;
  selfRef: number | undefined;
  taskName: Uint8Array | undefined;
  released = false;
  udp = false;
  localPort = 0;
  tls: TlsConfig | undefined;
  state = STATE_OFF_LINE;
  /** The event a failure is reported as (the firmware's wait_target_state; 0 = none). */
  waitTarget = 0;
  needClose = false;
  readonly socketId = nextSocketId++;
  private tcp: Socket | undefined;
  private dgram: UdpSocket | undefined;
  private remote: { address: string; port: number } | undefined;
  private stream: Buffer[] = [];
  private datagrams: Datagram[] = [];
  private releaseHold: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(readonly board: Board, readonly adapter: number) {}

  get pending(): number {
    if (this.udp) return this.datagrams[0]?.bytes.length ?? 0;
    return this.stream.reduce((n, chunk) => n + chunk.length, 0);
  }

  /** Delivers (event, param) from the main loop, as l_socket_callback does. */
  private emit(event: number, param: number): void {
    this.board.post(() => {
      if (this.released) return;
      const L = this.board.L;
      if (this.callbackRef !== undefined && this.selfRef !== undefined) {
        const selfRef = this.selfRef;
        this.board.callRef(this.callbackRef, (l) => {
          this.board.pushRef(l, selfRef);
          lua.lua_pushinteger(l, event);
          lua.lua_pushinteger(l, param);
          return 3;
        });
      } else if (this.taskName !== undefined) {
        const top = lua.lua_gettop(L);
        lua.lua_getglobal(L, "sys_send");
        if (lua.lua_type(L, -1) === lua.LUA_TFUNCTION) {
          pushBytes(L, this.taskName);
          lua.lua_pushinteger(L, event);
          lua.lua_pushinteger(L, param);
          this.board.callTop(3);
        }
        lua.lua_settop(L, top);
      } else {
        publishSys(this.board, CTRL, this.adapter, this.socketId, event, param);
      }
    });
  }

  /** The outcome of whatever the socket waits for (EVENT when it waits for nothing). */
  private finish(result: number, event?: number): void {
    const id = event ?? (this.waitTarget || EVENT);
    this.waitTarget = 0;
    this.emit(id, result);
  }

  private hold(): void {
    openOf(this.board).add(this);
    this.releaseHold ??= this.board.hold();
    this.forget ??= this.board.own(() => this.destroy());
  }

  private unhold(): void {
    openOf(this.board).delete(this);
    this.releaseHold?.();
    this.releaseHold = undefined;
    this.forget?.();
    this.forget = undefined;
  }

  /** Starts connecting; false when the socket is busy (the firmware's -1). */
  connect(host: string, port: number): boolean {
    if (this.needClose || this.state !== STATE_OFF_LINE || port < 0 || port > 0xffff) return false;
    this.stream = [];
    this.datagrams = [];
    this.waitTarget = ON_LINE;
    this.hold();
    const route = routeOf(this.board, host, port);
    this.state = isIP(route.host) ? STATE_CONNECTING : STATE_WAIT_DNS;
    void this.resolve(route.host).then((address) => {
      if (this.state !== STATE_WAIT_DNS && this.state !== STATE_CONNECTING) return;
      if (address === undefined) return this.failOpen();
      this.state = STATE_CONNECTING;
      if (this.udp) this.openUdp(address, route.port);
      else this.openTcp(address, route.port, isIP(host) ? undefined : host);
    });
    return true;
  }

  private async resolve(host: string): Promise<string | undefined> {
    if (isIP(host)) return host;
    const lookup = this.board.host.runtime.options.lookup;
    try {
      return lookup ? (await lookup(host)).address : (await dnsLookup(host)).address;
    } catch {
      return undefined;
    }
  }

  private failOpen(): void {
    const event = this.waitTarget || EVENT;
    this.destroy();
    this.finish(FAIL, event);
  }

  /** `name`: the script's host name, which the server's certificate must carry (mbedtls' hostname). */
  private openTcp(address: string, port: number, name: string | undefined): void {
    const options = { host: address, port, localPort: this.localPort || undefined };
    const tls = this.tls;
    const socket = tls
      ? tlsConnect({ ...options, servername: name, rejectUnauthorized: tls.ca !== undefined, ca: tls.ca, cert: tls.cert, key: tls.key, passphrase: tls.passphrase })
      : netConnect(options);
    this.tcp = socket;
    socket.once(tls ? "secureConnect" : "connect", () => {
      this.state = STATE_ONLINE;
      this.finish(OK);
    });
    if (tls) socket.once("connect", () => (this.state = STATE_SHAKEHAND));
    socket.on("data", (chunk: Buffer) => {
      this.stream.push(chunk);
      this.emit(EVENT, OK);
    });
    socket.on("error", () => undefined);
    socket.once("close", () => {
      if (this.tcp !== socket) return;
      this.tcp = undefined;
      if (this.state === STATE_DISCONNECTING) {
        this.state = STATE_OFF_LINE;
        this.unhold();
        this.finish(OK, CLOSED);
      } else if (this.state === STATE_ONLINE) {
        // The server closed or the link broke: the script learns it from a failed event
        // and may still read what arrived before.
        this.needClose = true;
        this.unhold();
        this.finish(FAIL);
      } else {
        this.failOpen();
      }
    });
  }

  private openUdp(address: string, port: number): void {
    const socket = createSocket(isIP(address) === 6 ? "udp6" : "udp4");
    this.dgram = socket;
    this.remote = { address, port };
    socket.on("message", (bytes: Buffer, from) => {
      this.datagrams.push({ bytes, address: from.address, port: from.port });
      this.emit(EVENT, OK);
    });
    socket.on("error", () => {
      if (this.dgram !== socket) return;
      if (this.state === STATE_ONLINE) {
        this.needClose = true;
        this.finish(FAIL);
      } else this.failOpen();
    });
    // A socket talking to loopback, or only listening (udpsrv's broadcast "peer"), is bound to
    // loopback, so a script never opens a port to the network the PC is on.
    const loopbackOnly = address === "255.255.255.255" || address.startsWith("127.") || address === "::1";
    socket.bind({ port: this.localPort, address: loopbackOnly ? (isIP(address) === 6 ? "::1" : "127.0.0.1") : undefined }, () => {
      if (this.dgram !== socket) return;
      this.state = STATE_ONLINE;
      this.finish(OK);
    });
  }

  /** Queues bytes; TX_OK follows once node has handed them to the OS. */
  tx(bytes: Uint8Array, to: { address: string; port: number } | undefined): boolean {
    if (this.needClose || this.state !== STATE_ONLINE) return false;
    this.waitTarget = TX_OK;
    const done = (error?: Error | null) => {
      if (error) this.needClose = true;
      if (this.waitTarget === TX_OK) this.finish(error ? FAIL : OK);
    };
    if (this.tcp) this.tcp.write(bytes, done);
    else if (this.dgram) {
      // The firmware parses the address (ipaddr_aton) and falls back to connect's on failure:
      // a host name here is never looked up.
      const target = to && isIP(to.address) ? to : this.remote;
      if (!target) return false;
      this.dgram.send(bytes, target.port, target.address, done);
    } else return false;
    return true;
  }

  /** Whether rx may read: the firmware lets a closed socket's unread data be read. */
  readable(): boolean {
    if (this.pending > 0 && (this.state === STATE_ONLINE || this.needClose)) return true;
    return this.state === STATE_ONLINE && !this.needClose;
  }

  /** Takes up to `limit` bytes: from the stream (TCP) or the next datagram, whose rest is dropped (UDP). */
  take(limit: number): { bytes: Uint8Array; from: Datagram | undefined } {
    if (this.udp) {
      const datagram = this.datagrams.shift();
      if (!datagram) return { bytes: new Uint8Array(0), from: undefined };
      return { bytes: datagram.bytes.subarray(0, limit), from: datagram };
    }
    const all = Buffer.concat(this.stream);
    const n = Math.min(limit, all.length);
    this.stream = n < all.length ? [all.subarray(n)] : [];
    return { bytes: all.subarray(0, n), from: undefined };
  }

  /** socket.wait: 0 when data is waiting, 1 when EVENT will tell, -1 when the socket is down. */
  wait(): number {
    if (this.pending > 0) {
      this.waitTarget = EVENT;
      return 0;
    }
    if (this.needClose || this.state !== STATE_ONLINE) return -1;
    this.waitTarget = EVENT;
    return 1;
  }

  /** socket.discon: 0 when already closed, 1 when CLOSED will follow (an online TCP link). */
  discon(): number {
    this.needClose = false;
    this.stream = [];
    this.datagrams = [];
    if (this.tcp && this.state === STATE_ONLINE) {
      this.state = STATE_DISCONNECTING;
      this.waitTarget = CLOSED;
      this.tcp.end();
      return 1;
    }
    this.destroy();
    return 0;
  }

  /** socket.close: force-closes without an event. */
  destroy(): void {
    const tcp = this.tcp;
    const dgram = this.dgram;
    this.tcp = undefined;
    this.dgram = undefined;
    tcp?.destroy();
    dgram?.close();
    this.state = STATE_OFF_LINE;
    this.waitTarget = 0;
    this.needClose = false;
    this.unhold();
  }

  stateText(): string {
    return STATE_TEXT[this.state] ?? "未知";
  }
}

/** Where a connection to host:port goes: a --map entry with a tcp:// target moves it. */
function routeOf(board: Board, host: string, port: number): { host: string; port: number } {
  let original: URL;
  try {
    original = new URL(`tcp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`);
  } catch {
    return { host, port };
  }
  const route = board.host.runtime.router.route(original);
  // --broker takes every MQTT connection, not a script's raw sockets.
  if (!route.redirected || route.url.protocol !== "tcp:") return { host, port };
  return { host: route.url.hostname.replace(/^\[|\]$/g, ""), port: defaultPort(route.url) };
}

function ctrlArg(L: LuaState): Ctrl | undefined {
  const ctrl = testUserdata<Ctrl>(L, 1, CTRL);
  return ctrl && !ctrl.released ? ctrl : undefined;
}

/** An IPv4 address given as an integer, first octet in the high byte (as socket.setDNS takes it). */
function addressArg(L: LuaState, arg: number): string {
  if (lua.lua_isinteger(L, arg)) {
    const n = lua.lua_tointeger(L, arg) >>> 0;
    return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
  }
  return Buffer.from(checkBytes(L, arg)).toString("latin1");
}

function pushPair(L: LuaState, a: boolean, b: boolean): number {
  lua.lua_pushboolean(L, a);
  lua.lua_pushboolean(L, b);
  return 2;
}

/** The remote address as rx returns it: 0x00 and the four IPv4 bytes, or 0x01 and sixteen IPv6 bytes. */
function packedAddress(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from([0, ...address.split(".").map(Number)]);
  const out = new Uint8Array(17);
  out[0] = 1;
  const halves = address.split("::");
  const head = (halves[0] ?? "").split(":").filter(Boolean);
  const tail = halves.length > 1 ? (halves[1] ?? "").split(":").filter(Boolean) : [];
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  groups.forEach((group, i) => {
    const v = parseInt(group, 16);
    out[1 + 2 * i] = v >> 8;
    out[2 + 2 * i] = v & 0xff;
  });
  return out;
}

export function createCtrl(L: LuaState, board: Board, adapter: number): number {
  const ctrl = new Ctrl(board, adapter);
  if (lua.lua_type(L, 2) === lua.LUA_TFUNCTION) ctrl.callbackRef = board.ref(L, 2);
  else if (lua.lua_type(L, 2) === lua.LUA_TSTRING || lua.lua_type(L, 2) === lua.LUA_TNUMBER) ctrl.taskName = Uint8Array.from(lua.lua_tolstring(L, 2) as Uint8Array);
  pushUserdata(L, ctrl, CTRL);
  if (ctrl.callbackRef !== undefined) ctrl.selfRef = board.ref(L, -1);
  return 1;
}

/** socket.config(netc, local_port, is_udp, is_tls, keep_idle, keep_interval, keep_cnt, server_cert, client_cert, client_key, client_password). */
const config = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  const optText = (arg: number): Buffer | undefined => (lua.lua_type(L, arg) === lua.LUA_TSTRING ? Buffer.from(checkBytes(L, arg)) : undefined);
  ctrl.localPort = lua.lua_isnoneornil(L, 2) ? 0 : checkInteger(L, 2) & 0xffff;
  ctrl.udp = lua.lua_type(L, 3) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 3);
  const tls = lua.lua_type(L, 4) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 4);
  for (let arg = 5; arg <= 7; arg++) if (!lua.lua_isnoneornil(L, arg)) checkInteger(L, arg);
  const ca = optText(8);
  const cert = optText(9);
  const key = optText(10);
  const passphrase = optText(11)?.toString("latin1");
  // DTLS is not simulated: a UDP socket with is_tls sends in the clear.
  ctrl.tls = tls && !ctrl.udp ? { ca, cert, key, passphrase } : undefined;
  lua.lua_pushboolean(L, true);
  return 1;
};

/** socket.connect(netc, ip, port) → ok, connected: (true, false) then ON_LINE 0 or -1. */
const connect = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  const host = addressArg(L, 2);
  const port = checkInteger(L, 3);
  return pushPair(L, ctrl.connect(host, port & 0xffff), false);
};

/** socket.tx(netc, data, ip, port) → ok, full, done: (true, false, false) then TX_OK. */
const tx = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  const buff = lua.lua_type(L, 2) === lua.LUA_TSTRING || lua.lua_type(L, 2) === lua.LUA_TNUMBER ? undefined : toZbuff(L, 2);
  const bytes = buff ? Uint8Array.from(buff.used()) : checkBytes(L, 2);
  let to: { address: string; port: number } | undefined;
  if (ctrl.udp && !lua.lua_isnoneornil(L, 3) && !lua.lua_isnoneornil(L, 4)) to = { address: addressArg(L, 3), port: checkInteger(L, 4) & 0xffff };
  const ok = ctrl.tx(bytes, to);
  lua.lua_pushboolean(L, ok);
  lua.lua_pushboolean(L, false);
  lua.lua_pushboolean(L, false);
  return 3;
};

function failedRead(L: LuaState): number {
  lua.lua_pushboolean(L, false);
  lua.lua_pushinteger(L, 0);
  return 2;
}

/** socket.rx(netc, zbuff, flag, limit) → ok, len, remote_ip, remote_port (the last two for UDP). */
const rx = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  if (!ctrl.readable()) return failedRead(L);
  const total = ctrl.pending;
  const buff = toZbuff(L, 2);
  if (total === 0 || !buff) {
    lua.lua_pushboolean(L, true);
    lua.lua_pushinteger(L, total);
    return 2;
  }
  const limit = lua.lua_gettop(L) >= 4 && lua.lua_isinteger(L, 4) ? lua.lua_tointeger(L, 4) >>> 0 : total;
  const { bytes, from } = ctrl.take(Math.min(limit, total));
  if (buff.len - buff.cursor < bytes.length) buff.resize(buff.cursor + bytes.length);
  buff.writeAtCursor(bytes);
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, bytes.length);
  if (from) {
    pushBytes(L, packedAddress(from.address));
    lua.lua_pushinteger(L, from.port);
  } else {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
  }
  return 4;
};

/** socket.read(netc, len) → ok, data (and remote_ip, remote_port for UDP). */
const read = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  if (!ctrl.readable()) {
    lua.lua_pushboolean(L, false);
    return 1;
  }
  const total = ctrl.pending;
  const limit = lua.lua_gettop(L) >= 2 && lua.lua_isinteger(L, 2) && lua.lua_tointeger(L, 2) > 0 ? lua.lua_tointeger(L, 2) : total;
  const { bytes, from } = ctrl.take(Math.min(limit, total));
  lua.lua_pushboolean(L, true);
  pushBytes(L, bytes);
  if (!from) return 2;
  pushBytes(L, packedAddress(from.address));
  lua.lua_pushinteger(L, from.port);
  return 4;
};

const wait = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  const result = ctrl.wait();
  return pushPair(L, result >= 0, result === 0);
};

const discon = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  return pushPair(L, true, ctrl.discon() === 0);
};

const close = (L: LuaState): number => {
  ctrlArg(L)?.destroy();
  return 0;
};

const state = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  lua.lua_pushinteger(L, ctrl.state);
  pushText(L, ctrl.stateText());
  return 2;
};

/** socket.release: closes the socket and forgets its callback; the object is dead afterwards. */
const release = (L: LuaState): number => {
  const ctrl = ctrlArg(L);
  if (!ctrl) return 0;
  ctrl.destroy();
  ctrl.released = true;
  const board = boardOf(L);
  if (ctrl.callbackRef !== undefined) board.unref(ctrl.callbackRef);
  if (ctrl.selfRef !== undefined) board.unref(ctrl.selfRef);
  ctrl.callbackRef = undefined;
  ctrl.selfRef = undefined;
  return 0;
};

export const connMethods = { config, connect, tx, rx, read, wait, discon, close, state, release };
