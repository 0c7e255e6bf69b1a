// LuatOS `sfud` (serial flash) with no SPI flash chip attached: init finds none, so every
// call fails.
import { lua, type LuaState } from "../../engine/lua.js";
import { defineModule } from "../common/module.js";

const fail = (L: LuaState): number => {
  lua.lua_pushboolean(L, false);
  return 1;
};

const nothing = (L: LuaState): number => {
  lua.lua_pushnil(L);
  return 1;
};

export const sfud = defineModule("sfud", {
  functions: { init: fail, getDeviceNum: (L) => { lua.lua_pushinteger(L, 0); return 1; }, getDevice: nothing, getDeviceTable: nothing, chipErase: fail, erase: fail, read: nothing, write: fail, eraseWrite: fail, mount: fail, getInfo: nothing },
});
