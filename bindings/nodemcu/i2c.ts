// NodeMCU `i2c` (the ESP8266's software master, bus 0). Every device acknowledges its
// address; writes are recorded; reads return what the embedder queued for the addressed
// device (recorder.i2cReply), else zeros.
import { lua, pushBytes, type LuaState } from "../../runtime/lua.js";
import { checkBytes, checkInteger, raise } from "../../runtime/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const NUM_I2C = 1;
const SLOW = 100000;
const FAST = 400000;
const FASTPLUS = 1000000;
const TRANSMITTER = 0;
const RECEIVER = 1;

interface Bus {
  speed: number | undefined;
  address: number;
}

const busOf = perBoard((): Bus => ({ speed: undefined, address: 0 }));

function checkBus(L: LuaState): number {
  const id = unsigned(checkInteger(L, 1));
  checkId(L, "i2c", id, NUM_I2C);
  return id;
}

const setup = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  const sda = unsigned(checkInteger(L, 2));
  const scl = unsigned(checkInteger(L, 3));
  checkId(L, "i2c", id, NUM_I2C);
  checkId(L, "gpio", sda, NUM_GPIO);
  checkId(L, "gpio", scl, NUM_GPIO);
  if (sda === 0) raise(L, "i2c SDA on D0 is not supported");
  const speed = checkInteger(L, 4);
  if (speed <= 0) raise(L, "wrong arg range");
  const board = boardOf(L);
  busOf(board).speed = speed;
  recorderOf(board).record("i2c", "setup", [id, sda, scl, speed]);
  lua.lua_pushinteger(L, speed);
  return 1;
};

const start = (L: LuaState): number => {
  const id = checkBus(L);
  const board = boardOf(L);
  if (busOf(board).speed === undefined) raise(L, `i2c ${id} is not configured`);
  recorderOf(board).record("i2c", "start", [id]);
  return 0;
};

const stop = (L: LuaState): number => {
  const id = checkBus(L);
  recorderOf(boardOf(L)).record("i2c", "stop", [id]);
  return 0;
};

const address = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  const addr = checkInteger(L, 2);
  const direction = checkInteger(L, 3);
  checkId(L, "i2c", id, NUM_I2C);
  if (addr < 0 || addr > 127) raise(L, "wrong arg range");
  const board = boardOf(L);
  busOf(board).address = addr;
  recorderOf(board).record("i2c", "address", [id, addr, direction]);
  lua.lua_pushboolean(L, true);
  return 1;
};

function checkByte(L: LuaState, value: number): number {
  if (value < 0 || value > 255) raise(L, "wrong arg range");
  return value;
}

/** Data arguments may be numbers (one byte each), tables of numbers, or strings. */
const write = (L: LuaState): number => {
  const id = checkBus(L);
  const top = lua.lua_gettop(L);
  if (top < 2) raise(L, "wrong arg type");
  const bytes: number[] = [];
  for (let arg = 2; arg <= top; arg++) {
    if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
      bytes.push(checkByte(L, checkInteger(L, arg)));
    } else if (lua.lua_type(L, arg) === lua.LUA_TTABLE) {
      const length = lua.lua_rawlen(L, arg);
      for (let i = 1; i <= length; i++) {
        lua.lua_rawgeti(L, arg, i);
        bytes.push(checkByte(L, checkInteger(L, -1)));
        lua.lua_pop(L, 1);
      }
    } else {
      bytes.push(...checkBytes(L, arg));
    }
  }
  recorderOf(boardOf(L)).record("i2c", "write", [id, Uint8Array.from(bytes)]);
  lua.lua_pushinteger(L, bytes.length);
  return 1;
};

const read = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  const size = unsigned(checkInteger(L, 2));
  checkId(L, "i2c", id, NUM_I2C);
  if (size === 0) return 0;
  const board = boardOf(L);
  const recorder = recorderOf(board);
  recorder.record("i2c", "read", [id, size]);
  pushBytes(L, recorder.takeI2c(busOf(board).address, Math.min(size, 0x10000)));
  return 1;
};

export const i2c = defineModule("i2c", {
  functions: { setup, start, stop, address, write, read },
  constants: { SLOW, FAST, FASTPLUS, TRANSMITTER, RECEIVER },
});
