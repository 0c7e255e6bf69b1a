// The CLI's standard output and error. Creating process.stdout or process.stderr loads
// node's stream modules, a few milliseconds of every start-up for a script that prints one
// line. Where node's own writes are synchronous on Linux (a file, a pipe, a socket,
// /dev/null), the bytes go straight to the descriptor instead; a terminal, Windows, and any
// descriptor found non-blocking (EAGAIN) go through the stream, which from then on takes
// everything for that descriptor so the order is kept. When the reader has gone (EPIPE:
// `moonrig script.lua | head`), the descriptor's owner decides what happens; the CLI ends
// quietly, as a Unix tool killed by SIGPIPE would.
import { fstatSync, writeSync } from "node:fs";

export type Output = (data: Uint8Array | string) => void;

/** What outputTo uses of node; tests hand in their own. */
export interface Descriptor {
  /** Whether writes to `fd` would be synchronous in node anyway. */
  synchronous(): boolean;
  writeSync(bytes: Uint8Array, offset: number): number;
  /** The stream for the descriptor, created on first use. */
  stream(): { write(data: Uint8Array | string): unknown };
  /** Nobody reads the descriptor any more. */
  readerGone(): void;
}

/** Linux's major number of the memory devices: /dev/null, /dev/zero, /dev/full. */
const MEMORY_DEVICES = 1;

function writesSynchronously(fd: number): boolean {
  if (process.platform === "win32") return false;
  try {
    const stats = fstatSync(fd);
    if (stats.isFile() || stats.isFIFO() || stats.isSocket()) return true;
    return process.platform === "linux" && stats.isCharacterDevice() && stats.rdev >> 8 === MEMORY_DEVICES;
  } catch {
    return false;
  }
}

const isBrokenPipe = (error: unknown): boolean => (error as NodeJS.ErrnoException | undefined)?.code === "EPIPE";

export function standardDescriptor(fd: 1 | 2, readerGone: () => void): Descriptor {
  let stream: NodeJS.WriteStream | undefined;
  return {
    synchronous: () => writesSynchronously(fd),
    writeSync: (bytes, offset) => writeSync(fd, bytes, offset),
    stream() {
      if (!stream) {
        stream = fd === 1 ? process.stdout : process.stderr;
        stream.on("error", (error) => {
          if (!isBrokenPipe(error)) throw error;
          readerGone();
        });
      }
      return stream;
    },
    readerGone,
  };
}

export function outputTo(descriptor: Descriptor): Output {
  let direct = descriptor.synchronous();
  return (data) => {
    if (direct) {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      let offset = 0;
      try {
        while (offset < bytes.length) offset += descriptor.writeSync(bytes, offset);
        return;
      } catch (error) {
        if (isBrokenPipe(error)) return descriptor.readerGone();
        // EAGAIN: the stream waits for the descriptor. Anything else the stream reports
        // as it would have without this shortcut.
        direct = false;
        data = bytes.subarray(offset);
      }
    }
    descriptor.stream().write(data);
  };
}
