// NodeMCU bme280 (C module) and bme280_math over the device's BME280 model on bus 0.
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
import type { RuntimeOptions } from "../main/index.js";

const DEPRECATION = "Warning, deprecated API! bme280. It will be removed soon. Use bme280math and bme280 Lua module instead. See documentation for details.\n";
const SENSOR = { chip: "bme280", temperature: 23.45, humidity: 55.5, pressure: 987.65 };

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

/** Magnus formula with the firmware's constants, natural log from Math. */
function dewpoint(rh: number, t: number): number {
  const c = Math.log(rh / 100) + (17.67 * t) / (243.5 + t);
  return (243.5 * c) / (17.67 - c);
}

describe("NodeMCU bme280", () => {
  it("setup finds the chip at 0x76, prints the firmware's deprecation note and says BME280 (2)", async () => {
    const c = await boot({ device: { i2c: [SENSOR] } });
    expect(run(c, "i2c.setup(0, 3, 4, i2c.SLOW) return bme280.setup()")).to.deep.equal([2]);
    expect(c.stdout()).to.equal(DEPRECATION);
    await c.rt.close();
  });

  it("read, temp, baro and humi give the --device values in the firmware's integer units", async () => {
    const c = await boot({ device: { i2c: [SENSOR] } });
    run(c, "bme280.setup()");
    const [t, p, h] = run(c, "return bme280.read()") as number[];
    expect(t).to.equal(2345);
    expect(p).to.be.closeTo(987650, 2);
    expect(h).to.be.closeTo(55500, 10);
    const [t2, tFine] = run(c, "return bme280.temp()") as number[];
    expect(t2).to.equal(2345);
    expect(Math.floor((tFine! * 5 + 128) / 256)).to.equal(2345);
    expect(run(c, "return bme280.baro()")).to.deep.equal([p, 2345]);
    expect(run(c, "return bme280.humi()")).to.deep.equal([h, 2345]);
    const [, , , qnh] = run(c, "return bme280.read(320)") as number[];
    expect(qnh).to.equal(Math.trunc(p! * Math.pow(1 - 2.25577e-5 * 320, -5.25588) + 0.5));
    expect(run(c, `return bme280.qfe2qnh(${p}, 320)`)).to.deep.equal([qnh]);
    expect((run(c, `return bme280.altitude(${p}, ${qnh})`) as number[])[0]).to.be.closeTo(32000, 1);
    expect((run(c, `return bme280.dewpoint(${h}, ${t})`) as number[])[0]).to.be.closeTo(dewpoint(h! / 1000, 23.45) * 100, 0.6);
    expect(errorOf(c, "bme280.altitude(1)")).to.equal("(exec):1: wrong arg range");
    await c.rt.close();
  });

  it("in forced mode the chip sleeps on its last reading until startreadout; the callback comes after the delay", async () => {
    const c = await boot({ device: { i2c: [{ ...SENSOR, address: 0x77 }] } });
    run(c, "bme280.setup(nil, nil, nil, 1)");
    c.rt.device.set({ i2c: [{ address: 0x77, temperature: 30.5 }] });
    expect((run(c, "return bme280.read()") as number[])[0]).to.equal(2345);
    const started = Date.now();
    run(c, "bme280.startreadout(50, function() print('ready', (bme280.read())) end)");
    await c.waitFor("ready");
    expect(Date.now() - started).to.be.at.least(45);
    expect(c.stdout()).to.equal(`${DEPRECATION}ready\t3050\n`);
    await c.rt.close();
  });

  it("a BMP280 is 1 and has no humidity; no chip at 0x76 or 0x77 gives nothing", async () => {
    const c = await boot({ device: { i2c: [{ chip: "bmp280", temperature: -12.5, pressure: 1020 }] } });
    expect(run(c, "return bme280.setup()")).to.deep.equal([1]);
    const [t, p, h] = run(c, "return bme280.read()") as unknown[];
    expect([t, h]).to.deep.equal([-1250, null]);
    expect(p).to.be.closeTo(1020000, 2);
    expect(run(c, "return bme280.humi()")).to.deep.equal([]);
    await c.rt.close();
    const empty = await boot();
    expect(run(empty, "return select('#', bme280.setup())")).to.deep.equal([0]);
    expect(run(empty, "return select('#', bme280.read())")).to.deep.equal([0]);
    await empty.rt.close();
  });
});

// A driver over i2c and bme280_math, written from the module's documentation.
const MATH_DRIVER = `
local addr = 0x76
local function rd(reg, n)
  i2c.start(0) i2c.address(0, addr, i2c.TRANSMITTER) i2c.write(0, reg)
  i2c.start(0) i2c.address(0, addr, i2c.RECEIVER)
  local s = i2c.read(0, n) i2c.stop(0) return s
end
local function wr(reg, v)
  i2c.start(0) i2c.address(0, addr, i2c.TRANSMITTER) i2c.write(0, reg, v) i2c.stop(0)
end
i2c.setup(0, 3, 4, i2c.SLOW)
local regs = rd(0x88, 24) .. rd(0xA1, 1) .. rd(0xE1, 7)
sensor, config = bme280_math.setup(regs)
wr(0xF5, config[1]:byte()) wr(0xF2, config[2]:byte()) wr(0xF4, config[3]:byte())
function measure(alt) return bme280_math.read(sensor, rd(0xF7, 8), alt) end
`;

describe("NodeMCU bme280_math", () => {
  it("a Lua driver over i2c reads the --device values as floats (°C, hPa, %RH)", async () => {
    const c = await boot({ device: { i2c: [SENSOR] } });
    run(c, MATH_DRIVER);
    expect(run(c, "return config[1], config[2], config[3]")).to.deep.equal(["\xf0", "\x05", "\xb7"]);
    const [t, p, h, qnh] = run(c, "return measure(320)") as number[];
    expect(t).to.equal(23.45);
    expect(p).to.be.closeTo(987.65, 0.002);
    expect(h).to.be.closeTo(55.5, 0.01);
    expect(qnh).to.equal(p! * Math.pow(1 - 2.25577e-5 * 320, -5.25588));
    expect(run(c, `return bme280_math.altitude(sensor, ${p}, ${qnh})`)).to.deep.equal([(1 - Math.pow(p! / qnh!, 1 / 5.25588)) / 2.25577e-5]);
    expect((run(c, `return bme280_math.dewpoint(${h}, ${t})`) as number[])[0]).to.be.closeTo(dewpoint(h!, t!), 1e-6);
    await c.rt.close();
  });

  it("a zero setting byte is an empty string (a C string), skipped readings are nil, short data an error", async () => {
    const c = await boot({ device: { i2c: [SENSOR] } });
    run(c, MATH_DRIVER);
    expect(run(c, "local _, cfg = bme280_math.setup(string.rep('\\0', 32), 0, 0, 0, 0, 0, 0) return cfg[1], cfg[2], cfg[3]")).to.deep.equal(["", "", ""]);
    expect(run(c, "return bme280_math.read(sensor, '\\128\\0\\0\\128\\0\\0')")).to.deep.equal([]);
    const [t, p, h] = run(c, "return bme280_math.read(sensor, '\\128\\0\\0' .. string.char(0x80, 0x11, 0x00) .. '\\128\\0')") as unknown[];
    expect([p, h]).to.deep.equal([null, null]);
    expect(t).to.be.a("number");
    expect(errorOf(c, "bme280_math.read(sensor, 'abc')")).to.equal("(exec):1: invalid readout data");
    await c.rt.close();
  });
});
