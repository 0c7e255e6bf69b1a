// LuatOS `libgnss`: the NMEA parser of a GNSS receiver. No receiver is wired to the
// simulated board, so there is never a fix: every query answers "not located", with the
// fields the firmware's tables carry set to zero, and the configuration calls do nothing.
import { lua, pushText, type LuaState } from "../../engine/lua.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

function setNumber(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

function setBoolean(L: LuaState, key: string, value: boolean): void {
  lua.lua_pushboolean(L, value);
  lua.lua_setfield(L, -2, key);
}

const isFix = (L: LuaState): number => {
  lua.lua_pushboolean(L, false);
  return 1;
};

/** libgnss.getIntLocation() → lat, lng, speed as integers: 0 without a fix. */
const getIntLocation = (L: LuaState): number => {
  lua.lua_pushinteger(L, 0);
  lua.lua_pushinteger(L, 0);
  lua.lua_pushinteger(L, 0);
  return 3;
};

const getRmc = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 12);
  setBoolean(L, "valid", false);
  for (const key of ["lat", "lng", "speed", "course", "variation", "year", "month", "day", "hour", "min", "sec"]) setNumber(L, key, 0);
  return 1;
};

const getGga = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 8);
  for (const key of ["latitude", "longitude", "fix_quality", "satellites_tracked", "hdop", "altitude", "height", "dgps_age"]) setNumber(L, key, 0);
  return 1;
};

const getGsv = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 2);
  setNumber(L, "total_sats", 0);
  lua.lua_createtable(L, 0, 0);
  lua.lua_setfield(L, -2, "sats");
  return 1;
};

const getGsa = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 6);
  setNumber(L, "mode", 1);
  setNumber(L, "fix_type", 1);
  for (const key of ["pdop", "hdop", "vdop"]) setNumber(L, key, 0);
  lua.lua_createtable(L, 0, 0);
  lua.lua_setfield(L, -2, "sats");
  return 1;
};

const getVtg = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 4);
  for (const key of ["true_track_degrees", "magnetic_track_degrees", "speed_knots", "speed_kph"]) setNumber(L, key, 0);
  return 1;
};

const getZda = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 0);
  return 1;
};

/** libgnss.locStr([mode]) → the position as text: none yet. */
const locStr = (L: LuaState): number => {
  pushText(L, "");
  return 1;
};

/** libgnss.bind(uart_id[, forward_id]): the receiver would talk on that UART; recorded. */
const bind = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("libgnss", "bind", [lua.lua_isinteger(L, 1) ? lua.lua_tointeger(L, 1) : null]);
  return 0;
};

const nothing = (): number => 0;

export const libgnss = defineModule("libgnss", {
  functions: {
    isFix, getIntLocation, getRmc, getGga, getGsv, getGsa, getVtg, getZda, locStr, bind,
    parse: nothing, clear: nothing, debug: nothing, rtcAuto: nothing, on: nothing, casic_aid: nothing,
  },
});
