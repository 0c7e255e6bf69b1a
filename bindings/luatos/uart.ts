// LuatOS `uart`. Writes are recorded (bytes, per port) and never reach the console: on the
// device the log goes out on its own port, and a script's binary protocol on a UART would
// garble it. A port joined to the outside (--uart ID=pty|tcp:PORT) sends them there too.
// Bytes from that link or an embedder (HardwareRecorder.feedUart) wait in the port's
// receive buffer and are announced to uart.on(id, "receive", fn) as fn(id, length).
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, checkText, optInteger, typeError } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { uartLinksOf } from "../../runtime/uart-links.js";
import { defineModule } from "../common/module.js";
import { portTaken } from "./repl.js";
import { recorderOf } from "../common/recorder.js";
import { toZbuff, type Zbuff } from "./zbuff.js";

const NONE = 0;
const ODD = 1;
const EVEN = 2;
const LSB = 0;
const MSB = 1;
const VUART_0 = 0x20;
const ERROR_DROP = 0xd6;
const DEBUG = 0x3e;
const HARDWARE_PORTS = 4;
const DEFAULT_BAUD = 115200;
const DEFAULT_BUFFER = 1024;
const DEFAULT_READ = 1024;
/** The most one uart.read returns (the firmware's LUAT_UART_RX_MAX_LEN). */
const MAX_READ = 0x10000;

interface Port {
  open: boolean;
  rx: Uint8Array[];
  receiveRef: number | undefined;
  sentRef: number | undefined;
  /** Whether a "receive" notification is already queued (one per burst, as the driver does). */
  notifyPosted: boolean;
  /** A receive callback on a linked port waits for the outside, so it keeps the script running. */
  releaseHold: (() => void) | undefined;
}

function exists(id: number): boolean {
  return (id >= 0 && id < HARDWARE_PORTS) || id === VUART_0;
}

class Uart {
  readonly ports = new Map<number, Port>();

  constructor(readonly board: Board) {
    board.own(recorderOf(board).onUart((id, data) => this.received(id, data)));
  }

  port(id: number): Port {
    let port = this.ports.get(id);
    if (!port) {
      port = { open: false, rx: [], receiveRef: undefined, sentRef: undefined, notifyPosted: false, releaseHold: undefined };
      this.ports.set(id, port);
    }
    return port;
  }

  buffered(port: Port): number {
    return port.rx.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  take(port: Port, count: number): Uint8Array {
    const all = Buffer.concat(port.rx);
    const out = Uint8Array.from(all.subarray(0, count));
    port.rx = count < all.length ? [Uint8Array.from(all.subarray(count))] : [];
    return out;
  }

  private received(id: number, data: Uint8Array): void {
    if (!exists(id) || data.length === 0) return;
    const port = this.port(id);
    port.rx.push(Uint8Array.from(data));
    if (port.notifyPosted) return;
    port.notifyPosted = true;
    this.board.post(() => {
      port.notifyPosted = false;
      const length = this.buffered(port);
      if (port.receiveRef === undefined || length === 0) return;
      this.board.callRef(port.receiveRef, (L) => {
        lua.lua_pushinteger(L, id);
        lua.lua_pushinteger(L, length);
        return 2;
      });
    });
  }

  sent(id: number): void {
    this.board.post(() => {
      const ref = this.ports.get(id)?.sentRef;
      if (ref === undefined) return;
      this.board.callRef(ref, (L) => {
        lua.lua_pushinteger(L, id);
        return 1;
      });
    });
  }

  setRef(id: number, key: "receiveRef" | "sentRef", ref: number | undefined): void {
    const port = this.port(id);
    const old = port[key];
    if (old !== undefined) this.board.unref(old);
    port[key] = ref;
    if (key !== "receiveRef") return;
    port.releaseHold?.();
    port.releaseHold = ref !== undefined && uartLinksOf(this.board).has(id) ? this.board.hold() : undefined;
  }

  /** What the driver's write does: out on the line (and the record), then "sent". */
  transmit(id: number, data: Uint8Array): void {
    recorderOf(this.board).record("uart", "write", [id, data]);
    uartLinksOf(this.board).send(id, data);
    this.sent(id);
  }
}

const uartOf = perBoard((board): Uart => new Uart(board));

/** uart.setup(id[, baud[, data_bits[, stop_bits[, parity[, bit_order[, buff_size ...]]]]]]) → 0 on success. */
const setup = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  if (!exists(id)) {
    lua.lua_pushinteger(L, -1);
    return 1;
  }
  const baud = optInteger(L, 2, DEFAULT_BAUD);
  const dataBits = optInteger(L, 3, 8);
  const stopBits = lua.lua_isnoneornil(L, 4) ? 1 : lua.lua_tonumber(L, 4);
  const parity = optInteger(L, 5, NONE);
  const bitOrder = optInteger(L, 6, LSB);
  const bufferSize = optInteger(L, 7, DEFAULT_BUFFER);
  uartOf(board).port(id).open = true;
  portTaken(board, id);
  recorderOf(board).record("uart", "setup", [id, baud, dataBits, stopBits, parity, bitOrder, bufferSize]);
  lua.lua_pushinteger(L, 0);
  return 1;
};

/**
 * uart.write(id, data[, len]) → the number of bytes sent; "sent" follows through the loop.
 * From a zbuff the firmware sends what lies after the cursor, up to the buffer's end.
 */
const write = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const buff = isUserdata(L, 2) ? checkUartZbuff(L, 2) : undefined;
  let data = buff ? buff.data.subarray(buff.cursor) : checkBytes(L, 2);
  // A negative limit is a huge size_t to the firmware: no limit.
  if (lua.lua_isinteger(L, 3) && lua.lua_tointeger(L, 3) >= 0) data = data.subarray(0, lua.lua_tointeger(L, 3));
  if (!exists(id)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  uartOf(boardOf(L)).transmit(id, data);
  lua.lua_pushinteger(L, data.length);
  return 1;
};

/** uart.tx(id, zbuff[, start[, len]]): start defaults to 0, len to the used part, clipped to the buffer. */
const tx = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  if (!isUserdata(L, 2)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  const buff = checkUartZbuff(L, 2);
  const start = optInteger(L, 3, 0);
  let length = optInteger(L, 4, buff.cursor);
  if (start < 0 || start >= buff.len || !exists(id)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  if (length < 0 || start + length >= buff.len) length = buff.len - start;
  uartOf(boardOf(L)).transmit(id, buff.data.subarray(start, start + length));
  lua.lua_pushinteger(L, length);
  return 1;
};

/**
 * uart.read(id[, len[, zbuff]]): up to len (default 1024, at most 64 KiB) buffered bytes as
 * a string ("" when none); with a zbuff, into it at the cursor, returning the count.
 */
const read = (L: LuaState): number => {
  const uart = uartOf(boardOf(L));
  const id = checkInteger(L, 1);
  const port = uart.ports.get(id);
  // The firmware reads the count as a uint32_t: a negative one asks for as much as it allows.
  const wanted = optInteger(L, 2, DEFAULT_READ) >>> 0;
  if (isUserdata(L, 3)) {
    const buff = checkUartZbuff(L, 3);
    const data = port ? uart.take(port, Math.min(wanted, buff.len - buff.cursor)) : new Uint8Array();
    lua.lua_pushinteger(L, buff.writeAtCursor(data));
    return 1;
  }
  pushBytes(L, port ? uart.take(port, Math.min(wanted, MAX_READ)) : new Uint8Array());
  return 1;
};

/** uart.rx(id, zbuff): everything buffered, appended after the used part (the zbuff grows to fit) → the count. */
const rx = (L: LuaState): number => {
  const uart = uartOf(boardOf(L));
  const id = checkInteger(L, 1);
  if (!isUserdata(L, 2)) {
    lua.lua_pushinteger(L, 0);
    return 1;
  }
  const buff = checkUartZbuff(L, 2);
  const port = uart.ports.get(id);
  const data = port ? uart.take(port, uart.buffered(port)) : new Uint8Array();
  if (data.length > buff.len - buff.cursor) buff.resize(buff.len + data.length);
  lua.lua_pushinteger(L, buff.writeAtCursor(data));
  return 1;
};

/** lua_isuserdata: the firmware picks the zbuff form for any userdata, then checks its type. */
function isUserdata(L: LuaState, arg: number): boolean {
  const type = lua.lua_type(L, arg);
  return type === lua.LUA_TUSERDATA || type === lua.LUA_TLIGHTUSERDATA;
}

function checkUartZbuff(L: LuaState, arg: number): Zbuff {
  return toZbuff(L, arg) ?? typeError(L, arg, "ZBUFF*");
}

/** uart.on(id, "receive" | "recv" | "sent", fn); a non-function clears the callback. */
const on = (L: LuaState): number => {
  const board = boardOf(L);
  const uart = uartOf(board);
  const id = checkInteger(L, 1);
  if (!exists(id)) {
    pushText(L, "no such uart id");
    return 1;
  }
  const event = checkText(L, 2);
  const key = event === "receive" || event === "recv" ? "receiveRef" : event === "sent" ? "sentRef" : undefined;
  if (!key) return 0;
  uart.setRef(id, key, lua.lua_type(L, 3) === lua.LUA_TFUNCTION ? board.ref(L, 3) : undefined);
  return 0;
};

const close = (L: LuaState): number => {
  const board = boardOf(L);
  const uart = uartOf(board);
  const id = checkInteger(L, 1);
  const port = uart.ports.get(id);
  if (port) {
    port.open = false;
    port.rx = [];
  }
  portTaken(board, id);
  recorderOf(board).record("uart", "close", [id]);
  return 0;
};

const exist = (L: LuaState): number => {
  lua.lua_pushboolean(L, exists(checkInteger(L, 1)));
  return 1;
};

const rxSize = (L: LuaState): number => {
  const uart = uartOf(boardOf(L));
  const port = uart.ports.get(checkInteger(L, 1));
  lua.lua_pushinteger(L, port ? uart.buffered(port) : 0);
  return 1;
};

const rxClear = (L: LuaState): number => {
  const port = uartOf(boardOf(L)).ports.get(checkInteger(L, 1));
  if (port) port.rx = [];
  return 0;
};

const wait485 = (L: LuaState): number => {
  lua.lua_pushinteger(L, 0);
  return 1;
};

export const uart = defineModule("uart", {
  functions: { setup, write, read, tx, rx, on, close, exist, rxSize, rx_size: rxSize, rxClear, wait485 },
  constants: { None: NONE, Odd: ODD, Even: EVEN, NONE, ODD, EVEN, LSB, MSB, VUART_0, ERROR_DROP, DEBUG },
  setup: (_L, board) => {
    uartOf(board);
  },
});
