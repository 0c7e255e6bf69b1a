// Typed access to fengari plus the byte-level conversions every binding needs.
// Lua strings are bytes: values cross into JS as Uint8Array and never through a JS string
// unless the caller asks for text explicitly.
import fengari from "fengari";
import type { LuaState, LuaJsFunction, LuaString, LuaDebug } from "fengari";
import { luaS_bless } from "fengari/src/lstring.js";
import { pushsvalue2s } from "fengari/src/lobject.js";

export type { LuaState, LuaJsFunction, LuaString, LuaDebug };
export const lua = fengari.lua;
export const lauxlib = fengari.lauxlib;
export const lualib = fengari.lualib;
export const toLuaString = fengari.to_luastring;
export const fromLuaString = fengari.to_jsstring;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

export function textOf(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

export function pushBytes(L: LuaState, bytes: Uint8Array): void {
  lua.lua_pushstring(L, bytes);
}

/**
 * pushBytes without the copy, for bytes that nothing changes afterwards (a received
 * payload): the string shares their memory. Copying a 4 KiB payload cost more than the
 * rest of its delivery to a Lua callback.
 */
export function pushBytesShared(L: LuaState, bytes: Uint8Array): void {
  // fengari gets a plain Uint8Array: a Buffer's slice() shares memory, Uint8Array's copies.
  const view = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  pushsvalue2s(L, luaS_bless(L, view));
}

export function pushText(L: LuaState, text: string): void {
  lua.lua_pushstring(L, utf8.encode(text));
}

/** The bytes of a string (or number, per Lua coercion) at idx; null for other types. */
export function toBytes(L: LuaState, idx: number): Uint8Array | null {
  return lua.lua_tolstring(L, idx);
}

/** Lua's own tostring() of any value, honouring __tostring and __name. */
export function toDisplayBytes(L: LuaState, idx: number): Uint8Array {
  const bytes = lauxlib.luaL_tolstring(L, idx);
  lua.lua_pop(L, 1);
  return bytes;
}

/**
 * How many arguments the function at `idx` can see: its fixed parameters for a Lua
 * function without `...`, else all of them. Extra arguments to such a function are
 * dropped on entry, so a caller may spare building them.
 */
/** A record for lua_getstack/lua_getinfo (fengari fills any object; its lua_Debug class is untyped). */
export function debugRecord(): LuaDebug {
  return { currentline: 0, short_src: new Uint8Array(), source: null, name: null, namewhat: new Uint8Array(), what: new Uint8Array() };
}

export function visibleArgs(L: LuaState, idx: number): number {
  const ar = debugRecord();
  lua.lua_pushvalue(L, idx);
  lua.lua_getinfo(L, ">u", ar);
  // fengari reports a JS function as vararg.
  return ar.isvararg || ar.nparams === undefined ? Infinity : ar.nparams;
}

export function setFunctions(L: LuaState, idx: number, functions: Record<string, LuaJsFunction>): void {
  const table = lua.lua_absindex(L, idx);
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushjsfunction(L, fn);
    lua.lua_setfield(L, table, name);
  }
}

export type LuaConstant = number | string | boolean;

export function setConstants(L: LuaState, idx: number, constants: Record<string, LuaConstant>): void {
  const table = lua.lua_absindex(L, idx);
  for (const [name, value] of Object.entries(constants)) {
    if (typeof value === "number") {
      if (Number.isInteger(value)) lua.lua_pushinteger(L, value);
      else lua.lua_pushnumber(L, value);
    } else if (typeof value === "string") pushText(L, value);
    else lua.lua_pushboolean(L, value);
    lua.lua_setfield(L, table, name);
  }
}

/** A JS object carried by a full userdata; fengari gives every userdata a plain data object. */
interface UserdataBox<T> { value?: T }

export function pushUserdata<T>(L: LuaState, value: T, metatable: string): void {
  const box = lua.lua_newuserdata(L, 0) as UserdataBox<T>;
  box.value = value;
  lauxlib.luaL_setmetatable(L, metatable);
}

export function testUserdata<T>(L: LuaState, idx: number, metatable: string): T | undefined {
  const box = lauxlib.luaL_testudata(L, idx, metatable) as UserdataBox<T> | null;
  return box?.value;
}

export function checkUserdata<T>(L: LuaState, idx: number, metatable: string): T {
  const box = lauxlib.luaL_checkudata(L, idx, metatable) as UserdataBox<T>;
  return box.value as T;
}

/** JS values a Lua value converts to for the embedding API: strings stay bytes (Buffer). */
export type JsValue = null | boolean | number | Buffer | JsValue[] | { [key: string]: JsValue } | string;

export function toJsValue(L: LuaState, idx: number, depth = 0): JsValue {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TBOOLEAN: return lua.lua_toboolean(L, idx);
    case lua.LUA_TNUMBER: return lua.lua_tonumber(L, idx);
    case lua.LUA_TSTRING: return Buffer.from(lua.lua_tolstring(L, idx) as Uint8Array);
    case lua.LUA_TTABLE: {
      if (depth > 20) return textOf(toDisplayBytes(L, idx));
      const table = lua.lua_absindex(L, idx);
      const entries: Array<[JsValue, JsValue]> = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, table)) {
        entries.push([toJsValue(L, -2, depth + 1), toJsValue(L, -1, depth + 1)]);
        lua.lua_pop(L, 1);
      }
      // A sequence 1..n becomes an array; anything else an object with string keys.
      const isArray = entries.length > 0 && entries.every(([k]) => typeof k === "number" && Number.isInteger(k) && k >= 1 && k <= entries.length);
      if (isArray) {
        const list: JsValue[] = new Array<JsValue>(entries.length);
        for (const [k, v] of entries) list[(k as number) - 1] = v;
        return list;
      }
      const record: { [key: string]: JsValue } = {};
      for (const [k, v] of entries) record[Buffer.isBuffer(k) ? k.toString() : String(k)] = v;
      return record;
    }
    case lua.LUA_TNIL:
    case lua.LUA_TNONE:
      return null;
    default:
      return textOf(toDisplayBytes(L, idx));
  }
}
