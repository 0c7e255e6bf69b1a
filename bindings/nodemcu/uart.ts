// NodeMCU `uart`. UART 0 is the console: uart.write(0, ...) goes to the script's stdout
// like print, unless --uart links UART 0 to a pty or TCP port, where it then goes instead
// (print stays on stdout). UART 1 is transmit-only. Received data for uart.on("data")
// comes from the link or the embedder (recorder.feedUart), not from the process's stdin,
// which the REPL owns. With --console, UART 0 feeds the Lua interpreter (console.ts) unless
// uart.on("data", ..., 0) takes it; with run_input 1 the handler gets each typed line.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { uartLinksOf } from "../../runtime/uart-links.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { checkId, unsigned } from "./gpio.js";
import { interpreterOf } from "./console.js";

const NUM_UART = 2;
const MAX_NEED = 255;

const PARITY_NONE = 0;
const PARITY_EVEN = 1;
const PARITY_ODD = 2;
const STOPBITS_1 = 1;
const STOPBITS_2 = 2;
const STOPBITS_1_5 = 3;

interface Config {
  baud: number;
  databits: number;
  parity: number;
  stopbits: number;
}

class UartState {
  readonly configs: Config[] = Array.from({ length: NUM_UART }, () => ({ baud: 115200, databits: 8, parity: PARITY_NONE, stopbits: STOPBITS_1 }));
  echo = true;
  dataRef: number | undefined;
  needLength = 0;
  endChar: number | undefined;
  private pending: number[] = [];
  /** A data handler on a linked UART 0 waits for the outside, so it keeps the script running. */
  private releaseHold: (() => void) | undefined;

  constructor(readonly board: Board) {
    board.own(recorderOf(board).onUart((id, data) => this.received(id, data)));
  }

  setHandler(ref: number | undefined, needLength: number, endChar: number | undefined, runInput: boolean): void {
    if (this.dataRef !== undefined) this.board.unref(this.dataRef);
    // On the console, run_input 1 leaves UART 0 to the interpreter, which hands the handler each line.
    const interpreter = interpreterOf(this.board);
    interpreter.runInput = ref === undefined || runInput;
    interpreter.lineHandler = ref !== undefined && runInput ? (line) => this.post(ref, line) : undefined;
    this.dataRef = ref;
    this.needLength = needLength;
    this.endChar = endChar;
    this.pending = [];
    this.releaseHold?.();
    this.releaseHold = ref !== undefined && uartLinksOf(this.board).has(0) ? this.board.hold() : undefined;
  }

  /** Only UART 0 can receive on the ESP8266. Chunks are cut as uart.on asked. */
  private received(id: number, data: Uint8Array): void {
    if (id !== 0 || this.dataRef === undefined) return;
    if (this.board.host.runtime.hasConsole && interpreterOf(this.board).runInput) return;
    this.pending.push(...data);
    const chunks: Uint8Array[] = [];
    if (this.endChar !== undefined) {
      for (;;) {
        const end = this.pending.indexOf(this.endChar);
        if (end < 0 && this.pending.length < MAX_NEED) break;
        const length = end < 0 ? MAX_NEED : end + 1;
        chunks.push(Uint8Array.from(this.pending.splice(0, length)));
      }
    } else if (this.needLength > 0) {
      while (this.pending.length >= this.needLength) chunks.push(Uint8Array.from(this.pending.splice(0, this.needLength)));
    } else if (this.pending.length > 0) {
      chunks.push(Uint8Array.from(this.pending.splice(0)));
    }
    for (const chunk of chunks) this.post(this.dataRef, chunk);
  }

  private post(ref: number, chunk: Uint8Array): void {
    this.board.post(() => {
      if (this.dataRef !== ref) return;
      this.board.callRef(ref, (L) => {
        pushBytes(L, chunk);
        return 1;
      });
    });
  }
}

const stateOf = perBoard((board): UartState => new UartState(board));

function checkUart(L: LuaState): number {
  const id = unsigned(checkInteger(L, 1));
  checkId(L, "uart", id, NUM_UART);
  return id;
}

/** uart.on(method, [number/end_char], [function], [run_input]) */
const on = (L: LuaState): number => {
  const method = new TextDecoder().decode(checkBytes(L, 1));
  let arg = 2;
  let needLength = 0;
  let endChar: number | undefined;
  if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
    needLength = unsigned(checkInteger(L, arg++)) & 0xffff;
    if (needLength > MAX_NEED) raise(L, "wrong arg range");
  } else if (lua.lua_type(L, arg) === lua.LUA_TSTRING) {
    const end = checkBytes(L, arg++);
    if (end.length !== 1) raise(L, "wrong arg range");
    endChar = end[0];
  }
  if (method !== "data") raise(L, "method not supported");
  const board = boardOf(L);
  const ref = lua.lua_type(L, arg) === lua.LUA_TFUNCTION ? board.ref(L, arg) : undefined;
  const runInput = !(lua.lua_isnumber(L, arg + 1) && lua.lua_tointeger(L, arg + 1) === 0);
  stateOf(board).setHandler(ref, needLength, endChar, runInput);
  return 0;
};

const setup = (L: LuaState): number => {
  const id = checkUart(L);
  const baud = unsigned(checkInteger(L, 2));
  const databits = unsigned(checkInteger(L, 3));
  const parity = unsigned(checkInteger(L, 4));
  const stopbits = unsigned(checkInteger(L, 5));
  const board = boardOf(L);
  const state = stateOf(board);
  if (lua.lua_isnumber(L, 6)) {
    state.echo = lua.lua_tointeger(L, 6) !== 0;
    interpreterOf(board).echo = state.echo;
  }
  state.configs[id] = { baud, databits, parity, stopbits };
  recorderOf(board).record("uart", "setup", [id, baud, databits, parity, stopbits, state.echo]);
  lua.lua_pushinteger(L, baud);
  return 1;
};

const getconfig = (L: LuaState): number => {
  const id = checkUart(L);
  const config = stateOf(boardOf(L)).configs[id] as Config;
  for (const value of [config.baud, config.databits, config.parity, config.stopbits]) lua.lua_pushinteger(L, value);
  return 4;
};

const alt = (L: LuaState): number => {
  const alternate = checkInteger(L, 1);
  recorderOf(boardOf(L)).record("uart", "alt", [alternate]);
  return 0;
};

/** Numbers are single bytes; anything else must be a string (no coercion of tables). */
const write = (L: LuaState): number => {
  const id = checkUart(L);
  const top = lua.lua_gettop(L);
  const parts: number[] = [];
  for (let arg = 2; arg <= top; arg++) {
    if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
      const byte = unsigned(lua.lua_tointeger(L, arg));
      if (byte > 255) raise(L, "invalid number");
      parts.push(byte);
    } else if (lua.lua_type(L, arg) === lua.LUA_TSTRING) {
      parts.push(...(lua.lua_tolstring(L, arg) as Uint8Array));
    } else {
      typeError(L, arg, "string");
    }
  }
  const bytes = Uint8Array.from(parts);
  const board = boardOf(L);
  recorderOf(board).record("uart", "write", [id, bytes]);
  if (!uartLinksOf(board).send(id, bytes) && id === 0 && bytes.length > 0) board.write(bytes);
  return 0;
};

export const uart = defineModule("uart", {
  functions: { setup, getconfig, write, on, alt },
  constants: { STOPBITS_1, STOPBITS_1_5, STOPBITS_2, PARITY_NONE, PARITY_EVEN, PARITY_ODD },
  setup: (_L, board) => {
    stateOf(board);
  },
});
