// NodeMCU `rtctime`: the RTC clock, unset (0) until rtctime.set or sntp.sync, then ticking
// with the host's monotonic clock. It belongs to the Runtime, so it keeps time across
// simulated reboots and deep sleep, which is what rtctime is for.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import type { Runtime } from "../../runtime/runtime.js";
import { defineModule } from "../common/module.js";

const MICROS = 1000000;

export class RtcClock {
  /** Microseconds since the epoch at `setAt` (performance.now() ms); undefined: never set. */
  private base: { micros: number; setAt: number } | undefined;
  rate = 0;

  get isSet(): boolean {
    return this.base !== undefined;
  }

  set(sec: number, usec: number): void {
    this.base = { micros: sec * MICROS + usec, setAt: performance.now() };
  }

  /** [sec, usec], or [0, 0] while the time is unknown. */
  now(): [number, number] {
    if (!this.base) return [0, 0];
    const micros = Math.floor(this.base.micros + (performance.now() - this.base.setAt) * 1000);
    return [Math.floor(micros / MICROS), micros % MICROS];
  }
}

const clocks = new WeakMap<Runtime, RtcClock>();

export function rtcClockOf(board: Board): RtcClock {
  const runtime = board.host.runtime;
  let clock = clocks.get(runtime);
  if (!clock) {
    clock = new RtcClock();
    clocks.set(runtime, clock);
  }
  return clock;
}

const set = (L: LuaState): number => {
  const clock = rtcClockOf(boardOf(L));
  if (lua.lua_isnumber(L, 1)) {
    const sec = checkInteger(L, 1);
    const usec = lua.lua_isnumber(L, 2) ? lua.lua_tointeger(L, 2) : 0;
    clock.set(sec >>> 0, usec >>> 0);
  }
  if (lua.lua_isnumber(L, 3)) clock.rate = lua.lua_tointeger(L, 3);
  return 0;
};

const get = (L: LuaState): number => {
  const clock = rtcClockOf(boardOf(L));
  const [sec, usec] = clock.now();
  lua.lua_pushinteger(L, sec);
  lua.lua_pushinteger(L, usec);
  lua.lua_pushinteger(L, clock.rate);
  return 3;
};

/** No drift to correct on a PC: the delta comes back unchanged. */
const adjustDelta = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkInteger(L, 1));
  return 1;
};

function sleepOption(L: LuaState, idx: number): void {
  if (lua.lua_isnumber(L, idx) && lua.lua_tointeger(L, idx) >>> 0 > 4) raise(L, "unknown sleep option");
}

const dsleep = (L: LuaState): number => {
  const us = checkInteger(L, 1) >>> 0;
  sleepOption(L, 2);
  boardOf(L).host.requestReboot(Math.floor(us / 1000));
  return 0;
};

/** Sleeps until the next multiple of `aligned` µs of RTC time, at least `min` µs. */
const dsleepAligned = (L: LuaState): number => {
  const board = boardOf(L);
  const clock = rtcClockOf(board);
  if (!clock.isSet) raise(L, "time not available, unable to align");
  const align = checkInteger(L, 1) >>> 0;
  const min = checkInteger(L, 2) >>> 0;
  sleepOption(L, 3);
  const [sec, usec] = clock.now();
  const now = sec * MICROS + usec;
  let wake = align > 0 ? Math.ceil(now / align) * align : now;
  while (wake - now < min) wake += align > 0 ? align : min;
  board.host.requestReboot(Math.floor((wake - now) / 1000));
  return 0;
};

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

const epoch2cal = (L: LuaState): number => {
  const stamp = checkInteger(L, 1);
  if (stamp < 0) argError(L, 1, "wrong arg range");
  const date = new Date(stamp * 1000);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const fields: Array<[string, number]> = [
    ["yday", (DAYS_BEFORE_MONTH[month] as number) + (leap && month > 1 ? 1 : 0) + date.getUTCDate()],
    ["wday", date.getUTCDay() + 1],
    ["year", year],
    ["mon", month + 1],
    ["day", date.getUTCDate()],
    ["hour", date.getUTCHours()],
    ["min", date.getUTCMinutes()],
    ["sec", date.getUTCSeconds()],
  ];
  lua.lua_createtable(L, 0, fields.length);
  for (const [key, value] of fields) {
    lua.lua_pushinteger(L, value);
    lua.lua_setfield(L, -2, key);
  }
  return 1;
};

export const rtctime = defineModule("rtctime", {
  functions: { set, get, adjust_delta: adjustDelta, dsleep, dsleep_aligned: dsleepAligned, epoch2cal },
});
