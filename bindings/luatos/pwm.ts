// LuatOS `pwm`: nothing is wired to the pins on a PC, so a channel is only remembered and
// recorded; every call answers as the firmware does when the driver accepts it.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, checkNumber, optInteger } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

function done(L: LuaState, ok: boolean): number {
  lua.lua_pushboolean(L, ok);
  return 1;
}

/** pwm.open/setup(channel, period, pulse[, pnum[, precision = 100]]) → true. */
const open = (L: LuaState): number => {
  const channel = checkInteger(L, 1);
  const period = checkInteger(L, 2);
  const pulse = lua.lua_isnoneornil(L, 3) ? 0 : checkNumber(L, 3);
  const pnum = lua.lua_isnumber(L, 4) ? checkInteger(L, 4) : 0;
  const precision = lua.lua_isnumber(L, 5) ? checkInteger(L, 5) : 100;
  recorderOf(boardOf(L)).record("pwm", "open", [channel, period, pulse, pnum, precision]);
  return done(L, true);
};

const close = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("pwm", "close", [checkInteger(L, 1)]);
  return 0;
};

const channelCall = (name: string) => (L: LuaState): number => {
  const args = [checkInteger(L, 1)];
  if (name === "setDuty" || name === "setFreq") args.push(checkInteger(L, 2));
  recorderOf(boardOf(L)).record("pwm", name, args);
  return done(L, true);
};

/** pwm.capture(channel, freq): there is no input signal to measure. */
const capture = (L: LuaState): number => {
  checkInteger(L, 1);
  optInteger(L, 2, 0);
  return done(L, false);
};

export const pwm = defineModule("pwm", {
  functions: { open, setup: open, close, capture, start: channelCall("start"), stop: channelCall("stop"), setDuty: channelCall("setDuty"), setFreq: channelCall("setFreq") },
});
