// TI ADS1115 (16-bit) and ADS1015 (12-bit, left-aligned), from the datasheet: a pointer
// register (0 conversion, 1 config, 2 Lo_thresh, 3 Hi_thresh), 16-bit registers MSB first;
// config 0x8583 at reset: OS, MUX (4 differential pairs, 4 single-ended), PGA (±6.144 V to
// ±0.256 V), MODE (1 single-shot), data rate, comparator bits. A conversion completes at
// once: OS reads 1 again, and in continuous mode every read of the conversion register
// sees the current inputs. The general call reset is answered; the ALERT/RDY pin is not modelled.
import { SensorModel } from "./model.js";

const CONFIG_RESET = 0x8583;
const FULL_SCALE = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256];
/** The MUX settings' positive and negative inputs (-1: GND). */
const PAIRS: Array<[number, number]> = [[0, 1], [0, 3], [1, 3], [2, 3], [0, -1], [1, -1], [2, -1], [3, -1]];
const INPUT = { initial: 0, min: -0.3, max: 5.5 };

export class Ads1115 extends SensorModel {
  private readonly registers = [0, CONFIG_RESET, 0x8000, 0x7fff];
  private pointer = 0;
  private written: number[] = [];
  /** Bytes of a register read so far in this transfer: MSB then LSB. */
  private readIndex = 0;

  constructor(private readonly twelveBit = false) {
    super(twelveBit ? "ads1015" : "ads1115", { a0: INPUT, a1: INPUT, a2: INPUT, a3: INPUT });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.written = [];
    if (read && this.pointer === 0 && ((this.registers[1] as number) & 0x0100) === 0) this.convert();
    this.readIndex = 0;
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.written.push(byte);
    if (this.written.length === 1) this.pointer = byte & 3;
    else if (this.written.length === 3 && this.pointer !== 0) this.store(((this.written[1] as number) << 8) | byte);
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] as number;
    const byte = this.readIndex % 2 === 0 ? value >> 8 : value & 0xff;
    this.readIndex++;
    return byte;
  }

  i2cDisconnect(): void {}

  /** The general call reset (0x06) restores the power-up registers. */
  i2cGeneralCall(byte: number): void {
    if (byte !== 0x06) return;
    this.registers.splice(0, 4, 0, CONFIG_RESET, 0x8000, 0x7fff);
    this.pointer = 0;
  }

  private store(value: number): void {
    if (this.pointer !== 1) {
      this.registers[this.pointer] = value;
      return;
    }
    // OS is write-1-to-start; it reads 1 when no conversion is running.
    this.registers[1] = value | 0x8000;
    if (value & 0x8000 || (value & 0x0100) === 0) this.convert();
  }

  private convert(): void {
    const config = this.registers[1] as number;
    const [pos, neg] = PAIRS[(config >> 12) & 7] as [number, number];
    const volts = (this.values[`a${pos}`] as number) - (neg < 0 ? 0 : (this.values[`a${neg}`] as number));
    const fsr = FULL_SCALE[(config >> 9) & 7] as number;
    let value = Math.max(-32768, Math.min(32767, Math.round((volts / fsr) * 32768)));
    if (this.twelveBit) value = Math.max(-2048, Math.min(2047, Math.round((volts / fsr) * 2048))) * 16;
    this.registers[0] = value & 0xffff;
  }
}
