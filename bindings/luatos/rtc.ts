// LuatOS `rtc`: the real-time clock in UTC, as the firmware keeps it. It starts at the
// host's time (the module's network time is right from boot); rtc.set moves it for this
// boot only; os.time and os.date read this clock too (bindings/luatos/ostime.ts).
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

/** East 8 (China) in quarter hours, the firmware's default. */
const DEFAULT_TIMEZONE = 32;

interface RtcState {
  offsetMs: number;
  timezone: number;
  alarms: Map<number, number>;
}

const stateOf = perBoard((): RtcState => ({ offsetMs: 0, timezone: DEFAULT_TIMEZONE, alarms: new Map() }));

/** The device clock in milliseconds since the epoch: the host's, moved by rtc.set. */
export function deviceNowMs(board: Board): number {
  return Date.now() + stateOf(board).offsetMs;
}

/** The zone os.date formats in, in quarter hours east of UTC. */
export function timezoneOf(board: Board): number {
  return stateOf(board).timezone;
}

function field(L: LuaState, idx: number, key: string, fallback: number): number {
  lua.lua_getfield(L, idx, key);
  const value = lua.lua_isnumber(L, -1) ? Math.trunc(lua.lua_tonumber(L, -1)) : fallback;
  lua.lua_pop(L, 1);
  return value;
}

/** A time argument: a {year, mon, day, hour, min, sec} table (UTC) or seconds since the epoch. */
function timeArg(L: LuaState, arg: number): number | undefined {
  if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) return lua.lua_tonumber(L, arg) * 1000;
  if (lua.lua_type(L, arg) !== lua.LUA_TTABLE) return undefined;
  const now = new Date();
  return Date.UTC(
    field(L, arg, "year", now.getUTCFullYear()),
    field(L, arg, "mon", now.getUTCMonth() + 1) - 1,
    field(L, arg, "day", now.getUTCDate()),
    field(L, arg, "hour", 0),
    field(L, arg, "min", 0),
    field(L, arg, "sec", 0),
  );
}

const SET_FIELDS = ["year", "mon", "day", "hour", "min", "sec"] as const;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The firmware's range checks on a date to set: years 1900 to 2200, each field in its calendar range. */
function validDate([year, mon, day, hour, min, sec]: readonly number[]): boolean {
  const y = year as number;
  const m = mon as number;
  return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && (day as number) >= 1 && (day as number) <= daysIn(y, m)
    && (hour as number) >= 0 && (hour as number) <= 23 && (min as number) >= 0 && (min as number) <= 59
    && (sec as number) >= 0 && (sec as number) <= 59;
}

function setInt(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

const get = (L: LuaState): number => {
  const time = new Date(Date.now() + stateOf(boardOf(L)).offsetMs);
  lua.lua_createtable(L, 0, 6);
  setInt(L, "year", time.getUTCFullYear());
  setInt(L, "mon", time.getUTCMonth() + 1);
  setInt(L, "day", time.getUTCDate());
  setInt(L, "hour", time.getUTCHours());
  setInt(L, "min", time.getUTCMinutes());
  setInt(L, "sec", time.getUTCSeconds());
  return 1;
};

/**
 * rtc.set(table | seconds): false for a bad timestamp (0, negative, not an integer) or an
 * out-of-range date; nothing at all when the table lacks a field or holds a non-number.
 */
const set = (L: LuaState): number => {
  const board = boardOf(L);
  let target: number;
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    const values: number[] = [];
    for (const key of SET_FIELDS) {
      lua.lua_getfield(L, 1, key);
      if (!lua.lua_isnumber(L, -1)) return 0;
      values.push(checkInteger(L, -1));
      lua.lua_pop(L, 1);
    }
    if (!validDate(values)) {
      lua.lua_pushboolean(L, false);
      return 1;
    }
    const [year, mon, day, hour, min, sec] = values as [number, number, number, number, number, number];
    target = Date.UTC(year, mon - 1, day, hour, min, sec);
  } else if (lua.lua_isinteger(L, 1) && lua.lua_tointeger(L, 1) > 0) {
    target = lua.lua_tointeger(L, 1) * 1000;
  } else {
    lua.lua_pushboolean(L, false);
    return 1;
  }
  stateOf(board).offsetMs = target - Date.now();
  recorderOf(board).record("rtc", "set", [Math.floor(target / 1000)]);
  lua.lua_pushboolean(L, true);
  return 1;
};

/** rtc.timerStart(id, time): the wake-up alarm is remembered; nothing sleeps to be woken. */
const timerStart = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const target = timeArg(L, 2);
  if (target !== undefined) stateOf(boardOf(L)).alarms.set(id, target);
  lua.lua_pushboolean(L, target !== undefined);
  return 1;
};

const timerStop = (L: LuaState): number => {
  stateOf(boardOf(L)).alarms.delete(checkInteger(L, 1));
  lua.lua_pushboolean(L, true);
  return 1;
};

/** rtc.timezone([tz]): quarter hours, whole hours from -48 to 48; anything else gives false and changes nothing. */
const timezone = (L: LuaState): number => {
  const state = stateOf(boardOf(L));
  if (lua.lua_gettop(L) > 0) {
    const value = lua.lua_isinteger(L, 1) ? lua.lua_tointeger(L, 1) : undefined;
    if (value === undefined || value < -48 || value > 48 || value % 4 !== 0) {
      lua.lua_pushboolean(L, false);
      return 1;
    }
    state.timezone = value;
  }
  lua.lua_pushinteger(L, state.timezone);
  return 1;
};

/** rtc.setBaseYear(year): only the chips' register offset; 1900 to 2050 are accepted. */
const setBaseYear = (L: LuaState): number => {
  const year = checkInteger(L, 1);
  if (year < 1900 || year > 2050) raise(L, "invalid base year");
  return 0;
};

export const rtc = defineModule("rtc", {
  functions: { get, set, timerStart, timerStop, timezone, setBaseYear },
});
