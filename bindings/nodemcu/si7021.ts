// NodeMCU `si7021` over the device's Si7021 model on bus 0 (0x40), command by command as
// the firmware sends them; its module state (resolution, heater) lives in the board.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { crc8 } from "../../device/crc.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS = 0x40;
const MEASURE_RH_HOLD = 0xe5;
const READ_PREV_TEMP = 0xe0;
const RESET = 0xfe;
const WRITE_RHT_REG = 0xe6;
const READ_RHT_REG = 0xe7;
const WRITE_HEATER_REG = 0x51;
const READ_HEATER_REG = 0x11;
const RH12_TEMP14 = 0x00;
const RH08_TEMP12 = 0x01;
const RH10_TEMP13 = 0x80;
const RH11_TEMP11 = 0x81;
const HEATER_ENABLE = 0x04;
const HEATER_DISABLE = 0x00;
const USER_RESET = 0x3a;

/** Command, STOP, then a read transfer (the firmware's read_reg). */
function command(board: Board, cmd: number, size: number): Uint8Array {
  writeTo(board, ADDRESS, [cmd]);
  return readFrom(board, ADDRESS, size);
}

/** A two-byte command, repeated START, then the answer (the firmware's read_serial). */
function serialCommand(board: Board, cmd: number, size: number): Uint8Array {
  writeTo(board, ADDRESS, [cmd >> 8, cmd & 0xff]);
  return readFrom(board, ADDRESS, size);
}

const setup = (L: LuaState): number => {
  const board = boardOf(L);
  writeTo(board, ADDRESS, [RESET]);
  if (command(board, READ_RHT_REG, 1)[0] !== USER_RESET) raise(L, "found no device");
  return 0;
};

const setting = (L: LuaState): number => {
  if (!lua.lua_isnumber(L, 1)) raise(L, "wrong arg range");
  const res = checkInteger(L, 1);
  if (![RH12_TEMP14, RH08_TEMP12, RH10_TEMP13, RH11_TEMP11].includes(res)) raise(L, "Invalid argument: resolution");
  const board = boardOf(L);
  writeTo(board, ADDRESS, [WRITE_RHT_REG, (res | USER_RESET) & 0xff]);
  if (lua.lua_isnumber(L, 2)) {
    if (!lua.lua_isnumber(L, 3)) raise(L, "wrong arg range");
    const heater = checkInteger(L, 2);
    if (heater !== HEATER_ENABLE && heater !== HEATER_DISABLE) raise(L, "Invalid argument: heater");
    const level = checkInteger(L, 3);
    if (level < 0 || level > 0x0f) raise(L, "Invalid argument: heater_setting");
    writeTo(board, ADDRESS, [WRITE_RHT_REG, (res | heater | USER_RESET) & 0xff]);
    writeTo(board, ADDRESS, [WRITE_HEATER_REG, level & 0x0f]);
  }
  const c = command(board, READ_RHT_REG, 1)[0] as number;
  const h = command(board, READ_HEATER_REG, 1)[0] as number;
  lua.lua_pushinteger(L, (c >> 6) + (c & 0x01));
  lua.lua_pushinteger(L, (c >> 6) & 0x01);
  lua.lua_pushinteger(L, (c >> 2) & 0x01);
  lua.lua_pushinteger(L, h & 0x0f);
  return 4;
};

const read = (L: LuaState): number => {
  const board = boardOf(L);
  const rh = command(board, MEASURE_RH_HOLD, 3);
  if (rh[2] !== crc8(rh.subarray(0, 2), 0)) raise(L, "crc error");
  const hum = (((rh[0] as number) << 8) | (rh[1] as number)) * 125 / 65536 - 6;
  const t = command(board, READ_PREV_TEMP, 2);
  const temp = (((t[0] as number) << 8) | (t[1] as number)) * 175.72 / 65536 - 46.85;
  lua.lua_pushnumber(L, hum);
  lua.lua_pushnumber(L, temp);
  lua.lua_pushinteger(L, Math.trunc((hum - Math.trunc(hum)) * 1000));
  lua.lua_pushinteger(L, Math.trunc((temp - Math.trunc(temp)) * 1000));
  return 4;
};

const serial = (L: LuaState): number => {
  const board = boardOf(L);
  const a = serialCommand(board, 0xfa0f, 8);
  let crc = 0;
  let serialA = 0;
  for (let i = 0; i <= 6; i += 2) {
    crc = crc8(a.subarray(i, i + 1), crc);
    if (a[i + 1] !== crc) raise(L, "crc error");
    serialA = ((serialA << 8) + (a[i] as number)) >>> 0;
  }
  const b = serialCommand(board, 0xfcc9, 6);
  crc = 0;
  let serialB = 0;
  for (let i = 0; i <= 3; i += 3) {
    crc = crc8(b.subarray(i, i + 2), crc);
    if (b[i + 2] !== crc) raise(L, "crc error");
    serialB = ((serialB << 16) + ((b[i] as number) << 8) + (b[i + 1] as number)) >>> 0;
  }
  lua.lua_pushinteger(L, serialA);
  lua.lua_pushinteger(L, serialB);
  return 2;
};

const firmware = (L: LuaState): number => {
  lua.lua_pushinteger(L, serialCommand(boardOf(L), 0x84b8, 1)[0] as number);
  return 1;
};

export const si7021 = defineModule("si7021", {
  functions: { setup, setting, read, serial, firmware },
  constants: { RH12_TEMP14, RH08_TEMP12, RH10_TEMP13, RH11_TEMP11, HEATER_ENABLE, HEATER_DISABLE },
});
