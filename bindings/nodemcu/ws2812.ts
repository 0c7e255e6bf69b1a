// NodeMCU `ws2812`: LED strips driven through UART1 (and UART0 in dual mode). What a
// script lights is recorded as the bytes written; buffers are plain byte arrays.
import { lua, pushBytes, pushText, pushUserdata, checkUserdata, testUserdata, type LuaState } from "../../runtime/lua.js";
import { argError, checkInteger, raise } from "../../runtime/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

const BUFFER = "ws2812.buffer";
const MODE_SINGLE = 0;
const MODE_DUAL = 1;
const FADE_OUT = 0;
const FADE_IN = 1;
const SHIFT_LOGICAL = 0;
const SHIFT_CIRCULAR = 1;

class LedBuffer {
  constructor(readonly size: number, readonly colors: number, readonly values = new Uint8Array(size * colors)) {}
}

function pushBuffer(L: LuaState, buffer: LedBuffer): void {
  pushUserdata(L, buffer, BUFFER);
}

const checkBuffer = (L: LuaState, arg: number): LedBuffer => checkUserdata<LedBuffer>(L, arg, BUFFER);

/** Lua's string.sub convention: negative positions count back from the end. */
function relative(pos: number, length: number): number {
  if (pos < 0) pos += length + 1;
  return pos >= 0 ? pos : 0;
}

const init = (L: LuaState): number => {
  const mode = lua.lua_isnoneornil(L, 1) ? MODE_SINGLE : checkInteger(L, 1);
  if (mode !== MODE_SINGLE && mode !== MODE_DUAL) argError(L, 1, "ws2812.SINGLE or ws2812.DUAL expected");
  recorderOf(boardOf(L)).record("ws2812", "init", [mode]);
  return 0;
};

function stripData(L: LuaState, arg: number, optional: boolean): Uint8Array | null {
  const type = lua.lua_type(L, arg);
  if (type === lua.LUA_TNIL || (optional && type === lua.LUA_TNONE)) return null;
  if (type === lua.LUA_TSTRING) return lua.lua_tolstring(L, arg) as Uint8Array;
  if (type === lua.LUA_TUSERDATA) return checkBuffer(L, arg).values;
  return argError(L, arg, "ws2812.buffer or string expected");
}

const write = (L: LuaState): number => {
  const first = stripData(L, 1, false);
  const second = stripData(L, 2, true);
  recorderOf(boardOf(L)).record("ws2812", "write", second === null ? [first] : [first, second]);
  return 0;
};

const newBuffer = (L: LuaState): number => {
  const leds = checkInteger(L, 1);
  const colors = checkInteger(L, 2);
  if (leds <= 0) argError(L, 1, "should be a positive integer");
  if (colors <= 0) argError(L, 2, "should be a positive integer");
  pushBuffer(L, new LedBuffer(leds, colors));
  return 1;
};

const fill = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const color = Array.from({ length: buffer.colors }, (_, i) => checkInteger(L, 2 + i) & 0xff);
  for (let i = 0; i < buffer.values.length; i++) buffer.values[i] = color[i % buffer.colors] as number;
  return 0;
};

const fade = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const factor = checkInteger(L, 2);
  const direction = lua.lua_isnoneornil(L, 3) ? FADE_OUT : checkInteger(L, 3);
  if (factor <= 0) argError(L, 2, "fade value should be a strict positive number");
  const values = buffer.values;
  for (let i = 0; i < values.length; i++) {
    values[i] = direction === FADE_OUT ? Math.floor((values[i] as number) / factor) : Math.min(255, (values[i] as number) * factor);
  }
  return 0;
};

const shift = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const amount = checkInteger(L, 2);
  const mode = lua.lua_isnoneornil(L, 3) ? SHIFT_LOGICAL : checkInteger(L, 3);
  const start = Math.max(1, relative(lua.lua_isnoneornil(L, 4) ? 1 : checkInteger(L, 4), buffer.size));
  const end = Math.min(buffer.size, relative(lua.lua_isnoneornil(L, 5) ? -1 : checkInteger(L, 5), buffer.size));
  const leds = end - start + 1;
  const count = Math.abs(amount);
  if (count === 0 || leds <= 0) return 0;
  if (count >= leds) {
    if (mode === SHIFT_LOGICAL) buffer.values.fill(0, (start - 1) * buffer.colors, end * buffer.colors);
    return 0;
  }
  const section = buffer.values.subarray((start - 1) * buffer.colors, end * buffer.colors);
  const moved = count * buffer.colors;
  const copy = Uint8Array.from(section);
  if (amount > 0) {
    section.set(copy.subarray(0, copy.length - moved), moved);
    if (mode === SHIFT_LOGICAL) section.fill(0, 0, moved);
    else section.set(copy.subarray(copy.length - moved), 0);
  } else {
    section.set(copy.subarray(moved), 0);
    if (mode === SHIFT_LOGICAL) section.fill(0, copy.length - moved);
    else section.set(copy.subarray(0, moved), copy.length - moved);
  }
  return 0;
};

const dump = (L: LuaState): number => {
  pushBytes(L, checkBuffer(L, 1).values);
  return 1;
};

const replace = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const start = relative(lua.lua_isnoneornil(L, 3) ? 1 : checkInteger(L, 3), buffer.size);
  let source: Uint8Array;
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    const bytes = lua.lua_tolstring(L, 2) as Uint8Array;
    source = bytes.subarray(0, Math.floor(bytes.length / buffer.colors) * buffer.colors);
  } else {
    const other = checkBuffer(L, 2);
    if (other.colors !== buffer.colors) argError(L, 2, "Buffers have different colors");
    source = other.values;
  }
  if (start < 1 || source.length / buffer.colors + start - 1 > buffer.size) argError(L, 2, "Does not fit into destination");
  buffer.values.set(source, (start - 1) * buffer.colors);
  return 0;
};

/** buffer:mix(factor1, buffer1, ...): weighted sum, 256 = 100 %, saturating. */
const mix = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const sources: Array<[number, Uint8Array]> = [];
  const count = Math.floor((lua.lua_gettop(L) - 1) / 2);
  for (let i = 0, arg = 2; i < count; i++, arg += 2) {
    const factor = checkInteger(L, arg);
    const other = checkBuffer(L, arg + 1);
    if (other.size !== buffer.size || other.colors !== buffer.colors) argError(L, arg + 1, "Buffer not same shape");
    sources.push([factor, other.values]);
  }
  const values = buffer.values;
  for (let i = 0; i < values.length; i++) {
    const sum = sources.reduce((total, [factor, src]) => total + (src[i] as number) * factor, 0) >> 8;
    values[i] = Math.min(255, Math.max(0, sum));
  }
  return 0;
};

const power = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkBuffer(L, 1).values.reduce((total, value) => total + value, 0));
  return 1;
};

const get = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const led = checkInteger(L, 2) - 1;
  if (led < 0 || led >= buffer.size) argError(L, 2, "index out of range");
  for (let i = 0; i < buffer.colors; i++) lua.lua_pushinteger(L, buffer.values[led * buffer.colors + i] as number);
  return buffer.colors;
};

/** buffer:set(index, color...) with the colors as numbers, a table, or a string of bytes. */
const set = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const led = checkInteger(L, 2) - 1;
  if (led < 0 || led >= buffer.size) argError(L, 2, "index out of range");
  const offset = led * buffer.colors;
  const type = lua.lua_type(L, 3);
  if (type === lua.LUA_TTABLE) {
    for (let i = 0; i < buffer.colors; i++) {
      lua.lua_rawgeti(L, 3, i + 1);
      buffer.values[offset + i] = lua.lua_tointeger(L, -1) & 0xff;
      lua.lua_pop(L, 1);
    }
  } else if (type === lua.LUA_TSTRING) {
    const bytes = lua.lua_tolstring(L, 3) as Uint8Array;
    if (offset + bytes.length > buffer.values.length) raise(L, "string size will exceed strip length");
    buffer.values.set(bytes, offset);
  } else {
    for (let i = 0; i < buffer.colors; i++) buffer.values[offset + i] = checkInteger(L, 3 + i) & 0xff;
  }
  return 0;
};

const size = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkBuffer(L, 1).size);
  return 1;
};

const sub = (L: LuaState): number => {
  const buffer = checkBuffer(L, 1);
  const start = Math.max(1, relative(checkInteger(L, 2), buffer.size));
  const end = Math.min(buffer.size, relative(lua.lua_isnoneornil(L, 3) ? -1 : checkInteger(L, 3), buffer.size));
  const leds = Math.max(0, end - start + 1);
  pushBuffer(L, new LedBuffer(leds, buffer.colors, buffer.values.slice((start - 1) * buffer.colors, (start - 1 + leds) * buffer.colors)));
  return 1;
};

const concat = (L: LuaState): number => {
  const left = checkBuffer(L, 1);
  const right = checkBuffer(L, 2);
  if (left.colors !== right.colors) argError(L, 1, "Can only concatenate buffers with same colors");
  const values = new Uint8Array(left.values.length + right.values.length);
  values.set(left.values);
  values.set(right.values, left.values.length);
  pushBuffer(L, new LedBuffer(left.size + right.size, left.colors, values));
  return 1;
};

/** "[(r,g,b),(r,g,b)]", one group per LED. */
const bufferToString = (L: LuaState): number => {
  const buffer = testUserdata<LedBuffer>(L, 1, BUFFER) ?? checkBuffer(L, 1);
  const groups: string[] = [];
  for (let led = 0; led < buffer.size; led++) {
    groups.push(`(${Array.from(buffer.values.subarray(led * buffer.colors, (led + 1) * buffer.colors)).join(",")})`);
  }
  pushText(L, `[${groups.join(",")}]`);
  return 1;
};

export const ws2812 = defineModule("ws2812", {
  functions: { init, newBuffer, write },
  constants: { FADE_IN, FADE_OUT, MODE_SINGLE, MODE_DUAL, SHIFT_LOGICAL, SHIFT_CIRCULAR },
  metatables: {
    [BUFFER]: {
      methods: { dump, fade, fill, get, replace, mix, power, set, shift, size, sub },
      meta: { __concat: concat, __tostring: bufferToString },
    },
  },
});
