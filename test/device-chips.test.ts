// Chip models at register level, against their datasheets' worked examples, driven over the
// I2C bus the way a master drives them.
import { expect } from "chai";
import { I2cBus } from "../device/i2c-bus.js";
import { Device, DeviceError } from "../device/device.js";
import { crc16Modbus, crc8 } from "../device/crc.js";
import { Bme280, DEFAULT_TRIMMING } from "../device/chips/bme280.js";
import { bme280Humidity, bme280Pressure, bme280Temperature, bme280TFine, bme280Trimming } from "../device/chips/bme280-math.js";
import { Sht30 } from "../device/chips/sht30.js";
import { Bmp180, EXAMPLE_CALIBRATION, bmp180Pressure, bmp180Temperature } from "../device/chips/bmp180.js";
import { Aht } from "../device/chips/aht.js";
import { Bh1750 } from "../device/chips/bh1750.js";
import { Si7021 } from "../device/chips/si7021.js";
import { Am2320 } from "../device/chips/am2320.js";
import { Ads1115 } from "../device/chips/ads1115.js";
import { Ds3231 } from "../device/chips/ds3231.js";

function readRegisters(bus: I2cBus, address: number, register: number, count: number): number[] {
  expect(bus.send(address, Uint8Array.of(register), false)).to.equal(true);
  return [...(bus.receive(address, count) ?? [])];
}

describe("device: checksums", () => {
  it("CRC-8 0x31 gives the SHT3x datasheet's example: 0xBEEF → 0x92", () => {
    expect(crc8([0xbe, 0xef])).to.equal(0x92);
  });

  it("CRC-16 Modbus gives the standard check value: \"123456789\" → 0x4B37", () => {
    expect(crc16Modbus(Buffer.from("123456789"))).to.equal(0x4b37);
  });
});

describe("device: I2C bus", () => {
  it("nobody acknowledges an empty address; reads see the pull-up", () => {
    const bus = new I2cBus();
    bus.start();
    expect(bus.address(0x50, false)).to.equal(false);
    expect(bus.write(0x12)).to.equal(false);
    expect(bus.read()).to.equal(0xff);
    bus.stop();
    expect(bus.receive(0x50, 2)).to.equal(undefined);
    expect(bus.send(0x50, Uint8Array.of(1))).to.equal(false);
  });

  it("data bytes follow the R/W bit: a chip addressed for writing does not drive SDA, one addressed for reading takes no bytes", () => {
    const bus = new I2cBus();
    bus.attach(0x76, new Bme280());
    bus.start();
    expect(bus.address(0x76, false)).to.equal(true);
    expect(bus.write(0xd0)).to.equal(true);
    expect(bus.read()).to.equal(0xff);
    bus.start();
    expect(bus.address(0x76, true)).to.equal(true);
    expect(bus.write(0xd0)).to.equal(false);
    expect(bus.read()).to.equal(0x60);
    bus.stop();
  });
});

describe("device: BME280", () => {
  it("compensates the BMP280 datasheet's worked example (3.12): adc_T 519888 → 25.08 °C, adc_P 415148 → 100653.27 Pa", () => {
    const tFine = bme280TFine(519888, DEFAULT_TRIMMING);
    expect(tFine).to.equal(128422);
    expect(bme280Temperature(tFine)).to.equal(2508);
    const q24_8 = bme280Pressure(415148, tFine, DEFAULT_TRIMMING);
    // The datasheet's table gives 100653.27 Pa from its floating-point formula; the 64-bit
    // integer one lands 0.02 Pa below (checked independently with Python integers).
    expect(q24_8).to.equal(25767233);
    expect(q24_8 / 256).to.be.closeTo(100653.27, 0.03);
  });

  it("serves its trimming registers, decoded back to the same values", () => {
    const bus = new I2cBus();
    bus.attach(0x76, new Bme280());
    expect(readRegisters(bus, 0x76, 0xd0, 1)).to.deep.equal([0x60]);
    const low = readRegisters(bus, 0x76, 0x88, 26);
    expect(low.slice(0, 2)).to.deep.equal([27504 & 0xff, 27504 >> 8]);
    const high = readRegisters(bus, 0x76, 0xe1, 7);
    expect(bme280Trimming(low, high)).to.deep.equal(DEFAULT_TRIMMING);
  });

  it("a forced measurement reads back the configured values within the chip's resolution, then sleeps", () => {
    const bus = new I2cBus();
    const chip = new Bme280();
    chip.set({ temperature: 23.45, humidity: 55.5, pressure: 987.65 });
    bus.attach(0x77, chip);
    // Before any measurement the data registers hold the reset values.
    expect(readRegisters(bus, 0x77, 0xf7, 8)).to.deep.equal([0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
    expect(bus.send(0x77, Uint8Array.of(0xf2, 0x01, 0xf4, 0b10110101))).to.equal(true);
    const d = readRegisters(bus, 0x77, 0xf7, 8);
    const adcP = (d[0]! << 12) | (d[1]! << 4) | (d[2]! >> 4);
    const adcT = (d[3]! << 12) | (d[4]! << 4) | (d[5]! >> 4);
    const adcH = (d[6]! << 8) | d[7]!;
    const tFine = bme280TFine(adcT, DEFAULT_TRIMMING);
    expect(bme280Temperature(tFine)).to.equal(2345);
    expect(bme280Pressure(adcP, tFine, DEFAULT_TRIMMING) / 25600).to.be.closeTo(987.65, 0.01);
    expect(bme280Humidity(adcH, tFine, DEFAULT_TRIMMING) / 1024).to.be.closeTo(55.5, 0.01);
    expect(readRegisters(bus, 0x77, 0xf4, 1)).to.deep.equal([0b10110100]);
  });

  it("16-bit resolution at oversampling ×1 without the filter; skipped measurements read 0x80000", () => {
    const bus = new I2cBus();
    bus.attach(0x76, new Bme280());
    bus.send(0x76, Uint8Array.of(0xf2, 0x00, 0xf4, 0b00100001));
    const d = readRegisters(bus, 0x76, 0xf7, 8);
    expect(d.slice(0, 3)).to.deep.equal([0x80, 0, 0]);
    expect(d[5]).to.equal(0);
    expect(d.slice(6)).to.deep.equal([0x80, 0]);
  });

  it("the BMP280 variant has id 0x58 and no humidity", () => {
    const device = new Device(() => ({ i2c: [{ chip: "bmp280", temperature: 30 }] }), () => 0);
    expect(readRegisters(device.i2c(0), 0x76, 0xd0, 1)).to.deep.equal([0x58]);
    expect(() => device.set({ i2c: [{ address: 0x76, humidity: 50 }] })).to.throw(DeviceError, "i2c[0]: bmp280 has no reading 'humidity' (it has temperature, pressure)");
  });
});

describe("device: SHT30", () => {
  it("a single-shot measurement: two words each with its CRC-8, from the datasheet's conversion", () => {
    const bus = new I2cBus();
    const chip = new Sht30();
    chip.set({ temperature: 25, humidity: 50 });
    bus.attach(0x44, chip);
    // Nothing measured yet: the read header is not acknowledged.
    expect(bus.receive(0x44, 6)).to.equal(undefined);
    expect(bus.send(0x44, Uint8Array.of(0x2c, 0x06))).to.equal(true);
    const t = Math.round(70 * 65535 / 175);
    const rh = Math.round(50 * 65535 / 100);
    expect([...bus.receive(0x44, 6)!]).to.deep.equal([t >> 8, t & 0xff, crc8([t >> 8, t & 0xff]), rh >> 8, rh & 0xff, crc8([rh >> 8, rh & 0xff])]);
    expect(bus.receive(0x44, 6)).to.equal(undefined);
  });

  it("status register: reset flag set at power-up, cleared by 0x3041, heater bit follows its commands", () => {
    const bus = new I2cBus();
    bus.attach(0x44, new Sht30());
    const status = (): number[] => {
      bus.send(0x44, Uint8Array.of(0xf3, 0x2d));
      return [...bus.receive(0x44, 3)!];
    };
    expect(status()).to.deep.equal([0x00, 0x10, crc8([0x00, 0x10])]);
    bus.send(0x44, Uint8Array.of(0x30, 0x41));
    bus.send(0x44, Uint8Array.of(0x30, 0x6d));
    expect(status()).to.deep.equal([0x20, 0x00, crc8([0x20, 0x00])]);
  });

  it("periodic mode answers fetch (0xE000) with the current readings", () => {
    const bus = new I2cBus();
    const chip = new Sht30();
    bus.attach(0x45, chip);
    bus.send(0x45, Uint8Array.of(0x21, 0x30));
    chip.set({ temperature: -10 });
    bus.send(0x45, Uint8Array.of(0xe0, 0x00));
    const b = bus.receive(0x45, 6)!;
    expect(-45 + 175 * ((b[0]! << 8) | b[1]!) / 65535).to.be.closeTo(-10, 0.002);
  });
});

describe("device: description", () => {
  it("places chips at their default or given addresses and refuses bad entries with a clear message", () => {
    const device = new Device(() => ({ i2c: [{ chip: "sht30" }, { chip: "bme280", bus: 1, address: "0x77", pressure: 950 }] }), () => 0);
    expect(device.chips().map(({ bus, address, chip }) => [bus, address, chip.kind])).to.deep.equal([[0, 0x44, "sht30"], [1, 0x77, "bme280"]]);
    expect(device.chip(1, 0x77)?.readings()).to.deep.equal({ temperature: 21.5, humidity: 40, pressure: 950 });
    expect(() => new Device(() => ({ i2c: [{ chip: "xyz" }] }), () => 0)).to.throw(DeviceError, 'i2c[0].chip "xyz" is not a known chip');
    expect(() => new Device(() => ({ i2c: [{ chip: "sht30", address: "0x80" }] }), () => 0)).to.throw(DeviceError, "i2c[0].address must be a 7-bit address (0 to 0x7f)");
    expect(() => new Device(() => ({ i2c: [{ chip: "sht30", temperature: 200 }] }), () => 0)).to.throw(DeviceError, "i2c[0]: sht30 temperature must be between -40 and 85");
    expect(() => new Device(() => ({ i2c: [{ chip: "sht30" }, { chip: "sht30", address: 0x44 }] }), () => 0)).to.throw(DeviceError, "i2c[1]: two chips at bus 0 address 0x44");
  });
});

describe("device: BMP180", () => {
  it("computes the datasheet's worked example (3.5): UT 27898 → 15.0 °C, UP 23843 → 69964 Pa", () => {
    const { b5, t } = bmp180Temperature(27898, EXAMPLE_CALIBRATION);
    expect(t).to.equal(150);
    expect(bmp180Pressure(23843, 0, b5, EXAMPLE_CALIBRATION)).to.equal(69964);
  });

  it("serves calibration and id, and converts to the configured values at every oversampling", () => {
    const bus = new I2cBus();
    const chip = new Bmp180();
    chip.set({ temperature: 18.3, pressure: 1001.5 });
    bus.attach(0x77, chip);
    expect(readRegisters(bus, 0x77, 0xd0, 1)).to.deep.equal([0x55]);
    expect(readRegisters(bus, 0x77, 0xaa, 2)).to.deep.equal([408 >> 8, 408 & 0xff]);
    bus.send(0x77, Uint8Array.of(0xf4, 0x2e));
    const [hi, lo] = readRegisters(bus, 0x77, 0xf6, 2);
    const { b5, t } = bmp180Temperature((hi! << 8) | lo!, EXAMPLE_CALIBRATION);
    expect(t).to.equal(183);
    for (const oss of [0, 1, 2, 3]) {
      bus.send(0x77, Uint8Array.of(0xf4, 0x34 + 64 * oss));
      const [m, l, x] = readRegisters(bus, 0x77, 0xf6, 3);
      const up = ((m! << 16) | (l! << 8) | x!) >> (8 - oss);
      expect(Math.abs(bmp180Pressure(up, oss, b5, EXAMPLE_CALIBRATION) - 100150)).to.be.at.most(oss === 0 ? 3 : 1);
    }
  });
});

describe("device: AHT10 / AHT20", () => {
  it("AHT20: calibrated at power-up, trigger then 7 bytes with a CRC-8 over the first six", () => {
    const bus = new I2cBus();
    const chip = new Aht("aht20");
    chip.set({ temperature: 25, humidity: 50 });
    bus.attach(0x38, chip);
    expect([...bus.receive(0x38, 1)!]).to.deep.equal([0x18]);
    bus.send(0x38, Uint8Array.of(0xac, 0x33, 0x00));
    const d = [...bus.receive(0x38, 7)!];
    expect(d.slice(0, 6)).to.deep.equal([0x18, 0x80, 0x00, 0x06, 0x00, 0x00]);
    expect(d[6]).to.equal(crc8(d.slice(0, 6)));
  });

  it("AHT10: calibrated only after 0xE1 0x08 0x00; six bytes, no CRC", () => {
    const bus = new I2cBus();
    const chip = new Aht("aht10");
    chip.set({ temperature: -10, humidity: 12.5 });
    bus.attach(0x38, chip);
    expect([...bus.receive(0x38, 1)!]).to.deep.equal([0x00]);
    bus.send(0x38, Uint8Array.of(0xe1, 0x08, 0x00));
    bus.send(0x38, Uint8Array.of(0xac, 0x33, 0x00));
    const d = [...bus.receive(0x38, 7)!];
    const h = (d[1]! << 12) | (d[2]! << 4) | (d[3]! >> 4);
    const t = ((d[3]! & 0xf) << 16) | (d[4]! << 8) | d[5]!;
    expect(d[0]).to.equal(0x08);
    expect(h / 2 ** 20 * 100).to.be.closeTo(12.5, 0.0001);
    expect(t / 2 ** 20 * 200 - 50).to.be.closeTo(-10, 0.0002);
    expect(d[6]).to.equal(0xff);
  });
});

describe("device: BH1750", () => {
  it("the datasheet's example: 28067 lx reads 0x8390 in H-resolution mode; MTreg and mode 2 scale it", () => {
    const bus = new I2cBus();
    const chip = new Bh1750();
    chip.set({ illuminance: 28067 });
    bus.attach(0x23, chip);
    bus.send(0x23, Uint8Array.of(0x01));
    bus.send(0x23, Uint8Array.of(0x10));
    expect([...bus.receive(0x23, 2)!]).to.deep.equal([0x83, 0x90]);
    chip.set({ illuminance: 100 });
    bus.send(0x23, Uint8Array.of(0x42));
    bus.send(0x23, Uint8Array.of(0x7e));
    bus.send(0x23, Uint8Array.of(0x21));
    const [hi, lo] = bus.receive(0x23, 2)!;
    expect((hi! << 8) | lo!).to.equal(Math.round(100 * 1.2 * 2 * 94 / 69));
  });
});

describe("device: SI7021", () => {
  it("RH with a CRC-8 from 0, the temperature of that measurement, user register and ID", () => {
    const bus = new I2cBus();
    const chip = new Si7021();
    chip.set({ temperature: 22.5, humidity: 45 });
    bus.attach(0x40, chip);
    bus.send(0x40, Uint8Array.of(0xe5));
    const rh = [...bus.receive(0x40, 3)!];
    expect(rh[2]).to.equal(crc8(rh.slice(0, 2), 0));
    expect((125 * ((rh[0]! << 8) | rh[1]!)) / 65536 - 6).to.be.closeTo(45, 0.03);
    bus.send(0x40, Uint8Array.of(0xe0));
    const t = [...bus.receive(0x40, 2)!];
    expect((175.72 * ((t[0]! << 8) | t[1]!)) / 65536 - 46.85).to.be.closeTo(22.5, 0.011);
    bus.send(0x40, Uint8Array.of(0xe7));
    expect([...bus.receive(0x40, 1)!]).to.deep.equal([0x3a]);
    bus.send(0x40, Uint8Array.of(0xfc, 0xc9));
    expect(bus.receive(0x40, 6)![0]).to.equal(0x15);
  });
});

describe("device: AM2320", () => {
  it("ignores its wake-up address, then answers function 0x03 with count, data and CRC-16 low byte first", () => {
    let now = 0;
    const bus = new I2cBus();
    const chip = new Am2320(() => now);
    chip.set({ temperature: -7.5, humidity: 50 });
    bus.attach(0x5c, chip);
    expect(bus.send(0x5c, new Uint8Array())).to.equal(false);
    expect(bus.send(0x5c, Uint8Array.of(0x03, 0x00, 0x04))).to.equal(true);
    const frame = [...bus.receive(0x5c, 8)!];
    expect(frame.slice(0, 6)).to.deep.equal([0x03, 0x04, 0x01, 0xf4, 0x80, 0x4b]);
    const crc = crc16Modbus(frame.slice(0, 6));
    expect(frame.slice(6)).to.deep.equal([crc & 0xff, crc >> 8]);
    now = 3500;
    expect(bus.send(0x5c, Uint8Array.of(0x03, 0x00, 0x04))).to.equal(false);
  });
});

describe("device: ADS1115", () => {
  it("single-shot conversion of AIN0 at ±2.048 V; OS reads 1 when done; ADS1015 is 12-bit left-aligned", () => {
    const bus = new I2cBus();
    const chip = new Ads1115();
    chip.set({ a0: 1.5, a1: 0.25 });
    bus.attach(0x48, chip);
    expect(readRegisters(bus, 0x48, 1, 2)).to.deep.equal([0x85, 0x83]);
    bus.send(0x48, Uint8Array.of(0x01, 0xc5, 0x83));
    expect(readRegisters(bus, 0x48, 0, 2)).to.deep.equal([24000 >> 8, 24000 & 0xff]);
    // MUX 000 is the differential pair AIN0 − AIN1.
    bus.send(0x48, Uint8Array.of(0x01, 0x85, 0x83));
    expect(readRegisters(bus, 0x48, 0, 2)).to.deep.equal([20000 >> 8, 20000 & 0xff]);
    const ads1015 = new Ads1115(true);
    ads1015.set({ a3: -0.3 });
    bus.attach(0x49, ads1015);
    bus.send(0x49, Uint8Array.of(0x01, 0xf3, 0x83));
    const [hi, lo] = readRegisters(bus, 0x49, 0, 2);
    expect((((hi! << 8) | lo!) << 16) >> 16).to.equal(Math.round(-0.3 / 4.096 * 2048) * 16);
  });
});

describe("device: DS3231", () => {
  it("keeps the configured time in BCD, takes a written time and day, 12-hour mode, temperature in quarters", () => {
    let wall = Date.UTC(2024, 4, 1, 12, 0, 0);
    const bus = new I2cBus();
    const chip = new Ds3231(() => wall);
    chip.set({ time: "2024-02-29T23:59:58Z", temperature: -3.25 });
    bus.attach(0x68, chip);
    expect(readRegisters(bus, 0x68, 0, 7)).to.deep.equal([0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24]);
    wall += 3000;
    expect(readRegisters(bus, 0x68, 0, 7)).to.deep.equal([0x01, 0x00, 0x00, 6, 0x01, 0x03, 0x24]);
    // −3.25 °C: two's complement −4 in the MSB plus three quarters in the LSB's top bits.
    expect(readRegisters(bus, 0x68, 0x0e, 5)).to.deep.equal([0x1c, 0x80, 0, 0xfc, 0xc0]);
    bus.send(0x68, Uint8Array.of(0x00, 0x30, 0x15, 0x40 | 0x20 | 0x08, 0x02, 0x31, 0x12, 0x99));
    expect(readRegisters(bus, 0x68, 0, 7)).to.deep.equal([0x30, 0x15, 0x68, 0x02, 0x31, 0x12, 0x99]);
    expect(chip.readings().time).to.equal("2099-12-31T20:15:30.000Z");
    bus.send(0x68, Uint8Array.of(0x0f, 0x00));
    expect(readRegisters(bus, 0x68, 0x0f, 1)).to.deep.equal([0x00]);
  });
});
