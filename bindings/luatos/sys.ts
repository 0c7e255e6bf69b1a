// LuatOS `sys` as a global: the firmware preloads it, so scripts that use `sys.` without
// require("sys") still find it. The module itself is lua/sys.lua.
import { lua, type LuaState } from "../../engine/lua.js";
import type { ModuleDef } from "../../runtime/board.js";

export const sys: ModuleDef = {
  name: "sys",
  library: true,
  open(L: LuaState): void {
    lua.lua_getglobal(L, "require");
    lua.lua_pushstring(L, "sys");
    lua.lua_call(L, 1, 1);
  },
};
