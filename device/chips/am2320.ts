// Aosong AM2320, from its datasheet: asleep until woken by its address (which it does not
// acknowledge), awake about 3 s after the last transfer. Function 0x03 reads up to 10
// registers: RH at 0x00..0x01 (0.1 %), temperature 0x02..0x03 (0.1 °C, bit 15 the sign),
// model 0x08..0x09, version 0x0A, device id 0x0B..0x0E, status 0x0F, user registers
// 0x10..0x13; the answer is 0x03, count, the bytes, then CRC-16 (Modbus) low byte first.
import { crc16Modbus } from "../crc.js";
import { HUMIDITY, SensorModel, TEMPERATURE } from "./model.js";

const AWAKE_MS = 3000;
const READ = 0x03;
const MAX_COUNT = 10;
const INFO: Record<number, number> = { 0x08: 0x23, 0x09: 0x20, 0x0a: 0x01, 0x0b: 0x12, 0x0c: 0x34, 0x0d: 0x56, 0x0e: 0x78 };

export class Am2320 extends SensorModel {
  private awakeUntil = -Infinity;
  private command: number[] = [];
  private out: number[] = [];

  constructor(private readonly now: () => number) {
    super("am2320", { temperature: TEMPERATURE, humidity: HUMIDITY });
  }

  i2cConnect(_address: number, read: boolean): boolean {
    const t = this.now();
    const awake = t < this.awakeUntil;
    this.awakeUntil = t + AWAKE_MS;
    if (!awake) return false;
    if (!read) this.command = [];
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.command.push(byte);
    return true;
  }

  i2cRead(): number {
    return this.out.shift() ?? 0xff;
  }

  i2cDisconnect(): void {
    const [fn, start, count] = this.command;
    this.command = [];
    if (fn !== READ || start === undefined || count === undefined || count < 1 || count > MAX_COUNT) return;
    const data = Array.from({ length: count }, (_, i) => this.register(start + i));
    const frame = [READ, count, ...data];
    const crc = crc16Modbus(frame);
    this.out = [...frame, crc & 0xff, crc >> 8];
  }

  private register(index: number): number {
    const rh = Math.round((this.values.humidity as number) * 10);
    const t = Math.round((this.values.temperature as number) * 10);
    const tWord = t < 0 ? 0x8000 | -t : t;
    switch (index) {
      case 0: return rh >> 8;
      case 1: return rh & 0xff;
      case 2: return tWord >> 8;
      case 3: return tWord & 0xff;
      default: return INFO[index] ?? 0;
    }
  }
}
