// NodeMCU `adc`: the ESP8266's single 10-bit channel (TOUT) and the supply voltage, read
// from the --device sensors `adc` and `vdd33`, else mid-scale and a healthy 3.3 V.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import type { Runtime } from "../../runtime/runtime.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { checkId, unsigned } from "./gpio.js";

const NUM_ADC = 1;
const DEFAULT_ADC = 512;
const DEFAULT_VDD33 = 3300;
const INIT_ADC = 0x00;
const INIT_VDD33 = 0xff;

function reading(board: Board, name: string, fallback: number, max: number): number {
  const value = recorderOf(board).sensor(name);
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(0, Math.round(value)));
}

const read = (L: LuaState): number => {
  const id = unsigned(checkInteger(L, 1));
  checkId(L, "adc", id, NUM_ADC);
  lua.lua_pushinteger(L, reading(boardOf(L), "adc", DEFAULT_ADC, 1023));
  return 1;
};

const readvdd33 = (L: LuaState): number => {
  lua.lua_pushinteger(L, reading(boardOf(L), "vdd33", DEFAULT_VDD33, 0xffff));
  return 1;
};

// The init-data byte lives in flash, so it outlives a reboot: kept per Runtime.
const initBytes = new WeakMap<Runtime, number>();

/** true when the flash byte changed (the firmware then needs a restart), false if already set. */
const forceInitMode = (L: LuaState): number => {
  const mode = checkInteger(L, 1) & 0xff;
  const runtime = boardOf(L).host.runtime;
  const changed = (initBytes.get(runtime) ?? INIT_ADC) !== mode;
  initBytes.set(runtime, mode);
  lua.lua_pushboolean(L, changed);
  return 1;
};

export const adc = defineModule("adc", {
  functions: { read, readvdd33, force_init_mode: forceInitMode },
  constants: { INIT_ADC, INIT_VDD33 },
});
