// Argument checks shared by wifi.sta and wifi.ap, with the firmware's messages.
import { lua, pushText, textOf, type LuaState } from "../../../engine/lua.js";
import { argError, raise } from "../../../engine/args.js";
import type { IpInfo } from "./radio.js";

/** A field of the table at arg 1, type-checked with the firmware's message; undefined when nil. */
export function field(L: LuaState, key: string, type: number, message: string): boolean {
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

export function checkMac(L: LuaState, arg: number, message: string, bytes: Uint8Array): string {
  if (bytes.length !== 17) argError(L, arg, message);
  return textOf(bytes).toLowerCase();
}

export function pushIpInfo(L: LuaState, info: IpInfo | undefined): number {
  if (!info) {
    lua.lua_pushnil(L);
    return 1;
  }
  pushText(L, info.ip);
  pushText(L, info.netmask);
  pushText(L, info.gateway);
  return 3;
}

export function parseIpTable(L: LuaState, base: IpInfo, apMode: boolean): IpInfo {
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

