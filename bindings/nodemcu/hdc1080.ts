// NodeMCU `hdc1080` over the device's HDC1080 model on bus 0 (0x40): setup writes the
// configuration the firmware writes (11-bit temperature and humidity, one at a time), read
// points at each result register and reads its two bytes, computed as the firmware's float
// build does (single precision).
import { lua, type LuaState } from "../../engine/lua.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS = 0x40;
const TEMPERATURE_REGISTER = 0x00;
const HUMIDITY_REGISTER = 0x01;
const CONFIG_REGISTER = 0x02;

function measure(board: Board, register: number): number {
  writeTo(board, ADDRESS, [register]);
  const data = readFrom(board, ADDRESS, 2);
  return ((data[0] as number) << 8) | (data[1] as number);
}

const setup = (L: LuaState): number => {
  writeTo(boardOf(L), ADDRESS, [CONFIG_REGISTER, 0x05, 0x00]);
  return 0;
};

const read = (L: LuaState): number => {
  const board = boardOf(L);
  const f = Math.fround;
  const temperature = f(f(f(measure(board, TEMPERATURE_REGISTER)) / 65536) * 165) - 40;
  lua.lua_pushnumber(L, f(temperature));
  const humidity = f(f(f(measure(board, HUMIDITY_REGISTER)) / 65536) * 100);
  lua.lua_pushnumber(L, humidity);
  return 2;
};

export const hdc1080 = defineModule("hdc1080", { functions: { setup, read } });
