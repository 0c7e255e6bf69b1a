// NodeMCU cron: mask parsing and the timer's minute steps directly, then real firings on
// the RTC clock through the Runtime (the clock is set a few seconds before a minute ends).
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";
import { cronStep, maskMatches, parseCronMask } from "../bindings/nodemcu/cron.js";

const bits = (...positions: number[]): number => positions.reduce((acc, p) => acc | (1 << p), 0);

describe("NodeMCU cron masks", () => {
  it("parses stars, steps and lists into cron.c's bit masks", () => {
    const every = parseCronMask("* * * * *");
    expect(every.min).to.equal((1n << 60n) - 1n);
    expect([every.hour, every.dom, every.mon, every.dow]).to.deep.equal([2 ** 24 - 1, 2 ** 31 - 1, 2 ** 12 - 1, 127]);
    const mask = parseCronMask("*/15 0,12 1,31 */5 0,6");
    expect(mask.min).to.equal((1n << 0n) | (1n << 15n) | (1n << 30n) | (1n << 45n));
    expect([mask.hour, mask.dom, mask.mon, mask.dow]).to.deep.equal([bits(0, 12), bits(0, 30), bits(0, 5, 10), bits(0, 6)]);
    expect(parseCronMask("  5\t4 * * *  ").min).to.equal(1n << 5n);
  });

  it("refuses what cron.c refuses, with its messages", () => {
    const fail = (mask: string) => () => parseCronMask(mask);
    expect(fail("* * * *")).to.throw("invalid spec (separator @7)");
    expect(fail("60 * * * *")).to.throw("invalid spec (val 60 out of range 0..59)");
    expect(fail("* * 0 * *")).to.throw("invalid spec (val 0 out of range 1..31)");
    expect(fail("-1 * * * *")).to.throw("invalid spec (val -1 out of range 0..59)");
    expect(fail("1-5 * * * *")).to.throw("invalid spec (separator @1)");
    expect(fail("*/59 * * * *")).to.throw("invalid spec (each 59)");
    expect(fail("*/x * * * *")).to.throw("invalid spec (each 0)");
    expect(fail("* * * * * x")).to.throw("invalid spec (trailing @10)");
  });

  it("a day must match both the day of the month and the day of the week (UTC)", () => {
    // 2024-03-01 was a Friday (5).
    const friday = new Date(Date.UTC(2024, 2, 1, 12, 30));
    expect(maskMatches(parseCronMask("30 12 1 3 5"), friday)).to.equal(true);
    expect(maskMatches(parseCronMask("30 12 1 3 4"), friday)).to.equal(false);
    expect(maskMatches(parseCronMask("*/10 */6 * * *"), friday)).to.equal(true);
    expect(maskMatches(parseCronMask("31 12 * * *"), friday)).to.equal(false);
  });

  it("steps to the next minute boundary; a step in second 59 runs the next minute", () => {
    const t = Date.UTC(2024, 2, 1, 12, 30, 0) / 1000;
    expect(cronStep(t + 20, 250000)).to.deep.equal({ minute: new Date((t + 20) * 1000), delayMs: 39750 });
    expect(cronStep(t, 0)).to.deep.equal({ minute: new Date(t * 1000), delayMs: 60000 });
    expect(cronStep(t + 59, 900000)).to.deep.equal({ minute: new Date((t + 60) * 1000), delayMs: 60100 });
  });
});

describe("NodeMCU cron", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("runs the current minute's entries a second after opening, then the next minute's at its boundary", async function () {
    this.timeout(10000);
    // 57.5 s into a minute: the first step lands at 58.5 s, the next at the boundary.
    const base = 1700000040;
    const minute = Math.floor(base / 60) % 60;
    run(c, `rtctime.set(${base + 57}, 500000)
      now = cron.schedule("${minute} * * * *", function(e) print("now", e == now) end)
      later = cron.schedule("${(minute + 1) % 60} * * * *", function(e) print("later", rtctime.get() % 60) end)
      never = cron.schedule("${(minute + 2) % 60} * * * *", function() print("never") end)`);
    await c.waitFor("later\t0\n", 5000);
    expect(c.stdout()).to.equal("now\ttrue\nlater\t0\n");
  });

  it("waits for the RTC clock to be set, and unschedule/schedule/handler change the entry", async function () {
    this.timeout(10000);
    run(c, `e = cron.schedule("* * * * *", function() print("old") end)
      e:handler(function(entry) print("new", entry == e) end)
      e:unschedule() e:unschedule()
      e:schedule("* * * * *")`);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(c.stdout()).to.equal("");
    run(c, "rtctime.set(1700000000)");
    await c.waitFor("new\ttrue\n", 3000);
    expect(c.stdout()).to.equal("new\ttrue\n");
  });

  it("reset removes every entry; bad masks and handlers raise", () => {
    run(c, "cron.schedule('* * * * *', print) cron.reset()");
    expect(errorOnLine1(c, "cron.schedule('61 * * * *', print)")).to.equal("(exec):1: invalid spec (val 61 out of range 0..59)");
    expect(errorOnLine1(c, "cron.schedule('* * * * *')")).to.match(/bad argument #2 to '.*' \(function expected, got no value\)$/);
    expect(errorOnLine1(c, "cron.schedule('* * * * *', print):handler(5)")).to.match(/bad argument #1 to '.*' \(function expected, got number\)$/);
  });

  it("a script with no scheduled entries ends; one with an entry keeps running", async () => {
    const idle = captured({ flavor: "nodemcu", prelude: ["cron.schedule('* * * * *', print):unschedule()"] });
    await idle.rt.run();
    expect(await idle.rt.finished).to.equal(0);
    const busy = captured({ flavor: "nodemcu", prelude: ["cron.schedule('* * * * *', print)"] });
    await busy.rt.run();
    const state = await Promise.race([busy.rt.finished.then(() => "ended"), new Promise((resolve) => setTimeout(() => resolve("running"), 300))]);
    expect(state).to.equal("running");
    await busy.rt.close();
  });
});
