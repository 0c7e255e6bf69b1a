// Silicon Labs Si7021-A20, from its datasheet: measure RH 0xE5/0xF5 (answer: code MSB, LSB,
// CRC-8 0x31 from 0), temperature 0xE3/0xF3, 0xE0 the temperature taken with the last RH,
// reset 0xFE, user register 1 (0xE6 write / 0xE7 read, 0x3A at reset: resolution bits 7 and
// 0, heater bit 2), heater register (0x51 / 0x11), electronic ID (0xFA 0x0F, 0xFC 0xC9: SNB_3
// 0x15 names a Si7021) and firmware revision (0x84 0xB8: 0x20 is A20).
// RH = 125·code/65536 − 6 %, T = 175.72·code/65536 − 46.85 °C; conversions are instant.
import { crc8 } from "../crc.js";
import { HUMIDITY, SensorModel, TEMPERATURE, code } from "./model.js";

const USER_RESET = 0x3a;
/** Bits of RH and temperature code by the resolution setting (RES1:RES0). */
const BITS: Record<number, [number, number]> = { 0: [12, 14], 1: [8, 12], 2: [10, 13], 3: [11, 11] };
const SERIAL_A = [0x12, 0x34, 0x56, 0x78];
const SERIAL_B = [0x15, 0xff, 0xb5, 0xff];
const FIRMWARE_A20 = 0x20;

export class Si7021 extends SensorModel {
  private command: number[] = [];
  private out: number[] = [];
  private user = USER_RESET;
  private heater = 0;
  private lastTemperature = 0;

  constructor() {
    super("si7021", { temperature: TEMPERATURE, humidity: HUMIDITY });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    if (!read) {
      this.command = [];
      this.out = [];
    }
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.command.push(byte);
    this.execute();
    return true;
  }

  i2cRead(): number {
    return this.out.shift() ?? 0xff;
  }

  i2cDisconnect(): void {}

  private resolution(): [number, number] {
    return BITS[((this.user >> 6) & 2) | (this.user & 1)] as [number, number];
  }

  private temperatureCode(): number {
    const step = 2 ** (16 - this.resolution()[1]);
    return Math.floor(code(((this.values.temperature as number) + 46.85) * 65536 / 175.72, 0xffff) / step) * step;
  }

  private withCrc(word: number): number[] {
    const bytes = [word >> 8, word & 0xff];
    return [...bytes, crc8(bytes, 0)];
  }

  private execute(): void {
    const [first, second] = this.command;
    if (this.command.length === 1) {
      if (first === 0xe5 || first === 0xf5) {
        const step = 2 ** (16 - this.resolution()[0]);
        const rh = Math.floor(code(((this.values.humidity as number) + 6) * 65536 / 125, 0xffff) / step) * step;
        this.lastTemperature = this.temperatureCode();
        this.out = this.withCrc(rh);
      } else if (first === 0xe3 || first === 0xf3) {
        this.lastTemperature = this.temperatureCode();
        this.out = this.withCrc(this.lastTemperature);
      } else if (first === 0xe0) {
        this.out = [this.lastTemperature >> 8, this.lastTemperature & 0xff];
      } else if (first === 0xfe) {
        this.user = USER_RESET;
        this.heater = 0;
      } else if (first === 0xe7) {
        this.out = [this.user];
      } else if (first === 0x11) {
        this.out = [this.heater];
      }
      return;
    }
    if (this.command.length !== 2) return;
    if (first === 0xe6) this.user = ((second as number) & 0x85) | (USER_RESET & ~0x85);
    else if (first === 0x51) this.heater = (second as number) & 0x0f;
    else if (first === 0xfa && second === 0x0f) this.out = this.serialA();
    else if (first === 0xfc && second === 0xc9) this.out = this.serialB();
    else if (first === 0x84 && second === 0xb8) this.out = [FIRMWARE_A20];
  }

  /** SNA_3..SNA_0, each followed by the CRC of all ID bytes so far. */
  private serialA(): number[] {
    return SERIAL_A.flatMap((byte, i) => [byte, crc8(SERIAL_A.slice(0, i + 1), 0)]);
  }

  /** SNB_3 SNB_2 CRC SNB_1 SNB_0 CRC, the CRCs again running over all bytes so far. */
  private serialB(): number[] {
    const b = SERIAL_B;
    return [b[0] as number, b[1] as number, crc8(b.slice(0, 2), 0), b[2] as number, b[3] as number, crc8(b, 0)];
  }
}
