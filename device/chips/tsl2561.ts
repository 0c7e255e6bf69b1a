// TAOS/ams TSL2561, from its datasheet: every transfer starts with a command byte (bit 7
// set; bit 5 WORD and bit 4 BLOCK step the register address after each byte; bits 3:0 the
// register). CONTROL (0x0) powers the ADCs with 0x03; TIMING (0x1) holds GAIN (bit 4, 16x)
// and INTEG (bits 1:0: 13.7, 101 or 402 ms), 0x02 at reset; ID (0xA) is 0x50 for the
// T/FN/CL package and 0x10 for CS; DATA0 (0xC, 0xD) counts visible plus infrared, DATA1
// (0xE, 0xF) infrared, low byte first. Counts are what the datasheet's lux approximation
// inverts to: lux = (CH0·B − CH1·M) / 2^14 at 402 ms and 16x, with B and M the coefficients
// of the CH1/CH0 ratio's segment; shorter integrations scale by 11/322 and 81/322, 1x
// gain by 1/16, and each saturates (5047, 37177, 65535); manual integration (INTEG 3) is not
// modelled and counts 0. Conversions are instant while
// powered; powered down, the data registers keep their last values.
import { SensorModel, code } from "./model.js";

/** Ratio limit (CH1/CH0 · 2^9), B and M (· 2^14) by segment, for each package. */
export const LUX_SEGMENTS_T: ReadonlyArray<readonly [number, number, number]> = [
  [0x040, 0x1f2, 0x1be], [0x080, 0x214, 0x2d1], [0x0c0, 0x23f, 0x37b], [0x100, 0x270, 0x3fe],
  [0x138, 0x16f, 0x1fc], [0x19a, 0x0d2, 0x0fb], [0x29a, 0x018, 0x012],
];
export const LUX_SEGMENTS_CS: ReadonlyArray<readonly [number, number, number]> = [
  [0x043, 0x204, 0x1ad], [0x085, 0x228, 0x2c1], [0x0c8, 0x253, 0x363], [0x10a, 0x282, 0x3df],
  [0x14d, 0x177, 0x1dd], [0x19a, 0x101, 0x127], [0x29a, 0x037, 0x02b],
];
/** Fraction of the 402 ms count, and the saturation count, by INTEG. */
const INTEGRATION: Record<number, [number, number]> = { 0: [11 / 322, 5047], 1: [81 / 322, 37177], 2: [1, 65535] };

export class Tsl2561 extends SensorModel {
  private readonly registers = new Uint8Array(16);
  private pointer = 0;
  private step = false;
  private first = true;

  constructor(private readonly cs: boolean) {
    super(cs ? "tsl2561cs" : "tsl2561", { lux: { initial: 100, min: 0, max: 40000 }, ir: { initial: 0.25, min: 0, max: 1.3 } });
    this.registers[0x1] = 0x02;
    this.registers[0xa] = cs ? 0x10 : 0x50;
  }

  i2cConnect(_address: number, read: boolean): boolean {
    if (!read) this.first = true;
    else if (((this.registers[0] as number) & 3) === 3) this.convert();
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (this.first) {
      this.first = false;
      if (!(byte & 0x80)) return true;
      this.pointer = byte & 0x0f;
      this.step = (byte & 0x30) !== 0;
      return true;
    }
    if (this.pointer === 0x0) this.registers[0] = byte & 0x03;
    else if (this.pointer === 0x1) this.registers[1] = byte & 0x1b;
    else if (this.pointer >= 0x2 && this.pointer <= 0x6) this.registers[this.pointer] = byte;
    this.advance();
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] as number;
    this.advance();
    return value;
  }

  i2cDisconnect(): void {}

  /** The counts (CH0, CH1) at 402 ms and 16x gain that make the readings' lux, unsaturated. */
  nominalCounts(): [number, number] {
    const lux = this.values.lux as number;
    const ratio = this.values.ir as number;
    const segments = this.cs ? LUX_SEGMENTS_CS : LUX_SEGMENTS_T;
    const [, b, m] = segments.find(([k]) => ratio * 512 <= k) ?? segments[segments.length - 1]!;
    const ch0 = (lux * 16384) / (b - m * ratio);
    return [ch0, ch0 * ratio];
  }

  private convert(): void {
    const timing = this.registers[1] as number;
    const [fraction, full] = INTEGRATION[timing & 3] ?? [0, 0];
    const gain = timing & 0x10 ? 1 : 1 / 16;
    const [ch0, ch1] = this.nominalCounts().map((n) => code(n * fraction * gain, full)) as [number, number];
    this.registers.set([ch0 & 0xff, ch0 >> 8, ch1 & 0xff, ch1 >> 8], 0xc);
  }

  private advance(): void {
    if (this.step) this.pointer = (this.pointer + 1) & 0x0f;
  }
}
