// NodeMCU `i2c` (the ESP8266's software master, bus 0) over the device's I2C bus 0: start,
// address, write and read are the bus phases themselves, so a chip model (or nobody)
// acknowledges as on the wire. Calls are recorded as well.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { deviceOf, recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const NUM_I2C = 1;
const SLOW = 100000;
const FAST = 400000;
const FASTPLUS = 1000000;
const TRANSMITTER = 0;
const RECEIVER = 1;

interface Master {
  speed: number | undefined;
}

const masterOf = perBoard((): Master => ({ speed: undefined }));

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
  masterOf(board).speed = speed;
  recorderOf(board).record("i2c", "setup", [id, sda, scl, speed]);
  lua.lua_pushinteger(L, speed);
  return 1;
};

const start = (L: LuaState): number => {
  const id = checkBus(L);
  const board = boardOf(L);
  if (masterOf(board).speed === undefined) raise(L, `i2c ${id} is not configured`);
  recorderOf(board).record("i2c", "start", [id]);
  deviceOf(board).i2c(id).start();
  return 0;
};

const stop = (L: LuaState): number => {
  const id = checkBus(L);
  const board = boardOf(L);
  recorderOf(board).record("i2c", "stop", [id]);
  deviceOf(board).i2c(id).stop();
  return 0;
};

const address = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  const addr = checkInteger(L, 2);
  const direction = checkInteger(L, 3);
  checkId(L, "i2c", id, NUM_I2C);
  if (addr < 0 || addr > 127) raise(L, "wrong arg range");
  const board = boardOf(L);
  recorderOf(board).record("i2c", "address", [id, addr, direction]);
  lua.lua_pushboolean(L, deviceOf(board).i2c(id).address(addr, direction !== TRANSMITTER));
  return 1;
};

function checkByte(L: LuaState, value: number): number {
  if (value < 0 || value > 255) raise(L, "wrong arg range");
  return value;
}

/**
 * Data arguments may be numbers (one byte each), tables of numbers, or strings. Sending
 * stops at the first byte not acknowledged; the count is of the bytes acknowledged. A
 * table's elements are checked one by one as they are sent, as the firmware does.
 */
const write = (L: LuaState): number => {
  const id = checkBus(L);
  const top = lua.lua_gettop(L);
  if (top < 2) raise(L, "wrong arg type");
  const board = boardOf(L);
  const bus = deviceOf(board).i2c(id);
  const sent: number[] = [];
  let acked = true;
  const send = (byte: number): boolean => {
    sent.push(byte);
    acked = bus.write(byte);
    return acked;
  };
  try {
    for (let arg = 2; arg <= top && acked; arg++) {
      if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
        send(checkByte(L, checkInteger(L, arg)));
      } else if (lua.lua_type(L, arg) === lua.LUA_TTABLE) {
        const length = lua.lua_rawlen(L, arg);
        for (let i = 1; i <= length && acked; i++) {
          lua.lua_rawgeti(L, arg, i);
          const byte = checkByte(L, checkInteger(L, -1));
          lua.lua_pop(L, 1);
          send(byte);
        }
      } else {
        for (const byte of checkBytes(L, arg)) if (!send(byte)) break;
      }
    }
  } finally {
    recorderOf(board).record("i2c", "write", [id, Uint8Array.from(sent)]);
  }
  lua.lua_pushinteger(L, acked ? sent.length : sent.length - 1);
  return 1;
};

const read = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  const size = unsigned(checkInteger(L, 2));
  checkId(L, "i2c", id, NUM_I2C);
  if (size === 0) return 0;
  const board = boardOf(L);
  recorderOf(board).record("i2c", "read", [id, size]);
  const bus = deviceOf(board).i2c(id);
  const out = new Uint8Array(Math.min(size, 0x10000));
  for (let i = 0; i < out.length; i++) out[i] = bus.read();
  pushBytes(L, out);
  return 1;
};

export const i2c = defineModule("i2c", {
  functions: { setup, start, stop, address, write, read },
  constants: { SLOW, FAST, FASTPLUS, TRANSMITTER, RECEIVER },
});
