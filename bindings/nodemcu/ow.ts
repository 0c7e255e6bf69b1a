// NodeMCU `ow` (1-Wire). Every bus 1..12 carries one simulated DS18B20, the usual reason
// scripts use ow: it answers reset with a presence pulse, is found by search, converts on
// 0x44 and returns its scratchpad on 0xBE with the --device `ds18b20` (else `temperature`,
// else 21.5 °C) reading. Writes are recorded.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const DS18B20_FAMILY = 0x28;
const CONVERT_T = 0x44;
const READ_SCRATCHPAD = 0xbe;
const MATCH_ROM = 0x55;
const READ_ROM = 0x33;
const DEFAULT_TEMPERATURE = 21.5;
const MAX_READ = 1024;
const IDLE = 0xff;

export function crc8(bytes: Uint8Array | readonly number[]): number {
  let crc = 0;
  for (const byte of bytes) {
    let value = byte;
    for (let bit = 0; bit < 8; bit++) {
      const mix = (crc ^ value) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8c;
      value >>= 1;
    }
  }
  return crc;
}

export function crc16(bytes: Uint8Array, initial: number): number {
  let crc = initial & 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The simulated sensor's ROM code: family, a fixed serial per bus, CRC. */
function romOf(pin: number): Uint8Array {
  const rom = [DS18B20_FAMILY, 0x6d, 0x4f, 0x1e, pin, 0x00, 0x00];
  return Uint8Array.from([...rom, crc8(rom)]);
}

interface Bus {
  searched: boolean;
  family: number | undefined;
  output: number[];
  /** What the next written byte is: a ROM command after reset, ROM code bytes to pass over, a function command. */
  expect: "rom" | "function" | number;
}

const buses = new WeakMap<Board, Map<number, Bus>>();

function busOf(board: Board, pin: number): Bus {
  let map = buses.get(board);
  if (!map) {
    map = new Map();
    buses.set(board, map);
  }
  let bus = map.get(pin);
  if (!bus) {
    bus = { searched: false, family: undefined, output: [], expect: "function" };
    map.set(pin, bus);
  }
  return bus;
}

function checkPin(L: LuaState): number {
  const pin = unsigned(checkInteger(L, 1));
  checkId(L, "ow", pin, NUM_GPIO, 1);
  return pin;
}

function scratchpad(board: Board): number[] {
  const celsius = recorderOf(board).sensor("ds18b20") ?? recorderOf(board).sensor("temperature") ?? DEFAULT_TEMPERATURE;
  const raw = Math.round(Math.min(125, Math.max(-55, celsius)) * 16) & 0xffff;
  const data = [raw & 0xff, raw >> 8, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10];
  return [...data, crc8(data)];
}

function record(L: LuaState, call: string, args: Array<number | Uint8Array>): void {
  recorderOf(boardOf(L)).record("ow", call, args);
}

const setup = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  if (pin === 0) raise(L, "no 1-wire for D0");
  checkId(L, "ow", pin, NUM_GPIO, 1);
  record(L, "setup", [pin]);
  return 0;
};

/** 1: a device answered with a presence pulse. */
const reset = (L: LuaState): number => {
  const pin = checkPin(L);
  const bus = busOf(boardOf(L), pin);
  bus.output = [];
  bus.expect = "rom";
  record(L, "reset", [pin]);
  lua.lua_pushinteger(L, 1);
  return 1;
};

const skip = (L: LuaState): number => {
  const pin = checkPin(L);
  busOf(boardOf(L), pin).expect = "function";
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
  busOf(boardOf(L), pin).expect = "function";
  record(L, "select", [pin, Uint8Array.from(rom)]);
  return 0;
};

function command(board: Board, pin: number, byte: number): void {
  const bus = busOf(board, pin);
  if (typeof bus.expect === "number") {
    bus.expect = bus.expect > 1 ? bus.expect - 1 : "function";
  } else if (bus.expect === "rom") {
    bus.expect = byte === MATCH_ROM ? 8 : "function";
    if (byte === READ_ROM) bus.output = [...romOf(pin)];
  } else if (byte === READ_SCRATCHPAD) {
    bus.output = scratchpad(board);
  } else if (byte === CONVERT_T) {
    bus.output = [];
  }
}

const write = (L: LuaState): number => {
  const pin = checkPin(L);
  const value = checkInteger(L, 2);
  if (value > 255) raise(L, "wrong arg range");
  const power = lua.lua_isnumber(L, 3) && lua.lua_tointeger(L, 3) !== 0 ? 1 : 0;
  command(boardOf(L), pin, value & 0xff);
  record(L, "write", [pin, value & 0xff, power]);
  return 0;
};

const writeBytes = (L: LuaState): number => {
  const pin = checkPin(L);
  const bytes = checkBytes(L, 2);
  const power = lua.lua_isnumber(L, 3) && lua.lua_tointeger(L, 3) !== 0 ? 1 : 0;
  const board = boardOf(L);
  for (const byte of bytes) command(board, pin, byte);
  record(L, "write_bytes", [pin, bytes, power]);
  return 0;
};

/** Scratchpad bytes while a read is under way; an idle bus (or a finished conversion) reads 0xFF. */
function nextByte(board: Board, pin: number): number {
  return busOf(board, pin).output.shift() ?? IDLE;
}

const read = (L: LuaState): number => {
  const pin = checkPin(L);
  lua.lua_pushinteger(L, nextByte(boardOf(L), pin));
  return 1;
};

const readBytes = (L: LuaState): number => {
  const pin = checkPin(L);
  const size = unsigned(checkInteger(L, 2));
  if (size === 0) return 0;
  if (size > MAX_READ) argError(L, 2, "Attempt to read too many characters");
  const board = boardOf(L);
  pushBytes(L, Uint8Array.from({ length: size }, () => nextByte(board, pin)));
  return 1;
};

const depower = (L: LuaState): number => {
  const pin = checkPin(L);
  record(L, "depower", [pin]);
  return 0;
};

const resetSearch = (L: LuaState): number => {
  const pin = checkPin(L);
  const bus = busOf(boardOf(L), pin);
  bus.searched = false;
  bus.family = undefined;
  return 0;
};

const targetSearch = (L: LuaState): number => {
  const pin = checkPin(L);
  const family = checkInteger(L, 2);
  if (family > 255) raise(L, "wrong arg range");
  const bus = busOf(boardOf(L), pin);
  bus.searched = false;
  bus.family = family & 0xff;
  return 0;
};

/** The one device on the bus, once; then nil until reset_search. */
const search = (L: LuaState): number => {
  const pin = checkPin(L);
  const bus = busOf(boardOf(L), pin);
  if (bus.searched || (bus.family !== undefined && bus.family !== DS18B20_FAMILY)) {
    lua.lua_pushnil(L);
    return 1;
  }
  bus.searched = true;
  pushBytes(L, romOf(pin));
  return 1;
};

const crc8Lua = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 255) raise(L, "wrong arg range");
  lua.lua_pushinteger(L, crc8(bytes));
  return 1;
};

const crc16Lua = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 65535) raise(L, "wrong arg range");
  const initial = lua.lua_isnumber(L, 2) ? lua.lua_tointeger(L, 2) : 0;
  if (initial > 65535) raise(L, "wrong arg range");
  lua.lua_pushinteger(L, crc16(bytes, initial));
  return 1;
};

const checkCrc16 = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length > 65535) raise(L, "wrong arg range");
  const inverted0 = checkInteger(L, 2) & 0xff;
  const inverted1 = checkInteger(L, 3) & 0xff;
  const initial = lua.lua_isnumber(L, 4) ? lua.lua_tointeger(L, 4) : 0;
  if (initial > 65535) raise(L, "wrong arg range");
  const crc = ~crc16(bytes, initial) & 0xffff;
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
