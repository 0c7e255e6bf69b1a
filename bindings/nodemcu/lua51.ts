// Lua 5.1 names that NodeMCU's Lua 5.1 firmware had and old scripts still call.
import { lua, lauxlib, type LuaState } from "../../engine/lua.js";
import { checkNumber } from "../../engine/args.js";
import type { Board } from "../../runtime/board.js";

function alias(L: LuaState, fromTable: string | null, fromName: string, toTable: string | null, toName: string): void {
  if (fromTable) {
    lua.lua_getglobal(L, fromTable);
    lua.lua_getfield(L, -1, fromName);
    lua.lua_remove(L, -2);
  } else {
    lua.lua_getglobal(L, fromName);
  }
  if (toTable) {
    lua.lua_getglobal(L, toTable);
    lua.lua_insert(L, -2);
    lua.lua_setfield(L, -2, toName);
    lua.lua_pop(L, 1);
  } else {
    lua.lua_setglobal(L, toName);
  }
}

const getn = (L: LuaState): number => {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_pushinteger(L, lauxlib.luaL_len(L, 1));
  return 1;
};

const pow = (L: LuaState): number => {
  lua.lua_pushnumber(L, Math.pow(checkNumber(L, 1), checkNumber(L, 2)));
  return 1;
};

export function installLua51Names(board: Board): void {
  const L = board.L;
  alias(L, "table", "unpack", null, "unpack");
  alias(L, null, "load", null, "loadstring");
  alias(L, "math", "fmod", "math", "mod");
  alias(L, "string", "gmatch", "string", "gfind");
  lua.lua_getglobal(L, "table");
  lua.lua_pushjsfunction(L, getn);
  lua.lua_setfield(L, -2, "getn");
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, "math");
  lua.lua_pushjsfunction(L, pow);
  lua.lua_setfield(L, -2, "pow");
  lua.lua_pop(L, 1);
}
