// The parts of Lua's base and os libraries that must talk to the runtime instead of the
// process: print goes to the runtime's stdout as bytes, os.exit ends the run (not the
// host process), and collectgarbage works (fengari raises on every call). fengari's os
// functions that reach the host go: neither firmware has them on the device.
import { lua, lauxlib, bytesOf, type LuaState } from "../engine/lua.js";
import { checkOption, typeError, optInteger } from "../engine/args.js";
import { boardOf, type Board } from "./board.js";

const TAB = 0x09;
const NEWLINE = 0x0a;

const print = (L: LuaState): number => {
  const n = lua.lua_gettop(L);
  const parts: Uint8Array[] = [];
  let size = 1;
  for (let i = 1; i <= n; i++) {
    const bytes = lauxlib.luaL_tolstring(L, i);
    lua.lua_pop(L, 1);
    parts.push(bytes);
    size += bytes.length + (i > 1 ? 1 : 0);
  }
  const line = new Uint8Array(size);
  let offset = 0;
  parts.forEach((bytes, i) => {
    if (i > 0) line[offset++] = TAB;
    line.set(bytes, offset);
    offset += bytes.length;
  });
  line[offset] = NEWLINE;
  boardOf(L).write(line);
  return 0;
};

const ioWrite = (L: LuaState): number => {
  const n = lua.lua_gettop(L);
  const board = boardOf(L);
  for (let i = 1; i <= n; i++) {
    const t = lua.lua_type(L, i);
    if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) typeError(L, i, "string");
    board.write(lua.lua_tolstring(L, i) as Uint8Array);
  }
  lua.lua_getglobal(L, "io");
  lua.lua_getfield(L, -1, "stdout");
  return 1;
};

const GC_OPTIONS: readonly string[] = ["stop", "restart", "collect", "count", "step", "setpause", "setstepmul", "isrunning", "incremental", "generational"];

/** Plausible Lua heap figures: collectgarbage("count") in KiB, never raising. */
const collectgarbage = (L: LuaState): number => {
  const option = checkOption(L, 1, GC_OPTIONS, "collect");
  optInteger(L, 2, 0);
  switch (option) {
    case "count": {
      const kib = 24 + (process.memoryUsage().heapUsed % 65536) / 1024;
      lua.lua_pushnumber(L, kib);
      return 1;
    }
    case "isrunning":
      lua.lua_pushboolean(L, true);
      return 1;
    case "step":
      lua.lua_pushboolean(L, true);
      return 1;
    case "setpause":
      lua.lua_pushinteger(L, 200);
      return 1;
    case "setstepmul":
      lua.lua_pushinteger(L, 100);
      return 1;
    default:
      lua.lua_pushinteger(L, 0);
      return 1;
  }
};

/**
 * fengari's os.date keeps a leading "!" in the output instead of formatting in UTC (only
 * "!*t" works). Shifting the time by the local offset and formatting it as local time
 * gives C Lua's UTC result.
 */
function fixUtcDate(L: LuaState): void {
  lua.lua_getglobal(L, "os");
  lua.lua_getfield(L, -1, "date");
  const original = lua.lua_gettop(L);
  lua.lua_pushvalue(L, original);
  lua.lua_pushcclosure(L, (L1) => {
    const format = lua.lua_type(L1, 1) === lua.LUA_TSTRING ? (lua.lua_tolstring(L1, 1) as Uint8Array) : undefined;
    const utc = format !== undefined && format[0] === 0x21 && !(format[1] === 0x2a && format[2] === 0x74);
    lua.lua_pushvalue(L1, lua.lua_upvalueindex(1));
    if (!utc) {
      lua.lua_insert(L1, 1);
      lua.lua_call(L1, lua.lua_gettop(L1) - 1, 1);
      return 1;
    }
    const seconds = lua.lua_isnoneornil(L1, 2) ? Math.floor(Date.now() / 1000) : optInteger(L1, 2, 0);
    const offset = new Date(seconds * 1000).getTimezoneOffset() * 60;
    lua.lua_pushstring(L1, format.subarray(1));
    lua.lua_pushinteger(L1, seconds + offset);
    lua.lua_call(L1, 2, 1);
    return 1;
  }, 1);
  lua.lua_setfield(L, -3, "date");
  lua.lua_pop(L, 2);
}

const osExit = (L: LuaState): number => {
  let code: number;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) code = lua.lua_toboolean(L, 1) ? 0 : 1;
  else code = optInteger(L, 1, 0);
  return boardOf(L).raiseExit(L, code);
};

/**
 * fengari's os functions a device does not have: NodeMCU builds no os library at all, and
 * LuatOS compiles these only into its PC simulator (lua/src/loslib.c); remove and rename
 * come back in the LuatOS flavor, confined to the flash folder.
 */
const HOST_OS_FUNCTIONS = ["execute", "getenv", "tmpname", "setlocale", "remove", "rename"];

export function installBaseLibrary(board: Board, scriptArgs: readonly string[], scriptName: string): void {
  const L = board.L;
  lua.lua_pushjsfunction(L, print);
  lua.lua_setglobal(L, "print");
  lua.lua_pushjsfunction(L, collectgarbage);
  lua.lua_setglobal(L, "collectgarbage");
  lua.lua_getglobal(L, "os");
  lua.lua_pushjsfunction(L, osExit);
  lua.lua_setfield(L, -2, "exit");
  for (const name of HOST_OS_FUNCTIONS) {
    lua.lua_pushnil(L);
    lua.lua_setfield(L, -2, name);
  }
  lua.lua_pop(L, 1);
  fixUtcDate(L);
  lua.lua_getglobal(L, "io");
  lua.lua_pushjsfunction(L, ioWrite);
  lua.lua_setfield(L, -2, "write");
  lua.lua_pop(L, 1);

  // `arg` as lua.c builds it: the script at 0, its arguments from 1.
  lua.lua_createtable(L, scriptArgs.length, 1);
  lua.lua_pushstring(L, bytesOf(scriptName));
  lua.lua_rawseti(L, -2, 0);
  scriptArgs.forEach((value, i) => {
    lua.lua_pushstring(L, bytesOf(value));
    lua.lua_rawseti(L, -2, i + 1);
  });
  lua.lua_setglobal(L, "arg");
}
