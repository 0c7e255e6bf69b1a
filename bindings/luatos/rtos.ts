// LuatOS `rtos`: the firmware's identity and memory figures, reboot, the numbered timers
// and the host hooks the runtime's lua/sys.lua is built on.
//
// On the device sys.run() loops over rtos.receive(), which blocks for the next timer or
// driver message. Here the host's event loop is the main loop, so the direction is turned
// round: sys.lua registers one dispatcher (rtos.set_dispatcher) and the host calls it,
// always from the event loop, never while Lua is running:
//   dispatcher("timer", id, remaining)  a timer fired (remaining: the repeat count left
//                                       before this firing, -1 forever, 0 last one)
//   dispatcher("drain")                 rtos.request_drain() asked for it: sys.publish
//                                       queued messages outside a dispatch
//   dispatcher("publish", id, ...)      a binding publishes a system message (IP_READY)
// The dispatcher drains sys's message queue completely before it returns.
// rtos.set_waiting(n) tells the host how many tasks are suspended in a sys wait: while any
// is, the script stays alive even without a timer. rtos.task_failed(report) turns an error
// inside a task (which coroutine.resume caught) into an uncaught callback error.
import { lua, pushText, textOf, toBytes, type LuaState } from "../../engine/lua.js";
import { checkFunction, checkInteger, checkText, optInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const BSP = "PC";
const VERSION = "V1106";
const BUILD_DATE = "Jan  6 2025";
/** fengari's integers are 32-bit: a 32-bit LuatOS build. */
const VM_INTEGER_BITS = 32;
const MSG_TIMER = 1;
const INF_TIMEOUT = -1;
/** Node's timers take at most 2^31 - 1 ms; the firmware's longest documented wait is shorter. */
const MAX_DELAY_MS = 0x7fffffff;

/** The same default address the NodeMCU Wi-Fi station gets, so both flavors agree. */
export const DEFAULT_IP = "192.168.1.100";

// Plausible figures for an Air780E-class module: (total, used, max_used) in bytes.
const MEMINFO_LUA = [1048568, 86016, 102400] as const;
const MEMINFO_SYS = [3145728, 1048576, 1179648] as const;

interface HostTimer {
  handle: NodeJS.Timeout;
  /** Firings left after the next one: -1 forever, 0 when the next one is the last. */
  remaining: number;
  release: () => void;
}

type PushArgs = (L: LuaState) => number;

class SysHost {
  private dispatcherRef: number | undefined;
  private readonly timers = new Map<number, HostTimer>();
  private waitingRelease: (() => void) | undefined;
  private drainPosted = false;
  /** Run once, when sys first registers its dispatcher (see whenSysLoaded). */
  readonly sysLoaded: Array<() => void> = [];

  constructor(readonly board: Board) {
    board.own(() => this.dispose());
  }

  /** The function at stack index `idx` becomes the dispatcher (a reloaded sys replaces it). */
  setDispatcher(L: LuaState, idx: number): void {
    const previous = this.dispatcherRef;
    this.dispatcherRef = this.board.ref(L, idx);
    if (previous !== undefined) this.board.unref(previous);
    for (const job of this.sysLoaded.splice(0)) job();
  }

  get hasDispatcher(): boolean {
    return this.dispatcherRef !== undefined;
  }

  /** Runs the dispatcher now (from the event loop) with ("kind", ...). */
  dispatch(kind: string, pushArgs?: PushArgs): void {
    const ref = this.dispatcherRef;
    if (ref === undefined || this.board.disposed) return;
    const ok = this.board.callRef(ref, (L) => {
      this.board.pushName(L, kind);
      return 1 + (pushArgs ? pushArgs(L) : 0);
    });
    // With keepGoing an error leaves the rest of the queue undrained: drain it soon.
    if (!ok && !this.board.disposed && !this.board.exitRequested) this.requestDrain();
  }

  requestDrain(): void {
    if (this.drainPosted) return;
    this.drainPosted = true;
    this.board.post(() => {
      this.drainPosted = false;
      this.dispatch("drain");
    });
  }

  /** Posts a system message to sys's subscribers; dropped when sys was never loaded. */
  publish(pushArgs: PushArgs): void {
    this.board.post(() => this.dispatch("publish", pushArgs));
  }

  startTimer(id: number, ms: number, repeat: number): void {
    this.stopTimer(id);
    const delay = Math.min(Math.max(0, Math.floor(ms)), MAX_DELAY_MS);
    const fire = () => this.board.post(() => this.fire(id, timer));
    const timer: HostTimer = {
      handle: repeat === 0 ? setTimeout(fire, delay) : setInterval(fire, Math.max(1, delay)),
      remaining: repeat,
      release: this.board.hold(),
    };
    this.timers.set(id, timer);
  }

  stopTimer(id: number): void {
    const timer = this.timers.get(id);
    if (!timer) return;
    this.timers.delete(id);
    clearTimeout(timer.handle);
    timer.release();
  }

  private fire(id: number, timer: HostTimer): void {
    // A firing queued before the timer was stopped (or replaced under the same id) is stale.
    if (this.timers.get(id) !== timer) return;
    const reported = timer.remaining;
    if (timer.remaining === 0) this.stopTimer(id);
    else if (timer.remaining > 0) timer.remaining--;
    this.dispatch("timer", (L) => {
      lua.lua_pushinteger(L, id);
      lua.lua_pushinteger(L, reported);
      return 2;
    });
  }

  setWaiting(count: number): void {
    if (count > 0 && !this.waitingRelease) this.waitingRelease = this.board.hold();
    else if (count <= 0 && this.waitingRelease) {
      this.waitingRelease();
      this.waitingRelease = undefined;
    }
  }

  /** False when the run is already ending (os.exit inside a task unwinds through resume). */
  taskFailed(report: string): boolean {
    if (this.board.disposed || this.board.exitRequested) return false;
    this.board.post(() => this.board.host.callbackFailed(report));
    return true;
  }

  private dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer.handle);
    this.timers.clear();
  }
}

const hostOf = perBoard((board): SysHost => new SysHost(board));

/**
 * Runs `job` once the script has loaded sys (at once if it has): a board whose network is
 * still coming up keeps a script with subscribers alive only from then on.
 */
export function whenSysLoaded(board: Board, job: () => void): void {
  const host = hostOf(board);
  if (host.hasDispatcher) job();
  else host.sysLoaded.push(job);
}

/**
 * For other LuatOS bindings: publish `id` with the values `pushArgs` pushes to sys's
 * subscribers and waiting tasks, from the event loop, as the firmware's C side does with
 * sys_pub. Nothing happens when the script never loaded sys.
 */
export function publishSystemMessage(board: Board, id: string, pushArgs?: PushArgs): void {
  hostOf(board).publish((L) => {
    pushText(L, id);
    return 1 + (pushArgs ? pushArgs(L) : 0);
  });
}

// ---- timers ----

/** rtos.timer_start(id, ms[, repeat]) → 1, or 0 when it cannot start (the firmware's codes). */
const timerStart = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  if (lua.lua_type(L, 2) !== lua.LUA_TNUMBER) typeError(L, 2, "number");
  const ms = lua.lua_tonumber(L, 2);
  const repeat = optInteger(L, 3, 0);
  // The firmware refuses a timeout under 1 ms; a 0 ms wait here means "at the next turn of
  // the loop", so `sys.wait(0)` yields instead of spinning a script that expects it to.
  if (!(ms >= 0)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  hostOf(boardOf(L)).startTimer(id, ms, repeat < 0 ? -1 : repeat);
  lua.lua_pushinteger(L, 1);
  return 1;
};

const timerStop = (L: LuaState): number => {
  if (!lua.lua_isinteger(L, 1)) return 0;
  hostOf(boardOf(L)).stopTimer(lua.lua_tointeger(L, 1));
  return 0;
};

/** On the device sys.run() blocks in here; this runtime's sys.lua never calls it. */
const receive = (L: LuaState): number => raise(L, "rtos.receive: moonrig runs the event loop itself; use the runtime's sys.lua (sys.run() returns at once)");

// ---- hooks for lua/sys.lua ----

const setDispatcher = (L: LuaState): number => {
  checkFunction(L, 1);
  hostOf(boardOf(L)).setDispatcher(L, 1);
  return 0;
};

const requestDrain = (L: LuaState): number => {
  hostOf(boardOf(L)).requestDrain();
  return 0;
};

const setWaiting = (L: LuaState): number => {
  hostOf(boardOf(L)).setWaiting(checkInteger(L, 1));
  return 0;
};

const taskFailed = (L: LuaState): number => {
  // fengari names native frames [JS]; scripts and their authors know C Lua's [C].
  const report = textOf(toBytes(L, 1) ?? new Uint8Array()).replaceAll("\n\t[JS]: in ", "\n\t[C]: in ");
  lua.lua_pushboolean(L, hostOf(boardOf(L)).taskFailed(report));
  return 1;
};

// ---- identity and memory ----

const bsp = (L: LuaState): number => {
  pushText(L, BSP);
  return 1;
};

/** rtos.version(true) adds the firmware type number (0: no type configured) and the VM's integer width. */
const version = (L: LuaState): number => {
  pushText(L, VERSION);
  if (lua.lua_type(L, 1) !== lua.LUA_TBOOLEAN || !lua.lua_toboolean(L, 1)) return 1;
  lua.lua_pushinteger(L, 0);
  lua.lua_pushinteger(L, VM_INTEGER_BITS);
  return 3;
};

const buildDate = (L: LuaState): number => {
  pushText(L, BUILD_DATE);
  return 1;
};

const firmware = (L: LuaState): number => {
  pushText(L, `LuatOS-SoC_${VERSION}_${BSP}`);
  return 1;
};

const meminfo = (L: LuaState): number => {
  const kind = lua.lua_isnoneornil(L, 1) ? "lua" : checkText(L, 1);
  for (const value of kind === "sys" ? MEMINFO_SYS : MEMINFO_LUA) lua.lua_pushinteger(L, value);
  return 3;
};

const reboot = (L: LuaState): number => {
  boardOf(L).host.requestReboot(0);
  return 0;
};

const nothing = (): number => 0;

export const rtos = defineModule("rtos", {
  functions: {
    bsp, version, buildDate, firmware, meminfo, reboot,
    timer_start: timerStart, timer_stop: timerStop, receive,
    standy: nothing, setPaths: nothing, nop: nothing,
    set_dispatcher: setDispatcher, request_drain: requestDrain, set_waiting: setWaiting, task_failed: taskFailed,
  },
  constants: { INF_TIMEOUT, MSG_TIMER },
});
