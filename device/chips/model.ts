// What every chip model shares: a kind, readings an embedder sets, and their checks.
import type { I2cChip } from "../i2c-bus.js";

export class ChipConfigError extends Error {}

export type Reading = number | string;

/** What an embedder sees of any chip model, whatever bus it sits on. */
export interface ReadingsModel {
  readonly kind: string;
  /** The values the chip presents (temperature in °C, humidity in %RH, ...). */
  readings(): Record<string, Reading>;
  /** Changes some readings; unknown names and values out of the chip's range throw ChipConfigError. */
  set(values: Record<string, unknown>): void;
}

export interface ChipModel extends I2cChip, ReadingsModel {}

export interface ReadingSpec {
  initial: number;
  min: number;
  max: number;
}

/** A model whose readings are numbers in a range, checked when set. */
export abstract class SensorModel implements ChipModel {
  protected readonly values: Record<string, number> = {};

  constructor(readonly kind: string, private readonly specs: Record<string, ReadingSpec>) {
    for (const [name, spec] of Object.entries(specs)) this.values[name] = spec.initial;
  }

  readings(): Record<string, Reading> {
    return { ...this.values };
  }

  set(values: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(values)) {
      const spec = this.specs[name];
      if (!spec) throw new ChipConfigError(`${this.kind} has no reading '${name}' (it has ${Object.keys(this.specs).join(", ")})`);
      if (typeof value !== "number" || !Number.isFinite(value)) throw new ChipConfigError(`${this.kind} ${name} must be a number`);
      if (value < spec.min || value > spec.max) throw new ChipConfigError(`${this.kind} ${name} must be between ${spec.min} and ${spec.max}`);
    }
    Object.assign(this.values, values);
  }

  abstract i2cConnect(address: number, read: boolean): boolean;
  abstract i2cWrite(byte: number): boolean;
  abstract i2cRead(): number;
  abstract i2cDisconnect(): void;
}

/** The integer nearest to `value` within [0, max]: what an ADC of that width reports. */
export function code(value: number, max: number): number {
  return Math.min(max, Math.max(0, Math.round(value)));
}

export const TEMPERATURE: ReadingSpec = { initial: 21.5, min: -40, max: 85 };
export const HUMIDITY: ReadingSpec = { initial: 40, min: 0, max: 100 };
export const PRESSURE: ReadingSpec = { initial: 1013.25, min: 300, max: 1100 };
