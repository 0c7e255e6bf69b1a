// NodeMCU `bmp085` (BMP085/BMP180) over the device's model on bus 0 (0x77): calibration read
// byte by byte, conversions started through 0xF4, the algorithm in the firmware's arithmetic.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { bmp180Pressure, bmp180Temperature, type Bmp180Calibration } from "../../device/chips/bmp180.js";
import { readRegisters, writeTo } from "./platform-i2c.js";

const ADDRESS = 0x77;

const calibrationOf = perBoard((): Bmp180Calibration => ({ AC1: 0, AC2: 0, AC3: 0, AC4: 0, AC5: 0, AC6: 0, B1: 0, B2: 0, MB: 0, MC: 0, MD: 0 }));

function r8(board: Board, register: number): number {
  return readRegisters(board, ADDRESS, register, 1)[0] as number;
}

function r16u(board: Board, register: number): number {
  return (r8(board, register) << 8) | r8(board, register + 1);
}

const r16 = (board: Board, register: number): number => (r16u(board, register) << 16) >> 16;

const setup = (L: LuaState): number => {
  const board = boardOf(L);
  const c = calibrationOf(board);
  c.AC1 = r16(board, 0xaa);
  c.AC2 = r16(board, 0xac);
  c.AC3 = r16(board, 0xae);
  c.AC4 = r16u(board, 0xb0);
  c.AC5 = r16u(board, 0xb2);
  c.AC6 = r16u(board, 0xb4);
  c.B1 = r16(board, 0xb6);
  c.B2 = r16(board, 0xb8);
  c.MB = r16(board, 0xba);
  c.MC = r16(board, 0xbc);
  c.MD = r16(board, 0xbe);
  return 0;
};

function rawB5(board: Board): number {
  writeTo(board, ADDRESS, [0xf4, 0x2e]);
  return bmp180Temperature(r16u(board, 0xf6), calibrationOf(board)).b5;
}

function rawPressure(board: Board, oss: number): number {
  writeTo(board, ADDRESS, [0xf4, 0x34 + 64 * oss]);
  const p = (r8(board, 0xf6) << 16) | (r8(board, 0xf7) << 8) | r8(board, 0xf8);
  return p >> (8 - oss);
}

/** The optional oversampling argument: above 3 is 3. */
function oversampling(L: LuaState): number {
  return lua.lua_isnumber(L, 1) ? Math.min(checkInteger(L, 1) & 0xff, 3) : 0;
}

const temperature = (L: LuaState): number => {
  const b5 = rawB5(boardOf(L));
  lua.lua_pushinteger(L, ((b5 + 8) >> 4 << 16) >> 16);
  return 1;
};

const pressure = (L: LuaState): number => {
  const board = boardOf(L);
  const oss = oversampling(L);
  const up = rawPressure(board, oss);
  lua.lua_pushinteger(L, bmp180Pressure(up, oss, rawB5(board), calibrationOf(board)));
  return 1;
};

const pressure_raw = (L: LuaState): number => {
  lua.lua_pushinteger(L, rawPressure(boardOf(L), oversampling(L)));
  return 1;
};

export const bmp085 = defineModule("bmp085", { functions: { temperature, pressure, pressure_raw, setup } });
