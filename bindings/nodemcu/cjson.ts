// NodeMCU's older `cjson` module (lua-cjson): any value encodes, empty tables are `{}`,
// errors read `Expected value but found invalid token at character 1`. It shares sjson's
// byte builder, number handling and null value, so cjson.null == sjson.NULL.
import { lua, lauxlib, pushBytes, type LuaState } from "../../runtime/lua.js";
import { argError, checkBytes, raise } from "../../runtime/args.js";
import { defineModule } from "../common/module.js";
import { ByteBuilder, formatG14, pushJsonNull, pushJsonNumber } from "./sjson.js";

const MAX_DEPTH = 1000;
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

function typeName(L: LuaState, idx: number): string {
  return new TextDecoder().decode(lauxlib.luaL_typename(L, idx));
}

function fail(L: LuaState, idx: number, reason: string): never {
  return raise(L, `Cannot serialise ${typeName(L, idx)}: ${reason}`);
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

function appendNumber(L: LuaState, out: ByteBuilder, idx: number): void {
  if (lua.lua_isinteger(L, idx)) {
    out.ascii(String(lua.lua_tointeger(L, idx)));
    return;
  }
  const n = lua.lua_tonumber(L, idx);
  if (!Number.isFinite(n)) fail(L, idx, "must not be NaN or Infinity");
  out.ascii(formatG14(n));
}

/** lua-cjson's test: positive integer keys only, and not excessively sparse. */
function arrayLength(L: LuaState, idx: number): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    lua.lua_pop(L, 1);
    const k = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
    if (k >= 1 && Math.floor(k) === k) {
      max = Math.max(max, k);
      items++;
      continue;
    }
    lua.lua_pop(L, 1);
    return -1;
  }
  if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) fail(L, idx, "excessively sparse array");
  return max;
}

function appendValue(L: LuaState, out: ByteBuilder, depth: number): void {
  const idx = lua.lua_gettop(L);
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TSTRING:
      appendString(out, lua.lua_tolstring(L, idx) as Uint8Array);
      return;
    case lua.LUA_TNUMBER:
      appendNumber(L, out, idx);
      return;
    case lua.LUA_TBOOLEAN:
      out.ascii(lua.lua_toboolean(L, idx) ? "true" : "false");
      return;
    case lua.LUA_TNIL:
    case lua.LUA_TLIGHTUSERDATA:
      out.ascii("null");
      return;
    case lua.LUA_TTABLE:
      appendTable(L, out, idx, depth + 1);
      return;
    default:
      fail(L, idx, "type not supported");
  }
}

function appendTable(L: LuaState, out: ByteBuilder, idx: number, depth: number): void {
  if (depth > MAX_DEPTH) raise(L, `Cannot serialise, excessive nesting (${depth})`);
  lauxlib.luaL_checkstack(L, 4, null);
  const length = arrayLength(L, idx);
  if (length > 0) {
    out.byte(0x5b);
    for (let i = 1; i <= length; i++) {
      if (i > 1) out.byte(0x2c);
      lua.lua_rawgeti(L, idx, i);
      appendValue(L, out, depth);
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
    const keyType = lua.lua_type(L, keyIdx);
    if (keyType === lua.LUA_TNUMBER) {
      out.byte(0x22);
      appendNumber(L, out, keyIdx);
      out.ascii('":');
    } else if (keyType === lua.LUA_TSTRING) {
      appendString(out, lua.lua_tolstring(L, keyIdx) as Uint8Array);
      out.byte(0x3a);
    } else {
      fail(L, keyIdx, "table key must be a number or string");
    }
    appendValue(L, out, depth);
    lua.lua_settop(L, keyIdx);
  }
  out.byte(0x7d);
}

const encode = (L: LuaState): number => {
  if (lua.lua_gettop(L) !== 1) argError(L, 1, "expected 1 argument");
  const out = new ByteBuilder();
  lua.lua_pushvalue(L, 1);
  appendValue(L, out, 0);
  pushBytes(L, out.result());
  return 1;
};

// ---- decoding ----

type TokenType = "T_OBJ_BEGIN" | "T_OBJ_END" | "T_ARR_BEGIN" | "T_ARR_END" | "T_STRING" | "T_NUMBER" | "T_BOOLEAN" | "T_NULL" | "T_COLON" | "T_COMMA" | "T_END" | "T_ERROR";

interface Token {
  type: TokenType;
  /** Byte offset, reported 1-based. */
  index: number;
  error?: string;
  bytes?: Uint8Array;
  number?: number;
  integral?: boolean;
  boolean?: boolean;
}

const SINGLE: Record<number, TokenType> = { 0x7b: "T_OBJ_BEGIN", 0x7d: "T_OBJ_END", 0x5b: "T_ARR_BEGIN", 0x5d: "T_ARR_END", 0x2c: "T_COMMA", 0x3a: "T_COLON" };

const ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x74: 0x09, 0x6e: 0x0a, 0x66: 0x0c, 0x72: 0x0d };

/** What C's strtod accepts at the start of a token (decimal, hex, inf, nan). */
const STRTOD = /^[+-]?(?:0[xX][0-9a-fA-F]+|infinity|inf|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/i;

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

class CjsonParser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly L: LuaState, private readonly data: Uint8Array) {}

  /** A C string ends at its first NUL, as lua-cjson reads it. */
  private at(i: number): number {
    return i < this.data.length ? (this.data[i] as number) : 0;
  }

  private fail(expected: string, token: Token): never {
    const found = token.type === "T_ERROR" ? (token.error as string) : token.type;
    return raise(this.L, `Expected ${expected} but found ${found} at character ${token.index + 1}`);
  }

  next(): Token {
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
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number(index, rest);
    if (rest.startsWith("true")) return this.word(index, 4, { type: "T_BOOLEAN", index, boolean: true });
    if (rest.startsWith("false")) return this.word(index, 5, { type: "T_BOOLEAN", index, boolean: false });
    if (rest.startsWith("null")) return this.word(index, 4, { type: "T_NULL", index });
    if (c === 0x2b || /^(inf|nan)/i.test(rest)) return this.number(index, rest);
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
    const negative = text.startsWith("-");
    let value: number;
    if (/^0x/i.test(body)) value = Number.parseInt(body.slice(2), 16);
    else if (/^inf/i.test(body)) value = Infinity;
    else if (/^nan/i.test(body)) value = NaN;
    else value = Number(body);
    if (negative) value = -value;
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

  /** \uXXXX at pos (a surrogate pair must follow as a second escape) as UTF-8. */
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
    this.pos += length;
    return true;
  }

  private descend(): void {
    this.depth++;
    if (this.depth > MAX_DEPTH) raise(this.L, `Found too many nested data structures (${this.depth}) at character ${this.pos}`);
    lauxlib.luaL_checkstack(this.L, 4, null);
  }

  value(token: Token): void {
    const L = this.L;
    switch (token.type) {
      case "T_STRING":
        pushBytes(L, token.bytes as Uint8Array);
        return;
      case "T_NUMBER":
        // Integers stay integers (Lua 5.1 firmware printed 3.0 as 3 anyway).
        pushJsonNumber(L, token.number as number, token.integral === true);
        return;
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
      raise(this.L, "JSON parser does not support UTF-16 or UTF-32");
    }
    this.value(this.next());
    const end = this.next();
    if (end.type !== "T_END") this.fail("the end", end);
  }
}

const decode = (L: LuaState): number => {
  if (lua.lua_gettop(L) !== 1) argError(L, 1, "expected 1 argument");
  const data = checkBytes(L, 1);
  new CjsonParser(L, data).document();
  return 1;
};

export const cjson = defineModule("cjson", {
  functions: { encode, decode },
  setup: (L) => {
    pushJsonNull(L);
    lua.lua_setfield(L, -2, "null");
  },
});
