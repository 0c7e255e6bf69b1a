// NodeMCU `struct`: Roberto Ierusalimschy's struct library as the firmware builds it for its
// 32-bit Xtensa: native order little-endian, char 1, short 2, int/long/size_t 4, float 4,
// double 8, largest alignment 8, integer fields up to 32 bytes (the float build's limit).
// Integers are packed from the 32-bit value, so bytes beyond the fourth are zero even for a
// negative number, and an unpacked integer outside the 32-bit range comes back as a float.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, checkNumber, optInteger, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const MAX_INT_SIZE = 32;
const MAX_ALIGN = 8;
const NATIVE_SIZES: Record<string, number> = { b: 1, B: 1, h: 2, H: 2, l: 4, L: 4, T: 4, f: 4, d: 8, x: 1 };

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** Walks a format string the way struct.c's getnum/optsize/controloptions do. */
class Format {
  pos = 0;
  little = true;
  align = 1;

  constructor(private readonly L: LuaState, private readonly fmt: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.fmt.length || this.fmt[this.pos] === 0;
  }

  next(): string {
    return String.fromCharCode(this.fmt[this.pos++] as number);
  }

  private number(fallback: number): number {
    if (!isDigit(this.fmt[this.pos])) return fallback;
    let a = 0;
    while (isDigit(this.fmt[this.pos])) {
      const digit = (this.fmt[this.pos] as number) - 0x30;
      if (a > Math.floor(0x7fffffff / 10) || a * 10 > 0x7fffffff - digit) raise(this.L, "integral size overflow");
      a = a * 10 + digit;
      this.pos++;
    }
    return a;
  }

  /** The size of option `opt`, reading its count; 0 for options that take no room. */
  size(opt: string): number {
    const native = NATIVE_SIZES[opt];
    if (native !== undefined) return native;
    if (opt === "c") return this.number(1);
    if (opt === "i" || opt === "I") {
      const size = this.number(4);
      if (size > MAX_INT_SIZE) raise(this.L, `integral size ${size} is larger than limit of ${MAX_INT_SIZE}`);
      return size;
    }
    return 0;
  }

  /** Padding before an element of `size` at offset `at`; odd sizes keep the library's arithmetic. */
  padding(at: number, opt: string, size: number): number {
    if (size === 0 || opt === "c") return 0;
    const unit = Math.min(size, this.align);
    return (unit - (at & (unit - 1))) & (unit - 1);
  }

  control(opt: string): void {
    switch (opt) {
      case " ": return;
      case ">": this.little = false; return;
      case "<": this.little = true; return;
      case "!": {
        const a = this.number(MAX_ALIGN);
        if (a <= 0 || (a & (a - 1)) !== 0) raise(this.L, `alignment ${a} is not a power of 2`);
        this.align = a;
        return;
      }
      default: argError(this.L, 1, `invalid format option '${opt}'`);
    }
  }
}

const INTEGER_OPTIONS = new Set(["b", "B", "h", "H", "l", "L", "T", "i", "I"]);

function integerBytes(value: number, size: number, little: boolean): Uint8Array {
  const out = new Uint8Array(size);
  let rest = value >>> 0;
  for (let i = 0; i < size; i++) {
    out[little ? i : size - 1 - i] = rest & 0xff;
    rest >>>= 8;
  }
  return out;
}

function floatBytes(value: number, size: number, little: boolean): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  if (size === 4) view.setFloat32(0, value, little);
  else view.setFloat64(0, value, little);
  return out;
}

const pack = (L: LuaState): number => {
  const format = new Format(L, checkBytes(L, 1));
  const parts: Uint8Array[] = [];
  let total = 0;
  let arg = 2;
  while (!format.done) {
    const opt = format.next();
    let size = format.size(opt);
    const pad = format.padding(total, opt, size);
    total += pad;
    if (pad > 0) parts.push(new Uint8Array(pad));
    if (INTEGER_OPTIONS.has(opt)) {
      parts.push(integerBytes(checkInteger(L, arg++), size, format.little));
    } else if (opt === "x") {
      parts.push(new Uint8Array(1));
    } else if (opt === "f" || opt === "d") {
      parts.push(floatBytes(checkNumber(L, arg++), size, format.little));
    } else if (opt === "c" || opt === "s") {
      const text = checkBytes(L, arg++);
      if (size === 0) size = text.length;
      // The library checks after moving past the argument, so it names the next one.
      if (text.length < size) argError(L, arg, "string too short");
      parts.push(text.subarray(0, size));
      if (opt === "s") {
        parts.push(new Uint8Array(1));
        size++;
      }
    } else {
      format.control(opt);
    }
    total += size;
  }
  pushBytes(L, Buffer.concat(parts));
  return 1;
};

function readInteger(data: Uint8Array, at: number, size: number, little: boolean, signed: boolean): number {
  let value = 0n;
  for (let i = 0; i < size; i++) value = ((value << 8n) | BigInt(data[little ? at + size - 1 - i : at + i] as number)) & 0xffffffffffffffffn;
  if (signed && size > 0) {
    const mask = (0xffffffffffffffffn << BigInt(Math.min(size * 8 - 1, 63))) & 0xffffffffffffffffn;
    if (value & mask) value |= mask;
  }
  return Number(BigInt.asIntN(64, value));
}

const unpack = (L: LuaState): number => {
  const format = new Format(L, checkBytes(L, 1));
  const data = checkBytes(L, 2);
  let pos = optInteger(L, 3, 1) - 1;
  lua.lua_settop(L, 2);
  const fits = (size: number): void => {
    if (pos < 0 || size < 0 || pos + size > data.length) argError(L, 2, "data string too short");
  };
  while (!format.done) {
    const opt = format.next();
    let size = format.size(opt);
    pos += format.padding(pos, opt, size);
    fits(size);
    if (INTEGER_OPTIONS.has(opt)) {
      const value = readInteger(data, pos, size, format.little, opt === opt.toLowerCase());
      if (value >= -0x80000000 && value <= 0x7fffffff) lua.lua_pushinteger(L, value);
      else lua.lua_pushnumber(L, value);
    } else if (opt === "x") {
      // padding only
    } else if (opt === "f" || opt === "d") {
      const view = new DataView(data.buffer, data.byteOffset + pos, size);
      lua.lua_pushnumber(L, size === 4 ? view.getFloat32(0, format.little) : view.getFloat64(0, format.little));
    } else if (opt === "c") {
      if (size === 0) {
        // c0 takes its length from the value unpacked just before, which it consumes.
        if (!lua.lua_isnumber(L, -1)) raise(L, "format `c0' needs a previous size");
        size = lua.lua_tointeger(L, -1) || 0;
        lua.lua_pop(L, 1);
        fits(size);
      }
      pushBytes(L, data.subarray(pos, pos + size));
    } else if (opt === "s") {
      const end = data.indexOf(0, pos);
      if (end < 0) raise(L, "unfinished string in data");
      size = end - pos + 1;
      pushBytes(L, data.subarray(pos, end));
    } else {
      format.control(opt);
    }
    pos += size;
  }
  lua.lua_pushinteger(L, pos + 1);
  return lua.lua_gettop(L) - 2;
};

const size = (L: LuaState): number => {
  const format = new Format(L, checkBytes(L, 1));
  let pos = 0;
  while (!format.done) {
    const opt = format.next();
    const optSize = format.size(opt);
    pos += format.padding(pos, opt, optSize);
    if (opt === "s") argError(L, 1, "option 's' has no fixed size");
    else if (opt === "c" && optSize === 0) argError(L, 1, "option 'c0' has no fixed size");
    if (!isAlnum(opt.charCodeAt(0))) format.control(opt);
    pos += optSize;
  }
  lua.lua_pushinteger(L, pos);
  return 1;
};

export const struct = defineModule("struct", {
  functions: { pack, unpack, size },
});
