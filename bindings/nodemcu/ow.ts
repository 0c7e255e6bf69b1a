// NodeMCU `ow` (1-Wire) over the device's bus on each GPIO pin, driven slot by slot as the
// firmware's driver drives the wire: reset and presence, bytes least significant bit first,
// select (Match ROM), skip, and the search with the driver's per-pin state (the last
// discrepancy, the last-device flag, the ROM found last). What is on each bus is the
// --device `onewire` list (README, "The simulated device").
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { crc16Maxim, crc8Maxim, type OneWireBus } from "../../device/onewire-bus.js";
import { defineModule } from "../common/module.js";
import { deviceOf, recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const SEARCH_ROM = 0xf0;
const ALARM_SEARCH = 0xec;
const MATCH_ROM = 0x55;
const SKIP_ROM = 0xcc;
/** LUAL_BUFFERSIZE of the firmware's Lua. */
const MAX_READ = 1024;

/** The driver's search state for one pin, kept across ow.search calls. */
interface SearchState {
  rom: Uint8Array;
  lastDiscrepancy: number;
  lastDevice: boolean;
}

const searches = new WeakMap<Board, Map<number, SearchState>>();

function searchOf(board: Board, pin: number): SearchState {
  let map = searches.get(board);
  if (!map) {
    map = new Map();
    searches.set(board, map);
  }
  let state = map.get(pin);
  if (!state) {
    state = { rom: new Uint8Array(8), lastDiscrepancy: 0, lastDevice: false };
    map.set(pin, state);
  }
  return state;
}

function busOf(L: LuaState, pin: number): OneWireBus {
  return deviceOf(boardOf(L)).onewire(pin);
}

function checkPin(L: LuaState): number {
  const pin = unsigned(checkInteger(L, 1));
  checkId(L, "ow", pin, NUM_GPIO, 1);
  return pin;
}

/**
 * One pass of the 1-Wire search from the state the last pass left: at each ROM bit the
 * devices still in the search send the bit and its complement; where they disagree the
 * master takes the path it took last time below the last discrepancy, 1 at it, 0 beyond.
 */
function searchStep(bus: OneWireBus, state: SearchState, alarm: boolean): Uint8Array | undefined {
  let found = false;
  if (!state.lastDevice) {
    if (!bus.reset()) {
      state.lastDiscrepancy = 0;
      state.lastDevice = false;
      return undefined;
    }
    bus.writeByte(alarm ? ALARM_SEARCH : SEARCH_ROM);
    let lastZero = 0;
    let bit = 1;
    for (; bit <= 64; bit++) {
      const idBit = bus.readBit();
      const complement = bus.readBit();
      if (idBit === 1 && complement === 1) break;
      const index = (bit - 1) >> 3;
      const mask = 1 << ((bit - 1) & 7);
      let direction: number;
      if (idBit !== complement) direction = idBit;
      else {
        direction = bit < state.lastDiscrepancy ? ((state.rom[index] as number) & mask ? 1 : 0) : bit === state.lastDiscrepancy ? 1 : 0;
        if (direction === 0) lastZero = bit;
      }
      state.rom[index] = direction ? (state.rom[index] as number) | mask : (state.rom[index] as number) & ~mask;
      bus.writeBit(direction);
    }
    if (bit > 64) {
      state.lastDiscrepancy = lastZero;
      state.lastDevice = lastZero === 0;
      found = true;
    }
  }
  // A family code of 0 is no device (the driver's check for a shorted or noisy bus).
  if (!found || state.rom[0] === 0) {
    state.lastDiscrepancy = 0;
    state.lastDevice = false;
    return undefined;
  }
  return Uint8Array.from(state.rom);
}

function record(L: LuaState, call: string, args: Array<number | Uint8Array>): void {
  recorderOf(boardOf(L)).record("ow", call, args);
}

const setup = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  if (pin === 0) raise(L, "no 1-wire for D0");
  checkId(L, "ow", pin, NUM_GPIO, 1);
  resetSearchOf(boardOf(L), pin);
  record(L, "setup", [pin]);
  return 0;
};

/** 1: a device answered with a presence pulse. */
const reset = (L: LuaState): number => {
  const pin = checkPin(L);
  const present = busOf(L, pin).reset();
  record(L, "reset", [pin]);
  lua.lua_pushinteger(L, present ? 1 : 0);
  return 1;
};

const skip = (L: LuaState): number => {
  const pin = checkPin(L);
  busOf(L, pin).writeByte(SKIP_ROM);
  record(L, "skip", [pin]);
  return 0;
};

const select = (L: LuaState): number => {
  const pin = checkPin(L);
  const rom: number[] = [];
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    const length = lua.lua_rawlen(L, 2);
    if (length !== 8) raise(L, "wrong arg range");
    for (let i = 1; i <= length; i++) {
      lua.lua_rawgeti(L, 2, i);
      const value = checkInteger(L, -1);
      lua.lua_pop(L, 1);
      if (value > 255) raise(L, "wrong arg range");
      rom.push(value & 0xff);
    }
  } else {
    const bytes = checkBytes(L, 2);
    if (bytes.length !== 8) raise(L, "wrong arg range");
    rom.push(...bytes);
  }
  const bus = busOf(L, pin);
  bus.writeByte(MATCH_ROM);
  for (const byte of rom) bus.writeByte(byte);
  record(L, "select", [pin, Uint8Array.from(rom)]);
  return 0;
};

const write = (L: LuaState): number => {
  const pin = checkPin(L);
  const value = checkInteger(L, 2);
  if (value > 255) raise(L, "wrong arg range");
  const power = lua.lua_isnumber(L, 3) && lua.lua_tointeger(L, 3) !== 0 ? 1 : 0;
  busOf(L, pin).writeByte(value & 0xff);
  record(L, "write", [pin, value & 0xff, power]);
  return 0;
};

const writeBytes = (L: LuaState): number => {
  const pin = checkPin(L);
  const bytes = checkBytes(L, 2);
  const power = lua.lua_isnumber(L, 3) && lua.lua_tointeger(L, 3) !== 0 ? 1 : 0;
  const bus = busOf(L, pin);
  for (const byte of bytes) bus.writeByte(byte);
  record(L, "write_bytes", [pin, bytes, power]);
  return 0;
};

const read = (L: LuaState): number => {
  const pin = checkPin(L);
  lua.lua_pushinteger(L, busOf(L, pin).readByte());
  return 1;
};

const readBytes = (L: LuaState): number => {
  const pin = checkPin(L);
  const size = unsigned(checkInteger(L, 2));
  if (size === 0) return 0;
  if (size > MAX_READ) argError(L, 2, "Attempt to read too many characters");
  const bus = busOf(L, pin);
  pushBytes(L, Uint8Array.from({ length: size }, () => bus.readByte()));
  return 1;
};

const depower = (L: LuaState): number => {
  const pin = checkPin(L);
  record(L, "depower", [pin]);
  return 0;
};

function resetSearchOf(board: Board, pin: number): void {
  const state = searchOf(board, pin);
  state.lastDiscrepancy = 0;
  state.lastDevice = false;
  state.rom.fill(0);
}

const resetSearch = (L: LuaState): number => {
  resetSearchOf(boardOf(L), checkPin(L));
  return 0;
};

/** The next search starts on the family's first ROM code (the driver's target setup). */
const targetSearch = (L: LuaState): number => {
  const pin = checkPin(L);
  const family = checkInteger(L, 2);
  if (family > 255) raise(L, "wrong arg range");
  const state = searchOf(boardOf(L), pin);
  state.rom.fill(0);
  state.rom[0] = family & 0xff;
  state.lastDiscrepancy = 64;
  state.lastDevice = false;
  return 0;
};

/** The next ROM code the search finds, or nil at its end (the one after starts over). */
const search = (L: LuaState): number => {
  const pin = checkPin(L);
  const alarm = lua.lua_isnumber(L, 2) && lua.lua_tointeger(L, 2) !== 0;
  const rom = searchStep(busOf(L, pin), searchOf(boardOf(L), pin), alarm);
  if (rom) pushBytes(L, rom);
  else lua.lua_pushnil(L);
  return 1;
};

const crc8Lua = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 255) raise(L, "wrong arg range");
  lua.lua_pushinteger(L, crc8Maxim(bytes));
  return 1;
};

const crc16Lua = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 65535) raise(L, "wrong arg range");
  const initial = lua.lua_isnumber(L, 2) ? lua.lua_tointeger(L, 2) : 0;
  if (initial > 65535) raise(L, "wrong arg range");
  lua.lua_pushinteger(L, crc16Maxim(bytes, initial));
  return 1;
};

const checkCrc16 = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 65535) raise(L, "wrong arg range");
  const inverted0 = checkInteger(L, 2) & 0xff;
  const inverted1 = checkInteger(L, 3) & 0xff;
  const initial = lua.lua_isnumber(L, 4) ? lua.lua_tointeger(L, 4) : 0;
  if (initial > 65535) raise(L, "wrong arg range");
  const crc = ~crc16Maxim(bytes, initial) & 0xffff;
  lua.lua_pushboolean(L, (crc & 0xff) === inverted0 && crc >> 8 === inverted1);
  return 1;
};

const timings = (): number => 0;

export const ow = defineModule("ow", {
  functions: {
    setup, reset, skip, select, write, write_bytes: writeBytes, read, read_bytes: readBytes, depower,
    reset_search: resetSearch, target_search: targetSearch, search, crc8: crc8Lua, check_crc16: checkCrc16, crc16: crc16Lua, timings,
  },
});
