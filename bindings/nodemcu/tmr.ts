// NodeMCU `tmr`: timer objects (tmr.create) and the legacy static timers 0..6 that old
// scripts address by number. A registered timer keeps a reference to itself, so an
// ALARM_AUTO timer nobody holds on to keeps firing, as on the device.
import { lua, pushUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const ALARM_SINGLE = 0;
const ALARM_AUTO = 1;
const ALARM_SEMI = 2;
const MAX_INTERVAL = 6870947;
const STATIC_TIMERS = 7;
const METATABLE = "tmr.timer";

class Timer {
  interval = 0;
  mode = ALARM_SINGLE;
  callbackRef: number | undefined;
  selfRef: number | undefined;
  running = false;
  private handle: NodeJS.Timeout | undefined;
  private release: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(readonly board: Board) {}

  register(L: LuaState, interval: number, mode: number, fnIndex: number, selfIndex: number): void {
    this.stop();
    this.unrefCallback();
    this.interval = interval;
    this.mode = mode;
    this.callbackRef = this.board.ref(L, fnIndex);
    if (this.selfRef === undefined) this.selfRef = this.board.ref(L, selfIndex);
  }

  start(): boolean {
    if (this.callbackRef === undefined) return false;
    if (this.running) return true;
    this.running = true;
    this.release = this.board.hold();
    this.forget = this.board.own(() => this.clearHandle());
    const fire = () => this.board.post(() => this.fire());
    this.handle = this.mode === ALARM_AUTO ? setInterval(fire, this.interval) : setTimeout(fire, this.interval);
    return true;
  }

  stop(): boolean {
    if (!this.running) return false;
    this.running = false;
    this.clearHandle();
    this.forget?.();
    this.release?.();
    return true;
  }

  unregister(): void {
    this.stop();
    this.unrefCallback();
    if (this.selfRef !== undefined) this.board.unref(this.selfRef);
    this.selfRef = undefined;
  }

  setInterval(interval: number): void {
    this.interval = interval;
    if (this.running) {
      this.stop();
      this.start();
    }
  }

  private fire(): void {
    if (this.callbackRef === undefined) return;
    if (this.mode !== ALARM_AUTO) this.stop();
    const callbackRef = this.callbackRef;
    const selfRef = this.selfRef;
    if (this.mode === ALARM_SINGLE) {
      // A single-shot timer is unregistered before its callback runs, so the callback
      // may register it again.
      this.callbackRef = undefined;
      this.selfRef = undefined;
    }
    this.board.callRef(callbackRef, (L) => {
      if (selfRef !== undefined) this.board.pushRef(L, selfRef);
      else lua.lua_pushnil(L);
      return 1;
    });
    if (this.mode === ALARM_SINGLE) {
      if (this.callbackRef !== callbackRef) this.board.unref(callbackRef);
      if (selfRef !== undefined && this.selfRef !== selfRef) this.board.unref(selfRef);
    }
  }

  private clearHandle(): void {
    clearTimeout(this.handle);
    clearInterval(this.handle);
    this.handle = undefined;
  }

  private unrefCallback(): void {
    if (this.callbackRef !== undefined) this.board.unref(this.callbackRef);
    this.callbackRef = undefined;
  }
}

const staticTimers = new WeakMap<Board, Timer[]>();

/** The timer argument 1 names: a timer object, or a static timer id 0..6. */
function timerArg(L: LuaState): Timer {
  const object = testUserdata<Timer>(L, 1, METATABLE);
  if (object) return object;
  if (lua.lua_type(L, 1) !== lua.LUA_TNUMBER) return typeError(L, 1, "timer object");
  const id = checkInteger(L, 1);
  if (id < 0 || id >= STATIC_TIMERS) argError(L, 1, "invalid timer index");
  const board = boardOf(L);
  let timers = staticTimers.get(board);
  if (!timers) {
    timers = Array.from({ length: STATIC_TIMERS }, () => new Timer(board));
    staticTimers.set(board, timers);
  }
  return timers[id] as Timer;
}

function checkRegistration(L: LuaState): [number, number] {
  const interval = checkInteger(L, 2);
  const mode = checkInteger(L, 3);
  if (interval <= 0 || interval > MAX_INTERVAL) argError(L, 2, `Range: 1-${MAX_INTERVAL}`);
  if (mode !== ALARM_SINGLE && mode !== ALARM_AUTO && mode !== ALARM_SEMI) argError(L, 3, "Invalid mode");
  if (lua.lua_type(L, 4) !== lua.LUA_TFUNCTION) argError(L, 4, "Must be function");
  return [interval, mode];
}

const create = (L: LuaState): number => {
  pushUserdata(L, new Timer(boardOf(L)), METATABLE);
  return 1;
};

const register = (L: LuaState): number => {
  const timer = timerArg(L);
  const [interval, mode] = checkRegistration(L);
  timer.register(L, interval, mode, 4, 1);
  return 0;
};

const alarm = (L: LuaState): number => {
  const timer = timerArg(L);
  const [interval, mode] = checkRegistration(L);
  timer.register(L, interval, mode, 4, 1);
  lua.lua_pushboolean(L, timer.start());
  return 1;
};

const start = (L: LuaState): number => {
  const timer = timerArg(L);
  lua.lua_pushboolean(L, timer.start());
  return 1;
};

const stop = (L: LuaState): number => {
  lua.lua_pushboolean(L, timerArg(L).stop());
  return 1;
};

const unregister = (L: LuaState): number => {
  timerArg(L).unregister();
  return 0;
};

const interval = (L: LuaState): number => {
  const timer = timerArg(L);
  const ms = checkInteger(L, 2);
  if (ms <= 0 || ms > MAX_INTERVAL) argError(L, 2, `Range: 1-${MAX_INTERVAL}`);
  timer.setInterval(ms);
  return 0;
};

const state = (L: LuaState): number => {
  const timer = timerArg(L);
  if (timer.callbackRef === undefined) return 0;
  lua.lua_pushboolean(L, timer.running);
  lua.lua_pushinteger(L, timer.mode);
  return 2;
};

function sinceBootMicros(L: LuaState): bigint {
  return boardOf(L).microsSinceBoot();
}

/** Microseconds since boot, wrapping at 31 bits like the ESP8266 system timer. */
const now = (L: LuaState): number => {
  lua.lua_pushinteger(L, Number(sinceBootMicros(L) & 0x7fffffffn));
  return 1;
};

const time = (L: LuaState): number => {
  lua.lua_pushinteger(L, Number(sinceBootMicros(L) / 1000000n));
  return 1;
};

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Busy-waits like the firmware: nothing else runs meanwhile. */
const delay = (L: LuaState): number => {
  const us = checkInteger(L, 1);
  if (us < 0) raise(L, "delay must be non-negative");
  Atomics.wait(sleeper, 0, 0, us / 1000);
  return 0;
};

const nothing = (): number => 0;

const timerToString = (L: LuaState): number => {
  lua.lua_pushstring(L, `timer: 0x${(lua.lua_topointer(L, 1) as { id?: number }).id?.toString(16).padStart(8, "0") ?? "0"}`);
  return 1;
};

const timerMethods = { alarm, register, start, stop, unregister, interval, state };

export const tmr = defineModule("tmr", {
  functions: { create, now, time, delay, wdclr: nothing, softwd: nothing, ...timerMethods },
  constants: { ALARM_SINGLE, ALARM_AUTO, ALARM_SEMI },
  metatables: { [METATABLE]: { methods: timerMethods, meta: { __tostring: timerToString } } },
});
