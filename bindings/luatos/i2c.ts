// LuatOS `i2c` over the device's I2C buses: each call is the hardware master's transfer
// (luat_i2c_send / luat_i2c_recv), so a chip model acknowledges or not as on the wire, and
// the return values are luat_lib_i2c.c's: false or "" when the address is not acknowledged.
// Calls are recorded as well.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger, typeError } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { deviceOf, recorderOf } from "../common/recorder.js";
import type { I2cBus } from "../../device/i2c-bus.js";

const SLOW = 0;
const FAST = 1;
const PLUS = 2;
const HSMODE = 3;
const BUSES = 4;
const SHT30_ADDRESS = 0x44;

/** Data to write: a string, one byte as a number, or a table of bytes; nil sends only the address. */
function dataArg(L: LuaState, arg: number): Uint8Array {
  switch (lua.lua_type(L, arg)) {
    case lua.LUA_TSTRING: return Uint8Array.from(lua.lua_tolstring(L, arg) as Uint8Array);
    case lua.LUA_TNUMBER: return Uint8Array.of(lua.lua_tointeger(L, arg) & 0xff);
    case lua.LUA_TTABLE: {
      const count = lua.lua_rawlen(L, arg);
      const out = new Uint8Array(count);
      for (let i = 1; i <= count; i++) {
        lua.lua_rawgeti(L, arg, i);
        out[i - 1] = lua.lua_tointeger(L, -1) & 0xff;
        lua.lua_pop(L, 1);
      }
      return out;
    }
    case lua.LUA_TNIL:
    case lua.LUA_TNONE:
      return new Uint8Array();
    default:
      return typeError(L, arg, "string");
  }
}

function record(L: LuaState, call: string, args: Array<number | Uint8Array>): void {
  recorderOf(boardOf(L)).record("i2c", call, args);
}

function ok(L: LuaState, value: boolean): number {
  lua.lua_pushboolean(L, value);
  return 1;
}

/** The bus of a chip's controller; undefined for an id the chip has no controller for. */
function busOf(L: LuaState, id: number): I2cBus | undefined {
  return id >= 0 && id < BUSES ? deviceOf(boardOf(L)).i2c(id) : undefined;
}

function send(L: LuaState, id: number, address: number, data: Uint8Array, stop: boolean): boolean {
  return busOf(L, id)?.send(address & 0x7f, data, stop) ?? false;
}

/** What luat_i2c_recv leaves: the bytes, or none when the address was not acknowledged. */
function receive(L: LuaState, id: number, address: number, count: number): Uint8Array | undefined {
  return busOf(L, id)?.receive(address & 0x7f, Math.max(0, count));
}

/** i2c.setup(id[, speed[, pullup]]) → 1 on success, 0 for a bus the chip lacks. */
const setup = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const speed = optInteger(L, 2, SLOW);
  const exists = id >= 0 && id < BUSES;
  if (exists) record(L, "setup", [id, speed]);
  lua.lua_pushinteger(L, exists ? 1 : 0);
  return 1;
};

const exist = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  return ok(L, id >= 0 && id < BUSES);
};

const sendFn = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const data = dataArg(L, 3);
  const stop = optInteger(L, 4, 1) !== 0;
  record(L, "send", [id, address, data]);
  return ok(L, send(L, id, address, data, stop));
};

const recv = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const count = checkInteger(L, 3);
  record(L, "recv", [id, address, count]);
  pushBytes(L, receive(L, id, address, count) ?? new Uint8Array());
  return 1;
};

const writeReg = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const register = checkInteger(L, 3);
  const data = checkBytes(L, 4);
  const stop = optInteger(L, 5, 1) !== 0;
  record(L, "writeReg", [id, address, register, data]);
  const frame = new Uint8Array(data.length + 1);
  frame[0] = register & 0xff;
  frame.set(data, 1);
  return ok(L, send(L, id, address, frame, stop));
};

/** Register pointer written without STOP (by default), then a read transfer: a repeated START. */
const readReg = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const register = checkInteger(L, 3);
  const count = checkInteger(L, 4);
  const stop = optInteger(L, 5, 0) !== 0;
  record(L, "readReg", [id, address, register, count]);
  const bytes = send(L, id, address, Uint8Array.of(register & 0xff), stop) ? receive(L, id, address, count) : undefined;
  pushBytes(L, bytes ?? new Uint8Array());
  return 1;
};

/** i2c.transfer(id, addr, tx[, rx_buff[, rx_len]]) → success, the bytes read (nil when none were asked). */
const transfer = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const data = dataArg(L, 3);
  const count = optInteger(L, 5, 0);
  record(L, "transfer", [id, address, data, count]);
  if (count <= 0) {
    lua.lua_pushboolean(L, send(L, id, address, data, true));
    lua.lua_pushnil(L);
    return 2;
  }
  const bytes = send(L, id, address, data, false) ? receive(L, id, address, count) : undefined;
  lua.lua_pushboolean(L, bytes !== undefined);
  // The firmware returns its receive buffer even after a failure; a PC's is zeros.
  pushBytes(L, bytes ?? new Uint8Array(count));
  return 2;
};

/**
 * i2c.readSHT30(id[, addr]) → true, humidity in 0.1 %RH, temperature in 0.1 °C (truncated
 * toward zero as the firmware's int casts do), or false when the chip does not answer.
 */
const readSHT30 = (L: LuaState): number => {
  const id = optInteger(L, 1, 0);
  const address = optInteger(L, 2, SHT30_ADDRESS);
  record(L, "readSHT30", [id, address]);
  send(L, id, address, Uint8Array.of(0x2c, 0x06), true);
  const b = receive(L, id, address, 6);
  if (!b || (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0 && b[4] === 0)) return ok(L, false);
  const temperature = (((b[0] as number) * 256 + (b[1] as number)) * 175) / 6553.5 - 450;
  const humidity = (((b[3] as number) * 256 + (b[4] as number)) * 100) / 6553.5;
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, Math.trunc(humidity));
  lua.lua_pushinteger(L, Math.trunc(temperature));
  return 3;
};

const close = (L: LuaState): number => {
  record(L, "close", [checkInteger(L, 1)]);
  return 0;
};

export const i2c = defineModule("i2c", {
  functions: { setup, exist, send: sendFn, recv, writeReg, readReg, transfer, readSHT30, close },
  constants: { SLOW, FAST, PLUS, HSMODE },
});
