// LuatOS `pack` (lpack): pack.pack(fmt, ...) → bytes and pack.unpack(s, fmt[, init]) →
// next position, values...
//
// Codes: '<' '>' '=' endianness (default and '=' are the device's little-endian);
// 'z' zero-terminated string, 'p' / 'P' / 'a' string after a 1 / 2 / 4-byte length,
// 'A' raw string (in unpack 'A10' reads 10 bytes), 'f' float, 'd' double, 'n' Lua number
// (a double), 'c' signed char, 'b' byte, 'h' / 'H' 16-bit, 'i' / 'I' 32-bit, 'l' / 'L'
// 64-bit (int64_t in luat_lib_pack.c: the 32-bit integer is sign-extended, and unpacking
// keeps the low 32 bits as the 32-bit build's cast does); a count after a code repeats it,
// except after 'A', where it is the field's width; spaces and commas are ignored.
//
// fengari's integers are 32-bit, so an unsigned 32-bit value comes back wrapped
// (0xFFFFFFFF is -1), exactly like the literal 0xFFFFFFFF in a script: comparisons with
// hex literals and string.format("%08X") give the firmware's results.
import { lua, lauxlib, pushBytes, setFunctions, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, checkNumber } from "../../engine/args.js";
import type { ModuleDef } from "../../runtime/board.js";

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

const INT_SIZES: Record<string, { size: number; signed: boolean }> = {
  c: { size: 1, signed: true },
  b: { size: 1, signed: false },
  h: { size: 2, signed: true },
  H: { size: 2, signed: false },
  i: { size: 4, signed: true },
  I: { size: 4, signed: false },
  l: { size: 8, signed: true },
  L: { size: 8, signed: false },
};

const LENGTH_PREFIX: Record<string, number> = { p: 1, P: 2, a: 4 };

interface Step {
  code: string;
  count: number;
  /** Whether a count was written after the code. */
  counted: boolean;
  little: boolean;
}

/** The format's data codes, each with the byte order in force (set by '<', '>', '='). */
function* steps(format: Uint8Array): Generator<Step> {
  let i = 0;
  let little = true;
  while (i < format.length) {
    const code = String.fromCharCode(format[i++] as number);
    let count = 1;
    let counted = false;
    if (isDigit(format[i])) {
      counted = true;
      count = 0;
      while (isDigit(format[i])) count = count * 10 + ((format[i++] as number) - 0x30);
    }
    if (code === "<" || code === "=" || code === ">") little = code !== ">";
    else if (code !== " " && code !== ",") yield { code, count, counted, little };
  }
}

function badCode(L: LuaState, code: string, errArg: number): never {
  return argError(L, errArg, `bad code \`${code}'`);
}

function intBytes(value: number, size: number, little: boolean): Uint8Array {
  const out = new Uint8Array(size);
  // Two's complement over the whole width: a negative value fills the high bytes with 0xFF.
  if (size > 4) {
    new DataView(out.buffer).setBigInt64(0, BigInt(value), little);
    return out;
  }
  let v = value;
  for (let k = 0; k < size; k++) {
    const byte = v & 255;
    out[little ? k : size - 1 - k] = byte;
    v = Math.floor(v / 256);
  }
  return out;
}

function floatBytes(value: number, size: 4 | 8, little: boolean): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  if (size === 4) view.setFloat32(0, value, little);
  else view.setFloat64(0, value, little);
  return out;
}

/**
 * Packs the arguments from stack index `firstArg` by `format`; a bad code raises at
 * argument `errArg` (the firmware always names argument 1).
 */
export function packInto(L: LuaState, format: Uint8Array, firstArg: number, errArg = 1): Uint8Array {
  const parts: Uint8Array[] = [];
  let arg = firstArg;
  for (const { code, count, counted, little } of steps(format)) {
    if (code === "A") {
      // 'A<n>' writes exactly n bytes: the string cut, or padded with zero bytes.
      const s = counted && count === 0 ? (lua.lua_isnoneornil(L, arg) ? new Uint8Array(0) : checkBytes(L, arg)) : checkBytes(L, arg);
      arg++;
      const width = counted ? count : s.length;
      const field = new Uint8Array(width);
      field.set(s.subarray(0, width));
      parts.push(field);
      continue;
    }
    for (let n = 0; n < count; n++) {
      if (code === "z") {
        const s = checkBytes(L, arg++);
        parts.push(s);
        if (code === "z") parts.push(new Uint8Array(1));
      } else if (code in LENGTH_PREFIX) {
        const s = checkBytes(L, arg++);
        parts.push(intBytes(s.length, LENGTH_PREFIX[code] as number, little), s);
      } else if (code === "f") {
        parts.push(floatBytes(checkNumber(L, arg++), 4, little));
      } else if (code === "d" || code === "n") {
        parts.push(floatBytes(checkNumber(L, arg++), 8, little));
      } else if (code in INT_SIZES) {
        const { size } = INT_SIZES[code] as { size: number };
        parts.push(intBytes(checkInteger(L, arg++), size, little));
      } else {
        badCode(L, code, errArg);
      }
    }
  }
  return Buffer.concat(parts);
}

function pushInt(L: LuaState, value: number): void {
  lua.lua_pushinteger(L, value | 0);
}

function readInt(bytes: Uint8Array, at: number, size: number, signed: boolean, little: boolean): number {
  let v = 0;
  for (let k = 0; k < size; k++) v = v * 256 + (bytes[little ? at + size - 1 - k : at + k] as number);
  if (signed && v >= 2 ** (8 * size - 1)) v -= 2 ** (8 * size);
  return v;
}

/**
 * Unpacks `bytes` from offset `start` by `format`, pushing the values; returns the offset
 * reached. Stops quietly (with the values so far) when the data runs out.
 */
export function unpackFrom(L: LuaState, bytes: Uint8Array, format: Uint8Array, start: number, errArg = 1): number {
  let i = start;
  const len = bytes.length;
  for (const { code, count, counted, little } of steps(format)) {
    if (code === "A") {
      // 'A' takes its count as the length of one string.
      if (counted && count === 0) {
        pushBytes(L, new Uint8Array(0));
        continue;
      }
      if (i + count > len) return i;
      pushBytes(L, bytes.slice(i, i + count));
      i += count;
      continue;
    }
    for (let n = 0; n < count; n++) {
      lauxlib.luaL_checkstack(L, 4, "too many results to unpack");
      if (code === "z") {
        if (i >= len) return i;
        let end = bytes.indexOf(0, i);
        if (end < 0) end = len;
        pushBytes(L, bytes.slice(i, end));
        i = end + 1;
      } else if (code in LENGTH_PREFIX) {
        const m = LENGTH_PREFIX[code] as number;
        if (i + m > len) return i;
        const l = readInt(bytes, i, m, false, little);
        if (i + m + l > len) return i;
        pushBytes(L, bytes.slice(i + m, i + m + l));
        i += m + l;
      } else if (code === "f" || code === "d" || code === "n") {
        const m = code === "f" ? 4 : 8;
        if (i + m > len) return i;
        const view = new DataView(bytes.buffer, bytes.byteOffset + i, m);
        lua.lua_pushnumber(L, m === 4 ? view.getFloat32(0, little) : view.getFloat64(0, little));
        i += m;
      } else if (code in INT_SIZES) {
        const { size, signed } = INT_SIZES[code] as { size: number; signed: boolean };
        if (i + size > len) return i;
        // Wider than the VM's integers: the low 32 bits, as (lua_Integer) casts.
        const low = size > 4 ? (little ? i : i + size - 4) : i;
        pushInt(L, readInt(bytes, low, Math.min(size, 4), signed, little));
        i += size;
      } else {
        badCode(L, code, errArg);
      }
    }
  }
  return i;
}

const packString: LuaJsFunction = (L) => {
  const format = checkBytes(L, 1);
  pushBytes(L, packInto(L, format, 2, 1));
  return 1;
};

/** pack.unpack(s, fmt[, init = 1]) → the position after the data read, then the values. */
const unpackString: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const format = checkBytes(L, 2);
  const init = lua.lua_isnoneornil(L, 3) ? 1 : Math.trunc(checkNumber(L, 3));
  const base = lua.lua_gettop(L);
  lua.lua_pushnil(L);
  const reached = unpackFrom(L, s, format, Math.max(0, init - 1), 1);
  lua.lua_pushinteger(L, reached + 1);
  lua.lua_replace(L, base + 1);
  return lua.lua_gettop(L) - base;
};

export const pack: ModuleDef = {
  name: "pack",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 2);
    setFunctions(L, -1, { pack: packString, unpack: unpackString });
  },
};
