// NodeMCU `pwm`: up to six channels sharing one clock (1..1000 Hz) with duty 0..1023, as
// the ESP8266 software PWM has. Every change to an output is recorded.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { NUM_GPIO, checkId, unsigned } from "./gpio.js";

const MAX_DUTY = 1023;
const MAX_CLOCK = 1000;
const MAX_CHANNELS = 6;

interface Channel {
  duty: number;
  running: boolean;
}

interface PwmState {
  clock: number;
  channels: Map<number, Channel>;
}

const stateOf = perBoard((): PwmState => ({ clock: 0, channels: new Map() }));

function checkPin(L: LuaState): number {
  const pin = unsigned(checkInteger(L, 1));
  checkId(L, "pwm", pin, NUM_GPIO, 1);
  return pin;
}

function record(L: LuaState, call: string, args: number[]): void {
  recorderOf(boardOf(L)).record("pwm", call, args);
}

const clampClock = (clock: number): number => Math.min(MAX_CLOCK, Math.max(1, clock));

const setup = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  if (pin === 0) raise(L, "no pwm for D0");
  checkId(L, "pwm", pin, NUM_GPIO, 1);
  const clock = checkInteger(L, 2);
  if (clock <= 0) raise(L, "wrong arg range");
  const duty = unsigned(checkInteger(L, 3));
  if (duty > MAX_DUTY) raise(L, "wrong arg range");
  const state = stateOf(boardOf(L));
  if (!state.channels.has(pin) && state.channels.size >= MAX_CHANNELS) raise(L, "too many pwms.");
  // Setting up a channel does not start it: the output stays low until pwm.start.
  state.channels.set(pin, { duty, running: false });
  state.clock = clampClock(clock);
  record(L, "setup", [pin, state.clock, duty]);
  lua.lua_pushinteger(L, state.clock);
  return 1;
};

const close = (L: LuaState): number => {
  const pin = checkPin(L);
  if (stateOf(boardOf(L)).channels.delete(pin)) record(L, "close", [pin]);
  return 0;
};

const start = (L: LuaState): number => {
  const pin = checkPin(L);
  const channel = stateOf(boardOf(L)).channels.get(pin);
  if (!channel) raise(L, "Unable to start PWM output");
  channel.running = true;
  record(L, "start", [pin]);
  return 0;
};

const stop = (L: LuaState): number => {
  const pin = checkPin(L);
  const channel = stateOf(boardOf(L)).channels.get(pin);
  if (channel) {
    channel.running = false;
    record(L, "stop", [pin]);
  }
  return 0;
};

/** The clock is shared by all channels; a pin without a channel reports 0 and changes nothing. */
const setclock = (L: LuaState): number => {
  const pin = checkPin(L);
  const clock = checkInteger(L, 2);
  if (clock <= 0) raise(L, "wrong arg range");
  const state = stateOf(boardOf(L));
  if (!state.channels.has(pin)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  state.clock = clampClock(clock);
  record(L, "setclock", [pin, state.clock]);
  lua.lua_pushinteger(L, state.clock);
  return 1;
};

const getclock = (L: LuaState): number => {
  const pin = checkPin(L);
  const state = stateOf(boardOf(L));
  lua.lua_pushinteger(L, state.channels.has(pin) ? state.clock : 0);
  return 1;
};

const setduty = (L: LuaState): number => {
  const pin = checkPin(L);
  const requested = checkInteger(L, 2);
  if (requested > MAX_DUTY) raise(L, "wrong arg range");
  const channel = stateOf(boardOf(L)).channels.get(pin);
  if (!channel) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  // The firmware does not reject a negative duty; the driver ends up at 0.
  channel.duty = Math.max(0, requested);
  record(L, "setduty", [pin, channel.duty]);
  lua.lua_pushinteger(L, channel.duty);
  return 1;
};

const getduty = (L: LuaState): number => {
  const pin = checkPin(L);
  lua.lua_pushinteger(L, stateOf(boardOf(L)).channels.get(pin)?.duty ?? 0);
  return 1;
};

export const pwm = defineModule("pwm", {
  functions: { setup, close, start, stop, setclock, getclock, setduty, getduty },
});
