// NodeMCU `hmc5883l` over the device's HMC5883L model on bus 0 (0x1E): setup checks the
// identification registers and selects 8-sample averaging at 15 Hz, gain 5 (390 LSb/Ga) and
// continuous measurement; read returns the signed X, Y and Z counts.
import { lua, type LuaState } from "../../engine/lua.js";
import { raise } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS = 0x1e;
const ID = [0x48, 0x34, 0x33];

const int16 = (high: number, low: number): number => (((high << 8) | low) << 16) >> 16;

const setup = (L: LuaState): number => {
  const board = boardOf(L);
  const id = [10, 11, 12].map((register) => {
    writeTo(board, ADDRESS, [register]);
    return readFrom(board, ADDRESS, 1)[0];
  });
  if (id.some((byte, i) => byte !== ID[i])) raise(L, "device not found");
  writeTo(board, ADDRESS, [0x00, 0x70]);
  writeTo(board, ADDRESS, [0x01, 0xa0]);
  writeTo(board, ADDRESS, [0x02, 0x00]);
  return 0;
};

const read = (L: LuaState): number => {
  const board = boardOf(L);
  writeTo(board, ADDRESS, [0x03]);
  const d = readFrom(board, ADDRESS, 6);
  const [x, z, y] = [0, 2, 4].map((i) => int16(d[i] as number, d[i + 1] as number));
  lua.lua_pushinteger(L, x as number);
  lua.lua_pushinteger(L, y as number);
  lua.lua_pushinteger(L, z as number);
  return 3;
};

export const hmc5883l = defineModule("hmc5883l", { functions: { read, setup } });
