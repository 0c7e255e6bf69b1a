// LuatOS `gpio`. gpio.setup returns a closure as the firmware does: a setter for an output
// pin, a getter for an input or interrupt pin. Outputs are recorded; inputs read what the
// --device file or the embedder's setInput presents; an interrupt pin's callback gets
// (level, pin) through the event loop when its input changes, after any debounce.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, optInteger } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf, type HardwareValue } from "../common/recorder.js";

const LOW = 0;
const HIGH = 1;
const OUTPUT = 0;
const INPUT = 1;
const IRQ = 2;
const DEFAULT_PULL = 0;
const PULLUP = 1;
const PULLDOWN = 2;
const RISING = 0;
const FALLING = 1;
const BOTH = 2;
const HIGH_IRQ = 3;
const LOW_IRQ = 4;
const MAX_PIN = 255;

interface Pin {
  mode: number;
  pull: number;
  irq: number;
  /** The output latch. */
  level: number;
  callbackRef: number | undefined;
  debounceMs: number;
  /** 0: report at once, then ignore the pin for debounceMs; 1: report once the level held that long. */
  debounceMode: number;
  lastReport: number;
  pending: NodeJS.Timeout | undefined;
}

function newPin(): Pin {
  return { mode: INPUT, pull: DEFAULT_PULL, irq: BOTH, level: LOW, callbackRef: undefined, debounceMs: 0, debounceMode: 0, lastReport: -Infinity, pending: undefined };
}

function wants(irq: number, before: number, level: number): boolean {
  switch (irq) {
    case RISING: return before === LOW && level === HIGH;
    case FALLING: return before === HIGH && level === LOW;
    case BOTH: return before !== level;
    case HIGH_IRQ: return level === HIGH;
    case LOW_IRQ: return level === LOW;
    default: return false;
  }
}

class Gpio {
  readonly pins = new Map<number, Pin>();
  defaultPull = DEFAULT_PULL;

  constructor(readonly board: Board) {
    board.own(recorderOf(board).onInput((pin, level, previous) => this.inputChanged(pin, level, previous)));
    board.own(() => {
      for (const pin of this.pins.values()) clearTimeout(pin.pending);
    });
  }

  pin(index: number): Pin {
    let pin = this.pins.get(index);
    if (!pin) {
      pin = newPin();
      this.pins.set(index, pin);
    }
    return pin;
  }

  /** An unconnected input sits at its pull level (low without a pull-up). */
  inputLevel(index: number): number {
    const pin = this.pins.get(index);
    return recorderOf(this.board).inputLevel(index) ?? (pin?.pull === PULLUP ? HIGH : LOW);
  }

  read(index: number): number {
    const pin = this.pins.get(index);
    return pin?.mode === OUTPUT ? pin.level : this.inputLevel(index);
  }

  setCallback(pin: Pin, ref: number | undefined): void {
    if (pin.callbackRef !== undefined && pin.callbackRef !== ref) this.board.unref(pin.callbackRef);
    pin.callbackRef = ref;
  }

  record(call: string, args: HardwareValue[]): void {
    recorderOf(this.board).record("gpio", call, args);
  }

  private inputChanged(index: number, level: number, previous: number | undefined): void {
    const pin = this.pins.get(index);
    if (!pin || pin.mode !== IRQ) return;
    const before = previous ?? (pin.pull === PULLUP ? HIGH : LOW);
    if (before === level || !wants(pin.irq, before, level)) return;
    if (pin.debounceMs > 0 && pin.debounceMode === 1) {
      clearTimeout(pin.pending);
      pin.pending = setTimeout(() => {
        pin.pending = undefined;
        if (this.inputLevel(index) === level) this.report(index, level);
      }, pin.debounceMs);
      return;
    }
    const now = performance.now();
    if (pin.debounceMs > 0 && now - pin.lastReport < pin.debounceMs) return;
    pin.lastReport = now;
    this.report(index, level);
  }

  /** The callback runs later from the loop and is looked up then: a close meanwhile cancels it. */
  private report(index: number, level: number): void {
    this.board.post(() => {
      const pin = this.pins.get(index);
      if (!pin || pin.mode !== IRQ || pin.callbackRef === undefined) return;
      this.board.callRef(pin.callbackRef, (L) => {
        lua.lua_pushinteger(L, level);
        lua.lua_pushinteger(L, index);
        return 2;
      });
    });
  }
}

const gpioOf = perBoard((board): Gpio => new Gpio(board));

/** A level argument: 0/1 (any non-zero is high) or a boolean. */
function levelArg(L: LuaState, arg: number): number {
  if (lua.lua_type(L, arg) === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, arg) ? HIGH : LOW;
  return checkInteger(L, arg) === 0 ? LOW : HIGH;
}

function write(gpio: Gpio, index: number, level: number, call: string): void {
  const pin = gpio.pins.get(index);
  if (pin?.mode === OUTPUT) pin.level = level;
  gpio.record(call, [index, level]);
}

/** gpio.setup(pin, mode[, pull[, irq[, alt]]]): mode 0/1 output, nil input, a function interrupt. */
const setup = (L: LuaState): number => {
  const board = boardOf(L);
  const gpio = gpioOf(board);
  const index = checkInteger(L, 1);
  if (index < 0 || index > MAX_PIN) return 0;
  const pin = gpio.pin(index);
  clearTimeout(pin.pending);
  pin.pull = optInteger(L, 3, gpio.defaultPull);
  if (lua.lua_type(L, 2) === lua.LUA_TFUNCTION) {
    pin.mode = IRQ;
    pin.irq = optInteger(L, 4, BOTH);
    gpio.setCallback(pin, boardOf(L).ref(L, 2));
    gpio.record("setup", [index, IRQ, pin.pull, pin.irq]);
  } else if (lua.lua_isinteger(L, 2)) {
    pin.mode = OUTPUT;
    gpio.setCallback(pin, undefined);
    pin.level = lua.lua_tointeger(L, 2) === 0 ? LOW : HIGH;
    gpio.record("setup", [index, OUTPUT, pin.pull, pin.level]);
  } else {
    pin.mode = INPUT;
    gpio.setCallback(pin, undefined);
    gpio.record("setup", [index, INPUT, pin.pull, null]);
  }
  if (pin.mode === OUTPUT) {
    lua.lua_pushjsfunction(L, (L1) => {
      write(gpioOf(boardOf(L1)), index, levelArg(L1, 1), "set");
      return 0;
    });
  } else {
    lua.lua_pushjsfunction(L, (L1) => {
      lua.lua_pushinteger(L1, gpioOf(boardOf(L1)).read(index));
      return 1;
    });
  }
  return 1;
};

/** gpio.set and gpio.get for other modules that drive pins (statem). */
export function writePin(board: Board, index: number, level: number): void {
  write(gpioOf(board), index, level === 0 ? LOW : HIGH, "set");
}

export function readPin(board: Board, index: number): number {
  return gpioOf(board).read(index);
}

const set = (L: LuaState): number => {
  const index = checkInteger(L, 1);
  write(gpioOf(boardOf(L)), index, levelArg(L, 2), "set");
  return 0;
};

const get = (L: LuaState): number => {
  lua.lua_pushinteger(L, gpioOf(boardOf(L)).read(checkInteger(L, 1)));
  return 1;
};

const close = (L: LuaState): number => {
  const gpio = gpioOf(boardOf(L));
  const index = checkInteger(L, 1);
  const pin = gpio.pins.get(index);
  if (pin) {
    clearTimeout(pin.pending);
    gpio.setCallback(pin, undefined);
    gpio.pins.delete(index);
  }
  gpio.record("close", [index]);
  return 0;
};

/** gpio.toggle(pin): output pins only. */
const toggle = (L: LuaState): number => {
  const gpio = gpioOf(boardOf(L));
  const index = checkInteger(L, 1);
  const pin = gpio.pins.get(index);
  if (pin?.mode !== OUTPUT) return 0;
  write(gpio, index, pin.level === HIGH ? LOW : HIGH, "toggle");
  return 0;
};

/** gpio.pulse(pin, bits, len, delay): the waveform is recorded; the pin ends on the last bit. */
const pulse = (L: LuaState): number => {
  const gpio = gpioOf(boardOf(L));
  const index = checkInteger(L, 1);
  const length = checkInteger(L, 3);
  const delay = optInteger(L, 4, 0);
  let bits: number[];
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    const bytes = lua.lua_tolstring(L, 2) as Uint8Array;
    bits = Array.from({ length }, (_, i) => (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1));
  } else {
    const value = checkInteger(L, 2);
    bits = Array.from({ length }, (_, i) => (value >> (length - 1 - i)) & 1);
  }
  const pin = gpio.pins.get(index);
  if (pin?.mode === OUTPUT && bits.length > 0) pin.level = bits[bits.length - 1] as number;
  gpio.record("pulse", [index, bits.join(""), length, delay]);
  return 0;
};

const debounce = (L: LuaState): number => {
  const gpio = gpioOf(boardOf(L));
  const pin = gpio.pin(checkInteger(L, 1));
  pin.debounceMs = Math.max(0, Math.min(65535, checkInteger(L, 2)));
  pin.debounceMode = optInteger(L, 3, 0) === 1 ? 1 : 0;
  return 0;
};

const setDefaultPull = (L: LuaState): number => {
  const gpio = gpioOf(boardOf(L));
  const value = checkInteger(L, 1);
  const valid = value >= DEFAULT_PULL && value <= PULLDOWN;
  if (valid) gpio.defaultPull = value;
  lua.lua_pushboolean(L, valid);
  return 1;
};

export const gpio = defineModule("gpio", {
  functions: { setup, set, get, close, toggle, pulse, debounce, setDefaultPull },
  constants: { LOW, HIGH, OUTPUT, INPUT, IRQ, PULLUP, PULLDOWN, RISING, FALLING, BOTH, HIGH_IRQ, LOW_IRQ },
  setup: (_L, board) => {
    gpioOf(board);
  },
});
