// LuatOS `json` (the firmware's lua-cjson): encode never raises but returns nil and the
// message; decode returns the value and 1, or nil, false and the message. Integers encode
// as integers, other numbers with the format the second argument of encode gives
// ("7f" by default since the 2024-01 firmware: %.7f; "12f", "7g", ...). An empty table is
// `{}`, JSON null is json.null.
import { lua, lauxlib, pushBytes, textOf, type LuaState } from "../../runtime/lua.js";
import { checkBytes } from "../../runtime/args.js";
import { defineModule } from "../common/module.js";
import { ByteBuilder } from "../nodemcu/sjson.js";

/** The light userdata standing for JSON null (the firmware's NULL pointer). */
export const LUATOS_JSON_NULL: object = Object.freeze({ luatosJsonNull: true });

export function pushJsonNull(L: LuaState): void {
  lua.lua_pushlightuserdata(L, LUATOS_JSON_NULL);
}

const MAX_DEPTH = 1000;
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;
const DEFAULT_PRECISION = 7;
const MAX_PRECISION = 14;

/** An error the firmware's pcall turns into `nil, message`. */
class JsonError extends Error {}

// ---- number formatting, exactly as C's printf rounds (the double's exact value, ties to even) ----

interface NumberFormat {
  mode: "f" | "g";
  precision: number;
}

/** |x| as num / den, den a power of two. */
function exactRational(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let shift: number;
  if (exponent === 0) shift = -1074;
  else {
    mantissa |= 1n << 52n;
    shift = exponent - 1075;
  }
  return shift >= 0 ? { num: mantissa << BigInt(shift), den: 1n } : { num: mantissa, den: 1n << BigInt(-shift) };
}

/** round(num / den) with ties to even. */
function roundDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** round(|x| * 10^k) for any integer k. */
function scaled(x: number, k: number): bigint {
  const { num, den } = exactRational(x);
  return k >= 0 ? roundDiv(num * 10n ** BigInt(k), den) : roundDiv(num, den * 10n ** BigInt(-k));
}

function withPoint(digits: bigint, decimals: number): string {
  if (decimals === 0) return digits.toString();
  const text = digits.toString().padStart(decimals + 1, "0");
  return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

/** C's "%.{p}f". */
export function formatFixed(x: number, precision: number): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  return sign + withPoint(scaled(x, precision), precision);
}

/** C's "%.{p}g". */
export function formatGeneral(x: number, precision: number): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const p = precision === 0 ? 1 : precision;
  if (x === 0) return `${sign}0`;
  // The decimal exponent of x once rounded to p significant digits.
  let exponent = Math.floor(Math.log10(Math.abs(x)));
  let digits = scaled(x, p - 1 - exponent);
  if (digits >= 10n ** BigInt(p)) {
    exponent++;
    digits = scaled(x, p - 1 - exponent);
  } else if (digits < 10n ** BigInt(p - 1)) {
    exponent--;
    digits = scaled(x, p - 1 - exponent);
  }
  let text: string;
  if (exponent < -4 || exponent >= p) {
    const mantissa = withPoint(digits, p - 1);
    const trimmed = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
    text = `${trimmed}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  } else {
    const fixed = withPoint(digits, p - 1 - exponent);
    text = fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
  }
  return sign + text;
}

/** The format argument: leading digits are the precision, then `f`, else %g. */
function parseFormat(spec: Uint8Array): NumberFormat {
  let precision = 0;
  let i = 0;
  while (i < spec.length && (spec[i] as number) >= 0x30 && (spec[i] as number) <= 0x39) {
    precision = precision * 10 + ((spec[i] as number) - 0x30);
    i++;
  }
  const mode = spec[i] === 0x66 ? "f" : "g";
  return { mode, precision: precision <= MAX_PRECISION ? precision : DEFAULT_PRECISION };
}

// ---- encoding ----

function typeName(L: LuaState, idx: number): string {
  return textOf(lauxlib.luaL_typename(L, idx));
}

function appendString(out: ByteBuilder, bytes: Uint8Array): void {
  out.byte(0x22);
  for (const b of bytes) {
    switch (b) {
      case 0x08: out.ascii("\\b"); break;
      case 0x09: out.ascii("\\t"); break;
      case 0x0a: out.ascii("\\n"); break;
      case 0x0c: out.ascii("\\f"); break;
      case 0x0d: out.ascii("\\r"); break;
      case 0x22: out.ascii('\\"'); break;
      case 0x2f: out.ascii("\\/"); break;
      case 0x5c: out.ascii("\\\\"); break;
      case 0x7f: out.ascii("\\u007f"); break;
      default:
        if (b < 0x20) out.ascii(`\\u00${b.toString(16).padStart(2, "0")}`);
        else out.byte(b);
    }
  }
  out.byte(0x22);
}

class Encoder {
  readonly out = new ByteBuilder();

  constructor(private readonly L: LuaState, private readonly format: NumberFormat) {}

  private fail(idx: number, reason: string): never {
    throw new JsonError(`Cannot serialise ${typeName(this.L, idx)}: ${reason}`);
  }

  private number(idx: number): void {
    const L = this.L;
    if (lua.lua_isinteger(L, idx)) {
      this.out.ascii(String(lua.lua_tointeger(L, idx)));
      return;
    }
    const n = lua.lua_tonumber(L, idx);
    if (!Number.isFinite(n)) this.fail(idx, "must not be NaN or Inf");
    this.out.ascii(this.format.mode === "f" ? formatFixed(n, this.format.precision) : formatGeneral(n, this.format.precision));
  }

  /** lua-cjson's test: positive integer keys only, and not excessively sparse. -1: an object. */
  private arrayLength(idx: number): number {
    const L = this.L;
    let max = 0;
    let items = 0;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, idx)) {
      lua.lua_pop(L, 1);
      const k = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
      if (k >= 1 && Number.isInteger(k)) {
        max = Math.max(max, k);
        items++;
        continue;
      }
      lua.lua_pop(L, 1);
      return -1;
    }
    if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) this.fail(idx, "excessively sparse array");
    return max;
  }

  /** Appends the value on top of the stack (left there). */
  value(depth: number): void {
    const L = this.L;
    const idx = lua.lua_gettop(L);
    switch (lua.lua_type(L, idx)) {
      case lua.LUA_TSTRING:
        appendString(this.out, lua.lua_tolstring(L, idx) as Uint8Array);
        return;
      case lua.LUA_TNUMBER:
        this.number(idx);
        return;
      case lua.LUA_TBOOLEAN:
        this.out.ascii(lua.lua_toboolean(L, idx) ? "true" : "false");
        return;
      case lua.LUA_TNIL:
        this.out.ascii("null");
        return;
      case lua.LUA_TLIGHTUSERDATA:
        if (lua.lua_touserdata(L, idx) !== LUATOS_JSON_NULL) this.fail(idx, "type not supported");
        this.out.ascii("null");
        return;
      case lua.LUA_TTABLE:
        this.table(idx, depth + 1);
        return;
      default:
        this.fail(idx, "type not supported");
    }
  }

  private table(idx: number, depth: number): void {
    const L = this.L;
    if (depth > MAX_DEPTH) throw new JsonError(`Cannot serialise, excessive nesting (${depth})`);
    lauxlib.luaL_checkstack(L, 4, null);
    const length = this.arrayLength(idx);
    if (length > 0) {
      this.out.byte(0x5b);
      for (let i = 1; i <= length; i++) {
        if (i > 1) this.out.byte(0x2c);
        lua.lua_rawgeti(L, idx, i);
        this.value(depth);
        lua.lua_settop(L, idx);
      }
      this.out.byte(0x5d);
      return;
    }
    this.out.byte(0x7b);
    let first = true;
    lua.lua_pushnil(L);
    while (lua.lua_next(L, idx)) {
      const keyIdx = lua.lua_gettop(L) - 1;
      if (!first) this.out.byte(0x2c);
      first = false;
      const keyType = lua.lua_type(L, keyIdx);
      if (keyType === lua.LUA_TNUMBER) {
        this.out.byte(0x22);
        this.number(keyIdx);
        this.out.ascii('":');
      } else if (keyType === lua.LUA_TSTRING) {
        appendString(this.out, lua.lua_tolstring(L, keyIdx) as Uint8Array);
        this.out.byte(0x3a);
      } else {
        this.fail(keyIdx, "table key must be a number or string");
      }
      this.value(depth);
      lua.lua_settop(L, keyIdx);
    }
    this.out.byte(0x7d);
  }
}

/** json.encode(value[, format]) → string, or nil and the reason. */
const encode = (L: LuaState): number => {
  const top = lua.lua_gettop(L);
  let format: NumberFormat = { mode: "f", precision: DEFAULT_PRECISION };
  // Like the firmware, the last argument is the format when there are several; nil keeps the default.
  if (top >= 2 && !lua.lua_isnil(L, top)) format = parseFormat(checkBytes(L, top));
  if (top < 1) {
    lua.lua_pushnil(L);
    lua.lua_pushstring(L, "bad argument #1 to 'encode' (expected 1 argument)");
    return 2;
  }
  const encoder = new Encoder(L, format);
  try {
    lua.lua_pushvalue(L, 1);
    encoder.value(0);
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    lua.lua_settop(L, top);
    lua.lua_pushnil(L);
    lua.lua_pushstring(L, error.message);
    return 2;
  }
  lua.lua_settop(L, top);
  pushBytes(L, encoder.out.result());
  return 1;
};

// ---- decoding ----

type TokenType = "T_OBJ_BEGIN" | "T_OBJ_END" | "T_ARR_BEGIN" | "T_ARR_END" | "T_STRING" | "T_NUMBER" | "T_BOOLEAN" | "T_NULL" | "T_COLON" | "T_COMMA" | "T_END" | "T_ERROR";

interface Token {
  type: TokenType;
  /** Byte offset; messages count from 1. */
  index: number;
  error?: string;
  bytes?: Uint8Array;
  number?: number;
  integral?: boolean;
  boolean?: boolean;
}

const SINGLE: Record<number, TokenType> = { 0x7b: "T_OBJ_BEGIN", 0x7d: "T_OBJ_END", 0x5b: "T_ARR_BEGIN", 0x5d: "T_ARR_END", 0x2c: "T_COMMA", 0x3a: "T_COLON" };
const ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x74: 0x09, 0x6e: 0x0a, 0x66: 0x0c, 0x72: 0x0d };
/** What C's strtod accepts at the start of a token: decimal, hex, inf, nan. */
const STRTOD = /^[+-]?(?:0[xX][0-9a-fA-F]+|infinity|inf|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/i;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function appendUtf8(out: ByteBuilder, code: number): void {
  if (code < 0x80) out.byte(code);
  else if (code < 0x800) {
    out.byte((code >> 6) | 0xc0);
    out.byte((code & 0x3f) | 0x80);
  } else if (code < 0x10000) {
    out.byte((code >> 12) | 0xe0);
    out.byte(((code >> 6) & 0x3f) | 0x80);
    out.byte((code & 0x3f) | 0x80);
  } else {
    out.byte((code >> 18) | 0xf0);
    out.byte(((code >> 12) & 0x3f) | 0x80);
    out.byte(((code >> 6) & 0x3f) | 0x80);
    out.byte((code & 0x3f) | 0x80);
  }
}

class Decoder {
  private pos = 0;
  private depth = 0;

  constructor(private readonly L: LuaState, private readonly data: Uint8Array) {}

  /** The firmware reads a C string: it ends at the first NUL. */
  private at(i: number): number {
    return i < this.data.length ? (this.data[i] as number) : 0;
  }

  private fail(expected: string, token: Token): never {
    const found = token.type === "T_ERROR" ? (token.error as string) : token.type;
    throw new JsonError(`Expected ${expected} but found ${found} at character ${token.index + 1}`);
  }

  private next(): Token {
    let c = this.at(this.pos);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = this.at(++this.pos);
    const index = this.pos;
    if (c === 0) return { type: "T_END", index };
    const single = SINGLE[c];
    if (single) {
      this.pos++;
      return { type: single, index };
    }
    if (c === 0x22) return this.string(index);
    const rest = this.restAscii();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x2b) return this.number(index, rest);
    if (rest.startsWith("true")) return this.word(index, 4, { type: "T_BOOLEAN", index, boolean: true });
    if (rest.startsWith("false")) return this.word(index, 5, { type: "T_BOOLEAN", index, boolean: false });
    if (rest.startsWith("null")) return this.word(index, 4, { type: "T_NULL", index });
    if (/^(inf|nan)/i.test(rest)) return this.number(index, rest);
    return { type: "T_ERROR", index, error: "invalid token" };
  }

  private restAscii(): string {
    let text = "";
    for (let i = this.pos; i < this.pos + 32 && this.at(i) !== 0; i++) text += String.fromCharCode(this.at(i));
    return text;
  }

  private word(index: number, length: number, token: Token): Token {
    this.pos = index + length;
    return token;
  }

  private number(index: number, rest: string): Token {
    const match = STRTOD.exec(rest);
    if (!match) return { type: "T_ERROR", index, error: "invalid number" };
    const text = match[0];
    this.pos += text.length;
    const body = text.replace(/^[+-]/, "");
    let value: number;
    if (/^0x/i.test(body)) value = Number.parseInt(body.slice(2), 16);
    else if (/^inf/i.test(body)) value = Infinity;
    else if (/^nan/i.test(body)) value = NaN;
    else value = Number(body);
    if (text.startsWith("-")) value = -value;
    return { type: "T_NUMBER", index, number: value, integral: /^[+-]?\d+$/.test(text) };
  }

  private string(index: number): Token {
    const out = new ByteBuilder();
    this.pos++;
    for (;;) {
      const c = this.at(this.pos);
      if (c === 0x22) break;
      if (c === 0) return { type: "T_ERROR", index: this.pos, error: "unexpected end of string" };
      if (c === 0x5c) {
        const e = this.at(this.pos + 1);
        if (e === 0x75) {
          if (!this.unicode(out)) return { type: "T_ERROR", index: this.pos, error: "invalid unicode escape code" };
          continue;
        }
        const mapped = ESCAPES[e];
        if (mapped === undefined) return { type: "T_ERROR", index: this.pos, error: "invalid escape code" };
        out.byte(mapped);
        this.pos += 2;
        continue;
      }
      out.byte(c);
      this.pos++;
    }
    this.pos++;
    return { type: "T_STRING", index, bytes: out.result() };
  }

  private hex4(at: number): number {
    let code = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexDigit(this.at(at + i));
      if (digit < 0) return -1;
      code = (code << 4) | digit;
    }
    return code;
  }

  /** \uXXXX at pos (a high surrogate must be followed by a low one) as UTF-8. */
  private unicode(out: ByteBuilder): boolean {
    let code = this.hex4(this.pos + 2);
    if (code < 0) return false;
    let length = 6;
    if ((code & 0xf800) === 0xd800) {
      if (code & 0x400) return false;
      if (this.at(this.pos + 6) !== 0x5c || this.at(this.pos + 7) !== 0x75) return false;
      const low = this.hex4(this.pos + 8);
      if (low < 0 || (low & 0xfc00) !== 0xdc00) return false;
      code = (((code & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
      length = 12;
    }
    appendUtf8(out, code);
    this.pos += length;
    return true;
  }

  private descend(): void {
    this.depth++;
    if (this.depth > MAX_DEPTH) throw new JsonError(`Found too many nested data structures (${this.depth}) at character ${this.pos}`);
    lauxlib.luaL_checkstack(this.L, 4, null);
  }

  private value(token: Token): void {
    const L = this.L;
    switch (token.type) {
      case "T_STRING":
        pushBytes(L, token.bytes as Uint8Array);
        return;
      case "T_NUMBER": {
        // Integral literals stay integers, so ids and counters print as the script sent them.
        const n = token.number as number;
        if (token.integral && Number.isSafeInteger(n) && n >= -2147483648 && n <= 2147483647) lua.lua_pushinteger(L, n);
        else lua.lua_pushnumber(L, n);
        return;
      }
      case "T_BOOLEAN":
        lua.lua_pushboolean(L, token.boolean === true);
        return;
      case "T_NULL":
        pushJsonNull(L);
        return;
      case "T_OBJ_BEGIN":
        this.object();
        return;
      case "T_ARR_BEGIN":
        this.array();
        return;
      default:
        this.fail("value", token);
    }
  }

  private object(): void {
    const L = this.L;
    this.descend();
    lua.lua_createtable(L, 0, 0);
    const table = lua.lua_gettop(L);
    let token = this.next();
    if (token.type === "T_OBJ_END") {
      this.depth--;
      return;
    }
    for (;;) {
      if (token.type !== "T_STRING") this.fail("object key string", token);
      pushBytes(L, token.bytes as Uint8Array);
      token = this.next();
      if (token.type !== "T_COLON") this.fail("colon", token);
      this.value(this.next());
      lua.lua_rawset(L, table);
      token = this.next();
      if (token.type === "T_OBJ_END") {
        this.depth--;
        return;
      }
      if (token.type !== "T_COMMA") this.fail("comma or object end", token);
      token = this.next();
    }
  }

  private array(): void {
    const L = this.L;
    this.descend();
    lua.lua_createtable(L, 0, 0);
    const table = lua.lua_gettop(L);
    let token = this.next();
    if (token.type === "T_ARR_END") {
      this.depth--;
      return;
    }
    for (let i = 1; ; i++) {
      this.value(token);
      lua.lua_rawseti(L, table, i);
      token = this.next();
      if (token.type === "T_ARR_END") {
        this.depth--;
        return;
      }
      if (token.type !== "T_COMMA") this.fail("comma or array end", token);
      token = this.next();
    }
  }

  document(): void {
    if (this.data.length >= 2 && (this.data[0] === 0 || this.data[1] === 0)) {
      throw new JsonError("JSON parser does not support UTF-16 or UTF-32");
    }
    this.value(this.next());
    const end = this.next();
    if (end.type !== "T_END") this.fail("the end", end);
  }
}

function decodeFailure(L: LuaState, message: string): number {
  lua.lua_pushnil(L);
  lua.lua_pushboolean(L, false);
  lua.lua_pushstring(L, message);
  return 3;
}

/** json.decode(s) → value, 1; or nil, false, message (never raises). */
const decode = (L: LuaState): number => {
  const t = lua.lua_type(L, 1);
  if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) {
    return decodeFailure(L, `bad argument #1 to 'decode' (string expected, got ${t === lua.LUA_TNONE ? "no value" : typeName(L, 1)})`);
  }
  const top = lua.lua_gettop(L);
  try {
    new Decoder(L, lua.lua_tolstring(L, 1) as Uint8Array).document();
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    lua.lua_settop(L, top);
    return decodeFailure(L, error.message);
  }
  lua.lua_pushinteger(L, 1);
  return 2;
};

export const json = defineModule("json", {
  functions: { encode, decode },
  setup: (L) => {
    pushJsonNull(L);
    lua.lua_setfield(L, -2, "null");
  },
});
