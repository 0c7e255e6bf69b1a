// NodeMCU's Lua interpreter and its serial console. The firmware reads UART 0 a line at a
// time (echoing what is typed, as app/driver/input.c does) and writes each line into a
// "stdin" pipe; a low-priority task takes complete lines out of the pipe and compiles them
// (app/lua53/lua.c dojob), keeping an incomplete chunk for the next line. node.input writes
// into the same pipe, so a telnet session and the serial console share one interpreter.
// The serial side exists only with --console; node.input works without it.
import { lua, bytesOf, pushBytes, pushText, textOf } from "../../engine/lua.js";
import { ExitUnwind, LuaFailure, perBoard, type Board } from "../../runtime/board.js";
import { loadChunk } from "../../runtime/loader.js";
import { recorderOf } from "../common/recorder.js";

const PROMPT = bytesOf("> ");
const CONTINUATION_PROMPT = bytesOf(">> ");
/** LUA_MAXINPUT: a typed line this long starts over from its next character. */
const MAX_INPUT = 256;
/** lua.c: an incomplete chunk fails with a syntax error ending in this mark. */
const EOF_MARK = "<eof>";
const ERROR_PREFIX = bytesOf("Lua error: ");
const LF = 0x0a;
const CR = 0x0d;
const BS = 0x08;
const DEL = 0x7f;
const BACKSPACE_OVER = bytesOf("\b \b");
/** The firmware prints its name, build and Lua release at every boot, before init.lua runs. */
const BANNER = bytesOf("\nNodeMCU 3.0.0.0 on moonrig powered by Lua 5.3 (fengari)\n");

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class Interpreter {
  /** What was written into the stdin pipe and not yet read as a line. */
  private pipe: Uint8Array = new Uint8Array(0);
  private readerPosted = false;
  /** Lines of a chunk that is not complete yet (lua.c's MLref). */
  private multiline: Uint8Array | undefined;
  /** What an empty typed line brings back (input_setprompt): the prompt last written. */
  private prompt: Uint8Array = PROMPT;
  /** The line being typed on UART 0. */
  private typed: number[] = [];
  private lastChar = 0;
  /** uart.setup's echo flag. */
  echo = true;
  /** False once uart.on("data", ..., 0) takes UART 0 away from the interpreter. */
  runInput = true;
  /** uart.on("data") with run_input 1: called with each typed line, before it runs. */
  lineHandler: ((line: Uint8Array) => void) | undefined;

  constructor(private readonly board: Board) {}

  /** Writes into the stdin pipe (node.input, lua_input_string); complete lines run later, one per task. */
  input(bytes: Uint8Array): void {
    this.pipe = this.pipe.length === 0 ? Uint8Array.from(bytes) : concat(this.pipe, bytes);
    this.postReader();
  }

  /** Characters arriving on UART 0 while the interpreter owns it (input_readline). */
  receive(data: Uint8Array): void {
    for (const ch of data) {
      // CR LF and LF CR end one line, not two.
      if ((ch === CR && this.lastChar === LF) || (ch === LF && this.lastChar === CR)) {
        this.lastChar = 0;
        continue;
      }
      if (ch === DEL || ch === BS) {
        if (this.typed.length > 0) {
          if (this.echo) this.serial(BACKSPACE_OVER);
          this.typed.pop();
        }
        this.lastChar = 0;
        continue;
      }
      this.lastChar = ch;
      if (ch === CR || ch === LF) {
        if (this.echo) this.serial(Uint8Array.of(LF));
        const line = Uint8Array.from(this.typed);
        this.typed = [];
        this.lineHandler?.(line);
        // An empty line only brings the prompt back; it does not end a multi-line chunk.
        if (line.length === 0) this.serial(this.prompt);
        else this.input(concat(line, Uint8Array.of(LF)));
        continue;
      }
      if (this.echo) this.serial(Uint8Array.of(ch));
      if (this.typed.length + 1 >= MAX_INPUT) this.typed = [];
      this.typed.push(ch);
    }
  }

  /** Straight to the UART, past node.output: echo, the empty-line prompt, the banner. */
  serial(bytes: Uint8Array): void {
    this.board.writeSerial(bytes);
  }

  private postReader(): void {
    if (this.readerPosted || !this.pipe.includes(LF)) return;
    this.readerPosted = true;
    this.board.post(() => {
      this.readerPosted = false;
      const end = this.pipe.indexOf(LF);
      if (end < 0) return;
      const line = this.pipe.slice(0, end);
      this.pipe = this.pipe.slice(end + 1);
      this.runLine(line);
      if (!this.board.disposed) this.postReader();
    });
  }

  /** lua.c dojob: compile, run or keep for more, print results or the error, write the prompt. */
  private runLine(line: Uint8Array): void {
    const board = this.board;
    const L = board.L;
    const top = lua.lua_gettop(L);
    let chunk = line;
    if (this.multiline !== undefined) chunk = concat(this.multiline, Uint8Array.of(LF), line);
    else if (line[0] === 0x3d /* = */) chunk = concat(bytesOf("return "), line.subarray(1));
    const status = loadChunk(L, chunk, "=stdin");
    if (status === lua.LUA_ERRSYNTAX && textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array()).endsWith(EOF_MARK)) {
      lua.lua_settop(L, top);
      this.multiline = chunk;
    } else {
      this.multiline = undefined;
      try {
        if (status === lua.LUA_OK) {
          this.print(board.protectedCall(0, lua.LUA_MULTRET));
        } else {
          pushBytes(L, ERROR_PREFIX);
          lua.lua_insert(L, -2);
          this.print(2);
        }
      } catch (error) {
        if (error instanceof ExitUnwind) return;
        if (!(error instanceof LuaFailure)) throw error;
        // docall's message handler gives the message with its traceback.
        pushBytes(L, ERROR_PREFIX);
        pushText(L, error.report);
        this.print(2);
      } finally {
        if (!board.disposed) lua.lua_settop(L, top);
      }
    }
    if (board.disposed) return;
    this.prompt = this.promptFor(this.multiline === undefined);
    board.write(this.prompt);
  }

  /** l_print: the global print with the `count` values on top of the stack. */
  private print(count: number): void {
    if (count === 0) return;
    const L = this.board.L;
    lua.lua_getglobal(L, "print");
    lua.lua_insert(L, -count - 1);
    try {
      this.board.protectedCall(count, 0);
    } catch (error) {
      if (!(error instanceof LuaFailure)) throw error;
      this.serial(bytesOf(`error calling 'print' (${error.message})\n`));
    }
  }

  /** _PROMPT and _PROMPT2 replace the prompts when set, as in lua.c. */
  private promptFor(firstLine: boolean): Uint8Array {
    const L = this.board.L;
    lua.lua_getglobal(L, firstLine ? "_PROMPT" : "_PROMPT2");
    const custom = lua.lua_type(L, -1) === lua.LUA_TSTRING || lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tolstring(L, -1) : undefined;
    lua.lua_pop(L, 1);
    return custom ? Uint8Array.from(custom) : firstLine ? PROMPT : CONTINUATION_PROMPT;
  }
}

export const interpreterOf = perBoard((board): Interpreter => new Interpreter(board));

/**
 * With --console, each boot starts as the firmware's does: the banner on UART 0, the
 * script, then the first prompt from the queued blank line; the board then waits on its
 * console for good.
 */
export function startConsole(board: Board): void {
  if (!board.host.runtime.hasConsole) return;
  const interpreter = interpreterOf(board);
  board.own(recorderOf(board).onUart((id, data) => {
    if (id === 0 && interpreter.runInput) interpreter.receive(data);
  }));
  board.hold();
  interpreter.serial(BANNER);
  interpreter.input(bytesOf(" \n"));
}
