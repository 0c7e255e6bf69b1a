// NodeMCU `node`: identity and heap figures from the simulated device, the reboots
// (restart, dsleep) the runtime simulates with a fresh Lua state, compile into the flash
// folder, and the console hooks (output, input) a telnet or serial bridge script uses.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { lua, pushBytes, pushText, textOf, type LuaState } from "../../engine/lua.js";
import { argError, checkFunction, checkInteger, checkBytes, isFunction, optInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { loadChunk } from "../../runtime/loader.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { DeviceConfig } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";
import { checkFileName, onFlash } from "./file.js";
import { interpreterOf } from "./console.js";
import { LFS_SIZE, lfsGet, pushConfig, pushLfsTable } from "./lfs.js";

const DEFAULT_CHIP_ID = 0x00c0ffee;
const DEFAULT_FLASH_ID = 0x001640ef;
const DEFAULT_HEAP = 40000;
const FLASH_SIZE = 4 * 1024 * 1024;
const CPU80MHZ = 80;
const CPU160MHZ = 160;

function device(L: LuaState): DeviceConfig {
  return boardOf(L).host.runtime.options.device ?? {};
}

// ---- identity ----

const chipid = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).chipId ?? DEFAULT_CHIP_ID);
  return 1;
};

const flashid = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).flashId ?? DEFAULT_FLASH_ID);
  return 1;
};

const flashsize = (L: LuaState): number => {
  lua.lua_pushinteger(L, FLASH_SIZE);
  return 1;
};

const heap = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).heap ?? DEFAULT_HEAP);
  return 1;
};

const INFO_GROUPS = ["lfs", "hw", "sw_version", "build_config", "legacy"] as const;

const info = (L: LuaState): number => {
  const d = device(L);
  const chip = d.chipId ?? DEFAULT_CHIP_ID;
  const flash = d.flashId ?? DEFAULT_FLASH_ID;
  let group: string = "legacy";
  if (!lua.lua_isnoneornil(L, 1)) {
    group = textOf(checkBytes(L, 1));
    if (!(INFO_GROUPS as readonly string[]).includes(group)) argError(L, 1, `invalid option '${group}'`);
  }
  if (group === "lfs") {
    pushConfig(L);
    return 1;
  }
  if (group === "legacy") {
    for (const value of [3, 0, 0, chip, flash, FLASH_SIZE / 1024, 0, 40000000]) lua.lua_pushinteger(L, value);
    return 8;
  }
  const fields: Record<string, Record<string, number | string | boolean>> = {
    hw: { chip_id: chip, flash_id: flash, flash_size: FLASH_SIZE / 1024, flash_mode: 0, flash_speed: 40000000 },
    sw_version: { node_version_major: 3, node_version_minor: 0, node_version_revision: 0, git_branch: "release", git_commit_id: "moonrig", git_release: "3.0.0-moonrig", git_commit_dts: "20240101" },
    build_config: { ssl: true, lfs_size: LFS_SIZE, modules: "adc,bit,cjson,file,gpio,i2c,mqtt,net,node,pwm,rtctime,sjson,sntp,tmr,uart,wifi", number_type: "float" },
  };
  lua.lua_createtable(L, 0, 8);
  for (const [key, value] of Object.entries(fields[group] ?? {})) {
    if (typeof value === "number") lua.lua_pushinteger(L, value);
    else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
    else pushText(L, value);
    lua.lua_setfield(L, -2, key);
  }
  return 1;
};

// ---- boots ----

/** How the next boot starts, remembered across the boots of one runtime. */
type BootCause = "power-on" | "restart" | "deep-sleep";
const nextBoot = new WeakMap<Runtime, BootCause>();
const bootCauses = new WeakMap<Board, BootCause>();

function bootCause(L: LuaState): BootCause {
  const board = boardOf(L);
  let cause = bootCauses.get(board);
  if (!cause) {
    cause = nextBoot.get(board.host.runtime) ?? "power-on";
    bootCauses.set(board, cause);
  }
  return cause;
}

function reboot(L: LuaState, cause: BootCause, delayMs: number): void {
  const board = boardOf(L);
  bootCause(L);
  nextBoot.set(board.host.runtime, cause);
  board.host.requestReboot(delayMs);
}

const restart = (L: LuaState): number => {
  reboot(L, "restart", 0);
  return 0;
};

const dsleep = (L: LuaState): number => {
  const us = optInteger(L, 1, 0);
  if (us < 0) argError(L, 1, "time must be non-negative");
  // dsleep(0) sleeps until an external reset that never comes on a PC: wake at once.
  reboot(L, "deep-sleep", Math.floor(us / 1000));
  return 0;
};

/** The SDK's longest deep sleep, in microseconds. */
const dsleepMax = (L: LuaState): number => {
  lua.lua_pushnumber(L, 13612089337);
  return 1;
};

/** raw code, extended reason: power-on (1, 0), software restart (2, 4), deep-sleep wake (2, 5). */
const bootreason = (L: LuaState): number => {
  const cause = bootCause(L);
  lua.lua_pushinteger(L, cause === "power-on" ? 1 : 2);
  lua.lua_pushinteger(L, cause === "power-on" ? 0 : cause === "restart" ? 4 : 5);
  return 2;
};

// ---- time and randomness ----

function sinceBootMicros(L: LuaState): bigint {
  return boardOf(L).microsSinceBoot();
}

/** Microseconds since boot in 31 bits (the firmware's integers are 32-bit signed) and the wrap count. */
const uptime = (L: LuaState): number => {
  const us = sinceBootMicros(L);
  lua.lua_pushinteger(L, Number(us & 0x7fffffffn));
  lua.lua_pushinteger(L, Number(us >> 31n));
  return 2;
};

const random = (L: LuaState): number => {
  const n = lua.lua_gettop(L);
  if (n === 0) {
    lua.lua_pushnumber(L, Math.random());
    return 1;
  }
  const low = n >= 2 ? checkInteger(L, 1) : 1;
  const high = checkInteger(L, n >= 2 ? 2 : 1);
  if (low > high) argError(L, n >= 2 ? 2 : 1, "interval is empty");
  lua.lua_pushinteger(L, low + Math.floor(Math.random() * (high - low + 1)));
  return 1;
};

// ---- CPU and memory ----

const cpuFrequencies = new WeakMap<Board, number>();

const setcpufreq = (L: LuaState): number => {
  const requested = checkInteger(L, 1);
  const frequency = requested === CPU160MHZ ? CPU160MHZ : CPU80MHZ;
  cpuFrequencies.set(boardOf(L), frequency);
  lua.lua_pushinteger(L, frequency);
  return 1;
};

const getcpufreq = (L: LuaState): number => {
  lua.lua_pushinteger(L, cpuFrequencies.get(boardOf(L)) ?? CPU80MHZ);
  return 1;
};

const EGC_ON_ALLOC_FAILURE = 1;
const EGC_ON_MEM_LIMIT = 2;
const EGC_ALWAYS = 4;

const egcSetmode = (L: LuaState): number => {
  const mode = checkInteger(L, 1);
  const limit = optInteger(L, 2, 0);
  if (mode < 0 || mode > (EGC_ON_ALLOC_FAILURE | EGC_ON_MEM_LIMIT | EGC_ALWAYS)) argError(L, 1, "invalid mode");
  if (mode & EGC_ON_MEM_LIMIT && limit === 0) argError(L, 1, "limit must be non-zero");
  return 0;
};

/** Lua heap in use and the estimate the collector works from, in bytes. */
const egcMeminfo = (L: LuaState): number => {
  const used = 24576;
  lua.lua_pushinteger(L, used);
  lua.lua_pushinteger(L, used);
  return 2;
};

// ---- compile ----

/**
 * Writes x.lc next to x.lua in the flash folder. The copy is the source itself: fengari
 * loads it like bytecode, `require "x"` and dofile("x.lc") find it, and errors keep their
 * line numbers. A syntax error is raised now, as the firmware's compiler would.
 */
const compile = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  if (!name.endsWith(".lua")) return raise(L, "not a .lua file");
  const source = onFlash(L, (flash) => flash.resolve(name));
  if (source === undefined) return raise(L, `cannot open ${name}`);
  const bytes = readFileSync(source);
  const top = lua.lua_gettop(L);
  if (loadChunk(L, bytes, `@${basename(name)}`) !== lua.LUA_OK) {
    const message = textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array());
    lua.lua_settop(L, top);
    return raise(L, message);
  }
  lua.lua_settop(L, top);
  const target = `${name.slice(0, -".lua".length)}.lc`;
  const written = onFlash(L, (flash) => {
    const path = flash.target(target);
    if (path === undefined) return false;
    try {
      writeFileSync(path, bytes);
      return true;
    } catch {
      return false;
    } finally {
      flash.changed();
    }
  });
  if (!written) return raise(L, "cannot open/write to file");
  return 0;
};

// ---- console: output and input ----

interface Console {
  /** The board's own writer, restored by node.output(nil). */
  serial: (bytes: Uint8Array) => void;
  callbackRef: number | undefined;
  echo: boolean;
  pending: Uint8Array[];
  delivering: boolean;
}

const consoleOf = perBoard((board): Console => ({ serial: (bytes) => board.writeSerial(bytes), callbackRef: undefined, echo: true, pending: [], delivering: false }));

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Hands the output gathered so far to the script's output function, from the event loop. */
function deliver(board: Board, state: Console): void {
  if (state.delivering || state.pending.length === 0) return;
  state.delivering = true;
  board.post(() => {
    state.delivering = false;
    const ref = state.callbackRef;
    const bytes = concat(state.pending);
    state.pending = [];
    if (ref === undefined) return;
    // What the output function prints itself goes to the serial port, not back to it.
    const redirected = board.outputRedirect;
    board.redirectOutput(undefined);
    try {
      board.callRef(ref, (L1) => {
        pushBytes(L1, bytes);
        return 1;
      });
    } finally {
      if (state.callbackRef !== undefined) board.redirectOutput(redirected);
    }
  });
}

/**
 * node.output(fn[, serial_debug]): print and io.write output goes to fn(str) as well
 * as (serial_debug 1, the default) or instead of (0) the serial port. node.output(nil)
 * sends it back to the serial port alone.
 */
const output = (L: LuaState): number => {
  const board = boardOf(L);
  const state = consoleOf(board);
  if (state.callbackRef !== undefined) board.unref(state.callbackRef);
  state.callbackRef = undefined;
  if (!isFunction(L, 1)) {
    if (!lua.lua_isnoneornil(L, 1)) typeError(L, 1, "function");
    board.redirectOutput(undefined);
    return 0;
  }
  state.callbackRef = board.ref(L, 1);
  state.echo = lua.lua_type(L, 2) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, 2) !== 0 : true;
  board.redirectOutput((bytes: Uint8Array) => {
    if (state.echo) state.serial(bytes);
    state.pending.push(Uint8Array.from(bytes));
    deliver(board, state);
  });
  return 0;
};

/** node.input(str): into the interpreter's stdin pipe, where each complete line runs later. */
const input = (L: LuaState): number => {
  interpreterOf(boardOf(L)).input(checkBytes(L, 1));
  return 0;
};

// ---- tasks and errors ----

const TASK_PRIORITIES = { LOW_PRIORITY: 0, MEDIUM_PRIORITY: 1, HIGH_PRIORITY: 2 };
const HIGH_PRIORITY = TASK_PRIORITIES.HIGH_PRIORITY;

interface Tasks {
  /** One FIFO per priority, LOW at index 0. */
  queues: Array<Array<() => void>>;
  scheduled: boolean;
  /** The script's node.setonerror function; undefined: moonrig's own report. */
  onerrorRef: number | undefined;
  /** Set while onerror runs: an error inside it goes to the default report, not round again. */
  reporting: boolean;
}

const tasksOf = perBoard((): Tasks => ({ queues: [[], [], []], scheduled: false, onerrorRef: undefined, reporting: false }));

/**
 * The firmware's task queue: each turn of the event loop runs one task, always from the
 * highest priority that has one, so a HIGH task posted after a LOW one still runs first
 * (app/modules/node.c node_task_post, luaL_posttask).
 */
export function postTask(board: Board, priority: number, task: () => void): void {
  const tasks = tasksOf(board);
  tasks.queues[priority]!.push(task);
  scheduleTasks(board, tasks);
}

function scheduleTasks(board: Board, tasks: Tasks): void {
  if (tasks.scheduled) return;
  tasks.scheduled = true;
  board.post(() => {
    tasks.scheduled = false;
    const queue = [...tasks.queues].reverse().find((q) => q.length > 0);
    const task = queue?.shift();
    if (tasks.queues.some((q) => q.length > 0)) scheduleTasks(board, tasks);
    task?.();
  });
}

/** node.task.post([priority,] fn): priority is a number only when given as one, as in node.c. */
const taskPost = (L: LuaState): number => {
  let fnArg = 1;
  let priority = TASK_PRIORITIES.MEDIUM_PRIORITY;
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) {
    priority = checkInteger(L, 1);
    if (priority < 0 || priority > HIGH_PRIORITY) argError(L, 1, "invalid  priority");
    fnArg = 2;
  }
  checkFunction(L, fnArg);
  const board = boardOf(L);
  const ref = board.ref(L, fnArg);
  postTask(board, priority, () => {
    board.pushRef(board.L, ref);
    board.unref(ref);
    // The firmware calls the task with its priority (node.md's example prints it).
    lua.lua_pushinteger(board.L, priority);
    board.callTop(1);
  });
  return 0;
};

/**
 * node.setonerror([fn]): an error escaping a callback reaches fn as its message with a
 * stack traceback, from a HIGH priority task, instead of the default report. Anything
 * but a function restores the default (moonrig's: the report on stderr, then the run
 * stops unless --keep-going; the firmware prints it and restarts 2 s later).
 */
const setonerror = (L: LuaState): number => {
  const board = boardOf(L);
  const tasks = tasksOf(board);
  if (tasks.onerrorRef !== undefined) board.unref(tasks.onerrorRef);
  tasks.onerrorRef = undefined;
  board.callbackErrorHandler = undefined;
  if (!isFunction(L, 1)) return 0;
  tasks.onerrorRef = board.ref(L, 1);
  board.callbackErrorHandler = (report) => {
    if (tasks.reporting) return false;
    // Like errhandler_aux, the handler is looked up when the report runs, not when it was posted.
    postTask(board, HIGH_PRIORITY, () => {
      const ref = tasks.onerrorRef;
      if (ref === undefined) {
        board.host.callbackFailed(report);
        return;
      }
      tasks.reporting = true;
      try {
        board.callRef(ref, (L1) => {
          pushText(L1, report);
          return 1;
        });
      } finally {
        tasks.reporting = false;
      }
    });
    return true;
  };
  return 0;
};

// ---- odds and ends ----

const stripLevels = new WeakMap<Board, number>();

/** The debug-stripping level compile would use; nothing is stripped from the copies. */
const stripdebug = (L: LuaState): number => {
  const board = boardOf(L);
  if (lua.lua_isnoneornil(L, 1)) {
    lua.lua_pushinteger(L, stripLevels.get(board) ?? 1);
    return 1;
  }
  const level = checkInteger(L, 1);
  if (level < 1 || level > 3) argError(L, 1, "level must be 1, 2 or 3");
  stripLevels.set(board, level);
  return 0;
};

const getpartitiontable = (L: LuaState): number => {
  lua.lua_createtable(L, 0, 4);
  for (const [key, value] of Object.entries({ lfs_addr: 0x80000, lfs_size: LFS_SIZE, spiffs_addr: 0x100000, spiffs_size: 0x300000 })) {
    lua.lua_pushinteger(L, value);
    lua.lua_setfield(L, -2, key);
  }
  return 1;
};

const nothing = (): number => 0;

export const node = defineModule("node", {
  functions: {
    chipid, flashid, flashsize, heap, info, restart, dsleep, dsleepMax, bootreason, uptime, random,
    setcpufreq, getcpufreq, compile, output, input, setonerror, stripdebug, flashindex: lfsGet, getpartitiontable, osprint: nothing,
  },
  constants: { CPU80MHZ, CPU160MHZ },
  tables: {
    egc: { functions: { setmode: egcSetmode, meminfo: egcMeminfo }, constants: { NOT_ACTIVE: 0, ON_ALLOC_FAILURE: EGC_ON_ALLOC_FAILURE, ON_MEM_LIMIT: EGC_ON_MEM_LIMIT, ALWAYS: EGC_ALWAYS } },
    task: { functions: { post: taskPost }, constants: TASK_PRIORITIES },
  },
  setup: (L) => {
    bootCause(L);
    pushLfsTable(L);
    lua.lua_setfield(L, -2, "LFS");
  },
});
