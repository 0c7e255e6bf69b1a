// LuatOS `i2s` on a board with no I2S bus wired: setup and transfers fail as the driver
// answers for a missing bus.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

/** i2s.setup(id, ...) → false and the driver's error code. */
const setup = (L: LuaState): number => {
  checkInteger(L, 1);
  lua.lua_pushboolean(L, false);
  lua.lua_pushinteger(L, -1);
  return 2;
};

const fail = (L: LuaState): number => {
  lua.lua_pushboolean(L, false);
  return 1;
};

const nothing = (): number => 0;

export const i2s = defineModule("i2s", {
  functions: { setup, send: fail, recv: fail, close: nothing, on: nothing, getPara: fail, txStat: fail },
  constants: { MODE_I2S: 0, MODE_LSB: 1, MODE_MSB: 1, STEREO: 0, LEFT: 1, RIGHT: 2 },
});
