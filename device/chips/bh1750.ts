// ROHM BH1750FVI, from its datasheet: one-byte instructions (power down 0x00, power on
// 0x01, reset 0x07, continuous 0x10/0x11/0x13, one-time 0x20/0x21/0x23, measurement time
// 0x40|MT[7:5] and 0x60|MT[4:0]); a read is the 16-bit count, lux = count / 1.2 · 69 / MT
// (halved in H-resolution mode 2, 4-lx steps in L-resolution). Conversions are instant.
import { SensorModel, code } from "./model.js";

const DEFAULT_MT = 69;

export class Bh1750 extends SensorModel {
  private powered = false;
  private mode = 0;
  private mt = DEFAULT_MT;
  private count = 0;
  private out: number[] = [];

  constructor() {
    super("bh1750", { illuminance: { initial: 250, min: 0, max: 100000 } });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    if (read) {
      if ((this.mode & 0xf0) === 0x10 && this.powered) this.measure();
      this.out = [this.count >> 8, this.count & 0xff];
    }
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (byte === 0x00) this.powered = false;
    else if (byte === 0x01) this.powered = true;
    // Reset clears the data register, and only works powered on (datasheet, instruction set).
    else if (byte === 0x07) this.count = this.powered ? 0 : this.count;
    else if ((byte & 0xf8) === 0x40) this.mt = (this.mt & 0x1f) | ((byte & 7) << 5);
    else if ((byte & 0xe0) === 0x60) this.mt = (this.mt & 0xe0) | (byte & 0x1f);
    else if ([0x10, 0x11, 0x13, 0x20, 0x21, 0x23].includes(byte)) {
      this.mode = byte;
      this.powered = true;
      this.measure();
      if (byte & 0x20) this.powered = false;
    }
    return true;
  }

  i2cRead(): number {
    return this.out.shift() ?? 0xff;
  }

  i2cDisconnect(): void {}

  private measure(): void {
    const counts = ((this.values.illuminance as number) * 1.2 * this.mt) / DEFAULT_MT;
    const lowRes = (this.mode & 0x0f) === 0x03;
    const mode2 = (this.mode & 0x0f) === 0x01;
    if (lowRes) this.count = code(Math.round(counts / 4) * 4, 0xffff);
    else this.count = code(mode2 ? counts * 2 : counts, 0xffff);
  }
}
