// Both flavors' i2c modules against the device's bus and chip models: Lua drivers of our own,
// written against the datasheets only, read what --device describes.
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";
import { DeviceError, type RuntimeOptions } from "../main/index.js";
import { DeviceFileError, readDeviceFile } from "../runtime/device.js";
import { tempDir } from "./support/temp.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

function nodemcu(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

function luatos(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "luatos", ...options });
}

// An SHT30 driver as a NodeMCU user writes one: single shot, high repeatability, CRC checked.
const NODEMCU_SHT30 = `
local function crc8(s)
  local crc = 0xFF
  for i = 1, #s do
    crc = bit.bxor(crc, s:byte(i))
    for _ = 1, 8 do
      if bit.band(crc, 0x80) ~= 0 then crc = bit.band(bit.bxor(bit.lshift(crc, 1), 0x31), 0xFF)
      else crc = bit.band(bit.lshift(crc, 1), 0xFF) end
    end
  end
  return crc
end
function sht30_read(addr)
  i2c.start(0)
  if not i2c.address(0, addr, i2c.TRANSMITTER) then i2c.stop(0) return nil, "no ack" end
  i2c.write(0, 0x2C, 0x06)
  i2c.stop(0)
  i2c.start(0)
  i2c.address(0, addr, i2c.RECEIVER)
  local d = i2c.read(0, 6)
  i2c.stop(0)
  if crc8(d:sub(1, 2)) ~= d:byte(3) or crc8(d:sub(4, 5)) ~= d:byte(6) then return nil, "crc" end
  local t = -45 + 175 * (d:byte(1) * 256 + d:byte(2)) / 65535
  local h = 100 * (d:byte(4) * 256 + d:byte(5)) / 65535
  return t, h
end
i2c.setup(0, 2, 1, i2c.SLOW)
`;

describe("NodeMCU i2c over the device's bus", () => {
  it("a Lua SHT30 driver reads the --device values, and the values the embedder sets later", async () => {
    const c = await nodemcu({ device: { i2c: [{ chip: "sht30", temperature: 23.4, humidity: 61.5 }] } });
    run(c, NODEMCU_SHT30);
    const [t, h] = run(c, "return sht30_read(0x44)") as number[];
    expect(t).to.be.closeTo(23.4, 0.003);
    expect(h).to.be.closeTo(61.5, 0.002);
    c.rt.device.set({ i2c: [{ address: 0x44, temperature: -5.25 }] });
    expect((run(c, "return sht30_read(0x44)") as number[])[0]).to.be.closeTo(-5.25, 0.003);
    await c.rt.close();
  });

  it("an address with no chip is not acknowledged: address false, write counts 0, read sees 0xFF", async () => {
    const c = await nodemcu({ device: { i2c: [{ chip: "sht30" }] } });
    expect(run(c, `
      i2c.setup(0, 2, 1, i2c.SLOW)
      i2c.start(0)
      local a = i2c.address(0, 0x45, i2c.TRANSMITTER)
      local n = i2c.write(0, 0x2C, 0x06)
      i2c.stop(0)
      i2c.start(0)
      local r = i2c.address(0, 0x45, i2c.RECEIVER)
      local d = i2c.read(0, 2)
      i2c.stop(0)
      return a, n, r, d`)).to.deep.equal([false, 0, false, "\xff\xff"]);
    expect(run(c, "return sht30_read and 1 or 0")).to.deep.equal([0]);
    await c.rt.close();
  });

  it("write stops counting at the first byte not acknowledged", async () => {
    // An SHT30 with no measurement pending refuses its read header; a BME280 takes any byte,
    // so the NACK comes from an address nobody answers after a repeated START.
    const c = await nodemcu({ device: { i2c: [{ chip: "bme280" }] } });
    expect(run(c, `
      i2c.setup(0, 2, 1, i2c.SLOW)
      i2c.start(0)
      i2c.address(0, 0x76, i2c.TRANSMITTER)
      local n1 = i2c.write(0, 0xD0)
      i2c.start(0)
      i2c.address(0, 0x76, i2c.RECEIVER)
      local id = i2c.read(0, 1)
      i2c.start(0)
      i2c.address(0, 0x10, i2c.TRANSMITTER)
      local n2 = i2c.write(0, "abc", 1)
      i2c.stop(0)
      return n1, id, n2`)).to.deep.equal([1, "\x60", 0]);
    await c.rt.close();
  });
});

// An SHT30 driver a LuatOS user writes with i2c.send/recv.
const LUATOS_SHT30 = `
function sht30_read(id, addr)
  if not i2c.send(id, addr, {0x2C, 0x06}) then return nil, "no ack" end
  local d = i2c.recv(id, addr, 6)
  if #d ~= 6 then return nil, "short" end
  local rt, rh = string.unpack(">I2xI2x", d)
  return -45 + 175 * rt / 65535, 100 * rh / 65535
end
`;

describe("LuatOS i2c over the device's bus", () => {
  it("a Lua SHT30 driver on bus 1 reads the --device values; readSHT30 gives the firmware's tenths", async () => {
    const c = await luatos({ device: { i2c: [{ chip: "sht30", bus: 1, temperature: 19.75, humidity: 48.2 }] } });
    run(c, LUATOS_SHT30);
    const [t, h] = run(c, "i2c.setup(1, i2c.FAST) return sht30_read(1, 0x44)") as number[];
    expect(t).to.be.closeTo(19.75, 0.003);
    expect(h).to.be.closeTo(48.2, 0.002);
    expect(run(c, "return i2c.readSHT30(1)")).to.deep.equal([true, 482, 197]);
    expect(run(c, "return sht30_read(0, 0x44)")).to.deep.equal([null, "no ack"]);
    await c.rt.close();
  });

  it("returns false / empty strings when the address is not acknowledged", async () => {
    const c = await luatos();
    expect(run(c, "return i2c.send(0, 0x50, 1), i2c.recv(0, 0x50, 2), i2c.writeReg(0, 0x50, 1, 'x'), i2c.readReg(0, 0x50, 1, 2), i2c.readSHT30(0)")).to.deep.equal([false, "", false, "", false]);
    expect(run(c, "return i2c.transfer(0, 0x50, 1, nil, 2)")).to.deep.equal([false, "\0\0"]);
    expect(run(c, "return i2c.transfer(0, 0x50, 1)")).to.deep.equal([false, null]);
    await c.rt.close();
  });

  it("readReg and transfer read a BME280's registers with a repeated START; writeReg configures it", async () => {
    const c = await luatos({ device: { i2c: [{ chip: "bme280", address: "0x77" }] } });
    expect(run(c, "return i2c.readReg(0, 0x77, 0xD0, 1), i2c.transfer(0, 0x77, 0xD0, nil, 1)")).to.deep.equal(["\x60", true, "\x60"]);
    expect(run(c, "return i2c.writeReg(0, 0x77, 0xF2, '\\1'), i2c.writeReg(0, 0x77, 0xF4, '\\x25'), i2c.readReg(0, 0x77, 0xF4, 1)")).to.deep.equal([true, true, "\x24"]);
    await c.rt.close();
  });
});

describe("rt.device and --device i2c", () => {
  it("device.set places a chip at its default address, drives pins and sensors, and refuses bad values", async () => {
    const c = await luatos();
    c.rt.device.set({ i2c: [{ chip: "bh1750", illuminance: 800 }], pins: { "5": 1 }, sensors: { adc1: 1234 } });
    expect(c.rt.device.chip(0, 0x23)?.readings()).to.deep.equal({ illuminance: 800 });
    expect(c.rt.hardware.inputLevel(5)).to.equal(1);
    expect(c.rt.hardware.sensor("adc1")).to.equal(1234);
    expect(run(c, "i2c.send(0, 0x23, 0x10) local d = i2c.recv(0, 0x23, 2) return (d:byte(1) * 256 + d:byte(2)) / 1.2")).to.deep.equal([800]);
    expect(() => c.rt.device.set({ i2c: [{ address: 0x23, illuminance: -1 }] })).to.throw(DeviceError, "i2c[0]: bh1750 illuminance must be between 0 and 100000");
    expect(() => c.rt.device.set({ i2c: [{ address: 0x50, illuminance: 1 }] })).to.throw(DeviceError, "i2c[0]: no chip at bus 0 address 0x50");
    await c.rt.close();
  });

  it("a device file with a bad i2c entry is refused with the file's name and the entry", () => {
    const dir = tempDir("device-file");
    const path = join(dir, "device.json");
    writeFileSync(path, JSON.stringify({ i2c: [{ chip: "sht30" }, { chip: "ds3231", time: "yesterday" }] }));
    expect(() => readDeviceFile(path)).to.throw(DeviceFileError, `device file ${path}: i2c[1]: ds3231 time must be a date and time such as "2024-05-01T12:00:00Z"`);
    writeFileSync(path, JSON.stringify({ i2c: [{ chip: "sht30", address: "0x45", humidity: 12 }] }));
    expect(readDeviceFile(path).i2c).to.deep.equal([{ chip: "sht30", address: "0x45", humidity: 12 }]);
  });
});

describe("SSD1306 over i2c", () => {
  it("a LuatOS driver's commands and data land in GDDRAM; the panel shows them remapped, flipped, inverted", async () => {
    const c = await luatos({ device: { i2c: [{ chip: "ssd1306", height: 64 }] } });
    const seen: string[] = [];
    c.rt.hardware.onEvent((event) => seen.push(`${event.module}.${event.call}`));
    run(c, `
      i2c.setup(0)
      -- display off, horizontal addressing, full window, remap, COM flip, charge pump, on
      i2c.send(0, 0x3C, {0x00, 0xAE, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7, 0xA1, 0xC8, 0x8D, 0x14, 0xAF})
      local frame = {0x40, 0x01, 0x80}
      for i = 3, 128 do frame[#frame + 1] = 0 end
      frame[#frame + 1] = 0xFF -- page 1, column 0
      i2c.send(0, 0x3C, frame)`);
    const { Ssd1306 } = await import("../device/chips/ssd1306.js");
    const chip = c.rt.device.chip(0, 0x3c) as InstanceType<typeof Ssd1306>;
    const ram = chip.gddram();
    expect([ram[0], ram[1], ram[2], ram[128]]).to.deep.equal([0x01, 0x80, 0, 0xff]);
    let pixels = chip.pixels();
    const lit = (rows: number[][]): Array<[number, number]> => rows.flatMap((row, y) => row.flatMap((v, x) => (v ? [[x, y] as [number, number]] : [])));
    // RAM column 0 is the right edge (remap), RAM row 0 the bottom row (COM flip).
    expect(lit(pixels)).to.deep.equal([
      ...[...Array(8).keys()].map((i) => [127, 55 - i] as [number, number]).reverse(),
      [126, 56],
      [127, 63],
    ]);
    // Co set: each command byte has its own control byte.
    run(c, "i2c.send(0, 0x3C, {0x80, 0xA7})");
    expect(lit(chip.pixels()).length).to.equal(128 * 64 - 10);
    expect(chip.pixels()[63]![127]).to.equal(0);
    run(c, "i2c.send(0, 0x3C, {0x80, 0xAE})");
    pixels = chip.pixels();
    expect(lit(pixels)).to.deep.equal([]);
    expect(chip.readings()).to.deep.equal({ height: 64, on: 0, contrast: 0x7f });
    // The panel's own changes are hardware events of the chip, with its bus and address.
    expect(c.rt.hardware.filter("ssd1306").map((e) => [e.call, ...e.args])).to.deep.equal([
      ["display", 0, 0x3c, 0], ["display", 0, 0x3c, 1], ["frame", 0, 0x3c], ["display", 0, 0x3c, 0],
    ]);
    expect(seen).to.deep.equal(["i2c.setup", "i2c.send", "ssd1306.display", "ssd1306.display", "i2c.send", "ssd1306.frame", "i2c.send", "i2c.send", "ssd1306.display"]);
    expect(run(c, "return i2c.recv(0, 0x3C, 1)")).to.deep.equal([""]);
    await c.rt.close();
  });
});
