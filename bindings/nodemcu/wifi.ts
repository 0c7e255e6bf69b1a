// NodeMCU `wifi` (ESP8266): a simulated station that joins whatever network the script
// configures, or what the device file lists. Joining takes two steps, each
// `connectDelayMs` (default 300 ms) apart, as on the device: associated (STA_CONNECTED),
// then an address from DHCP (STA_GOT_IP). A network the device file does not list is not
// found (reason 201), a wrong password fails the handshake (reason 15), and the station
// keeps retrying like the SDK does. While the first attempt is under way it keeps the
// script alive; retries do not.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, raise, typeError } from "../../engine/args.js";
import { defineModule } from "../common/module.js";
import {
  AUTH_OPEN, AUTH_WPA2_PSK, AUTH_WPA_WPA2_PSK, EVENTS, NULLMODE, SOFTAP, STA_APNOTFOUND, STA_CONNECTING, STA_FAIL,
  STA_GOTIP, STA_IDLE, STA_WRONGPWD, STATION, STATIONAP,
} from "./wifi/constants.js";
import { wifiOf } from "./wifi/radio.js";
import { sleeptype, staFunctions } from "./wifi/sta.js";
import { apFunctions, dhcpFunctions } from "./wifi/ap.js";
import { eventmonFunctions, REASONS } from "./wifi/eventmon.js";

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

const nullmodesleep = (L: LuaState): number => {
  lua.lua_pushboolean(L, lua.lua_type(L, 1) === lua.LUA_TNONE ? true : lua.lua_toboolean(L, 1));
  return 1;
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
    sta: { functions: staFunctions },
    ap: { functions: apFunctions },
    eventmon: { functions: eventmonFunctions, constants: EVENTS },
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
    for (const [name, fn] of Object.entries(dhcpFunctions)) {
      lua.lua_pushjsfunction(L, fn);
      lua.lua_setfield(L, -2, name);
    }
    lua.lua_setfield(L, -2, "dhcp");
    lua.lua_pop(L, 1);
    // A configuration saved to flash on an earlier boot connects by itself, as on the device.
    const state = wifiOf(board.L);
    if (state.autoconnect) state.connect(false);
  },
});
