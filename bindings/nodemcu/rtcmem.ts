// NodeMCU `rtcmem`: the 128 user slots of the ESP8266's RTC memory, 32 bits each. They
// belong to the Runtime, so they keep their values through node.restart, deep sleep and
// rtctime.dsleep within one run, and start at zero on the next run (a power cycle).
// rtcfifo keeps its control block and samples in the same slots, as on the device.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import type { Runtime } from "../../runtime/runtime.js";
import { defineModule } from "../common/module.js";

export const RTC_USER_SLOTS = 128;

const memories = new WeakMap<Runtime, Uint32Array>();

export function rtcMemoryOf(board: Board): Uint32Array {
  const runtime = board.host.runtime;
  let memory = memories.get(runtime);
  if (!memory) {
    memory = new Uint32Array(RTC_USER_SLOTS);
    memories.set(runtime, memory);
  }
  return memory;
}

/** A slot outside the user range reads as 0; writes there are lost (they would hit system slots). */
export function readSlot(memory: Uint32Array, idx: number): number {
  return idx >= 0 && idx < RTC_USER_SLOTS ? (memory[idx] as number) : 0;
}

export function writeSlot(memory: Uint32Array, idx: number, value: number): void {
  if (idx >= 0 && idx < RTC_USER_SLOTS) memory[idx] = value >>> 0;
}

/** lua_tointeger: 0 for anything without an integer value. */
function integerOrZero(L: LuaState, idx: number): number {
  const value = lua.lua_tointegerx(L, idx);
  return value === false ? 0 : value;
}

const read32 = (L: LuaState): number => {
  let idx = checkInteger(L, 1);
  // A nil count is 0, as lua_tointeger makes it: nothing is read.
  let n = lua.lua_gettop(L) < 2 ? 1 : integerOrZero(L, 2);
  const memory = rtcMemoryOf(boardOf(L));
  let count = 0;
  while (n > 0 && idx >= 0 && idx < RTC_USER_SLOTS) {
    // The firmware's integers are 32-bit: 0xFFFFFFFF reads back as -1.
    lua.lua_pushinteger(L, readSlot(memory, idx++) | 0);
    n--;
    count++;
  }
  return count;
};

const write32 = (L: LuaState): number => {
  let idx = checkInteger(L, 1);
  const n = lua.lua_gettop(L) - 1;
  if (idx + n > RTC_USER_SLOTS) argError(L, 1, "RTC mem would overrun");
  const memory = rtcMemoryOf(boardOf(L));
  for (let src = 2; src <= n + 1; src++) writeSlot(memory, idx++, integerOrZero(L, src));
  return 0;
};

export const rtcmem = defineModule("rtcmem", {
  functions: { read32, write32 },
});
