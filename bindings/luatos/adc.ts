// LuatOS `adc`. Readings come from the device's sensors (--device "sensors" or
// HardwareRecorder.setSensor): "vbat" (mV, default 3800) for adc.CH_VBAT, "cpu_temp"
// (thousandths of a degree, default 25000) for adc.CH_CPU, "adc<N>" (mV, default 0: nothing
// wired) for channel N.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

const CH_CPU = -1;
const CH_VBAT = -2;
const DEFAULT_VBAT_MV = 3800;
const DEFAULT_CPU_MILLI_C = 25000;
/** The 12-bit converter's full scale with the default 3.8 V range. */
const FULL_SCALE_MV = 3800;
const RAW_MAX = 4095;

function valueOf(board: Board, channel: number): number {
  const sensors = recorderOf(board);
  if (channel === CH_VBAT) return sensors.sensor("vbat") ?? DEFAULT_VBAT_MV;
  if (channel === CH_CPU) return sensors.sensor("cpu_temp") ?? DEFAULT_CPU_MILLI_C;
  return sensors.sensor(`adc${channel}`) ?? 0;
}

/** What the converter read before scaling, for adc.read's first result. */
function rawOf(channel: number, value: number): number {
  if (channel === CH_CPU) return Math.round(value / 10);
  return Math.max(0, Math.min(RAW_MAX, Math.round((value * RAW_MAX) / FULL_SCALE_MV)));
}

const open = (L: LuaState): number => {
  const board = boardOf(L);
  const channel = checkInteger(L, 1);
  recorderOf(board).record("adc", "open", [channel]);
  lua.lua_pushboolean(L, true);
  return 1;
};

/** adc.read(id) → raw, value (mV, or m°C for CH_CPU). */
const read = (L: LuaState): number => {
  const channel = checkInteger(L, 1);
  const value = Math.round(valueOf(boardOf(L), channel));
  lua.lua_pushinteger(L, rawOf(channel, value));
  lua.lua_pushinteger(L, value);
  return 2;
};

const get = (L: LuaState): number => {
  lua.lua_pushinteger(L, Math.round(valueOf(boardOf(L), checkInteger(L, 1))));
  return 1;
};

const close = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("adc", "close", [checkInteger(L, 1)]);
  return 0;
};

const setRange = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("adc", "setRange", [checkInteger(L, 1)]);
  return 0;
};

export const adc = defineModule("adc", {
  functions: { open, read, get, close, setRange },
  constants: {
    CH_CPU, CH_VBAT,
    // luat_adc.h's LUAT_ADC_RANGE_E: 3_8 is its ninth range, MAX the count of AIO ranges.
    ADC_RANGE_3_6: 1, ADC_RANGE_1_8: 0, ADC_RANGE_3_8: 8, ADC_RANGE_1_2: 0, ADC_RANGE_MAX: 14, ADC_RANGE_MIN: 0,
    T1: 16, T2: 32,
  },
});
