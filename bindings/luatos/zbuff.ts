// LuatOS `zbuff`: a fixed block of C memory with a cursor, used by scripts for binary
// protocols and by other modules (uart, socket, crypto, io) as a byte buffer. The cursor
// doubles as the "used" mark (the firmware's struct has one field for both), so seek()
// moves used() too. buff[i] reads and writes single bytes, 0-based.
import { lua, pushBytes, pushText, setFunctions, setConstants, textOf, testUserdata, pushUserdata, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, checkNumber, optInteger, typeError } from "../../engine/args.js";
import type { Board, ModuleDef } from "../../runtime/board.js";
import { base64Of } from "./encodings.js";
import { setZbuffAccessor } from "./io.js";
import { packInto, unpackFrom } from "./pack.js";

export const ZBUFF_METATABLE = "ZBUFF*";
const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const HEAP_SRAM = 0;
const HEAP_PSRAM = 1;
const HEAP_AUTO = 2;

export class Zbuff {
  data: Uint8Array;
  cursor = 0;
  width = 0;
  height = 0;
  bit = 0;

  constructor(length: number) {
    this.data = new Uint8Array(length);
  }

  get len(): number {
    return this.data.length;
  }

  /** The bytes from 0 to the cursor: what the firmware's modules send from a zbuff. */
  used(): Uint8Array {
    return this.data.subarray(0, this.cursor);
  }

  resize(size: number): void {
    const next = new Uint8Array(Math.max(0, size));
    next.set(this.data.subarray(0, Math.min(this.data.length, next.length)));
    this.data = next;
    this.cursor = Math.min(this.cursor, next.length);
  }

  /** Writes at the cursor, truncated to the space left; returns the count written. */
  writeAtCursor(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.len - this.cursor);
    this.data.set(bytes.subarray(0, n), this.cursor);
    this.cursor += n;
    return n;
  }
}

/** The zbuff at stack index idx, if it is one (for other modules: uart, socket, http). */
export function toZbuff(L: LuaState, idx: number): Zbuff | undefined {
  return testUserdata<Zbuff>(L, idx, ZBUFF_METATABLE);
}

function checkZbuff(L: LuaState, idx = 1): Zbuff {
  const buff = toZbuff(L, idx);
  if (!buff) return typeError(L, idx, ZBUFF_METATABLE);
  return buff;
}

export function pushZbuff(L: LuaState, buff: Zbuff): void {
  ensureMetatable(L);
  pushUserdata(L, buff, ZBUFF_METATABLE);
}

setZbuffAccessor((L, idx) => toZbuff(L, idx)?.data);

// ---- framebuffer pixels (width, height and bits per pixel set by create({w,h,bit})) ----

function setPixel(buff: Zbuff, point: number, color: number): void {
  const d = buff.data;
  switch (buff.bit) {
    case 1: {
      const i = point >> 3;
      const mask = 1 << (7 - (point & 7));
      if (i < d.length) d[i] = color % 2 ? (d[i] as number) | mask : (d[i] as number) & ~mask;
      break;
    }
    case 4: {
      const i = point >> 1;
      if (i < d.length) d[i] = point % 2 ? ((d[i] as number) & 0xf0) | (color & 0x0f) : ((d[i] as number) & 0x0f) | ((color & 0x0f) << 4);
      break;
    }
    case 8:
      if (point < d.length) d[point] = color & 255;
      break;
    case 16:
      if (point * 2 + 1 < d.length) {
        d[point * 2] = (color >> 8) & 255;
        d[point * 2 + 1] = color & 255;
      }
      break;
    case 24:
      if (point * 3 + 2 < d.length) {
        d[point * 3] = (color >> 16) & 255;
        d[point * 3 + 1] = (color >> 8) & 255;
        d[point * 3 + 2] = color & 255;
      }
      break;
    case 32:
      if (point * 4 + 3 < d.length) {
        d[point * 4] = (color >>> 24) & 255;
        d[point * 4 + 1] = (color >> 16) & 255;
        d[point * 4 + 2] = (color >> 8) & 255;
        d[point * 4 + 3] = color & 255;
      }
      break;
    default:
      break;
  }
}

function getPixel(buff: Zbuff, point: number): number {
  const d = buff.data;
  const at = (i: number) => d[i] ?? 0;
  switch (buff.bit) {
    case 1: return (at(point >> 3) >> (7 - (point & 7))) & 1;
    case 4: return (at(point >> 1) >> (point % 2 ? 0 : 4)) & 0x0f;
    case 8: return at(point);
    case 16: return (at(point * 2) << 8) | at(point * 2 + 1);
    case 24: return (at(point * 3) << 16) | (at(point * 3 + 1) << 8) | at(point * 3 + 2);
    case 32: return ((at(point * 4) << 24) | (at(point * 4 + 1) << 16) | (at(point * 4 + 2) << 8) | at(point * 4 + 3)) | 0;
    default: return 0;
  }
}

// ---- module functions ----

const VALID_BITS = [1, 4, 8, 16, 24, 32];

/** zbuff.create(len | {w, h, bit}[, fill byte | initial string | colour[, heap type]]) */
const create: LuaJsFunction = (L) => {
  let length: number;
  let width = 0;
  let height = 0;
  let bit = 0;
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    lua.lua_rawgeti(L, 1, 1);
    lua.lua_rawgeti(L, 1, 2);
    lua.lua_rawgeti(L, 1, 3);
    width = checkInteger(L, -3);
    height = checkInteger(L, -2);
    bit = checkInteger(L, -1);
    lua.lua_pop(L, 3);
    if (!VALID_BITS.includes(bit)) return 0;
    length = Math.floor((width * height * bit - 1) / 8) + 1;
  } else {
    length = checkInteger(L, 1);
  }
  if (length <= 0) return 0;
  const buff = new Zbuff(length);
  if (bit) {
    buff.width = width;
    buff.height = height;
    buff.bit = bit;
    if (lua.lua_isinteger(L, 2)) {
      const color = lua.lua_tointeger(L, 2);
      for (let i = 0; i < width * height; i++) setPixel(buff, i, color);
    }
  } else if (lua.lua_isinteger(L, 2)) {
    buff.data.fill(lua.lua_tointeger(L, 2) & 255);
  } else if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    // Filled from a string, the cursor sits after the data, as if it had been written.
    buff.writeAtCursor(lua.lua_tolstring(L, 2) as Uint8Array);
  }
  pushZbuff(L, buff);
  return 1;
};

// ---- methods ----

const write: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (lua.lua_isinteger(L, 2)) {
    let n = 0;
    while (lua.lua_isinteger(L, 2 + n) && buff.cursor < buff.len) {
      buff.data[buff.cursor++] = lua.lua_tointeger(L, 2 + n) & 255;
      n++;
    }
    lua.lua_pushinteger(L, n);
    return 1;
  }
  const source = toZbuff(L, 2);
  lua.lua_pushinteger(L, buff.writeAtCursor(source ? source.used() : checkBytes(L, 2)));
  return 1;
};

const read: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const n = Math.min(optInteger(L, 2, 1), buff.len - buff.cursor);
  if (n <= 0) {
    pushBytes(L, new Uint8Array(0));
    return 1;
  }
  pushBytes(L, buff.data.slice(buff.cursor, buff.cursor + n));
  buff.cursor += n;
  return 1;
};

const clear: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  buff.data.fill(optInteger(L, 2, 0) & 255);
  return 0;
};

const seek: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  let offset = checkInteger(L, 2);
  const whence = optInteger(L, 3, SEEK_SET);
  if (whence === SEEK_CUR) offset += buff.cursor;
  else if (whence === SEEK_END) offset += buff.len;
  else if (whence !== SEEK_SET) return 0;
  buff.cursor = Math.min(Math.max(offset, 0), buff.len);
  lua.lua_pushinteger(L, buff.cursor);
  return 1;
};

/** buff:pack(fmt, ...) → bytes written at the cursor (pack.pack's codes, truncated to fit). */
const pack: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const format = checkBytes(L, 2);
  const bytes = packInto(L, format, 3, 2);
  lua.lua_pushinteger(L, buff.writeAtCursor(bytes));
  return 1;
};

/** buff:unpack(fmt) → the bytes consumed, then the values; the cursor moves past them. */
const unpack: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const format = checkBytes(L, 2);
  const base = lua.lua_gettop(L);
  lua.lua_pushnil(L);
  const consumed = unpackFrom(L, buff.data.subarray(buff.cursor), format, 0, 2);
  buff.cursor += consumed;
  lua.lua_pushinteger(L, consumed);
  lua.lua_replace(L, base + 1);
  return lua.lua_gettop(L) - base;
};

function typedRead(size: number, decode: (view: DataView) => number, integer: boolean): LuaJsFunction {
  return (L) => {
    const buff = checkZbuff(L);
    if (buff.len - buff.cursor < size) return 0;
    const view = new DataView(buff.data.buffer, buff.data.byteOffset + buff.cursor, size);
    const value = decode(view);
    buff.cursor += size;
    if (integer && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) lua.lua_pushinteger(L, value);
    else if (integer && size === 4) lua.lua_pushinteger(L, value | 0);
    else lua.lua_pushnumber(L, value);
    return 1;
  };
}

function typedWrite(size: number, encode: (view: DataView, value: number) => void, integer: boolean): LuaJsFunction {
  return (L) => {
    const buff = checkZbuff(L);
    if (buff.len - buff.cursor < size) {
      lua.lua_pushinteger(L, 0);
      return 1;
    }
    const value = integer ? checkInteger(L, 2) : checkNumber(L, 2);
    encode(new DataView(buff.data.buffer, buff.data.byteOffset + buff.cursor, size), value);
    buff.cursor += size;
    lua.lua_pushinteger(L, size);
    return 1;
  };
}

// The device is little-endian; these read and write in its native order.
const LE = true;
/** A 64-bit read pushed through the 32-bit VM's lua_Integer: the low 32 bits, signed. */
const low32 = (view: DataView): number => view.getInt32(0, LE);

const typed: Record<string, LuaJsFunction> = {
  readI8: typedRead(1, (v) => v.getInt8(0), true),
  readU8: typedRead(1, (v) => v.getUint8(0), true),
  readI16: typedRead(2, (v) => v.getInt16(0, LE), true),
  readU16: typedRead(2, (v) => v.getUint16(0, LE), true),
  readI32: typedRead(4, (v) => v.getInt32(0, LE), true),
  readU32: typedRead(4, (v) => v.getUint32(0, LE), true),
  readI64: typedRead(8, low32, true),
  readU64: typedRead(8, low32, true),
  readF32: typedRead(4, (v) => v.getFloat32(0, LE), false),
  readF64: typedRead(8, (v) => v.getFloat64(0, LE), false),
  writeI8: typedWrite(1, (v, x) => v.setInt8(0, x << 24 >> 24), true),
  writeU8: typedWrite(1, (v, x) => v.setUint8(0, x & 255), true),
  writeI16: typedWrite(2, (v, x) => v.setInt16(0, x << 16 >> 16, LE), true),
  writeU16: typedWrite(2, (v, x) => v.setUint16(0, x & 0xffff, LE), true),
  writeI32: typedWrite(4, (v, x) => v.setInt32(0, x | 0, LE), true),
  writeU32: typedWrite(4, (v, x) => v.setUint32(0, x >>> 0, LE), true),
  writeI64: typedWrite(8, (v, x) => v.setBigInt64(0, BigInt(Math.trunc(x)), LE), true),
  writeU64: typedWrite(8, (v, x) => v.setBigUint64(0, BigInt.asUintN(64, BigInt(Math.trunc(x))), LE), true),
  writeF32: typedWrite(4, (v, x) => v.setFloat32(0, x, LE), false),
  writeF64: typedWrite(8, (v, x) => v.setFloat64(0, x, LE), false),
};

/** buff:toStr([start[, len]]): a negative length gives "", and so does a negative start (the firmware would read before the buffer). */
const toStr: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const requested = optInteger(L, 2, 0);
  let len = optInteger(L, 3, buff.len);
  if (len < 0 || requested < 0) {
    pushBytes(L, new Uint8Array(0));
    return 1;
  }
  const start = Math.min(requested, buff.len);
  if (start + len > buff.len) len = buff.len - start;
  pushBytes(L, buff.data.slice(start, start + Math.max(0, len)));
  return 1;
};

const len: LuaJsFunction = (L) => {
  lua.lua_pushinteger(L, checkZbuff(L).len);
  return 1;
};

const used: LuaJsFunction = (L) => {
  lua.lua_pushinteger(L, checkZbuff(L).cursor);
  return 1;
};

/** Reads a byte (integer key) or finds a method (string key). */
const index: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (lua.lua_isinteger(L, 2)) {
    const i = lua.lua_tointeger(L, 2);
    if (i < 0 || i >= buff.len) return 0;
    lua.lua_pushinteger(L, buff.data[i] as number);
    return 1;
  }
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    const method = methods[textOf(lua.lua_tolstring(L, 2) as Uint8Array)];
    if (method) {
      lua.lua_pushjsfunction(L, method);
      return 1;
    }
  }
  return 0;
};

const newindex: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (!lua.lua_isinteger(L, 2)) return 0;
  const i = lua.lua_tointeger(L, 2);
  const value = checkInteger(L, 3);
  if (i >= 0 && i < buff.len) buff.data[i] = value & 255;
  return 0;
};

const setFrameBuffer: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const w = checkInteger(L, 2);
  const h = checkInteger(L, 3);
  const bit = checkInteger(L, 4);
  if (!VALID_BITS.includes(bit) || Math.floor((w * h * bit - 1) / 8) + 1 > buff.len) return 0;
  buff.width = w;
  buff.height = h;
  buff.bit = bit;
  if (lua.lua_isinteger(L, 5)) {
    const color = lua.lua_tointeger(L, 5);
    for (let i = 0; i < w * h; i++) setPixel(buff, i, color);
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

const pixel: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const x = checkInteger(L, 2);
  const y = checkInteger(L, 3);
  if (x < 0 || y < 0 || x >= buff.width || y >= buff.height) return 0;
  if (lua.lua_isinteger(L, 4)) {
    setPixel(buff, x + y * buff.width, lua.lua_tointeger(L, 4));
    lua.lua_pushboolean(L, true);
  } else {
    lua.lua_pushinteger(L, getPixel(buff, x + y * buff.width));
  }
  return 1;
};

function plot(buff: Zbuff, x: number, y: number, color: number): void {
  if (x >= 0 && y >= 0 && x < buff.width && y < buff.height) setPixel(buff, x + y * buff.width, color);
}

const drawLine: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (buff.width <= 0) return 0;
  let x0 = checkInteger(L, 2);
  let y0 = checkInteger(L, 3);
  const x1 = checkInteger(L, 4);
  const y1 = checkInteger(L, 5);
  const color = optInteger(L, 6, 0);
  // Bresenham, end point excluded as on the firmware.
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  for (let steps = Math.max(dx, -dy); steps > 0; steps--) {
    plot(buff, x0, y0, color);
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

const drawRect: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (buff.width <= 0) return 0;
  const clampX = (v: number) => Math.min(Math.max(v, 0), buff.width - 1);
  const clampY = (v: number) => Math.min(Math.max(v, 0), buff.height - 1);
  const xa = clampX(checkInteger(L, 2));
  const ya = clampY(checkInteger(L, 3));
  const xb = clampX(checkInteger(L, 4));
  const yb = clampY(checkInteger(L, 5));
  const color = optInteger(L, 6, 0);
  const fill = lua.lua_toboolean(L, 7);
  const [xmin, xmax, ymin, ymax] = [Math.min(xa, xb), Math.max(xa, xb), Math.min(ya, yb), Math.max(ya, yb)];
  for (let x = xmin; x <= xmax; x++) {
    for (let y = ymin; y <= ymax; y++) {
      if (fill || x === xmin || x === xmax || y === ymin || y === ymax) plot(buff, x, y, color);
    }
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

const drawCircle: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (buff.width <= 0) return 0;
  const xc = checkInteger(L, 2);
  const yc = checkInteger(L, 3);
  const r = checkInteger(L, 4);
  const color = optInteger(L, 5, 0);
  const fill = lua.lua_toboolean(L, 6);
  if (xc + r < 0 || xc - r >= buff.width || yc + r < 0 || yc - r >= buff.height) return 0;
  for (let y = -r; y <= r; y++) {
    for (let x = -r; x <= r; x++) {
      const d = x * x + y * y;
      if (fill ? d <= r * r : Math.abs(Math.sqrt(d) - r) < 0.5) plot(buff, xc + x, yc + y, color);
    }
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

const free: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  buff.data = new Uint8Array(0);
  buff.cursor = 0;
  return 0;
};

/**
 * buff:copy(start, data...): memcpy at `start` (default: used; negative counts back from
 * used), growing the buffer when needed; used becomes the furthest byte written.
 */
const copy: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  let at = lua.lua_isinteger(L, 2) ? lua.lua_tointeger(L, 2) : buff.cursor;
  if (at < 0) {
    at += buff.cursor;
    if (at < 0) {
      lua.lua_pushinteger(L, 0);
      return 1;
    }
  }
  let bytes: Uint8Array;
  if (lua.lua_isinteger(L, 3)) {
    const values: number[] = [];
    for (let i = 3; lua.lua_isinteger(L, i); i++) values.push(lua.lua_tointeger(L, i) & 255);
    bytes = Uint8Array.from(values);
  } else if (lua.lua_type(L, 3) === lua.LUA_TSTRING) {
    bytes = lua.lua_tolstring(L, 3) as Uint8Array;
  } else if (toZbuff(L, 3)) {
    const source = toZbuff(L, 3) as Zbuff;
    const start = optInteger(L, 4, 0);
    const n = optInteger(L, 5, source.cursor);
    bytes = source.data.slice(Math.max(0, start), Math.max(0, start) + Math.max(0, n));
  } else {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  if (at + bytes.length > buff.len) buff.resize(buff.len + bytes.length + at);
  buff.data.set(bytes, at);
  buff.cursor = Math.max(buff.cursor, at + bytes.length);
  lua.lua_pushinteger(L, bytes.length);
  return 1;
};

const set: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const start = Math.max(0, optInteger(L, 2, 0));
  const value = optInteger(L, 3, 0) & 255;
  const n = optInteger(L, 4, buff.len);
  if (start < buff.len) buff.data.fill(value, start, Math.min(buff.len, start + n));
  return 0;
};

/** buff:del(start, len): removes bytes inside 0..used by moving the rest down. */
const del: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  let start = optInteger(L, 2, 0);
  if (start < 0) {
    start += buff.cursor;
    if (start < 0) return 0;
  }
  if (start >= buff.cursor) return 0;
  let n = optInteger(L, 3, buff.cursor);
  if (start + n > buff.cursor) n = buff.cursor - start;
  if (n <= 0) return 0;
  buff.data.copyWithin(start, start + n, buff.cursor);
  buff.cursor -= n;
  return 0;
};

/** buff:query(start, len[, bigEndian[, signed[, float]]]): bytes, or a number for 1/2/4/8. */
const query: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  let start = optInteger(L, 2, 0);
  if (start < 0) {
    start += buff.cursor;
    if (start < 0) {
      lua.lua_pushnil(L);
      return 1;
    }
  }
  start = Math.min(start, buff.cursor);
  let n = optInteger(L, 3, buff.cursor);
  if (start + n > buff.cursor) n = buff.cursor - start;
  if (n <= 0) {
    lua.lua_pushnil(L);
    return 1;
  }
  const bytes = buff.data.slice(start, start + n);
  if (lua.lua_type(L, 4) !== lua.LUA_TBOOLEAN || n > 8) {
    pushBytes(L, bytes);
    return 1;
  }
  const little = !lua.lua_toboolean(L, 4);
  const signed = lua.lua_type(L, 5) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 5);
  const float = lua.lua_type(L, 6) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 6);
  const view = new DataView(bytes.buffer);
  switch (n) {
    case 1:
      lua.lua_pushinteger(L, signed ? view.getInt8(0) : view.getUint8(0));
      break;
    case 2:
      lua.lua_pushinteger(L, signed ? view.getInt16(0, little) : view.getUint16(0, little));
      break;
    case 4:
      // Floats are read in native order whatever the endian flag says (the firmware's memcpy).
      if (float) lua.lua_pushnumber(L, view.getFloat32(0, true));
      else lua.lua_pushinteger(L, view.getInt32(0, little));
      break;
    case 8:
      if (float) lua.lua_pushnumber(L, view.getFloat64(0, true));
      else lua.lua_pushinteger(L, view.getInt32(little ? 0 : 4, little));
      break;
    default:
      // Other widths come back as the bytes themselves.
      pushBytes(L, bytes);
  }
  return 1;
};

const resize: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  if (lua.lua_isinteger(L, 2)) buff.resize(lua.lua_tointeger(L, 2));
  return 0;
};

const isEqual: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const offset1 = optInteger(L, 2, 0);
  const other = checkZbuff(L, 3);
  const offset2 = optInteger(L, 4, 0);
  const n = optInteger(L, 5, 1);
  for (let i = 0; i < n; i++) {
    if (buff.data[offset1 + i] !== other.data[offset2 + i]) {
      lua.lua_pushboolean(L, false);
      lua.lua_pushinteger(L, i);
      return 2;
    }
  }
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, 0);
  return 2;
};

const toBase64: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  const target = checkZbuff(L, 2);
  const encoded = base64Of(buff.used()).subarray(0, target.len);
  target.data.set(encoded);
  target.cursor = encoded.length;
  lua.lua_pushinteger(L, encoded.length);
  return 1;
};

const get: LuaJsFunction = (L) => {
  if (!lua.lua_isinteger(L, 2)) return argError(L, 2, "number expected");
  return index(L);
};

const methods: Record<string, LuaJsFunction> = {
  write, read, clear, seek, pack, unpack, get, ...typed, toStr, len, used, setFrameBuffer, pixel, drawLine, drawRect, drawCircle,
  free, copy, set, query, del, resize, reSize: resize, isEqual, toBase64,
};

let counter = 0;
const addresses = new WeakMap<Zbuff, number>();

const tostring: LuaJsFunction = (L) => {
  const buff = checkZbuff(L);
  let address = addresses.get(buff);
  if (address === undefined) {
    address = 0x20010000 + 0x100 * ++counter;
    addresses.set(buff, address);
  }
  pushText(L, `${ZBUFF_METATABLE}: 0x${address.toString(16).padStart(8, "0")}`);
  return 1;
};

function ensureMetatable(L: LuaState): void {
  const exists = lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, ZBUFF_METATABLE) !== lua.LUA_TNIL;
  lua.lua_pop(L, 1);
  if (exists) return;
  lua.lua_createtable(L, 0, 6);
  pushText(L, ZBUFF_METATABLE);
  lua.lua_setfield(L, -2, "__name");
  setFunctions(L, -1, { __index: index, __newindex: newindex, __len: len, __tostring: tostring, __gc: () => 0 });
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, ZBUFF_METATABLE);
}

export const zbuff: ModuleDef = {
  name: "zbuff",
  open(L: LuaState, _board: Board): void {
    ensureMetatable(L);
    lua.lua_createtable(L, 0, 8);
    setFunctions(L, -1, { create });
    setConstants(L, -1, { SEEK_SET, SEEK_CUR, SEEK_END, HEAP_SRAM, HEAP_PSRAM, HEAP_AUTO });
  },
};
