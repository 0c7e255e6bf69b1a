// LuatOS `wlan`. On a Wi-Fi board (boards.ts) wlan.connect joins one of the networks the
// device file lists (any network when it lists none): after wifi.connectDelayMs sys gets
// WLAN_STA_INC ("CONNECTED", ssid, bssid), and as long again later IP_READY (ip,
// socket.LWIP_STA). A cellular board's build has a wlan that only scans (Wi-Fi positioning:
// init, scan, scanResult), which is why the vendor's scripts test `wlan and wlan.connect`. A wrong SSID or password gives WLAN_STA_INC
// ("DISCONNECTED", reason) instead and, as the firmware always reconnects, a retry later.
import { createHash } from "node:crypto";
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import type { WifiNetwork } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";
import { publishSys } from "./sysbus.js";
import { LWIP_AP, LWIP_STA, addressOf, deviceOf, isWifiBoard, networkOf } from "./socket.js";
import { boardSpecOf } from "./boards.js";

const NONE = 0;
const STATION = 1;
const AP = 2;
const STATIONAP = 3;
const MODE_MAX = 4;

/** Per step (associated, then an address): IP_READY comes about 1 s after wlan.connect. */
const DEFAULT_CONNECT_DELAY_MS = 500;
const RETRY_FACTOR = 10;
const SCAN_DELAY_MS = 200;
/** The NodeMCU flavor's default chip id, so one --device file gives one MAC in both flavors. */
const DEFAULT_CHIP_ID = 0x00c0ffee;
const DEFAULT_RSSI = -60;
const DEFAULT_CHANNEL = 6;
const AP_GATEWAY = "192.168.4.1";
const AP_NETMASK = "255.255.255.0";

// ESP-IDF's wifi_err_reason_t values that WLAN_STA_INC "DISCONNECTED" carries.
const REASON_ASSOC_LEAVE = 8;
const REASON_HANDSHAKE_TIMEOUT = 15;
const REASON_NO_AP_FOUND = 201;

interface Joined {
  ssid: Uint8Array;
  bssid: Uint8Array;
  rssi: number;
  channel: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** A made-up BSSID for a network the device file gives none for, stable per SSID. */
function bssidFor(ssid: Uint8Array): Uint8Array {
  const hash = createHash("sha256").update(ssid).digest();
  return Uint8Array.from([0xc8, 0x3a, 0x35, hash[0] as number, hash[1] as number, hash[2] as number]);
}

function parseMac(text: string): Uint8Array | undefined {
  const hex = text.replace(/[^0-9a-f]/gi, "");
  return hex.length === 12 ? Uint8Array.from(Buffer.from(hex, "hex")) : undefined;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").toUpperCase();
}

class Wlan {
  mode = STATION;
  initialized = false;
  joined: Joined | undefined;
  ready = false;
  ssid = new Uint8Array();
  pwd = new Uint8Array();
  mac: Uint8Array;
  apMac: Uint8Array;
  hostname: string;
  powerSave = 0;
  scanned: Joined[] = [];
  private generation = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private release: (() => void) | undefined;

  constructor(readonly board: Board) {
    const device = deviceOf(board);
    const chip = device.chipId ?? DEFAULT_CHIP_ID;
    this.mac = (device.mac && parseMac(device.mac)) || Uint8Array.from([0x5c, 0xcf, 0x7f, (chip >> 16) & 0xff, (chip >> 8) & 0xff, chip & 0xff]);
    this.apMac = Uint8Array.from(this.mac);
    this.apMac[5] = ((this.apMac[5] as number) + 1) & 0xff;
    this.hostname = `LUATOS_${hexOf(this.mac)}`;
    board.own(() => this.cancel());
  }

  get delay(): number {
    return Math.max(0, deviceOf(this.board).wifi?.connectDelayMs ?? DEFAULT_CONNECT_DELAY_MS);
  }

  /** The networks around: the device file's list, else just the one the script asked for. */
  networks(): Joined[] {
    const listed: WifiNetwork[] | undefined = deviceOf(this.board).wifi?.networks;
    if (listed && listed.length > 0) {
      return listed.map((n) => {
        const ssid = new TextEncoder().encode(n.ssid);
        return { ssid, bssid: (n.bssid && parseMac(n.bssid)) || bssidFor(ssid), rssi: n.rssi ?? DEFAULT_RSSI, channel: n.channel ?? DEFAULT_CHANNEL };
      });
    }
    if (this.ssid.length === 0) return [];
    return [{ ssid: this.ssid, bssid: bssidFor(this.ssid), rssi: DEFAULT_RSSI, channel: DEFAULT_CHANNEL }];
  }

  private outcome(): Joined | number {
    const listed = deviceOf(this.board).wifi?.networks;
    if (!listed || listed.length === 0) return { ssid: this.ssid, bssid: bssidFor(this.ssid), rssi: DEFAULT_RSSI, channel: DEFAULT_CHANNEL };
    const index = listed.findIndex((n) => equalBytes(new TextEncoder().encode(n.ssid), this.ssid));
    const entry = listed[index];
    if (!entry) return REASON_NO_AP_FOUND;
    if (entry.pwd !== undefined && !equalBytes(new TextEncoder().encode(entry.pwd), this.pwd)) return REASON_HANDSHAKE_TIMEOUT;
    return this.networks()[index] as Joined;
  }

  private later(delayMs: number, job: () => void, keepAlive: boolean): void {
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (generation === this.generation && !this.board.disposed) job();
    }, delayMs);
    if (!keepAlive) timer.unref();
    this.timers.add(timer);
  }

  cancel(): void {
    this.generation++;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.release?.();
    this.release = undefined;
  }

  connect(): void {
    this.leave(false);
    this.cancel();
    this.release = this.board.hold();
    this.attempt(true);
  }

  private attempt(keepAlive: boolean): void {
    const result = this.outcome();
    this.later(this.delay, () => {
      if (typeof result === "number") {
        this.release?.();
        this.release = undefined;
        publishSys(this.board, "WLAN_STA_INC", "DISCONNECTED", result);
        this.later(this.delay * RETRY_FACTOR + 1000, () => this.attempt(false), false);
        return;
      }
      this.joined = result;
      publishSys(this.board, "WLAN_STA_INC", "CONNECTED", result.ssid, result.bssid);
      this.later(this.delay, () => {
        this.ready = true;
        this.release?.();
        this.release = undefined;
        const info = addressOf(this.board, LWIP_STA);
        networkOf(this.board).setUp(LWIP_STA, info);
        publishSys(this.board, "IP_READY", info.ip, LWIP_STA);
      }, keepAlive);
    }, keepAlive);
  }

  /** Leaves the network; `notify` publishes the disconnect as the firmware does. */
  leave(notify: boolean): void {
    const wasJoined = this.joined !== undefined;
    const wasReady = this.ready;
    this.cancel();
    this.joined = undefined;
    this.ready = false;
    networkOf(this.board).setDown(LWIP_STA);
    if (!notify) return;
    if (wasJoined) publishSys(this.board, "WLAN_STA_INC", "DISCONNECTED", REASON_ASSOC_LEAVE);
    if (wasReady) publishSys(this.board, "IP_LOSE", LWIP_STA);
  }

  scan(): void {
    const release = this.board.hold();
    const handle = setTimeout(() => {
      forget();
      release();
      this.scanned = this.networks();
      publishSys(this.board, "WLAN_SCAN_DONE");
    }, SCAN_DELAY_MS);
    const forget = this.board.own(() => clearTimeout(handle));
  }
}

const wlanOf = perBoard((board): Wlan => new Wlan(board));

function pushOk(L: LuaState, ok: boolean): number {
  lua.lua_pushboolean(L, ok);
  return 1;
}

const init = (L: LuaState): number => {
  wlanOf(boardOf(L)).initialized = true;
  return pushOk(L, true);
};

/** wlan.setMode(mode) / wlan.mode(mode); an out-of-range mode means STATION, as on the firmware. */
const setMode = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  let mode = STATION;
  if (lua.lua_isinteger(L, 1)) mode = lua.lua_tointeger(L, 1);
  else if (lua.lua_isinteger(L, 2)) mode = lua.lua_tointeger(L, 2);
  if (mode <= NONE || mode >= MODE_MAX) mode = STATION;
  wlan.mode = mode;
  if (mode === AP) wlan.leave(true);
  return pushOk(L, true);
};

const ready = (L: LuaState): number => pushOk(L, wlanOf(boardOf(L)).ready);

/** wlan.connect([ssid[, pwd[, auto[, bssid]]]]); no SSID reuses the last one. */
const connect = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  if (!lua.lua_isnoneornil(L, 1)) {
    wlan.ssid = Uint8Array.from(checkBytes(L, 1));
    wlan.pwd = lua.lua_isnoneornil(L, 2) ? new Uint8Array() : Uint8Array.from(checkBytes(L, 2));
  }
  if (wlan.ssid.length === 0) return pushOk(L, false);
  wlan.connect();
  return pushOk(L, true);
};

const disconnect = (L: LuaState): number => {
  wlanOf(boardOf(L)).leave(true);
  return 0;
};

const scan = (L: LuaState): number => {
  wlanOf(boardOf(L)).scan();
  return 0;
};

function setInt(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

function setBytes(L: LuaState, key: string, value: Uint8Array): void {
  pushBytes(L, value);
  lua.lua_setfield(L, -2, key);
}

/** wlan.scanResult([limit]) → {{ssid, bssid (6 bytes), channel, rssi}, ...} of the last scan. */
const scanResult = (L: LuaState): number => {
  const limit = Math.min(32, Math.max(8, optInteger(L, 1, 20)));
  const results = wlanOf(boardOf(L)).scanned.slice(0, limit);
  lua.lua_createtable(L, results.length, 0);
  results.forEach((network, i) => {
    lua.lua_createtable(L, 0, 4);
    setBytes(L, "ssid", network.ssid);
    setBytes(L, "bssid", network.bssid);
    setInt(L, "channel", network.channel);
    setInt(L, "rssi", network.rssi);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

/** wlan.getMac([tp[, hexstr]]): "AABBCCDDEEFF", or the 6 raw bytes when hexstr is false. */
const getMac = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  const mac = optInteger(L, 1, 0) === 1 ? wlan.apMac : wlan.mac;
  if (lua.lua_type(L, 2) === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, 2)) pushBytes(L, mac);
  else pushText(L, hexOf(mac));
  return 1;
};

const setMac = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  const mac = checkBytes(L, 2);
  if (mac.length !== 6) return pushOk(L, false);
  if (optInteger(L, 1, 0) === 1) wlan.apMac = Uint8Array.from(mac);
  else wlan.mac = Uint8Array.from(mac);
  return pushOk(L, true);
};

const getIP = (L: LuaState): number => {
  const board = boardOf(L);
  pushText(L, networkOf(board).info(LWIP_STA)?.ip ?? "0.0.0.0");
  return 1;
};

/** wlan.getInfo() → {bssid (hex), rssi, gw} of the access point joined. */
const getInfo = (L: LuaState): number => {
  const board = boardOf(L);
  const joined = wlanOf(board).joined;
  lua.lua_createtable(L, 0, 3);
  pushText(L, joined ? hexOf(joined.bssid) : "000000000000");
  lua.lua_setfield(L, -2, "bssid");
  pushText(L, networkOf(board).info(LWIP_STA)?.gateway ?? "0.0.0.0");
  lua.lua_setfield(L, -2, "gw");
  setInt(L, "rssi", joined?.rssi ?? 0);
  return 1;
};

const powerSave = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  if (lua.lua_isinteger(L, 1)) wlan.powerSave = lua.lua_tointeger(L, 1);
  lua.lua_pushinteger(L, wlan.powerSave);
  return 1;
};

const hostname = (L: LuaState): number => {
  const wlan = wlanOf(boardOf(L));
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    const name = new TextDecoder().decode(checkBytes(L, 1));
    if (name.length > 31) return 0;
    if (name.length > 0) wlan.hostname = name;
  }
  pushText(L, wlan.hostname);
  return 1;
};

/** wlan.createAP(ssid[, pwd[, gateway[, netmask[, channel[, opts]]]]]): the AP comes up at once. */
const createAP = (L: LuaState): number => {
  const board = boardOf(L);
  const wlan = wlanOf(board);
  const ssid = checkBytes(L, 1);
  if (ssid.length < 1 || ssid.length > 32) return 0;
  if (wlan.mode === STATION) wlan.mode = STATIONAP;
  const gateway = lua.lua_type(L, 3) === lua.LUA_TSTRING ? new TextDecoder().decode(checkBytes(L, 3)) : AP_GATEWAY;
  const netmask = lua.lua_type(L, 4) === lua.LUA_TSTRING ? new TextDecoder().decode(checkBytes(L, 4)) : AP_NETMASK;
  networkOf(board).setUp(LWIP_AP, { ip: gateway, netmask, gateway });
  return pushOk(L, true);
};

const stopAP = (L: LuaState): number => {
  networkOf(boardOf(L)).setDown(LWIP_AP);
  return pushOk(L, true);
};

/** Smart config never receives credentials here: it starts (true) and waits for nothing. */
const smartconfig = (L: LuaState): number => pushOk(L, true);

const staIp = (L: LuaState): number => pushOk(L, true);

/** The station MAC as hmeta.devid gives it on a Wi-Fi board: 12 hex digits. */
export function staMacOf(board: Board): string {
  return hexOf(wlanOf(board).mac);
}

export const wlanScanOnly = defineModule("wlan", {
  available: (board) => boardSpecOf(board).wlan === "scan",
  functions: { init, scan, scanResult },
});

export const wlan = defineModule("wlan", {
  available: (board) => isWifiBoard(board),
  functions: {
    init, setMode, mode: setMode, ready, connect, disconnect, scan, scanResult, getMac, setMac,
    getIP, getInfo, powerSave, hostname, createAP, stopAP, smartconfig, staIp,
  },
  constants: {
    NONE, STATION, AP, STATIONAP,
    STOP: 0, ESPTOUCH: 1, AIRKISS: 2, ESPTOUCH_AIRKISS: 3, ESPTOUCH_V2: 4,
    PS_NONE: 0, PS_MIN_MODEM: 1, PS_MAX_MODEM: 2,
  },
});
