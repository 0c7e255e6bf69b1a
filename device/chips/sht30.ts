// Sensirion SHT3x-DIS (SHT30/31/35), from its datasheet: 16-bit commands, readings as two
// 16-bit words each followed by a CRC-8, T = -45 + 175·S/65535 °C, RH = 100·S/65535 %.
// Measurements complete at once (a real chip needs up to 15 ms; drivers wait anyway).
import { crc8 } from "../crc.js";
import { HUMIDITY, SensorModel, TEMPERATURE, code } from "./model.js";

const SINGLE_SHOT = new Set([0x2c06, 0x2c0d, 0x2c10, 0x2400, 0x240b, 0x2416]);
const PERIODIC_MSB = new Set([0x20, 0x21, 0x22, 0x23, 0x27]);
const FETCH = 0xe000;
const ART = 0x2b32;
const BREAK = 0x3093;
const SOFT_RESET = 0x30a2;
const HEATER_ON = 0x306d;
const HEATER_OFF = 0x3066;
const READ_STATUS = 0xf32d;
const CLEAR_STATUS = 0x3041;
const STATUS_HEATER = 1 << 13;
const STATUS_RESET = 1 << 4;
const STATUS_COMMAND_FAILED = 1 << 1;
const STATUS_CRC_FAILED = 1 << 0;

/** A 16-bit word followed by its CRC, as the chip sends it. */
function sensirionWord(word: number): number[] {
  const bytes = [word >> 8, word & 0xff];
  return [...bytes, crc8(bytes)];
}

export class Sht30 extends SensorModel {
  private command: number[] = [];
  private output: number[] = [];
  private periodic = false;
  private status = STATUS_RESET;

  constructor() {
    super("sht30", { temperature: TEMPERATURE, humidity: HUMIDITY });
  }

  /** The six bytes of a measurement: temperature word, CRC, humidity word, CRC. */
  measurement(): number[] {
    const t = code(((this.values.temperature as number) + 45) * 65535 / 175, 0xffff);
    const rh = code((this.values.humidity as number) * 65535 / 100, 0xffff);
    return [...sensirionWord(t), ...sensirionWord(rh)];
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.command = [];
    // A read header with no data ready is not acknowledged (datasheet 4.4).
    return !read || this.output.length > 0;
  }

  i2cWrite(byte: number): boolean {
    this.command.push(byte);
    if (this.command.length === 2) this.execute((this.command[0] as number) << 8 | (this.command[1] as number));
    return true;
  }

  i2cRead(): number {
    return this.output.shift() ?? 0xff;
  }

  i2cDisconnect(): void {
    this.command = [];
  }

  private execute(command: number): void {
    this.output = [];
    this.status &= ~STATUS_COMMAND_FAILED;
    if (SINGLE_SHOT.has(command) && !this.periodic) {
      this.output = this.measurement();
    } else if (PERIODIC_MSB.has(command >> 8) || command === ART) {
      this.periodic = true;
    } else if (command === FETCH && this.periodic) {
      this.output = this.measurement();
    } else if (command === BREAK) {
      this.periodic = false;
    } else if (command === SOFT_RESET) {
      this.periodic = false;
      this.status = STATUS_RESET;
    } else if (command === HEATER_ON) {
      this.status |= STATUS_HEATER;
    } else if (command === HEATER_OFF) {
      this.status &= ~STATUS_HEATER;
    } else if (command === READ_STATUS) {
      this.output = sensirionWord(this.status);
    } else if (command === CLEAR_STATUS) {
      this.status &= ~(STATUS_RESET | STATUS_COMMAND_FAILED | STATUS_CRC_FAILED);
    } else {
      this.status |= STATUS_COMMAND_FAILED;
    }
  }
}
