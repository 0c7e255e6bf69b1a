// The Lua 5.1 global the firmware's build keeps (LUA_COMPAT_5_1's `unpack`).
import { lua } from "../../engine/lua.js";
import type { Board } from "../../runtime/board.js";

export function installLua51Globals(board: Board): void {
  const L = board.L;
  lua.lua_getglobal(L, "table");
  lua.lua_getfield(L, -1, "unpack");
  lua.lua_setglobal(L, "unpack");
  lua.lua_pop(L, 1);
}
