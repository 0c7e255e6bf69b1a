// The LuatOS firmware's additions to Lua's own `string`, `io` and `os` tables, installed
// at every boot (string-ext.ts, io.ts, os-ext.ts).
import { lua, setFunctions, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import type { Board } from "../../runtime/board.js";
import { stringFunctions } from "./string-ext.js";
import { installIo } from "./io.js";
import { osRemove, osRename } from "./os-ext.js";

function installInto(L: LuaState, table: string, functions: Record<string, LuaJsFunction>): void {
  lua.lua_getglobal(L, table);
  setFunctions(L, -1, functions);
  lua.lua_pop(L, 1);
}

/** The LuatOS flavor's per-boot changes to the standard library. */
export function installLuatosStdlib(board: Board): void {
  const L = board.L;
  installInto(L, "string", stringFunctions);
  installIo(L);
  installInto(L, "os", { remove: osRemove, rename: osRename });
}
