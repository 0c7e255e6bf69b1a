// NodeMCU `pixbuf`: pixel buffers of `npix` pixels with `nchan` byte channels each, the
// buffers ws2812 writes and ws2812_effects animates (app/modules/pixbuf.c). Values are the
// firmware's C arithmetic: uint8 stores wrap, int divisions truncate toward zero.
import { lua, lauxlib, pushBytes, pushText, pushUserdata, checkUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, optInteger, raise } from "../../engine/args.js";
import { defineModule, type ModuleSpec } from "../common/module.js";

const METATABLE = "pixbuf.buf";
export const FADE_IN = 0;
export const FADE_OUT = 1;
export const SHIFT_LOGICAL = 0;
export const SHIFT_CIRCULAR = 1;
/** The firmware's "crude overflow check" on every buffer it allocates. */
const MAX_PIXELS = 8192;
const MAX_CHANNELS = 32;

export class Pixbuf {
  readonly values: Uint8Array;
  constructor(readonly npix: number, readonly nchan: number) {
    this.values = new Uint8Array(npix * nchan);
  }
}

export const checkPixbuf = (L: LuaState, arg: number): Pixbuf => checkUserdata<Pixbuf>(L, arg, METATABLE);
const testPixbuf = (L: LuaState, arg: number): Pixbuf | undefined => testUserdata<Pixbuf>(L, arg, METATABLE);

/** string.sub's positions: negative counts back from the end; clamped to 1..len (0 when empty). */
function posrelat(pos: number, len: number): number {
  if (pos < 0) pos += len + 1;
  return Math.min(Math.max(pos, 1), len);
}

function pushNew(L: LuaState, npix: number, nchan: number): Pixbuf {
  if (npix > MAX_PIXELS || nchan > MAX_CHANNELS) raise(L, "pixbuf size limits exeeded");
  const buffer = new Pixbuf(npix, nchan);
  pushUserdata(L, buffer, METATABLE);
  return buffer;
}

/** pixbuf.newBuffer(leds, channels), also ws2812.newBuffer. */
export const newBuffer = (L: LuaState): number => {
  const leds = checkInteger(L, 1);
  const chans = checkInteger(L, 2);
  if (leds <= 0) argError(L, 1, "should be a positive integer");
  if (chans <= 0) argError(L, 2, "should be a positive integer");
  pushNew(L, leds, chans);
  return 1;
};

const concat = (L: LuaState): number => {
  const lhs = checkPixbuf(L, 1);
  const rhs = checkPixbuf(L, 2);
  if (lhs.nchan !== rhs.nchan) argError(L, 1, "can only concatenate buffers with same channel count");
  const out = pushNew(L, lhs.npix + rhs.npix, lhs.nchan);
  out.values.set(lhs.values);
  out.values.set(rhs.values, lhs.values.length);
  return 1;
};

const channels = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkPixbuf(L, 1).nchan);
  return 1;
};

const dump = (L: LuaState): number => {
  pushBytes(L, checkPixbuf(L, 1).values);
  return 1;
};

const eq = (L: LuaState): number => {
  const lhs = checkPixbuf(L, 1);
  const rhs = checkPixbuf(L, 2);
  const same = lhs.npix === rhs.npix && lhs.nchan === rhs.nchan && lhs.values.every((value, i) => value === rhs.values[i]);
  lua.lua_pushboolean(L, same);
  return 1;
};

function fadeArgs(L: LuaState): [Pixbuf, number, number] {
  const buffer = checkPixbuf(L, 1);
  const factor = checkInteger(L, 2);
  const direction = optInteger(L, 3, FADE_OUT);
  if (factor <= 0) argError(L, 2, "fade value should be a strictly positive int");
  return [buffer, factor, direction];
}

/** Any direction other than FADE_OUT fades in, as the firmware's `==` test does. */
const fade = (L: LuaState): number => {
  const [buffer, factor, direction] = fadeArgs(L);
  const values = buffer.values;
  for (let i = 0; i < values.length; i++) {
    values[i] = direction === FADE_OUT ? Math.trunc((values[i] as number) / factor) : Math.min(255, (values[i] as number) * factor);
  }
  return 0;
};

/**
 * Scales only each pixel's first (intensity) byte. Fading in, the firmware's pointer moves
 * one byte further per pixel (it steps past the byte it wrote, then a whole pixel), so
 * pixel i's write lands on byte i*(nchan+1); writes past the buffer's end are dropped.
 */
const fadeI = (L: LuaState): number => {
  const [buffer, factor, direction] = fadeArgs(L);
  const values = buffer.values;
  for (let i = 0, p = 0; i < buffer.npix && p < values.length; i++, p += buffer.nchan) {
    if (direction === FADE_OUT) {
      values[p] = Math.trunc((values[p] as number) / factor);
    } else {
      values[p] = Math.min(255, (values[p] as number) * factor);
      p++;
    }
  }
  return 0;
};

const fill = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  if (buffer.npix > 0) {
    if (lua.lua_gettop(L) !== 1 + buffer.nchan) argError(L, 1, "need as many values as colors per pixel");
    for (let i = 0; i < buffer.nchan; i++) buffer.values[i] = checkInteger(L, 2 + i);
    for (let p = 1; p < buffer.npix; p++) buffer.values.copyWithin(p * buffer.nchan, 0, buffer.nchan);
  }
  lua.lua_settop(L, 1);
  return 1;
};

function checkPixel(L: LuaState, buffer: Pixbuf): number {
  const led = checkInteger(L, 2) - 1;
  if (led < 0 || led >= buffer.npix) argError(L, 2, "index out of range");
  return led;
}

const get = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const led = checkPixel(L, buffer);
  for (let i = 0; i < buffer.nchan; i++) lua.lua_pushinteger(L, buffer.values[led * buffer.nchan + i] as number);
  return buffer.nchan;
};

/** buffer:map(f, [buffer1, [start1, [end1]]], [buffer2, [start2]]) */
const map = (L: LuaState): number => {
  const out = checkPixbuf(L, 1);
  const in1 = testPixbuf(L, 3) ?? out;
  const lo = posrelat(optInteger(L, 4, 1), in1.npix) - 1;
  const hi = posrelat(optInteger(L, 5, in1.npix), in1.npix) - 1;
  if (hi <= lo) argError(L, 3, "Buffer limits out of order");
  const npix = hi - lo + 1;
  if (npix !== out.npix) argError(L, 1, "Output buffer wrong size");
  const in2 = testPixbuf(L, 6);
  const lo2 = in2 ? posrelat(optInteger(L, 7, 1), in2.npix) - 1 : 0;
  if (in2 && lo2 + npix > in2.npix) argError(L, 6, "Second buffer too short");
  for (let p = 0; p < npix; p++) {
    lua.lua_pushvalue(L, 2);
    for (let c = 0; c < in1.nchan; c++) lua.lua_pushinteger(L, in1.values[(lo + p) * in1.nchan + c] as number);
    if (in2) for (let c = 0; c < in2.nchan; c++) lua.lua_pushinteger(L, in2.values[(lo2 + p) * in2.nchan + c] as number);
    lua.lua_call(L, in1.nchan + (in2 ? in2.nchan : 0), out.nchan);
    // Results are taken from the top of the stack: the last one is the last channel.
    for (let c = 0; c < out.nchan; c++) {
      out.values[(p + 1) * out.nchan - c - 1] = lauxlib.luaL_checkinteger(L, -1);
      lua.lua_pop(L, 1);
    }
  }
  lua.lua_settop(L, 1);
  return 1;
};

const clamp = (value: number): number => (value < 0 ? 0 : value > 255 ? 255 : value);

/** Weighted sum, 256 = 100 %, rounded half up and truncated toward zero like C's int `/`. */
function mixRaw(out: Pixbuf, sources: Array<[number, Uint8Array]>): void {
  for (let i = 0; i < out.values.length; i++) {
    let sum = 0;
    for (const [factor, values] of sources) sum = (sum + Math.imul(values[i] as number, factor)) | 0;
    out.values[i] = clamp(Math.trunc(((sum + 128) | 0) / 256));
  }
}

/**
 * Four-channel pixels whose first byte scales the other three (APA102). Kept to the
 * firmware's arithmetic: the maximum is compared unsigned, the division is unsigned, and a
 * pixel that sums to black ends the whole mix (the firmware returns from its loop there).
 */
function mixIntensity(out: Pixbuf, ibits: number, sources: Array<[number, Uint8Array]>): void {
  const maxIntensity = (1 << ibits) - 1;
  for (let p = 0; p < out.npix; p++) {
    const sums = [0, 0, 0];
    for (const [factor, values] of sources) {
      for (let c = 0; c < 3; c++) {
        sums[c] = ((sums[c] as number) + Math.imul(Math.imul(values[4 * p + c + 1] as number, values[4 * p] as number), factor)) | 0;
      }
    }
    const peak = Math.max(...sums.map((sum) => sum >>> 0));
    if (peak === 0) {
      out.values.fill(0, 4 * p, 4 * p + 4);
      return;
    }
    const intensity = peak <= 1 << 16 ? 1 : peak >= maxIntensity * 65536 ? maxIntensity : Math.floor(peak / 65536) + 1;
    out.values[4 * p] = intensity;
    for (let c = 0; c < 3; c++) {
      const scaled = Math.floor((((sums[c] as number) + 256 * intensity - 127) >>> 0) / (256 * intensity));
      out.values[4 * p + c + 1] = clamp(scaled | 0);
    }
  }
}

function mixCore(L: LuaState, ibits: number): number {
  const buffer = checkPixbuf(L, 1);
  const count = Math.floor((lua.lua_gettop(L) - 1) / 2);
  if (count > 0) {
    const sources: Array<[number, Uint8Array]> = [];
    let last = buffer;
    for (let i = 0, pos = 2; i < count; i++, pos += 2) {
      const factor = checkInteger(L, pos);
      last = checkPixbuf(L, pos + 1);
      if (last.npix !== buffer.npix || last.nchan !== buffer.nchan) argError(L, pos + 1, "buffer not same size or shape");
      sources.push([factor, last.values]);
    }
    if (ibits !== 0) {
      if (last.nchan !== 4) argError(L, 2, "Requires 4 channel pixbuf");
      mixIntensity(buffer, ibits, sources);
    } else {
      mixRaw(buffer, sources);
    }
  }
  lua.lua_settop(L, 1);
  return 1;
}

const mix = (L: LuaState): number => mixCore(L, 0);
const mix4I5 = (L: LuaState): number => mixCore(L, 5);

const power = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkPixbuf(L, 1).values.reduce((total, value) => (total + value) | 0, 0));
  return 1;
};

const powerI = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  let total = 0;
  for (let p = 0; p < buffer.npix; p++) {
    const base = p * buffer.nchan;
    const intensity = buffer.values[base] as number;
    for (let c = 1; c < buffer.nchan; c++) total = (total + intensity * (buffer.values[base + c] as number)) | 0;
  }
  lua.lua_pushinteger(L, total);
  return 1;
};

const replace = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const start = posrelat(optInteger(L, 3, 1), buffer.npix);
  let source: Uint8Array;
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    const bytes = lua.lua_tolstring(L, 2) as Uint8Array;
    source = bytes.subarray(0, Math.floor(bytes.length / buffer.nchan) * buffer.nchan);
  } else {
    const other = checkPixbuf(L, 2);
    if (other.nchan !== buffer.nchan) argError(L, 2, "buffers have different channels");
    source = other.values;
  }
  // An empty buffer has no position 1 (posrelat gives 0): only an empty source fits.
  if (source.length / buffer.nchan + start - 1 > buffer.npix || (start < 1 && source.length > 0)) argError(L, 2, "does not fit into destination");
  if (source.length > 0) buffer.values.set(source, (start - 1) * buffer.nchan);
  return 0;
};

/** buffer:set(index, color...) with the channels as integers, a table, or a string of whole pixels. */
const set = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const led = checkPixel(L, buffer);
  const offset = led * buffer.nchan;
  const type = lua.lua_type(L, 3);
  if (type === lua.LUA_TTABLE) {
    for (let i = 0; i < buffer.nchan; i++) {
      lua.lua_rawgeti(L, 3, i + 1);
      buffer.values[offset + i] = lua.lua_tointeger(L, -1);
      lua.lua_pop(L, 1);
    }
  } else if (type === lua.LUA_TSTRING) {
    const bytes = lua.lua_tolstring(L, 3) as Uint8Array;
    if (offset + bytes.length > buffer.values.length) raise(L, "string size will exceed strip length");
    if (bytes.length % buffer.nchan !== 0) raise(L, "string does not contain whole LEDs");
    buffer.values.set(bytes, offset);
  } else {
    if (lua.lua_gettop(L) > 2 + buffer.nchan) argError(L, 2 + buffer.nchan, "extra values given");
    for (let i = 0; i < buffer.nchan; i++) buffer.values[offset + i] = checkInteger(L, 3 + i);
  }
  lua.lua_settop(L, 1);
  return 1;
};

/** A shift of `shift` bytes (negative: towards the start) within `window` bytes from `offset`. */
export interface ShiftParams {
  type: number;
  offset: number;
  window: number;
  shift: number;
}

/**
 * The firmware rotates through a 32-byte scratch buffer and, for rotations longer than
 * that, steps its window past the slice (and the buffer); here a rotation of any length
 * is a true rotation of the slice.
 */
export function shiftPixels(buffer: Pixbuf, sp: ShiftParams): void {
  const slice = buffer.values.subarray(sp.offset, sp.offset + sp.window);
  const count = Math.abs(sp.shift);
  if (count === 0 || count > slice.length) return;
  const copy = Uint8Array.from(slice);
  const kept = slice.length - count;
  if (sp.shift > 0) {
    slice.set(copy.subarray(0, kept), count);
    if (sp.type === SHIFT_LOGICAL) slice.fill(0, 0, count);
    else slice.set(copy.subarray(kept), 0);
  } else {
    slice.set(copy.subarray(count), 0);
    if (sp.type === SHIFT_LOGICAL) slice.fill(0, kept);
    else slice.set(copy.subarray(0, count), kept);
  }
}

const shift = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const bytes = Math.imul(checkInteger(L, 2), buffer.nchan);
  const type = optInteger(L, 3, SHIFT_LOGICAL);
  const start = posrelat(optInteger(L, 4, 1), buffer.npix);
  const end = posrelat(optInteger(L, 5, -1), buffer.npix);
  if (type !== SHIFT_LOGICAL && type !== SHIFT_CIRCULAR) argError(L, 3, "invalid shift type");
  if (start < 1) argError(L, 4, "start position must be >= 1");
  if (end < start) argError(L, 5, "end position must be >= start");
  const sp: ShiftParams = { type, offset: (start - 1) * buffer.nchan, window: (end - start + 1) * buffer.nchan, shift: bytes };
  if (Math.abs(bytes) > buffer.values.length) argError(L, 2, "shifting more elements than buffer size");
  if (Math.abs(bytes) > sp.window) argError(L, 2, "shifting more than sliced window");
  shiftPixels(buffer, sp);
  return 0;
};

const size = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkPixbuf(L, 1).npix);
  return 1;
};

/** buffer:sub(i, [j]) as string.sub; an empty buffer's sub is empty (the firmware reads before it). */
const sub = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const start = posrelat(checkInteger(L, 2), buffer.npix);
  const end = posrelat(optInteger(L, 3, -1), buffer.npix);
  const npix = start >= 1 && start <= end ? end - start + 1 : 0;
  const out = pushNew(L, npix, buffer.nchan);
  out.values.set(buffer.values.subarray((start - 1) * buffer.nchan, (start - 1 + npix) * buffer.nchan));
  return 1;
};

/** "[(r,g,b),(r,g,b)]", one group per pixel. */
const toString = (L: LuaState): number => {
  const buffer = checkPixbuf(L, 1);
  const groups: string[] = [];
  for (let p = 0; p < buffer.npix; p++) {
    groups.push(`(${Array.from(buffer.values.subarray(p * buffer.nchan, (p + 1) * buffer.nchan)).join(",")})`);
  }
  pushText(L, `[${groups.join(",")}]`);
  return 1;
};

/** The buffers' metatable; ws2812 registers it too, so its buffers exist without pixbuf opened. */
export const pixbufMetatables: NonNullable<ModuleSpec["metatables"]> = {
  [METATABLE]: {
    methods: { channels, dump, fade, fadeI, fill, get, map, mix, mix4I5, power, powerI, replace, set, shift, size, sub },
    meta: { __concat: concat, __eq: eq, __tostring: toString },
  },
};

export const pixbuf = defineModule("pixbuf", {
  functions: { newBuffer },
  constants: { FADE_IN, FADE_OUT, SHIFT_CIRCULAR, SHIFT_LOGICAL },
  metatables: pixbufMetatables,
});
