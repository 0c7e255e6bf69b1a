// Bosch BMP180 (and its predecessor BMP085), from the datasheet: calibration words AC1..MD
// big-endian at 0xAA..0xBF, chip id 0x55 at 0xD0, soft reset 0xB6 at 0xE0, control 0xF4
// (0x2E temperature, 0x34 + oss·64 pressure), result 0xF6..0xF8. The model is flashed
// with the datasheet's worked example (section 3.5) and inverts its algorithm to turn a
// reading into UT and UP. Conversions are instant (SCO never reads 1).
import { PRESSURE, SensorModel, TEMPERATURE } from "./model.js";

export interface Bmp180Calibration {
  AC1: number; AC2: number; AC3: number; AC4: number; AC5: number; AC6: number;
  B1: number; B2: number; MB: number; MC: number; MD: number;
}

export const EXAMPLE_CALIBRATION: Bmp180Calibration = {
  AC1: 408, AC2: -72, AC3: -14383, AC4: 32741, AC5: 32757, AC6: 23153, B1: 6190, B2: 4, MB: -32768, MC: -8711, MD: 2868,
};

/** C's integer division, truncating toward zero. */
const div = (a: number, b: number): number => Math.trunc(a / b);
const shr = (value: number, bits: number): number => Math.floor(value / 2 ** bits);

/** B5 and the temperature in 0.1 °C (datasheet 3.5). */
export function bmp180Temperature(ut: number, c: Bmp180Calibration): { b5: number; t: number } {
  const x1 = shr((ut - c.AC6) * c.AC5, 15);
  const x2 = div(c.MC * 2048, x1 + c.MD);
  const b5 = x1 + x2;
  return { b5, t: shr(b5 + 8, 4) };
}

/**
 * Pressure in Pa (datasheet 3.5) with arithmetic shifts for its powers of two, as the
 * firmware's bmp085 module computes it, and 32-bit unsigned arithmetic for B4 and B7.
 */
export function bmp180Pressure(up: number, oss: number, b5: number, c: Bmp180Calibration): number {
  const b6 = b5 - 4000;
  let x1 = shr(c.B2 * shr(b6 * b6, 12), 11);
  let x2 = shr(c.AC2 * b6, 11);
  let x3 = x1 + x2;
  const b3 = shr((c.AC1 * 4 + x3) * 2 ** oss + 2, 2);
  x1 = shr(c.AC3 * b6, 13);
  x2 = shr(c.B1 * shr(b6 * b6, 12), 16);
  x3 = shr(x1 + x2 + 2, 2);
  const b4 = shr(c.AC4 * ((x3 + 32768) >>> 0), 15) >>> 0;
  const b7 = (((up - b3) >>> 0) * (50000 >> oss)) % 2 ** 32;
  let p = b7 < 0x80000000 ? Math.trunc((b7 * 2) / b4) : Math.trunc(b7 / b4) * 2;
  x1 = shr(p, 8) * shr(p, 8);
  x1 = shr(x1 * 3038, 16);
  x2 = shr(-7357 * p, 16);
  p = p + shr(x1 + x2 + 3791, 4);
  return p;
}

export class Bmp180 extends SensorModel {
  private readonly registers = new Uint8Array(256);
  private pointer = 0;
  private expectingPointer = true;

  constructor(readonly calibration: Bmp180Calibration = EXAMPLE_CALIBRATION) {
    super("bmp180", { temperature: TEMPERATURE, pressure: PRESSURE });
    const c = calibration;
    [c.AC1, c.AC2, c.AC3, c.AC4, c.AC5, c.AC6, c.B1, c.B2, c.MB, c.MC, c.MD].forEach((word, i) => {
      this.registers[0xaa + 2 * i] = (word >> 8) & 0xff;
      this.registers[0xab + 2 * i] = word & 0xff;
    });
    this.registers[0xd0] = 0x55;
  }

  /** UT for the current temperature: the value whose algorithm result is nearest. */
  rawTemperature(): number {
    const target = (this.values.temperature as number) * 10;
    let lo = 0;
    let hi = 0xffff;
    // T rises with UT: binary search, then take the nearer neighbour.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bmp180Temperature(mid, this.calibration).t >= target) hi = mid;
      else lo = mid + 1;
    }
    const f = (ut: number): number => Math.abs(bmp180Temperature(ut, this.calibration).t - target);
    return lo > 0 && f(lo - 1) <= f(lo) ? lo - 1 : lo;
  }

  /** UP at oversampling `oss` for the current pressure and temperature. */
  rawPressure(oss: number): number {
    const { b5 } = bmp180Temperature(this.rawTemperature(), this.calibration);
    const target = (this.values.pressure as number) * 100;
    const max = (1 << (16 + oss)) - 1;
    let lo = 0;
    let hi = max;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (bmp180Pressure(mid, oss, b5, this.calibration) >= target) hi = mid;
      else lo = mid + 1;
    }
    const f = (up: number): number => Math.abs(bmp180Pressure(up, oss, b5, this.calibration) - target);
    return lo > 0 && f(lo - 1) <= f(lo) ? lo - 1 : lo;
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.expectingPointer = !read;
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (this.expectingPointer) {
      this.pointer = byte;
      this.expectingPointer = false;
      return true;
    }
    if (this.pointer === 0xe0 && byte === 0xb6) this.registers.fill(0, 0xf4, 0xf9);
    if (this.pointer === 0xf4) this.convert(byte);
    this.pointer = (this.pointer + 1) & 0xff;
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] as number;
    this.pointer = (this.pointer + 1) & 0xff;
    return value;
  }

  i2cDisconnect(): void {
    this.expectingPointer = true;
  }

  private convert(control: number): void {
    this.registers[0xf4] = control & ~0x20;
    if (control === 0x2e) {
      const ut = this.rawTemperature();
      this.registers.set([ut >> 8, ut & 0xff, 0], 0xf6);
    } else if ((control & 0x3f) === 0x34) {
      const oss = control >> 6;
      const raw = this.rawPressure(oss) * 2 ** (8 - oss);
      this.registers.set([(raw >> 16) & 0xff, (raw >> 8) & 0xff, raw & 0xff], 0xf6);
    }
  }
}
