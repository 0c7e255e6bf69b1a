// NodeMCU `enduser_setup` (the captive portal): no phone ever browses to the portal here, so
// a simulated end user submits the device file's network (wifi.station, else the first of
// wifi.networks, else the open network "moonrig") one connectDelayMs after start. As in
// enduser_setup.c: start turns the station on and raises the open access point
// "NodeMCU_XXXXXX" (the AP MAC's last three bytes) on channel 1 in STATIONAP mode (not in
// manual mode); the submitted configuration is saved to flash and joined; a timer polls for
// the station's address (every 3 s on the device, every connectDelayMs here), then
// onConnected() runs and the portal shuts down (after 10 s on the device, one
// connectDelayMs here), taking the access point away. The debug callback stays silent: the
// firmware only calls it when built with ENDUSER_SETUP_DEBUG_ENABLE.
import { lua, bytesOf, type LuaState } from "../../engine/lua.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { AUTH_OPEN, SOFTAP, STATION } from "./wifi/constants.js";
import { setupNetwork, wifiOf, type Wifi } from "./wifi/radio.js";

const AP_PREFIX = "NodeMCU";
const AP_CHANNEL = 1;
const AP_MAX_CONNECTIONS = 5;

class Portal {
  connectedRef: number | undefined;
  success = false;
  callbackDone = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private release: (() => void) | undefined;

  constructor(
    readonly wifi: Wifi,
    readonly manual: boolean,
  ) {
    this.release = wifi.board.hold();
  }

  get board(): Board {
    return this.wifi.board;
  }

  later(job: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.board.post(job);
    }, this.wifi.delay);
    this.timers.add(timer);
  }

  /** The end user's form arrives: save, disconnect, reconfigure, reconnect (do_station_cfg). */
  submit(): void {
    const config = setupNetwork(this.wifi.device);
    this.wifi.disconnect();
    this.wifi.config = config;
    this.wifi.saved.config = config;
    this.wifi.connect();
    this.poll();
  }

  private poll(): void {
    this.later(() => {
      if (!this.wifi.ipInfo) {
        this.poll();
        return;
      }
      this.success = true;
      this.callConnected();
      // The portal's shutdown, still to come, keeps the script alive; in manual mode there is none.
      if (this.manual) this.letGo();
      else this.later(() => stop(this.board));
    });
  }

  callConnected(): void {
    this.callbackDone = true;
    if (this.connectedRef !== undefined) this.board.callRef(this.connectedRef);
  }

  letGo(): void {
    this.release?.();
    this.release = undefined;
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.letGo();
    for (const ref of [this.connectedRef, ...this.unused]) if (ref !== undefined) this.board.unref(ref);
  }

  /** The error and debug callbacks: kept as the firmware keeps them, never called here. */
  readonly unused: number[] = [];
}

interface State {
  manual: boolean;
  portal: Portal | undefined;
}

const states = new WeakMap<Board, State>();

function stateOf(board: Board): State {
  let state = states.get(board);
  if (!state) {
    state = { manual: false, portal: undefined };
    states.set(board, state);
    const owned = state;
    board.own(() => owned.portal?.dispose());
  }
  return state;
}

function apSsid(wifi: Wifi): Uint8Array {
  return bytesOf(`${AP_PREFIX}_${wifi.apMac.split(":").slice(3).join("").toUpperCase()}`);
}

/** enduser_setup_stop: the access point goes (unless manual); a success not yet announced is announced now. */
function stop(board: Board): void {
  const state = stateOf(board);
  const portal = state.portal;
  if (!state.manual) {
    const wifi = wifiOf(board.L);
    wifi.setMode(wifi.mode & ~SOFTAP, true);
  }
  if (!portal) return;
  state.portal = undefined;
  if (portal.success && !portal.callbackDone) {
    portal.wifi.setMode(portal.wifi.mode | STATION, true);
    portal.wifi.connect();
    portal.callConnected();
  }
  portal.dispose();
}

const manual = (L: LuaState): number => {
  const state = stateOf(boardOf(L));
  if (!lua.lua_isnoneornil(L, 1)) state.manual = lua.lua_toboolean(L, 1);
  lua.lua_pushboolean(L, state.manual);
  return 1;
};

/** start([ssid,] [onConnected], [onError], [onDebug]); a second start shuts the portal down (enduser_setup_init). */
const start = (L: LuaState): number => {
  const board = boardOf(L);
  const state = stateOf(board);
  const wifi = wifiOf(L);
  let arg = 1;
  let ssid: Uint8Array | undefined;
  if (lua.lua_isstring(L, arg)) ssid = Uint8Array.from(lua.lua_tolstring(L, arg++) as Uint8Array);
  const refs: Array<number | undefined> = [];
  for (let i = 0; i < 3; i++, arg++) refs.push(lua.lua_isnoneornil(L, arg) ? undefined : board.ref(L, arg));
  const [connectedRef, ...others] = refs;
  const running = state.portal;
  if (running) {
    // The old state takes the new callbacks, then stop frees it: the error callback that
    // follows finds no state and is not called.
    if (running.connectedRef !== undefined) board.unref(running.connectedRef);
    running.connectedRef = connectedRef;
    for (const ref of others) if (ref !== undefined) running.unused.push(ref);
    stop(board);
    return 0;
  }
  const portal = new Portal(wifi, state.manual);
  portal.connectedRef = connectedRef;
  for (const ref of others) if (ref !== undefined) portal.unused.push(ref);
  state.portal = portal;
  if (!state.manual) {
    wifi.setMode(wifi.mode | STATION, true);
    wifi.apConfig = { ...wifi.apConfig, ssid: ssid ?? apSsid(wifi), pwd: undefined, auth: AUTH_OPEN, channel: AP_CHANNEL, hidden: false, max: AP_MAX_CONNECTIONS, beacon: 100 };
    wifi.setMode(wifi.mode | SOFTAP, true);
  }
  portal.later(() => {
    if (state.portal === portal) portal.submit();
  });
  return 0;
};

export const enduser_setup = defineModule("enduser_setup", {
  functions: { manual, start, stop: (L: LuaState): number => (stop(boardOf(L)), 0) },
});
