// Maxim DS18B20 1-Wire thermometer, slot by slot as the datasheet describes it: ROM commands
// (search, alarm search, read, match, skip) after every reset, then function commands on its
// scratchpad (9 bytes: temperature, TH, TL, configuration, 3 reserved, CRC) and its EEPROM.
// A conversion takes the time its resolution needs and only then updates the scratchpad,
// which holds +85 °C from power-on until the first one completes.
import { crc8Maxim, type OneWireChip } from "../onewire-bus.js";
import { ChipConfigError, type ReadingsModel, type Reading } from "./model.js";

export const DS18B20_FAMILY = 0x28;

const SEARCH_ROM = 0xf0;
const ALARM_SEARCH = 0xec;
const READ_ROM = 0x33;
const MATCH_ROM = 0x55;
const SKIP_ROM = 0xcc;
const CONVERT_T = 0x44;
const WRITE_SCRATCHPAD = 0x4e;
const READ_SCRATCHPAD = 0xbe;
const COPY_SCRATCHPAD = 0x48;
const RECALL_E2 = 0xb8;
const READ_POWER_SUPPLY = 0xb4;

/** Power-on register value: +85 °C. */
const POWER_ON_RAW = 0x0550;
/** The factory EEPROM: TH 75 °C, TL 70 °C, 12-bit resolution. */
const FACTORY = { th: 0x4b, tl: 0x46, config: 0x7f };
/** Bytes 5..7 are reserved; these are what the parts read back. */
const RESERVED = [0xff, 0x0c, 0x10];
/** tCONV by resolution 9..12 bits, in ms. */
const CONVERSION_MS = [93.75, 187.5, 375, 750];
/** tWR, the EEPROM write of Copy Scratchpad. */
const COPY_MS = 10;

/** The 16-bit register value for `celsius` at `bits` resolution (undefined low bits read 0). */
export function ds18b20Raw(celsius: number, bits = 12): number {
  const raw = Math.round(Math.min(125, Math.max(-55, celsius)) * 16);
  return (raw & ~((1 << (12 - bits)) - 1)) & 0xffff;
}

/** The ROM code for 7 bytes (family and serial, least significant first): they and their CRC-8. */
export function romWithCrc(first7: ArrayLike<number>): Uint8Array {
  const bytes = Array.from(first7);
  return Uint8Array.from([...bytes, crc8Maxim(bytes)]);
}

type Phase =
  /** Not selected: ignores every slot until the next reset. */
  | { kind: "idle" }
  /** Shifting in a command byte (ROM command after reset, function command once selected). */
  | { kind: "command"; rom: boolean; bits: number; value: number }
  /** Search: for ROM bit `bit`, step 0 sends it, step 1 its complement, step 2 reads the master's choice. */
  | { kind: "search"; bit: number; step: number }
  | { kind: "match"; bit: number }
  /** Sending bits, then releasing the line. */
  | { kind: "send"; bits: number[] }
  /** Write Scratchpad: shifting in TH, TL, configuration. */
  | { kind: "receive"; byte: number; bits: number; value: number }
  /** Read slots answer 0 until `until` (a conversion or EEPROM write on an externally powered part). */
  | { kind: "busy"; until: number }
  | { kind: "power" };

export class Ds18b20 implements OneWireChip, ReadingsModel {
  readonly kind = "ds18b20";
  readonly rom: Uint8Array;
  private temperature = 21.5;
  private parasite = false;
  private eeprom = { ...FACTORY };
  private th = FACTORY.th;
  private tl = FACTORY.tl;
  private config = FACTORY.config;
  private raw = POWER_ON_RAW;
  private alarm = false;
  private conversion: { until: number; raw: number } | undefined;
  private phase: Phase = { kind: "idle" };

  constructor(rom: Uint8Array, private readonly now: () => number) {
    this.rom = rom;
  }

  /** Resolution in bits, from R1:R0 of the configuration register. */
  get resolution(): number {
    return 9 + ((this.config >> 5) & 3);
  }

  /** The 9 scratchpad bytes as Read Scratchpad sends them. */
  scratchpad(): Uint8Array {
    this.settle();
    const data = [this.raw & 0xff, this.raw >> 8, this.th, this.tl, this.config, ...RESERVED];
    return Uint8Array.from([...data, crc8Maxim(data)]);
  }

  readings(): Record<string, Reading> {
    return {
      rom: Buffer.from(this.rom).toString("hex"),
      temperature: this.temperature,
      resolution: this.resolution,
      th: signed8(this.th),
      tl: signed8(this.tl),
      parasite: this.parasite ? 1 : 0,
    };
  }

  set(values: Record<string, unknown>): void {
    const checked: Record<string, number | boolean> = {};
    for (const [name, value] of Object.entries(values)) {
      if (name === "parasite") {
        if (typeof value !== "boolean") throw new ChipConfigError("ds18b20 parasite must be true or false");
        checked[name] = value;
        continue;
      }
      const range = RANGES[name];
      if (!range) throw new ChipConfigError(`ds18b20 has no reading '${name}' (it has temperature, resolution, th, tl, parasite)`);
      if (typeof value !== "number" || !Number.isFinite(value) || (range.integer && !Number.isInteger(value))) {
        throw new ChipConfigError(`ds18b20 ${name} must be ${range.integer ? "an integer" : "a number"}`);
      }
      if (value < range.min || value > range.max) throw new ChipConfigError(`ds18b20 ${name} must be between ${range.min} and ${range.max}`);
      checked[name] = value;
    }
    for (const [name, value] of Object.entries(checked)) {
      if (name === "temperature") this.temperature = value as number;
      else if (name === "parasite") this.parasite = value as boolean;
      // TH, TL and resolution describe the EEPROM the part powers up from.
      else if (name === "th") this.eeprom.th = this.th = (value as number) & 0xff;
      else if (name === "tl") this.eeprom.tl = this.tl = (value as number) & 0xff;
      else this.eeprom.config = this.config = configFor(value as number);
    }
  }

  owReset(): boolean {
    this.settle();
    this.phase = { kind: "command", rom: true, bits: 0, value: 0 };
    return true;
  }

  owSlot(bit: number): number {
    this.settle();
    const phase = this.phase;
    switch (phase.kind) {
      case "idle":
        return 1;
      case "command":
        phase.value |= bit << phase.bits;
        if (++phase.bits === 8) this.phase = phase.rom ? this.romCommand(phase.value) : this.functionCommand(phase.value);
        return 1;
      case "search":
        return this.searchSlot(phase, bit);
      case "match":
        if (bit !== this.romBit(phase.bit)) this.phase = { kind: "idle" };
        else if (++phase.bit === 64) this.phase = selected();
        return 1;
      case "send":
        return phase.bits.shift() ?? 1;
      case "receive":
        phase.value |= bit << phase.bits;
        if (++phase.bits === 8) this.received(phase);
        return 1;
      case "busy":
        return this.now() < phase.until && !this.parasite ? 0 : 1;
      case "power":
        return this.parasite ? 0 : 1;
    }
  }

  private romBit(index: number): number {
    return ((this.rom[index >> 3] as number) >> (index & 7)) & 1;
  }

  private romCommand(command: number): Phase {
    switch (command) {
      case SEARCH_ROM:
        return { kind: "search", bit: 0, step: 0 };
      case ALARM_SEARCH:
        return this.alarm ? { kind: "search", bit: 0, step: 0 } : { kind: "idle" };
      case READ_ROM:
        return { kind: "send", bits: bitsOf(this.rom) };
      case MATCH_ROM:
        return { kind: "match", bit: 0 };
      case SKIP_ROM:
        return selected();
      default:
        return { kind: "idle" };
    }
  }

  private searchSlot(phase: { bit: number; step: number }, bit: number): number {
    const own = this.romBit(phase.bit);
    if (phase.step < 2) return phase.step++ === 0 ? own : own ^ 1;
    phase.step = 0;
    if (bit !== own) this.phase = { kind: "idle" };
    else if (++phase.bit === 64) this.phase = selected();
    return 1;
  }

  private functionCommand(command: number): Phase {
    switch (command) {
      case CONVERT_T: {
        const until = this.now() + (CONVERSION_MS[this.resolution - 9] as number);
        this.conversion = { until, raw: ds18b20Raw(this.temperature, this.resolution) };
        return { kind: "busy", until };
      }
      case WRITE_SCRATCHPAD:
        return { kind: "receive", byte: 0, bits: 0, value: 0 };
      case READ_SCRATCHPAD:
        return { kind: "send", bits: bitsOf(this.scratchpad()) };
      case COPY_SCRATCHPAD:
        this.eeprom = { th: this.th, tl: this.tl, config: this.config };
        return { kind: "busy", until: this.now() + COPY_MS };
      case RECALL_E2:
        ({ th: this.th, tl: this.tl, config: this.config } = this.eeprom);
        return { kind: "send", bits: [] };
      case READ_POWER_SUPPLY:
        return { kind: "power" };
      default:
        return { kind: "idle" };
    }
  }

  private received(phase: { byte: number; bits: number; value: number }): void {
    if (phase.byte === 0) this.th = phase.value;
    else if (phase.byte === 1) this.tl = phase.value;
    else this.config = (phase.value & 0x60) | 0x1f;
    if (++phase.byte === 3) this.phase = { kind: "idle" };
    else {
      phase.bits = 0;
      phase.value = 0;
    }
  }

  /** A conversion whose time is up lands in the scratchpad and sets or clears the alarm flag. */
  private settle(): void {
    if (!this.conversion || this.now() < this.conversion.until) return;
    this.raw = this.conversion.raw;
    this.conversion = undefined;
    // The alarm compares the integer part (bits 11..4) with TH and TL as signed bytes.
    const whole = ((this.raw << 16) >> 16) >> 4;
    this.alarm = whole >= signed8(this.th) || whole <= signed8(this.tl);
  }
}

const RANGES: Record<string, { min: number; max: number; integer: boolean }> = {
  temperature: { min: -55, max: 125, integer: false },
  resolution: { min: 9, max: 12, integer: true },
  th: { min: -128, max: 127, integer: true },
  tl: { min: -128, max: 127, integer: true },
};

function selected(): Phase {
  return { kind: "command", rom: false, bits: 0, value: 0 };
}

function configFor(bits: number): number {
  return ((bits - 9) << 5) | 0x1f;
}

function signed8(byte: number): number {
  return byte & 0x80 ? byte - 256 : byte;
}

function bitsOf(bytes: Uint8Array): number[] {
  const bits: number[] = [];
  for (const byte of bytes) for (let i = 0; i < 8; i++) bits.push((byte >> i) & 1);
  return bits;
}
