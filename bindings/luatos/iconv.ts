// LuatOS `iconv`, present but without conversion tables in this build: iconv.open finds no
// converter for any pair and answers nil, as the firmware does for a pair it lacks.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const open = (L: LuaState): number => {
  checkBytes(L, 1);
  checkBytes(L, 2);
  lua.lua_pushnil(L);
  return 1;
};

export const iconv = defineModule("iconv", { functions: { open } });
