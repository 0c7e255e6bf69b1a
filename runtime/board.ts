// One boot of the simulated device: a fresh Lua state, its registered modules and every
// resource (timer, client, port) the script opened. A reboot or close disposes the board
// whole, so nothing from the previous boot can call into the next one.
import { getHeapStatistics } from "node:v8";
import { lua, lauxlib, lualib, bytesOf, pushText, textOf, toDisplayBytes, debugRecord, type LuaState, type LuaJsFunction } from "../engine/lua.js";
import type { EventLoop, Job } from "./loop.js";
import type { Runtime } from "./runtime.js";

/** A module a flavor exposes as a global, opened on first use to keep start-up cheap. */
export interface ModuleDef {
  readonly name: string;
  /** Pushes the module's table onto the stack. */
  open(L: LuaState, board: Board): void;
  /** Whether this device has the module at all (LuatOS: `wlan` only on Wi-Fi boards). */
  available?(board: Board): boolean;
  /** A global backed by a Lua library file: `require` must load the file, not this. */
  readonly library?: boolean;
}

export interface BoardHost {
  readonly loop: EventLoop;
  readonly runtime: Runtime;
  stdout(bytes: Uint8Array): void;
  stderr(text: string): void;
  /** An error escaped Lua code that ran from the event loop (a callback). */
  callbackFailed(report: string): void;
  requestExit(code: number): void;
  /** Simulated reboot (node.restart, rtos.reboot, deep sleep) after `delayMs`. */
  requestReboot(delayMs: number): void;
  /**
   * Asked every few milliseconds while Lua code runs (JS timers and signals cannot run
   * then): "stop" ends the run at once (the host has already finished it), "interrupt"
   * fails the running chunk with "interrupted!" as lua.c does on Ctrl-C.
   */
  interruption(): Interruption | undefined;
}

export type Interruption = "stop" | "interrupt";

// Lua code that never returns to the event loop (`while true do end`, a busy-waiting
// driver) must still stop for --run-for, Ctrl-C and close(): a count hook looks at the
// clock every INSTRUCTIONS_PER_CHECK VM instructions and asks the host at most every
// POLL_INTERVAL_MS, which keeps its cost near 3 % of pure Lua (BENCHMARKS.md, watchdog).
const INSTRUCTIONS_PER_CHECK = 1000;
const POLL_INTERVAL_MS = 20;
/**
 * Lua fails with "not enough memory" once the JS heap holds this much, far below where V8
 * would abort the process (its limit also counts the young generation, so only half of it
 * is safely reachable). A device runs out long before; 1 GiB leaves fengari's overhead room.
 */
const heapLimit = Math.min(2 ** 30, getHeapStatistics().heap_size_limit / 2);
const MEMORY_ERROR = "not enough memory";

export class LuaFailure extends Error {
  /** `interrupted`: the error is the REPL's Ctrl-C ("interrupted!"), not the script's own. */
  constructor(readonly report: string, readonly interrupted = false) {
    super(report.split("\n", 1)[0]);
    this.name = "LuaFailure";
  }
}

/** Raised through Lua to unwind everything when the script calls os.exit. */
const EXIT_SIGNAL = Object.freeze({ moonrigExit: true });

const boards = new WeakMap<object, Board>();

function globalStateOf(L: LuaState): object {
  return (L as unknown as { l_G: object }).l_G;
}

export function boardOf(L: LuaState): Board {
  const board = boards.get(globalStateOf(L));
  if (!board) throw new Error("Lua state without a board");
  return board;
}

export class Board {
  readonly L: LuaState;
  private readonly disposers = new Set<() => void>();
  /** The modules by global name; a name may have several, for devices that differ (LuatOS wlan). */
  private readonly modules = new Map<string, ModuleDef[]>();
  /** The module each name resolved to on this device (null: none), once asked. */
  private readonly resolved = new Map<string, ModuleDef | null>();
  private disposedFlag = false;
  private exiting = false;
  /** performance.now() after which the watchdog next asks the host and looks at memory. */
  private nextPoll = 0;
  /** A Ctrl-C stays in force until the outermost protected call has returned. */
  private interruptPending = false;
  /** Protected calls on the JS stack: 0 means no Lua code is running. */
  private callDepth = 0;
  private redirect: ((bytes: Uint8Array) => void) | undefined;
  /**
   * The script's own handler for errors escaping callbacks (NodeMCU node.setonerror):
   * returns true when it took the report, false to leave it to the host's policy.
   */
  callbackErrorHandler: ((report: string) => boolean) | undefined;
  /** Registry slot of the traceback handler every protected call uses. */
  private readonly tracebackRef: number;
  private readonly names = new Map<string, number>();
  /** When this boot started: the device's clocks (tmr.now, node.uptime) count from here. */
  readonly bootedAt = process.hrtime.bigint();

  constructor(readonly host: BoardHost) {
    const L = lauxlib.luaL_newstate();
    this.L = L;
    boards.set(globalStateOf(L), this);
    lualib.luaL_openlibs(L);
    // A JS exception inside a binding becomes a Lua error carrying its message, so a
    // binding bug is reported like any script error instead of tearing down the process.
    lua.lua_atnativeerror(L, (L1) => {
      const error = lua.lua_touserdata(L1, -1);
      if (error === EXIT_SIGNAL) {
        lua.lua_pushlightuserdata(L1, EXIT_SIGNAL);
      } else {
        const message = isAllocationFailure(error) ? MEMORY_ERROR : error instanceof Error ? error.message : String(error);
        // Level 0 is this handler, 1 the binding that threw (or the Lua function whose
        // instruction did, such as a concatenation), 2 the Lua code calling the binding.
        lauxlib.luaL_where(L1, isLuaFunctionAt(L1, 1) ? 1 : 2);
        lua.lua_pushstring(L1, bytesOf(message));
        lua.lua_concat(L1, 2);
      }
      return 1;
    });
    lua.lua_pushjsfunction(L, tracebackHandler);
    this.tracebackRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    // Coroutines inherit the hook from the state that creates them.
    lua.lua_sethook(L, this.watchdog, lua.LUA_MASKCOUNT, INSTRUCTIONS_PER_CHECK);
    this.installLazyGlobals();
  }

  get disposed(): boolean {
    return this.disposedFlag;
  }

  private readonly watchdog = (L: LuaState): void => {
    if (this.exiting) this.halt(L);
    if (this.interruptPending) lauxlib.luaL_error(L, "interrupted!");
    const now = performance.now();
    if (now < this.nextPoll) return;
    this.nextPoll = now + POLL_INTERVAL_MS;
    const verdict = this.host.interruption();
    if (verdict === "stop") this.halt(L);
    if (verdict === "interrupt") {
      this.interruptPending = true;
      lauxlib.luaL_error(L, "interrupted!");
    }
    // A table grown without end would otherwise end in V8's fatal out-of-memory abort.
    if (getHeapStatistics().used_heap_size > heapLimit) raiseAt(L, 0, MEMORY_ERROR);
  };

  // ---- modules ----

  addModules(defs: readonly ModuleDef[]): void {
    for (const def of defs) this.modules.set(def.name, [...(this.modules.get(def.name) ?? []), def]);
  }

  /**
   * The module behind global `name`, if this device has it. Asked on first use, not at boot:
   * some answers look at the project's files (a project's own bme280.lua hides the C module),
   * and a script that never names the module should not pay for a walk of its folder.
   */
  private moduleNamed(name: string): ModuleDef | undefined {
    let def = this.resolved.get(name);
    if (def === undefined) {
      def = this.modules.get(name)?.find((candidate) => candidate.available?.(this) ?? true) ?? null;
      this.resolved.set(name, def);
    }
    return def ?? undefined;
  }

  /** The globals the device's modules provide (opened or not), for the REPL's completion. */
  moduleNames(): string[] {
    return [...this.modules.keys()].filter((name) => this.moduleNamed(name) !== undefined);
  }

  /** Whether `require(name)` should return this built-in module's table. */
  hasNativeModule(name: string): boolean {
    const def = this.moduleNamed(name);
    return def !== undefined && !def.library;
  }

  /** Pushes the global `name`, opening the module on first use; false (nil pushed) if absent. */
  pushModule(L: LuaState, name: string): boolean {
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_getfield(L, -1, name);
    lua.lua_remove(L, -2);
    return lua.lua_type(L, -1) !== lua.LUA_TNIL;
  }

  private installLazyGlobals(): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushjsfunction(L, (L1) => {
      if (lua.lua_type(L1, 2) !== lua.LUA_TSTRING) return 0;
      const name = textOf(lua.lua_tolstring(L1, 2) as Uint8Array);
      const def = this.moduleNamed(name);
      if (!def) return 0;
      def.open(L1, this);
      lua.lua_pushvalue(L1, -1);
      lua.lua_setfield(L1, 1, name);
      return 1;
    });
    lua.lua_setfield(L, -2, "__index");
    lua.lua_setmetatable(L, -2);
    lua.lua_pop(L, 1);
  }

  // ---- resources and liveness ----

  /** Registers cleanup for a resource; returns a function that forgets it again. */
  own(dispose: () => void): () => void {
    this.disposers.add(dispose);
    return () => {
      this.disposers.delete(dispose);
    };
  }

  /** Keeps the script alive; released automatically when the board is disposed. */
  hold(): () => void {
    const release = this.host.loop.hold();
    const forget = this.own(release);
    return () => {
      forget();
      release();
    };
  }

  /** Queues work for the Lua side; dropped if the board has been disposed meanwhile. */
  post(job: Job): void {
    this.host.loop.post(() => {
      if (this.live()) job();
    });
  }

  /** post() that may run the job at once: see EventLoop.deliver. */
  deliver(job: Job): void {
    this.host.loop.deliver(job, this.live);
  }

  /** deliver() with the event's values as arguments: see EventLoop.deliverWith. */
  deliverWith<A, B, C>(job: (a: A, b: B, c: C) => void, a: A, b: B, c: C): void {
    this.host.loop.deliverWith(job, this.live, a, b, c);
  }

  /** Whether this boot may still run Lua (not disposed, no os.exit). */
  private readonly live = (): boolean => !this.disposedFlag && !this.exiting;

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    for (const dispose of [...this.disposers]) {
      try {
        dispose();
      } catch (error) {
        this.host.stderr(`moonrig: while shutting down: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    this.disposers.clear();
  }

  // ---- references to Lua values ----

  /**
   * Keeps the value at `idx` of `L`'s stack alive in the registry. `L` is the calling
   * thread: inside a coroutine (a LuatOS sys task) the arguments are on its stack.
   */
  ref(L: LuaState, idx: number): number {
    lua.lua_pushvalue(L, idx);
    return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  unref(ref: number): void {
    if (ref !== lauxlib.LUA_NOREF && ref !== lauxlib.LUA_REFNIL) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
  }

  pushRef(L: LuaState, ref: number): void {
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
  }

  /**
   * Pushes a fixed name (an event, a table field) that bindings push for every message:
   * always the same Lua string, so it is encoded once and fengari hashes it once.
   */
  pushName(L: LuaState, name: string): void {
    let ref = this.names.get(name);
    if (ref === undefined) {
      pushText(L, name);
      ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
      this.names.set(name, ref);
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
  }

  // ---- running Lua ----

  /**
   * Calls the function in registry slot `ref` from the event loop. Errors follow the
   * callback policy (reported; the host decides whether to stop). Returns false on error.
   */
  callRef(ref: number, pushArgs?: (L: LuaState) => number): boolean {
    const handler = this.pushCall(ref);
    return this.callPushed(handler, pushArgs ? pushArgs(this.L) : 0);
  }

  /**
   * callRef in two steps, for a caller that pushes the arguments itself (a received
   * message, without a closure): pushes the function in registry slot `ref`, with the
   * traceback handler below it (sparing protectedCall's insert); returns the handler's index.
   */
  pushCall(ref: number): number {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.tracebackRef);
    const handler = lua.lua_gettop(L);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    return handler;
  }

  /** Calls the function below `nargs` arguments on the stack as a callback. */
  callTop(nargs: number): boolean {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.tracebackRef);
    lua.lua_insert(L, base);
    return this.callPushed(base, nargs);
  }

  /**
   * Calls the function above the handler at `handler` with the `nargs` arguments above it
   * (pushCall's second step), under the callback policy; returns false on error.
   */
  callPushed(handler: number, nargs: number): boolean {
    try {
      this.callWithHandler(handler, nargs, 0);
      return true;
    } catch (error) {
      if (error instanceof LuaFailure) {
        // Ctrl-C stops the callback, not the session (the REPL carries on, as lua does).
        if (error.interrupted) this.host.stderr(`${error.report}\n`);
        else if (!this.callbackErrorHandler?.(error.report)) this.host.callbackFailed(error.report);
        return false;
      }
      if (error instanceof ExitUnwind) return false;
      throw error;
    }
  }

  /**
   * Runs the function below `nargs` arguments with a traceback handler. Throws LuaFailure
   * with message and traceback on error; returns the number of results left on the stack.
   */
  protectedCall(nargs: number, nresults: number): number {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.tracebackRef);
    lua.lua_insert(L, base);
    return this.callWithHandler(base, nargs, nresults);
  }

  /** protectedCall with the handler already at stack index `base`, below the function. */
  private callWithHandler(base: number, nargs: number, nresults: number): number {
    const L = this.L;
    this.callDepth++;
    const status = lua.lua_pcall(L, nargs, nresults, base);
    const interrupted = this.interruptPending;
    if (--this.callDepth === 0) this.interruptPending = false;
    lua.lua_remove(L, base);
    if (status !== lua.LUA_OK) {
      const isExit = lua.lua_touserdata(L, -1) === EXIT_SIGNAL;
      const report = isExit ? "" : textOf(lua.lua_tolstring(L, -1) ?? bytesOf("(error object is not a string)"));
      lua.lua_pop(L, 1);
      if (isExit || this.exiting) throw new ExitUnwind();
      throw new LuaFailure(report, interrupted);
    }
    return lua.lua_gettop(L) - base + 1;
  }

  /** os.exit: stop running Lua at once, even through pcall in the script. */
  raiseExit(L: LuaState, code: number): never {
    this.host.requestExit(code);
    return this.halt(L);
  }

  /**
   * The run ended while Lua code is running (close() from an output callback): that code
   * stops too. (A reboot lets it run on, as node.restart() does on the device.)
   */
  stopRunningLua(): void {
    if (this.callDepth > 0) this.stopLuaAt(this.L);
  }

  /** Unwinds every Lua frame of this boot, through any pcall, for good. */
  private halt(L: LuaState): never {
    this.stopLuaAt(this.L);
    if (L !== this.L) this.stopLuaAt(L);
    lua.lua_pushlightuserdata(L, EXIT_SIGNAL);
    return lua.lua_error(L);
  }

  /** From the next instruction on, `thread` unwinds with the exit signal; so does every other thread at its next watchdog check. */
  private stopLuaAt(thread: LuaState): void {
    this.exiting = true;
    lua.lua_sethook(thread, haltingHook, lua.LUA_MASKCOUNT, 1);
  }

  /** True once os.exit ran: nothing more may run in this boot. */
  get exitRequested(): boolean {
    return this.exiting;
  }

  /** Writes bytes to the script's output (print, io.write), honouring a redirect. */
  write(bytes: Uint8Array): void {
    if (this.redirect) this.redirect(bytes);
    else this.host.stdout(bytes);
  }

  /** Writes to the serial console itself, bypassing any redirect. */
  writeSerial(bytes: Uint8Array): void {
    this.host.stdout(bytes);
  }

  /** Sends the script's output elsewhere (NodeMCU node.output); undefined restores it. */
  redirectOutput(redirect: ((bytes: Uint8Array) => void) | undefined): void {
    this.redirect = redirect;
  }

  get outputRedirect(): ((bytes: Uint8Array) => void) | undefined {
    return this.redirect;
  }

  microsSinceBoot(): bigint {
    return (process.hrtime.bigint() - this.bootedAt) / 1000n;
  }

  display(idx: number): Uint8Array {
    return toDisplayBytes(this.L, idx);
  }
}

/** Thrown out of protectedCall when os.exit unwound the Lua stack. */
export class ExitUnwind extends Error {
  constructor() {
    super("os.exit");
  }
}

const haltingHook = (L: LuaState): void => {
  lua.lua_pushlightuserdata(L, EXIT_SIGNAL);
  lua.lua_error(L);
};

// Like lua.c's msghandler: strings get a traceback; other error objects use __tostring or
// say what they are; the exit signal passes through untouched.
const tracebackHandler: LuaJsFunction = (L) => {
  if (lua.lua_touserdata(L, 1) === EXIT_SIGNAL) return 1;
  let message: Uint8Array | null = lua.lua_type(L, 1) === lua.LUA_TSTRING || lua.lua_type(L, 1) === lua.LUA_TNUMBER ? lua.lua_tolstring(L, 1) : null;
  if (message === null) {
    if (lauxlib.luaL_getmetafield(L, 1, "__tostring") !== lua.LUA_TNIL && lua.lua_type(L, -1) === lua.LUA_TFUNCTION) {
      lua.lua_pushvalue(L, 1);
      lua.lua_call(L, 1, 1);
      message = lua.lua_tolstring(L, -1);
    }
    if (message === null) message = bytesOf(`(error object is a ${textOf(lauxlib.luaL_typename(L, 1))} value)`);
  }
  lauxlib.luaL_traceback(L, L, message, 1);
  // fengari names native frames [JS]; scripts and their authors know C Lua's [C].
  const report = textOf(lua.lua_tolstring(L, -1) as Uint8Array).replaceAll("\n\t[JS]: in ", "\n\t[C]: in ");
  lua.lua_pushstring(L, bytesOf(report));
  return 1;
};

/** V8's answers when an ArrayBuffer, typed array, array or string cannot be as large as asked. */
function isAllocationFailure(error: unknown): boolean {
  return error instanceof RangeError && /allocation failed|Invalid (typed array|array buffer|array|string) length/.test(error.message);
}

function isLuaFunctionAt(L: LuaState, level: number): boolean {
  const ar = debugRecord();
  if (!lua.lua_getstack(L, level, ar)) return false;
  lua.lua_getinfo(L, "S", ar);
  return ar.what[0] !== 0x4a; // "J": a JS function
}

/** lua_error with the place of the function `level` frames up, as luaL_error words it. */
function raiseAt(L: LuaState, level: number, message: string): never {
  lauxlib.luaL_where(L, level);
  lua.lua_pushstring(L, bytesOf(message));
  lua.lua_concat(L, 2);
  return lua.lua_error(L);
}

/**
 * State a module keeps for each boot, made on first use: `perBoard(board => new Uart(board))`
 * returns the function that finds (or makes) the board's one instance.
 */
export function perBoard<T>(create: (board: Board) => T): (board: Board) => T {
  const states = new WeakMap<Board, T>();
  return (board) => {
    let state = states.get(board);
    if (state === undefined) {
      state = create(board);
      states.set(board, state);
    }
    return state;
  };
}
