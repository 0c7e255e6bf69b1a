// NodeMCU `tcs34725` over the device's TCS34725 model on bus 0 (0x29): the driver's
// module-wide "initialised" flag per board, enable's 30 ms power-up timer before it starts
// the ADC at 2.4 ms and 60x and calls back, and its byte-by-byte register reads. setGain and
// setIntegrationTime return nothing (the C functions return 0 results).
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS = 0x29;
const COMMAND = 0x80;
const ENABLE = 0x00;
const ATIME = 0x01;
const CONTROL = 0x0f;
const ID = 0x12;
const CDATAL = 0x14;
const PON = 0x01;
const AEN = 0x02;
const ENABLE_DELAY_MS = 30;
const INTEGRATIONTIME_2_4MS = 0xff;
const GAIN_60X = 0x03;

interface Tcs {
  initialised: boolean;
  callback: number | undefined;
  cancel: (() => void) | undefined;
}

const states = new WeakMap<Board, Tcs>();

function stateOf(board: Board): Tcs {
  let state = states.get(board);
  if (!state) {
    state = { initialised: false, callback: undefined, cancel: undefined };
    states.set(board, state);
  }
  return state;
}

function write8(board: Board, register: number, value: number): void {
  writeTo(board, ADDRESS, [COMMAND | register, value & 0xff]);
}

function read8(board: Board, register: number): number {
  writeTo(board, ADDRESS, [COMMAND | register]);
  return readFrom(board, ADDRESS, 1)[0] as number;
}

function checkId(L: LuaState, board: Board): void {
  if (read8(board, ID) !== 0x44) raise(L, "No TCS34725 found.");
}

const setup = (L: LuaState): number => {
  checkId(L, boardOf(L));
  lua.lua_pushinteger(L, 1);
  return 1;
};

const enable = (L: LuaState): number => {
  if (lua.lua_type(L, 1) !== lua.LUA_TFUNCTION) raise(L, "Enable argument must be a function.");
  const board = boardOf(L);
  const tcs = stateOf(board);
  if (tcs.callback !== undefined) board.unref(tcs.callback);
  tcs.callback = board.ref(L, 1);
  write8(board, ENABLE, PON);
  // The firmware re-arms its one timer: a second enable replaces the pending one.
  tcs.cancel?.();
  const release = board.hold();
  const handle = setTimeout(() => {
    forget();
    tcs.cancel = undefined;
    board.post(() => {
      write8(board, ENABLE, PON | AEN);
      tcs.initialised = true;
      write8(board, ATIME, INTEGRATIONTIME_2_4MS);
      write8(board, CONTROL, GAIN_60X);
      const ref = tcs.callback;
      tcs.callback = undefined;
      if (ref !== undefined) {
        board.callRef(ref);
        board.unref(ref);
      }
    });
    release();
  }, ENABLE_DELAY_MS);
  const forget = board.own(() => clearTimeout(handle));
  tcs.cancel = () => {
    clearTimeout(handle);
    forget();
    release();
  };
  return 0;
};

const disable = (L: LuaState): number => {
  const board = boardOf(L);
  const reg = read8(board, ENABLE);
  write8(board, ENABLE, reg & ~(PON | AEN));
  stateOf(board).initialised = false;
  return 0;
};

const raw = (L: LuaState): number => {
  const board = boardOf(L);
  if (!stateOf(board).initialised) raise(L, "TCS34725 not initialised.");
  for (let i = 0; i < 4; i++) {
    const low = read8(board, CDATAL + 2 * i);
    const high = read8(board, CDATAL + 2 * i + 1);
    lua.lua_pushinteger(L, (high << 8) | low);
  }
  return 4;
};

const setGain = (L: LuaState): number => {
  const gain = checkInteger(L, 1);
  const board = boardOf(L);
  if (!stateOf(board).initialised) raise(L, "TCS34725 not initialised.");
  write8(board, CONTROL, gain);
  return 0;
};

const setIntegrationTime = (L: LuaState): number => {
  const time = checkInteger(L, 1);
  const board = boardOf(L);
  if (!stateOf(board).initialised) checkId(L, board);
  write8(board, ATIME, time);
  return 0;
};

export const tcs34725 = defineModule("tcs34725", {
  functions: { setup, enable, disable, raw, setGain, setIntegrationTime },
});
