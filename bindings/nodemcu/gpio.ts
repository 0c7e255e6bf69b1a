// NodeMCU `gpio` (ESP8266 pin indexes 0..12). Outputs are recorded; inputs read what the
// --device file or the embedder's setInput presents; gpio.trig callbacks fire through the
// event loop when an input changes.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, checkOption, raise } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { microsSinceBoot, recorderOf } from "../common/recorder.js";

export const NUM_GPIO = 13;

const INPUT = 0;
const OUTPUT = 1;
const INT = 2;
const OPENDRAIN = 3;
const FLOAT = 0;
const PULLUP = 1;
const LOW = 0;
const HIGH = 1;

const TRIGGERS = ["none", "up", "down", "both", "low", "high"] as const;
type Trigger = (typeof TRIGGERS)[number];

/** The firmware reads pin and id arguments as C `unsigned`, so -1 names pin 4294967295. */
export function unsigned(n: number): number {
  return n >>> 0;
}

/**
 * The firmware's MOD_CHECK_ID: a plain error (not an argument error) naming the module.
 * `lowest` is 1 for the modules that cannot use D0 (pwm, ow, dht).
 */
export function checkId(L: LuaState, module: string, id: number, count: number, lowest = 0): void {
  if (id < lowest || id >= count) raise(L, `${module} ${id} does not exist`);
}

interface Pin {
  mode: number;
  pullup: boolean;
  /** The output latch: what the pin drives in OUTPUT/OPENDRAIN mode. */
  out: number;
  trigger: Trigger;
  callbackRef: number | undefined;
}

class Gpio {
  readonly pins: Pin[] = Array.from({ length: NUM_GPIO }, () => ({ mode: INPUT, pullup: false, out: LOW, trigger: "none" as Trigger, callbackRef: undefined }));
  seroutRef: number | undefined;

  constructor(readonly board: Board) {
    microsSinceBoot(board);
    const stop = recorderOf(board).onInput((pin, level, previous) => this.inputChanged(pin, level, previous));
    board.own(stop);
  }

  /** An unconnected input floats low, unless the weak pull-up holds it high. */
  inputLevel(index: number): number {
    const pin = this.pins[index] as Pin;
    return recorderOf(this.board).inputLevel(index) ?? (pin.pullup ? HIGH : LOW);
  }

  read(index: number): number {
    const pin = this.pins[index] as Pin;
    return pin.mode === OUTPUT || pin.mode === OPENDRAIN ? pin.out : this.inputLevel(index);
  }

  setCallback(index: number, ref: number | undefined): void {
    const pin = this.pins[index] as Pin;
    if (pin.callbackRef !== undefined && pin.callbackRef !== ref) this.board.unref(pin.callbackRef);
    pin.callbackRef = ref;
  }

  private inputChanged(index: number, level: number, previous: number | undefined): void {
    const pin = this.pins[index];
    if (!pin) return;
    const before = previous ?? (pin.pullup ? HIGH : LOW);
    if (before === level) return;
    if (wants(pin.trigger, before, level)) this.interrupt(index, level);
  }

  /**
   * Queues the callback; it runs later from the loop and looks the callback up then, so a
   * trig("none") or a new mode in between cancels it, as clearing the pin would on the chip.
   * A level trigger fires once per entry into the level rather than in an endless storm.
   */
  interrupt(index: number, level: number): void {
    const when = microsSinceBoot(this.board);
    this.board.post(() => {
      const pin = this.pins[index] as Pin;
      if (pin.mode !== INT || pin.callbackRef === undefined) return;
      this.board.callRef(pin.callbackRef, (L) => {
        lua.lua_pushinteger(L, level);
        lua.lua_pushinteger(L, when);
        lua.lua_pushinteger(L, 1);
        return 3;
      });
    });
  }
}

function wants(trigger: Trigger, before: number, level: number): boolean {
  switch (trigger) {
    case "up": return before === LOW && level === HIGH;
    case "down": return before === HIGH && level === LOW;
    case "both": return true;
    case "low": return level === LOW;
    case "high": return level === HIGH;
    default: return false;
  }
}

const gpioOf = perBoard((board): Gpio => new Gpio(board));

function record(L: LuaState, call: string, args: number[]): void {
  recorderOf(boardOf(L)).record("gpio", call, args);
}

const mode = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  const m = unsigned(checkInteger(L, 2));
  const pull = unsigned(lua.lua_isnoneornil(L, 3) ? FLOAT : checkInteger(L, 3));
  if (pin >= NUM_GPIO || (m === INT && pin === 0)) argError(L, 1, "Invalid pin");
  if (m !== OUTPUT && m !== OPENDRAIN && m !== INPUT && m !== INT) argError(L, 2, "wrong arg type");
  const gpio = gpioOf(boardOf(L));
  const state = gpio.pins[pin] as Pin;
  // Leaving interrupt mode drops the pin's trig callback, as the firmware does.
  if (m !== INT) gpio.setCallback(pin, undefined);
  state.mode = m;
  state.pullup = pull !== FLOAT;
  record(L, "mode", [pin, m, state.pullup ? PULLUP : FLOAT]);
  return 0;
};

const read = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  checkId(L, "gpio", pin, NUM_GPIO);
  lua.lua_pushinteger(L, gpioOf(boardOf(L)).read(pin));
  return 1;
};

const write = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  const level = unsigned(checkInteger(L, 2));
  checkId(L, "gpio", pin, NUM_GPIO);
  if (level !== HIGH && level !== LOW) argError(L, 2, "wrong level type");
  (gpioOf(boardOf(L)).pins[pin] as Pin).out = level;
  record(L, "write", [pin, level]);
  return 0;
};

const trig = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  if (pin === 0 || pin >= NUM_GPIO) argError(L, 1, "Invalid interrupt pin");
  const board = boardOf(L);
  const gpio = gpioOf(board);
  const state = gpio.pins[pin] as Pin;
  const trigger = checkOption(L, 2, TRIGGERS, "none");
  if (trigger === "none") {
    gpio.setCallback(pin, undefined);
  } else if (lua.lua_gettop(L) === 2 && state.callbackRef !== undefined) {
    // trig(pin, type) keeps the callback already registered and changes only the type.
  } else if (lua.lua_type(L, 3) === lua.LUA_TFUNCTION) {
    gpio.setCallback(pin, board.ref(L, 3));
  } else {
    gpio.setCallback(pin, undefined);
    argError(L, 3, "invalid callback type");
  }
  state.trigger = trigger;
  // A level interrupt armed while the pin already sits at that level fires at once.
  if ((trigger === "low" || trigger === "high") && state.mode === INT) {
    const level = gpio.inputLevel(pin);
    if (wants(trigger, level === HIGH ? LOW : HIGH, level)) gpio.interrupt(pin, level);
  }
  return 0;
};

const MAX_DELAYS = 256;

/**
 * Toggles the pin through the delay table. Without a callback the firmware busy-waits, so
 * this records the waveform and returns; with one, the callback runs after the waveform's
 * duration.
 */
const serout = (L: LuaState): number => {
  const pin = unsigned(checkInteger(L, 1));
  const startLevel = unsigned(checkInteger(L, 2));
  const repeats = Math.max(1, lua.lua_isnoneornil(L, 4) ? 1 : checkInteger(L, 4));
  const asynchronous = !lua.lua_isnoneornil(L, 5);
  if (pin >= NUM_GPIO) argError(L, 1, "Invalid pin");
  if (startLevel !== HIGH && startLevel !== LOW) argError(L, 2, "Wrong level type");
  if (lua.lua_type(L, 3) !== lua.LUA_TTABLE || lua.lua_rawlen(L, 3) >= MAX_DELAYS) argError(L, 3, "Invalid delay_times");
  const delays: number[] = [];
  const count = lua.lua_rawlen(L, 3);
  for (let i = 1; i <= count; i++) {
    lua.lua_rawgeti(L, 3, i);
    delays.push(unsigned(checkInteger(L, -1)));
    lua.lua_pop(L, 1);
  }
  const board = boardOf(L);
  const gpio = gpioOf(board);
  const toggles = delays.length * repeats;
  if (toggles > 0) (gpio.pins[pin] as Pin).out = (toggles - 1) % 2 === 0 ? startLevel : 1 - startLevel;
  record(L, "serout", [pin, startLevel, repeats, ...delays]);
  if (asynchronous) {
    if (gpio.seroutRef !== undefined) board.unref(gpio.seroutRef);
    gpio.seroutRef = lua.lua_type(L, 5) === lua.LUA_TNUMBER ? undefined : board.ref(L, 5);
    const ref = gpio.seroutRef;
    const micros = delays.reduce((sum, d) => sum + d, 0) * repeats;
    const release = board.hold();
    const handle = setTimeout(() => {
      forget();
      board.post(() => {
        if (ref === undefined || gpio.seroutRef !== ref) return;
        gpio.seroutRef = undefined;
        board.callRef(ref);
        board.unref(ref);
      });
      release();
    }, Math.ceil(micros / 1000));
    const forget = board.own(() => clearTimeout(handle));
  }
  return 0;
};

export const gpio = defineModule("gpio", {
  functions: { mode, read, write, trig, serout },
  constants: { OUTPUT, OPENDRAIN, INPUT, INT, HIGH, LOW, FLOAT, PULLUP },
  setup: (_L, board) => {
    gpioOf(board);
  },
});
