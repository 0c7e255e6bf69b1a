// NodeMCU `tsl2561` over the device's TSL2561 model on bus 0: the firmware driver's
// module-wide settings (address, package, integration, gain, last channels) per board, its
// register accesses byte by byte, and its fixed-point lux approximation with the ESP8266's
// 32-bit unsigned arithmetic.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { LUX_SEGMENTS_CS, LUX_SEGMENTS_T } from "../../device/chips/tsl2561.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const TSL2561_OK = 0;
const TSL2561_ERROR_I2CINIT = 1;
const TSL2561_ERROR_I2CBUSY = 2;
const TSL2561_ERROR_NOINIT = 3;
const TSL2561_ERROR_LAST = 4;
const INTEGRATIONTIME_13MS = 0x00;
const INTEGRATIONTIME_101MS = 0x01;
const INTEGRATIONTIME_402MS = 0x02;
const GAIN_1X = 0x00;
const GAIN_16X = 0x10;
const PACKAGE_CS = 0;
const PACKAGE_T_FN_CL = 1;
const ADDRESS_GND = 0x29;
const ADDRESS_FLOAT = 0x39;
const ADDRESS_VDD = 0x49;

const COMMAND = 0x80;
const WORD = 0x20;
const CONTROL = 0x0;
const TIMING = 0x1;
const CHAN0_LOW = 0xc;
const CHAN1_LOW = 0xe;
const POWER_ON = 0x03;
const POWER_OFF = 0x00;
/** Channel scale at 13.7 and 101 ms (322/11 and 322/81 · 2^10); 402 ms is 2^10. */
const CHSCALE_TINT0 = 0x7517;
const CHSCALE_TINT1 = 0x0fe7;

interface Tsl {
  initialised: boolean;
  integration: number;
  gain: number;
  address: number;
  package: number;
  ch0: number;
  ch1: number;
}

const states = new WeakMap<Board, Tsl>();

function stateOf(board: Board): Tsl {
  let state = states.get(board);
  if (!state) {
    state = { initialised: false, integration: INTEGRATIONTIME_402MS, gain: GAIN_1X, address: ADDRESS_FLOAT, package: PACKAGE_T_FN_CL, ch0: 0, ch1: 0 };
    states.set(board, state);
  }
  return state;
}

const u32 = (value: number): number => ((value % 2 ** 32) + 2 ** 32) % 2 ** 32;

function write8(board: Board, tsl: Tsl, register: number, value: number): void {
  writeTo(board, tsl.address, [COMMAND | register, value]);
}

/** Each byte through its own command and read transfer, low byte first. */
function read16(board: Board, tsl: Tsl, register: number): number {
  writeTo(board, tsl.address, [register]);
  const low = readFrom(board, tsl.address, 1)[0] as number;
  writeTo(board, tsl.address, [register + 1]);
  const high = readFrom(board, tsl.address, 1)[0] as number;
  return low | (high << 8);
}

function setTiming(board: Board, tsl: Tsl, integration: number, gain: number): number {
  if (!tsl.initialised) return TSL2561_ERROR_NOINIT;
  write8(board, tsl, CONTROL, POWER_ON);
  write8(board, tsl, TIMING, integration | gain);
  tsl.integration = integration;
  tsl.gain = gain;
  write8(board, tsl, CONTROL, POWER_OFF);
  return TSL2561_OK;
}

function luminosity(board: Board, tsl: Tsl): number {
  if (!tsl.initialised) return TSL2561_ERROR_NOINIT;
  write8(board, tsl, CONTROL, POWER_ON);
  tsl.ch0 = read16(board, tsl, COMMAND | WORD | CHAN0_LOW);
  tsl.ch1 = read16(board, tsl, COMMAND | WORD | CHAN1_LOW);
  write8(board, tsl, CONTROL, POWER_OFF);
  return TSL2561_OK;
}

function lux(tsl: Tsl): number {
  let chScale = tsl.integration === INTEGRATIONTIME_13MS ? CHSCALE_TINT0 : tsl.integration === INTEGRATIONTIME_101MS ? CHSCALE_TINT1 : 1 << 10;
  if (!tsl.gain) chScale <<= 4;
  const channel0 = Math.floor(u32(tsl.ch0 * chScale) / 1024);
  const channel1 = Math.floor(u32(tsl.ch1 * chScale) / 1024);
  const ratio1 = channel0 !== 0 ? Math.floor(u32(channel1 * 1024) / channel0) : 0;
  const ratio = Math.floor((ratio1 + 1) / 2);
  const segments = tsl.package === PACKAGE_CS ? LUX_SEGMENTS_CS : LUX_SEGMENTS_T;
  // Above the last limit both coefficients are 0.
  const [, b, m] = segments.find(([k]) => ratio <= k) ?? [0, 0, 0];
  // Unsigned: a negative difference wraps rather than clamping to 0, as on the ESP8266.
  const temp = u32(u32(channel0 * b) - u32(channel1 * m) + 8192);
  return Math.floor(temp / 16384);
}

const init = (L: LuaState): number => {
  if (!lua.lua_isnumber(L, 1) || !lua.lua_isnumber(L, 2)) raise(L, "wrong arg range");
  const sda = checkInteger(L, 1);
  const scl = checkInteger(L, 2);
  if (scl === 0 || sda === 0) raise(L, "no i2c for D0");
  const board = boardOf(L);
  const tsl = stateOf(board);
  tsl.initialised = true;
  // The driver applies its current timing before the optional arguments change the address.
  setTiming(board, tsl, tsl.integration, tsl.gain);
  if (lua.lua_isnumber(L, 3)) {
    const address = checkInteger(L, 3) & 0xff;
    if (![ADDRESS_GND, ADDRESS_FLOAT, ADDRESS_VDD].includes(address)) raise(L, "Invalid argument: address");
    tsl.address = address;
  }
  if (lua.lua_isnumber(L, 4)) {
    const pkg = checkInteger(L, 4) & 0xff;
    if (pkg !== PACKAGE_T_FN_CL && pkg !== PACKAGE_CS) raise(L, "Invalid argument: package");
    tsl.package = pkg;
  }
  lua.lua_pushinteger(L, TSL2561_OK);
  return 1;
};

const settiming = (L: LuaState): number => {
  if (!lua.lua_isnumber(L, 1) || !lua.lua_isnumber(L, 2)) raise(L, "wrong arg range");
  const integration = checkInteger(L, 1) & 0xff;
  if (![INTEGRATIONTIME_13MS, INTEGRATIONTIME_101MS, INTEGRATIONTIME_402MS].includes(integration)) raise(L, "Invalid argument: integration");
  const gain = checkInteger(L, 2) & 0xff;
  if (gain !== GAIN_16X && gain !== GAIN_1X) raise(L, "Invalid argument: gain");
  const board = boardOf(L);
  lua.lua_pushinteger(L, setTiming(board, stateOf(board), integration, gain));
  return 1;
};

const getlux = (L: LuaState): number => {
  const board = boardOf(L);
  const tsl = stateOf(board);
  const error = luminosity(board, tsl);
  lua.lua_pushinteger(L, error ? 0 : lux(tsl));
  lua.lua_pushinteger(L, error);
  return 2;
};

const getrawchannels = (L: LuaState): number => {
  const board = boardOf(L);
  const tsl = stateOf(board);
  const error = luminosity(board, tsl);
  lua.lua_pushinteger(L, tsl.ch0);
  lua.lua_pushinteger(L, tsl.ch1);
  lua.lua_pushinteger(L, error);
  return 3;
};

export const tsl2561 = defineModule("tsl2561", {
  functions: { settiming, getlux, getrawchannels, init },
  constants: {
    TSL2561_OK, TSL2561_ERROR_I2CINIT, TSL2561_ERROR_I2CBUSY, TSL2561_ERROR_NOINIT, TSL2561_ERROR_LAST,
    INTEGRATIONTIME_13MS, INTEGRATIONTIME_101MS, INTEGRATIONTIME_402MS, GAIN_1X, GAIN_16X,
    PACKAGE_CS, PACKAGE_T_FN_CL, ADDRESS_GND, ADDRESS_FLOAT, ADDRESS_VDD,
  },
});
