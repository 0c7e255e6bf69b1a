// LuatOS `mcu`: the chip's unique id (stable, from the simulated device), tick counters
// since boot, and the clock and pin-mux calls, which change nothing on a PC.
import { createHash } from "node:crypto";
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import type { DeviceConfig } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";

/** The chip id the NodeMCU flavor defaults to, so one --device file names one chip. */
const DEFAULT_CHIP_ID = 0x00c0ffee;
const UNIQUE_ID_BYTES = 16;
const TICKS_PER_SECOND = 1000;
/** mcu.tick64 counts microseconds: one tick per µs. */
const TICKS_PER_US = 1;
/** An Air780E's core clock. */
const DEFAULT_CLOCK_MHZ = 204;

// The firmware's peripheral kinds for iomux/altfun (only ever passed back to mcu itself).
// luat_mcu.h's LUAT_MCU_PERIPHERAL_E order.
const PERIPHERALS = { UART: 0, I2C: 1, SPI: 2, PWM: 3, CAN: 4, GPIO: 5, I2S: 6, SDIO: 7, LCD: 8, CAM: 9, CAMERA: 9, ONEWIRE: 10, KEYBORAD: 11, ETH: 12 };

interface McuState {
  boot: bigint;
  clockMhz: number;
}

const states = new WeakMap<Board, McuState>();

function stateOf(L: LuaState): McuState {
  const board = boardOf(L);
  let state = states.get(board);
  if (!state) {
    state = { boot: process.hrtime.bigint(), clockMhz: DEFAULT_CLOCK_MHZ };
    states.set(board, state);
  }
  return state;
}

function micros(L: LuaState): bigint {
  return (process.hrtime.bigint() - stateOf(L).boot) / 1000n;
}

/**
 * A `uniqueId` hex string in the device file wins; otherwise 16 bytes derived from the
 * chip id, the same on every run for the same device.
 */
function uniqueIdOf(device: DeviceConfig): Uint8Array {
  const configured = device.uniqueId;
  if (typeof configured === "string" && /^([0-9a-f]{2})+$/i.test(configured)) return Buffer.from(configured, "hex");
  const chip = device.chipId ?? DEFAULT_CHIP_ID;
  return createHash("sha256").update(`moonrig mcu ${chip}`).digest().subarray(0, UNIQUE_ID_BYTES);
}

/** mcu.unique_id, which hmeta.unique_id also is. */
export const uniqueId = (L: LuaState): number => {
  pushBytes(L, uniqueIdOf(boardOf(L).host.runtime.options.device ?? {}));
  return 1;
};

/** Milliseconds since boot as the firmware's 32-bit counter, negative past 0x7fffffff in Lua. */
const ticks = (L: LuaState): number => {
  lua.lua_pushinteger(L, Number(BigInt.asIntN(32, micros(L) / 1000n)));
  return 1;
};

const hz = (L: LuaState): number => {
  lua.lua_pushinteger(L, TICKS_PER_SECOND);
  return 1;
};

/** ticks2(mode): the 64-bit count split in two, mode 0 µs, 1 ms, 2 s: (value / 10^6, value % 10^6). */
const ticks2 = (L: LuaState): number => {
  const mode = optInteger(L, 1, 0);
  const divisor = [1n, 1000n, 1000000n][mode];
  if (divisor === undefined) return 0;
  const value = micros(L) / divisor;
  lua.lua_pushinteger(L, Number(value / 1000000n));
  lua.lua_pushinteger(L, Number(value % 1000000n));
  return 2;
};

/** tick64() → the tick count as 8 little-endian bytes, and the ticks per microsecond. */
const tick64 = (L: LuaState): number => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, micros(L) * BigInt(TICKS_PER_US), true);
  pushBytes(L, bytes);
  lua.lua_pushinteger(L, TICKS_PER_US);
  return 2;
};

function readTick(bytes: Uint8Array): bigint {
  const padded = new Uint8Array(8);
  padded.set(bytes.subarray(0, 8));
  return new DataView(padded.buffer).getBigUint64(0, true);
}

/** dtick64(t1, t2[, check]) → (t1 - t2 >= check, t1 - t2). */
const dtick64 = (L: LuaState): number => {
  const diff = readTick(checkBytes(L, 1)) - readTick(checkBytes(L, 2));
  const check = optInteger(L, 3, 0);
  lua.lua_pushboolean(L, diff >= BigInt(check));
  lua.lua_pushinteger(L, Number(BigInt.asIntN(32, diff)));
  return 2;
};

const setClk = (L: LuaState): number => {
  stateOf(L).clockMhz = checkInteger(L, 1);
  lua.lua_pushboolean(L, true);
  return 1;
};

const getClk = (L: LuaState): number => {
  lua.lua_pushinteger(L, stateOf(L).clockMhz);
  return 1;
};

const x32 = (L: LuaState): number => {
  pushText(L, `0x${(checkInteger(L, 1) >>> 0).toString(16)}`);
  return 1;
};

/** No registers to read on a PC: reads give 0, writes are ignored. */
const reg32 = (L: LuaState): number => {
  checkInteger(L, 1);
  lua.lua_pushinteger(L, 0);
  return 1;
};

const nothing = (): number => 0;

export const mcu = defineModule("mcu", {
  functions: {
    unique_id: uniqueId, ticks, hz, ticks2, tick64, dtick64, setClk, getClk, x32, reg32,
    hardfault: (L) => {
      optInteger(L, 1, 0);
      return 0;
    }, iomux: nothing, altfun: nothing, setXTAL: nothing, XTALRefOutput: nothing,
  },
  constants: PERIPHERALS,
  setup: (L) => {
    stateOf(L);
  },
});
