// NodeMCU `dht`: every read succeeds with the --device `temperature` and `humidity`
// readings (else 21.5 °C and 45.5 %), at the resolution the sensor model reports.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const OK = 0;
const ERROR_CHECKSUM = -1;
const ERROR_TIMEOUT = -2;
const DEFAULT_TEMPERATURE = 21.5;
const DEFAULT_HUMIDITY = 45.5;

/** Whole numbers go to Lua as integers, so `"T="..t` prints as a float firmware on Lua 5.1 does. */
function pushReading(L: LuaState, value: number): void {
  if (Number.isInteger(value)) lua.lua_pushinteger(L, value);
  else lua.lua_pushnumber(L, value);
}

function sensorValue(board: Board, name: string, fallback: number): number {
  const value = recorderOf(board).sensor(name);
  return value === undefined || !Number.isFinite(value) ? fallback : value;
}

/** The firmware's decimals: the fractional part in thousandths, truncated toward zero. */
const decimals = (value: number): number => Math.trunc((value - Math.trunc(value)) * 1000);

function reader(quantize: (value: number) => number) {
  return (L: LuaState): number => {
    const pin = unsigned(checkInteger(L, 1));
    checkId(L, "dht", pin, NUM_GPIO, 1);
    const board = boardOf(L);
    const temperature = quantize(sensorValue(board, "temperature", DEFAULT_TEMPERATURE));
    const humidity = quantize(Math.min(100, Math.max(0, sensorValue(board, "humidity", DEFAULT_HUMIDITY))));
    lua.lua_pushinteger(L, OK);
    pushReading(L, temperature);
    pushReading(L, humidity);
    lua.lua_pushinteger(L, decimals(temperature));
    lua.lua_pushinteger(L, decimals(humidity));
    return 5;
  };
}

// DHT11 reports whole degrees and percent; the others tenths.
const wholeUnits = (value: number): number => Math.trunc(value);
const tenths = (value: number): number => Math.round(value * 10) / 10;

export const dht = defineModule("dht", {
  functions: { read: reader(tenths), read11: reader(wholeUnits), read12: reader(tenths), readxx: reader(tenths), read2x: reader(tenths) },
  constants: { OK, ERROR_CHECKSUM, ERROR_TIMEOUT },
});
