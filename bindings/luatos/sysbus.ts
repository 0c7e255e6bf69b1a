// System messages from the JS side (NTP_UPDATE, WLAN_STA_INC, IP_READY ...), delivered as
// the firmware's C code delivers them: by calling sys.publish (the global sys_pub) from
// the main loop, never while Lua is running.
import { lua, lauxlib, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { ExitUnwind, LuaFailure, type Board } from "../../runtime/board.js";

export type SysValue = string | number | boolean | Uint8Array;

function pushValue(L: LuaState, value: SysValue): void {
  if (typeof value === "string") pushText(L, value);
  else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
  else if (typeof value === "number") {
    if (Number.isInteger(value)) lua.lua_pushinteger(L, value);
    else lua.lua_pushnumber(L, value);
  } else pushBytes(L, value);
}

/**
 * Pushes the sys module: the one already loaded, else the result of require("sys"). False
 * (nothing pushed) when sys cannot be loaded; a board without sys has nobody to tell.
 */
function pushSys(board: Board, L: LuaState): boolean {
  lauxlib.luaL_getsubtable(L, lua.LUA_REGISTRYINDEX, lauxlib.LUA_LOADED_TABLE);
  lua.lua_getfield(L, -1, "sys");
  lua.lua_remove(L, -2);
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) return true;
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, "require");
  if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
    lua.lua_pop(L, 1);
    return false;
  }
  pushText(L, "sys");
  try {
    board.protectedCall(1, 1);
  } catch (error) {
    if (error instanceof LuaFailure || error instanceof ExitUnwind) return false;
    throw error;
  }
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) return true;
  lua.lua_pop(L, 1);
  return false;
}

/** Queues `sys.publish(id, ...args)` for the main loop. */
export function publishSys(board: Board, id: string, ...args: SysValue[]): void {
  board.post(() => {
    const L = board.L;
    const top = lua.lua_gettop(L);
    try {
      if (!pushSys(board, L)) return;
      lua.lua_getfield(L, -1, "publish");
      if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) return;
      pushText(L, id);
      for (const value of args) pushValue(L, value);
      board.callTop(1 + args.length);
    } finally {
      lua.lua_settop(L, top);
    }
  });
}
