// HDC1080, TSL2561, HMC5883L and MCP4725: the chip models at register level, and the NodeMCU
// C modules over them on bus 0.
import { expect } from "chai";
import { I2cBus } from "../device/i2c-bus.js";
import { Hdc1080 } from "../device/chips/hdc1080.js";
import { Tsl2561 } from "../device/chips/tsl2561.js";
import { Hmc5883l } from "../device/chips/hmc5883l.js";
import { Mcp4725 } from "../device/chips/mcp4725.js";
import { Tcs34725 } from "../device/chips/tcs34725.js";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
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

/** Command byte, then each register read by itself as the NodeMCU driver does. */
function channels(bus: I2cBus, address: number): [number, number] {
  const byte = (register: number): number => word(bus, address, 0xa0 | register, 1)[0]!;
  return [byte(0xc) | (byte(0xd) << 8), byte(0xe) | (byte(0xf) << 8)];
}

describe("device: TSL2561 model", () => {
  it("counts that the datasheet's lux formula turns back into the lux set, scaled by integration and gain", () => {
    const bus = new I2cBus();
    const chip = new Tsl2561(false);
    bus.attach(0x39, chip);
    expect(word(bus, 0x39, 0x8a, 1)).to.deep.equal([0x50]);
    expect(word(bus, 0x39, 0x81, 1)).to.deep.equal([0x02]);
    // Powered down, the data registers hold nothing yet.
    expect(channels(bus, 0x39)).to.deep.equal([0, 0]);
    chip.set({ lux: 200, ir: 0.55 });
    bus.send(0x39, Uint8Array.of(0x80, 0x03), true);
    bus.send(0x39, Uint8Array.of(0x81, 0x12), true);
    const [ch0, ch1] = channels(bus, 0x39);
    // Datasheet, T/FN/CL package, 0.50 < CH1/CH0 <= 0.61: lux = 0.0224·CH0 − 0.031·CH1.
    expect(ch1 / ch0).to.be.closeTo(0.55, 0.001);
    expect(0.0224 * ch0 - 0.031 * ch1).to.be.closeTo(200, 0.5);
    // 1x gain counts a sixteenth; 13.7 ms counts 11/322 and saturates at 5047.
    bus.send(0x39, Uint8Array.of(0x81, 0x02), true);
    expect(channels(bus, 0x39)[0]).to.be.closeTo(ch0 / 16, 0.5);
    bus.send(0x39, Uint8Array.of(0x81, 0x10), true);
    expect(channels(bus, 0x39)[0]).to.be.closeTo((ch0 * 11) / 322, 0.5);
    chip.set({ lux: 5000 });
    expect(channels(bus, 0x39)[0]).to.equal(5047);
    // Powered down again, the last counts stay.
    bus.send(0x39, Uint8Array.of(0x80, 0x00), true);
    chip.set({ lux: 1 });
    expect(channels(bus, 0x39)[0]).to.equal(5047);
  });
});

describe("NodeMCU tsl2561", () => {
  it("init, settiming, getlux and getrawchannels at each gain and integration time", async () => {
    const c = await boot({ device: { i2c: [{ chip: "tsl2561", lux: 321, ir: 0.3 }] } });
    expect(run(c, "return tsl2561.getlux()")).to.deep.equal([0, 3]);
    expect(run(c, "return tsl2561.settiming(tsl2561.INTEGRATIONTIME_13MS, tsl2561.GAIN_1X)")).to.deep.equal([3]);
    expect(run(c, "return tsl2561.init(5, 6, tsl2561.ADDRESS_FLOAT, tsl2561.PACKAGE_T_FN_CL)")).to.deep.equal([0]);
    for (const [integration, gain, step] of [[2, 16, 1], [2, 0, 16], [1, 16, 322 / 81], [0, 16, 322 / 11], [0, 0, 16 * 322 / 11]] as const) {
      expect(run(c, `return tsl2561.settiming(${integration}, ${gain})`)).to.deep.equal([0]);
      const [lux, status] = run(c, "return tsl2561.getlux()") as number[];
      expect(status).to.equal(0);
      // One count of CH0 is worth about 0.03 lx at 402 ms and 16x, times the scale.
      expect(Math.abs(lux! - 321), `integration ${integration} gain ${gain}`).to.be.at.most(1 + 0.03 * step);
    }
    const chip = c.rt.device.chip(0, 0x39) as Tsl2561;
    run(c, "tsl2561.settiming(tsl2561.INTEGRATIONTIME_402MS, tsl2561.GAIN_16X)");
    const [n0, n1] = chip.nominalCounts();
    expect(run(c, "return tsl2561.getrawchannels()")).to.deep.equal([Math.round(n0), Math.round(n1), 0]);
    c.rt.device.set({ i2c: [{ address: 0x39, lux: 42, ir: 0.7 }] });
    expect(Math.abs((run(c, "return tsl2561.getlux()") as number[])[0]! - 42)).to.be.at.most(1);
    await c.rt.close();
  });

  it("the CS package's coefficients, other addresses, and the firmware's argument errors", async () => {
    const c = await boot({ device: { i2c: [{ chip: "tsl2561cs", address: 0x29, lux: 1234, ir: 0.6 }] } });
    expect(run(c, "return tsl2561.init(5, 6, tsl2561.ADDRESS_GND, tsl2561.PACKAGE_CS)")).to.deep.equal([0]);
    run(c, "tsl2561.settiming(tsl2561.INTEGRATIONTIME_101MS, tsl2561.GAIN_1X)");
    expect(Math.abs((run(c, "return tsl2561.getlux()") as number[])[0]! - 1234)).to.be.at.most(1 + 0.03 * 16 * 322 / 81);
    expect(errorOf(c, "tsl2561.init(0, 6)")).to.equal("(exec):1: no i2c for D0");
    expect(errorOf(c, "tsl2561.init(5)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "tsl2561.init(5, 6, 0x30)")).to.equal("(exec):1: Invalid argument: address");
    expect(errorOf(c, "tsl2561.init(5, 6, 0x29, 2)")).to.equal("(exec):1: Invalid argument: package");
    expect(errorOf(c, "tsl2561.settiming(3, 0)")).to.equal("(exec):1: Invalid argument: integration");
    expect(errorOf(c, "tsl2561.settiming(0, 1)")).to.equal("(exec):1: Invalid argument: gain");
    // Nothing at 0x39: the pulled-up bus reads 0xFFFF on both channels. At 101 ms and 1x each
    // scales to 65535·65136/2^10 = 4168640, the ratio rounds to 512 (segment 7 of CS:
    // B 55, M 43), so lux = (4168640·12 + 2^13) / 2^14 = 3053.
    run(c, "tsl2561.init(5, 6, tsl2561.ADDRESS_FLOAT)");
    expect(run(c, "return tsl2561.getrawchannels()")).to.deep.equal([0xffff, 0xffff, 0]);
    expect(run(c, "return tsl2561.getlux()")).to.deep.equal([3053, 0]);
    await c.rt.close();
  });
});

describe("device: HMC5883L model", () => {
  it("identifies as H43; the datasheet's self test at gain 5 lands in its 243..575 window; overflow reads -4096", () => {
    const bus = new I2cBus();
    const chip = new Hmc5883l();
    bus.attach(0x1e, chip);
    // From register 10 the pointer runs through 12 and wraps to 0.
    expect(word(bus, 0x1e, 10, 6)).to.deep.equal([0x48, 0x34, 0x33, 0x10, 0x20, 0x01]);
    chip.set({ x: 0, y: 0, z: 0 });
    bus.send(0x1e, Uint8Array.of(0x00, 0x71, 0xa0, 0x00), true);
    const data = word(bus, 0x1e, 3, 8);
    // X (1.16 Ga·390 = 452), Z (1.08·390 = 421), Y, then the pointer rolls from 8 back to 3.
    expect(data).to.deep.equal([452 >> 8, 452 & 0xff, 421 >> 8, 421 & 0xff, 452 >> 8, 452 & 0xff, 452 >> 8, 452 & 0xff]);
    bus.send(0x1e, Uint8Array.of(0x00, 0x70), true);
    chip.set({ x: -6, y: 1 });
    expect(word(bus, 0x1e, 3, 6)).to.deep.equal([0xf0, 0x00, 0, 0, 390 >> 8, 390 & 0xff]);
  });
});

describe("NodeMCU hmc5883l", () => {
  it("setup finds the chip; read returns x, y, z at gain 5 within one count per 1/390 Ga", async () => {
    const c = await boot({ device: { i2c: [{ chip: "hmc5883l", x: 0.25, y: -0.131, z: 0.5 }] } });
    expect(run(c, "i2c.setup(0, 1, 2, i2c.SLOW) return hmc5883l.setup()")).to.deep.equal([]);
    expect(run(c, "return hmc5883l.read()")).to.deep.equal([Math.round(0.25 * 390), Math.round(-0.131 * 390), 195]);
    c.rt.device.set({ i2c: [{ address: 0x1e, z: -1.5 }] });
    expect(run(c, "return hmc5883l.read()")).to.deep.equal([98, -51, -585]);
    await c.rt.close();
  });

  it("setup raises 'device not found' with no chip; read sees the bus's 0xFFFF as -1", async () => {
    const c = await boot();
    expect(errorOf(c, "hmc5883l.setup()")).to.equal("(exec):1: device not found");
    expect(run(c, "return hmc5883l.read()")).to.deep.equal([-1, -1, -1]);
    await c.rt.close();
  });
});

describe("device: MCP4725 model", () => {
  it("fast-mode and write-DAC groups, EEPROM write busy for 25 ms, general call reset and wake-up, vout events", () => {
    let now = 1000;
    const events: unknown[][] = [];
    const bus = new I2cBus();
    const chip = new Mcp4725(() => now, (call, args) => events.push([call, ...args]));
    bus.attach(0x60, chip);
    chip.set({ vdd: 5 });
    // Fast mode twice in one transfer (0x0ABC then 0x123), then write DAC and EEPROM 0x800 with PD 01.
    bus.send(0x60, Uint8Array.of(0x0a, 0xbc, 0x01, 0x23), true);
    bus.send(0x60, Uint8Array.of(0x62, 0x80, 0x00), true);
    expect([...bus.receive(0x60, 6)!]).to.deep.equal([0x42, 0x80, 0x00, 0x28, 0x00, 0x42]);
    now += 25;
    expect(bus.receive(0x60, 1)![0]).to.equal(0xc2);
    bus.send(0, Uint8Array.of(0x09), true);
    expect(chip.readings()).to.deep.include({ code: 0x800, pd: 0, vout: 2.5 });
    bus.send(0x60, Uint8Array.of(0x40, 0xff, 0xf0), true);
    bus.send(0, Uint8Array.of(0x06), true);
    expect(chip.readings()).to.deep.include({ code: 0x800, pd: 1, vout: 0 });
    expect(events).to.deep.equal([
      ["vout", (5 * 0xabc) / 4096, 0], ["vout", (5 * 0x123) / 4096, 0], ["vout", 0, 1], ["vout", 2.5, 0],
      ["vout", (5 * 4095) / 4096, 0], ["vout", 0, 1],
    ]);
  });
});

describe("NodeMCU mcp4725", () => {
  it("write sets the output (a hardware event in volts), read returns DAC and EEPROM state; A0..A2 pick the address", async () => {
    const c = await boot({ device: { i2c: [{ chip: "mcp4725", vdd: 3.3 }, { chip: "mcp4725", address: 0x63 }] } });
    run(c, "i2c.setup(0, 1, 2, i2c.SLOW) mcp4725.write({value = 2048})");
    expect(run(c, "return mcp4725.read()")).to.deep.equal([0, 2048, 0, 0, 1, 1]);
    run(c, "mcp4725.write({A0 = 1, A1 = 1, value = 1000, pwrdn = mcp4725.PWRDN_100K, save = true})");
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(run(c, "return mcp4725.read({A0 = 1, A1 = 1})")).to.deep.equal([2, 1000, 2, 1000, 1, 1]);
    expect(c.rt.device.chip(0, 0x60)!.readings()).to.deep.include({ code: 2048, vout: 1.65 });
    expect(c.rt.hardware.filter("mcp4725").map((e) => [e.call, ...e.args])).to.deep.equal([
      ["vout", 0, 0x60, 1.65, 0], ["vout", 0, 0x63, 0, 2],
    ]);
    await c.rt.close();
  });

  it("the firmware's argument errors", async () => {
    const c = await boot({ device: { i2c: [{ chip: "mcp4725" }] } });
    const cases: Array<[string, string]> = [
      ["mcp4725.write({})", "value: value is required"],
      ["mcp4725.write({value = 4096})", "value: Valid range 0-4095"],
      ["mcp4725.write({value = -1})", "value: Valid range 0-4095"],
      ["mcp4725.write({value = 'x'})", "value: Must be number"],
      ["mcp4725.write({value = 1, save = 1})", "save: must be boolean"],
      ["mcp4725.write({value = 1, pwrdn = 4})", "pwrdn: Valid range 0-3"],
      ["mcp4725.read({A2 = 2})", "A2: Must be 0 or 1"],
      ["mcp4725.read({A1 = true})", "A1: Must be number"],
    ];
    for (const [code, message] of cases) {
      const name = code.slice("mcp4725.".length, code.indexOf("("));
      expect(errorOf(c, code)).to.equal(`(exec):1: bad argument #1 to '${name}' (${message})`);
    }
    await c.rt.close();
  });
});

describe("device: TCS34725 model", () => {
  it("ID 0x44; counts are per-cycle readings times cycles and gain, saturating at 1024 per cycle; auto-increment reads", () => {
    const bus = new I2cBus();
    const chip = new Tcs34725();
    bus.attach(0x29, chip);
    expect(word(bus, 0x29, 0x92, 1)).to.deep.equal([0x44]);
    chip.set({ clear: 100, red: 40, green: 30, blue: 20.5 });
    // Powered down: nothing converted, AVALID clear.
    expect(word(bus, 0x29, 0xb3, 9)).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // PON|AEN, ATIME 0xF6 (10 cycles, 24 ms), gain 4x: clear 4000, red 1600, green 1200, blue 820.
    bus.send(0x29, Uint8Array.of(0xa0, 0x03, 0xf6), true);
    bus.send(0x29, Uint8Array.of(0x8f, 0x01), true);
    expect(word(bus, 0x29, 0xb3, 9)).to.deep.equal([1, 4000 & 0xff, 4000 >> 8, 1600 & 0xff, 1600 >> 8, 1200 & 0xff, 1200 >> 8, 820 & 0xff, 820 >> 8]);
    // 60x over 10 cycles saturates at 10240 counts.
    bus.send(0x29, Uint8Array.of(0x8f, 0x03), true);
    expect(word(bus, 0x29, 0xb4, 2)).to.deep.equal([10240 & 0xff, 10240 >> 8]);
  });
});

describe("NodeMCU tcs34725", () => {
  it("setup, enable's callback after the power-up delay, raw at 2.4 ms and 60x, setGain, setIntegrationTime, disable", async () => {
    const c = await boot({ device: { i2c: [{ chip: "tcs34725", clear: 15, red: 6.5, green: 4, blue: 2 }] } });
    expect(errorOf(c, "tcs34725.raw()")).to.equal("(exec):1: TCS34725 not initialised.");
    expect(errorOf(c, "tcs34725.setGain(1)")).to.equal("(exec):1: TCS34725 not initialised.");
    expect(errorOf(c, "tcs34725.enable(1)")).to.equal("(exec):1: Enable argument must be a function.");
    expect(run(c, "i2c.setup(0, 1, 2, i2c.SLOW) return tcs34725.setup()")).to.deep.equal([1]);
    expect(run(c, "return tcs34725.enable(function() print('enabled', tcs34725.raw()) end)")).to.deep.equal([]);
    await c.waitFor("enabled");
    expect(c.stdout()).to.equal("enabled\t900\t390\t240\t120\n");
    expect(run(c, "return tcs34725.setGain(0x01)")).to.deep.equal([]);
    expect(run(c, "return tcs34725.setIntegrationTime(0xD5)")).to.deep.equal([]);
    // 256 − 0xD5 = 43 cycles by the ATIME formula (the firmware's header calls it 42, 101 ms).
    expect(run(c, "return tcs34725.raw()")).to.deep.equal([15 * 43 * 4, 6.5 * 43 * 4, 4 * 43 * 4, 2 * 43 * 4]);
    c.rt.device.set({ i2c: [{ address: 0x29, clear: 1000 }] });
    expect((run(c, "return tcs34725.raw()") as number[])[0]).to.equal(43 * 1024);
    run(c, "tcs34725.disable()");
    expect(errorOf(c, "tcs34725.raw()")).to.equal("(exec):1: TCS34725 not initialised.");
    await c.rt.close();
  });

  it("setup raises the firmware's error with no sensor", async () => {
    const c = await boot();
    expect(errorOf(c, "tcs34725.setup()")).to.equal("(exec):1: No TCS34725 found.");
    expect(errorOf(c, "tcs34725.setIntegrationTime(0)")).to.equal("(exec):1: No TCS34725 found.");
    await c.rt.close();
  });
});
