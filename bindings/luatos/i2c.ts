// LuatOS `i2c`: writes are recorded; reads take the bytes the embedder queued for that
// 7-bit address (HardwareRecorder.i2cReply), then zeros.
import { lua, pushBytes, type LuaState } from "../../runtime/lua.js";
import { checkInteger, optInteger, typeError } from "../../runtime/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

const SLOW = 0;
const FAST = 1;
const PLUS = 2;
const HSMODE = 3;
const BUSES = 4;

/** Data to write: a string, one byte as a number, or a table of bytes. */
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

const send = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  record(L, "send", [id, address, dataArg(L, 3)]);
  return ok(L, true);
};

function take(L: LuaState, address: number, count: number): Uint8Array {
  return recorderOf(boardOf(L)).takeI2c(address & 0x7f, Math.max(0, count));
}

const recv = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const count = checkInteger(L, 3);
  record(L, "recv", [id, address, count]);
  pushBytes(L, take(L, address, count));
  return 1;
};

const writeReg = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const register = checkInteger(L, 3);
  record(L, "writeReg", [id, address, register, dataArg(L, 4)]);
  return ok(L, true);
};

const readReg = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const register = checkInteger(L, 3);
  const count = checkInteger(L, 4);
  record(L, "readReg", [id, address, register, count]);
  pushBytes(L, take(L, address, count));
  return 1;
};

/** i2c.transfer(id, addr, tx[, rx_buff[, rx_len]]) → true, the bytes read. */
const transfer = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const address = checkInteger(L, 2);
  const data = dataArg(L, 3);
  const count = optInteger(L, 5, 0);
  record(L, "transfer", [id, address, data, count]);
  lua.lua_pushboolean(L, true);
  pushBytes(L, take(L, address, count));
  return 2;
};

const close = (L: LuaState): number => {
  record(L, "close", [checkInteger(L, 1)]);
  return 0;
};

export const i2c = defineModule("i2c", {
  functions: { setup, exist, send, recv, writeReg, readReg, transfer, close },
  constants: { SLOW, FAST, PLUS, HSMODE },
});
