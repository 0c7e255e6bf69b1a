// The simulated radio behind NodeMCU `wifi`: one state per board (mode, station
// configuration, the connection state machine, event callbacks, scans) and what the device
// keeps in flash across reboots of one runtime.
import { lua, pushBytes, pushText, bytesOf, type LuaState } from "../../../engine/lua.js";
import { boardOf, type Board } from "../../../runtime/board.js";
import type { Runtime } from "../../../runtime/runtime.js";
import type { DeviceConfig, WifiNetwork } from "../../../runtime/device.js";
import {
  AP_IP, AUTH_OPEN, AUTH_WPA2_PSK, DEFAULT_CHIP_ID, DEFAULT_CONNECT_DELAY_MS, DEFAULT_GATEWAY, DEFAULT_IP, DEFAULT_NETMASK,
  EVENTS, NO_BSSID, REASON_ASSOC_LEAVE, REASON_HANDSHAKE, REASON_NO_AP_FOUND, RETRY_FACTOR, STA_APNOTFOUND, DEFAULT_SSID,
  STA_CONNECTING, STA_GOTIP, STA_IDLE, STA_WRONGPWD, STATION, STATIONAP,
} from "./constants.js";

export interface StationConfig {
  ssid: Uint8Array;
  pwd: Uint8Array;
  bssid: string | undefined;
}

export interface IpInfo {
  ip: string;
  netmask: string;
  gateway: string;
}

export interface Network {
  ssid: Uint8Array;
  bssid: string;
  channel: number;
  rssi: number;
  secured: boolean;
}

/** What the device keeps in flash across reboots of one runtime. */
export interface Saved {
  mode: number;
  config: StationConfig | undefined;
  autoconnect: boolean;
}

const savedByRuntime = new WeakMap<Runtime, Saved>();

function savedOf(runtime: Runtime): Saved {
  let saved = savedByRuntime.get(runtime);
  if (!saved) {
    saved = flashedBy(runtime.options.device ?? {});
    savedByRuntime.set(runtime, saved);
  }
  return saved;
}

/**
 * What the board's flash holds before the first boot: the station configuration a project's
 * own board already has (the SDK keeps it across flashing the firmware), so scripts that
 * never call wifi.sta.config still join a network. The simulated device starts as a station
 * unless the device file says otherwise.
 */
function flashedBy(device: DeviceConfig): Saved {
  const mode = device.wifi?.mode ?? STATION;
  const station = device.wifi?.station;
  if (station === false) return { mode, config: undefined, autoconnect: true };
  return { mode, config: setupNetwork(device), autoconnect: station?.auto ?? true };
}

/** The device file's network: wifi.station, else the first listed network, else the open network "moonrig". */
export function setupNetwork(device: DeviceConfig): StationConfig {
  const station = device.wifi?.station || undefined;
  const first = device.wifi?.networks?.[0];
  const chosen = station ?? (first ? { ssid: first.ssid, pwd: first.pwd } : { ssid: DEFAULT_SSID });
  return { ssid: bytesOf(chosen.ssid), pwd: bytesOf(chosen.pwd ?? ""), bssid: station?.bssid?.toLowerCase() };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
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

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => ((acc << 8) | (Number(part) & 0xff)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
}

export function broadcastOf(info: IpInfo): string {
  const ip = ipToInt(info.ip);
  const mask = ipToInt(info.netmask);
  return intToIp(((ip & mask) | ~mask) >>> 0);
}

export class Wifi {
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

  /** Keeps the script alive until the attempt under way ends. */
  hold(): void {
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

  /** Joins the configured network; `keepAlive` false for the connection at boot, which alone does not keep a script running. */
  connect(keepAlive = true): void {
    if (!this.stationEnabled || !this.config || this.config.ssid.length === 0) return;
    if (this.status === STA_CONNECTING || this.network) return;
    this.cancel();
    this.setStatus(STA_CONNECTING);
    if (keepAlive) this.hold();
    this.attempt(this.generation, keepAlive);
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

export function setField(L: LuaState, key: string, value: string | number | Uint8Array): void {
  if (typeof value === "number") lua.lua_pushinteger(L, value);
  else if (typeof value === "string") pushText(L, value);
  else pushBytes(L, value);
  lua.lua_setfield(L, -2, key);
}

const states = new WeakMap<Board, Wifi>();

export function wifiOf(L: LuaState): Wifi {
  const board = boardOf(L);
  let state = states.get(board);
  if (!state) {
    state = new Wifi(board);
    states.set(board, state);
  }
  return state;
}

export function setEventRef(L: LuaState, wifi: Wifi, event: number, idx: number | undefined): void {
  const old = wifi.eventRefs.get(event);
  if (old !== undefined) wifi.board.unref(old);
  wifi.eventRefs.delete(event);
  if (idx === undefined) return;
  wifi.eventRefs.set(event, wifi.board.ref(L, idx));
  // The connection at boot does not keep a script alive by itself; a script that waits for
  // its outcome does.
  if (wifi.status === STA_CONNECTING) wifi.hold();
}
