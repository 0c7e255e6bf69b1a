// The firmware's sensor modules talk to their chips through platform_i2c_* on bus 0, not
// through the Lua `i2c` module: these are those register accesses, phase for phase, over the
// device's bus (acknowledgements ignored, as the C modules ignore them).
import type { Board } from "../../runtime/board.js";
import { deviceOf } from "../common/recorder.js";
import type { I2cBus } from "../../device/i2c-bus.js";

const BUS = 0;

function busOf(board: Board): I2cBus {
  return deviceOf(board).i2c(BUS);
}

/** START, address: true when a chip acknowledged; then STOP (a presence probe). */
export function probe(board: Board, address: number): boolean {
  const bus = busOf(board);
  bus.start();
  const ack = bus.address(address, false);
  bus.stop();
  return ack;
}

/** Register pointer, repeated START, `count` bytes read, STOP. */
export function readRegisters(board: Board, address: number, register: number, count: number): Uint8Array {
  const bus = busOf(board);
  bus.start();
  bus.address(address, false);
  bus.write(register);
  return readBytes(bus, address, count);
}

/** START, address for reading, `count` bytes, STOP. */
export function readFrom(board: Board, address: number, count: number): Uint8Array {
  return readBytes(busOf(board), address, count);
}

/** START, address, the bytes (whatever is acknowledged), STOP. */
export function writeTo(board: Board, address: number, bytes: readonly number[]): void {
  const bus = busOf(board);
  bus.start();
  bus.address(address, false);
  for (const byte of bytes) bus.write(byte);
  bus.stop();
}

function readBytes(bus: I2cBus, address: number, count: number): Uint8Array {
  bus.start();
  bus.address(address, true);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = bus.read();
  bus.stop();
  return out;
}
