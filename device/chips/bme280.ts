// Bosch BME280 (and its humidity-less sibling BMP280), from the datasheet's register map:
// trimming values at 0x88..0xA1 and 0xE1..0xE7, chip id 0xD0, ctrl_hum 0xF2, status 0xF3,
// ctrl_meas 0xF4, config 0xF5, data 0xF7..0xFE. Writes are register/value pairs, reads
// auto-increment. A forced measurement completes at once and returns the chip to sleep; in
// normal mode every read transfer sees the current readings.
import { HUMIDITY, PRESSURE, SensorModel, TEMPERATURE } from "./model.js";
import { bme280Humidity, bme280Pressure, bme280Temperature, bme280TFine, type Bme280Trimming } from "./bme280-math.js";

/**
 * The trimming the model is flashed with: the temperature and pressure values are the
 * worked example of the BMP280 datasheet (section 3.12); the humidity values are those of a
 * typical BME280.
 */
export const DEFAULT_TRIMMING: Bme280Trimming = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
};

const CHIP_ID = 0xd0;
const RESET = 0xe0;
const CTRL_HUM = 0xf2;
const STATUS = 0xf3;
const CTRL_MEAS = 0xf4;
const CONFIG = 0xf5;
const DATA = 0xf7;
const RESET_WORD = 0xb6;
/** What a skipped measurement (oversampling 0) reads: 0x80000, and 0x8000 for humidity. */
const SKIPPED_20 = 0x80000;
const SKIPPED_16 = 0x8000;

/** The smallest `x` in [lo, hi] with `f(x) >= target` for increasing `f` (hi when none). */
function searchUp(lo: number, hi: number, f: (x: number) => number, target: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (f(mid) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Of x-1 and x, the one whose f is nearer target. */
function nearer(x: number, f: (x: number) => number, target: number): number {
  return x > 0 && Math.abs(f(x - 1) - target) <= Math.abs(f(x) - target) ? x - 1 : x;
}

export class Bme280 extends SensorModel {
  private readonly registers = new Uint8Array(256);
  private pointer = 0;
  private expectingRegister = true;
  /** ctrl_hum as it was when ctrl_meas was last written. */
  private activeHum = 0;

  constructor(private readonly humidity = true, readonly trimming: Bme280Trimming = DEFAULT_TRIMMING) {
    super(humidity ? "bme280" : "bmp280", humidity ? { temperature: TEMPERATURE, humidity: HUMIDITY, pressure: PRESSURE } : { temperature: TEMPERATURE, pressure: PRESSURE });
    this.reset();
  }

  /** Raw ADC values for the current readings, at full 20-bit (16 for humidity) resolution. */
  rawValues(): { adcT: number; adcP: number; adcH: number } {
    const c = this.trimming;
    const targetT = (this.values.temperature as number) * 100;
    const tOf = (adc: number): number => bme280Temperature(bme280TFine(adc, c));
    const adcT = nearer(searchUp(0, 0xfffff, tOf, targetT), tOf, targetT);
    const tFine = bme280TFine(adcT, c);
    // Pressure falls as its ADC value rises: search on the negated curve.
    const targetP = -(this.values.pressure as number) * 100 * 256;
    const pOf = (adc: number): number => -bme280Pressure(adc, tFine, c);
    const adcP = nearer(searchUp(0, 0xfffff, pOf, targetP), pOf, targetP);
    const targetH = (this.values.humidity ?? 0) * 1024;
    const hOf = (adc: number): number => bme280Humidity(adc, tFine, c);
    const adcH = nearer(searchUp(0, 0xffff, hOf, targetH), hOf, targetH);
    return { adcT, adcP, adcH };
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.expectingRegister = true;
    if (read && ((this.registers[CTRL_MEAS] as number) & 3) === 3) this.measure();
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (this.expectingRegister) this.pointer = byte;
    else this.writeRegister(this.pointer, byte);
    this.expectingRegister = !this.expectingRegister;
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] as number;
    this.pointer = (this.pointer + 1) & 0xff;
    return value;
  }

  i2cDisconnect(): void {
    this.expectingRegister = true;
  }

  private writeRegister(register: number, value: number): void {
    if (register === RESET) {
      if (value === RESET_WORD) this.reset();
    } else if (register === CTRL_HUM) {
      // ctrl_hum takes effect with the next write to ctrl_meas (datasheet 5.4.3).
      this.registers[CTRL_HUM] = value & 7;
    } else if (register === CONFIG) {
      this.registers[CONFIG] = value & 0xfd;
    } else if (register === CTRL_MEAS) {
      this.registers[CTRL_MEAS] = value;
      this.activeHum = this.registers[CTRL_HUM] as number;
      const mode = value & 3;
      if (mode !== 0) this.measure();
      if (mode === 1 || mode === 2) this.registers[CTRL_MEAS] = value & 0xfc;
    }
  }

  private measure(): void {
    const ctrl = this.registers[CTRL_MEAS] as number;
    const osrsT = ctrl >> 5;
    const osrsP = (ctrl >> 2) & 7;
    const filtered = (((this.registers[CONFIG] as number) >> 2) & 7) !== 0;
    const { adcT, adcP, adcH } = this.rawValues();
    // Resolution is 16 bits plus one per oversampling step up to 20, and 20 with the IIR filter (3.4, 3.5).
    const resolve = (adc: number, osrs: number, filter: boolean): number => {
      if (osrs === 0) return SKIPPED_20;
      const bits = filter ? 20 : Math.min(20, 15 + osrs);
      const step = 2 ** (20 - bits);
      return Math.min(0xfffff, Math.round(adc / step) * step);
    };
    const t = resolve(adcT, osrsT, filtered);
    const p = resolve(adcP, osrsP, filtered);
    const h = this.humidity && this.activeHum !== 0 ? adcH : SKIPPED_16;
    const data = [p >> 12, (p >> 4) & 0xff, (p & 0xf) << 4, t >> 12, (t >> 4) & 0xff, (t & 0xf) << 4];
    if (this.humidity) data.push(h >> 8, h & 0xff);
    this.registers.set(data, DATA);
  }

  private reset(): void {
    const r = this.registers;
    r.fill(0);
    const c = this.trimming;
    const words = [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9];
    words.forEach((word, i) => {
      r[0x88 + 2 * i] = word & 0xff;
      r[0x89 + 2 * i] = (word >> 8) & 0xff;
    });
    r[CHIP_ID] = this.humidity ? 0x60 : 0x58;
    if (this.humidity) {
      r[0xa1] = c.H1;
      r.set([c.H2 & 0xff, (c.H2 >> 8) & 0xff, c.H3, (c.H4 >> 4) & 0xff, (c.H4 & 0xf) | ((c.H5 & 0xf) << 4), (c.H5 >> 4) & 0xff, c.H6 & 0xff], 0xe1);
    }
    r.set([SKIPPED_20 >> 12, 0, 0, SKIPPED_20 >> 12, 0, 0], DATA);
    if (this.humidity) r.set([SKIPPED_16 >> 8, 0], 0xfd);
    r[STATUS] = 0;
    this.activeHum = 0;
  }
}
