// ams TCS34725, from its datasheet: every write starts with a command byte (bit 7 set;
// TYPE bits 6:5 00 repeats one register, 01 steps through them, 11 special function;
// bits 4:0 the register). ENABLE 0x00 (PON bit 0, AEN bit 1), ATIME 0x01 (integration of
// 256 − ATIME cycles of 2.4 ms, 0xFF at reset), CONTROL 0x0F (gain 1, 4, 16, 60x), ID 0x12
// (0x44), STATUS 0x13 (AVALID bit 0), then clear, red, green, blue counts low byte first
// from 0x14. A count is the reading (counts per 2.4 ms cycle at 1x) times the cycles and
// the gain, saturating at 1024 per cycle and 65535. Conversions are instant while PON and
// AEN are set; otherwise the data registers keep their last values.
import { SensorModel, type ReadingSpec } from "./model.js";

const GAIN = [1, 4, 16, 60];
const CHANNEL: ReadingSpec = { initial: 0, min: 0, max: 1024 };
const WRITABLE = new Set([0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0f]);

export class Tcs34725 extends SensorModel {
  private readonly registers = new Uint8Array(0x1c);
  private pointer = 0;
  private increment = false;
  private first = true;

  constructor() {
    super("tcs34725", {
      clear: { ...CHANNEL, initial: 30 }, red: { ...CHANNEL, initial: 12 },
      green: { ...CHANNEL, initial: 10 }, blue: { ...CHANNEL, initial: 8 },
    });
    this.registers[0x01] = 0xff;
    this.registers[0x03] = 0xff;
    this.registers[0x12] = 0x44;
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
      const type = (byte >> 5) & 3;
      // Special functions (interrupt clear) change nothing the model keeps.
      if (type !== 3) {
        this.pointer = byte & 0x1f;
        this.increment = type === 1;
      }
      return true;
    }
    if (WRITABLE.has(this.pointer)) this.registers[this.pointer] = byte;
    this.advance();
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] ?? 0;
    this.advance();
    return value;
  }

  i2cDisconnect(): void {}

  private convert(): void {
    const cycles = 256 - (this.registers[0x01] as number);
    const gain = GAIN[(this.registers[0x0f] as number) & 3] as number;
    const full = Math.min(65535, cycles * 1024);
    ["clear", "red", "green", "blue"].forEach((name, i) => {
      const count = Math.min(full, Math.round((this.values[name] as number) * cycles * gain));
      this.registers[0x14 + 2 * i] = count & 0xff;
      this.registers[0x15 + 2 * i] = count >> 8;
    });
    this.registers[0x13] = (this.registers[0x13] as number) | 1;
  }

  private advance(): void {
    if (this.increment) this.pointer = (this.pointer + 1) & 0x1f;
  }
}
