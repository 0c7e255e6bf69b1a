// LuatOS's os.time and os.date. The device's C library has no time zone: os.time reads a
// date table as UTC (accepting the rtc library's `mon` as well as `month`), and os.date
// formats in the zone rtc.timezone sets (whole hours of it, UTC+8 by default) unless the
// format starts with '!'. Both read the device clock, which rtc.set moves.
import { lua, lauxlib, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkTable, optInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { deviceNowMs, timezoneOf } from "./rtc.js";

/** Lua 5.3's bound on a date field (INT_MAX / 2 for a 32-bit int). */
const MAX_DATE_FIELD = 0x3fffffff;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

function deviceSeconds(L: LuaState): number {
  return Math.floor(deviceNowMs(boardOf(L)) / 1000);
}

/** Lua 5.3's getfield: a default when absent (an error when there is none), integers only. */
function getField(L: LuaState, key: string, fallback: number | undefined, delta: number): number {
  const type = lua.lua_getfield(L, 1, key);
  const value = lua.lua_tointegerx(L, -1);
  lua.lua_pop(L, 1);
  if (value === false) {
    if (type !== lua.LUA_TNIL) raise(L, `field '${key}' is not an integer`);
    if (fallback === undefined) raise(L, `field '${key}' missing in date table`);
    return fallback;
  }
  if (value < -MAX_DATE_FIELD || value > MAX_DATE_FIELD) raise(L, `field '${key}' is out-of-bound`);
  return value - delta;
}

function setField(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

/** Lua's setallfields for a UTC date (the device's mktime and gmtime never see daylight saving). */
function setAllFields(L: LuaState, date: Date): void {
  setField(L, "sec", date.getUTCSeconds());
  setField(L, "min", date.getUTCMinutes());
  setField(L, "hour", date.getUTCHours());
  setField(L, "day", date.getUTCDate());
  setField(L, "month", date.getUTCMonth() + 1);
  setField(L, "year", date.getUTCFullYear());
  setField(L, "wday", date.getUTCDay() + 1);
  setField(L, "yday", Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86400000) + 1);
  lua.lua_pushboolean(L, false);
  lua.lua_setfield(L, -2, "isdst");
}

const osTime = (L: LuaState): number => {
  if (lua.lua_isnoneornil(L, 1)) {
    lua.lua_pushinteger(L, deviceSeconds(L));
    return 1;
  }
  checkTable(L, 1);
  lua.lua_settop(L, 1);
  const sec = getField(L, "sec", 0, 0);
  const min = getField(L, "min", 0, 0);
  const hour = getField(L, "hour", 12, 0);
  const day = getField(L, "day", undefined, 0);
  const year = getField(L, "year", undefined, 1900);
  let mon: number;
  if (lua.lua_getfield(L, 1, "mon") !== lua.LUA_TNIL) {
    mon = (lua.lua_tointegerx(L, -1) || 0) - 1;
    lua.lua_pop(L, 1);
  } else {
    lua.lua_pop(L, 1);
    mon = getField(L, "month", undefined, 1);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year + 1900, mon, day);
  utc.setUTCHours(hour, min, sec);
  const seconds = Math.floor(utc.getTime() / 1000);
  // time_t and the VM's integers are 32-bit; -1 is mktime's failure value.
  if (!Number.isFinite(seconds) || seconds > INT32_MAX || seconds < INT32_MIN || seconds === -1) {
    raise(L, "time result cannot be represented in this installation");
  }
  setAllFields(L, utc);
  lua.lua_pushinteger(L, seconds);
  return 1;
};

const UTC_TABLE = Uint8Array.of(0x21, 0x2a, 0x74); // "!*t"

/** Wraps the standard os.date (already right for '!' formats): local formats are shifted by the rtc zone. */
function osDate(original: number): (L: LuaState) => number {
  return (L) => {
    const format = lua.lua_isnoneornil(L, 1) ? Uint8Array.of(0x25, 0x63) : checkBytes(L, 1);
    const seconds = lua.lua_isnoneornil(L, 2) ? deviceSeconds(L) : optInteger(L, 2, 0);
    const utc = format[0] === 0x21;
    const shift = utc ? 0 : Math.trunc(timezoneOf(boardOf(L)) / 4) * 3600;
    const asTable = format.length === (utc ? 3 : 2) && format[format.length - 2] === 0x2a && format[format.length - 1] === 0x74;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, original);
    lua.lua_pushstring(L, asTable ? UTC_TABLE : utc ? format : Uint8Array.of(0x21, ...format));
    lua.lua_pushinteger(L, seconds + shift);
    lua.lua_call(L, 2, 1);
    if (asTable) {
      lua.lua_pushboolean(L, false);
      lua.lua_setfield(L, -2, "isdst");
    }
    return 1;
  };
}

/** Replaces os.time and os.date at boot. */
export function installOsTime(board: Board): void {
  const L = board.L;
  lua.lua_getglobal(L, "os");
  lua.lua_getfield(L, -1, "date");
  const original = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  lua.lua_pushjsfunction(L, osDate(original));
  lua.lua_setfield(L, -2, "date");
  lua.lua_pushjsfunction(L, osTime);
  lua.lua_setfield(L, -2, "time");
  lua.lua_pop(L, 1);
}
