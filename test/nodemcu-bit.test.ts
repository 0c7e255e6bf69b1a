// NodeMCU bit through the real Runtime: 32-bit signed results as the ESP8266 computes them.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";

describe("NodeMCU bit", () => {
  let c: Captured;
  before(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  after(async () => {
    await c.rt.close();
  });

  const run = (source: string) => c.rt.exec(source);

  it("band, bor, bxor take any number of operands; bnot flips all 32 bits", () => {
    expect(run("return bit.band(0xff, 0x0f), bit.band(7, 6, 3), bit.bor(1, 2, 4, 8), bit.bxor(5, 3), bit.bxor(1, 1, 1), bit.bnot(0), bit.bnot(-1), bit.bnot(0x0f)")).to.deep.equal([15, 2, 15, 6, 1, -1, 0, -16]);
  });

  it("works on the unsigned pattern of values beyond 31 bits and truncates fractions", () => {
    expect(run("return bit.band(4294967295, 0xff), bit.band(0xFFFFFFFF, 65535), bit.bor(2147483648, 0), bit.band(7.9, 3)")).to.deep.equal([255, 65535, -2147483648, 3]);
  });

  it("lshift is 32-bit, rshift logical, arshift keeps the sign", () => {
    expect(run("return bit.lshift(1, 4), bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(256, 4), bit.rshift(-1, 28), bit.rshift(-16, 32), bit.arshift(-16, 2), bit.arshift(-1, 40), bit.arshift(64, 3)")).to.deep.equal([16, -2147483648, 0, 16, 15, 0, -4, -1, 8]);
  });

  it("bit, set, clear, isset and isclear address single positions", () => {
    expect(run("return bit.bit(0), bit.bit(7), bit.bit(31), bit.set(0, 0, 3), bit.set(1, 31), bit.clear(15, 0, 1), bit.clear(-1, 31)")).to.deep.equal([1, 128, -2147483648, 9, -2147483647, 12, 2147483647]);
    expect(run("return bit.isset(5, 0), bit.isset(5, 1), bit.isclear(5, 1), bit.isclear(5, 2), bit.isset(-1, 31)")).to.deep.equal([true, false, true, false, true]);
  });

  it("reads a byte out of a word the way scripts do", () => {
    expect(run("local v = 0x1234ABCD return bit.band(bit.rshift(v, 24), 0xff), bit.band(bit.rshift(v, 8), 0xff), string.format('%x', bit.band(v, 0xffff))")).to.deep.equal([0x12, 0xab, Buffer.from("abcd")]);
  });

  it("raises Lua's error for a missing or non-numeric operand", () => {
    expect(() => run("bit.band()")).to.throw("bad argument #1 to 'band' (number expected, got no value)");
    expect(() => run('bit.bor(1, "x")')).to.throw("bad argument #2 to 'bor' (number expected, got string)");
    expect(() => run("bit.lshift(1)")).to.throw("bad argument #2 to 'lshift' (number expected, got no value)");
    expect(run('return bit.band("12", 4)')).to.deep.equal([4]);
  });
});
