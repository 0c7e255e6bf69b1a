// The chip models a device description can place on an I2C bus, by name.
import type { ChipModel } from "./model.js";
import { Bme280 } from "./bme280.js";
import { Sht30 } from "./sht30.js";

export interface ChipKind {
  /** The address the chip answers when the description names none (its datasheet default). */
  address: number;
  create(): ChipModel;
}

export const CHIP_KINDS: Record<string, ChipKind> = {
  bme280: { address: 0x76, create: () => new Bme280(true) },
  bmp280: { address: 0x76, create: () => new Bme280(false) },
  sht30: { address: 0x44, create: () => new Sht30() },
};
