// Texas Instruments HDC1080, from its datasheet: a register pointer, then 16-bit big-endian
// registers. Writing the pointer 0x00 (temperature) or 0x01 (humidity) starts a conversion
// whose result the next read transfer returns; with the acquisition-mode bit (12) of the
// configuration (0x02, 0x1000 at reset) set, pointer 0x00 converts both and a read returns
// temperature then humidity. Resolution: bit 10 temperature (14/11 bit), bits 9:8 humidity
// (14/11/8 bit). Serial ID 0xFB-0xFD, manufacturer 0xFE = 0x5449 ("TI"), device 0xFF = 0x1050.
// T = code/2^16·165 − 40 °C, RH = code/2^16·100 %; conversions are instant.
import { HUMIDITY, SensorModel, TEMPERATURE, code } from "./model.js";

const CONFIG_RESET = 0x1000;
const MODE_BOTH = 0x1000;
const SOFT_RESET = 0x8000;
const SERIAL = [0x0123, 0x4567, 0x8900];
const MANUFACTURER = 0x5449;
const DEVICE = 0x1050;

export class Hdc1080 extends SensorModel {
  private pointer = 0;
  private config = CONFIG_RESET;
  private written: number[] = [];
  private out: number[] = [];

  constructor() {
    super("hdc1080", { temperature: TEMPERATURE, humidity: HUMIDITY });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    if (!read) this.written = [];
    else if (this.out.length === 0) this.out = this.register(this.pointer);
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.written.push(byte);
    if (this.written.length === 1) {
      this.pointer = byte;
      if (byte === 0x00) {
        this.out = (this.config & MODE_BOTH) ? [...this.temperatureCode(), ...this.humidityCode()] : this.temperatureCode();
      } else if (byte === 0x01) this.out = this.humidityCode();
      else this.out = [];
    } else if (this.written.length === 3 && this.pointer === 0x02) {
      const value = ((this.written[1] as number) << 8) | (this.written[2] as number);
      // Only bits 15..8 are defined; the soft-reset bit clears itself after restoring the defaults.
      this.config = value & SOFT_RESET ? CONFIG_RESET : value & 0x3f00;
    }
    return true;
  }

  i2cRead(): number {
    return this.out.shift() ?? 0xff;
  }

  i2cDisconnect(): void {}

  /** A conversion at `bits`: the low 16 − bits bits of the code are zero. */
  private quantise(value: number, bits: number): number[] {
    const step = 2 ** (16 - bits);
    const word = Math.floor(code(value * 65536, 0xffff) / step) * step;
    return [word >> 8, word & 0xff];
  }

  private temperatureCode(): number[] {
    return this.quantise(((this.values.temperature as number) + 40) / 165, this.config & 0x0400 ? 11 : 14);
  }

  private humidityCode(): number[] {
    const bits = [14, 11, 8, 8][(this.config >> 8) & 3] as number;
    return this.quantise((this.values.humidity as number) / 100, bits);
  }

  private register(pointer: number): number[] {
    const word = pointer === 0x02 ? this.config
      : pointer >= 0xfb && pointer <= 0xfd ? SERIAL[pointer - 0xfb] as number
      : pointer === 0xfe ? MANUFACTURER
      : pointer === 0xff ? DEVICE
      : 0xffff;
    return [word >> 8, word & 0xff];
  }
}
