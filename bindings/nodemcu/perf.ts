// NodeMCU `perf`: the PC-sampling profiler. Sampling runs at the firmware's rate (one sample
// per 50 µs of the session), but no sample of a script run on a PC has an Xtensa program
// counter, so every sample counts as outside the histogram range and the histogram is
// empty; the bin arithmetic (power-of-two bin size, bin count) is the firmware's.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, optInteger, raise } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const SAMPLE_US = 50;
const FLASH_START = 0x40000000;
/** Where the firmware image's code ends (_flash_used_end) in a typical ESP8266 build. */
const FLASH_USED_END = 0x40280000;

interface Session {
  startedAt: bigint;
  shift: number;
}

const sessions = perBoard((): { current: Session | undefined } => ({ current: undefined }));

/** The bin size exponent perf.start picks: the smallest power of two giving at most `bins` bins. */
export function binShift(start: number, end: number, bins: number): number {
  let size = Math.floor((end - start + bins - 1) / bins) - 1;
  let shift = 0;
  while (size > 0) {
    size = Math.floor(size / 2);
    shift++;
  }
  return shift;
}

const start = (L: LuaState): number => {
  const from = optInteger(L, 1, FLASH_START) >>> 0;
  const to = optInteger(L, 2, FLASH_USED_END | 0) >>> 0;
  const bins = optInteger(L, 3, 1024) >>> 0;
  if (to <= from) raise(L, "end must be larger than start");
  // The device divides by zero here and resets.
  if (bins === 0) argError(L, 3, "bins must be positive");
  const board = boardOf(L);
  sessions(board).current = { startedAt: board.microsSinceBoot(), shift: binShift(from, to, bins) };
  return 0;
};

const stop = (L: LuaState): number => {
  const board = boardOf(L);
  const state = sessions(board);
  const session = state.current;
  if (!session) return 0;
  state.current = undefined;
  const samples = Number((board.microsSinceBoot() - session.startedAt) / BigInt(SAMPLE_US));
  lua.lua_pushinteger(L, samples);
  lua.lua_pushinteger(L, samples);
  lua.lua_createtable(L, 0, 0);
  lua.lua_pushinteger(L, 2 ** session.shift);
  return 4;
};

export const perf = defineModule("perf", {
  functions: { start, stop },
});
