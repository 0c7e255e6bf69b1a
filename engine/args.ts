// Argument checks for bindings, worded as Lua's own C libraries word them
// ("bad argument #2 to 'on' (function expected, got nil)"); method calls count from
// after self, as luaL_argerror does.
import { lua, lauxlib, bytesOf, type LuaState } from "./lua.js";

export function typeNameAt(L: LuaState, idx: number): string {
  if (lua.lua_type(L, idx) === lua.LUA_TNONE) return "no value";
  return new TextDecoder().decode(lauxlib.luaL_typename(L, idx));
}

export function argError(L: LuaState, arg: number, message: string): never {
  return lauxlib.luaL_argerror(L, arg, bytesOf(message));
}

export function typeError(L: LuaState, arg: number, expected: string): never {
  return argError(L, arg, `${expected} expected, got ${typeNameAt(L, arg)}`);
}

/**
 * Raises an error positioned at the Lua code `level` frames up: 1 is the caller of the
 * running function (luaL_error's choice), 2 its caller (for helpers such as searchers).
 */
export function raiseAt(L: LuaState, level: number, message: string): never {
  lauxlib.luaL_where(L, level);
  lua.lua_pushstring(L, bytesOf(message));
  lua.lua_concat(L, 2);
  return lua.lua_error(L);
}

/** Raises a plain Lua error with position information, like luaL_error. */
export function raise(L: LuaState, message: string): never {
  return lauxlib.luaL_error(L, "%s", bytesOf(message));
}

export function checkBytes(L: LuaState, arg: number): Uint8Array {
  const t = lua.lua_type(L, arg);
  if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) typeError(L, arg, "string");
  return lua.lua_tolstring(L, arg) as Uint8Array;
}

export function checkText(L: LuaState, arg: number): string {
  return new TextDecoder().decode(checkBytes(L, arg));
}

export function optText(L: LuaState, arg: number, fallback: string): string {
  return lua.lua_isnoneornil(L, arg) ? fallback : checkText(L, arg);
}

export function checkInteger(L: LuaState, arg: number): number {
  return lauxlib.luaL_checkinteger(L, arg);
}

export function optInteger(L: LuaState, arg: number, fallback: number): number {
  return lauxlib.luaL_optinteger(L, arg, fallback);
}

export function checkNumber(L: LuaState, arg: number): number {
  return lauxlib.luaL_checknumber(L, arg);
}

export function checkFunction(L: LuaState, arg: number): void {
  if (lua.lua_type(L, arg) !== lua.LUA_TFUNCTION) typeError(L, arg, "function");
}

export function checkTable(L: LuaState, arg: number): void {
  if (lua.lua_type(L, arg) !== lua.LUA_TTABLE) typeError(L, arg, "table");
}

export function isFunction(L: LuaState, arg: number): boolean {
  return lua.lua_type(L, arg) === lua.LUA_TFUNCTION;
}

/** Lua truthiness, or for firmware APIs that take 0/1, a non-zero number. */
export function optFlag(L: LuaState, arg: number, fallback: boolean): boolean {
  switch (lua.lua_type(L, arg)) {
    case lua.LUA_TNONE:
    case lua.LUA_TNIL: return fallback;
    case lua.LUA_TNUMBER: return lua.lua_tonumber(L, arg) !== 0;
    default: return lua.lua_toboolean(L, arg);
  }
}

export function checkOption<T extends string>(L: LuaState, arg: number, options: readonly T[], fallback?: T): T {
  if (fallback !== undefined && lua.lua_isnoneornil(L, arg)) return fallback;
  const name = checkText(L, arg);
  if (!(options as readonly string[]).includes(name)) argError(L, arg, `invalid option '${name}'`);
  return name as T;
}
