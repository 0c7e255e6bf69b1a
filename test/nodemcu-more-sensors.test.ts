// HDC1080, TSL2561, HMC5883L and MCP4725: the chip models at register level, and the NodeMCU
// C modules over them on bus 0.
import { expect } from "chai";
import { I2cBus } from "../device/i2c-bus.js";
import { Hdc1080 } from "../device/chips/hdc1080.js";
import { started, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";
import type { RuntimeOptions } from "../main/index.js";

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

function word(bus: I2cBus, address: number, pointer: number, count = 2): number[] {
  expect(bus.send(address, Uint8Array.of(pointer), true)).to.equal(true);
  return [...(bus.receive(address, count) ?? [])];
}

describe("device: HDC1080 model", () => {
  it("identifies itself, resets its configuration, converts at 14/11/8 bits and both at once in mode 1", () => {
    const bus = new I2cBus();
    const chip = new Hdc1080();
    bus.attach(0x40, chip);
    chip.set({ temperature: 25, humidity: 50 });
    expect(word(bus, 0x40, 0xfe)).to.deep.equal([0x54, 0x49]);
    expect(word(bus, 0x40, 0xff)).to.deep.equal([0x10, 0x50]);
    expect(word(bus, 0x40, 0x02)).to.deep.equal([0x10, 0x00]);
    // 25 °C: 65/165·65536 = 25817.2 → 14 bits keep 25816; 50 %RH = 32768 exactly.
    expect(word(bus, 0x40, 0x00, 4)).to.deep.equal([25816 >> 8, 25816 & 0xff, 0x80, 0x00]);
    bus.send(0x40, Uint8Array.of(0x02, 0x06, 0x00), true);
    chip.set({ humidity: 33.3 });
    // 11-bit temperature (step 32) and 8-bit humidity (step 256).
    expect(word(bus, 0x40, 0x00)).to.deep.equal([25792 >> 8, 25792 & 0xff]);
    expect(word(bus, 0x40, 0x01)).to.deep.equal([0x55, 0x00]);
    bus.send(0x40, Uint8Array.of(0x02, 0x80, 0x00), true);
    expect(word(bus, 0x40, 0x02)).to.deep.equal([0x10, 0x00]);
  });
});

describe("NodeMCU hdc1080", () => {
  it("setup selects 11-bit conversions; read returns temperature and humidity within that resolution", async () => {
    const c = await boot({ device: { i2c: [{ chip: "hdc1080", temperature: 23.4, humidity: 61.2 }] } });
    expect(run(c, "i2c.setup(0, 1, 2, i2c.SLOW) return hdc1080.setup()")).to.deep.equal([]);
    const [t, h] = run(c, "return hdc1080.read()") as number[];
    expect(t).to.be.closeTo(23.4, 165 / 2048);
    expect(h).to.be.closeTo(61.2, 100 / 2048);
    // 11-bit codes: the results sit exactly on multiples of 32 codes.
    expect(Math.round(((t! + 40) / 165) * 65536) % 32).to.equal(0);
    expect(Math.round((h! / 100) * 65536) % 32).to.equal(0);
    c.rt.device.set({ i2c: [{ address: 0x40, temperature: -10, humidity: 0 }] });
    const [t2, h2] = run(c, "return hdc1080.read()") as number[];
    expect(t2).to.be.closeTo(-10, 165 / 2048);
    expect(h2).to.equal(0);
    await c.rt.close();
  });

  it("with no chip the bus's 0xFFFF reads as the top of each range", async () => {
    const c = await boot();
    run(c, "hdc1080.setup()");
    const [t, h] = run(c, "return hdc1080.read()") as number[];
    expect(t).to.equal(Math.fround(Math.fround(Math.fround(65535 / 65536) * 165) - 40));
    expect(h).to.equal(Math.fround(Math.fround(65535 / 65536) * 100));
    await c.rt.close();
  });
});
