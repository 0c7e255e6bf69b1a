// Maxim DS3231 real-time clock, from its datasheet: BCD timekeeping registers 0x00..0x06
// (seconds, minutes, hours with the 12/24 bit, day 1-7, date, month with century bit,
// year), alarms 0x07..0x0D, control 0x0E (0x1C at power-up), status 0x0F (OSF set at
// power-up), aging 0x10, temperature 0x11..0x12 in 0.25 °C. The register pointer auto-
// increments and wraps after 0x12; the time registers are latched at the START of a read,
// and written time takes effect when the write transfer ends. The clock runs with the PC's.
import { ChipConfigError, type ChipModel, type Reading } from "./model.js";

const REGISTERS = 0x13;
const CONTROL = 0x0e;
const STATUS = 0x0f;
const TEMP_MSB = 0x11;
const OSF = 0x80;

const bcd = (value: number): number => ((Math.floor(value / 10) << 4) | (value % 10)) & 0xff;
const fromBcd = (value: number): number => (value >> 4) * 10 + (value & 0x0f);

export class Ds3231 implements ChipModel {
  readonly kind = "ds3231";
  private readonly registers = new Uint8Array(REGISTERS);
  private pointer = 0;
  private expectingPointer = true;
  private timeWritten = false;
  /** Milliseconds to add to the PC's clock for the chip's time. */
  private offset = 0;
  /** What the script wrote as day of week minus the true weekday (0 = Sunday is day 1). */
  private dayOffset = 0;
  private twelveHour = false;
  private temperature = 25;

  /** `output` reports the time a script sets (ISO 8601). */
  constructor(private readonly wallClock: () => number, private readonly output: (call: string, args: string[]) => void = () => undefined) {
    this.registers[CONTROL] = 0x1c;
    this.registers[STATUS] = OSF;
  }

  readings(): Record<string, Reading> {
    return { time: new Date(this.wallClock() + this.offset).toISOString(), temperature: this.temperature };
  }

  set(values: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(values)) {
      if (name === "time") {
        const at = typeof value === "string" ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(at)) throw new ChipConfigError("ds3231 time must be a date and time such as \"2024-05-01T12:00:00Z\"");
      } else if (name === "temperature") {
        if (typeof value !== "number" || !(value >= -40 && value <= 85)) throw new ChipConfigError("ds3231 temperature must be between -40 and 85");
      } else {
        throw new ChipConfigError(`ds3231 has no reading '${name}' (it has time, temperature)`);
      }
    }
    if (typeof values.time === "string") this.offset = Date.parse(values.time) - this.wallClock();
    if (typeof values.temperature === "number") this.temperature = values.temperature;
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.expectingPointer = !read;
    if (read) this.latch();
    return true;
  }

  i2cWrite(byte: number): boolean {
    if (this.expectingPointer) {
      this.pointer = byte % REGISTERS;
      this.expectingPointer = false;
      return true;
    }
    if (this.pointer <= 6) this.timeWritten = true;
    // Status: OSF and the alarm flags can only be cleared, BSY is read-only, EN32kHz is plain.
    const old = this.registers[STATUS] as number;
    if (this.pointer === STATUS) this.registers[STATUS] = (old & byte & 0x83) | (byte & 0x08) | (old & 0x04);
    else if (this.pointer < TEMP_MSB) this.registers[this.pointer] = byte;
    this.pointer = (this.pointer + 1) % REGISTERS;
    return true;
  }

  i2cRead(): number {
    const value = this.registers[this.pointer] as number;
    this.pointer = (this.pointer + 1) % REGISTERS;
    return value;
  }

  i2cDisconnect(): void {
    if (this.timeWritten) this.adoptWrittenTime();
    this.timeWritten = false;
    this.expectingPointer = true;
  }

  /** Copies the running time and the temperature into the user registers. */
  private latch(): void {
    const now = new Date(this.wallClock() + this.offset);
    const r = this.registers;
    const hours = now.getUTCHours();
    r[0] = bcd(now.getUTCSeconds());
    r[1] = bcd(now.getUTCMinutes());
    if (this.twelveHour) {
      const h12 = hours % 12 === 0 ? 12 : hours % 12;
      r[2] = 0x40 | (hours >= 12 ? 0x20 : 0) | bcd(h12);
    } else {
      r[2] = bcd(hours);
    }
    r[3] = ((now.getUTCDay() + this.dayOffset) % 7 + 7) % 7 + 1;
    r[4] = bcd(now.getUTCDate());
    const year = now.getUTCFullYear();
    r[5] = bcd(now.getUTCMonth() + 1) | (year >= 2100 ? 0x80 : 0);
    r[6] = bcd(year % 100);
    const quarters = Math.round(this.temperature * 4);
    r[TEMP_MSB] = (quarters >> 2) & 0xff;
    r[TEMP_MSB + 1] = (quarters & 3) << 6;
  }

  private adoptWrittenTime(): void {
    const r = this.registers;
    this.twelveHour = ((r[2] as number) & 0x40) !== 0;
    let hours = this.twelveHour ? fromBcd((r[2] as number) & 0x1f) % 12 + (((r[2] as number) & 0x20) ? 12 : 0) : fromBcd((r[2] as number) & 0x3f);
    hours = Math.min(hours, 23);
    const century = ((r[5] as number) & 0x80) ? 2100 : 2000;
    const at = Date.UTC(century + fromBcd(r[6] as number), fromBcd((r[5] as number) & 0x1f) - 1, fromBcd((r[4] as number) & 0x3f), hours, fromBcd((r[1] as number) & 0x7f), fromBcd((r[0] as number) & 0x7f));
    this.offset = at - this.wallClock();
    this.dayOffset = (((r[3] as number) & 7) - 1) - new Date(at).getUTCDay();
    this.output("time", [new Date(at).toISOString()]);
    // Writing the time does not clear OSF; only the script's write of the status register does.
  }
}
