// NodeMCU am2320, si7021 and bmp085 over the device's chip models on bus 0.
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
import type { RuntimeOptions } from "../runtime/index.js";
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
