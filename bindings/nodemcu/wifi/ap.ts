// NodeMCU `wifi.ap`: the simulated access point (configuration, addresses; no station ever
// joins it) and its DHCP server table `wifi.ap.dhcp`.
import { lua, pushBytes, pushText, textOf, type LuaState } from "../../../engine/lua.js";
import { argError, checkBytes, raise, typeError } from "../../../engine/args.js";
import { AUTH_OPEN, AUTH_WPA_WPA2_PSK, INVALID_MAC, SOFTAP, STATION, STATIONAP } from "./constants.js";
import { broadcastOf, intToIp, ipToInt, setField, wifiOf, type Wifi } from "./radio.js";
import { checkMac, field, parseIpTable, pushIpInfo } from "./args.js";

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

export const apFunctions = {
  config: apConfig, getip: apGetip, setip: apSetip, getbroadcast: apGetbroadcast, getmac: apGetmac,
  setmac: apSetmac, getclient: apGetclient, getconfig: apGetconfig, getdefaultconfig: apGetconfig, deauth: apDeauth,
};

export const dhcpFunctions = { config: dhcpConfig, start: dhcpToggle, stop: dhcpToggle };
