// LuatOS `repl` (components/repl, in builds with LUAT_USE_REPL): Lua typed on the board's
// log port. A line ends at CR or LF; a block between a `<<EOF` line and an `EOF` line runs
// as one chunk. There is no echo and no prompt but the first, results are not printed, and
// an error comes back as its bare message. With --console the port is UART 0; the script
// takes it over with uart.setup(0) (the REPL then stops reading it) or turns the REPL off
// with repl.enable(false). repl.push feeds the same reader.
import { lua, bytesOf, textOf, type LuaState } from "../../engine/lua.js";
import { boardOf, ExitUnwind, LuaFailure, perBoard, type Board } from "../../runtime/board.js";
import { loadChunk } from "../../runtime/loader.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

const CR = 0x0d;
const LF = 0x0a;
const BLOCK_START = ["<<EOF\r", "<<EOF\n"].map(bytesOf);
const BLOCK_END = ["EOF\r", "EOF\n"].map(bytesOf);
/** What the firmware's luat_repl_init writes; moonrig writes it as each boot starts. */
const READY = bytesOf("LuatOS Ready\r\n>");

function startsWith(buffer: readonly number[], at: number, mark: Uint8Array): boolean {
  for (let i = 0; i < mark.length; i++) if (buffer[at + i] !== mark[i]) return false;
  return true;
}

class Shell {
  enabled = true;
  /** uart.setup or uart.close on the REPL's port: the script owns it from then on. */
  taken = false;
  private buffer: number[] = [];

  constructor(private readonly board: Board) {}

  push(bytes: Uint8Array): void {
    if (bytes.length === 0 || !this.enabled) return;
    this.buffer.push(...bytes);
    while (this.takeChunk()) {
      // each pass queues one chunk
    }
  }

  /** luat_repl.c find2run: queues the next complete line or block; false when there is none yet. */
  private takeChunk(): boolean {
    let skip = 0;
    while (skip < this.buffer.length && (this.buffer[skip] === CR || this.buffer[skip] === LF)) skip++;
    this.buffer.splice(0, skip);
    if (this.buffer.length === 0) return false;
    if (BLOCK_START.some((mark) => startsWith(this.buffer, 0, mark))) {
      for (let i = 6; i < this.buffer.length - 4; i++) {
        if (BLOCK_END.some((mark) => startsWith(this.buffer, i, mark))) {
          // Whatever came after the block's end in the same buffer is dropped, as in the firmware.
          const chunk = Uint8Array.from(this.buffer.slice(6, i));
          this.buffer = [];
          this.run(chunk);
          return true;
        }
      }
      return false;
    }
    for (let i = 1; i < this.buffer.length; i++) {
      if (this.buffer[i] === CR || this.buffer[i] === LF) {
        this.run(Uint8Array.from(this.buffer.splice(0, i)));
        return true;
      }
    }
    return false;
  }

  /** repl_handle: runs from the message bus, errors written as their message and CR LF. */
  private run(chunk: Uint8Array): void {
    const board = this.board;
    board.post(() => {
      const L = board.L;
      const top = lua.lua_gettop(L);
      let message: string;
      if (loadChunk(L, chunk, "repl") !== lua.LUA_OK) {
        message = textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array());
      } else {
        try {
          board.protectedCall(0, 0);
          return;
        } catch (error) {
          if (error instanceof ExitUnwind) return;
          if (!(error instanceof LuaFailure)) throw error;
          // The firmware calls the chunk without a message handler: no traceback.
          message = error.message;
        }
      }
      if (!board.disposed) lua.lua_settop(L, top);
      board.writeSerial(bytesOf(`${message}\r\n`));
    });
  }
}

const shellOf = perBoard((board): Shell => new Shell(board));

/** The UART the REPL reads with --console. */
export const REPL_UART = 0;

/** uart.setup/uart.close on a port: the REPL leaves the console's port to the script. */
export function portTaken(board: Board, id: number): void {
  if (id === REPL_UART) shellOf(board).taken = true;
}

/** With --console: the ready line, then UART 0 feeds the REPL for good. */
export function startRepl(board: Board): void {
  if (!board.host.runtime.hasConsole) return;
  const shell = shellOf(board);
  board.own(recorderOf(board).onUart((id, data) => {
    if (id === REPL_UART && !shell.taken) shell.push(data);
  }));
  board.hold();
  board.writeSerial(READY);
}

/** repl.enable([flag]): returns true when the REPL was off before, as luat_lib_repl.c does. */
const enable = (L: LuaState): number => {
  const shell = shellOf(boardOf(L));
  const before = shell.enabled;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) shell.enabled = lua.lua_toboolean(L, 1);
  lua.lua_pushboolean(L, !before);
  return 1;
};

/** repl.push(data): feeds the reader as if the bytes had arrived on the port; anything but a string is ignored. */
const push = (L: LuaState): number => {
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING || lua.lua_type(L, 1) === lua.LUA_TNUMBER) shellOf(boardOf(L)).push(Uint8Array.from(lua.lua_tolstring(L, 1) as Uint8Array));
  return 0;
};

/** The firmware's repl.print is a stub that does nothing yet. */
const print = (): number => 0;

export const repl = defineModule("repl", {
  functions: { enable, push, print },
});
