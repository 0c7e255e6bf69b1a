// The embedding API: one simulated device running one script. The CLI, the REPL and the
// tests all drive this class.
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { Board, ExitUnwind, LuaFailure, type BoardHost, type Interruption } from "./board.js";
import { EventLoop } from "./loop.js";
import { Project, isDirectory, isFile } from "./project.js";
import { Loader, attachLoader, loadChunk, loadFile } from "./loader.js";
import { installBaseLibrary } from "./baselib.js";
import { detectFlavor, loadFlavor, type Flavor, type FlavorChoice, type FlavorDef } from "./flavors.js";
import { Router } from "../mqtt/routing.js";
import type { DeviceConfig, ModemCertificates } from "./device.js";
import { lua, bytesOf, textOf, toJsValue, type JsValue } from "../engine/lua.js";
import type { RunningBroker } from "./broker.js";
import { Device } from "../device/device.js";
import type { HardwareRecorder } from "../device/recorder.js";
import { UartLinks, UartLinkError, type UartEndpoint } from "./uart-links.js";

export type LookupFunction = (hostname: string) => Promise<{ address: string; family: 4 | 6 }>;

export interface RuntimeOptions {
  flavor?: FlavorChoice;
  /** The project directory (default: the script's directory, else process.cwd()). */
  cwd?: string;
  /** The device's flash file system for NodeMCU `file.*` (default: the project directory). */
  fs?: string;
  /** NodeMCU's Lua Flash Store: a folder of .lua modules (default: the project's lfs/ folder, if any). */
  lfs?: string;
  /** Send every MQTT connection here (`mqtt://`, `mqtts://`, `ws://`, `wss://`, or "embedded"). */
  broker?: string;
  /** Per-host redirects, `["host[:port]", "url"]`; more specific than `broker`. */
  map?: ReadonlyArray<readonly [string, string]>;
  stdout?: (bytes: Uint8Array) => void;
  stderr?: (text: string) => void;
  device?: DeviceConfig;
  /** DNS for the script's host names; tests inject failures without sending queries. */
  lookup?: LookupFunction;
  keepGoing?: boolean;
  trace?: boolean;
  /** The entry file of a project directory, relative to it (default: init.lua or main.lua, found in the flat view). */
  entry?: string;
  /** Stop after this many seconds with exit status 0. */
  runFor?: number;
  /** Arguments after `--`, visible to the script as `arg[1..]`. */
  args?: readonly string[];
  /** Chunks run before the script, like `lua -e`. */
  prelude?: readonly string[];
  at?: string;
  baud?: number;
  atDialect?: "esp-at" | "w800";
  /** With `at: "emulator"`: the certificates flashed into the emulated modem. */
  atCertificates?: ModemCertificates;
  /** UARTs joined to the outside, by id: "pty", "pty:PATH" (a symlink to the pty) or "tcp:PORT" (0: any free port). */
  uart?: Readonly<Record<number, string>>;
  /**
   * UART 0 as the board's serial console ("pty", "pty:PATH" or "tcp:PORT"), carrying
   * everything the script prints: NodeMCU's Lua prompt, echo and line interpreter, or the
   * REPL of LuatOS builds that have one.
   */
  console?: string;
}

/** A script that cannot be read or a project without an entry file: exit status 2. */
export class ScriptError extends Error {}

export { LuaFailure };

export class Runtime {
  readonly options: RuntimeOptions;
  readonly loop = new EventLoop();
  /** The simulated hardware under the firmware: I2C chips, pins, sensors (`device.set(...)` changes them). */
  readonly device: Device;
  /** Resolves with the exit status once the script has ended (idle, os.exit, error, --run-for). */
  readonly finished: Promise<number>;
  private resolveFinished!: (code: number) => void;
  private exitCode: number | undefined;
  private board: Board | undefined;
  private entryPath: string | undefined;
  private projectDir: string;
  private flavorValue: Flavor | undefined;
  private flavorModules: FlavorDef | undefined;
  private routerValue: Router | undefined;
  private embedded: RunningBroker | undefined;
  private closed = false;
  private runForTimer: NodeJS.Timeout | undefined;
  /** performance.now() at which --run-for ends the run, for Lua code that never lets its timer fire. */
  private runForDeadline = Infinity;
  private interruptSource: (() => boolean) | undefined;
  private rebootTimer: NodeJS.Timeout | undefined;
  private readonly host: BoardHost;
  private readonly closers: Array<() => Promise<void>> = [];
  private readonly uartLinksValue = new UartLinks(
    (id, bytes) => this.hardware.feedUart(id, bytes),
    (line) => this.host.stderr(`${line}\n`),
  );

  constructor(options: RuntimeOptions = {}) {
    this.options = options;
    this.device = new Device(() => this.options.device, () => performance.now());
    this.projectDir = resolve(options.cwd ?? process.cwd());
    this.finished = new Promise((resolveFinished) => {
      this.resolveFinished = resolveFinished;
    });
    this.loop.onIdle(() => this.finish(0));
    const ownStdout = options.stdout ?? ((bytes: Uint8Array) => void process.stdout.write(bytes));
    // With a console, the device's output is the console's: nothing reaches stdout.
    const stdout = options.console === undefined ? ownStdout : (bytes: Uint8Array) => void this.uartLinksValue.send(0, this.flavorValue === "nodemcu" ? consoleBytes(bytes) : bytes);
    const stderr = options.stderr ?? ((text: string) => void process.stderr.write(text));
    this.host = {
      loop: this.loop,
      runtime: this,
      stdout,
      stderr,
      callbackFailed: (report) => {
        stderr(`moonrig: ${report}\n`);
        if (!options.keepGoing) this.finish(1);
      },
      requestExit: (code) => this.finish(code),
      requestReboot: (delayMs) => this.reboot(delayMs),
      interruption: () => this.interruption(),
    };
    this.onClose(() => this.uartLinksValue.close());
  }

  /** Outputs the simulated hardware drove, and the inputs an embedder feeds it. */
  get hardware(): HardwareRecorder {
    return this.device.hardware;
  }

  /** @internal The UARTs joined to a pty or TCP port, for the uart bindings. */
  get uartLinks(): UartLinks {
    return this.uartLinksValue;
  }

  /** Where UART `id` can be reached from outside (the `uart` option), once run() has opened it. */
  uartEndpoint(id: number): UartEndpoint | undefined {
    return this.uartLinksValue.endpoint(id);
  }

  /** @internal Whether UART 0 is the interactive serial console (the `console` option), for the NodeMCU bindings. */
  get hasConsole(): boolean {
    return this.options.console !== undefined;
  }

  /** The project directory (LuatOS /luadb/), as the script sees it flat. */
  get projectDirectory(): string {
    return this.projectDir;
  }

  /** The device's flash file system: the `fs` option, else the project directory. */
  get flashDir(): string {
    return resolve(this.options.fs ?? this.projectDir);
  }

  /** NodeMCU's LFS image folder: the `lfs` option, else the project's lfs/ folder when there is one. */
  get lfsDir(): string | undefined {
    if (this.flavorValue !== "nodemcu") return undefined;
    if (this.options.lfs !== undefined) return resolve(this.options.lfs);
    const own = join(this.projectDir, "lfs");
    return isDirectory(own) ? own : undefined;
  }

  get flavor(): Flavor | undefined {
    return this.flavorValue;
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  get router(): Router {
    if (!this.routerValue) throw new Error("the runtime has not started");
    return this.routerValue;
  }

  /** @internal Writes to the run's stderr (the stderr option, else process.stderr): notices, traces. */
  stderr(text: string): void {
    this.host.stderr(text);
  }

  /** @internal The board of the current boot, for the REPL and bindings' tests. */
  get currentBoard(): Board | undefined {
    return this.board;
  }

  /**
   * Boots the device and runs the prelude chunks and the script's main chunk (a file, a
   * project directory, or nothing for a REPL session). Resolves when the main chunk has
   * returned; rejects with LuaFailure (already reported on stderr) or ScriptError.
   */
  async run(script?: string): Promise<void> {
    if (script !== undefined) this.locateEntry(script);
    const sources = [...(this.options.prelude ?? [])];
    if (this.entryPath) sources.push(readFileSync(this.entryPath, "latin1"));
    const choice = this.options.flavor ?? "auto";
    this.flavorValue = choice === "auto" ? detectFlavor(this.entryPath && basename(this.entryPath), sources) : choice;
    this.flavorModules = await loadFlavor(this.flavorValue);
    await this.startRouting();
    const uart = this.uartEntries();
    if (uart) {
      try {
        await this.uartLinksValue.open(uart, this.flavorValue);
      } catch (error) {
        throw error instanceof UartLinkError ? new ScriptError(error.message) : error;
      }
    }
    if (this.options.runFor !== undefined) {
      this.runForTimer = setTimeout(() => this.finish(0), this.options.runFor * 1000);
      this.runForDeadline = performance.now() + this.options.runFor * 1000;
    }
    this.boot();
  }

  /** The `uart` option with the console's UART 0 added. */
  private uartEntries(): Readonly<Record<number, string>> | undefined {
    const console = this.options.console;
    if (console === undefined) return this.options.uart;
    if (this.options.uart?.[0] !== undefined) throw new ScriptError("--console takes UART 0; it cannot be given to --uart as well");
    return { ...this.options.uart, 0: console };
  }

  /** Runs a chunk now in the current boot and returns its results (strings as Buffers). */
  exec(source: string | Uint8Array, chunkname = "=(exec)"): JsValue[] {
    const board = this.requireBoard();
    const L = board.L;
    const top = lua.lua_gettop(L);
    if (loadChunk(L, typeof source === "string" ? bytesOf(source) : source, chunkname) !== lua.LUA_OK) {
      const message = textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array());
      lua.lua_settop(L, top);
      throw new LuaFailure(message);
    }
    try {
      const count = board.protectedCall(0, lua.LUA_MULTRET);
      const values: JsValue[] = [];
      for (let i = count; i >= 1; i--) values.push(toJsValue(L, -i));
      return values;
    } finally {
      lua.lua_settop(L, top);
      this.loop.schedule();
    }
  }

  /**
   * @internal Asked while Lua code runs without returning to the event loop: true makes
   * it fail with "interrupted!" (the REPL's Ctrl-C).
   */
  watchForInterrupt(source: (() => boolean) | undefined): void {
    this.interruptSource = source;
  }

  private interruption(): Interruption | undefined {
    // After the end, exec() may still run chunks in the idle state (see requireBoard).
    if (!this.exited && performance.now() >= this.runForDeadline) {
      this.finish(0);
      return "stop";
    }
    return this.interruptSource?.() ? "interrupt" : undefined;
  }

  /** Registers cleanup for a resource that outlives one boot (the AT modem). */
  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /** Ends the run (if still going), closes every resource and the embedded broker. */
  async close(): Promise<void> {
    this.closed = true;
    this.finish(this.exitCode ?? 0);
    for (const close of this.closers.splice(0)) await close().catch(() => undefined);
    const broker = this.embedded;
    this.embedded = undefined;
    if (broker) await broker.close();
  }

  /** Simulated reboot: a fresh Lua state runs the script again after `delayMs`. */
  reboot(delayMs: number): void {
    if (this.exited) return;
    this.board?.dispose();
    this.board = undefined;
    const release = this.loop.hold();
    clearTimeout(this.rebootTimer);
    this.rebootTimer = setTimeout(() => {
      release();
      if (!this.exited) this.loop.post(() => this.boot());
    }, delayMs);
  }

  private finish(code: number): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = code;
    clearTimeout(this.runForTimer);
    clearTimeout(this.rebootTimer);
    this.loop.stop();
    this.board?.stopRunningLua();
    this.board?.dispose();
    this.resolveFinished(code);
  }

  // A script that ended by itself leaves its Lua state to exec(), so an embedder (or a
  // test) can still look at it; close() ends that too.
  private requireBoard(): Board {
    if (this.closed) throw new Error("the runtime is closed");
    if (!this.board) throw new Error(this.flavorValue === undefined ? "the runtime has not started" : "the device is rebooting");
    return this.board;
  }

  private locateEntry(script: string): void {
    const path = resolve(this.options.cwd ?? process.cwd(), script);
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new ScriptError(`cannot open ${script}`);
    }
    if (stats.isDirectory()) {
      this.projectDir = path;
      this.entryPath = this.options.entry !== undefined ? this.chosenEntry(path, this.options.entry) : findEntry(path, script, this.options.flavor);
    } else {
      if (this.options.cwd === undefined) this.projectDir = dirname(path);
      this.entryPath = path;
    }
    try {
      readFileSync(this.entryPath, { flag: "r" });
    } catch {
      throw new ScriptError(`cannot open ${script}`);
    }
  }

  private chosenEntry(projectDir: string, entry: string): string {
    const path = resolve(projectDir, entry);
    if (!isFile(path)) throw new ScriptError(`cannot open ${entry} in ${projectDir}`);
    return path;
  }

  private async startRouting(): Promise<void> {
    let broker = this.options.broker;
    if (broker === "embedded") {
      const { startBroker } = await import("./broker.js");
      this.embedded = await startBroker({});
      broker = this.embedded.tcpUrl;
    }
    this.routerValue = new Router({ broker, map: this.options.map, notice: (line) => this.host.stderr(`${line}\n`) });
  }

  private boot(): void {
    const def = this.flavorModules as FlavorDef;
    const board = new Board(this.host);
    this.board = board;
    // What is in LFS is not on the flash file system as well.
    const lfs = this.lfsDir;
    const roots = [new Project(this.projectDir, undefined, lfs === undefined ? [] : [lfs])];
    if (this.flashDir !== resolve(this.projectDir)) roots.push(new Project(this.flashDir));
    attachLoader(board, new Loader(roots));
    installBaseLibrary(board, this.options.args ?? [], this.entryPath ? basename(this.entryPath) : "");
    board.addModules(def.modules);
    def.setup?.(board);
    const L = board.L;
    const chunks: Array<() => number> = (this.options.prelude ?? []).map((source) => () => loadChunk(L, bytesOf(source), "=(command line)"));
    // A board on its console with no script named boots as the firmware does, from init.lua on its flash.
    const flashInit = join(this.flashDir, "init.lua");
    const entry = this.entryPath ?? (this.hasConsole && isFile(flashInit) ? flashInit : undefined);
    if (entry) {
      chunks.push(() => loadFile(L, entry));
    }
    try {
      for (const load of chunks) {
        if (load() !== lua.LUA_OK) {
          const report = textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array());
          lua.lua_pop(L, 1);
          throw new LuaFailure(report);
        }
        board.protectedCall(0, 0);
        if (this.exited || this.board !== board) return;
      }
    } catch (error) {
      if (error instanceof ExitUnwind) return;
      // The firmware prints a failing init.lua on its console and carries on at the prompt.
      if (error instanceof LuaFailure && this.hasConsole) {
        board.write(bytesOf(`${error.report}\n`));
        return;
      }
      if (error instanceof LuaFailure) {
        this.host.stderr(`moonrig: ${error.report}\n`);
        this.finish(1);
      }
      throw error;
    } finally {
      this.loop.schedule();
    }
  }
}

/** The ESP8266 console driver (uart0_putc): a newline goes out as CR LF, a CR not at all. */
function consoleBytes(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  for (const byte of bytes) if (byte === 0x0a) extra++;
  const out = new Uint8Array(bytes.length + extra);
  let length = 0;
  for (const byte of bytes) {
    if (byte === 0x0d) continue;
    if (byte === 0x0a) out[length++] = 0x0d;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/**
 * The entry of a project folder: init.lua or main.lua at the top, else the one file of
 * that name anywhere in the flat view (published LuatOS projects keep it in `user/` or
 * `platforms/PC/`). Two candidates are an error naming both.
 */
function findEntry(projectDir: string, script: string, flavor: FlavorChoice | undefined): string {
  const names = flavor === "luatos" ? ["main.lua"] : flavor === "nodemcu" ? ["init.lua"] : ["init.lua", "main.lua"];
  const ordered = flavor === "luatos" ? ["main.lua", "init.lua"] : ["init.lua", "main.lua"];
  const atTop = ordered.map((name) => join(projectDir, name)).find((candidate) => isFile(candidate));
  if (atTop) return atTop;
  const project = new Project(projectDir);
  const found = names.flatMap((name) => project.placesOf(name));
  if (found.length === 1) return found[0] as string;
  if (found.length === 0) throw new ScriptError(`${script}: no init.lua or main.lua in the project directory`);
  const listed = found.map((path) => relative(projectDir, path));
  throw new ScriptError(`${script}: more than one entry file (${listed.join(" and ")}); choose one with --entry`);
}
