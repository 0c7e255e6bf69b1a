// A device moonrig has no model of, answering what the embedder queued (HardwareRecorder.i2cReply).
import type { I2cChip } from "../i2c-bus.js";

export class ScriptedReplies implements I2cChip {
  private readonly pending: number[] = [];

  queue(bytes: Uint8Array | readonly number[]): void {
    for (const byte of bytes) this.pending.push(byte & 0xff);
  }

  i2cConnect(): boolean {
    return true;
  }

  i2cWrite(): boolean {
    return true;
  }

  i2cRead(): number {
    return this.pending.shift() ?? 0;
  }

  i2cDisconnect(): void {}
}
