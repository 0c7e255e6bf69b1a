// NodeMCU `bme280` (the firmware's C module, deprecated there in favour of bme280_math):
// the chip on bus 0 at 0x76, else 0x77, read register by register over the device's bus.
// Integer results: T in 0.01 °C, P in 0.001 hPa, H in 0.001 %RH.
import { lua, bytesOf, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { projectProvides } from "../../runtime/loader.js";
import { defineModule } from "../common/module.js";
import { bme280Humidity, bme280Pressure, bme280Temperature, bme280TFine, bme280Trimming, type Bme280Trimming } from "../../device/chips/bme280-math.js";
import { probe, readRegisters, writeTo } from "./platform-i2c.js";
import { altitudeOf, dewpointOf, packSettings, qfe2qnh } from "./bme280_math.js";

const ADDRESS1 = 0x76;
const ADDRESS2 = 0x77;
const CHIPID = 0xd0;
const DIG_T = 0x88;
const DIG_H1 = 0xa1;
const DIG_H2 = 0xe1;
const CONTROL_HUM = 0xf2;
const CONTROL = 0xf4;
const CONFIG = 0xf5;
const PRESS = 0xf7;
const TEMP = 0xfa;
const FORCED_MODE = 1;
/** The firmware's default readout delay: the longest measurement, all at ×16 oversampling. */
const SAMPLING_DELAY = 113;
const DEPRECATION = "Warning, deprecated API! bme280. It will be removed soon. Use bme280math and bme280 Lua module instead. See documentation for details.\n";

interface Driver {
  address: number;
  isBme: boolean;
  mode: number;
  ossh: number;
  trimming: Bme280Trimming;
  tFine: number;
  readoutRef: number | undefined;
}

const driverOf = perBoard((): Driver => ({
  address: ADDRESS1, isBme: false, mode: 0, ossh: 0,
  trimming: bme280Trimming(new Uint8Array(26)), tFine: 0, readoutRef: undefined,
}));

const adc20 = (b: Uint8Array, i: number): number => (((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number)) >> 4;
const invalid20 = (adc: number): boolean => adc === 0x80000 || adc === 0xfffff;
const invalid16 = (adc: number): boolean => adc === 0x8000 || adc === 0xffff;

function temperature(d: Driver, adcT: number): number {
  d.tFine = bme280TFine(adcT, d.trimming);
  return bme280Temperature(d.tFine);
}

/** Pressure in 0.001 hPa, as the firmware scales its Q24.8 pascals. */
function pressure(d: Driver, adcP: number): number {
  return Math.floor((bme280Pressure(adcP, d.tFine, d.trimming) * 10) / 256);
}

/** Humidity in 0.001 %RH. */
function humidity(d: Driver, adcH: number): number {
  return Math.floor((bme280Humidity(adcH, d.tFine, d.trimming) * 1000) / 1024);
}

const roundHalfAway = (x: number): number => Math.trunc(x + Math.sign(x) * 0.5);

const setup = (L: LuaState): number => {
  const board = boardOf(L);
  board.write(bytesOf(DEPRECATION));
  const d = driverOf(board);
  const { mode, ossh, config } = packSettings(L, 1);
  d.mode = mode;
  d.ossh = ossh;
  const fullInit = lua.lua_isnumber(L, 7) ? lua.lua_tointeger(L, 7) !== 0 : true;
  d.address = ADDRESS1;
  if (!probe(board, d.address)) {
    d.address = ADDRESS2;
    if (!probe(board, d.address)) return 0;
  }
  d.isBme = readRegisters(board, d.address, CHIPID, 1)[0] === 0x60;
  const low = new Uint8Array(26);
  low.set(readRegisters(board, d.address, DIG_T, 24));
  if (fullInit) writeTo(board, d.address, [CONFIG, config]);
  if (d.isBme) {
    low[25] = readRegisters(board, d.address, DIG_H1, 1)[0] as number;
    d.trimming = bme280Trimming(low, readRegisters(board, d.address, DIG_H2, 7));
    if (fullInit) writeTo(board, d.address, [CONTROL_HUM, ossh]);
  } else {
    d.trimming = bme280Trimming(low);
  }
  if (fullInit) writeTo(board, d.address, [CONTROL, mode]);
  lua.lua_pushinteger(L, d.isBme ? 2 : 1);
  return 1;
};

const startreadout = (L: LuaState): number => {
  const board = boardOf(L);
  const d = driverOf(board);
  const delay = lua.lua_isnumber(L, 1) ? checkInteger(L, 1) || SAMPLING_DELAY : SAMPLING_DELAY;
  if (d.readoutRef !== undefined) board.unref(d.readoutRef);
  d.readoutRef = lua.lua_isnoneornil(L, 2) ? undefined : board.ref(L, 2);
  writeTo(board, d.address, [CONTROL_HUM, d.ossh]);
  writeTo(board, d.address, [CONTROL, (d.mode & 0xfc) | FORCED_MODE]);
  const ref = d.readoutRef;
  if (ref === undefined) return 0;
  const release = board.hold();
  const handle = setTimeout(() => {
    forget();
    board.post(() => {
      if (d.readoutRef !== ref) return;
      d.readoutRef = undefined;
      board.callRef(ref);
      board.unref(ref);
    });
    release();
  }, delay);
  const forget = board.own(() => clearTimeout(handle));
  return 0;
};

const read = (L: LuaState): number => {
  const board = boardOf(L);
  const d = driverOf(board);
  let withQnh = lua.lua_isnumber(L, 1);
  const b = readRegisters(board, d.address, PRESS, 8);
  const adcT = adc20(b, 3);
  if (invalid20(adcT)) return 0;
  lua.lua_pushinteger(L, temperature(d, adcT));
  const adcP = adc20(b, 0);
  let qfe = 0;
  if (invalid20(adcP)) {
    lua.lua_pushnil(L);
    withQnh = false;
  } else {
    qfe = pressure(d, adcP);
    lua.lua_pushinteger(L, qfe);
  }
  const adcH = ((b[6] as number) << 8) | (b[7] as number);
  if (!d.isBme || invalid16(adcH)) lua.lua_pushnil(L);
  else lua.lua_pushinteger(L, humidity(d, adcH));
  if (!withQnh) return 3;
  lua.lua_pushinteger(L, Math.trunc(qfe2qnh(qfe, checkInteger(L, 1)) + 0.5));
  return 4;
};

const temp = (L: LuaState): number => {
  const board = boardOf(L);
  const d = driverOf(board);
  const adcT = adc20(readRegisters(board, d.address, TEMP, 3), 0);
  if (invalid20(adcT)) return 0;
  lua.lua_pushinteger(L, temperature(d, adcT));
  lua.lua_pushinteger(L, d.tFine);
  return 2;
};

const baro = (L: LuaState): number => {
  const board = boardOf(L);
  const d = driverOf(board);
  const b = readRegisters(board, d.address, PRESS, 6);
  const adcT = adc20(b, 3);
  const t = temperature(d, adcT);
  const adcP = adc20(b, 0);
  if (invalid20(adcT) || invalid20(adcP)) return 0;
  lua.lua_pushinteger(L, pressure(d, adcP));
  lua.lua_pushinteger(L, t);
  return 2;
};

const humi = (L: LuaState): number => {
  const board = boardOf(L);
  const d = driverOf(board);
  if (!d.isBme) return 0;
  const b = readRegisters(board, d.address, TEMP, 5);
  const adcT = adc20(b, 0);
  const t = temperature(d, adcT);
  const adcH = ((b[3] as number) << 8) | (b[4] as number);
  if (invalid20(adcT) || invalid16(adcH)) return 0;
  lua.lua_pushinteger(L, humidity(d, adcH));
  lua.lua_pushinteger(L, t);
  return 2;
};

function checkSecond(L: LuaState): void {
  if (!lua.lua_isnumber(L, 2)) raise(L, "wrong arg range");
}

const qfe2qnhFn = (L: LuaState): number => {
  checkSecond(L);
  lua.lua_pushinteger(L, Math.trunc(qfe2qnh(checkInteger(L, 1), checkInteger(L, 2)) + 0.5));
  return 1;
};

const altitude = (L: LuaState): number => {
  checkSecond(L);
  lua.lua_pushinteger(L, roundHalfAway(altitudeOf(checkInteger(L, 1), checkInteger(L, 2)) * 100));
  return 1;
};

const dewpoint = (L: LuaState): number => {
  checkSecond(L);
  lua.lua_pushinteger(L, roundHalfAway(dewpointOf(checkInteger(L, 1) / 100000, checkInteger(L, 2) / 100) * 100));
  return 1;
};

export const bme280 = defineModule("bme280", {
  functions: { setup, temp, baro, humi, startreadout, qfe2qnh: qfe2qnhFn, altitude, dewpoint, read },
  // A project shipping the firmware's bme280.lua (over bme280_math) is built without this.
  available: (board) => !projectProvides(board, "bme280"),
});

