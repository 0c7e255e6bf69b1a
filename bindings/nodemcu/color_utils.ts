// NodeMCU `color_utils`: the integer HSV/GRB conversions the firmware's LED modules share,
// with their rounding and their argument order: colorWheel answers r, g, b although the
// docs say g, r, b, because color_utils.c unpacks its own g,r,b word the other way round.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

/** Hue 0..360, saturation and value 0..255, as one word g<<16 | r<<8 | b. */
export function hsv2grb(hue: number, sat: number, val: number): number {
  const accent = Math.trunc((hue % 360) / 60);
  const bottom = ((255 - sat) * val) >> 8;
  const top = val;
  const rising = (Math.trunc(((top - bottom) * (hue % 60)) / 60) + bottom) & 0xff;
  const falling = (Math.trunc(((top - bottom) * (60 - (hue % 60))) / 60) + bottom) & 0xff;
  const [r, g, b] = [[top, rising, bottom], [falling, top, bottom], [bottom, top, rising], [bottom, falling, top], [rising, bottom, top], [top, bottom, falling]][accent] as number[];
  return (((g as number) << 16) | ((r as number) << 8) | (b as number)) >>> 0;
}

/** Hue in the top 16 bits (0xffff for grey, the firmware's -1), saturation, value. */
export function grb2hsv(g: number, r: number, b: number): number {
  const min = Math.min(r, g, b);
  const max = Math.max(r, g, b);
  const delta = max - min;
  let hue = -1;
  let saturation = 0;
  if (delta !== 0) {
    if (r === max) hue = Math.trunc(((g - b) * 60) / delta);
    else if (g === max) hue = Math.trunc(((b - r) * 60) / delta) + 120;
    else hue = Math.trunc(((r - g) * 60) / delta) + 240;
    if (hue < 0) hue += 360;
    saturation = Math.trunc((256 * delta - 8) / max);
  }
  return ((hue << 16) | (saturation << 8) | max) >>> 0;
}

export const colorWheel = (pos: number): number => hsv2grb(pos & 0xffff, 255, 255);

function checkHsv(L: LuaState): [number, number, number] {
  const hue = checkInteger(L, 1);
  const sat = checkInteger(L, 2);
  const val = checkInteger(L, 3);
  if (hue < 0 || hue > 360) argError(L, 1, "should be a 0-360");
  if (sat < 0 || sat > 255) argError(L, 2, "should be 0-255");
  if (val < 0 || val > 255) argError(L, 3, "should be 0-255");
  return [hue, sat, val];
}

function pushBytesOf(L: LuaState, word: number, shifts: readonly number[]): number {
  for (const shift of shifts) lua.lua_pushinteger(L, (word >>> shift) & 0xff);
  return shifts.length;
}

const hsv2grbLua = (L: LuaState): number => pushBytesOf(L, hsv2grb(...checkHsv(L)), [16, 8, 0]);

const hsv2grbw = (L: LuaState): number => {
  const grb = hsv2grb(...checkHsv(L));
  const [g, r, b] = [(grb >>> 16) & 0xff, (grb >>> 8) & 0xff, grb & 0xff];
  const w = Math.min(g, r, b);
  lua.lua_pushinteger(L, g - w);
  lua.lua_pushinteger(L, r - w);
  lua.lua_pushinteger(L, b - w);
  lua.lua_pushinteger(L, w);
  return 4;
};

const colorWheelLua = (L: LuaState): number => {
  const angle = checkInteger(L, 1);
  if (angle < 0 || angle > 360) argError(L, 1, "should be a 0-360");
  return pushBytesOf(L, colorWheel(angle), [8, 16, 0]);
};

const grb2hsvLua = (L: LuaState): number => {
  const g = checkInteger(L, 1);
  const r = checkInteger(L, 2);
  const b = checkInteger(L, 3);
  if (g === r && g === b) argError(L, 1, "greyscale value cannot be converted to hsv");
  // The C function takes uint8_t: out-of-range components wrap.
  const hsv = grb2hsv(g & 0xff, r & 0xff, b & 0xff);
  lua.lua_pushinteger(L, hsv >>> 16);
  lua.lua_pushinteger(L, (hsv >>> 8) & 0xff);
  lua.lua_pushinteger(L, hsv & 0xff);
  return 3;
};

export const color_utils = defineModule("color_utils", {
  functions: { hsv2grb: hsv2grbLua, hsv2grbw, colorWheel: colorWheelLua, grb2hsv: grb2hsvLua },
});
