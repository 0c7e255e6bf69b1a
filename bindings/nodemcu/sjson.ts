// NodeMCU `sjson`: JSON encode/decode with the firmware's rules (jsonsl's error names,
// sjson.NULL for JSON null, empty tables encoded as arrays), plus the streaming
// encoder/decoder objects. The older `cjson` module keeps lua-cjson's rules and wording
// (common/cjson-codec.ts, which also holds the byte helpers used here).
import { lua, lauxlib, pushBytes, pushUserdata, checkUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, raise } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { appendTable, appendUtf8, ByteBuilder, hexDigit, pushJsonNumber } from "../common/cjson-codec.js";

/**
 * The light userdata standing for JSON null. sjson.NULL and cjson.null are this same
 * value, so tables decoded by one module compare equal under the other.
 */
export const JSON_NULL: object = Object.freeze({ jsonNull: true });

export function pushJsonNull(L: LuaState): void {
  lua.lua_pushlightuserdata(L, JSON_NULL);
}

const DEFAULT_DEPTH = 20;
const MIN_DEPTH = 4;
const MAX_DEPTH = 1000;
const READ_CHUNK = 1024;

const HEX = "0123456789abcdef";

/** C's "%.14g", the firmware's number format. */
export function formatG14(n: number): string {
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const exponent = Number(n.toExponential(13).split("e")[1]);
  if (exponent < -4 || exponent >= 14) {
    const [mantissa, exp] = n.toExponential(13).split("e") as [string, string];
    const trimmed = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
    const sign = exp.startsWith("-") ? "-" : "+";
    const digits = exp.replace(/^[+-]/, "").padStart(2, "0");
    return `${trimmed}e${sign}${digits}`;
  }
  const fixed = n.toFixed(Math.max(0, 13 - exponent));
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}

/** How Lua 5.3 (the firmware's tostring) writes a number. */
function formatLuaNumber(L: LuaState, idx: number): string {
  if (lua.lua_isinteger(L, idx)) return String(lua.lua_tointeger(L, idx));
  const n = lua.lua_tonumber(L, idx);
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  const text = formatG14(n);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

// ---- sjson encoder ----

interface SjsonEncodeOptions {
  depth: number;
  /** Stack index of the `null` option (a string written as null), 0 without options. */
  nullIdx: number;
}

function clampDepth(value: number): number {
  if (!Number.isFinite(value) || value === 0) return DEFAULT_DEPTH;
  return Math.min(MAX_DEPTH, Math.max(MIN_DEPTH, Math.trunc(value)));
}

/** The `depth` field of an options table at idx (0: none). */
function depthOption(L: LuaState, optsIdx: number): number {
  if (optsIdx === 0) return DEFAULT_DEPTH;
  lua.lua_getfield(L, optsIdx, "depth");
  const depth = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
  lua.lua_pop(L, 1);
  return clampDepth(depth);
}

function appendSjsonString(out: ByteBuilder, bytes: Uint8Array): void {
  out.byte(0x22);
  for (const b of bytes) {
    if (b < 0x20) {
      switch (b) {
        case 0x08: out.ascii("\\b"); break;
        case 0x09: out.ascii("\\t"); break;
        case 0x0a: out.ascii("\\n"); break;
        case 0x0c: out.ascii("\\f"); break;
        case 0x0d: out.ascii("\\r"); break;
        default: out.ascii(`\\u00${HEX[b >> 4]}${HEX[b & 15]}`);
      }
    } else if (b === 0x22) {
      out.ascii('\\"');
    } else if (b === 0x5c) {
      // The firmware writes a backslash unescaped, which yields invalid JSON; escaping it
      // keeps the receiving side able to parse what the script sent.
      out.ascii("\\\\");
    } else {
      out.byte(b);
    }
  }
  out.byte(0x22);
}

/** -1 for an object, else the highest positive integer key (0 for an empty table). */
function sjsonTableSize(L: LuaState, idx: number): number {
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    lua.lua_pop(L, 1);
    if (lua.lua_isinteger(L, -1) && lua.lua_tointeger(L, -1) > 0) {
      max = Math.max(max, lua.lua_tointeger(L, -1));
    } else {
      lua.lua_pop(L, 1);
      return -1;
    }
  }
  return max;
}

/** Functions are called (up to ten times) and their result encoded in their place. */
function resolveFunctions(L: LuaState): void {
  for (let count = 0; count < 10 && lua.lua_type(L, -1) === lua.LUA_TFUNCTION; count++) {
    lua.lua_call(L, 0, 1);
  }
}

function encodeSjsonValue(L: LuaState, out: ByteBuilder, options: SjsonEncodeOptions, level: number): void {
  resolveFunctions(L);
  const idx = lua.lua_gettop(L);
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TTABLE:
      encodeSjsonTable(L, out, options, idx, level + 1);
      return;
    case lua.LUA_TSTRING:
      if (options.nullIdx !== 0 && lua.lua_rawequal(L, idx, options.nullIdx)) out.ascii("null");
      else appendSjsonString(out, lua.lua_tolstring(L, idx) as Uint8Array);
      return;
    case lua.LUA_TNUMBER:
      out.ascii(formatLuaNumber(L, idx));
      return;
    case lua.LUA_TBOOLEAN:
      out.ascii(lua.lua_toboolean(L, idx) ? "true" : "false");
      return;
    // The documentation promises every userdata becomes null (the code only did so for
    // light userdata); the promise lets more scripts run.
    case lua.LUA_TNIL:
    case lua.LUA_TLIGHTUSERDATA:
    case lua.LUA_TUSERDATA:
      out.ascii("null");
      return;
    default:
      raise(L, `Cannot encode type ${lua.lua_type(L, idx)}`);
  }
}

function encodeSjsonKey(L: LuaState, out: ByteBuilder): void {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TSTRING:
      appendSjsonString(out, lua.lua_tolstring(L, -1) as Uint8Array);
      return;
    case lua.LUA_TNUMBER:
      out.byte(0x22);
      out.ascii(formatLuaNumber(L, -1));
      out.byte(0x22);
      return;
    case lua.LUA_TBOOLEAN:
      out.ascii(lua.lua_toboolean(L, -1) ? '"true"' : '"false"');
      return;
    default:
      raise(L, `Cannot encode type ${lua.lua_type(L, -1)}`);
  }
}

function encodeSjsonTable(L: LuaState, out: ByteBuilder, options: SjsonEncodeOptions, idx: number, level: number): void {
  // A cycle ends here too: the firmware's encoder has a fixed-depth stack.
  if (level >= options.depth) raise(L, "encoder stack overflow");
  lauxlib.luaL_checkstack(L, 4, null);
  // An empty table is written as `[]`.
  appendTable(
    L,
    out,
    idx,
    sjsonTableSize(L, idx),
    (keyIdx) => {
      lua.lua_pushvalue(L, keyIdx);
      encodeSjsonKey(L, out);
      lua.lua_pop(L, 1);
      out.byte(0x3a);
    },
    () => encodeSjsonValue(L, out, options, level),
  );
}

/** Encodes the table at `tableIdx` with the options table at `optsIdx` (0: none). */
export function encodeSjson(L: LuaState, tableIdx: number, optsIdx: number): Uint8Array {
  const top = lua.lua_gettop(L);
  let nullIdx = 0;
  if (optsIdx !== 0) {
    lua.lua_getfield(L, optsIdx, "null");
    nullIdx = lua.lua_gettop(L);
  }
  const out = new ByteBuilder();
  encodeSjsonTable(L, out, { depth: depthOption(L, optsIdx), nullIdx }, tableIdx, 0);
  lua.lua_settop(L, top);
  return out.result();
}

// ---- sjson decoder ----

/** A syntax error, named as jsonsl names it (`JSON parse error: STRAY_TOKEN`). */
export class JsonSyntaxError extends Error {}
/** The input ended inside the document. */
export class JsonIncomplete extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** jsonsl's "special" values: numbers, true, false, null. */
function isSpecialStart(c: number): boolean {
  return isDigit(c) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e;
}

function isSpecialEnd(c: number): boolean {
  return isJsonWhitespace(c) || c === 0x2c || c === 0x5d || c === 0x7d || c === 0x3a || c === QUOTE || c === 0x5b || c === 0x7b || c === 0x2f || c === BACKSLASH;
}

/**
 * jsonsl's grammar, recursive: each value takes one level (the top container is level 1)
 * and no value may sit deeper than depth - 1. Values go straight onto the Lua stack.
 */
class SjsonParser {
  private pos = 0;

  constructor(
    private readonly L: LuaState,
    private readonly bytes: Uint8Array,
    private readonly depth: number,
    /** Stack index of the value standing for null, of the metatable (0: none). */
    private readonly nullIdx: number,
    private readonly metatableIdx: number,
  ) {}

  /** Pushes the decoded document; throws JsonSyntaxError or JsonIncomplete. */
  parse(): void {
    const c = this.skipWhitespace();
    if (c === 0x7b || c === 0x5b) {
      this.container(c, 0);
      return;
    }
    if (c === QUOTE) throw new JsonSyntaxError("STRING_OUTSIDE_CONTAINER");
    if (c === 0x5d || c === 0x7d) throw new JsonSyntaxError("BRACKET_MISMATCH");
    if (c === 0x2c || c === 0x3a) throw new JsonSyntaxError("STRAY_TOKEN");
    if (isSpecialStart(c)) {
      // A bare number or literal is lexed (its own errors are reported) but never
      // completes a document: only a top-level object or array does.
      this.special(0);
      lua.lua_pop(this.L, 1);
      throw new JsonIncomplete();
    }
    throw this.unexpected(c);
  }

  private peek(): number {
    if (this.pos >= this.bytes.length) throw new JsonIncomplete();
    return this.bytes[this.pos] as number;
  }

  private skipWhitespace(): number {
    for (;;) {
      const c = this.peek();
      if (!isJsonWhitespace(c)) return c;
      this.pos++;
    }
  }

  private unexpected(c: number): JsonSyntaxError {
    if (c === 0) return new JsonSyntaxError("FOUND_NULL_BYTE");
    if (c < 0x20) return new JsonSyntaxError("WEIRD_WHITESPACE");
    return new JsonSyntaxError("SPECIAL_EXPECTED");
  }

  private enter(parentLevel: number): number {
    if (parentLevel >= this.depth - 1) throw new JsonSyntaxError("LEVELS_EXCEEDED");
    return parentLevel + 1;
  }

  private value(c: number, parentLevel: number): void {
    if (c === 0x7b || c === 0x5b) this.container(c, parentLevel);
    else if (c === QUOTE) this.string(parentLevel);
    else if (isSpecialStart(c)) this.special(parentLevel);
    else throw this.unexpected(c);
  }

  private newTable(): number {
    const L = this.L;
    lauxlib.luaL_checkstack(L, 4, null);
    lua.lua_createtable(L, 0, 0);
    if (this.metatableIdx !== 0) {
      lua.lua_pushvalue(L, this.metatableIdx);
      lua.lua_setmetatable(L, -2);
    }
    return lua.lua_gettop(L);
  }

  private container(open: number, parentLevel: number): void {
    const level = this.enter(parentLevel);
    this.pos++;
    const table = this.newTable();
    if (open === 0x5b) this.arrayBody(table, level);
    else this.objectBody(table, level);
  }

  private arrayBody(table: number, level: number): void {
    const L = this.L;
    let count = 0;
    let afterComma = false;
    for (;;) {
      const c = this.skipWhitespace();
      if (c === 0x5d || c === 0x7d) {
        if (afterComma) throw new JsonSyntaxError("TRAILING_COMMA");
        if (c === 0x7d) throw new JsonSyntaxError("BRACKET_MISMATCH");
        this.pos++;
        return;
      }
      if (count > 0 && !afterComma) {
        // jsonsl lets a string follow the previous element without a comma.
        if (c !== QUOTE) {
          if (c === 0x2c) {
            this.pos++;
            afterComma = true;
            continue;
          }
          if (c === 0x3a) throw new JsonSyntaxError("STRAY_TOKEN");
          if (c === 0x7b || c === 0x5b || isSpecialStart(c)) throw new JsonSyntaxError("CANT_INSERT");
          throw this.unexpected(c);
        }
      } else if (c === 0x2c || c === 0x3a) {
        throw new JsonSyntaxError("STRAY_TOKEN");
      }
      this.value(c, level);
      lua.lua_rawseti(L, table, ++count);
      afterComma = false;
    }
  }

  private objectBody(table: number, level: number): void {
    const L = this.L;
    let afterComma = false;
    let first = true;
    for (;;) {
      let c = this.skipWhitespace();
      if (c === 0x7d || c === 0x5d) {
        if (afterComma) throw new JsonSyntaxError("TRAILING_COMMA");
        if (c === 0x5d) throw new JsonSyntaxError("BRACKET_MISMATCH");
        this.pos++;
        return;
      }
      if (!first && !afterComma) {
        if (c === 0x2c) {
          this.pos++;
          afterComma = true;
          continue;
        }
        if (c === QUOTE || c === 0x3a) throw new JsonSyntaxError("STRAY_TOKEN");
        if (c === 0x7b || c === 0x5b || isSpecialStart(c)) throw new JsonSyntaxError("HKEY_EXPECTED");
        throw this.unexpected(c);
      }
      // A key.
      if (c === 0x2c || c === 0x3a) throw new JsonSyntaxError("STRAY_TOKEN");
      if (c === 0x7b || c === 0x5b || isSpecialStart(c)) throw new JsonSyntaxError("HKEY_EXPECTED");
      if (c !== QUOTE) throw this.unexpected(c);
      this.string(level);
      // The colon.
      c = this.skipWhitespace();
      if (c === 0x7d) throw new JsonSyntaxError("VALUE_EXPECTED");
      if (c === 0x5d) throw new JsonSyntaxError("BRACKET_MISMATCH");
      if (c === QUOTE) throw new JsonSyntaxError("MISSING_TOKEN");
      if (c === 0x2c) throw new JsonSyntaxError("STRAY_TOKEN");
      if (c === 0x7b || c === 0x5b || isSpecialStart(c)) throw new JsonSyntaxError("CANT_INSERT");
      if (c !== 0x3a) throw this.unexpected(c);
      this.pos++;
      // The value.
      c = this.skipWhitespace();
      if (c === 0x7d) throw new JsonSyntaxError("VALUE_EXPECTED");
      if (c === 0x5d) throw new JsonSyntaxError("BRACKET_MISMATCH");
      if (c === 0x2c || c === 0x3a) throw new JsonSyntaxError("STRAY_TOKEN");
      this.value(c, level);
      lua.lua_rawset(L, table);
      first = false;
      afterComma = false;
    }
  }

  private string(parentLevel: number): void {
    this.enter(parentLevel);
    const out = new ByteBuilder();
    this.pos++;
    for (;;) {
      const c = this.peek();
      this.pos++;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = this.peek();
        this.pos++;
        switch (e) {
          case 0x22: out.byte(0x22); break;
          case 0x5c: out.byte(0x5c); break;
          case 0x2f: out.byte(0x2f); break;
          case 0x62: out.byte(0x08); break;
          case 0x66: out.byte(0x0c); break;
          case 0x6e: out.byte(0x0a); break;
          case 0x72: out.byte(0x0d); break;
          case 0x74: out.byte(0x09); break;
          case 0x75: out.bytes(this.unicodeEscape()); break;
          default: throw new JsonSyntaxError("ESCAPE_INVALID");
        }
        continue;
      }
      if (c < 0x20) throw new JsonSyntaxError("WEIRD_WHITESPACE");
      out.byte(c);
    }
    pushBytes(this.L, out.result());
  }

  private hex4(): number {
    let code = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.bytes.length) throw new JsonIncomplete();
      const digit = hexDigit(this.bytes[this.pos]);
      if (digit < 0) throw new JsonSyntaxError("UESCAPE_TOOSHORT");
      code = (code << 4) | digit;
      this.pos++;
    }
    return code;
  }

  /**
   * A \u escape as UTF-8. Surrogate pairs are joined into one character (the firmware
   * wrote '?' for each half); a lone surrogate becomes '?' as on the device.
   */
  private unicodeEscape(): Uint8Array {
    const out = new ByteBuilder();
    const code = this.hex4();
    if (code >= 0xd800 && code <= 0xdbff && this.bytes[this.pos] === BACKSLASH && this.bytes[this.pos + 1] === 0x75) {
      const save = this.pos;
      this.pos += 2;
      const low = this.hex4();
      if (low >= 0xdc00 && low <= 0xdfff) {
        appendUtf8(out, 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00));
        return out.result();
      }
      this.pos = save;
    }
    if (code >= 0xd800 && code <= 0xdfff) out.byte(0x3f);
    else appendUtf8(out, code);
    return out.result();
  }

  private special(parentLevel: number): void {
    this.enter(parentLevel);
    const c = this.peek();
    if (c === 0x74) this.literal("true", () => lua.lua_pushboolean(this.L, true));
    else if (c === 0x66) this.literal("false", () => lua.lua_pushboolean(this.L, false));
    else if (c === 0x6e) this.literal("null", () => this.pushNull());
    else this.number();
  }

  private pushNull(): void {
    if (this.nullIdx === 0) pushJsonNull(this.L);
    else lua.lua_pushvalue(this.L, this.nullIdx);
  }

  private literal(word: string, push: () => void): void {
    const start = this.pos;
    for (;;) {
      const c = this.peek();
      if (isSpecialEnd(c)) break;
      if (c !== word.charCodeAt(this.pos - start)) throw new JsonSyntaxError("SPECIAL_EXPECTED");
      this.pos++;
    }
    if (this.pos - start !== word.length) throw new JsonSyntaxError("SPECIAL_INCOMPLETE");
    push();
  }

  /** jsonsl's number rules: no leading zeros, digits after '-', '.', 'e' and its sign. */
  private number(): void {
    const start = this.pos;
    let c = this.peek();
    if (c === 0x2d) {
      this.pos++;
      c = this.peek();
      if (!isDigit(c)) throw new JsonSyntaxError("INVALID_NUMBER");
    }
    if (c === 0x30) {
      this.pos++;
      if (isDigit(this.peek())) throw new JsonSyntaxError("INVALID_NUMBER");
    }
    let last = "1";
    let fraction = false;
    let exponent = false;
    for (;;) {
      c = this.peek();
      if (isDigit(c)) last = "1";
      else if (c === 0x2e && !fraction && !exponent) {
        fraction = true;
        last = ".";
      } else if ((c === 0x65 || c === 0x45) && !exponent) {
        exponent = true;
        last = "e";
      } else if ((c === 0x2b || c === 0x2d) && last === "e") last = "-";
      else if (isSpecialEnd(c)) break;
      else throw new JsonSyntaxError("INVALID_NUMBER");
      this.pos++;
    }
    if (last !== "1") throw new JsonSyntaxError("INVALID_NUMBER");
    const text = String.fromCharCode(...this.bytes.subarray(start, this.pos));
    pushJsonNumber(this.L, Number(text), !fraction && !exponent);
  }
}

/** Stack slots for the decode options: [null value, metatable], or zeros. */
function pushDecodeOptions(L: LuaState, optsIdx: number): { nullIdx: number; metatableIdx: number } {
  if (optsIdx === 0) return { nullIdx: 0, metatableIdx: 0 };
  // With an options table, null decodes to its `null` field, nil when absent.
  lua.lua_getfield(L, optsIdx, "null");
  const nullIdx = lua.lua_gettop(L);
  lua.lua_getfield(L, optsIdx, "metatable");
  const metatableIdx = lua.lua_type(L, -1) === lua.LUA_TTABLE ? lua.lua_gettop(L) : 0;
  return { nullIdx, metatableIdx };
}

/**
 * Decodes `bytes` with the options table at optsIdx (0: none) and leaves the value on the
 * stack; throws JsonSyntaxError or JsonIncomplete (the stack is restored then).
 */
export function decodeSjson(L: LuaState, bytes: Uint8Array, optsIdx: number): void {
  const top = lua.lua_gettop(L);
  const { nullIdx, metatableIdx } = pushDecodeOptions(L, optsIdx);
  try {
    new SjsonParser(L, bytes, depthOption(L, optsIdx), nullIdx, metatableIdx).parse();
  } catch (error) {
    lua.lua_settop(L, top);
    throw error;
  }
  if (lua.lua_gettop(L) !== top + 1) {
    lua.lua_replace(L, top + 1);
    lua.lua_settop(L, top + 1);
  }
}

function raiseDecodeError(L: LuaState, error: unknown): never {
  if (error instanceof JsonSyntaxError) return raise(L, `JSON parse error: ${error.message}`);
  if (error instanceof JsonIncomplete) return raise(L, "Incomplete JSON object passed to sjson.decode");
  throw error;
}

function optionsIndex(L: LuaState, arg: number): number {
  return lua.lua_type(L, arg) === lua.LUA_TTABLE ? lua.lua_absindex(L, arg) : 0;
}

// ---- sjson module functions ----

const encode = (L: LuaState): number => {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  pushBytes(L, encodeSjson(L, 1, optionsIndex(L, 2)));
  return 1;
};

const decode = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  try {
    decodeSjson(L, bytes, optionsIndex(L, 2));
  } catch (error) {
    return raiseDecodeError(L, error);
  }
  return 1;
};

const ENCODER = "sjson.encoder";
const DECODER = "sjson.decoder";

/** The streaming encoder: the document is built at once, then handed out in chunks. */
class Encoder {
  offset = 0;
  constructor(readonly json: Uint8Array) {}
}

const encoder = (L: LuaState): number => {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  pushUserdata(L, new Encoder(encodeSjson(L, 1, optionsIndex(L, 2))), ENCODER);
  return 1;
};

const encoderRead = (L: LuaState): number => {
  const state = checkUserdata<Encoder>(L, 1, ENCODER);
  let size = READ_CHUNK;
  if (lua.lua_type(L, 2) === lua.LUA_TNUMBER) size = Math.max(1, Math.trunc(lua.lua_tonumber(L, 2)));
  if (state.offset >= state.json.length) return 0;
  const chunk = state.json.subarray(state.offset, state.offset + size);
  state.offset += chunk.length;
  pushBytes(L, chunk);
  return 1;
};

class Decoder {
  buffered = new Uint8Array(0);
  failed = false;
  resultRef: number | undefined;
  constructor(readonly optsRef: number | undefined) {}
}

const decoder = (L: LuaState): number => {
  const optsRef = lua.lua_type(L, 1) === lua.LUA_TTABLE ? boardOf(L).ref(L, 1) : undefined;
  pushUserdata(L, new Decoder(optsRef), DECODER);
  return 1;
};

const decoderWrite = (L: LuaState): number => {
  const state = checkUserdata<Decoder>(L, 1, DECODER);
  const chunk = checkBytes(L, 2);
  const board = boardOf(L);
  if (state.failed) return raise(L, "JSON parse error: previous call");
  if (state.resultRef === undefined) {
    const joined = new Uint8Array(state.buffered.length + chunk.length);
    joined.set(state.buffered);
    joined.set(chunk, state.buffered.length);
    state.buffered = joined;
    let optsIdx = 0;
    if (state.optsRef !== undefined) {
      board.pushRef(L, state.optsRef);
      optsIdx = lua.lua_gettop(L);
    }
    try {
      decodeSjson(L, joined, optsIdx);
    } catch (error) {
      if (error instanceof JsonIncomplete) return 0;
      if (error instanceof JsonSyntaxError) state.failed = true;
      return raiseDecodeError(L, error);
    }
    state.resultRef = board.ref(L, -1);
    state.buffered = new Uint8Array(0);
  }
  board.pushRef(L, state.resultRef);
  return 1;
};

const decoderResult = (L: LuaState): number => {
  const state = checkUserdata<Decoder>(L, 1, DECODER);
  if (state.resultRef === undefined) return raise(L, "decode not complete");
  boardOf(L).pushRef(L, state.resultRef);
  return 1;
};

export const sjson = defineModule("sjson", {
  functions: { encode, decode, encoder, decoder },
  metatables: {
    [ENCODER]: { methods: { read: encoderRead } },
    [DECODER]: { methods: { write: decoderWrite, result: decoderResult } },
  },
  setup: (L) => {
    pushJsonNull(L);
    lua.lua_setfield(L, -2, "NULL");
  },
});
