// The simulated device under the firmware: I2C buses with chip models at addresses, the
// input pins and sensors of the recorder, all outliving a simulated reboot. It knows nothing
// of Lua or of either firmware; the bindings drive it as the firmware drives real hardware.
import { I2cBus } from "./i2c-bus.js";
import { pixelsToPng } from "./png.js";
import { Ssd1306 } from "./chips/ssd1306.js";
import { OneWireBus } from "./onewire-bus.js";
import { DS18B20_FAMILY, Ds18b20, romWithCrc } from "./chips/ds18b20.js";
import { HardwareRecorder, type RecorderInputs } from "./recorder.js";
import { CHIP_KINDS, type ChipEnv } from "./chips/index.js";
import { ChipConfigError, type ChipModel, type ReadingsModel } from "./chips/model.js";

/** One chip on an I2C bus: which model, where, and its readings (the model's own names). */
export interface I2cChipConfig {
  /** The model: bme280, bmp280, sht30, ... */
  chip: string;
  /** The bus number (default 0). */
  bus?: number;
  /** 7-bit address as a number or "0x76" (default: the chip's). */
  address?: number | string;
  [reading: string]: unknown;
}

/** One device on a 1-Wire bus: the pin the bus is on, the model, its ROM code and readings. */
export interface OneWireChipConfig {
  /** The GPIO pin (the firmware's bus number). */
  pin: number;
  /** The model: ds18b20. */
  chip: string;
  /** The 64-bit ROM code as 16 hex digits (family first, CRC last) or 14 without the CRC. */
  rom?: string;
  [reading: string]: unknown;
}

export interface DeviceDescription extends RecorderInputs {
  i2c?: I2cChipConfig[];
  onewire?: OneWireChipConfig[];
}

/** Changes while the script runs: chips are found by bus and address (`chip` may be left out). */
export interface DevicePatch {
  pins?: Record<string, number>;
  sensors?: Record<string, number>;
  i2c?: Array<Omit<I2cChipConfig, "chip"> & { chip?: string }>;
  /** Found by pin and rom (rom may be left out when the pin's bus has one device). */
  onewire?: Array<Omit<OneWireChipConfig, "chip"> & { chip?: string }>;
}

export class DeviceError extends Error {}

export interface PlacedChip {
  bus: number;
  address: number;
  chip: ChipModel;
}

export interface PlacedOneWire {
  pin: number;
  chip: Ds18b20;
}

const NOT_READINGS = new Set(["chip", "bus", "address", "pin", "rom"]);
const ONEWIRE_KINDS = ["ds18b20"];

export class Device {
  readonly hardware: HardwareRecorder;
  private readonly buses = new Map<number, I2cBus>();
  private readonly placed = new Map<string, PlacedChip>();
  private readonly wires = new Map<number, OneWireBus>();
  private readonly placedWire: PlacedOneWire[] = [];

  private readonly now: () => number;
  private readonly wall: () => number;

  /**
   * `description` is asked whenever a configured input is read; `now` is a monotonic
   * millisecond clock, `wall` the calendar clock (ms since 1970) a real-time clock chip keeps.
   */
  constructor(private readonly description: () => DeviceDescription | undefined, now: () => number, wall: () => number = Date.now) {
    this.now = now;
    this.wall = wall;
    this.hardware = new HardwareRecorder(description, now, (id) => this.i2c(id));
    const entries = description()?.i2c ?? [];
    checkI2cList(entries);
    entries.forEach((entry) => this.place(entry));
    const wired = description()?.onewire ?? [];
    checkOneWireList(wired);
    wired.forEach((entry, i) => this.placeWire(entry, i));
  }

  /**
   * The 1-Wire bus on GPIO `pin`, created on first use: empty when the description lists
   * `onewire` devices (or an empty list); otherwise one DS18B20 at the `ds18b20` (else
   * `temperature`) sensor reading, the part scripts use 1-Wire for.
   */
  onewire(pin: number): OneWireBus {
    let bus = this.wires.get(pin);
    if (!bus) {
      bus = new OneWireBus();
      this.wires.set(pin, bus);
      if (this.description()?.onewire === undefined) {
        const temperature = this.hardware.sensor("ds18b20") ?? this.hardware.sensor("temperature");
        const entry: OneWireChipConfig = { pin, chip: "ds18b20" };
        if (temperature !== undefined) entry.temperature = Math.min(125, Math.max(-55, temperature));
        this.placeWire(entry, this.placedWire.length);
      }
    }
    return bus;
  }

  /** The 1-Wire devices placed, in description order. */
  onewireChips(): PlacedOneWire[] {
    return [...this.placedWire];
  }

  /** I2C bus `id`, created empty on first use. */
  i2c(id: number): I2cBus {
    let bus = this.buses.get(id);
    if (!bus) {
      bus = new I2cBus();
      this.buses.set(id, bus);
    }
    return bus;
  }

  /** The chip model at `address` on `bus`, if one was placed there. */
  chip(bus: number, address: number): ChipModel | undefined {
    return this.placed.get(`${bus}/${address}`)?.chip;
  }

  chips(): PlacedChip[] {
    return [...this.placed.values()];
  }

  /**
   * What the first display placed (or the one at `bus`/`address`) shows, as a PNG with each
   * pixel `scale` × `scale`; undefined when there is no display there.
   */
  screenshot(scale = 1, bus?: number, address?: number): Uint8Array | undefined {
    const display = this.chips().find((placed) => placed.chip instanceof Ssd1306 && (bus === undefined || placed.bus === bus) && (address === undefined || placed.address === address));
    return display ? pixelsToPng((display.chip as Ssd1306).pixels(), scale) : undefined;
  }

  /**
   * Changes inputs while the script runs: pin levels (gpio interrupts fire), sensor values,
   * chip readings; an i2c entry naming a chip where none is places a new one.
   */
  set(patch: DevicePatch): void {
    const entries = patch.i2c ?? [];
    entries.forEach((entry, i) => {
      const { bus, address } = locate(entry, `i2c[${i}]`);
      const existing = this.placed.get(`${bus}/${address}`);
      if (existing && (entry.chip === undefined || entry.chip === existing.chip.kind)) setReadings(existing.chip, entry, `i2c[${i}]`);
      else if (entry.chip === undefined) throw new DeviceError(`i2c[${i}]: no chip at bus ${bus} address 0x${address.toString(16)}`);
      else this.place(entry as I2cChipConfig, i);
    });
    (patch.onewire ?? []).forEach((entry, i) => {
      const where = `onewire[${i}]`;
      const pin = checkPin(entry.pin, where);
      const rom = entry.rom === undefined ? undefined : romOf(entry.rom, where);
      const onPin = this.placedWire.filter((p) => p.pin === pin);
      const found = rom ? onPin.find((p) => Buffer.from(p.chip.rom).equals(Buffer.from(rom))) : onPin.length === 1 ? onPin[0] : undefined;
      if (found && (entry.chip === undefined || entry.chip === found.chip.kind)) setReadings(found.chip, entry, where);
      else if (entry.chip === undefined) throw new DeviceError(`${where}: ${rom ? "no device with that rom" : "name the rom of one device"} on pin ${pin}`);
      else this.placeWire(entry as OneWireChipConfig, this.placedWire.length);
    });
    for (const [pin, level] of Object.entries(patch.pins ?? {})) this.hardware.setInput(Number(pin), level);
    for (const [name, value] of Object.entries(patch.sensors ?? {})) this.hardware.setSensor(name, value);
  }

  private place(entry: I2cChipConfig, index = this.placed.size): void {
    const { bus, address } = locate(entry, `i2c[${index}]`, CHIP_KINDS[entry.chip]?.address);
    const env: ChipEnv = {
      now: this.now,
      wall: this.wall,
      output: (call, args) => this.hardware.record(entry.chip, call, [bus, address, ...args]),
    };
    const chip = createChip(entry, `i2c[${index}]`, env);
    this.i2c(bus).attach(address, chip);
    this.placed.set(`${bus}/${address}`, { bus, address, chip });
  }

  private placeWire(entry: OneWireChipConfig, index: number): void {
    const chip = createWireChip(entry, `onewire[${index}]`, index, this.now);
    this.onewire(entry.pin).attach(chip);
    this.placedWire.push({ pin: entry.pin, chip });
  }
}

function checkPin(pin: unknown, where: string): number {
  if (typeof pin !== "number" || !Number.isInteger(pin) || pin < 0) throw new DeviceError(`${where}.pin must be a non-negative integer`);
  return pin;
}

function romOf(text: unknown, where: string): Uint8Array {
  if (typeof text !== "string" || !/^([0-9a-f]{14}|[0-9a-f]{16})$/i.test(text.replace(/[:\s-]/g, ""))) {
    throw new DeviceError(`${where}.rom must be 16 hex digits (or 14, the CRC is then added)`);
  }
  const bytes = Buffer.from(text.replace(/[:\s-]/g, ""), "hex");
  const rom = romWithCrc(bytes.subarray(0, 7));
  if (bytes.length === 8 && bytes[7] !== rom[7]) throw new DeviceError(`${where}.rom ends in CRC ${hex(bytes[7] as number)}, its CRC-8 is ${hex(rom[7] as number)}`);
  return rom;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function createWireChip(entry: OneWireChipConfig, where: string, index: number, now: () => number): Ds18b20 {
  if (!ONEWIRE_KINDS.includes(entry.chip)) throw new DeviceError(`${where}.chip "${String(entry.chip)}" is not a known 1-Wire chip (${ONEWIRE_KINDS.join(", ")})`);
  const pin = checkPin(entry.pin, where);
  // Without a rom, each device gets its own serial from its pin and place in the list.
  const rom = entry.rom === undefined ? romWithCrc([DS18B20_FAMILY, 0x6d, 0x4f, 0x1e, pin, index & 0xff, 0]) : romOf(entry.rom, where);
  const chip = new Ds18b20(rom, now);
  setReadings(chip, entry, where);
  return chip;
}

/** Checks a description's `onewire` list without placing anything: DeviceError names the first fault. */
export function checkOneWireList(list: unknown): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new DeviceError("onewire must be a list of devices");
  const seen = new Set<string>();
  list.forEach((entry: unknown, i) => {
    const where = `onewire[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new DeviceError(`${where} must be an object`);
    const chip = createWireChip(entry as OneWireChipConfig, where, i, () => 0);
    const { pin } = entry as OneWireChipConfig;
    const rom = Buffer.from(chip.rom).toString("hex");
    if (seen.has(`${pin}/${rom}`)) throw new DeviceError(`${where}: two devices with rom ${rom} on pin ${pin}`);
    seen.add(`${pin}/${rom}`);
  });
}

function readingsOf(entry: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !NOT_READINGS.has(key)));
}

function locate(entry: { bus?: number; address?: number | string; chip?: string }, where: string, fallback?: number): { bus: number; address: number } {
  const bus = entry.bus ?? 0;
  if (!Number.isInteger(bus) || bus < 0) throw new DeviceError(`${where}.bus must be a non-negative integer`);
  let address: number | undefined;
  if (typeof entry.address === "number") address = entry.address;
  else if (typeof entry.address === "string" && /^(0x[0-9a-f]+|[0-9]+)$/i.test(entry.address)) address = Number(entry.address);
  else if (entry.address === undefined) address = fallback ?? (entry.chip ? CHIP_KINDS[entry.chip]?.address : undefined);
  if (address === undefined || !Number.isInteger(address) || address < 0 || address > 0x7f) throw new DeviceError(`${where}.address must be a 7-bit address (0 to 0x7f)`);
  return { bus, address };
}

function createChip(entry: I2cChipConfig, where: string, env: ChipEnv): ChipModel {
  const kind = CHIP_KINDS[entry.chip];
  if (!kind) throw new DeviceError(`${where}.chip "${String(entry.chip)}" is not a known chip (${Object.keys(CHIP_KINDS).join(", ")})`);
  const chip = kind.create(env);
  setReadings(chip, entry, where);
  return chip;
}

function setReadings(chip: ReadingsModel, entry: Record<string, unknown>, where: string): void {
  try {
    chip.set(readingsOf(entry));
  } catch (error) {
    if (error instanceof ChipConfigError) throw new DeviceError(`${where}: ${error.message}`);
    throw error;
  }
}

/** Checks a description's `i2c` list without placing anything: DeviceError names the first fault. */
export function checkI2cList(list: unknown): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new DeviceError("i2c must be a list of chips");
  const seen = new Set<string>();
  list.forEach((entry: unknown, i) => {
    const where = `i2c[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new DeviceError(`${where} must be an object`);
    const chipEntry = entry as I2cChipConfig;
    createChip(chipEntry, where, { now: () => 0, wall: Date.now, output: () => undefined });
    const { bus, address } = locate(chipEntry, where);
    const key = `${bus}/${address}`;
    if (seen.has(key)) throw new DeviceError(`${where}: two chips at bus ${bus} address 0x${address.toString(16)}`);
    seen.add(key);
  });
}
