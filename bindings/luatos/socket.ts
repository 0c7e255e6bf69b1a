// LuatOS `socket`: the network adapters (which one is up, its address, the default one),
// DNS settings and SNTP. The board's network state lives here; wlan, mobile and netdrv
// change it. The connection objects (socket.create/connect/tx/rx ...) are real TCP and UDP
// sockets: socket-conn.ts.
import { lua, pushText, testUserdata, type LuaState } from "../../engine/lua.js";
import { CLOSED, CTRL, Ctrl, connMethods, createCtrl, disconnectAll, EVENT, LINK, ON_LINE, TX_OK } from "./socket-conn.js";
import { checkBytes, checkInteger, optInteger } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { cutAllClients } from "./mqtt.js";
import type { DeviceConfig } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";
import { publishSys } from "./sysbus.js";
import { DEFAULT_IP, publishSystemMessage, whenSysLoaded } from "./rtos.js";
import { boardSpecOf } from "./boards.js";

// The firmware's adapter indexes (luat_network_adapter.h since the LWIP_USERn adapters
// were added in 2025; earlier builds numbered ETH0 5 and USB 6).
export const LWIP_GP = 1;
export const LWIP_STA = 2;
export const LWIP_AP = 3;
export const LWIP_ETH = 4;
export const LWIP_SPI = 5;
export const LWIP_UART = 6;
const LWIP_USER0 = 7;
export const ETH0 = 15;
export const USB = 16;
/** The Air8101/Air1601 airlink 4G gateway adapter: its index is not published; any unused one will do. */
const LWIP_GP_GW = 20;
const ADAPTER_COUNT = 21;

/** How long a cellular module takes from boot (or leaving flight mode) to an IP address. */
const DEFAULT_NET_DELAY_MS = 2000;
/** How long after socket.sntp() NTP_UPDATE arrives: the host clock is already right. */
const SNTP_DELAY_MS = 50;
const NTP_EPOCH_OFFSET_S = 2208988800;
const DEFAULT_SNTP_PORT = 123;
const CELLULAR_NETMASK = "255.255.255.255";
const CELLULAR_GATEWAY = "0.0.0.0";
const WIFI_NETMASK = "255.255.255.0";
const WIFI_GATEWAY = "192.168.1.1";
const NO_ADDRESS = "0.0.0.0";
const DEFAULT_DNS = ["223.5.5.5", "114.114.114.114"];

export interface IpInfo {
  ip: string;
  netmask: string;
  gateway: string;
}

export function deviceOf(board: Board): DeviceConfig {
  return board.host.runtime.options.device ?? {};
}

/** A board whose wlan joins networks (not just a cellular board's scan-only one). */
export function isWifiBoard(board: Board): boolean {
  return boardSpecOf(board).wlan === "station";
}

export function hasCellular(board: Board): boolean {
  return boardSpecOf(board).cellular;
}

export function netDelayOf(board: Board): number {
  return Math.max(0, deviceOf(board).netDelayMs ?? DEFAULT_NET_DELAY_MS);
}

/** The address the device's network hands out (--device ip/netmask/gateway, else defaults). */
export function addressOf(board: Board, adapter: number): IpInfo {
  const d = deviceOf(board);
  const cellular = adapter === LWIP_GP;
  return {
    ip: d.ip ?? DEFAULT_IP,
    netmask: d.netmask ?? (cellular ? CELLULAR_NETMASK : WIFI_NETMASK),
    gateway: d.gateway ?? (cellular ? CELLULAR_GATEWAY : WIFI_GATEWAY),
  };
}

/** Where the cellular link is: none on the board, registering, registered, or off (flight mode). */
export type CellularState = "none" | "searching" | "registered" | "off";

interface Registration {
  readonly forget: () => void;
  readonly handle: NodeJS.Timeout;
  release?: () => void;
}

/** Which adapters this board has, which are up, and with what address. */
export class Network {
  defaultAdapter: number;
  readonly lastRegistered: number;
  readonly registered: ReadonlySet<number>;
  private readonly up = new Map<number, IpInfo>();
  readonly dns = new Map<number, string[]>();
  sntpPort = DEFAULT_SNTP_PORT;
  /** When the last sntp() completed (ms since the epoch), for socket.ntptm. */
  syncedAt: number | undefined;
  cellular: CellularState;
  private registration: Registration | undefined;

  constructor(readonly board: Board) {
    // The firmware's defaults (luat_lib_socket.c): an Air780 registers LWIP_GP only; an
    // Air8000 defaults to LWIP_GP and registers LWIP_AP last; an Air8101 has LWIP_STA for both.
    const spec = boardSpecOf(board);
    const wifi = spec.wlan === "station";
    const adapters = new Set<number>();
    if (spec.cellular) adapters.add(LWIP_GP);
    if (wifi) [LWIP_STA, LWIP_AP].forEach((id) => adapters.add(id));
    this.registered = adapters;
    this.defaultAdapter = spec.cellular ? LWIP_GP : LWIP_STA;
    this.lastRegistered = wifi ? (spec.cellular ? LWIP_AP : LWIP_STA) : LWIP_GP;
    this.cellular = spec.cellular ? "searching" : "none";
    board.own(() => this.cancelRegistration());
  }

  /**
   * The cellular link registers after `delayMs` (0: it already has when the script starts)
   * and publishes IP_READY (and the older IP_READY_IND) with its address. Until then a
   * script that has loaded sys stays alive for it, as its subscribers wait on the board.
   */
  register(delayMs: number): void {
    this.cancelRegistration();
    this.cellular = "searching";
    if (delayMs === 0) return this.linkRegistered();
    const board = this.board;
    const handle = setTimeout(() => {
      registration.forget();
      registration.release?.();
      this.registration = undefined;
      this.linkRegistered();
    }, delayMs);
    const registration: Registration = { handle, forget: board.own(() => clearTimeout(handle)) };
    this.registration = registration;
    whenSysLoaded(board, () => {
      if (this.registration === registration && !registration.release) registration.release = board.hold();
    });
  }

  private linkRegistered(): void {
    this.cellular = "registered";
    const info = addressOf(this.board, LWIP_GP);
    this.setUp(LWIP_GP, info);
    const pushReady = (L: LuaState): number => {
      pushText(L, info.ip);
      lua.lua_pushinteger(L, LWIP_GP);
      return 2;
    };
    publishSystemMessage(this.board, "IP_READY", pushReady);
    publishSystemMessage(this.board, "IP_READY_IND", pushReady);
  }

  /** Flight mode: the link goes (IP_LOSE when it had an address); a pending registration stops. */
  switchOff(): void {
    const wasUp = this.isUp(LWIP_GP);
    this.cancelRegistration();
    this.cellular = "off";
    this.setDown(LWIP_GP);
    if (wasUp) publishSys(this.board, "IP_LOSE", LWIP_GP);
  }

  private cancelRegistration(): void {
    const registration = this.registration;
    if (!registration) return;
    this.registration = undefined;
    clearTimeout(registration.handle);
    registration.forget();
    registration.release?.();
  }

  isUp(adapter: number): boolean {
    return this.up.has(adapter);
  }

  info(adapter: number): IpInfo | undefined {
    return this.up.get(adapter);
  }

  setUp(adapter: number, info: IpInfo): void {
    this.up.set(adapter, info);
  }

  setDown(adapter: number): void {
    this.up.delete(adapter);
  }

  /** The first adapter that is up, scanning as the firmware does (by index). */
  firstUp(): number | undefined {
    for (let i = 0; i < ADAPTER_COUNT; i++) if (this.up.has(i)) return i;
    return undefined;
  }
}

export const networkOf = perBoard((board): Network => new Network(board));

/** At boot: a cellular board starts registering. */
export function startNetwork(board: Board): void {
  if (hasCellular(board)) networkOf(board).register(netDelayOf(board));
}

function adapterArg(L: LuaState, arg: number, network: Network): number {
  return lua.lua_isnoneornil(L, arg) ? network.defaultAdapter : checkInteger(L, arg);
}

// ---- adapters ----

/** socket.adapter([index]) → ready, index. Without an index: the first adapter that is up. */
const adapter = (L: LuaState): number => {
  const network = networkOf(boardOf(L));
  if (lua.lua_isnoneornil(L, 1)) {
    const first = network.firstUp();
    lua.lua_pushboolean(L, first !== undefined);
    lua.lua_pushinteger(L, first ?? network.defaultAdapter);
    return 2;
  }
  const index = checkInteger(L, 1);
  lua.lua_pushboolean(L, network.isUp(index));
  lua.lua_pushinteger(L, index);
  return 2;
};

/** socket.dft([id]) → the default adapter and the last one registered. */
const dft = (L: LuaState): number => {
  const network = networkOf(boardOf(L));
  if (lua.lua_isinteger(L, 1)) {
    const id = lua.lua_tointeger(L, 1);
    if (id >= 0 && id < ADAPTER_COUNT) network.defaultAdapter = id;
  }
  lua.lua_pushinteger(L, network.defaultAdapter);
  lua.lua_pushinteger(L, network.lastRegistered);
  return 2;
};

/** socket.localIP([adapter]) → ip, netmask, gateway, ipv6 (nil); nothing for an adapter the board lacks. */
const localIP = (L: LuaState): number => {
  const network = networkOf(boardOf(L));
  const index = adapterArg(L, 1, network);
  if (index < 0 || index >= ADAPTER_COUNT || !network.registered.has(index)) return 0;
  const info = network.info(index) ?? { ip: NO_ADDRESS, netmask: NO_ADDRESS, gateway: NO_ADDRESS };
  pushText(L, info.ip);
  pushText(L, info.netmask);
  pushText(L, info.gateway);
  lua.lua_pushnil(L);
  return 4;
};

const setDNS = (L: LuaState): number => {
  const network = networkOf(boardOf(L));
  const index = adapterArg(L, 1, network);
  if (index < 0 || index >= ADAPTER_COUNT) {
    lua.lua_pushboolean(L, false);
    return 1;
  }
  const slot = optInteger(L, 2, 1);
  let server: string;
  if (lua.lua_isinteger(L, 3)) {
    // An IPv4 address as a big-endian integer.
    const n = lua.lua_tointeger(L, 3) >>> 0;
    server = [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
  } else {
    server = new TextDecoder().decode(checkBytes(L, 3));
  }
  const list = network.dns.get(index) ?? [...DEFAULT_DNS];
  list[Math.max(0, slot - 1)] = server;
  network.dns.set(index, list);
  lua.lua_pushboolean(L, true);
  return 1;
};

// ---- time ----

/**
 * socket.sntp([server[, adapter]]): the host clock is already right, so NTP_UPDATE follows
 * promptly; NTP_ERROR instead when the adapter has no network yet.
 */
const sntp = (L: LuaState): number => {
  const board = boardOf(L);
  const network = networkOf(board);
  const index = adapterArg(L, 2, network);
  const online = network.isUp(index);
  const release = board.hold();
  const handle = setTimeout(() => {
    forget();
    release();
    if (online) network.syncedAt = Date.now();
    publishSys(board, online ? "NTP_UPDATE" : "NTP_ERROR");
  }, SNTP_DELAY_MS);
  const forget = board.own(() => clearTimeout(handle));
  return 0;
};

/** fengari's integers are 32-bit: larger values (seconds since 1900) become floats. */
function setIntField(L: LuaState, key: string, value: number): void {
  if (value >= -0x80000000 && value <= 0x7fffffff) lua.lua_pushinteger(L, value);
  else lua.lua_pushnumber(L, value);
  lua.lua_setfield(L, -2, key);
}

/** socket.ntptm(): the NTP time as {tsec (since 1900), tms, vaild, ...}, valid after an sntp(). */
const ntptm = (L: LuaState): number => {
  const board = boardOf(L);
  const network = networkOf(board);
  const now = Date.now();
  const bootMs = now - Number(board.microsSinceBoot() / 1000n);
  lua.lua_createtable(L, 0, 9);
  setIntField(L, "tsec", Math.floor(now / 1000) + NTP_EPOCH_OFFSET_S);
  setIntField(L, "tms", now % 1000);
  if (network.syncedAt !== undefined) {
    lua.lua_pushboolean(L, true);
    lua.lua_setfield(L, -2, "vaild");
  }
  setIntField(L, "ndelay", 0);
  setIntField(L, "ssec", Math.floor(bootMs / 1000) + NTP_EPOCH_OFFSET_S);
  setIntField(L, "sms", bootMs % 1000);
  const sinceBoot = now - bootMs;
  setIntField(L, "lsec", Math.floor(sinceBoot / 1000));
  setIntField(L, "lms", sinceBoot % 1000);
  return 1;
};

const sntpPort = (L: LuaState): number => {
  const network = networkOf(boardOf(L));
  if (lua.lua_isinteger(L, 1)) {
    const port = lua.lua_tointeger(L, 1);
    if (port > 0 && port < 65536) network.sntpPort = port;
  }
  lua.lua_pushinteger(L, network.sntpPort);
  return 1;
};

// ---- connections (socket-conn.ts) ----

const create = (L: LuaState): number => {
  const board = boardOf(L);
  const network = networkOf(board);
  const index = adapterArg(L, 1, network);
  if (index < 0 || index >= ADAPTER_COUNT) {
    lua.lua_pushnil(L);
    return 1;
  }
  return createCtrl(L, board, index);
};

const linkup = (L: LuaState): number => {
  const ctrl = testUserdata<Ctrl>(L, 1, CTRL);
  if (!ctrl || ctrl.released) return 0;
  lua.lua_pushboolean(L, true);
  lua.lua_pushboolean(L, networkOf(boardOf(L)).isUp(ctrl.adapter));
  return 2;
};

/** Server sockets are not simulated: (false, false), "close the socket". */
const failPair = (L: LuaState): number => {
  lua.lua_pushboolean(L, false);
  lua.lua_pushboolean(L, false);
  return 2;
};

const nothing = (): number => 0;

/** socket.close_all(adapter): false without a valid adapter number; cuts the MQTT links and disconnects the adapter's sockets. */
const closeAll = (L: LuaState): number => {
  const valid = lua.lua_type(L, 1) === lua.LUA_TNUMBER && (checkInteger(L, 1) & 0xff) < ADAPTER_COUNT;
  if (valid) {
    cutAllClients(boardOf(L));
    disconnectAll(boardOf(L), checkInteger(L, 1) & 0xff);
  }
  lua.lua_pushboolean(L, valid);
  return 1;
};

const ctrlMethods = { ...connMethods, linkup, listen: failPair, accept: failPair, debug: nothing, remoteIP: nothing };

export const socket = defineModule("socket", {
  functions: {
    adapter, dft, localIP, setDNS, sntp, ntptm, sntp_port: sntpPort, sslLog: nothing,
    create, close_all: closeAll, ...ctrlMethods,
  },
  constants: {
    ETH0, LWIP_ETH, LWIP_STA, LWIP_AP, LWIP_GP, USB, LWIP_SPI, LWIP_UART, LWIP_GP_GW,
    ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`LWIP_USER${i}`, LWIP_USER0 + i])),
    LINK, ON_LINE, EVENT, TX_OK, CLOSED,
  },
  metatables: { [CTRL]: { methods: ctrlMethods } },
});
