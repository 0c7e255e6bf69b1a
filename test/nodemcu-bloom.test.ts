// NodeMCU bloom through the real Runtime: bloom.c's sizing, bit positions taken from the
// string's SHA-256 (re-derived here independently), false positives, info() figures.
import { createHash } from "node:crypto";
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

/** The bits bloom.c sets for `text` in a filter of `bits` bits with `fns` hash functions. */
function positions(text: string, bits: number, fns: number): number[] {
  const hash = createHash("sha256").update(text).digest();
  const step = fns > 10 ? 2 : 3;
  return Array.from({ length: fns }, (_, i) => (hash.readUIntBE(i * step, 3)) % bits);
}

describe("NodeMCU bloom", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("sizes filters as bloom.c does: 1.5 * n * log2(rate) bits in 32-bit words, at least 256, 2..15 functions", () => {
    expect(run(c, "return bloom.create(100, 100):info()")).to.deep.equal([1056, 6, 0, 1000000]);
    expect(run(c, "return bloom.create(10000, 100):info()")).to.deep.equal([105024, 6, 0, 1000000]);
    expect(run(c, "return bloom.create(1, 2):info()")).to.deep.equal([256, 15, 0, 1000000]);
    expect(run(c, "return bloom.create(1000, 1):info()")).to.deep.equal([1504, 2, 0, 1000000]);
  });

  it("add tells whether the string was there; check finds every added string", () => {
    expect(run(c, "f = bloom.create(100, 100) return f:add('apple'), f:add('apple'), f:check('apple'), f:check('pear')")).to.deep.equal([false, true, true, false]);
    const expected = new Set(positions("apple", 1056, 6)).size;
    expect(run(c, "return select(3, f:info())")).to.deep.equal([expected, 1000000]);
    run(c, "f:reset()");
    expect(run(c, "return f:check('apple'), select(3, f:info())")).to.deep.equal([false, 0, 1000000]);
  });

  it("gives false positives exactly where the SHA-256 bit positions collide", () => {
    const members = Array.from({ length: 100 }, (_, i) => `member${i}`);
    const strangers = Array.from({ length: 2000 }, (_, i) => `stranger${i}`);
    const set = new Set(members.flatMap((m) => positions(m, 1056, 6)));
    const falsePositives = strangers.filter((s) => positions(s, 1056, 6).every((p) => set.has(p)));
    const [count, occupancy, fprate] = run(c, `local f = bloom.create(100, 100)
      for i = 0, 99 do f:add('member' .. i) end
      local n = 0
      for i = 0, 1999 do if f:check('stranger' .. i) then n = n + 1 end end
      return n, select(3, f:info())`) as number[];
    expect(count).to.equal(falsePositives.length);
    expect(occupancy).to.equal(set.size);
    // A 1-in-100 filter filled to its design size lets through a few per cent.
    expect(count).to.be.within(1, 120);
    // info(): (bits / occupancy)^fns in 1/256 fixed point, as 1-in-n.
    const ratio256 = Math.floor((1056 * 256) / occupancy!);
    let prob = ratio256;
    for (let i = 1; i < 6 && prob < 256000000; i++) prob = Math.floor((prob * ratio256) / 256);
    expect(fprate).to.equal(Math.floor(prob / 256));
  });

  it("raises Lua's argument errors", () => {
    expect(errorOnLine1(c, "bloom.create(10)")).to.match(/bad argument #2 to '.*' \(number expected, got no value\)$/);
    expect(errorOnLine1(c, "bloom.create(10, 10):add()")).to.match(/bad argument #1 to '.*' \(string expected, got no value\)$/);
  });
});
