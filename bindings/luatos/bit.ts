// LuatOS `bit` (also `bit32`): Lua 5.2's bit32 on the firmware's 32-bit integers, plus
// eLua's bit/set/clear/isset/isclear. Results are pushed as the 32-bit build pushes them:
// a value with bit 31 set comes back negative.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, optInteger, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const NBITS = 32;

function u32(L: LuaState, arg: number): number {
  return checkInteger(L, arg) >>> 0;
}

function pushU32(L: LuaState, value: number): number {
  lua.lua_pushinteger(L, value | 0);
  return 1;
}

/** `1 << n` in C on the ARM cores the firmware runs on: a shift of 32 to 255 gives 0. */
function bitAt(position: number): number {
  const shift = position & 0xff;
  return shift < NBITS ? (1 << shift) >>> 0 : 0;
}

function fold(L: LuaState, start: number, step: (acc: number, v: number) => number): number {
  let acc = start;
  for (let i = 1; i <= lua.lua_gettop(L); i++) acc = step(acc, u32(L, i)) >>> 0;
  return acc;
}

const andAll = (L: LuaState): number => fold(L, 0xffffffff, (a, v) => a & v);

/** Logical shift; a negative count shifts right. */
function shifted(value: number, count: number): number {
  if (count <= -NBITS || count >= NBITS) return 0;
  return count < 0 ? value >>> -count : (value << count) >>> 0;
}

function rotated(value: number, count: number): number {
  const i = count & (NBITS - 1);
  return i === 0 ? value : ((value << i) | (value >>> (NBITS - i))) >>> 0;
}

/** bit32's field and width checks, with its messages. */
function fieldArgs(L: LuaState, farg: number): [number, number] {
  const field = checkInteger(L, farg);
  const width = optInteger(L, farg + 1, 1);
  if (field < 0) argError(L, farg, "field cannot be negative");
  if (width <= 0) argError(L, farg + 1, "width must be positive");
  if (field + width > NBITS) raise(L, "trying to access non-existent bits");
  return [field, width];
}

function maskOf(width: number): number {
  return width >= NBITS ? 0xffffffff : ((1 << width) >>> 0) - 1;
}

const functions = {
  band: (L: LuaState) => pushU32(L, andAll(L)),
  btest: (L: LuaState) => {
    lua.lua_pushboolean(L, andAll(L) !== 0);
    return 1;
  },
  bor: (L: LuaState) => pushU32(L, fold(L, 0, (a, v) => a | v)),
  bxor: (L: LuaState) => pushU32(L, fold(L, 0, (a, v) => a ^ v)),
  bnot: (L: LuaState) => pushU32(L, ~u32(L, 1)),
  lshift: (L: LuaState) => pushU32(L, shifted(u32(L, 1), checkInteger(L, 2))),
  rshift: (L: LuaState) => pushU32(L, shifted(u32(L, 1), -checkInteger(L, 2))),
  arshift: (L: LuaState) => {
    const value = u32(L, 1);
    const count = checkInteger(L, 2);
    if (count < 0 || (value & 0x80000000) === 0) return pushU32(L, shifted(value, -count));
    return pushU32(L, count >= NBITS ? 0xffffffff : value >> count);
  },
  lrotate: (L: LuaState) => pushU32(L, rotated(u32(L, 1), checkInteger(L, 2))),
  rrotate: (L: LuaState) => pushU32(L, rotated(u32(L, 1), -checkInteger(L, 2))),
  extract: (L: LuaState) => {
    const value = u32(L, 1);
    const [field, width] = fieldArgs(L, 2);
    return pushU32(L, (value >>> field) & maskOf(width));
  },
  replace: (L: LuaState) => {
    const value = u32(L, 1);
    const replacement = u32(L, 2);
    const [field, width] = fieldArgs(L, 3);
    const mask = maskOf(width);
    return pushU32(L, (value & ~(mask << field)) | ((replacement & mask) << field));
  },
  bit: (L: LuaState) => pushU32(L, bitAt(checkInteger(L, 1))),
  set: (L: LuaState) => {
    let value = u32(L, 1);
    for (let i = 2; i <= lua.lua_gettop(L); i++) value |= bitAt(checkInteger(L, i));
    return pushU32(L, value);
  },
  clear: (L: LuaState) => {
    let value = u32(L, 1);
    for (let i = 2; i <= lua.lua_gettop(L); i++) value &= ~bitAt(checkInteger(L, i));
    return pushU32(L, value);
  },
  isset: (L: LuaState) => {
    const value = u32(L, 1);
    lua.lua_pushboolean(L, (value & bitAt(checkInteger(L, 2))) !== 0);
    return 1;
  },
  isclear: (L: LuaState) => {
    const value = u32(L, 1);
    lua.lua_pushboolean(L, (value & bitAt(checkInteger(L, 2))) === 0);
    return 1;
  },
};

export const bit = defineModule("bit", { functions });
/** The firmware opens the library as bit32 and also sets it as the global `bit`. */
export const bit32 = defineModule("bit32", { functions });
