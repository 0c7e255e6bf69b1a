// An in-process serial line: two Duplex ends wired to each other like a null-modem cable,
// so the AT host backend and the modem emulator can talk without a pty. With a baud rate
// the bytes arrive no faster than a real UART would carry them (8N1: 10 bit times a byte),
// which is what makes timeouts, busy replies and interleaved URCs behave as on hardware.
import { Duplex } from "node:stream";

/** Bits on the wire per byte at 8N1: start bit, 8 data bits, stop bit. */
export const BITS_PER_BYTE = 10;

/**
 * Releases bytes to `deliver` at a line rate, in order. Timers fire late and coarsely, so
 * the budget is computed from elapsed time rather than per tick; a burst after an idle
 * spell therefore starts at once, as on a UART whose shift register was empty.
 */
export class LinePacer {
  private readonly queue: Array<{ bytes: Buffer; done?: () => void }> = [];
  private readonly bytesPerMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Time at which the line becomes free again (everything released so far has been "sent"). */
  private lineFreeAt = 0;
  private closed = false;
  private pumping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(baud: number, private readonly deliver: (bytes: Buffer) => void) {
    if (!(baud > 0) || !Number.isFinite(baud)) throw new RangeError(`baud must be a positive number, got ${baud}`);
    this.bytesPerMs = baud / BITS_PER_BYTE / 1000;
  }

  /** Queues bytes; `done` runs once the last of them has gone out. */
  write(bytes: Uint8Array, done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    if (this.queue.length === 0) {
      // An idle line starts shifting the first byte out now, not when it last went quiet.
      this.lineFreeAt = Math.max(this.lineFreeAt, performance.now());
    }
    this.queue.push({ bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), done });
    this.pump();
  }

  /** True while bytes are still waiting for the line. */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  /** Resolves once everything queued so far has been delivered. */
  drained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops whatever has not gone out yet. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.queue.splice(0);
    for (const item of pending) item.done?.();
    this.settleIdle();
  }

  private pump(): void {
    // `deliver` and `done` may write again; the running loop picks that up in order.
    if (this.timer || this.closed || this.pumping) return;
    this.pumping = true;
    try {
      this.pumpNow();
    } finally {
      this.pumping = false;
    }
  }

  private pumpNow(): void {
    // A byte is handed over once its last bit would have arrived.
    let budget = Math.floor((performance.now() - this.lineFreeAt) * this.bytesPerMs + 1e-9);
    while (this.queue.length > 0) {
      const head = this.queue[0] as { bytes: Buffer; done?: () => void };
      if (head.bytes.length > 0) {
        if (budget <= 0) break;
        const take = Math.min(budget, head.bytes.length);
        const part = head.bytes.subarray(0, take);
        head.bytes = head.bytes.subarray(take);
        budget -= take;
        this.lineFreeAt += take / this.bytesPerMs;
        this.deliver(part);
      }
      if (head.bytes.length === 0) {
        this.queue.shift();
        head.done?.();
      }
    }
    if (this.queue.length === 0) {
      this.settleIdle();
      return;
    }
    const wait = Math.max(1, Math.ceil(this.lineFreeAt + 1 / this.bytesPerMs - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
  }

  private settleIdle(): void {
    if (this.queue.length > 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }
}

export interface LinkOptions {
  /** Line rate in baud; without it bytes cross at once. */
  baud?: number;
}

class LinkEnd extends Duplex {
  peer: LinkEnd | undefined;
  private pacer: LinePacer | undefined;
  private peerEnded = false;

  constructor(baud: number | undefined) {
    super({ allowHalfOpen: false });
    if (baud !== undefined) this.pacer = new LinePacer(baud, (bytes) => this.peer?.receive(bytes));
  }

  /** Bytes arriving from the other end. */
  receive(bytes: Buffer): void {
    if (this.destroyed || this.readableEnded) return;
    // A copy, so a writer reusing its buffer cannot change bytes already "on the wire".
    this.push(Buffer.from(bytes));
  }

  /** The other end hung up. */
  hangUp(): void {
    if (this.peerEnded) return;
    this.peerEnded = true;
    if (!this.destroyed) this.push(null);
  }

  override _read(): void {
    // Data is pushed as it arrives; there is nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.pacer) {
      this.pacer.write(chunk, () => callback());
      return;
    }
    // Delivered on a later tick: a reader that answers from inside its 'data' handler
    // must not re-enter the writer that is still in the middle of its own handler.
    process.nextTick(() => {
      this.peer?.receive(chunk);
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = (): void => {
      this.peer?.hangUp();
      callback();
    };
    if (this.pacer) void this.pacer.drained().then(finish);
    else process.nextTick(finish);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pacer?.close();
    const peer = this.peer;
    if (peer) process.nextTick(() => peer.hangUp());
    callback(error);
  }
}

/** Two connected byte streams: what one end writes, the other reads. */
export function createLinkPair(options: LinkOptions = {}): [Duplex, Duplex] {
  const a = new LinkEnd(options.baud);
  const b = new LinkEnd(options.baud);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
