// LuatOS `sensor`: the bit-banged 1-Wire helpers and `ds18b20` of luat_lib_sensor.c, over the
// device's 1-Wire bus on the GPIO pin given. ds18b20 does what the C does: Skip ROM and
// Convert T, then at once Read Scratchpad, so it returns the previous conversion (+85 °C the
// first time) and converts negative readings with the C's one's complement.
import { lauxlib, lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { crc8Maxim, type OneWireBus } from "../../device/onewire-bus.js";
import { defineModule } from "../common/module.js";
import { deviceOf } from "../common/recorder.js";

const SKIP_ROM = 0xcc;
const CONVERT_T = 0x44;
const READ_SCRATCHPAD = 0xbe;

/** The presence pulse after each pin's last w1_reset: w1_connect sees it once. */
const presence = new WeakMap<Board, Map<number, boolean>>();

function busAt(L: LuaState, pin: number): OneWireBus {
  return deviceOf(boardOf(L)).onewire(pin);
}

function pulses(board: Board): Map<number, boolean> {
  let map = presence.get(board);
  if (!map) {
    map = new Map();
    presence.set(board, map);
  }
  return map;
}

function connect(board: Board, pin: number): boolean {
  const map = pulses(board);
  const present = map.get(pin) ?? false;
  map.delete(pin);
  return present;
}

const w1Reset = (L: LuaState): number => {
  const pin = checkInteger(L, 1);
  pulses(boardOf(L)).set(pin, busAt(L, pin).reset());
  return 0;
};

const w1Connect = (L: LuaState): number => {
  lua.lua_pushboolean(L, connect(boardOf(L), checkInteger(L, 1)));
  return 1;
};

const w1Write = (L: LuaState): number => {
  const pin = checkInteger(L, 1);
  const bytes: number[] = [];
  for (let i = 2; i <= lua.lua_gettop(L); i++) bytes.push(checkInteger(L, i) & 0xff);
  const bus = busAt(L, pin);
  for (const byte of bytes) bus.writeByte(byte);
  return 0;
};

const w1Read = (L: LuaState): number => {
  const pin = checkInteger(L, 1);
  const count = checkInteger(L, 2);
  const bus = busAt(L, pin);
  lauxlib.luaL_checkstack(L, Math.max(0, count), "too many results");
  for (let i = 0; i < count; i++) lua.lua_pushinteger(L, bus.readByte());
  return Math.max(0, count);
};

/** Tenths of °C from the scratchpad, or the C's error code. */
function readTenths(L: LuaState, pin: number, checkCrc: boolean): { tenths: number } | { error: number } {
  const board = boardOf(L);
  const bus = busAt(L, pin);
  pulses(board).set(pin, bus.reset());
  if (!connect(board, pin)) return { error: -1 };
  bus.writeByte(SKIP_ROM);
  bus.writeByte(CONVERT_T);
  pulses(board).set(pin, bus.reset());
  if (!connect(board, pin)) return { error: -2 };
  bus.writeByte(SKIP_ROM);
  bus.writeByte(READ_SCRATCHPAD);
  const data = Array.from({ length: checkCrc ? 9 : 2 }, () => bus.readByte());
  if (checkCrc && crc8Maxim(data.slice(0, 8)) !== data[8]) return { error: -4 };
  const [low, high] = data as [number, number];
  if (high > 7) return { tenths: -Math.trunc(((~high & 0xff) * 256 + (~low & 0xff)) * 0.625 + 0.5) };
  return { tenths: Math.trunc((high * 256 + low) * 0.625 + 0.5) };
}

const ds18b20 = (L: LuaState): number => {
  const checkCrc = lua.lua_gettop(L) > 1 ? lua.lua_toboolean(L, 2) : true;
  const pin = checkInteger(L, 1);
  const result = readTenths(L, pin, checkCrc);
  // A reading outside -55..125 °C fails with the C's ret, 0.
  if ("error" in result || result.tenths > 1250 || result.tenths < -550) {
    lua.lua_pushinteger(L, "error" in result ? result.error : 0);
    lua.lua_pushboolean(L, false);
    return 2;
  }
  lua.lua_pushinteger(L, result.tenths);
  lua.lua_pushboolean(L, true);
  return 2;
};

export const sensor = defineModule("sensor", {
  functions: { w1_reset: w1Reset, w1_connect: w1Connect, w1_write: w1Write, w1_read: w1Read, ds18b20 },
});
