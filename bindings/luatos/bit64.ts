// LuatOS `bit64`: 64-bit arithmetic for the firmware's 32-bit VM, on 9-byte strings (8 bytes
// of little-endian int64 or double, then a flag byte: 1 for a double). Behaves as the 32-bit
// build does: to64 of a negative integer zero-extends it (the VM's lua_Unsigned is 32 bits
// wide), to32 keeps the low 32 bits, and a second operand given as a Lua integer is
// sign-extended.
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const SIZE = 9;
const FLOAT_FLAG = 1;

type Value = { float: true; value: number } | { float: false; value: bigint };

function decode(bytes: Uint8Array): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return bytes[8] !== 0 ? { float: true, value: view.getFloat64(0, true) } : { float: false, value: view.getBigInt64(0, true) };
}

function encode(value: Value): Uint8Array {
  const out = new Uint8Array(SIZE);
  const view = new DataView(out.buffer);
  if (value.float) {
    view.setFloat64(0, value.value, true);
    out[8] = FLOAT_FLAG;
  } else {
    view.setBigInt64(0, BigInt.asIntN(64, value.value), true);
  }
  return out;
}

/** A 9-byte operand, or undefined for any other length (the firmware then answers zero). */
function operand(L: LuaState, arg: number): Value | undefined {
  const bytes = checkBytes(L, arg);
  return bytes.length === SIZE ? decode(bytes) : undefined;
}

function flag(L: LuaState, arg: number): boolean {
  return lua.lua_type(L, arg) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, arg);
}

const to32 = (L: LuaState): number => {
  const value = operand(L, 1);
  if (value === undefined) lua.lua_pushnil(L);
  else if (value.float) lua.lua_pushnumber(L, value.value);
  else lua.lua_pushinteger(L, Number(BigInt.asIntN(32, value.value)));
  return 1;
};

const to64 = (L: LuaState): number => {
  let value: Value = { float: false, value: 0n };
  if (lua.lua_isinteger(L, 1)) value = { float: false, value: BigInt(lua.lua_tointeger(L, 1) >>> 0) };
  else if (lua.lua_isnumber(L, 1)) value = { float: true, value: lua.lua_tonumber(L, 1) };
  pushBytes(L, encode(value));
  return 1;
};

/** C's %f: six decimals, inf and nan spelt as printf spells them. */
function cFixed(value: number): string {
  if (Number.isNaN(value)) return value < 0 ? "-nan" : "nan";
  if (!Number.isFinite(value)) return value < 0 ? "-inf" : "inf";
  if (Math.abs(value) < 1e21) return value.toFixed(6);
  return `${BigInt(value)}.000000`;
}

const show = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length !== SIZE) {
    lua.lua_pushnil(L);
    return 1;
  }
  const base = optInteger(L, 2, 10) & 0xff;
  const unsigned = flag(L, 3);
  const value = decode(bytes);
  const bits = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  // %llx of a double on ARM's soft-float varargs prints its bits.
  if (base === 16) pushText(L, `0x${bits.toString(16)}`);
  else if (value.float) pushText(L, cFixed(value.value));
  else pushText(L, unsigned ? bits.toString() : String(value.value));
  return 1;
};

/** Float if either side is; the integers wrap at 64 bits. */
function calculate(L: LuaState, op: "+" | "-" | "*" | "/"): number {
  const zero = (): number => {
    pushBytes(L, new Uint8Array(SIZE));
    return 1;
  };
  const a = operand(L, 1);
  if (a === undefined) return zero();
  let b: Value | undefined;
  if (lua.lua_isinteger(L, 2)) b = { float: false, value: BigInt(lua.lua_tointeger(L, 2)) };
  else if (lua.lua_isnumber(L, 2)) b = { float: true, value: lua.lua_tonumber(L, 2) };
  else b = operand(L, 2);
  if (b === undefined) return zero();
  const unsigned = flag(L, 3);
  const toInteger = flag(L, 4);
  if (!a.float && !b.float) {
    let x = a.value;
    let y = b.value;
    if (unsigned) {
      x = BigInt.asUintN(64, x);
      y = BigInt.asUintN(64, y);
    }
    if (op === "/" && y === 0n) raise(L, "bit64: division by zero");
    const result = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : x / y;
    pushBytes(L, encode({ float: false, value: result }));
    return 1;
  }
  const x = Number(a.value);
  const y = Number(b.value);
  const result = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : x / y;
  // A double converted to int64 truncates toward zero; NaN and overflow (undefined in C) give 0 here.
  const integer = Number.isFinite(result) ? BigInt(Math.trunc(result)) : 0n;
  pushBytes(L, encode(toInteger ? { float: false, value: integer } : { float: true, value: result }));
  return 1;
}

/** shift(a, n, left): the 64 raw bits move (a double's too), the flag byte stays. */
const shift = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  if (bytes.length !== SIZE || !lua.lua_isinteger(L, 2) || lua.lua_tointeger(L, 2) === 0) {
    pushBytes(L, bytes);
    return 1;
  }
  const count = lua.lua_tointeger(L, 2) >>> 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const bits = view.getBigUint64(0, true);
  const moved = count >= 64 ? 0n : flag(L, 3) ? BigInt.asUintN(64, bits << BigInt(count)) : bits >> BigInt(count);
  const out = new Uint8Array(SIZE);
  new DataView(out.buffer).setBigUint64(0, moved, true);
  out[8] = bytes[8];
  pushBytes(L, out);
  return 1;
};

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** C's strtoll: leading space, a sign, 0x for base 16 or 0, a leading 0 for octal in base 0; saturates. */
function strtoll(text: string, requestedBase: number): bigint {
  let rest = text.replace(/^[\t\n\v\f\r ]+/, "");
  let negative = false;
  if (rest[0] === "+" || rest[0] === "-") {
    negative = rest[0] === "-";
    rest = rest.slice(1);
  }
  let base = requestedBase;
  const hexPrefix = /^0[xX][0-9a-fA-F]/.test(rest);
  if ((base === 0 || base === 16) && hexPrefix) {
    base = 16;
    rest = rest.slice(2);
  } else if (base === 0) {
    base = rest[0] === "0" ? 8 : 10;
  }
  if (base < 2 || base > 36) return 0n;
  let value = 0n;
  for (const char of rest) {
    const digit = Number.parseInt(char, 36);
    if (Number.isNaN(digit) || digit >= base) break;
    value = value * BigInt(base) + BigInt(digit);
    if (value > INT64_MAX + 1n) break;
  }
  if (negative) value = -value;
  return value > INT64_MAX ? INT64_MAX : value < INT64_MIN ? INT64_MIN : value;
}

const strtollFn = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  const base = optInteger(L, 2, 10);
  if (bytes.length === 0) return 0;
  pushBytes(L, encode({ float: false, value: strtoll(new TextDecoder("latin1").decode(bytes), base) }));
  return 1;
};

export const bit64 = defineModule("bit64", {
  functions: {
    to32, to64, show, shift,
    plus: (L) => calculate(L, "+"),
    minus: (L) => calculate(L, "-"),
    multi: (L) => calculate(L, "*"),
    pide: (L) => calculate(L, "/"),
    strtoll: strtollFn,
  },
});
