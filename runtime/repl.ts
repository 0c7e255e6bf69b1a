// The interactive prompt, modelled on the standalone `lua` 5.3 interpreter: `> ` and `>> `
// prompts, `=expr` and bare expressions print their values, errors are reported and the
// session carries on. Output that callbacks produce while the user is typing is written
// above the prompt and the partly typed line is drawn again underneath.
import { readFileSync, readSync, writeFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as readline from "node:readline";
import type { Runtime } from "./runtime.js";
import { ExitUnwind, LuaFailure, type Board } from "./board.js";
import { loadChunk } from "./loader.js";
import { complete, type Completion } from "./repl-complete.js";
import { lua, lauxlib, bytesOf, textOf, type LuaJsFunction } from "../engine/lua.js";

export interface ReplOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Where history is kept across sessions; "" keeps none. Default $MOONRIG_HISTORY or ~/.moonrig_history. */
  historyFile?: string;
  /** Line editing and ANSI redrawing; default: both streams are TTYs. */
  terminal?: boolean;
}

export const PROMPT = "> ";
export const CONTINUATION_PROMPT = ">> ";
export const HISTORY_SIZE = 500;
const CHUNK_NAME = "=stdin";
/** lua.c: an incomplete chunk fails with a syntax error ending in this mark. */
const EOF_MARK = "<eof>";
const NEWLINE = 0x0a;
const CTRL_C = 0x03;

/** readline.Interface members that exist in Node 20 but are not in its type definitions. */
interface ReadlineInternals {
  line: string;
  cursor: number;
  prevRows?: number;
  clearLine?: () => void;
}

export class Repl {
  private readonly input: NodeJS.ReadableStream;
  private readonly out: NodeJS.WritableStream;
  private readonly terminal: boolean;
  /** ANSI cursor movement is allowed (a terminal that is not TERM=dumb). */
  private readonly fancy: boolean;
  private readonly historyFile: string;
  private rl: readline.Interface | undefined;
  /** Lines of a chunk that is not complete yet. */
  private pending: string | undefined;
  /** A prompt is on screen and readline owns the current line. */
  private promptShown = false;
  /** The last byte written ended a line (or nothing has been written). */
  private atLineStart = true;
  /** Output that arrived while the prompt was shown, written above it in one go. */
  private queued: Uint8Array[] = [];
  private flushScheduled = false;
  private ended = false;
  private release: (() => void) | undefined;
  private resolveDone: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly runtime: Runtime, options: ReplOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.out = options.output ?? process.stdout;
    const tty = (stream: unknown) => Boolean((stream as { isTTY?: boolean }).isTTY);
    this.terminal = options.terminal ?? (tty(this.input) && tty(this.out));
    this.fancy = this.terminal && process.env["TERM"] !== "dumb";
    this.historyFile = options.historyFile ?? process.env["MOONRIG_HISTORY"] ?? join(homedir(), ".moonrig_history");
    // Hold the loop at once: the script going idle must not end the run while the prompt is open.
    this.release = runtime.exited ? undefined : runtime.loop.hold();
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Everything the runtime prints while the REPL is open comes through here. */
  output(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.promptShown && this.fancy && this.rl && !this.ended) {
      this.queued.push(bytes);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flushAboveprompt());
      }
      return;
    }
    this.write(bytes);
  }

  /** Shows the banner and reads chunks until Ctrl-D, os.exit or the end of the run. */
  async run(): Promise<void> {
    if (this.ended || this.rl) return this.done;
    this.writeText(`${banner(this.runtime)}\n`);
    if (this.runtime.exited) {
      this.end();
      return this.done;
    }
    const history = this.terminal ? this.loadHistory() : [];
    const rl = readline.createInterface({
      input: this.input,
      output: this.out,
      terminal: this.terminal,
      prompt: PROMPT,
      history,
      historySize: HISTORY_SIZE,
      tabSize: 8,
      completer: (line: string): Completion => {
        const board = this.runtime.currentBoard;
        return board && !board.disposed ? complete(board, line) : [[], line];
      },
    });
    this.rl = rl;
    if (this.terminal) this.runtime.watchForInterrupt(this.ctrlCTyped);
    rl.on("line", (line) => this.onLine(line));
    rl.on("close", () => this.end());
    rl.on("SIGINT", () => this.cancelInput());
    if (this.terminal) rl.on("history", (entries) => this.saveHistory(entries));
    void this.runtime.finished.then(() => this.end());
    this.showPrompt();
    return this.done;
  }

  // ---- reading chunks ----

  private onLine(line: string): void {
    this.promptShown = false;
    this.atLineStart = true;
    if (this.ended) return;
    const board = this.runtime.currentBoard;
    if (!board || board.disposed) {
      this.pending = undefined;
      this.writeText(this.runtime.exited ? "moonrig: the script has ended\n" : "moonrig: the device is restarting, try again\n");
    } else if (this.pending === undefined) {
      this.firstLine(board, line.startsWith("=") ? `return ${line.slice(1)}` : line);
    } else {
      this.moreLines(board, `${this.pending}\n${line}`);
    }
    if (this.ended) return;
    if (this.runtime.exited) {
      this.end();
      return;
    }
    this.showPrompt();
  }

  /** Like lua.c's addreturn: an expression prints its values; otherwise a statement. */
  private firstLine(board: Board, line: string): void {
    const L = board.L;
    if (loadChunk(L, bytesOf(`return ${line}`), CHUNK_NAME) === lua.LUA_OK) {
      this.execute(board);
      return;
    }
    lua.lua_pop(L, 1);
    this.moreLines(board, line);
  }

  /** Like lua.c's multiline: keep reading while the chunk is incomplete. */
  private moreLines(board: Board, chunk: string): void {
    const L = board.L;
    const status = loadChunk(L, bytesOf(chunk), CHUNK_NAME);
    if (status === lua.LUA_OK) {
      this.pending = undefined;
      this.execute(board);
      return;
    }
    const message = textOf(lua.lua_tolstring(L, -1) ?? bytesOf("(error object is not a string)"));
    lua.lua_pop(L, 1);
    if (status === lua.LUA_ERRSYNTAX && message.endsWith(EOF_MARK)) {
      this.pending = chunk;
      return;
    }
    this.pending = undefined;
    this.writeText(`${message}\n`);
  }

  /** Runs the loaded chunk on top of the stack and prints its results, tab-separated. */
  private execute(board: Board): void {
    const L = board.L;
    const top = lua.lua_gettop(L) - 1;
    try {
      const count = board.protectedCall(0, lua.LUA_MULTRET);
      if (count > 0 && !this.runtime.exited) {
        lauxlib.luaL_checkstack(L, 1, "too many results to print");
        lua.lua_pushjsfunction(L, displayAll);
        lua.lua_insert(L, top + 1);
        try {
          board.protectedCall(count, 1);
          const line = lua.lua_tolstring(L, -1) ?? new Uint8Array();
          this.write(line);
        } catch (error) {
          if (!(error instanceof LuaFailure)) throw error;
          this.writeText(`error calling 'print' (${error.report})\n`);
        }
      }
    } catch (error) {
      if (error instanceof ExitUnwind) return;
      if (!(error instanceof LuaFailure)) throw error;
      this.writeText(`${error.report}\n`);
    } finally {
      if (!board.disposed) lua.lua_settop(L, top);
      this.runtime.loop.schedule();
    }
  }

  /**
   * Whether Ctrl-C was typed while Lua code runs: the terminal is in raw mode and the event
   * loop is not reading it then, so look at its descriptor directly, without blocking
   * (node keeps a terminal it reads non-blocking). Other keys typed meanwhile go back to
   * readline, after the line being handled, in the order typed.
   */
  private readonly ctrlCTyped = (): boolean => {
    const fd = (this.input as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return false;
    const typed: Buffer[] = [];
    let interrupted = false;
    const buffer = Buffer.alloc(256);
    for (;;) {
      let count: number;
      try {
        count = readSync(fd, buffer, 0, buffer.length, null);
      } catch {
        break; // EAGAIN: nothing more typed
      }
      if (count === 0) break;
      const chunk = buffer.subarray(0, count);
      if (chunk.includes(CTRL_C)) interrupted = true;
      typed.push(Buffer.from(chunk.filter((byte) => byte !== CTRL_C)));
    }
    const rest = Buffer.concat(typed);
    if (rest.length > 0) queueMicrotask(() => (this.input as NodeJS.ReadableStream & { unshift(chunk: Buffer): void }).unshift(rest));
    return interrupted;
  };

  private cancelInput(): void {
    if (this.ended || !this.rl) return;
    const rl = this.rl as unknown as ReadlineInternals;
    // Show where the line was abandoned, then start afresh on the next line.
    this.rl.write(null, { ctrl: true, name: "e" });
    this.out.write("^C");
    if (typeof rl.clearLine === "function") {
      rl.clearLine();
    } else {
      this.out.write("\r\n");
      rl.line = "";
      rl.cursor = 0;
    }
    this.pending = undefined;
    this.promptShown = false;
    this.atLineStart = true;
    this.showPrompt();
  }

  private showPrompt(): void {
    const rl = this.rl;
    if (!rl || this.ended) return;
    if (this.fancy && !this.atLineStart) this.writeText("\n");
    rl.setPrompt(this.pending === undefined ? PROMPT : CONTINUATION_PROMPT);
    rl.prompt();
    this.promptShown = true;
    this.atLineStart = false;
  }

  // ---- output ----

  private write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.out.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.atLineStart = bytes[bytes.length - 1] === NEWLINE;
  }

  private writeText(text: string): void {
    this.write(bytesOf(text));
  }

  /** Clears the prompt line(s), writes the queued output, draws prompt and typed text again. */
  private flushAboveprompt(): void {
    this.flushScheduled = false;
    const chunks = this.queued;
    this.queued = [];
    if (chunks.length === 0) return;
    const rl = this.rl;
    if (!rl || this.ended || !this.promptShown) {
      for (const bytes of chunks) this.write(bytes);
      return;
    }
    const rows = rl.getCursorPos().rows;
    if (rows > 0) readline.moveCursor(this.out, 0, -rows);
    readline.cursorTo(this.out, 0);
    readline.clearScreenDown(this.out);
    for (const bytes of chunks) this.write(bytes);
    if (!this.atLineStart) this.writeText("\n");
    // readline moves up by the rows the old prompt took; the cursor now starts a fresh line.
    (rl as unknown as ReadlineInternals).prevRows = 0;
    rl.prompt(true);
    this.atLineStart = false;
  }

  // ---- history ----

  private loadHistory(): string[] {
    if (this.historyFile === "") return [];
    try {
      const lines = readFileSync(this.historyFile, "utf8").split("\n").filter((line) => line.trim() !== "");
      return lines.slice(-HISTORY_SIZE).reverse();
    } catch {
      return [];
    }
  }

  /** readline keeps the newest entry first; the file keeps it last, like GNU readline. */
  private saveHistory(entries: readonly string[]): void {
    if (this.historyFile === "") return;
    try {
      const lines = entries.slice(0, HISTORY_SIZE).reverse();
      writeFileSync(this.historyFile, lines.length > 0 ? `${lines.join("\n")}\n` : "", { mode: 0o600 });
    } catch {
      // An unwritable history file must not break the session.
    }
  }

  // ---- ending ----

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const chunks = this.queued;
    this.queued = [];
    for (const bytes of chunks) this.write(bytes);
    if (this.promptShown) this.writeText("\n");
    this.promptShown = false;
    // History was saved as each line was entered; an idle session leaves the file alone.
    this.runtime.watchForInterrupt(undefined);
    this.rl?.close();
    this.release?.();
    this.release = undefined;
    this.resolveDone?.();
  }
}

/** Joins the tostring() of every argument with tabs and a final newline, as one string. */
const displayAll: LuaJsFunction = (L) => {
  const n = lua.lua_gettop(L);
  const parts: Uint8Array[] = [];
  for (let i = 1; i <= n; i++) {
    parts.push(lauxlib.luaL_tolstring(L, i));
    lua.lua_pop(L, 1);
  }
  const size = parts.reduce((sum, bytes) => sum + bytes.length, 0) + n;
  const line = new Uint8Array(size);
  let offset = 0;
  parts.forEach((bytes, i) => {
    if (i > 0) line[offset++] = 0x09;
    line.set(bytes, offset);
    offset += bytes.length;
  });
  line[offset] = NEWLINE;
  lua.lua_pushstring(L, line);
  return 1;
};

export function banner(runtime: Runtime): string {
  return `moonrig ${moonrigVersion()} (Lua 5.3, fengari) ${runtime.flavor ?? "nodemcu"} flavor`;
}

let versionCache: string | undefined;

/** The package version; the bundle puts this code in dist/chunks/, so look upwards. */
export function moonrigVersion(): string {
  if (versionCache !== undefined) return versionCache;
  versionCache = "unknown";
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "moonrig") {
          versionCache = pkg.version ?? "unknown";
          break;
        }
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return versionCache;
}
