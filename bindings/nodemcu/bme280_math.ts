// NodeMCU `bme280_math`: the BME280's compensation for Lua drivers that read the registers
// themselves (the firmware's bme280 Lua module). Results are floats: °C, hPa, %RH.
import { lua, pushUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkNumber, raise, typeError } from "../../engine/args.js";
import { defineModule } from "../common/module.js";
import { bme280Humidity, bme280Pressure, bme280Temperature, bme280TFine, bme280Trimming, type Bme280Trimming } from "../../device/chips/bme280-math.js";

const SENSOR = "bme280_math.sensor";
const OVERSAMP_16X = 5;
const NORMAL_MODE = 3;
const STANDBY_20_MS = 7;
const FILTER_16 = 4;

/** ln(x) by the series the firmware uses (2·atanh((x-1)/(x+1)), 17 terms), digit for digit. */
export function seriesLn(x: number): number {
  const y = (x - 1) / (x + 1);
  const y2 = y * y;
  let r = 0;
  for (let i = 33; i > 0; i -= 2) r = 1 / i + y2 * r;
  return 2 * y * r;
}

export function qfe2qnh(qfe: number, altitude: number): number {
  return qfe * Math.pow(1 - 2.25577e-5 * altitude, -5.25588);
}

export function altitudeOf(p: number, qnh: number): number {
  return (1 - Math.pow(p / qnh, 1 / 5.25588)) / 2.25577e-5;
}

export function dewpointOf(fraction: number, celsius: number): number {
  const c = seriesLn(fraction) + (17.67 * celsius) / (243.5 + celsius);
  return (243.5 * c) / (17.67 - c);
}

/** The setup arguments at `first`.. as the firmware packs them: ctrl_meas, ctrl_hum, config. */
export function packSettings(L: LuaState, first: number): { mode: number; ossh: number; config: number } {
  const opt = (arg: number, fallback: number, mask: number): number => (lua.lua_isnumber(L, arg) ? lua.lua_tointeger(L, arg) & mask : fallback);
  const mode = opt(first + 3, NORMAL_MODE, 3) | (opt(first + 1, OVERSAMP_16X, 7) << 2) | (opt(first, OVERSAMP_16X, 7) << 5);
  const ossh = opt(first + 2, OVERSAMP_16X, 7);
  const config = (opt(first + 4, STANDBY_20_MS, 7) << 5) | (opt(first + 5, FILTER_16, 7) << 2);
  return { mode, ossh, config };
}

/** A method-style call (`sensor:altitude(...)`) passes a table or userdata first; it is ignored. */
function dropSelf(L: LuaState): void {
  if (lua.lua_type(L, 1) === lua.LUA_TUSERDATA || lua.lua_type(L, 1) === lua.LUA_TTABLE) lua.lua_remove(L, 1);
}

/** A one-byte C string: lua_pushstring stops at NUL, so a zero byte gives "". */
function pushByteString(L: LuaState, byte: number): void {
  lua.lua_pushstring(L, byte === 0 ? new Uint8Array() : Uint8Array.of(byte));
}

const setup = (L: LuaState): number => {
  const { mode, ossh, config } = packSettings(L, 2);
  const regs = checkBytes(L, 1);
  const at = (i: number): number => regs[i] ?? 0;
  const low = Array.from({ length: 24 }, (_, i) => at(i));
  // Humidity trimming follows as H1 then 0xE1..0xE7, when the string carries it.
  const h = regs.length >= 32 ? Array.from({ length: 7 }, (_, i) => at(25 + i)) : undefined;
  const trimming = bme280Trimming([...low, 0, h ? at(24) : 0], h);
  pushUserdata<Bme280Trimming>(L, trimming, SENSOR);
  lua.lua_createtable(L, 3, 0);
  [config, ossh, mode].forEach((byte, i) => {
    pushByteString(L, byte);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 2;
};

const read = (L: LuaState): number => {
  const c = testUserdata<Bme280Trimming>(L, 1, SENSOR);
  if (!c) return typeError(L, 1, SENSOR);
  const b = checkBytes(L, 2);
  if (b.length !== 8 && b.length !== 6) raise(L, "invalid readout data");
  let withQnh = lua.lua_isnumber(L, 3);
  const adcT = (((b[3] as number) << 16) | ((b[4] as number) << 8) | (b[5] as number)) >> 4;
  if (adcT === 0x80000 || adcT === 0xfffff) return 0;
  const tFine = bme280TFine(adcT, c);
  lua.lua_pushnumber(L, bme280Temperature(tFine) / 100);
  const adcP = (((b[0] as number) << 16) | ((b[1] as number) << 8) | (b[2] as number)) >> 4;
  let qfe = 0;
  if (adcP === 0x80000 || adcP === 0xfffff) {
    lua.lua_pushnil(L);
    withQnh = false;
  } else {
    qfe = Math.floor((bme280Pressure(adcP, tFine, c) * 10) / 256) / 1000;
    lua.lua_pushnumber(L, qfe);
  }
  const adcH = b.length === 8 ? ((b[6] as number) << 8) | (b[7] as number) : 0x8000;
  if (adcH === 0x8000 || adcH === 0xffff) lua.lua_pushnil(L);
  else lua.lua_pushnumber(L, Math.floor((bme280Humidity(adcH, tFine, c) * 1000) / 1024) / 1000);
  if (!withQnh) return 3;
  lua.lua_pushnumber(L, qfe2qnh(qfe, Math.trunc(checkNumber(L, 3))));
  return 4;
};

const qfe2qnhFn = (L: LuaState): number => {
  dropSelf(L);
  lua.lua_pushnumber(L, qfe2qnh(checkNumber(L, 1), checkNumber(L, 2)));
  return 1;
};

const altitude = (L: LuaState): number => {
  dropSelf(L);
  lua.lua_pushnumber(L, altitudeOf(checkNumber(L, 1), checkNumber(L, 2)));
  return 1;
};

const dewpoint = (L: LuaState): number => {
  dropSelf(L);
  const fraction = checkNumber(L, 1) / 100;
  lua.lua_pushnumber(L, dewpointOf(fraction, checkNumber(L, 2)));
  return 1;
};

export const bme280_math = defineModule("bme280_math", {
  functions: { setup, read, qfe2qnh: qfe2qnhFn, altitude, dewpoint },
  metatables: { [SENSOR]: { methods: {} } },
});
