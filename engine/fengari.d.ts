// fengari ships no types; this declares the part of its C-API mirror moonrig uses.
declare module "fengari" {
  export type LuaString = Uint8Array;
  export interface LuaState { readonly __luaState: unique symbol }
  export type LuaJsFunction = (L: LuaState) => number;
  export interface LuaDebug {
    currentline: number;
    short_src: LuaString;
    source: LuaString | null;
    name: LuaString | null;
    namewhat: LuaString;
    what: LuaString;
    /** Filled by lua_getinfo's "u". */
    nparams?: number;
    isvararg?: boolean;
  }

  export function to_luastring(s: string, cache?: boolean): LuaString;
  export function to_jsstring(s: LuaString, from?: number, to?: number, replacement_char?: boolean): string;
  export function luastring_eq(a: LuaString, b: LuaString): boolean;

  export const lua: {
    LUA_OK: 0; LUA_YIELD: 1; LUA_ERRRUN: 2; LUA_ERRSYNTAX: 3; LUA_ERRMEM: 4; LUA_ERRGCMM: 5; LUA_ERRERR: 6;
    LUA_TNONE: -1; LUA_TNIL: 0; LUA_TBOOLEAN: 1; LUA_TLIGHTUSERDATA: 2; LUA_TNUMBER: 3; LUA_TSTRING: 4;
    LUA_TTABLE: 5; LUA_TFUNCTION: 6; LUA_TUSERDATA: 7; LUA_TTHREAD: 8;
    LUA_MULTRET: -1;
    LUA_MASKCOUNT: number;
    lua_sethook(L: LuaState, fn: ((L: LuaState, ar: LuaDebug) => void) | null, mask: number, count: number): void;
    LUA_REGISTRYINDEX: number;
    LUA_RIDX_GLOBALS: number;
    lua_upvalueindex(i: number): number;
    lua_absindex(L: LuaState, idx: number): number;
    lua_atnativeerror(L: LuaState, fn: LuaJsFunction): void;
    lua_call(L: LuaState, nargs: number, nresults: number): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_concat(L: LuaState, n: number): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_error(L: LuaState): never;
    lua_getfield(L: LuaState, idx: number, k: LuaString | string): number;
    lua_getglobal(L: LuaState, name: LuaString | string): number;
    lua_geti(L: LuaState, idx: number, i: number): number;
    lua_getinfo(L: LuaState, what: LuaString | string, ar: LuaDebug): number;
    lua_getmetatable(L: LuaState, idx: number): boolean;
    lua_getstack(L: LuaState, level: number, ar: LuaDebug): boolean;
    lua_gettable(L: LuaState, idx: number): number;
    lua_gettop(L: LuaState): number;
    lua_insert(L: LuaState, idx: number): void;
    lua_isfunction(L: LuaState, idx: number): boolean;
    lua_isinteger(L: LuaState, idx: number): boolean;
    lua_isnil(L: LuaState, idx: number): boolean;
    lua_isnoneornil(L: LuaState, idx: number): boolean;
    lua_isnumber(L: LuaState, idx: number): boolean;
    lua_isstring(L: LuaState, idx: number): boolean;
    lua_istable(L: LuaState, idx: number): boolean;
    lua_isyieldable(L: LuaState): boolean;
    lua_newtable(L: LuaState): void;
    lua_newthread(L: LuaState): LuaState;
    lua_newuserdata(L: LuaState, size: number): unknown;
    lua_next(L: LuaState, idx: number): boolean;
    lua_pop(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean | number): void;
    lua_pushcclosure(L: LuaState, fn: LuaJsFunction, n: number): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushjsfunction(L: LuaState, fn: LuaJsFunction): void;
    lua_pushlightuserdata(L: LuaState, p: unknown): void;
    lua_pushliteral(L: LuaState, s: string): LuaString;
    lua_pushnil(L: LuaState): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushstring(L: LuaState, s: LuaString | string | null): LuaString;
    lua_pushthread(L: LuaState): boolean;
    lua_pushvalue(L: LuaState, idx: number): void;
    lua_rawequal(L: LuaState, a: number, b: number): boolean;
    lua_rawget(L: LuaState, idx: number): number;
    lua_rawgeti(L: LuaState, idx: number, n: number): number;
    lua_rawlen(L: LuaState, idx: number): number;
    lua_rawset(L: LuaState, idx: number): void;
    lua_rawseti(L: LuaState, idx: number, n: number): void;
    lua_remove(L: LuaState, idx: number): void;
    lua_replace(L: LuaState, idx: number): void;
    lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
    lua_setfield(L: LuaState, idx: number, k: LuaString | string): void;
    lua_setglobal(L: LuaState, name: LuaString | string): void;
    lua_seti(L: LuaState, idx: number, n: number): void;
    lua_setmetatable(L: LuaState, idx: number): void;
    lua_settable(L: LuaState, idx: number): void;
    lua_settop(L: LuaState, idx: number): void;
    lua_status(L: LuaState): number;
    lua_stringtonumber(L: LuaState, s: LuaString): number;
    lua_toboolean(L: LuaState, idx: number): boolean;
    lua_tointeger(L: LuaState, idx: number): number;
    lua_tointegerx(L: LuaState, idx: number): number | false;
    lua_tojsstring(L: LuaState, idx: number): string;
    lua_tolstring(L: LuaState, idx: number): LuaString | null;
    lua_tonumber(L: LuaState, idx: number): number;
    lua_tonumberx(L: LuaState, idx: number): number | false;
    lua_topointer(L: LuaState, idx: number): unknown;
    lua_tothread(L: LuaState, idx: number): LuaState;
    lua_touserdata(L: LuaState, idx: number): unknown;
    lua_type(L: LuaState, idx: number): number;
    lua_typename(L: LuaState, t: number): LuaString;
    lua_xmove(from: LuaState, to: LuaState, n: number): void;
    lua_yield(L: LuaState, n: number): number;
  };

  export const lauxlib: {
    LUA_LOADED_TABLE: LuaString;
    LUA_NOREF: number;
    LUA_REFNIL: number;
    luaL_Reg: unknown;
    luaL_argcheck(L: LuaState, cond: boolean, arg: number, extramsg: string): void;
    luaL_argerror(L: LuaState, arg: number, extramsg: LuaString | string): never;
    luaL_checkany(L: LuaState, arg: number): void;
    luaL_checkinteger(L: LuaState, arg: number): number;
    luaL_checklstring(L: LuaState, arg: number): LuaString;
    luaL_checknumber(L: LuaState, arg: number): number;
    luaL_checkoption(L: LuaState, arg: number, def: string | null, lst: string[]): number;
    luaL_checkstack(L: LuaState, sz: number, msg: string | null): void;
    luaL_checkstring(L: LuaState, arg: number): LuaString;
    luaL_checktype(L: LuaState, arg: number, t: number): void;
    luaL_checkudata(L: LuaState, arg: number, tname: LuaString | string): unknown;
    luaL_error(L: LuaState, fmt: LuaString | string, ...args: unknown[]): never;
    luaL_getmetafield(L: LuaState, obj: number, e: LuaString | string): number;
    luaL_getsubtable(L: LuaState, idx: number, fname: LuaString | string): boolean;
    luaL_len(L: LuaState, idx: number): number;
    luaL_loadbufferx(L: LuaState, buff: LuaString, size: number, name: LuaString | string, mode: LuaString | string | null): number;
    luaL_newmetatable(L: LuaState, tname: LuaString | string): boolean;
    luaL_newstate(): LuaState;
    luaL_optinteger(L: LuaState, arg: number, def: number): number;
    luaL_optnumber(L: LuaState, arg: number, def: number): number;
    luaL_ref(L: LuaState, t: number): number;
    luaL_requiref(L: LuaState, modname: LuaString | string, openf: LuaJsFunction, glb: number | boolean): void;
    luaL_setfuncs(L: LuaState, l: Record<string, LuaJsFunction>, nup: number): void;
    luaL_setmetatable(L: LuaState, tname: LuaString | string): void;
    luaL_testudata(L: LuaState, arg: number, tname: LuaString | string): unknown;
    luaL_tolstring(L: LuaState, idx: number): LuaString;
    luaL_traceback(L: LuaState, L1: LuaState, msg: LuaString | null, level: number): void;
    luaL_typename(L: LuaState, idx: number): LuaString;
    luaL_unref(L: LuaState, t: number, ref: number): void;
    luaL_where(L: LuaState, lvl: number): void;
  };

  export const lualib: {
    luaL_openlibs(L: LuaState): void;
  };

  // fengari is a CommonJS module: its default import is the exports object. Declared so
  // that projects compiling against these types without esModuleInterop accept it too.
  const fengari: { to_luastring: typeof to_luastring; to_jsstring: typeof to_jsstring; luastring_eq: typeof luastring_eq; lua: typeof lua; lauxlib: typeof lauxlib; lualib: typeof lualib };
  export default fengari;
}

// Two internals, for pushing a string without copying its bytes (engine/lua.ts).
declare module "fengari/src/lstring.js" {
  import type { LuaState, LuaString } from "fengari";
  export interface TString { readonly __tstring: unique symbol }
  export function luaS_bless(L: LuaState, bytes: LuaString): TString;
}
declare module "fengari/src/lobject.js" {
  import type { LuaState } from "fengari";
  import type { TString } from "fengari/src/lstring.js";
  export function pushsvalue2s(L: LuaState, ts: TString): void;
}
