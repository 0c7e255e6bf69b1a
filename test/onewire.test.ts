// The 1-Wire bus and DS18B20 model, NodeMCU `ow` over them, and the ds18b20 Lua module.
import { expect } from "chai";
import { started, startedIn, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
import type { RuntimeOptions } from "../main/index.js";
import { OneWireBus, crc8Maxim } from "../device/onewire-bus.js";
import { Ds18b20, ds18b20Raw, romWithCrc } from "../device/chips/ds18b20.js";
import { Device, DeviceError } from "../device/device.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeviceFileError, readDeviceFile } from "../runtime/device.js";
import { tempDir } from "./support/temp.js";

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

/** A DS18B20 on its own bus with a clock the test moves. */
function rig(rom = romWithCrc([0x28, 1, 2, 3, 4, 5, 6])): { bus: OneWireBus; chip: Ds18b20; clock: { t: number } } {
  const clock = { t: 0 };
  const chip = new Ds18b20(rom, () => clock.t);
  const bus = new OneWireBus();
  bus.attach(chip);
  return { bus, chip, clock };
}

function readScratchpad(bus: OneWireBus): number[] {
  bus.reset();
  bus.writeByte(0xcc);
  bus.writeByte(0xbe);
  return Array.from({ length: 9 }, () => bus.readByte());
}

// Three ROM codes whose first difference is in byte 1: the search takes the 0 branch of
// each discrepancy first, so it finds 0x02 (bit 8 is 0), then 0x01, then 0x03.
const ROM_A = "2801000000000000".slice(0, 14);
const ROM_B = "2802000000000000".slice(0, 14);
const ROM_C = "2803000000000000".slice(0, 14);

function hexRom(first7: string): string {
  return Buffer.from(romWithCrc(Buffer.from(first7, "hex"))).toString("hex");
}

describe("1-Wire CRC-8 (Dallas/Maxim)", () => {
  it("matches the application note's ROM example and a DS18B20's power-on scratchpad", () => {
    expect(crc8Maxim([0x02, 0x1c, 0xb8, 0x01, 0x00, 0x00, 0x00])).to.equal(0xa2);
    expect(crc8Maxim([0x50, 0x05, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10])).to.equal(0x1c);
    // A whole ROM code (or scratchpad) with its CRC checks to 0.
    expect(crc8Maxim(romWithCrc([0x28, 0xff, 0x4b, 0x6e, 0x21, 0x16, 0x04]))).to.equal(0);
  });
});

describe("DS18B20 model", () => {
  it("converts the datasheet's table temperatures to its register values", () => {
    expect(ds18b20Raw(125)).to.equal(0x07d0);
    expect(ds18b20Raw(85)).to.equal(0x0550);
    expect(ds18b20Raw(25.0625)).to.equal(0x0191);
    expect(ds18b20Raw(10.125)).to.equal(0x00a2);
    expect(ds18b20Raw(0.5)).to.equal(0x0008);
    expect(ds18b20Raw(0)).to.equal(0x0000);
    expect(ds18b20Raw(-0.5)).to.equal(0xfff8);
    expect(ds18b20Raw(-10.125)).to.equal(0xff5e);
    expect(ds18b20Raw(-25.0625)).to.equal(0xfe6f);
    expect(ds18b20Raw(-55)).to.equal(0xfc90);
    expect(ds18b20Raw(25.0625, 9)).to.equal(0x0190);
  });

  it("reads +85 °C until the first conversion completes, then the temperature, with its CRC", () => {
    const { bus, chip, clock } = rig();
    chip.set({ temperature: -10.125 });
    expect(bus.reset()).to.equal(true);
    expect(readScratchpad(bus)).to.deep.equal([0x50, 0x05, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10, 0x1c]);
    bus.reset();
    bus.writeByte(0xcc);
    bus.writeByte(0x44);
    // An externally powered part answers read slots with 0 while converting.
    expect(bus.readBit()).to.equal(0);
    clock.t = 749;
    expect(bus.readByte()).to.equal(0);
    expect(readScratchpad(bus).slice(0, 2)).to.deep.equal([0x50, 0x05]);
    clock.t = 750;
    const data = readScratchpad(bus);
    expect(data.slice(0, 8)).to.deep.equal([0x5e, 0xff, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10]);
    expect(data[8]).to.equal(crc8Maxim(data.slice(0, 8)));
  });

  it("writes TH, TL and the resolution, converts in the shorter time, copies and recalls the EEPROM", () => {
    const { bus, chip, clock } = rig();
    chip.set({ temperature: 25.0625 });
    bus.reset();
    bus.writeByte(0xcc);
    for (const byte of [0x4e, 0x1e, 0xf6, 0x1f]) bus.writeByte(byte);
    expect(readScratchpad(bus).slice(2, 5)).to.deep.equal([0x1e, 0xf6, 0x1f]);
    bus.reset();
    bus.writeByte(0xcc);
    bus.writeByte(0x44);
    clock.t = 93.75;
    expect(bus.readByte()).to.equal(0xff);
    expect(readScratchpad(bus).slice(0, 2)).to.deep.equal([0x90, 0x01]);
    expect(chip.readings()).to.include({ resolution: 9, th: 30, tl: -10 });
    // Recall without a copy brings back the factory EEPROM; after Copy Scratchpad, the new values.
    bus.reset();
    bus.writeByte(0xcc);
    bus.writeByte(0xb8);
    expect(readScratchpad(bus).slice(2, 5)).to.deep.equal([0x4b, 0x46, 0x7f]);
    bus.reset();
    bus.writeByte(0xcc);
    for (const byte of [0x4e, 0x1e, 0xf6, 0x3f, 0x48]) {
      if (byte === 0x48) {
        bus.reset();
        bus.writeByte(0xcc);
      }
      bus.writeByte(byte);
    }
    bus.reset();
    bus.writeByte(0xcc);
    bus.writeByte(0xb8);
    expect(readScratchpad(bus).slice(2, 5)).to.deep.equal([0x1e, 0xf6, 0x3f]);
  });

  it("answers Read ROM and Read Power Supply; a mismatched Match ROM leaves the bus alone", () => {
    const rom = romWithCrc([0x28, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]);
    const { bus, chip } = rig(rom);
    bus.reset();
    bus.writeByte(0x33);
    expect(Array.from({ length: 8 }, () => bus.readByte())).to.deep.equal([...rom]);
    bus.reset();
    bus.writeByte(0x55);
    for (const byte of rom) bus.writeByte(byte);
    bus.writeByte(0xb4);
    expect(bus.readBit()).to.equal(1);
    chip.set({ parasite: true });
    bus.reset();
    bus.writeByte(0xcc);
    bus.writeByte(0xb4);
    expect(bus.readBit()).to.equal(0);
    bus.reset();
    bus.writeByte(0x55);
    for (const byte of romWithCrc([0x28, 0, 0, 0, 0, 0, 0])) bus.writeByte(byte);
    bus.writeByte(0xbe);
    expect(bus.readByte()).to.equal(0xff);
    expect(new OneWireBus().reset()).to.equal(false);
  });

  it("is placed by --device onewire entries, checked, and changed by set", () => {
    const device = new Device(() => ({ onewire: [{ pin: 3, chip: "ds18b20", rom: ROM_A, temperature: 30 }] }), () => 0);
    const [placed] = device.onewireChips();
    expect(placed!.pin).to.equal(3);
    expect(placed!.chip.readings()).to.include({ rom: hexRom(ROM_A), temperature: 30 });
    device.set({ onewire: [{ pin: 3, temperature: -5 }] });
    expect(placed!.chip.readings().temperature).to.equal(-5);
    expect(device.onewire(4).reset()).to.equal(false);
    const bad = (list: unknown): (() => Device) => () => new Device(() => ({ onewire: list as [] }), () => 0);
    expect(bad([{ pin: 3, chip: "ds18b20", rom: "28010000000000ff" }])).to.throw(DeviceError, `onewire[0].rom ends in CRC ff, its CRC-8 is ${hexRom(ROM_A).slice(14)}`);
    expect(bad([{ pin: 3, chip: "ds18b20", temperature: 130 }])).to.throw(DeviceError, "onewire[0]: ds18b20 temperature must be between -55 and 125");
    expect(bad([{ pin: 3, chip: "ds1990" }])).to.throw(DeviceError, 'onewire[0].chip "ds1990" is not a known 1-Wire chip (ds18b20)');
    expect(bad([{ pin: 3, chip: "ds18b20", rom: ROM_A }, { pin: 3, chip: "ds18b20", rom: ROM_A }])).to.throw(DeviceError, "onewire[1]: two devices");
    const path = join(tempDir("onewire"), "device.json");
    writeFileSync(path, JSON.stringify({ onewire: [{ pin: 3, chip: "ds18b20", resolution: 8 }] }));
    expect(() => readDeviceFile(path)).to.throw(DeviceFileError, `device file ${path}: onewire[0]: ds18b20 resolution must be between 9 and 12`);
    writeFileSync(path, JSON.stringify({ onewire: { pin: 3 } }));
    expect(() => readDeviceFile(path)).to.throw(DeviceFileError, `device file ${path}: onewire must be a list of devices`);
  });
});

const THREE = { onewire: [ROM_A, ROM_B, ROM_C].map((rom, i) => ({ pin: 3, chip: "ds18b20", rom, temperature: 20 + i, resolution: 9 })) };

describe("NodeMCU ow over the 1-Wire bus", () => {
  it("searches three devices in the standard algorithm's order, then nil, then starts over", async () => {
    const c = await boot({ device: THREE });
    const found = run(c, `
      ow.setup(3)
      local out = {}
      for i = 1, 4 do local a = ow.search(3) out[i] = a and a:gsub('.', function(ch) return ('%02x'):format(ch:byte()) end) or 'nil' end
      out[5] = ow.search(3):byte(2)
      return table.unpack(out)`);
    expect(found).to.deep.equal([hexRom(ROM_B), hexRom(ROM_A), hexRom(ROM_C), "nil", 0x02]);
    // target_search starts at the family given; a reset_search starts from the first code again.
    expect(run(c, "ow.target_search(3, 0x28) local a = ow.search(3) ow.reset_search(3) return a:byte(2), ow.search(3):byte(2)")).to.deep.equal([0x02, 0x02]);
    expect(run(c, "ow.reset_search(4) return ow.reset(4), ow.search(4)")).to.deep.equal([0, null]);
    await c.rt.close();
  });

  it("alarm search finds only the devices whose last conversion reached TH or TL", async () => {
    const c = await boot({ device: { onewire: [
      { pin: 3, chip: "ds18b20", rom: ROM_A, temperature: 30, th: 30, tl: 10, resolution: 9 },
      { pin: 3, chip: "ds18b20", rom: ROM_B, temperature: 20, th: 30, tl: 10, resolution: 9 },
      { pin: 3, chip: "ds18b20", rom: ROM_C, temperature: 9.5, th: 30, tl: 10, resolution: 9 },
    ] } });
    const out = run(c, `
      local function all(alarm)
        local found = {}
        ow.reset_search(3)
        local a = ow.search(3, alarm)
        while a do found[#found + 1] = ('%02x'):format(a:byte(2)) a = ow.search(3, alarm) end
        return table.concat(found, ',')
      end
      local before = all(1)
      ow.reset(3) ow.skip(3) ow.write(3, 0x44, 1)
      while ow.read(3) == 0 do end
      return before, all(1), all(0)`);
    expect(out).to.deep.equal(["", "01,03", "02,01,03"]);
    await c.rt.close();
  });

  it("selects one device, converts, polls the busy bit, reads its scratchpad; skip and write_bytes reach every device", async () => {
    const c = await boot({ device: THREE });
    const out = run(c, `
      local addr = string.char(0x28, 1, 0, 0, 0, 0, 0) addr = addr .. string.char(ow.crc8(addr))
      print(ow.reset(3))
      ow.select(3, addr)
      ow.write(3, 0x44, 1)
      local polls = 0
      while ow.read(3) == 0 do polls = polls + 1 end
      ow.reset(3)
      ow.select(3, addr)
      ow.write(3, 0xBE, 1)
      local data = ow.read_bytes(3, 9)
      return polls > 0, data:byte(1), data:byte(2), data:byte(5), ow.crc8(data:sub(1, 8)) == data:byte(9)`);
    expect(out).to.deep.equal([true, 0x40, 0x01, 0x1f, true]);
    c.rt.device.set({ onewire: [{ pin: 3, rom: ROM_B, temperature: -10.125, resolution: 12 }] });
    const b = run(c, `
      ow.reset(3) ow.skip(3) ow.write(3, 0x44, 1)
      while ow.read(3) == 0 do end
      ow.reset(3)
      ow.write_bytes(3, string.char(0x55, 0x28, 2, 0, 0, 0, 0, 0, ${parseInt(hexRom(ROM_B).slice(14), 16)}, 0xBE))
      local data = ow.read_bytes(3, 9)
      return data:byte(1), data:byte(2), data:byte(5), ow.read(3)`);
    expect(b).to.deep.equal([0x5e, 0xff, 0x7f, 0xff]);
    expect(errorOf(c, "ow.read_bytes(3, 1025)")).to.equal("(exec):1: bad argument #2 to 'read_bytes' (Attempt to read too many characters)");
    expect(errorOf(c, "ow.write(3, 256)")).to.equal("(exec):1: wrong arg range");
    await c.rt.close();
  });

  it("keeps one DS18B20 per bus at the temperature sensor when the description lists no onewire devices", async () => {
    const c = await boot({ device: { sensors: { temperature: 23.25 } } });
    const out = run(c, `
      ow.setup(5)
      local addr = ow.search(5)
      ow.reset(5) ow.select(5, addr) ow.write(5, 0x44, 1)
      while ow.read(5) == 0 do end
      ow.reset(5) ow.select(5, addr) ow.write(5, 0xBE, 1)
      local data = ow.read_bytes(5, 9)
      return addr:byte(1), ow.crc8(addr:sub(1, 7)) == addr:byte(8), (data:byte(1) + data:byte(2) * 256) / 16`);
    expect(out).to.deep.equal([0x28, true, 23.25]);
    const none = await boot({ device: { onewire: [] } });
    expect(run(none, "return ow.reset(5), ow.search(5)")).to.deep.equal([0, null]);
    await none.rt.close();
    await c.rt.close();
  });
});

describe("NodeMCU ds18b20 (lua/ds18b20.lua)", () => {
  it("reads two sensors' --device temperatures by address, in C, F and K", async function () {
    this.timeout(10000);
    const c = await boot({
      device: { onewire: [
        { pin: 4, chip: "ds18b20", rom: ROM_A, temperature: 21.5 },
        { pin: 4, chip: "ds18b20", rom: ROM_B, temperature: -10.125 },
      ] },
    });
    // The pending timer keeps the script alive (an idle script has ended) for the later reads.
    run(c, `
      keep = tmr.create() keep:alarm(60000, tmr.ALARM_SINGLE, function() end)
      t = require("ds18b20")
      function show(tag)
        return function(temps)
          local keys = {}
          for addr, v in pairs(temps) do keys[#keys + 1] = ('%02X:%02X'):format(addr:byte(1, 2)) .. '=' .. tostring(v) end
          table.sort(keys)
          print(tag, #t.sens, #t.sens[1], t.sens[1]:byte(9), table.concat(keys, ' '))
        end
      end
      t:read_temp(show('C'), 4, t.C)`);
    await c.waitFor("C\t", 3000);
    run(c, "t:read_temp(show('F'), 4, t.F)");
    await c.waitFor("F\t", 3000);
    c.rt.device.set({ onewire: [{ pin: 4, rom: ROM_A, temperature: 0 }] });
    // No unit: the last one given stays; force_search finds the sensors again.
    run(c, "t:read_temp(show('F again'), 4, nil, true)");
    await c.waitFor("F again", 3000);
    run(c, "t:read_temp(show('K'), 4, 'K')");
    await c.waitFor("K\t", 3000);
    expect(c.stdout()).to.equal([
      "C\t2\t9\t0\t28:01=21.5 28:02=-10.125",
      "F\t2\t9\t0\t28:01=70.7 28:02=13.775",
      "F again\t2\t9\t0\t28:01=32.0 28:02=13.775",
      "K\t2\t9\t0\t28:01=273.15 28:02=263.025",
      "",
    ].join("\n"));
    await c.rt.close();
  });
});

describe("NodeMCU ds18b20 with parasite sensors and a saved search", () => {
  it("converts the second parasite sensor in its own round and reads the saved addresses without a search", async function () {
    this.timeout(10000);
    const wire = [
      { pin: 4, chip: "ds18b20", rom: ROM_A, temperature: 1, parasite: true },
      { pin: 4, chip: "ds18b20", rom: ROM_B, temperature: 2, parasite: true },
      { pin: 4, chip: "ds18b20", rom: ROM_C, temperature: 3 },
    ];
    // A project folder of its own: save_search writes ds18b20_save.lc into the flash.
    const { c } = await startedIn({}, { flavor: "nodemcu", device: { onewire: wire } });
    run(c, `
      keep = tmr.create() keep:alarm(60000, tmr.ALARM_SINGLE, function() end)
      t = require("ds18b20")
      started = tmr.now()
      t:read_temp(function(temps)
        local n = 0
        for _ in pairs(temps) do n = n + 1 end
        -- Two rounds of 750 ms: {ROM_C powered, ROM_B first parasite}, then ROM_A.
        print('done', n, (tmr.now() - started) // 750000, t.sens[1]:byte(9), t.sens[2]:byte(9), t.sens[3]:byte(9), file.exists('ds18b20_save.lc'))
      end, 4, t.C, nil, true)`);
    await c.waitFor("done", 4000);
    expect(c.stdout()).to.equal("done\t3\t2\t1\t1\t0\ttrue\n");
    // A fresh module instance with an empty list loads the file instead of searching.
    run(c, `
      package.loaded.ds18b20 = nil
      t = require("ds18b20")
      ow.search = function() error('searched') end
      t:read_temp(function(temps) print('saved', #t.sens, temps[t.sens[3]:sub(1, 8)]) end, 4)`);
    await c.waitFor("saved", 4000);
    expect(c.stdout().split("\n")[1]).to.equal("saved\t3\t3.0");
    await c.rt.close();
  });
});

describe("LuatOS onewire over the 1-Wire bus", () => {
  it("reads the ROM, converts and reads the scratchpad; bits, MSB-first bytes, zbuff and the presence check", async () => {
    const c = await started({ flavor: "luatos", device: { onewire: [{ pin: 0, chip: "ds18b20", rom: ROM_C, temperature: 25.0625, resolution: 9 }, { pin: 2, chip: "ds18b20", rom: ROM_A }] } });
    const rom = run(c, `
      onewire.init(0)
      local ok, id = onewire.rx(0, 8, 0x33, nil, false, true, true)
      return ok, id:byte(1), id:byte(2), id:byte(8)`);
    expect(rom).to.deep.equal([true, 0x28, 0x03, parseInt(hexRom(ROM_C).slice(14), 16)]);
    const scratch = run(c, `
      onewire.tx(0, string.char(0xCC, 0x44), false, true, true)
      local busy = onewire.bit(0)
      while onewire.bit(0) == 0 do end
      onewire.tx(0, 0xCC, false, true, true)
      local ok, data = onewire.rx(0, 9, 0xBE)
      return busy, ok, data:byte(1), data:byte(2), data:byte(5)`);
    expect(scratch).to.deep.equal([0, true, 0x90, 0x01, 0x1f]);
    // MSB first: 0x33 goes out as 0xCC (Skip ROM), 0x7D as 0xBE, and bytes read come back reversed.
    const msb = run(c, `
      onewire.tx(2, 0x33, true, true, true)
      onewire.tx(2, 0x7D, true)
      local buff = zbuff.create(4)
      local ok, nothing = onewire.rx(2, 2, nil, buff, true)
      return ok, nothing, buff[0], buff[1], buff:used(), onewire.bit(2, 1)`);
    expect(msb).to.deep.equal([true, null, 0x0a, 0xa0, 2, 1]);
    expect(run(c, "return onewire.reset(5, true), onewire.reset(5, false), onewire.tx(5, 0x33, false, true, true), onewire.rx(5, 1, 0x33, nil, false, true, true)")).to.deep.equal([false, true, false, false, null]);
    await c.rt.close();
  });
});

describe("LuatOS sensor.ds18b20 and the w1 helpers", () => {
  it("returns tenths of °C from the previous conversion (+85 °C the first time), the C's codes on failure", async () => {
    const c = await started({ flavor: "luatos", device: { onewire: [{ pin: 17, chip: "ds18b20", temperature: 25.0625 }, { pin: 18, chip: "ds18b20", temperature: -10.125, resolution: 9 }] } });
    expect(run(c, "return sensor.ds18b20(17, true)")).to.deep.equal([850, true]);
    await new Promise((resolve) => setTimeout(resolve, 800));
    // 0x0191 * 0.625 + 0.5 = 251.375, truncated.
    expect(run(c, "return sensor.ds18b20(17, true)")).to.deep.equal([251, true]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    run(c, "sensor.ds18b20(18)");
    await new Promise((resolve) => setTimeout(resolve, 120));
    // 9 bits: 0xFF58; the C negates the one's complement 0x00A7: -(167 * 0.625 + 0.5) = -104.875, truncated.
    expect(run(c, "return sensor.ds18b20(18, false)")).to.deep.equal([-104, true]);
    expect(run(c, "return sensor.ds18b20(19)")).to.deep.equal([-1, false]);
    const rom = run(c, `
      sensor.w1_reset(17)
      local first = sensor.w1_connect(17)
      local again = sensor.w1_connect(17)
      sensor.w1_write(17, 0x33)
      return first, again, sensor.w1_read(17, 2)`);
    expect(rom.slice(0, 3)).to.deep.equal([true, false, 0x28]);
    expect(run(c, "sensor.w1_reset(19) return sensor.w1_connect(19), sensor.w1_read(19, 1)")).to.deep.equal([false, 0xff]);
    await c.rt.close();
  });
});
