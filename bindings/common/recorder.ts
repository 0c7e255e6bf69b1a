// The bindings' way to the simulated device (device/) of the runtime a board belongs to.
import type { Board } from "../../runtime/board.js";
import type { Device } from "../../device/device.js";
import type { HardwareRecorder } from "../../device/recorder.js";

export type { HardwareEvent, HardwareRecorder, HardwareValue } from "../../device/recorder.js";

export function recorderOf(board: Board): HardwareRecorder {
  return board.host.runtime.hardware;
}

export function deviceOf(board: Board): Device {
  return board.host.runtime.device;
}

const bootClocks = new WeakMap<Board, number>();

/**
 * Microseconds since this boot's hardware was first touched, wrapped at 31 bits like the
 * ESP8266 system timer: the `when` of gpio interrupts.
 */
export function microsSinceBoot(board: Board): number {
  let boot = bootClocks.get(board);
  if (boot === undefined) {
    boot = performance.now();
    bootClocks.set(board, boot);
  }
  return Math.floor((performance.now() - boot) * 1000) & 0x7fffffff;
}
