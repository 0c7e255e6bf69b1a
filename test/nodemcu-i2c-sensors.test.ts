// NodeMCU am2320, si7021 and bmp085 over the device's chip models on bus 0.
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
import type { RuntimeOptions } from "../main/index.js";
import { Bmp180, EXAMPLE_CALIBRATION, bmp180Pressure, bmp180Temperature } from "../device/chips/bmp180.js";

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

describe("NodeMCU am2320", () => {
  it("reads RH and temperature in tenths (negative temperatures signed), setup the model, version and id", async () => {
    const c = await boot({ device: { i2c: [{ chip: "am2320", temperature: -12.3, humidity: 45.6 }] } });
    expect(run(c, "i2c.setup(0, 1, 2, i2c.SLOW) return am2320.read()")).to.deep.equal([456, -123]);
    // setup's id is the answer's bytes 8..11 (registers 0x0E..0x11), where the firmware's padded struct puts it.
    expect(run(c, "return am2320.setup()")).to.deep.equal([0x2320, 1, 0x78000000]);
    c.rt.device.set({ i2c: [{ address: 0x5c, temperature: 30 }] });
    expect(run(c, "return am2320.read()")).to.deep.equal([456, 300]);
    await c.rt.close();
  });

  it("raises the firmware's error when no sensor answers", async () => {
    const c = await boot();
    expect(errorOf(c, "am2320.read()")).to.equal("(exec):1: transmission error");
    expect(errorOf(c, "am2320.setup()")).to.equal("(exec):1: transmission error");
    await c.rt.close();
  });
});

describe("NodeMCU si7021", () => {
  it("reads humidity and temperature with their decimals; setting changes the resolution and heater", async () => {
    const c = await boot({ device: { i2c: [{ chip: "si7021", temperature: 21.7, humidity: 52.4 }] } });
    expect(run(c, "return si7021.setup()")).to.deep.equal([]);
    const [hum, temp, humdec, tempdec] = run(c, "return si7021.read()") as number[];
    expect(hum).to.be.closeTo(52.4, 0.031);
    expect(temp).to.be.closeTo(21.7, 0.011);
    expect(humdec).to.equal(Math.trunc((hum! - Math.trunc(hum!)) * 1000));
    expect(tempdec).to.equal(Math.trunc((temp! - Math.trunc(temp!)) * 1000));
    expect(run(c, "return si7021.setting(si7021.RH08_TEMP12, si7021.HEATER_ENABLE, 9)")).to.deep.equal([1, 0, 1, 9]);
    const [coarse] = run(c, "return si7021.read()") as number[];
    expect(((coarse! + 6) * 65536 / 125) % 256).to.equal(0);
    expect(run(c, "return si7021.setting(si7021.RH11_TEMP11)")).to.deep.equal([3, 0, 0, 9]);
    expect(run(c, "return si7021.serial()")).to.deep.equal([0x12345678, 0x15ffb5ff]);
    expect(run(c, "return si7021.firmware()")).to.deep.equal([0x20]);
    expect(errorOf(c, "si7021.setting(3)")).to.equal("(exec):1: Invalid argument: resolution");
    expect(errorOf(c, "si7021.setting(0, 4)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "si7021.setting(0, 4, 16)")).to.equal("(exec):1: Invalid argument: heater_setting");
    await c.rt.close();
  });

  it("setup raises 'found no device' with no chip; read fails its CRC on the bus's 0xFF", async () => {
    const c = await boot();
    expect(errorOf(c, "si7021.setup()")).to.equal("(exec):1: found no device");
    expect(errorOf(c, "si7021.read()")).to.equal("(exec):1: crc error");
    await c.rt.close();
  });
});

describe("NodeMCU bmp085", () => {
  it("temperature in tenths and pressure in Pa at each oversampling, from the BMP180 model", async () => {
    const c = await boot({ device: { i2c: [{ chip: "bmp180", temperature: 26.4, pressure: 963.2 }] } });
    run(c, "bmp085.setup()");
    expect(run(c, "return bmp085.temperature()")).to.deep.equal([264]);
    for (const oss of [0, 1, 2, 3]) {
      const [p] = run(c, `return bmp085.pressure(${oss})`) as number[];
      expect(Math.abs(p! - 96320), `oss ${oss}`).to.be.at.most(oss === 0 ? 3 : 1);
    }
    // Oversampling above 3 is 3: UP has 19 bits, and the datasheet's algorithm turns it into the pressure.
    const [raw] = run(c, "return bmp085.pressure_raw(7)") as number[];
    const chip = c.rt.device.chip(0, 0x77) as Bmp180;
    const { b5 } = bmp180Temperature(chip.rawTemperature(), EXAMPLE_CALIBRATION);
    expect(raw).to.equal(chip.rawPressure(3));
    expect(Math.abs(bmp180Pressure(raw!, 3, b5, EXAMPLE_CALIBRATION) - 96320)).to.be.at.most(1);
    await c.rt.close();
  });
});

describe("NodeMCU ads1115", () => {
  it("single-shot reads in millivolts through startread's callback and read(); continuous follows the inputs", async () => {
    const c = await boot({ device: { i2c: [{ chip: "ads1115", a0: 1.25, a1: 0.5, a3: 3.3 }] } });
    run(c, `
      i2c.setup(0, 1, 2, i2c.SLOW)
      adc1 = ads1115.ads1115(0, ads1115.ADDR_GND)
      adc1:setting(ads1115.GAIN_2_048V, ads1115.DR_128SPS, ads1115.SINGLE_0, ads1115.SINGLE_SHOT)
      adc1:startread(function(volt, volt_dec, raw, sign) print("read", volt, volt_dec, raw, sign) end)`);
    await c.waitFor("read");
    expect(c.stdout()).to.equal("read\t1250.0\tnil\t20000\tnil\n");
    expect(run(c, "adc1:setting(ads1115.GAIN_4_096V, ads1115.DR_860SPS, ads1115.DIFF_0_1, ads1115.CONTINUOUS) return adc1:read()")).to.deep.equal([750, null, 6000, null]);
    c.rt.device.set({ i2c: [{ address: 0x48, a0: 0.25 }] });
    expect(run(c, "return adc1:read()")).to.deep.equal([-250, null, 0x10000 - 2000, null]);
    expect(run(c, "adc1:setting(ads1115.GAIN_6_144V, ads1115.DR_8SPS, ads1115.SINGLE_3, ads1115.CONTINUOUS) return adc1:read()")).to.deep.equal([3300, null, 17600, null]);
    await c.rt.close();
  });

  // Method calls count arguments after self, as luaL_argerror does for `dev:setting(...)`.
  it("refuses a changed config until reset, a missing chip, and bad settings with the firmware's messages", async () => {
    const c = await boot({ device: { i2c: [{ chip: "ads1015", address: 0x49 }] } });
    expect(errorOf(c, "ads1115.ads1115(0, 0x48)")).to.equal("(exec):1: found no device");
    expect(errorOf(c, "ads1115.ads1115(1, 0x49)")).to.equal("(exec):1: bad argument #1 to 'ads1115' (i2c_id must be 0)");
    expect(errorOf(c, "ads1115.ads1015(0, 0x50)")).to.equal("(exec):1: bad argument #2 to 'ads1015' (unexpected value)");
    run(c, "dev = ads1115.ads1015(0, ads1115.ADDR_VDD)");
    expect(errorOf(c, "dev:setting(ads1115.GAIN_2_048V, ads1115.DR_128SPS, ads1115.SINGLE_0)")).to.equal("(exec):1: invalid number of arguments to 'setting'");
    expect(errorOf(c, "dev:setting(ads1115.GAIN_2_048V, ads1115.DR_8SPS, ads1115.SINGLE_0, ads1115.SINGLE_SHOT)")).to.equal("(exec):1: bad argument #2 to 'setting' (unexpected value)");
    expect(errorOf(c, "dev:setting(ads1115.GAIN_2_048V, ads1115.DR_1600SPS, ads1115.SINGLE_0, ads1115.SINGLE_SHOT, ads1115.COMP_1CONV, 1000, 500)")).to.equal("(exec):1: bad argument #6 to 'setting' (threshold_low > threshold_hi)");
    expect(errorOf(c, "dev:setting(ads1115.GAIN_2_048V, ads1115.DR_1600SPS, ads1115.SINGLE_0, ads1115.SINGLE_SHOT, ads1115.COMP_1CONV, -5, 500)")).to.equal("(exec):1: bad argument #6 to 'setting' (unexpected value)");
    run(c, "dev:setting(ads1115.GAIN_2_048V, ads1115.DR_1600SPS, ads1115.SINGLE_0, ads1115.SINGLE_SHOT)");
    expect(errorOf(c, "dev:startread(1)")).to.equal("(exec):1: bad argument #1 to 'startread' (Must be function)");
    expect(errorOf(c, "ads1115.ads1015(0, 0x49)")).to.equal("(exec):1: unexpected config value (0xc583) please reset device before calling this function");
    run(c, "ads1115.reset()");
    expect(run(c, "return type(ads1115.ads1015(0, 0x49))")).to.deep.equal(["userdata"]);
    await c.rt.close();
  });
});
