// NodeMCU perf through the real Runtime: a session counts one sample per 50 µs; no sample
// lies in the Xtensa code range on a PC, so all are outside and the histogram is empty.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";
import { binShift } from "../bindings/nodemcu/perf.js";

describe("NodeMCU perf", () => {
  let c: Captured;
  before(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  after(async () => {
    await c.rt.close();
  });

  it("picks perf.c's power-of-two bin size", () => {
    expect(binShift(0x40000000, 0x40280000, 1024)).to.equal(12);
    expect(binShift(0x40200000, 0x40201000, 16)).to.equal(8);
    expect(binShift(0, 100, 100)).to.equal(0);
    expect(binShift(0, 1000, 3)).to.equal(9);
  });

  it("stop returns total, outside, the histogram and the bin size; nothing without a session", () => {
    const [total, outside, histogram, binsize] = run(c, `perf.start(0x40200000, 0x40201000, 16)
      local t = tmr.now() while tmr.now() - t < 20000 do end
      local total, outside, tbl, binsize = perf.stop()
      return total, outside, next(tbl) == nil, binsize`);
    expect(total).to.be.within(400, 20000);
    expect(outside).to.equal(total);
    expect(histogram).to.equal(true);
    expect(binsize).to.equal(256);
    expect(run(c, "return select('#', perf.stop())")).to.deep.equal([0]);
    expect(run(c, "perf.start() return select(4, perf.stop())")).to.deep.equal([4096]);
  });

  it("refuses an empty range", () => {
    expect(errorOnLine1(c, "perf.start(100, 100)")).to.equal("(exec):1: end must be larger than start");
  });
});
