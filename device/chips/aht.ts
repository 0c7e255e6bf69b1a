// ASAIR AHT10 and AHT20, from their datasheets: status byte (bit 7 busy, bit 3 calibrated),
// initialisation 0xE1 (AHT10) / 0xBE (AHT20) 0x08 0x00, trigger 0xAC 0x33 0x00, soft reset
// 0xBA; a reading is status, 20-bit humidity, 20-bit temperature (RH = S/2^20·100 %,
// T = S/2^20·200 − 50 °C), and on the AHT20 a CRC-8 (0x31, init 0xFF). Conversions are instant.
import { crc8 } from "../crc.js";
import { HUMIDITY, SensorModel, TEMPERATURE, code } from "./model.js";

const BUSY = 0x80;
const CALIBRATED = 0x08;
const TRIGGER = 0xac;
const SOFT_RESET = 0xba;
/** The AHT20 reports these bits set when its factory calibration is loaded (datasheet 7.4). */
const AHT20_READY = 0x18;

export class Aht extends SensorModel {
  private command: number[] = [];
  private data = [0, 0, 0, 0, 0];
  private status: number;
  private out: number[] = [];

  constructor(private readonly variant: "aht10" | "aht20") {
    super(variant, { temperature: TEMPERATURE, humidity: HUMIDITY });
    this.status = this.powerUpStatus();
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.command = [];
    if (read) {
      const frame = [this.status & ~BUSY, ...this.data];
      this.out = this.variant === "aht20" ? [...frame, crc8(frame)] : frame;
    }
    return true;
  }

  i2cWrite(byte: number): boolean {
    this.command.push(byte);
    const [first] = this.command;
    if (this.command.length === 1 && first === SOFT_RESET) this.status = this.powerUpStatus();
    if (this.command.length === 3) {
      if (first === TRIGGER) this.measure();
      else if (first === (this.variant === "aht10" ? 0xe1 : 0xbe)) this.status |= CALIBRATED;
    }
    return true;
  }

  i2cRead(): number {
    return this.out.shift() ?? 0xff;
  }

  i2cDisconnect(): void {
    this.command = [];
  }

  private powerUpStatus(): number {
    return this.variant === "aht20" ? AHT20_READY : 0;
  }

  private measure(): void {
    const h = code((this.values.humidity as number) / 100 * 0x100000, 0xfffff);
    const t = code(((this.values.temperature as number) + 50) / 200 * 0x100000, 0xfffff);
    this.data = [h >> 12, (h >> 4) & 0xff, ((h & 0xf) << 4) | (t >> 16), (t >> 8) & 0xff, t & 0xff];
  }
}
