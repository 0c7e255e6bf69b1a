// Chip models at register level, against their datasheets' worked examples, driven over the
// I2C bus the way a master drives them.
import { expect } from "chai";
import { I2cBus } from "../device/i2c-bus.js";
import { Device, DeviceError } from "../device/device.js";
import { crc16Modbus, crc8 } from "../device/crc.js";
import { Bme280, DEFAULT_TRIMMING } from "../device/chips/bme280.js";
import { bme280Humidity, bme280Pressure, bme280Temperature, bme280TFine, bme280Trimming } from "../device/chips/bme280-math.js";
import { Sht30 } from "../device/chips/sht30.js";

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
