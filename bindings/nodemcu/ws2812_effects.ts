// NodeMCU `ws2812_effects` (app/modules/ws2812_effects.c): animations drawn into one
// pixbuf and sent with ws2812's driver on a one-shot timer that re-arms itself after each
// frame, through the event loop. The arithmetic is the firmware's, quirks included: colour
// bytes in g,r,b order, brightness as `x * brightness / 255`, uint8 and uint16 wrap-around.
import { lua, bytesOf, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, checkOption, optInteger } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { checkPixbuf, shiftPixels, SHIFT_CIRCULAR, type Pixbuf, type ShiftParams } from "./pixbuf.js";
import { writeStrip } from "./ws2812.js";
import { colorWheel, grb2hsv, hsv2grb } from "./color_utils.js";

const SPEED_DEFAULT = 150;
const DELAY_DEFAULT = 100;
const BRIGHTNESS_DEFAULT = 100;
const FULL = 255;
const PARAM_INVALID = -10000;
const NOT_INITIALIZED = "please call init() first";

/** In the firmware's enum order: set_mode's option names. */
const MODES = [
  "static", "blink", "gradient", "gradient_rgb", "random_color", "rainbow", "rainbow_cycle", "flicker", "fire",
  "fire_soft", "fire_intense", "halloween", "circus_combustus", "larson_scanner", "cycle", "color_wipe", "random_dot",
] as const;
type Mode = (typeof MODES)[number];

/** newlib's rand(): 0..2^31-1. */
const rand = (): number => Math.floor(Math.random() * 0x80000000);

// ---- the effects ----

class Effects {
  mode: Mode = "static";
  modeDelay = DELAY_DEFAULT;
  callCount = 0;
  step = 0;
  colorIndex = 0;
  speed = SPEED_DEFAULT;
  brightness = BRIGHTNESS_DEFAULT;
  running = false;
  /** g, r, b, w */
  color = [0, 0, 0, 0];
  param = 0;
  shift: ShiftParams = { type: SHIFT_CIRCULAR, offset: 0, window: 0, shift: 0 };
  private handle: NodeJS.Timeout | undefined;
  private release: (() => void) | undefined;

  constructor(readonly board: Board, readonly buffer: Pixbuf) {}

  private scale(value: number): number {
    return Math.trunc((value * this.brightness) / FULL);
  }

  private get values(): Uint8Array {
    return this.buffer.values;
  }

  /** Writes g,r,b (and w on four channels) per pixel, extra channels zero when `pad`. */
  private fillPixels(pixel: (index: number) => number[], pad: boolean): void {
    let p = 0;
    for (let i = 0; i < this.buffer.npix; i++) {
      for (const value of pixel(i)) this.values[p++] = value;
      if (pad) for (let c = 3; c < this.buffer.nchan; c++) this.values[p++] = 0;
    }
  }

  fillBuffer(g: number, r: number, b: number, w: number): void {
    const color = [this.scale(g), this.scale(r), this.scale(b)];
    if (this.buffer.nchan === 4) color.push(this.scale(w));
    this.fillPixels(() => color, false);
  }

  fillColor(): void {
    const [g, r, b, w] = this.color as [number, number, number, number];
    this.fillBuffer(g, r, b, w);
  }

  blink(): void {
    if (this.callCount % 2 === 1) this.fillColor();
    else this.values.fill(0);
  }

  gradient(spec: Uint8Array, rgb: boolean): void {
    const nchan = this.buffer.nchan;
    const segments = Math.trunc(spec.length / nchan) - 1;
    const segmentSize = Math.trunc(this.buffer.npix / segments);
    let p = 0;
    for (let k = 0; k < segments; k++) {
      const [g1, r1, b1] = spec.subarray(k * nchan, k * nchan + 3) as unknown as [number, number, number];
      const [g2, r2, b2] = spec.subarray((k + 1) * nchan, (k + 1) * nchan + 3) as unknown as [number, number, number];
      const count = k === segments - 1 ? this.buffer.npix - segmentSize * (segments - 1) : segmentSize;
      // One pixel has no steps: the firmware divides by zero there; it gets the first colour.
      const steps = count - 1 || 1;
      const hsv1 = grb2hsv(g1, r1, b1);
      const h1 = hsv1 >>> 16;
      const h2 = grb2hsv(g2, r2, b2) >>> 16;
      // The firmware takes the second colour's saturation and value from the first's.
      const s1 = (hsv1 >> 8) & 0xff;
      const v1 = hsv1 & 0xff;
      const ccw = h1 > h2 ? h1 - h2 : 360 + h1 - h2;
      const cw = h1 > h2 ? 360 + h2 - h1 : h2 - h1;
      for (let i = 0; i < count; i++) {
        let grb: number[];
        if (rgb) {
          grb = [g1 + Math.trunc(((g2 - g1) * i) / steps), r1 + Math.trunc(((r2 - r1) * i) / steps), b1 + Math.trunc(((b2 - b1) * i) / steps)];
        } else {
          let h = ccw > cw ? h1 + (Math.trunc((cw * i) / steps) % 360) : h1 - Math.trunc((ccw * i) / steps);
          if (h < 0) h += 360;
          if (h > 359) h -= 360;
          const color = hsv2grb(h & 0xffff, s1, v1);
          grb = [color >>> 16, (color >> 8) & 0xff, color & 0xff];
        }
        for (const value of grb) this.values[p++] = this.scale(value);
        for (let c = 3; c < nchan; c++) this.values[p++] = 0;
      }
    }
  }

  /** A new wheel index at least 42 from the last, in the firmware's uint8 arithmetic. */
  private randomWheelIndex(pos: number): number {
    let r = 0;
    let distance = 0;
    while (distance < 42) {
      r = (rand() % 360) & 0xff;
      // The firmware's abs() macro negates only `pos` of `pos - r`.
      const x = (pos - r > 0 ? pos - r : -pos - r) & 0xff;
      const y = (360 - x) & 0xff;
      distance = Math.min(x, y);
    }
    return r;
  }

  /** color_wheel gives g,r,b but these effects read it as r,g,b: red and green swap. */
  private wheelPixel(index: number): number[] {
    const color = colorWheel(index);
    const r = this.scale(color >>> 16);
    const g = this.scale((color >> 8) & 0xff);
    const b = this.scale(color & 0xff);
    return [g, r, b];
  }

  randomColor(): void {
    this.colorIndex = this.randomWheelIndex(this.colorIndex);
    const pixel = this.wheelPixel(this.colorIndex);
    this.fillPixels(() => pixel, true);
  }

  rainbow(): void {
    const pixel = this.wheelPixel(this.step);
    this.fillPixels(() => pixel, true);
    this.step = (this.step + 1) % 360;
  }

  rainbowCycle(repeat: number): void {
    const npix = this.buffer.npix;
    this.fillPixels((i) => this.wheelPixel(Math.imul(Math.trunc((i * 360) / npix), repeat) % 360), true);
  }

  flicker(max: number): void {
    const [g, r, b] = this.color as [number, number, number];
    const limit = (max & 0xff) || 1;
    this.fillPixels(() => {
      const flicker = rand() % limit;
      return [Math.max(g - flicker, 0), Math.max(r - flicker, 0), Math.max(b - flicker, 0)].map((value) => this.scale(value));
    }, true);
  }

  halloween(): void {
    const first = [this.scale(50), this.scale(255), 0];
    const second = [0, this.scale(255), this.scale(130)];
    this.fillPixels((i) => (i % 4 < 2 ? first : second), true);
  }

  circusCombustus(): void {
    const red = [0, this.scale(255), 0];
    const white = [this.scale(255), this.scale(255), this.scale(255)];
    this.fillPixels((i) => (i % 6 < 2 ? red : i % 6 < 4 ? white : [0, 0, 0]), true);
  }

  /** Steps through 2*npix-2 positions; a one-pixel strip stays at 0 (the firmware divides by zero). */
  private advanceBounce(): void {
    const period = this.buffer.npix * 2 - 2;
    this.step = period > 0 ? (this.step + 1) % period : 0;
  }

  larsonScanner(): void {
    for (let i = 0; i < this.values.length; i++) this.values[i] = (this.values[i] as number) >> 2;
    const npix = this.buffer.npix;
    const pos = (((this.step < npix ? this.step : npix * 2 - this.step - 2) & 0xffff) * this.buffer.nchan) & 0xffff;
    this.values[pos + 1] = this.color[1] as number;
    this.values[pos] = this.color[0] as number;
    this.values[pos + 2] = this.color[2] as number;
    this.advanceBounce();
  }

  colorWipe(): void {
    const npix = this.buffer.npix;
    const index = (this.step % npix) * this.buffer.nchan;
    const wiping = this.step < npix;
    for (let c = 0; c < 3; c++) this.values[index + c] = wiping ? this.scale(this.color[c] as number) : 0;
    this.step = (this.step + 1) % (npix * 2);
  }

  randomDot(dots: number): void {
    for (let i = 0; i < this.values.length; i++) this.values[i] = (this.values[i] as number) >> 1;
    const channels = this.buffer.nchan === 4 ? 4 : 3;
    for (let i = 0; i < (dots & 0xff); i++) {
      const offset = (rand() % this.buffer.npix) * this.buffer.nchan;
      for (let c = 0; c < channels; c++) this.values[offset + c] = this.color[c] as number;
    }
    this.advanceBounce();
  }

  prepareShift(amount: number): void {
    this.shift = { type: SHIFT_CIRCULAR, offset: 0, window: this.values.length, shift: Math.imul(amount, this.buffer.nchan) };
  }

  private doShift(): void {
    shiftPixels(this.buffer, this.shift);
    writeStrip(this.board, this.values);
  }

  private nextDelay(): number {
    if (this.speed === 0 && this.modeDelay > 0) return this.modeDelay;
    const slowness = FULL - this.speed;
    switch (this.mode) {
      case "flicker":
      case "fire":
      case "fire_soft":
      case "fire_intense":
        return 30 + (rand() % 100) + Math.trunc((200 * slowness) / FULL);
      case "static":
      case "gradient":
      case "gradient_rgb":
        return 10;
      default:
        return 10 + Math.trunc((1000 * slowness) / FULL);
    }
  }

  /** One frame: the effect's step, then the strip written and the timer re-armed. */
  private frame(): void {
    switch (this.mode) {
      case "blink": this.blink(); break;
      case "rainbow": this.rainbow(); break;
      case "rainbow_cycle":
      case "halloween":
      case "circus_combustus":
      case "cycle":
        this.doShift();
        break;
      case "flicker": {
        const value = this.param !== PARAM_INVALID ? this.param : 100;
        this.flicker(value === 0 ? 50 : value);
        this.step = (this.step + 1) % 256;
        break;
      }
      case "fire":
      case "fire_soft":
      case "fire_intense":
        this.flicker({ fire: 110, fire_soft: 70, fire_intense: 170 }[this.mode]);
        this.step = (this.step + 1) % 256;
        break;
      case "random_color": this.randomColor(); break;
      case "larson_scanner": this.larsonScanner(); break;
      case "color_wipe": this.colorWipe(); break;
      case "random_dot": this.randomDot(this.param !== PARAM_INVALID ? this.param : 1); break;
      default: break;
    }
    this.modeDelay = this.nextDelay();
    this.callCount = (this.callCount + 1) % 0xffffffff;
    writeStrip(this.board, this.values);
    if (this.running && this.modeDelay >= 10) this.arm(this.modeDelay);
  }

  arm(delay: number): void {
    this.disarm();
    this.release ??= this.board.hold();
    this.handle = setTimeout(() => {
      this.handle = undefined;
      this.board.post(() => this.frame());
    }, delay);
  }

  disarm(): void {
    clearTimeout(this.handle);
    this.handle = undefined;
  }

  /** Stops for good: no frame pending and the script no longer kept alive. */
  halt(): void {
    this.running = false;
    this.disarm();
    this.release?.();
    this.release = undefined;
  }
}

const effectsOf = perBoard((board: Board) => {
  const slot: { current: Effects | undefined } = { current: undefined };
  board.own(() => slot.current?.halt());
  return slot;
});

function stateOf(L: LuaState): Effects | undefined {
  return effectsOf(boardOf(L)).current;
}

function initialized(L: LuaState): Effects {
  return stateOf(L) ?? argError(L, 1, NOT_INITIALIZED);
}

const init = (L: LuaState): number => {
  const board = boardOf(L);
  board.write(bytesOf("Warning, deprecated API! ws2812_effects. It will be removed soon; please see https://github.com/nodemcu/nodemcu-firmware/issues/3122. See documentation for details.\n"));
  const buffer = checkPixbuf(L, 1);
  const slot = effectsOf(board);
  slot.current?.halt();
  slot.current = new Effects(board, buffer);
  return 0;
};

const set_color = (L: LuaState): number => {
  const state = initialized(L);
  const color = [checkInteger(L, 1), checkInteger(L, 2), checkInteger(L, 3), optInteger(L, 4, 0)];
  state.color = color.map((value) => value & 0xff);
  return 0;
};

const get_speed = (L: LuaState): number => {
  lua.lua_pushinteger(L, initialized(L).speed);
  return 1;
};

const set_speed = (L: LuaState): number => {
  const speed = checkInteger(L, 1);
  const state = initialized(L);
  if (speed < 0 || speed > FULL) argError(L, 1, "should be 0-255");
  state.speed = speed;
  state.modeDelay = 10;
  return 0;
};

const get_delay = (L: LuaState): number => {
  lua.lua_pushinteger(L, initialized(L).modeDelay);
  return 1;
};

/** Returns its argument: the firmware's function says `return 1` with the delay on the stack. */
const set_delay = (L: LuaState): number => {
  const state = initialized(L);
  const delay = checkInteger(L, 1);
  if (delay < 10) argError(L, 1, "must be equal / larger than 10");
  state.modeDelay = delay;
  state.speed = 0;
  return 1;
};

const set_brightness = (L: LuaState): number => {
  const brightness = checkInteger(L, 1);
  const state = initialized(L);
  if (brightness < 0 || brightness > FULL) argError(L, 1, "should be 0-255");
  state.brightness = brightness;
  return 0;
};

function gradientSpec(L: LuaState, state: Effects): Uint8Array {
  if (lua.lua_type(L, 2) !== lua.LUA_TSTRING) argError(L, 2, "string expected");
  const spec = lua.lua_tolstring(L, 2) as Uint8Array;
  const nchan = state.buffer.nchan;
  if (spec.length / nchan < 2 || spec.length % nchan !== 0) argError(L, 2, "must be at least two colors and same size as buffer colors");
  return spec;
}

const set_mode = (L: LuaState): number => {
  const state = initialized(L);
  const mode = checkOption(L, 1, MODES);
  state.mode = mode;
  const param = lua.lua_type(L, 2) === lua.LUA_TNUMBER ? checkInteger(L, 2) : PARAM_INVALID;
  state.step = 0;
  switch (mode) {
    case "static":
      state.fillColor();
      state.modeDelay = 250;
      break;
    case "blink": state.blink(); break;
    case "gradient":
    case "gradient_rgb":
      state.gradient(gradientSpec(L, state), mode === "gradient_rgb");
      writeStrip(state.board, state.buffer.values);
      break;
    case "random_color": state.randomColor(); break;
    case "rainbow": state.rainbow(); break;
    case "rainbow_cycle":
      state.rainbowCycle(param !== PARAM_INVALID ? param : 1);
      state.prepareShift(1);
      break;
    case "flicker": state.param = param; break;
    case "fire":
    case "fire_soft":
    case "fire_intense":
      state.color = [255 - 40, 255, 40, 0];
      break;
    case "halloween":
      state.halloween();
      state.prepareShift(1);
      break;
    case "circus_combustus":
      state.circusCombustus();
      state.prepareShift(1);
      break;
    case "larson_scanner": state.larsonScanner(); break;
    case "cycle":
      if (param !== PARAM_INVALID) state.param = param;
      state.prepareShift(state.param);
      break;
    case "color_wipe":
      state.fillBuffer(0, 0, 0, 0);
      state.colorWipe();
      break;
    case "random_dot":
      state.param = param;
      state.fillBuffer(0, 0, 0, 0);
      break;
  }
  return 0;
};

const start = (L: LuaState): number => {
  const state = initialized(L);
  state.running = true;
  state.callCount = 0;
  state.step = 0;
  state.arm(state.modeDelay);
  return 0;
};

const stop = (L: LuaState): number => {
  initialized(L).halt();
  return 0;
};

const toString = (L: LuaState): number => {
  lua.lua_pushstring(L, bytesOf("[effects]"));
  return 1;
};

export const ws2812_effects = defineModule("ws2812_effects", {
  functions: { __tostring: toString, init, set_brightness, set_color, set_speed, set_delay, set_mode, start, stop, get_delay, get_speed },
});
