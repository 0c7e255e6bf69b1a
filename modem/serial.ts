// Opens a real serial port (or one end of a pty pair) for the AT driver. serialport has a
// native addon and is an optional dependency, so it is imported only when a port is used.

import { stat } from "node:fs/promises";
import type { Duplex } from "node:stream";

export interface SerialOpenOptions {
  /** Take an exclusive lock on the port (default true, as serialport does). */
  lock?: boolean;
}

/** Opens `path` at `baud` 8N1 and resolves once it is open. */
export async function openSerialPort(path: string, baud = 115_200, options: SerialOpenOptions = {}): Promise<Duplex> {
  if (!Number.isInteger(baud) || baud <= 0) {
    throw new Error(`AT modem port ${path}: baud rate must be a positive integer, got ${baud}`);
  }
  // Windows COM ports have no file system entry to check.
  if (process.platform !== "win32") {
    try {
      await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === "ENOENT"
          ? `AT modem port ${path} does not exist`
          : `AT modem port ${path} cannot be used: ${(err as Error).message}`,
      );
    }
  }
  let SerialPort: typeof import("serialport").SerialPort;
  try {
    ({ SerialPort } = await import("serialport"));
  } catch (err) {
    throw new Error(
      `the serialport package is needed to open the AT modem port ${path} but could not be loaded ` +
        `(${(err as Error).message}); install it with: npm install serialport`,
    );
  }
  const port = new SerialPort({
    path,
    baudRate: baud,
    dataBits: 8,
    parity: "none",
    stopBits: 1,
    autoOpen: false,
    lock: options.lock ?? true,
  });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (err) reject(new Error(`AT modem port ${path} could not be opened: ${err.message}`));
      else resolve();
    });
  });
  // Destroying a SerialPort stream leaves the port open and locked, so that the next open
  // fails ("Cannot lock port"): destroying it closes it here.
  port._destroy = (error, callback) => {
    if (!port.isOpen) return callback(error);
    port.close(() => callback(error));
  };
  return port;
}
