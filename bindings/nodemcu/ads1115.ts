// NodeMCU `ads1115` (ADS1115 and ADS1015) over the device's model on bus 0: the device
// object's config and threshold writes, conversion reads and timers as the firmware does
// them. moonrig is a float build: read gives millivolts and the raw value, with nil where
// the integer build gives the microvolts and the sign.
import { lua, checkUserdata, pushUserdata, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readRegisters, writeTo } from "./platform-i2c.js";

const DEVICE = "ads1115.device";
const UNEXPECTED = "unexpected value";
const POINTER_CONVERSION = 0;
const POINTER_CONFIG = 1;
const POINTER_THRESH_LOW = 2;
const POINTER_THRESH_HI = 3;
const DEFAULT_CONFIG = 0x8583;
const OS_SINGLE = 0x8000;
const MODE_CONTIN = 0x0000;
const MODE_SINGLE = 0x0100;
const CQUE_1CONV = 0;
const CQUE_2CONV = 1;
const CQUE_4CONV = 2;
const CQUE_NONE = 3;
const CMODE_TRAD = 0x0000;
const CMODE_WINDOW = 0x0010;
const GENERAL_CALL = 0x00;
const RESET = 0x06;

/** Millivolts per LSB by PGA setting. */
const MV_PER_LSB: Record<number, number> = { 0x0000: 0.1875, 0x0200: 0.125, 0x0400: 0.0625, 0x0600: 0.03125, 0x0800: 0.015625, 0x0a00: 0.0078125 };
/** Data rate in samples/s to its config bits, per chip. */
const RATES_1115: Record<number, number> = { 8: 0x00, 16: 0x20, 32: 0x40, 64: 0x60, 128: 0x80, 250: 0xa0, 475: 0xc0, 860: 0xe0 };
const RATES_1015: Record<number, number> = { 128: 0x00, 250: 0x20, 490: 0x40, 920: 0x60, 1600: 0x80, 2400: 0xa0, 3300: 0xc0 };
/** The firmware's wait before reading a conversion, by data rate (1 ms for the fastest). */
const WAIT_MS: Record<number, number> = { 8: 150, 16: 75, 32: 35, 64: 20, 128: 10, 250: 5, 475: 3, 490: 3, 860: 2, 920: 2 };

interface Ads {
  board: Board;
  address: number;
  ads1015: boolean;
  gain: number;
  samplesValue: number;
  comp: number;
  mode: number;
  thresholdLow: number;
  thresholdHi: number;
  config: number;
  timerRef: number | undefined;
  cancelTimer: (() => void) | undefined;
}

function writeRegister(ads: Ads, pointer: number, value: number): void {
  writeTo(ads.board, ads.address, [pointer, (value >> 8) & 0xff, value & 0xff]);
}

function readRegister(board: Board, address: number, pointer: number): number {
  const b = readRegisters(board, address, pointer, 2);
  return ((b[0] as number) << 8) | (b[1] as number);
}

/** Millivolts to a register code for `gain`, or undefined out of range (negative on single-ended inputs). */
function thresholdCode(gain: number, channel: number, mv: number): number | undefined {
  const full = ({ 0x0000: 6144, 0x0200: 4096, 0x0400: 2048, 0x0600: 1024, 0x0800: 512, 0x0a00: 256 } as Record<number, number>)[gain] as number;
  const signed = (mv << 16) >> 16;
  if (signed >= full || signed < -full || (signed < 0 && channel >> 14)) return undefined;
  return Math.trunc(signed / (MV_PER_LSB[gain] as number)) & 0xffff;
}

function register(L: LuaState, ads1015: boolean): number {
  const id = checkInteger(L, 1) & 0xff;
  if (id !== 0) argError(L, 1, "i2c_id must be 0");
  const address = checkInteger(L, 2) & 0xff;
  if ((address & 0xfc) !== 0x48) argError(L, 2, UNEXPECTED);
  const board = boardOf(L);
  const config = readRegister(board, address, POINTER_CONFIG);
  if (config === 0xffff) raise(L, "found no device");
  if (config !== DEFAULT_CONFIG) raise(L, `unexpected config value (0x${config.toString(16)}) please reset device before calling this function`);
  const ads: Ads = {
    board, address, ads1015, gain: 0x0000, samplesValue: ads1015 ? 1600 : 128, comp: CQUE_NONE, mode: MODE_SINGLE,
    thresholdLow: 0x8000, thresholdHi: 0x7fff, config: DEFAULT_CONFIG, timerRef: undefined, cancelTimer: undefined,
  };
  pushUserdata(L, ads, DEVICE);
  return 1;
}

const ads1115Fn = (L: LuaState): number => register(L, false);
const ads1015Fn = (L: LuaState): number => register(L, true);

const reset = (L: LuaState): number => {
  writeTo(boardOf(L), GENERAL_CALL, [RESET]);
  return 0;
};

const setting = (L: LuaState): number => {
  const argc = lua.lua_gettop(L);
  if (![5, 6, 8, 9].includes(argc)) raise(L, "invalid number of arguments to 'setting'");
  const ads = checkUserdata<Ads>(L, 1, DEVICE);
  const gain = checkInteger(L, 2) & 0xffff;
  if (MV_PER_LSB[gain] === undefined) argError(L, 2, UNEXPECTED);
  ads.gain = gain;
  const samplesValue = checkInteger(L, 3) & 0xffff;
  const samples = (ads.ads1015 ? RATES_1015 : RATES_1115)[samplesValue];
  if (samples === undefined) argError(L, 3, UNEXPECTED);
  ads.samplesValue = samplesValue;
  const channel = checkInteger(L, 4) & 0xffff;
  if ((channel & 0x8fff) !== 0) argError(L, 4, UNEXPECTED);
  const mode = checkInteger(L, 5) & 0xffff;
  if (mode !== MODE_SINGLE && mode !== MODE_CONTIN) argError(L, 5, UNEXPECTED);
  ads.mode = mode;
  const os = mode === MODE_SINGLE ? OS_SINGLE : 0;
  let comp = CQUE_NONE;
  if (argc > 5) {
    comp = checkInteger(L, 6) & 0xffff;
    if (comp !== CQUE_1CONV && comp !== CQUE_2CONV && comp !== CQUE_4CONV) argError(L, 6, UNEXPECTED);
    // Conversion-ready use of ALERT/RDY: Hi_thresh MSB 1, Lo_thresh MSB 0 (datasheet 9.3.8).
    let low = 0x7fff;
    let hi = 0x8000;
    if (argc > 6) {
      low = checkInteger(L, 7) & 0xffff;
      hi = checkInteger(L, 8) & 0xffff;
      if ((low << 16) >> 16 > (hi << 16) >> 16) argError(L, 7, "threshold_low > threshold_hi");
      const lowCode = thresholdCode(gain, channel, low);
      if (lowCode === undefined) argError(L, 7, UNEXPECTED);
      const hiCode = thresholdCode(gain, channel, hi);
      if (hiCode === undefined) argError(L, 8, UNEXPECTED);
      low = lowCode;
      hi = hiCode;
    }
    ads.thresholdLow = low;
    ads.thresholdHi = hi;
    writeRegister(ads, POINTER_THRESH_LOW, low);
    writeRegister(ads, POINTER_THRESH_HI, hi);
  }
  ads.comp = comp;
  let comparatorMode = CMODE_TRAD;
  if (argc === 9) {
    comparatorMode = checkInteger(L, 9) & 0xffff;
    if (comparatorMode !== CMODE_WINDOW && comparatorMode !== CMODE_TRAD) argError(L, 9, UNEXPECTED);
  }
  ads.config = os | channel | gain | mode | samples | comparatorMode | comp;
  writeRegister(ads, POINTER_CONFIG, ads.config);
  return 0;
};

/** Pushes what read() and the startread callback get: millivolts, nil, raw, nil. */
function pushReading(L: LuaState, ads: Ads, raw: number): number {
  lua.lua_pushnumber(L, ((raw << 16) >> 16) * (MV_PER_LSB[ads.gain] ?? 0));
  lua.lua_pushnil(L);
  lua.lua_pushinteger(L, raw);
  lua.lua_pushnil(L);
  return 4;
}

const startread = (L: LuaState): number => {
  const ads = checkUserdata<Ads>(L, 1, DEVICE);
  const conversionReady = ads.comp !== CQUE_NONE && ads.thresholdLow === 0x7fff && ads.thresholdHi === 0x8000;
  if (conversionReady) {
    if (ads.mode === MODE_SINGLE) writeRegister(ads, POINTER_CONFIG, ads.config);
    return 0;
  }
  if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) argError(L, 2, "Must be function");
  const board = ads.board;
  // A new startread replaces the pending one, as the firmware re-arms its one timer.
  ads.cancelTimer?.();
  if (ads.timerRef !== undefined) board.unref(ads.timerRef);
  const ref = board.ref(L, 2);
  ads.timerRef = ref;
  if (ads.mode === MODE_SINGLE) writeRegister(ads, POINTER_CONFIG, ads.config);
  const release = board.hold();
  const handle = setTimeout(() => {
    forget();
    ads.cancelTimer = undefined;
    board.post(() => {
      if (ads.timerRef !== ref) return;
      ads.timerRef = undefined;
      const raw = readRegister(board, ads.address, POINTER_CONVERSION);
      board.callRef(ref, (L1) => pushReading(L1, ads, raw));
      board.unref(ref);
    });
    release();
  }, WAIT_MS[ads.samplesValue] ?? 1);
  const forget = board.own(() => clearTimeout(handle));
  ads.cancelTimer = () => {
    clearTimeout(handle);
    forget();
    release();
  };
  return 0;
};

const read = (L: LuaState): number => {
  const ads = checkUserdata<Ads>(L, 1, DEVICE);
  return pushReading(L, ads, readRegister(ads.board, ads.address, POINTER_CONVERSION));
};

export const ads1115 = defineModule("ads1115", {
  functions: { ads1115: ads1115Fn, ads1015: ads1015Fn, reset },
  constants: {
    ADDR_GND: 0x48, ADDR_VDD: 0x49, ADDR_SDA: 0x4a, ADDR_SCL: 0x4b,
    SINGLE_SHOT: MODE_SINGLE, CONTINUOUS: MODE_CONTIN,
    DIFF_0_1: 0x0000, DIFF_0_3: 0x1000, DIFF_1_3: 0x2000, DIFF_2_3: 0x3000,
    SINGLE_0: 0x4000, SINGLE_1: 0x5000, SINGLE_2: 0x6000, SINGLE_3: 0x7000,
    GAIN_6_144V: 0x0000, GAIN_4_096V: 0x0200, GAIN_2_048V: 0x0400, GAIN_1_024V: 0x0600, GAIN_0_512V: 0x0800, GAIN_0_256V: 0x0a00,
    DR_8SPS: 8, DR_16SPS: 16, DR_32SPS: 32, DR_64SPS: 64, DR_128SPS: 128, DR_250SPS: 250, DR_475SPS: 475, DR_490SPS: 490,
    DR_860SPS: 860, DR_920SPS: 920, DR_1600SPS: 1600, DR_2400SPS: 2400, DR_3300SPS: 3300,
    CONV_RDY_1: CQUE_1CONV, CONV_RDY_2: CQUE_2CONV, CONV_RDY_4: CQUE_4CONV,
    COMP_1CONV: CQUE_1CONV, COMP_2CONV: CQUE_2CONV, COMP_4CONV: CQUE_4CONV,
    CMODE_TRAD: CMODE_TRAD, CMODE_WINDOW: CMODE_WINDOW,
  },
  metatables: { [DEVICE]: { methods: { setting, startread, read } } },
});
