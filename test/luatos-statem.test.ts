// LuatOS statem through the real Runtime: recorded GPIO steps run by exec, pins written as
// gpio.set records them, levels read into result()'s bit words, byte-sized arguments.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

describe("LuatOS statem", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "luatos", device: { pins: { "12": 1 } } });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  const sets = () => c.rt.hardware.filter("gpio").filter((e) => e.call === "set").map((e) => e.args);

  it("runs the steps in order when exec is called, not before, and stops at finish", () => {
    run(c, "sm = statem.create():gpio_set(7, 0):usleep(10):gpio_set(7, 1):gpio_set(263, 1):finish():gpio_set(9, 1)");
    expect(sets()).to.deep.equal([]);
    expect(run(c, "return sm:exec() == sm")).to.deep.equal([true]);
    expect(sets()).to.deep.equal([[7, 0], [7, 1], [7, 1]]);
  });

  it("collects read levels as bits of result()'s eight words", () => {
    run(c, "gpio.setup(12, nil) gpio.setup(13, nil) sm = statem.create(8):gpio_get(12):gpio_get(13):gpio_get(12):finish() sm:exec() sm:exec()");
    expect(run(c, "return table.concat(sm:result(), ',')")).to.deep.equal(["45,0,0,0,0,0,0,0"]);
  });

  it("keeps only the reserved number of steps; clear empties the machine for good", () => {
    run(c, "sm = statem.create(2):gpio_set(1, 1):gpio_set(2, 1):gpio_set(3, 1) sm:exec()");
    expect(sets()).to.deep.equal([[1, 1], [2, 1]]);
    run(c, "sm:clear():gpio_set(4, 1) sm:exec()");
    expect(sets()).to.deep.equal([[1, 1], [2, 1]]);
  });

  it("answers nothing for a bad count, repeat or background run; checks its arguments", () => {
    expect(run(c, "return select('#', statem.create(0)), select('#', statem.create(4, -1)), select('#', statem.create():exec(1))")).to.deep.equal([0, 0, 0]);
    expect(errorOnLine1(c, "statem.create():gpio_set(1)")).to.match(/bad argument #2 to '.*' \(number expected, got no value\)$/);
  });
});
