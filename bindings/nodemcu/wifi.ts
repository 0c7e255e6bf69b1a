// NodeMCU `wifi` (ESP8266): a simulated station that joins whatever network the script
// configures, or what the device file lists. Joining takes two steps, each
// `connectDelayMs` (default 300 ms) apart, as on the device: associated (STA_CONNECTED),
// then an address from DHCP (STA_GOT_IP). A network the device file does not list is not
// found (reason 201), a wrong password fails the handshake (reason 15), and the station
// keeps retrying like the SDK does. While the first attempt is under way it keeps the
// script alive; retries do not.
import { lua, pushBytes, pushText, textOf, bytesOf, type LuaState } from "../../runtime/lua.js";
import { argError, checkBytes, checkInteger, checkNumber, raise, typeError } from "../../runtime/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { DeviceConfig, WifiNetwork } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";

const NULLMODE = 0;
const STATION = 1;
const SOFTAP = 2;
const STATIONAP = 3;

const STA_IDLE = 0;
const STA_CONNECTING = 1;
const STA_WRONGPWD = 2;
const STA_APNOTFOUND = 3;
const STA_FAIL = 4;
const STA_GOTIP = 5;

const EVENTS = {
  STA_CONNECTED: 0,
  STA_DISCONNECTED: 1,
  STA_AUTHMODE_CHANGE: 2,
  STA_GOT_IP: 3,
  STA_DHCP_TIMEOUT: 4,
  AP_STACONNECTED: 5,
  AP_STADISCONNECTED: 6,
  AP_PROBEREQRECVED: 7,
  WIFI_MODE_CHANGED: 8,
  EVENT_MAX: 10,
} as const;

const REASONS: Record<string, number> = {
  UNSPECIFIED: 1, AUTH_EXPIRE: 2, AUTH_LEAVE: 3, ASSOC_EXPIRE: 4, ASSOC_TOOMANY: 5, NOT_AUTHED: 6, NOT_ASSOCED: 7,
  ASSOC_LEAVE: 8, ASSOC_NOT_AUTHED: 9, DISASSOC_PWRCAP_BAD: 10, DISASSOC_SUPCHAN_BAD: 11, IE_INVALID: 13,
  MIC_FAILURE: 14, "4WAY_HANDSHAKE_TIMEOUT": 15, GROUP_KEY_UPDATE_TIMEOUT: 16, IE_IN_4WAY_DIFFERS: 17,
  GROUP_CIPHER_INVALID: 18, PAIRWISE_CIPHER_INVALID: 19, AKMP_INVALID: 20, UNSUPP_RSN_IE_VERSION: 21,
  INVALID_RSN_IE_CAP: 22, "802_1X_AUTH_FAILED": 23, CIPHER_SUITE_REJECTED: 24, BEACON_TIMEOUT: 200,
  NO_AP_FOUND: 201, AUTH_FAIL: 202, ASSOC_FAIL: 203, HANDSHAKE_TIMEOUT: 204,
};
const REASON_ASSOC_LEAVE = 8;
const REASON_HANDSHAKE = 15;
const REASON_NO_AP_FOUND = 201;

const AUTH_OPEN = 0;
const AUTH_WPA2_PSK = 3;
const AUTH_WPA_WPA2_PSK = 4;

const DEFAULT_CONNECT_DELAY_MS = 300;
/** The SDK tries again a few seconds after a failed attempt. */
const RETRY_FACTOR = 10;
const DEFAULT_IP = "192.168.1.100";
const DEFAULT_NETMASK = "255.255.255.0";
const DEFAULT_GATEWAY = "192.168.1.1";
const AP_IP = "192.168.4.1";
const DEFAULT_CHIP_ID = 0x00c0ffee;
const NO_BSSID = "00:00:00:00:00:00";
const INVALID_MAC = "MAC:FF:FF:FF:FF:FF:FF";

interface StationConfig {
  ssid: Uint8Array;
  pwd: Uint8Array;
  bssid: string | undefined;
}

interface IpInfo {
  ip: string;
  netmask: string;
  gateway: string;
}

interface Network {
  ssid: Uint8Array;
  bssid: string;
  channel: number;
  rssi: number;
  secured: boolean;
}

/** What the device keeps in flash across reboots of one runtime. */
interface Saved {
  mode: number;
  config: StationConfig | undefined;
  autoconnect: boolean;
}

const savedByRuntime = new WeakMap<Runtime, Saved>();

function savedOf(runtime: Runtime): Saved {
  let saved = savedByRuntime.get(runtime);
  if (!saved) {
    // The simulated device starts as a station, so scripts that rely on a mode saved
    // on the real board (and never call setmode) still join their network.
    saved = { mode: STATION, config: undefined, autoconnect: true };
    savedByRuntime.set(runtime, saved);
  }
  return saved;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

/** A stable made-up BSSID for a network the device file gives none for. */
function bssidFor(ssid: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const b of ssid) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return `c8:3a:35:${hex2(hash >> 16)}:${hex2(hash >> 8)}:${hex2(hash)}`;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => ((acc << 8) | (Number(part) & 0xff)) >>> 0, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
}

function broadcastOf(info: IpInfo): string {
  const ip = ipToInt(info.ip);
  const mask = ipToInt(info.netmask);
  return intToIp(((ip & mask) | ~mask) >>> 0);
}

class Wifi {
  mode: number;
  config: StationConfig | undefined;
  autoconnect: boolean;
  status = STA_IDLE;
  hostname: string;
  staMac: string;
  apMac: string;
  staticIp: IpInfo | undefined;
  apIp: IpInfo = { ip: AP_IP, netmask: DEFAULT_NETMASK, gateway: AP_IP };
  apConfig: { ssid: Uint8Array; pwd: Uint8Array | undefined; auth: number; channel: number; hidden: boolean; max: number; beacon: number };
  /** The access point the station is associated with, and whether DHCP has answered. */
  network: Network | undefined;
  gotIp = false;
  phymode = 3;
  readonly eventRefs = new Map<number, number>();
  readonly statusRefs = new Map<number, number>();
  monitoring = false;
  private generation = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private release: (() => void) | undefined;

  constructor(readonly board: Board) {
    const saved = savedOf(board.host.runtime);
    this.mode = saved.mode;
    this.config = saved.config;
    this.autoconnect = saved.autoconnect;
    const device = this.device;
    const chip = device.chipId ?? DEFAULT_CHIP_ID;
    this.staMac = (device.mac ?? `5c:cf:7f:${hex2(chip >> 16)}:${hex2(chip >> 8)}:${hex2(chip)}`).toLowerCase();
    const first = Number.parseInt(this.staMac.slice(0, 2), 16);
    this.apMac = `${hex2(first | 0x02)}${this.staMac.slice(2)}`;
    const tail = this.staMac.split(":").slice(3).map((part) => Number.parseInt(part, 16).toString(16).toUpperCase());
    this.hostname = `NODE-${tail.join("")}`;
    this.apConfig = { ssid: bytesOf(`ESP_${this.apMac.split(":").slice(3).join("").toUpperCase()}`), pwd: undefined, auth: AUTH_OPEN, channel: 1, hidden: false, max: 4, beacon: 100 };
    board.own(() => this.cancel());
  }

  get device(): DeviceConfig {
    return this.board.host.runtime.options.device ?? {};
  }

  get saved(): Saved {
    return savedOf(this.board.host.runtime);
  }

  get delay(): number {
    return Math.max(0, this.device.wifi?.connectDelayMs ?? DEFAULT_CONNECT_DELAY_MS);
  }

  get stationEnabled(): boolean {
    return this.mode === STATION || this.mode === STATIONAP;
  }

  get ipInfo(): IpInfo | undefined {
    if (this.staticIp) return this.staticIp;
    if (!this.gotIp) return undefined;
    const d = this.device;
    return { ip: d.ip ?? DEFAULT_IP, netmask: d.netmask ?? DEFAULT_NETMASK, gateway: d.gateway ?? DEFAULT_GATEWAY };
  }

  /** The networks around: the device file's list, else just the one the script configured. */
  networks(): Network[] {
    const listed: WifiNetwork[] | undefined = this.device.wifi?.networks;
    if (listed && listed.length > 0) {
      return listed.map((n) => {
        const ssid = bytesOf(n.ssid);
        return { ssid, bssid: (n.bssid ?? bssidFor(ssid)).toLowerCase(), channel: n.channel ?? 6, rssi: n.rssi ?? -60, secured: (n.pwd ?? "") !== "" };
      });
    }
    if (!this.config) return [];
    return [{ ssid: this.config.ssid, bssid: this.config.bssid ?? bssidFor(this.config.ssid), channel: 6, rssi: -60, secured: this.config.pwd.length > 0 }];
  }

  /** What joining the configured network ends in: the network, or a failure. */
  private outcome(config: StationConfig): Network | { reason: number; status: number; bssid: string } {
    const listed = this.device.wifi?.networks;
    if (!listed || listed.length === 0) {
      return { ssid: config.ssid, bssid: config.bssid ?? bssidFor(config.ssid), channel: 6, rssi: -60, secured: config.pwd.length > 0 };
    }
    const index = listed.findIndex((n) => sameBytes(bytesOf(n.ssid), config.ssid) && (config.bssid === undefined || (n.bssid ?? bssidFor(config.ssid)).toLowerCase() === config.bssid));
    const entry = listed[index];
    if (!entry) return { reason: REASON_NO_AP_FOUND, status: STA_APNOTFOUND, bssid: NO_BSSID };
    const network = this.networks()[index] as Network;
    if (entry.pwd !== undefined && !sameBytes(bytesOf(entry.pwd), config.pwd)) return { reason: REASON_HANDSHAKE, status: STA_WRONGPWD, bssid: network.bssid };
    return network;
  }

  // ---- the connection state machine ----

  private later(delayMs: number, job: () => void, generation: number, keepAlive: boolean): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.board.post(() => {
        if (generation === this.generation) job();
      });
    }, delayMs);
    if (!keepAlive) timer.unref();
    this.timers.add(timer);
  }

  private hold(): void {
    if (!this.release) this.release = this.board.hold();
  }

  private letGo(): void {
    this.release?.();
    this.release = undefined;
  }

  /** Stops whatever attempt is under way. */
  cancel(): void {
    this.generation++;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.letGo();
  }

  connect(): void {
    if (!this.stationEnabled || !this.config || this.config.ssid.length === 0) return;
    if (this.status === STA_CONNECTING || this.network) return;
    this.cancel();
    this.setStatus(STA_CONNECTING);
    this.hold();
    this.attempt(this.generation, true);
  }

  private attempt(generation: number, keepAlive: boolean): void {
    const config = this.config as StationConfig;
    const result = this.outcome(config);
    if ("reason" in result) {
      this.later(this.delay, () => this.failed(config, result), generation, keepAlive);
      return;
    }
    this.later(this.delay, () => {
      this.network = result;
      this.emit(EVENTS.STA_CONNECTED, (L) => {
        setField(L, "SSID", result.ssid);
        setField(L, "BSSID", result.bssid);
        setField(L, "channel", result.channel);
      });
      this.later(this.delay, () => {
        this.gotIp = true;
        this.setStatus(STA_GOTIP);
        this.letGo();
        const info = this.ipInfo as IpInfo;
        this.emit(EVENTS.STA_GOT_IP, (L) => {
          setField(L, "IP", info.ip);
          setField(L, "netmask", info.netmask);
          setField(L, "gateway", info.gateway);
        });
      }, generation, keepAlive);
    }, generation, keepAlive);
  }

  private failed(config: StationConfig, failure: { reason: number; status: number; bssid: string }): void {
    this.setStatus(failure.status);
    this.letGo();
    this.emit(EVENTS.STA_DISCONNECTED, (L) => {
      setField(L, "SSID", config.ssid);
      setField(L, "reason", failure.reason);
      setField(L, "BSSID", failure.bssid);
    });
    const generation = this.generation;
    this.later(this.delay * RETRY_FACTOR, () => this.attempt(generation, false), generation, false);
  }

  /** Leaves the network (reason 8, as the SDK reports a disconnect the script asked for). */
  disconnect(): void {
    const network = this.network;
    this.cancel();
    this.network = undefined;
    this.gotIp = false;
    this.setStatus(STA_IDLE);
    if (network) {
      this.post(EVENTS.STA_DISCONNECTED, (L) => {
        setField(L, "SSID", network.ssid);
        setField(L, "reason", REASON_ASSOC_LEAVE);
        setField(L, "BSSID", network.bssid);
      });
    }
  }

  setMode(mode: number, save: boolean): void {
    const old = this.mode;
    this.mode = mode;
    if (save) this.saved.mode = mode;
    if (old === mode) return;
    if (!this.stationEnabled) this.disconnect();
    else if (this.autoconnect) this.connect();
    this.post(EVENTS.WIFI_MODE_CHANGED, (L) => {
      setField(L, "old_mode", old);
      setField(L, "new_mode", mode);
    });
  }

  // ---- events ----

  private setStatus(status: number): void {
    const previous = this.status;
    this.status = status;
    if (!this.monitoring || previous === status) return;
    const ref = this.statusRefs.get(status);
    if (ref === undefined) return;
    // The old status monitor polled from a timer, so its callbacks always come later.
    this.board.post(() => {
      if (this.statusRefs.get(status) === ref) {
        this.board.callRef(ref, (L) => {
          lua.lua_pushinteger(L, previous);
          return 1;
        });
      }
    });
  }

  /** Calls the event's callback now (we are in a job from the event loop). */
  private emit(event: number, fill: (L: LuaState) => void): void {
    const ref = this.eventRefs.get(event);
    if (ref === undefined) return;
    this.board.callRef(ref, (L) => {
      lua.lua_createtable(L, 0, 4);
      fill(L);
      return 1;
    });
  }

  /** Queues the event's callback: the script asked for the change and is still running. */
  private post(event: number, fill: (L: LuaState) => void): void {
    if (this.eventRefs.get(event) === undefined) return;
    this.board.post(() => this.emit(event, fill));
  }

  /** Answers a scan after a moment, keeping the script alive until it has. */
  scan(ref: number, filter: (n: Network) => boolean, newFormat: boolean): void {
    const release = this.board.hold();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      release();
      this.board.post(() => {
        this.board.callRef(ref, (L) => {
          lua.lua_createtable(L, 0, 4);
          for (const n of this.networks().filter(filter)) {
            const auth = n.secured ? AUTH_WPA2_PSK : AUTH_OPEN;
            if (newFormat) {
              pushText(L, n.bssid);
              pushBytes(L, concatText(n.ssid, `,${n.rssi},${auth},${n.channel}`));
            } else {
              pushBytes(L, n.ssid);
              pushText(L, `${auth},${n.rssi},${n.bssid},${n.channel}`);
            }
            lua.lua_rawset(L, -3);
          }
          return 1;
        });
        this.board.unref(ref);
      });
    }, this.delay);
    this.timers.add(timer);
  }
}

function concatText(bytes: Uint8Array, text: string): Uint8Array {
  const tail = bytesOf(text);
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes);
  out.set(tail, bytes.length);
  return out;
}

function setField(L: LuaState, key: string, value: string | number | Uint8Array): void {
  if (typeof value === "number") lua.lua_pushinteger(L, value);
  else if (typeof value === "string") pushText(L, value);
  else pushBytes(L, value);
  lua.lua_setfield(L, -2, key);
}

const states = new WeakMap<Board, Wifi>();

function wifiOf(L: LuaState): Wifi {
  const board = boardOf(L);
  let state = states.get(board);
  if (!state) {
    state = new Wifi(board);
    states.set(board, state);
  }
  return state;
}

// ---- argument helpers ----

/** A field of the table at arg 1, type-checked with the firmware's message; undefined when nil. */
function field(L: LuaState, key: string, type: number, message: string): boolean {
  lua.lua_getfield(L, 1, key);
  if (lua.lua_isnil(L, -1)) {
    lua.lua_pop(L, 1);
    return false;
  }
  const t = lua.lua_type(L, -1);
  const ok = type === lua.LUA_TSTRING ? t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER : t === type;
  if (!ok) argError(L, 1, message);
  return true;
}

function checkMac(L: LuaState, arg: number, message: string, bytes: Uint8Array): string {
  if (bytes.length !== 17) argError(L, arg, message);
  return textOf(bytes).toLowerCase();
}

function pushIpInfo(L: LuaState, info: IpInfo | undefined): number {
  if (!info) {
    lua.lua_pushnil(L);
    return 1;
  }
  pushText(L, info.ip);
  pushText(L, info.netmask);
  pushText(L, info.gateway);
  return 3;
}

// ---- wifi ----

const setmode = (L: LuaState): number => {
  const mode = checkInteger(L, 1);
  if (mode !== NULLMODE && mode !== STATION && mode !== SOFTAP && mode !== STATIONAP) argError(L, 1, "Invalid mode");
  let save = true;
  if (!lua.lua_isnoneornil(L, 2)) {
    if (lua.lua_type(L, 2) !== lua.LUA_TBOOLEAN) typeError(L, 2, "boolean");
    save = lua.lua_toboolean(L, 2);
  }
  const wifi = wifiOf(L);
  wifi.setMode(mode, save);
  lua.lua_pushinteger(L, wifi.mode);
  return 1;
};

const getmode = (L: LuaState): number => {
  lua.lua_pushinteger(L, wifiOf(L).mode);
  return 1;
};

const getdefaultmode = (L: LuaState): number => {
  lua.lua_pushinteger(L, wifiOf(L).saved.mode);
  return 1;
};

const getchannel = (L: LuaState): number => {
  lua.lua_pushinteger(L, wifiOf(L).network?.channel ?? 1);
  return 1;
};

const setphymode = (L: LuaState): number => {
  const mode = checkInteger(L, 1);
  if (mode < 1 || mode > 3) return raise(L, "wrong arg type");
  const wifi = wifiOf(L);
  wifi.phymode = mode;
  lua.lua_pushinteger(L, mode);
  return 1;
};

const getphymode = (L: LuaState): number => {
  lua.lua_pushinteger(L, wifiOf(L).phymode);
  return 1;
};

const sleeptype = (L: LuaState): number => {
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) {
    const type = checkInteger(L, 1);
    if (type < 0 || type > 2) argError(L, 1, "range:0-2");
    lua.lua_pushinteger(L, type);
  } else {
    lua.lua_pushinteger(L, 2);
  }
  return 1;
};

const nullmodesleep = (L: LuaState): number => {
  lua.lua_pushboolean(L, lua.lua_type(L, 1) === lua.LUA_TNONE ? true : lua.lua_toboolean(L, 1));
  return 1;
};

// ---- wifi.sta ----

const CALLBACK_FIELDS: ReadonlyArray<[string, number]> = [
  ["connected_cb", EVENTS.STA_CONNECTED],
  ["disconnected_cb", EVENTS.STA_DISCONNECTED],
  ["authmode_change_cb", EVENTS.STA_AUTHMODE_CHANGE],
  ["got_ip_cb", EVENTS.STA_GOT_IP],
  ["dhcp_timeout_cb", EVENTS.STA_DHCP_TIMEOUT],
];

function setEventRef(L: LuaState, wifi: Wifi, event: number, idx: number | undefined): void {
  const old = wifi.eventRefs.get(event);
  if (old !== undefined) wifi.board.unref(old);
  wifi.eventRefs.delete(event);
  if (idx !== undefined) wifi.eventRefs.set(event, wifi.board.ref(L, idx));
}

const staConfig = (L: LuaState): number => {
  const wifi = wifiOf(L);
  let config: StationConfig;
  let auto = true;
  let save: boolean;
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    if (!field(L, "ssid", lua.LUA_TSTRING, "ssid:not string")) return argError(L, 1, "ssid required");
    const ssid = Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array);
    if (ssid.length > 32) argError(L, 1, "ssid: length:0-32");
    lua.lua_pop(L, 1);
    let pwd = new Uint8Array(0);
    if (field(L, "pwd", lua.LUA_TSTRING, "pwd:not string")) {
      pwd = Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array);
      if (pwd.length > 64) argError(L, 1, "pwd: length:0-64");
      lua.lua_pop(L, 1);
    }
    let bssid: string | undefined;
    if (field(L, "bssid", lua.LUA_TSTRING, "bssid:not string")) {
      bssid = checkMac(L, 1, "bssid: FF:FF:FF:FF:FF:FF", lua.lua_tolstring(L, -1) as Uint8Array);
      lua.lua_pop(L, 1);
    }
    if (field(L, "auto", lua.LUA_TBOOLEAN, "auto:not boolean")) {
      auto = lua.lua_toboolean(L, -1);
      lua.lua_pop(L, 1);
    }
    save = false;
    if (field(L, "save", lua.LUA_TBOOLEAN, "save:not boolean")) {
      save = lua.lua_toboolean(L, -1);
      lua.lua_pop(L, 1);
    }
    for (const [key, event] of CALLBACK_FIELDS) {
      if (field(L, key, lua.LUA_TFUNCTION, `${key}:not function`)) {
        setEventRef(L, wifi, event, lua.lua_gettop(L));
        lua.lua_pop(L, 1);
      }
    }
    config = { ssid, pwd, bssid };
  } else {
    // The old positional form: config(ssid, pwd[, auto[, bssid]]), saved to flash.
    const ssid = Uint8Array.from(checkBytes(L, 1));
    if (ssid.length >= 32) argError(L, 1, "length:0-32");
    const pwd = Uint8Array.from(checkBytes(L, 2));
    if (pwd.length > 64) argError(L, 2, "length:0-64");
    let bssidArg = 4;
    if (lua.lua_type(L, 3) === lua.LUA_TNUMBER) {
      const value = checkInteger(L, 3);
      if (value !== 0 && value !== 1) return raise(L, "wrong arg type");
      auto = value === 1;
    } else if (lua.lua_type(L, 3) === lua.LUA_TSTRING) {
      bssidArg = 3;
    }
    let bssid: string | undefined;
    if (lua.lua_type(L, bssidArg) === lua.LUA_TSTRING) bssid = checkMac(L, bssidArg, INVALID_MAC, lua.lua_tolstring(L, bssidArg) as Uint8Array);
    config = { ssid, pwd, bssid };
    save = true;
  }
  wifi.disconnect();
  wifi.config = config;
  wifi.autoconnect = auto;
  if (save) {
    wifi.saved.config = config;
    wifi.saved.autoconnect = auto;
  }
  if (auto) wifi.connect();
  lua.lua_pushboolean(L, true);
  return 1;
};

const staConnect = (L: LuaState): number => {
  wifiOf(L).connect();
  return 0;
};

const staDisconnect = (L: LuaState): number => {
  wifiOf(L).disconnect();
  return 0;
};

const staAutoconnect = (L: LuaState): number => {
  const value = checkInteger(L, 1);
  if (value !== 0 && value !== 1) argError(L, 1, "0 or 1");
  const wifi = wifiOf(L);
  wifi.autoconnect = value === 1;
  wifi.saved.autoconnect = wifi.autoconnect;
  if (wifi.autoconnect) wifi.connect();
  return 0;
};

const staGetip = (L: LuaState): number => pushIpInfo(L, wifiOf(L).ipInfo);

const staGetbroadcast = (L: LuaState): number => {
  const info = wifiOf(L).ipInfo;
  if (info) pushText(L, broadcastOf(info));
  else lua.lua_pushnil(L);
  return 1;
};

const staGetmac = (L: LuaState): number => {
  pushText(L, wifiOf(L).staMac);
  return 1;
};

const staSetmac = (L: LuaState): number => {
  wifiOf(L).staMac = checkMac(L, 1, INVALID_MAC, checkBytes(L, 1));
  lua.lua_pushboolean(L, true);
  return 1;
};

/** RSSI of the associated network; nil when not connected. */
const staGetrssi = (L: LuaState): number => {
  const network = wifiOf(L).network;
  if (network) lua.lua_pushinteger(L, network.rssi);
  else lua.lua_pushnil(L);
  return 1;
};

const staStatus = (L: LuaState): number => {
  lua.lua_pushinteger(L, wifiOf(L).status);
  return 1;
};

const staGethostname = (L: LuaState): number => {
  pushText(L, wifiOf(L).hostname);
  return 1;
};

/** Letters, digits and inner hyphens, at most 32 characters (RFC 952/1123). */
const staSethostname = (L: LuaState): number => {
  const name = textOf(checkBytes(L, 1));
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name)) argError(L, 1, "Invalid hostname");
  wifiOf(L).hostname = name;
  lua.lua_pushboolean(L, true);
  return 1;
};

function pushConfig(L: LuaState, config: StationConfig | undefined): number {
  if (!config || config.ssid.length === 0) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 1)) {
    lua.lua_createtable(L, 0, 3);
    setField(L, "ssid", config.ssid);
    if (config.pwd.length > 0) setField(L, "pwd", config.pwd);
    if (config.bssid) setField(L, "bssid", config.bssid);
    return 1;
  }
  pushBytes(L, config.ssid);
  pushBytes(L, config.pwd);
  lua.lua_pushinteger(L, config.bssid ? 1 : 0);
  pushText(L, config.bssid ?? NO_BSSID);
  return 4;
}

const staGetconfig = (L: LuaState): number => pushConfig(L, wifiOf(L).config);
const staGetdefaultconfig = (L: LuaState): number => pushConfig(L, wifiOf(L).saved.config);

const staClearconfig = (L: LuaState): number => {
  const wifi = wifiOf(L);
  wifi.disconnect();
  wifi.config = undefined;
  wifi.saved.config = undefined;
  wifi.autoconnect = false;
  wifi.saved.autoconnect = false;
  lua.lua_pushboolean(L, true);
  return 1;
};

function parseIpTable(L: LuaState, base: IpInfo, apMode: boolean): IpInfo {
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) raise(L, "wrong arg type");
  const read = (key: string): string | undefined => {
    lua.lua_getfield(L, 1, key);
    const value = lua.lua_type(L, -1) === lua.LUA_TSTRING ? textOf(lua.lua_tolstring(L, -1) as Uint8Array) : undefined;
    lua.lua_pop(L, 1);
    return value && /^\d{1,3}(\.\d{1,3}){3}$/.test(value) ? value : undefined;
  };
  const gateway = read("gateway");
  return { ip: read("ip") ?? base.ip, netmask: read("netmask") ?? base.netmask, gateway: gateway ?? (apMode ? "0.0.0.0" : base.gateway) };
}

/** A static address: DHCP stops and getip reports it from now on. */
const staSetip = (L: LuaState): number => {
  const wifi = wifiOf(L);
  const d = wifi.device;
  wifi.staticIp = parseIpTable(L, wifi.ipInfo ?? { ip: d.ip ?? DEFAULT_IP, netmask: d.netmask ?? DEFAULT_NETMASK, gateway: d.gateway ?? DEFAULT_GATEWAY }, false);
  lua.lua_pushboolean(L, true);
  return 1;
};

/**
 * getap([cfg,] [format,] fn): fn(table) after a moment. The old format maps SSID to
 * "authmode,rssi,bssid,channel"; format 1 maps BSSID to "ssid,rssi,authmode,channel".
 */
const staGetap = (L: LuaState): number => {
  const wifi = wifiOf(L);
  if (wifi.mode === SOFTAP) return raise(L, "Can't list ap in SOFTAP mode");
  const t1 = lua.lua_type(L, 1);
  if (t1 === lua.LUA_TFUNCTION) {
    lua.lua_pushnil(L);
    lua.lua_insert(L, 1);
    lua.lua_pushnil(L);
    lua.lua_insert(L, 1);
  } else if (t1 === lua.LUA_TNUMBER) {
    lua.lua_pushnil(L);
    lua.lua_insert(L, 1);
  } else if (t1 === lua.LUA_TTABLE || t1 === lua.LUA_TNIL || t1 === lua.LUA_TNONE) {
    if (lua.lua_type(L, 2) === lua.LUA_TFUNCTION) {
      lua.lua_pushnil(L);
      lua.lua_insert(L, 2);
    }
  } else {
    return raise(L, "wrong arg type");
  }
  let newFormat = false;
  if (lua.lua_type(L, 2) === lua.LUA_TNUMBER) {
    const format = checkInteger(L, 2);
    if (format !== 0 && format !== 1) return raise(L, "wrong arg type");
    newFormat = format === 1;
  }
  if (lua.lua_type(L, 3) !== lua.LUA_TFUNCTION) return 0;
  let filter = (_n: Network) => true;
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    let ssid: Uint8Array | undefined;
    let bssid: string | undefined;
    let channel = 0;
    lua.lua_getfield(L, 1, "ssid");
    if (!lua.lua_isnil(L, -1)) {
      if (!lua.lua_isstring(L, -1)) return raise(L, "wrong arg type");
      ssid = Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array);
      if (ssid.length > 32) return raise(L, "ssid:<32");
    }
    lua.lua_getfield(L, 1, "bssid");
    if (!lua.lua_isnil(L, -1)) {
      if (!lua.lua_isstring(L, -1)) return raise(L, "wrong arg type");
      bssid = checkMac(L, 1, INVALID_MAC, lua.lua_tolstring(L, -1) as Uint8Array);
    }
    lua.lua_getfield(L, 1, "channel");
    if (!lua.lua_isnil(L, -1)) {
      if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) return raise(L, "wrong arg type");
      channel = lua.lua_tointeger(L, -1);
      if (channel < 0 || channel > 13) return raise(L, "channel: 0 or 1-13");
    }
    lua.lua_pop(L, 3);
    filter = (n) => (!ssid || sameBytes(ssid, n.ssid)) && (!bssid || bssid === n.bssid) && (channel === 0 || channel === n.channel);
  }
  wifi.scan(wifi.board.ref(L, 3), filter, newFormat);
  return 0;
};

const staSleeptype = sleeptype;

const staGetapinfo = (L: LuaState): number => {
  const config = wifiOf(L).saved.config;
  lua.lua_createtable(L, 1, 1);
  setField(L, "qty", config ? 1 : 0);
  if (config) {
    lua.lua_createtable(L, 0, 3);
    setField(L, "ssid", config.ssid);
    if (config.pwd.length > 0) setField(L, "pwd", config.pwd);
    if (config.bssid) setField(L, "bssid", config.bssid);
    lua.lua_rawseti(L, -2, 1);
  }
  return 1;
};

const staGetapindex = (L: LuaState): number => {
  lua.lua_pushinteger(L, 1);
  return 1;
};

const staRange15 = (L: LuaState): number => {
  const n = checkInteger(L, 1);
  if (n < 1 || n > 5) argError(L, 1, "Valid range: 1-5");
  lua.lua_pushboolean(L, true);
  return 1;
};

// The status monitor of older firmware: eventMonReg(status, fn | "unreg"), eventMonStart, eventMonStop.
const staEventMonReg = (L: LuaState): number => {
  const status = checkInteger(L, 1);
  if (status < STA_IDLE || status > STA_GOTIP) argError(L, 1, "valid wifi status:0-5");
  const wifi = wifiOf(L);
  const old = wifi.statusRefs.get(status);
  if (old !== undefined) wifi.board.unref(old);
  wifi.statusRefs.delete(status);
  if (lua.lua_type(L, 2) === lua.LUA_TFUNCTION) wifi.statusRefs.set(status, wifi.board.ref(L, 2));
  return 0;
};

const staEventMonStart = (L: LuaState): number => {
  wifiOf(L).monitoring = true;
  return 0;
};

const staEventMonStop = (L: LuaState): number => {
  const wifi = wifiOf(L);
  wifi.monitoring = false;
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER && lua.lua_tointeger(L, 1) === 1) {
    for (const ref of wifi.statusRefs.values()) wifi.board.unref(ref);
    wifi.statusRefs.clear();
  }
  return 0;
};

// ---- wifi.ap ----

const apConfig = (L: LuaState): number => {
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) return typeError(L, 1, "table");
  const wifi = wifiOf(L);
  if (!field(L, "ssid", lua.LUA_TSTRING, "ssid: not string")) return argError(L, 1, "ssid: required");
  const ssid = Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array);
  if (ssid.length < 1 || ssid.length > 32) argError(L, 1, "ssid: length:1-32");
  lua.lua_pop(L, 1);
  let pwd: Uint8Array | undefined;
  let auth = AUTH_OPEN;
  if (field(L, "pwd", lua.LUA_TSTRING, "pwd: not string")) {
    pwd = Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array);
    if (pwd.length < 8 || pwd.length > 64) argError(L, 1, "pwd: length:0 or 8-64");
    auth = AUTH_WPA_WPA2_PSK;
    lua.lua_pop(L, 1);
  }
  const integer = (key: string, low: number, high: number, range: string, fallback: number): number => {
    if (!field(L, key, lua.LUA_TNUMBER, `${key}: not number`)) return fallback;
    const value = lua.lua_tointeger(L, -1);
    if (value < low || value > high) argError(L, 1, `${key}: ${range}`);
    lua.lua_pop(L, 1);
    return value;
  };
  auth = integer("auth", 0, 4, "Range:0-4", auth);
  const channel = integer("channel", 1, 13, "Range:1-13", 6);
  let hidden = false;
  lua.lua_getfield(L, 1, "hidden");
  if (!lua.lua_isnil(L, -1)) {
    const t = lua.lua_type(L, -1);
    if (t !== lua.LUA_TNUMBER && t !== lua.LUA_TBOOLEAN) argError(L, 1, "hidden: not boolean");
    const value = t === lua.LUA_TBOOLEAN ? (lua.lua_toboolean(L, -1) ? 1 : 0) : lua.lua_tointeger(L, -1);
    if (value !== 0 && value !== 1) argError(L, 1, "hidden: 0 or 1");
    hidden = value === 1;
  }
  lua.lua_pop(L, 1);
  const max = integer("max", 1, 4, "1-4", 4);
  const beacon = integer("beacon", 100, 60000, "100-60000", 100);
  if (field(L, "save", lua.LUA_TBOOLEAN, "save: not boolean")) lua.lua_pop(L, 1);
  wifi.apConfig = { ssid, pwd, auth, channel, hidden, max, beacon };
  lua.lua_pushboolean(L, true);
  return 1;
};

function apEnabled(wifi: Wifi): boolean {
  return wifi.mode === SOFTAP || wifi.mode === STATIONAP;
}

const apGetip = (L: LuaState): number => {
  const wifi = wifiOf(L);
  return pushIpInfo(L, apEnabled(wifi) ? wifi.apIp : undefined);
};

const apSetip = (L: LuaState): number => {
  const wifi = wifiOf(L);
  wifi.apIp = parseIpTable(L, wifi.apIp, true);
  lua.lua_pushboolean(L, true);
  return 1;
};

const apGetbroadcast = (L: LuaState): number => {
  const wifi = wifiOf(L);
  if (apEnabled(wifi)) pushText(L, broadcastOf(wifi.apIp));
  else lua.lua_pushnil(L);
  return 1;
};

const apGetmac = (L: LuaState): number => {
  pushText(L, wifiOf(L).apMac);
  return 1;
};

const apSetmac = (L: LuaState): number => {
  wifiOf(L).apMac = checkMac(L, 1, INVALID_MAC, checkBytes(L, 1));
  lua.lua_pushboolean(L, true);
  return 1;
};

/** No station ever joins the simulated access point. */
const apGetclient = (L: LuaState): number => {
  if (wifiOf(L).mode === STATION) return raise(L, "Can't list client in STATION_MODE mode");
  lua.lua_createtable(L, 0, 0);
  return 1;
};

const apGetconfig = (L: LuaState): number => {
  const config = wifiOf(L).apConfig;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 1)) {
    lua.lua_createtable(L, 0, 7);
    setField(L, "ssid", config.ssid);
    if (config.auth !== AUTH_OPEN && config.pwd) setField(L, "pwd", config.pwd);
    setField(L, "auth", config.auth);
    setField(L, "channel", config.channel);
    lua.lua_pushboolean(L, config.hidden);
    lua.lua_setfield(L, -2, "hidden");
    setField(L, "max", config.max);
    setField(L, "beacon", config.beacon);
    return 1;
  }
  pushBytes(L, config.ssid);
  if (config.auth === AUTH_OPEN || !config.pwd) lua.lua_pushnil(L);
  else pushBytes(L, config.pwd);
  return 2;
};

const apDeauth = (L: LuaState): number => {
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING) checkMac(L, 1, INVALID_MAC, checkBytes(L, 1));
  lua.lua_pushboolean(L, true);
  return 1;
};

const dhcpConfig = (L: LuaState): number => {
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) return raise(L, "wrong arg type");
  lua.lua_getfield(L, 1, "start");
  const start = lua.lua_type(L, -1) === lua.LUA_TSTRING ? textOf(lua.lua_tolstring(L, -1) as Uint8Array) : "";
  lua.lua_pop(L, 1);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(start)) return raise(L, "wrong arg type");
  pushText(L, start);
  pushText(L, intToIp(ipToInt(start) + wifiOf(L).apConfig.max - 1));
  return 2;
};

const dhcpToggle = (L: LuaState): number => {
  lua.lua_pushboolean(L, true);
  return 1;
};

// ---- wifi.eventmon ----

const eventmonRegister = (L: LuaState): number => {
  const event = Math.trunc(checkNumber(L, 1)) & 0xff;
  if (event > EVENTS.EVENT_MAX) return raise(L, `valid wifi events:0-${EVENTS.EVENT_MAX}`);
  const wifi = wifiOf(L);
  setEventRef(L, wifi, event, lua.lua_type(L, 2) === lua.LUA_TFUNCTION ? 2 : undefined);
  return 0;
};

export const wifi = defineModule("wifi", {
  functions: { setmode, getmode, getdefaultmode, getchannel, setphymode, getphymode, sleeptype, nullmodesleep },
  constants: {
    NULLMODE, STATION, SOFTAP, STATIONAP,
    PHYMODE_B: 1, PHYMODE_G: 2, PHYMODE_N: 3,
    NONE_SLEEP: 0, LIGHT_SLEEP: 1, MODEM_SLEEP: 2,
    OPEN: AUTH_OPEN, WPA_PSK: 2, WPA2_PSK: AUTH_WPA2_PSK, WPA_WPA2_PSK: AUTH_WPA_WPA2_PSK,
    STA_IDLE, STA_CONNECTING, STA_WRONGPWD, STA_APNOTFOUND, STA_FAIL, STA_GOTIP,
  },
  tables: {
    sta: {
      functions: {
        config: staConfig, connect: staConnect, disconnect: staDisconnect, autoconnect: staAutoconnect,
        getip: staGetip, setip: staSetip, getbroadcast: staGetbroadcast, getmac: staGetmac, setmac: staSetmac,
        getrssi: staGetrssi, status: staStatus, gethostname: staGethostname, sethostname: staSethostname,
        getconfig: staGetconfig, getdefaultconfig: staGetdefaultconfig, clearconfig: staClearconfig,
        getap: staGetap, sleeptype: staSleeptype, getapinfo: staGetapinfo, getapindex: staGetapindex,
        setaplimit: staRange15, changeap: staRange15,
        eventMonReg: staEventMonReg, eventMonStart: staEventMonStart, eventMonStop: staEventMonStop,
      },
    },
    ap: {
      functions: {
        config: apConfig, getip: apGetip, setip: apSetip, getbroadcast: apGetbroadcast, getmac: apGetmac,
        setmac: apSetmac, getclient: apGetclient, getconfig: apGetconfig, getdefaultconfig: apGetconfig, deauth: apDeauth,
      },
    },
    eventmon: { functions: { register: eventmonRegister, unregister: eventmonRegister }, constants: EVENTS },
  },
  setup: (L, board) => {
    lua.lua_getfield(L, -1, "eventmon");
    lua.lua_createtable(L, 0, Object.keys(REASONS).length);
    for (const [name, value] of Object.entries(REASONS)) {
      lua.lua_pushinteger(L, value);
      lua.lua_setfield(L, -2, name);
    }
    lua.lua_setfield(L, -2, "reason");
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, -1, "ap");
    lua.lua_createtable(L, 0, 3);
    for (const [name, fn] of Object.entries({ config: dhcpConfig, start: dhcpToggle, stop: dhcpToggle })) {
      lua.lua_pushjsfunction(L, fn);
      lua.lua_setfield(L, -2, name);
    }
    lua.lua_setfield(L, -2, "dhcp");
    lua.lua_pop(L, 1);
    // A configuration saved to flash on an earlier boot connects by itself, as on the device.
    const state = wifiOf(board.L);
    if (state.autoconnect) state.connect();
  },
});
