// lua-cjson's encoder and decoder, shared by NodeMCU's `cjson` and LuatOS's `json` (both
// firmwares ship lua-cjson). What the two builds do differently (number format, which
// light userdata is null, wording) is the dialect; how an error reaches the script is
// each module's own.
// The byte-level helpers here also serve NodeMCU's `sjson`.
import { lua, lauxlib, pushBytes, textOf, type LuaState } from "../../engine/lua.js";

const MAX_DEPTH = 1000;
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

// ---- bytes ----

/** A growable byte string, so encoded JSON never passes through a JS string. */
export class ByteBuilder {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** ASCII text (JSON punctuation, numbers, escapes). */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buf[this.len++] = text.charCodeAt(i);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

export function appendUtf8(out: ByteBuilder, code: number): void {
  if (code < 0x80) out.byte(code);
  else if (code < 0x800) {
    out.byte(0xc0 | (code >> 6));
    out.byte(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out.byte(0xe0 | (code >> 12));
    out.byte(0x80 | ((code >> 6) & 0x3f));
    out.byte(0x80 | (code & 0x3f));
  } else {
    out.byte(0xf0 | (code >> 18));
    out.byte(0x80 | ((code >> 12) & 0x3f));
    out.byte(0x80 | ((code >> 6) & 0x3f));
    out.byte(0x80 | (code & 0x3f));
  }
}

/**
 * Pushes a decoded number: written without fraction or exponent and within the VM's
 * integer range, it stays an integer, as Lua's own tonumber would make it (so ids and
 * counters print as the script sent them).
 */
export function pushJsonNumber(L: LuaState, value: number, integral: boolean): void {
  if (integral && Number.isSafeInteger(value) && value >= -2147483648 && value <= 2147483647) {
    lua.lua_pushinteger(L, value);
  } else {
    lua.lua_pushnumber(L, value);
  }
}

/**
 * Writes the table at idx as a JSON array of `length` items, or as an object when length
 * is negative. The stack is restored after each key and value; `key` writes the key at
 * its index with the colon, `value` the value on top of the stack.
 */
export function appendTable(L: LuaState, out: ByteBuilder, idx: number, length: number, key: (keyIdx: number) => void, value: () => void): void {
  if (length >= 0) {
    out.byte(0x5b);
    for (let i = 1; i <= length; i++) {
      if (i > 1) out.byte(0x2c);
      lua.lua_rawgeti(L, idx, i);
      value();
      lua.lua_settop(L, idx);
    }
    out.byte(0x5d);
    return;
  }
  out.byte(0x7b);
  let first = true;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    const keyIdx = lua.lua_gettop(L) - 1;
    if (!first) out.byte(0x2c);
    first = false;
    key(keyIdx);
    value();
    lua.lua_settop(L, keyIdx);
  }
  out.byte(0x7d);
}

// ---- the lua-cjson dialect ----

/** A lua-cjson error; each module turns it into a Lua error or a returned message. */
export class CjsonError extends Error {}

/** How one firmware's build encodes. */
export interface CjsonDialect {
  /** Whether a light userdata encodes as null (otherwise it cannot be serialised). */
  isNull(pointer: unknown): boolean;
  /** A finite non-integer number's text. */
  formatNumber(n: number): string;
  /** The reason given for NaN and infinities. */
  nonFiniteReason: string;
  /**
   * Whether an infinite key can make a table an array: lua-cjson's floor(k) == k admits
   * it (and the table is then excessively sparse), LuatOS's build here does not.
   */
  infiniteIndex: boolean;
}

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

  constructor(private readonly L: LuaState, private readonly dialect: CjsonDialect) {}

  private fail(idx: number, reason: string): never {
    throw new CjsonError(`Cannot serialise ${typeName(this.L, idx)}: ${reason}`);
  }

  private number(idx: number): void {
    const L = this.L;
    if (lua.lua_isinteger(L, idx)) {
      this.out.ascii(String(lua.lua_tointeger(L, idx)));
      return;
    }
    const n = lua.lua_tonumber(L, idx);
    if (!Number.isFinite(n)) this.fail(idx, this.dialect.nonFiniteReason);
    this.out.ascii(this.dialect.formatNumber(n));
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
      if (k >= 1 && Math.floor(k) === k && (this.dialect.infiniteIndex || Number.isFinite(k))) {
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
        if (!this.dialect.isNull(lua.lua_touserdata(L, idx))) this.fail(idx, "type not supported");
        this.out.ascii("null");
        return;
      case lua.LUA_TTABLE:
        this.table(idx, depth + 1);
        return;
      default:
        this.fail(idx, "type not supported");
    }
  }

  private key(keyIdx: number): void {
    const L = this.L;
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
  }

  private table(idx: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new CjsonError(`Cannot serialise, excessive nesting (${depth})`);
    lauxlib.luaL_checkstack(this.L, 4, null);
    // An empty table has no array items, so it is written as `{}`.
    const length = this.arrayLength(idx);
    appendTable(this.L, this.out, idx, length > 0 ? length : -1, (keyIdx) => this.key(keyIdx), () => this.value(depth));
  }
}

/** The value at idx as JSON; throws CjsonError. The stack is left as it was. */
export function encodeCjson(L: LuaState, idx: number, dialect: CjsonDialect): Uint8Array {
  const top = lua.lua_gettop(L);
  const encoder = new Encoder(L, dialect);
  try {
    lua.lua_pushvalue(L, idx);
    encoder.value(0);
  } catch (error) {
    // A Lua error's message sits on the stack: only lua-cjson's own errors unwind here.
    if (error instanceof CjsonError) lua.lua_settop(L, top);
    throw error;
  }
  lua.lua_settop(L, top);
  return encoder.out.result();
}

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

class Decoder {
  private pos = 0;
  private depth = 0;

  constructor(private readonly L: LuaState, private readonly data: Uint8Array, private readonly pushNull: (L: LuaState) => void) {}

  /** lua-cjson reads a C string: it ends at the first NUL. */
  private at(i: number): number {
    return i < this.data.length ? (this.data[i] as number) : 0;
  }

  private fail(expected: string, token: Token): never {
    const found = token.type === "T_ERROR" ? (token.error as string) : token.type;
    throw new CjsonError(`Expected ${expected} but found ${found} at character ${token.index + 1}`);
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
    if (this.depth > MAX_DEPTH) throw new CjsonError(`Found too many nested data structures (${this.depth}) at character ${this.pos}`);
    lauxlib.luaL_checkstack(this.L, 4, null);
  }

  private value(token: Token): void {
    const L = this.L;
    switch (token.type) {
      case "T_STRING":
        pushBytes(L, token.bytes as Uint8Array);
        return;
      case "T_NUMBER":
        pushJsonNumber(L, token.number as number, token.integral === true);
        return;
      case "T_BOOLEAN":
        lua.lua_pushboolean(L, token.boolean === true);
        return;
      case "T_NULL":
        this.pushNull(L);
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
      throw new CjsonError("JSON parser does not support UTF-16 or UTF-32");
    }
    this.value(this.next());
    const end = this.next();
    if (end.type !== "T_END") this.fail("the end", end);
  }
}

/** Pushes the decoded document, JSON null as pushNull pushes it; throws CjsonError, leaving the stack as it was. */
export function decodeCjson(L: LuaState, data: Uint8Array, pushNull: (L: LuaState) => void): void {
  const top = lua.lua_gettop(L);
  try {
    new Decoder(L, data, pushNull).document();
  } catch (error) {
    if (error instanceof CjsonError) lua.lua_settop(L, top);
    throw error;
  }
}
