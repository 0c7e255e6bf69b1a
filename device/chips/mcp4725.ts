// Microchip MCP4725 12-bit DAC, from its datasheet. Writes come in groups: fast mode (first
// byte 00 PD1 PD0 D11..D8, then D7..D0) or write-DAC-register (010) / and-EEPROM (011)
// commands (command with PD1 PD0 in bits 2:1, then D11..D4, then D3..D0 in the high
// nibble); a master may repeat groups in one transfer. Reads return the status byte
// (RDY/BSY bit 7, POR bit 6, PD bits 2:1), the DAC code in two bytes, then the EEPROM's PD
// and code, and repeat. An EEPROM write keeps RDY/BSY low for 25 ms (typical). General call
// reset (0x06) reloads the DAC register from EEPROM, wake-up (0x09) clears its PD bits.
// The output is VDD·code/4096 while PD is 00, and pulled to 0 V otherwise; each change is
// reported as a hardware event `vout` (volts, PD). The EEPROM starts at code 0, PD 00.
import { SensorModel, type Reading } from "./model.js";

const EEPROM_WRITE_MS = 25;

export class Mcp4725 extends SensorModel {
  private dac = 0;
  private pd = 0;
  private eeprom = 0;
  private eepromPd = 0;
  private busyUntil = -Infinity;
  private group: number[] = [];
  private out: number[] = [];
  private lastVout: [number, number] = [0, 0];

  constructor(private readonly now: () => number, private readonly output: (call: string, args: ReadonlyArray<number | string>) => void) {
    super("mcp4725", { vdd: { initial: 3.3, min: 2.7, max: 5.5 } });
  }

  /** The set readings, with what the chip drives: the DAC code, PD bits and output volts. */
  override readings(): Record<string, Reading> {
    return { ...super.readings(), code: this.dac, pd: this.pd, vout: this.vout() };
  }

  override set(values: Record<string, unknown>): void {
    super.set(values);
    this.report();
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.group = [];
    if (read) {
      const ready = this.now() >= this.busyUntil ? 0x80 : 0;
      this.out = [ready | 0x40 | (this.pd << 1), this.dac >> 4, (this.dac & 0xf) << 4, (this.eepromPd << 5) | (this.eeprom >> 8), this.eeprom & 0xff];
    }
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.group.push(byte);
    const [first, second, third] = this.group as [number, number?, number?];
    if ((first & 0xc0) === 0) {
      if (second === undefined) return true;
      this.setDac((first >> 4) & 3, ((first & 0x0f) << 8) | second);
      this.group = [];
    } else if ((first & 0xc0) === 0x40) {
      if (third === undefined) return true;
      const pd = (first >> 1) & 3;
      const value = ((second as number) << 4) | (third >> 4);
      this.setDac(pd, value);
      if (first & 0x20) {
        this.eeprom = value;
        this.eepromPd = pd;
        this.busyUntil = this.now() + EEPROM_WRITE_MS;
      }
      this.group = [];
    }
    return true;
  }

  i2cRead(): number {
    const byte = this.out.shift() as number;
    this.out.push(byte);
    return byte;
  }

  i2cDisconnect(): void {}

  i2cGeneralCall(byte: number): void {
    if (byte === 0x06) this.setDac(this.eepromPd, this.eeprom);
    else if (byte === 0x09) this.setDac(0, this.dac);
  }

  private setDac(pd: number, value: number): void {
    this.pd = pd;
    this.dac = value;
    this.report();
  }

  private vout(): number {
    return this.pd === 0 ? ((this.values.vdd as number) * this.dac) / 4096 : 0;
  }

  private report(): void {
    const now: [number, number] = [this.vout(), this.pd];
    if (this.lastVout[0] === now[0] && this.lastVout[1] === now[1]) return;
    this.lastVout = now;
    this.output("vout", now);
  }
}
