// NodeMCU `bit`: bitwise operations on the firmware's 32-bit signed integers. Results are
// what the ESP8266 computes: bnot(0) is -1, lshift(1, 31) is -2147483648, rshift shifts
// the unsigned 32-bit pattern (rshift(-1, 28) is 15).
import { lua, type LuaState } from "../../engine/lua.js";
import { typeError } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

/**
 * A 32-bit operand. The firmware truncates any number to its integer type, so 3.7 is 3 and
 * 4294967295 (a float here, fengari's integers being 32-bit) is the pattern 0xFFFFFFFF.
 */
function operand(L: LuaState, arg: number): number {
  const value = lua.lua_tonumberx(L, arg);
  if (value === false) return typeError(L, arg, "number");
  if (!Number.isFinite(value)) return 0;
  return Math.trunc(value) | 0;
}

/** A shift count or bit position: the firmware casts it to unsigned, so negatives are huge. */
function position(L: LuaState, arg: number): number {
  const value = operand(L, arg);
  return value < 0 ? 32 : value;
}

function push(L: LuaState, value: number): number {
  lua.lua_pushinteger(L, value | 0);
  return 1;
}

const bnot = (L: LuaState): number => push(L, ~operand(L, 1));

function variadic(op: (a: number, b: number) => number) {
  return (L: LuaState): number => {
    let acc = operand(L, 1);
    const n = lua.lua_gettop(L);
    for (let i = 2; i <= n; i++) acc = op(acc, operand(L, i));
    return push(L, acc);
  };
}

const band = variadic((a, b) => a & b);
const bor = variadic((a, b) => a | b);
const bxor = variadic((a, b) => a ^ b);

// JavaScript shifts count modulo 32; a C shift by 32 or more leaves no bits.
const lshift = (L: LuaState): number => {
  const value = operand(L, 1);
  const n = position(L, 2);
  return push(L, n >= 32 ? 0 : value << n);
};

const rshift = (L: LuaState): number => {
  const value = operand(L, 1);
  const n = position(L, 2);
  return push(L, n >= 32 ? 0 : value >>> n);
};

const arshift = (L: LuaState): number => {
  const value = operand(L, 1);
  const n = position(L, 2);
  return push(L, n >= 32 ? (value < 0 ? -1 : 0) : value >> n);
};

function mask(pos: number): number {
  return pos >= 32 ? 0 : 1 << pos;
}

const bitValue = (L: LuaState): number => push(L, mask(position(L, 1)));

const set = (L: LuaState): number => {
  let value = operand(L, 1);
  const n = lua.lua_gettop(L);
  for (let i = 2; i <= n; i++) value |= mask(position(L, i));
  return push(L, value);
};

const clear = (L: LuaState): number => {
  let value = operand(L, 1);
  const n = lua.lua_gettop(L);
  for (let i = 2; i <= n; i++) value &= ~mask(position(L, i));
  return push(L, value);
};

const isset = (L: LuaState): number => {
  const value = operand(L, 1);
  lua.lua_pushboolean(L, (value & mask(position(L, 2))) !== 0);
  return 1;
};

const isclear = (L: LuaState): number => {
  const value = operand(L, 1);
  lua.lua_pushboolean(L, (value & mask(position(L, 2))) === 0);
  return 1;
};

export const bit = defineModule("bit", {
  functions: { bnot, band, bor, bxor, lshift, rshift, arshift, bit: bitValue, set, clear, isset, isclear },
});
