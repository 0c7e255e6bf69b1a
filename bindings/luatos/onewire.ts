// LuatOS `onewire` over the device's 1-Wire bus numbered by the script's id (the `pin` of a
// --device `onewire` entry): reset with or without the presence check, single bits, bytes
// least or most significant bit first, and rx's command-then-read, as luat_lib_onewire.c
// returns them. Timing, debug, init and deinit change nothing on a simulated wire.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkInteger, optInteger } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import type { OneWireBus } from "../../device/onewire-bus.js";
import { defineModule } from "../common/module.js";
import { deviceOf } from "../common/recorder.js";
import { toZbuff } from "./zbuff.js";

function busOf(L: LuaState): OneWireBus {
  return deviceOf(boardOf(L)).onewire(optInteger(L, 1, 0));
}

function reversed(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/** The optional reset before a transfer: false only when the presence pulse was asked for and missing. */
function resetFirst(bus: OneWireBus, needReset: boolean, needAck: boolean): boolean {
  if (!needReset) return true;
  const present = bus.reset();
  return present || !needAck;
}

const nothing = (): number => 0;

const reset = (L: LuaState): number => {
  const present = busOf(L).reset();
  lua.lua_pushboolean(L, present || !lua.lua_toboolean(L, 2));
  return 1;
};

/** 0 or 1 writes that bit (and returns it); anything else reads one. */
const bit = (L: LuaState): number => {
  const bus = busOf(L);
  const value = optInteger(L, 2, -1);
  if (value === 0 || value === 1) bus.writeBit(value);
  lua.lua_pushinteger(L, value === 0 || value === 1 ? value : bus.readBit());
  return 1;
};

function dataOf(L: LuaState): Uint8Array | undefined {
  if (lua.lua_isinteger(L, 2)) return Uint8Array.of(lua.lua_tointeger(L, 2) & 0xff);
  const buff = toZbuff(L, 2);
  if (buff) return buff.cursor > 0 ? buff.used() : buff.data;
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING || lua.lua_type(L, 2) === lua.LUA_TNUMBER) return lua.lua_tolstring(L, 2) as Uint8Array;
  return undefined;
}

const tx = (L: LuaState): number => {
  const bus = busOf(L);
  const data = dataOf(L);
  const msb = lua.lua_toboolean(L, 3);
  if (!data || !resetFirst(bus, lua.lua_toboolean(L, 4), lua.lua_toboolean(L, 5))) {
    lua.lua_pushboolean(L, false);
    return 1;
  }
  for (const byte of data) bus.writeByte(msb ? reversed(byte) : byte);
  lua.lua_pushboolean(L, true);
  return 1;
};

/** Reads `len` bytes, after the command byte when one is given; into a zbuff (returning nil) or as a string. */
const rx = (L: LuaState): number => {
  const bus = busOf(L);
  const length = checkInteger(L, 2);
  const buff = toZbuff(L, 4);
  const msb = lua.lua_toboolean(L, 5);
  if (!resetFirst(bus, lua.lua_toboolean(L, 6), lua.lua_toboolean(L, 7))) {
    lua.lua_pushboolean(L, false);
    lua.lua_pushnil(L);
    return 2;
  }
  if (lua.lua_isinteger(L, 3)) {
    const command = lua.lua_tointeger(L, 3) & 0xff;
    bus.writeByte(msb ? reversed(command) : command);
  }
  const bytes = Uint8Array.from({ length: Math.max(0, length) }, () => {
    const byte = bus.readByte();
    return msb ? reversed(byte) : byte;
  });
  lua.lua_pushboolean(L, true);
  if (buff) {
    if (buff.len < bytes.length) buff.resize(bytes.length);
    buff.data.set(bytes);
    buff.cursor = bytes.length;
    lua.lua_pushnil(L);
  } else {
    pushBytes(L, bytes);
  }
  return 2;
};

export const onewire = defineModule("onewire", {
  functions: { init: nothing, timing: nothing, reset, bit, tx, rx, debug: nothing, deinit: nothing },
});
