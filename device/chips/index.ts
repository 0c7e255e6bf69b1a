// The chip models a device description can place on an I2C bus, by name.
import type { ChipModel } from "./model.js";
import { Ads1115 } from "./ads1115.js";
import { Aht } from "./aht.js";
import { Am2320 } from "./am2320.js";
import { Bh1750 } from "./bh1750.js";
import { Bme280 } from "./bme280.js";
import { Bmp180 } from "./bmp180.js";
import { Ds3231 } from "./ds3231.js";
import { Sht30 } from "./sht30.js";
import { Si7021 } from "./si7021.js";
import { Ssd1306 } from "./ssd1306.js";
import { Hdc1080 } from "./hdc1080.js";
import { Tsl2561 } from "./tsl2561.js";
import { Hmc5883l } from "./hmc5883l.js";
import { Mcp4725 } from "./mcp4725.js";
import { Tcs34725 } from "./tcs34725.js";

/**
 * What a chip may need from the device: monotonic milliseconds, the wall clock in ms since
 * 1970, and `output` to report a change the chip itself makes visible (a display frame, a
 * clock set), recorded as a hardware event of the chip's kind with its bus and address.
 */
export interface ChipEnv {
  now(): number;
  wall(): number;
  output(call: string, args: ReadonlyArray<number | string>): void;
}

export interface ChipKind {
  /** The address the chip answers when the description names none (its datasheet default). */
  address: number;
  create(env: ChipEnv): ChipModel;
}

export const CHIP_KINDS: Record<string, ChipKind> = {
  bme280: { address: 0x76, create: () => new Bme280(true) },
  bmp280: { address: 0x76, create: () => new Bme280(false) },
  bmp180: { address: 0x77, create: () => new Bmp180() },
  sht30: { address: 0x44, create: () => new Sht30() },
  aht10: { address: 0x38, create: () => new Aht("aht10") },
  aht20: { address: 0x38, create: () => new Aht("aht20") },
  am2320: { address: 0x5c, create: (env) => new Am2320(env.now) },
  si7021: { address: 0x40, create: () => new Si7021() },
  bh1750: { address: 0x23, create: () => new Bh1750() },
  ads1115: { address: 0x48, create: () => new Ads1115(false) },
  ads1015: { address: 0x48, create: () => new Ads1115(true) },
  ds3231: { address: 0x68, create: (env) => new Ds3231(env.wall, env.output) },
  ssd1306: { address: 0x3c, create: (env) => new Ssd1306(env.output) },
  hdc1080: { address: 0x40, create: () => new Hdc1080() },
  tsl2561: { address: 0x39, create: () => new Tsl2561(false) },
  tsl2561cs: { address: 0x39, create: () => new Tsl2561(true) },
  hmc5883l: { address: 0x1e, create: () => new Hmc5883l() },
  mcp4725: { address: 0x60, create: (env) => new Mcp4725(env.now, env.output) },
  tcs34725: { address: 0x29, create: () => new Tcs34725() },
};
