// NodeMCU `ws2812`: LED strips driven through UART1 (and UART0 in dual mode). What a
// script lights is recorded as the bytes written. Its buffers are pixbuf buffers
// (ws2812.newBuffer is pixbuf.newBuffer, as in app/modules/ws2812.c).
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, optInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { checkPixbuf, newBuffer, pixbufMetatables, FADE_IN, FADE_OUT, SHIFT_CIRCULAR, SHIFT_LOGICAL } from "./pixbuf.js";

const MODE_SINGLE = 0;
const MODE_DUAL = 1;

const init = (L: LuaState): number => {
  const mode = optInteger(L, 1, MODE_SINGLE);
  if (mode !== MODE_SINGLE && mode !== MODE_DUAL) argError(L, 1, "ws2812.SINGLE or ws2812.DUAL expected");
  recorderOf(boardOf(L)).record("ws2812", "init", [mode]);
  return 0;
};

/** A strip's bytes: a string, a 3- or 4-channel pixbuf, or nil (nothing sent); only the second may be absent. */
function stripData(L: LuaState, arg: number): Uint8Array | null {
  switch (lua.lua_type(L, arg)) {
    case lua.LUA_TNONE:
      if (arg === 1) return argError(L, arg, "pixbuf or string expected");
      return null;
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TSTRING:
      return lua.lua_tolstring(L, arg) as Uint8Array;
    case lua.LUA_TUSERDATA: {
      const buffer = checkPixbuf(L, arg);
      if (buffer.nchan !== 3 && buffer.nchan !== 4) argError(L, arg, "Bad pixbuf format");
      return buffer.values;
    }
    default:
      return argError(L, arg, "pixbuf or string expected");
  }
}

const write = (L: LuaState): number => {
  const first = stripData(L, 1);
  const second = stripData(L, 2);
  recorderOf(boardOf(L)).record("ws2812", "write", second === null ? [first] : [first, second]);
  return 0;
};

/** What ws2812_effects sends, through the same driver as ws2812.write. */
export function writeStrip(board: Board, bytes: Uint8Array): void {
  recorderOf(board).record("ws2812", "write", [bytes]);
}

export const ws2812 = defineModule("ws2812", {
  functions: { init, newBuffer, write },
  constants: { FADE_IN, FADE_OUT, SHIFT_LOGICAL, SHIFT_CIRCULAR, MODE_SINGLE, MODE_DUAL },
  metatables: pixbufMetatables,
});
