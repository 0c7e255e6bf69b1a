// NodeMCU `wifi.sta`: the station's configuration, connection and queries, and the status
// monitor of older firmware (eventMonReg/Start/Stop).
import { lua, pushBytes, pushText, textOf, type LuaState } from "../../../engine/lua.js";
import { argError, checkBytes, checkInteger, raise } from "../../../engine/args.js";
import { EVENTS, INVALID_MAC, UNSET_BSSID, SOFTAP, STA_GOTIP, STA_IDLE, DEFAULT_IP, DEFAULT_NETMASK, DEFAULT_GATEWAY } from "./constants.js";
import { broadcastOf, sameBytes, setEventRef, setField, wifiOf, type Network, type StationConfig } from "./radio.js";
import { checkMac, field, parseIpTable, pushIpInfo } from "./args.js";

/** wifi.sleeptype and wifi.sta.sleeptype: the simulated radio stays in modem sleep. */
export const sleeptype = (L: LuaState): number => {
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) {
    const type = checkInteger(L, 1);
    if (type < 0 || type > 2) argError(L, 1, "range:0-2");
    lua.lua_pushinteger(L, type);
  } else {
    lua.lua_pushinteger(L, 2);
  }
  return 1;
};

/**
 * The callbacks config takes, with the firmware's error names. wifi.c reads `connect_cb` and
 * `disconnect_cb`; its documentation says `connected_cb` and `disconnected_cb`: both work here.
 */
const CALLBACK_FIELDS: ReadonlyArray<[string, number, string]> = [
  ["connect_cb", EVENTS.STA_CONNECTED, "connect_cb"],
  ["connected_cb", EVENTS.STA_CONNECTED, "connected_cb"],
  ["disconnect_cb", EVENTS.STA_DISCONNECTED, "disconnect_cb"],
  ["disconnected_cb", EVENTS.STA_DISCONNECTED, "disconnected_cb"],
  ["authmode_change_cb", EVENTS.STA_AUTHMODE_CHANGE, "authmode_change_cb"],
  ["got_ip_cb", EVENTS.STA_GOT_IP, "gotip_cb"],
  ["dhcp_timeout_cb", EVENTS.STA_DHCP_TIMEOUT, "dhcp_timeout_cb"],
];

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
    save = true;
    if (field(L, "save", lua.LUA_TBOOLEAN, "save:not boolean")) {
      save = lua.lua_toboolean(L, -1);
      lua.lua_pop(L, 1);
    }
    for (const [key, event, name] of CALLBACK_FIELDS) {
      if (field(L, key, lua.LUA_TFUNCTION, `${name}:not function`)) {
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

/** connect([fn]) and disconnect([fn]): fn becomes the STA_CONNECTED (STA_DISCONNECTED) event's callback, as in wifi.c. */
const staConnect = (L: LuaState): number => {
  const wifi = wifiOf(L);
  if (lua.lua_type(L, 1) === lua.LUA_TFUNCTION) setEventRef(L, wifi, EVENTS.STA_CONNECTED, 1);
  wifi.connect();
  return 0;
};

const staDisconnect = (L: LuaState): number => {
  const wifi = wifiOf(L);
  if (lua.lua_type(L, 1) === lua.LUA_TFUNCTION) setEventRef(L, wifi, EVENTS.STA_DISCONNECTED, 1);
  wifi.disconnect();
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

/**
 * getconfig/getdefaultconfig. wifi.c tests `sta_conf.ssid == 0`, an array against 0, so it
 * never returns nil: a board with nothing saved answers with empty strings. The BSSID is the
 * configured one, else the associated access point's, else ff:ff:ff:ff:ff:ff (the docs).
 */
function pushConfig(L: LuaState, config: StationConfig | undefined, associated: string | undefined): number {
  const ssid = config?.ssid ?? new Uint8Array(0);
  const pwd = config?.pwd ?? new Uint8Array(0);
  const bssid = config?.bssid ?? associated ?? UNSET_BSSID;
  const bssidSet = config?.bssid !== undefined;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 1)) {
    lua.lua_createtable(L, 0, 4);
    setField(L, "ssid", ssid);
    if (pwd.length > 0) setField(L, "pwd", pwd);
    lua.lua_pushboolean(L, bssidSet);
    lua.lua_setfield(L, -2, "bssid_set");
    setField(L, "bssid", bssid);
    return 1;
  }
  pushBytes(L, ssid);
  pushBytes(L, pwd);
  lua.lua_pushinteger(L, bssidSet ? 1 : 0);
  pushText(L, bssid);
  return 4;
}

const staGetconfig = (L: LuaState): number => {
  const wifi = wifiOf(L);
  return pushConfig(L, wifi.config, wifi.network?.bssid);
};

const staGetdefaultconfig = (L: LuaState): number => {
  const wifi = wifiOf(L);
  const saved = wifi.saved.config;
  return pushConfig(L, saved, saved === wifi.config ? wifi.network?.bssid : undefined);
};

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

export const staFunctions = {
  config: staConfig, connect: staConnect, disconnect: staDisconnect, autoconnect: staAutoconnect,
  getip: staGetip, setip: staSetip, getbroadcast: staGetbroadcast, getmac: staGetmac, setmac: staSetmac,
  getrssi: staGetrssi, status: staStatus, gethostname: staGethostname, sethostname: staSethostname,
  getconfig: staGetconfig, getdefaultconfig: staGetdefaultconfig, clearconfig: staClearconfig,
  getap: staGetap, sleeptype: staSleeptype, getapinfo: staGetapinfo, getapindex: staGetapindex,
  setaplimit: staRange15, changeap: staRange15,
  eventMonReg: staEventMonReg, eventMonStart: staEventMonStart, eventMonStop: staEventMonStop,
};
