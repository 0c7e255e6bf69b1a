// Honeywell HMC5883L, from its datasheet: registers 0 CRA (averaging, rate, bias; 0x10 at
// reset), 1 CRB (gain in bits 7:5; 0x20), 2 mode (0 continuous, 1 single then idle, 2/3
// idle; 0x01), 3-8 the outputs X, Z, Y big-endian two's complement, 9 status (RDY bit 0),
// 10-12 the ID "H43". The pointer steps after each byte, from 8 back to 3 and from 12 to 0.
// Counts are the field in gauss times the gain's LSb/gauss, −4096 outside −2048..2047; the
// self-test bias adds (positive) or removes (negative) 1.16, 1.16, 1.08 Ga. Measurements are
// instant: continuous mode measures when a read starts at register 3.
import { SensorModel, type ReadingSpec } from "./model.js";

/** LSb per gauss by the CRB gain setting. */
export const HMC5883L_GAIN = [1370, 1090, 820, 660, 440, 390, 330, 230] as const;
const SELF_TEST = [1.16, 1.08, 1.16];
const OVERFLOW = -4096;
const FIELD: ReadingSpec = { initial: 0, min: -8, max: 8 };

export class Hmc5883l extends SensorModel {
  private readonly registers = Uint8Array.of(0x10, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x34, 0x33);
  private pointer = 0;
  private first = true;

  constructor() {
    super("hmc5883l", { x: { ...FIELD, initial: 0.2 }, y: FIELD, z: { ...FIELD, initial: -0.4 } });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    if (!read) this.first = true;
    else if (this.pointer === 3 && ((this.registers[2] as number) & 3) === 0) this.measure();
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (this.first) {
      this.first = false;
      this.pointer = byte;
      return true;
    }
    if (this.pointer <= 2) {
      this.registers[this.pointer] = byte;
      if (this.pointer === 2 && (byte & 3) === 1) {
        this.measure();
        this.registers[2] = (byte & 0xfc) | 3;
      } else if (this.pointer === 2 && (byte & 3) === 0) this.measure();
    }
    this.advance();
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] ?? 0;
    if (this.pointer >= 3 && this.pointer <= 8) this.registers[9] = (this.registers[9] as number) & ~1;
    this.advance();
    return value;
  }

  i2cDisconnect(): void {}

  private measure(): void {
    const gain = HMC5883L_GAIN[(this.registers[1] as number) >> 5] as number;
    const bias = (this.registers[0] as number) & 3;
    const sign = bias === 1 ? 1 : bias === 2 ? -1 : 0;
    const field = [this.values.x, this.values.z, this.values.y] as number[];
    field.forEach((gauss, i) => {
      const counts = Math.round((gauss + sign * (SELF_TEST[i] as number)) * gain);
      const word = (counts < -2048 || counts > 2047 ? OVERFLOW : counts) & 0xffff;
      this.registers[3 + 2 * i] = word >> 8;
      this.registers[4 + 2 * i] = word & 0xff;
    });
    this.registers[9] = (this.registers[9] as number) | 1;
  }

  private advance(): void {
    this.pointer = this.pointer === 8 ? 3 : this.pointer >= 12 ? 0 : this.pointer + 1;
  }
}
