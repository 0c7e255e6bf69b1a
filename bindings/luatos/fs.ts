// LuatOS `fs`: the firmware opens it as the `io` library itself (fsstat and fsize moved
// there), so `fs` is the very table `io` is.
import { lua, type LuaState } from "../../engine/lua.js";
import type { ModuleDef } from "../../runtime/board.js";

export const fs: ModuleDef = {
  name: "fs",
  open(L: LuaState): void {
    lua.lua_getglobal(L, "io");
  },
};
