// moonrig's LuatOS script-library drivers (lua/aht10, sht30, bh1750, ds3231) over LuatOS i2c
// and the device's chip models: the values --device gives come out of the drivers.
import { expect } from "chai";
import { join } from "node:path";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import type { DeviceConfig } from "../main/index.js";

async function project(main: string, device: DeviceConfig): Promise<Captured> {
  const dir = makeProject({ "main.lua": main });
  const c = captured({ flavor: "luatos", device });
  await c.rt.run(join(dir, "main.lua"));
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

const printed = (c: Captured): string[] => c.stdout().trimEnd().split("\n").filter((line) => !/^\[|^[IWE]\//.test(line));

describe("LuatOS i2c drivers over the chip models", () => {
  it("aht10, sht30, bh1750 and ds3231 read what --device describes on bus 1", async () => {
    const c = await project(`
      sys = require("sys")
      local aht10, sht30, bh1750, ds3231 = require("aht10"), require("sht30"), require("bh1750"), require("ds3231")
      sys.taskInit(function()
        i2c.setup(1, i2c.FAST)
        print("init", aht10.init(1), sht30.init(1), bh1750.init(1), ds3231.init(1))
        local a = aht10.get_data()
        print("aht10", string.format("%.2f %.2f", a.T, a.RH * 100))
        local s = sht30.get_data()
        print("sht30", string.format("%.2f %.2f", s.T, s.RH))
        print("sht30 read", string.format("%.2f %.2f", sht30.read()))
        print("bh1750", string.format("%.1f", bh1750.read_light()))
        local t = ds3231.read_time()
        print("ds3231", t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_wday, ds3231.get_temperature())
        ds3231.set_time({tm_year = 2031, tm_mon = 11, tm_mday = 24, tm_hour = 18, tm_min = 30, tm_sec = 0, tm_wday = 3})
        t = ds3231.read_time()
        print("ds3231 set", t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, t.tm_wday)
      end)
      sys.run()`, {
      i2c: [
        { chip: "aht10", bus: 1, temperature: 24.5, humidity: 38 },
        { chip: "sht30", bus: 1, temperature: -3.5, humidity: 71.25 },
        { chip: "bh1750", bus: 1, illuminance: 512.5 },
        { chip: "ds3231", bus: 1, time: "2026-03-14T15:09:26Z", temperature: 27.75 },
      ],
    });
    expect(printed(c)).to.deep.equal([
      "init\ttrue\ttrue\ttrue\ttrue",
      "aht10\t24.50 38.00",
      "sht30\t-3.50 71.25",
      "sht30 read\t-3.50 71.25",
      "bh1750\t512.5",
      "ds3231\t2026\t2\t14\t15\t9\t6\t27.75",
      "ds3231 set\t2031\t11\t24\t18\t30\t0\t3",
    ]);
    expect(c.rt.hardware.filter("ds3231").map((e) => [e.call, ...e.args])).to.deep.equal([["time", 1, 0x68, "2031-12-24T18:30:00.000Z"]]);
  });

  it("each driver's init is false when its chip is absent", async () => {
    const c = await project(`
      sys = require("sys")
      local aht10, sht30, bh1750, ds3231 = require("aht10"), require("sht30"), require("bh1750"), require("ds3231")
      sys.taskInit(function()
        print("init", aht10.init(0), sht30.init(0), bh1750.init(0), ds3231.init(0))
        print("sht30", sht30.get_data(), sht30.read())
      end)
      sys.run()`, {});
    expect(printed(c)).to.deep.equal(["init\tfalse\tfalse\tfalse\tfalse", "sht30\tnil\tfalse"]);
  });
});
