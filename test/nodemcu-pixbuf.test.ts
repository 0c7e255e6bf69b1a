// NodeMCU pixbuf and ws2812 buffers: the firmware's values (C integer arithmetic), its
// error texts, and ws2812 writing pixbufs as recorded bytes (app/modules/pixbuf.c, ws2812.c).
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";

const bytes = (...values: number[]): string => String.fromCharCode(...values);

describe("NodeMCU pixbuf", () => {
  let c: Captured;
  beforeEach(async () => {
    c = await started({ flavor: "nodemcu" });
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("makes zeroed buffers within the firmware's limits; ws2812.newBuffer is the same function", () => {
    expect(run(c, "local b = pixbuf.newBuffer(2, 3) return b:size(), b:channels(), b:dump(), ws2812.newBuffer == pixbuf.newBuffer")).to.deep.equal([2, 3, bytes(0, 0, 0, 0, 0, 0), true]);
    expect(run(c, "return pixbuf.FADE_IN, pixbuf.FADE_OUT, pixbuf.SHIFT_LOGICAL, pixbuf.SHIFT_CIRCULAR, ws2812.FADE_IN, ws2812.FADE_OUT, ws2812.SHIFT_CIRCULAR")).to.deep.equal([0, 1, 0, 1, 0, 1, 1]);
    expect(errorOf(c, "pixbuf.newBuffer(0, 3)")).to.equal("(exec):1: bad argument #1 to 'newBuffer' (should be a positive integer)");
    expect(errorOf(c, "ws2812.newBuffer(3, -1)")).to.equal("(exec):1: bad argument #2 to 'newBuffer' (should be a positive integer)");
    expect(errorOf(c, "pixbuf.newBuffer(8193, 1)")).to.equal("(exec):1: pixbuf size limits exeeded");
    expect(errorOf(c, "pixbuf.newBuffer(1, 33)")).to.equal("(exec):1: pixbuf size limits exeeded");
    expect(run(c, "return pixbuf.newBuffer(8192, 32):size()")).to.deep.equal([8192]);
  });

  it("fill, set and get store bytes as C does and return the buffer", () => {
    expect(run(c, "local b = pixbuf.newBuffer(2, 3) return b:fill(256, -1, 300) == b, b:dump()")).to.deep.equal([true, bytes(0, 255, 44, 0, 255, 44)]);
    expect(run(c, "local b = pixbuf.newBuffer(2, 3):set(1, {7, 'x'}):set(2, 1, 2, 3) return b:dump(), b:get(2)")).to.deep.equal([bytes(7, 0, 0, 1, 2, 3), 1, 2, 3]);
    expect(run(c, "return pixbuf.newBuffer(3, 2):set(2, 'ABCD'):dump()")).to.deep.equal([bytes(0, 0, 65, 66, 67, 68)]);
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):fill(1, 2)")).to.equal("(exec):1: calling 'fill' on bad self (need as many values as colors per pixel)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):get(3)")).to.equal("(exec):1: bad argument #1 to 'get' (index out of range)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):set(0, 1, 2, 3)")).to.equal("(exec):1: bad argument #1 to 'set' (index out of range)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):set(1, 1, 2, 3, 4)")).to.equal("(exec):1: bad argument #4 to 'set' (extra values given)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):set(1, 1, 2)")).to.equal("(exec):1: bad argument #4 to 'set' (number expected, got no value)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):set(2, 'ABCDEF')")).to.equal("(exec):1: string size will exceed strip length");
    expect(errorOf(c, "pixbuf.newBuffer(2, 3):set(1, 'ABCD')")).to.equal("(exec):1: string does not contain whole LEDs");
  });

  it("replace counts negative positions from the end and clamps them to the first pixel", () => {
    expect(run(c, "local b = pixbuf.newBuffer(4, 1) b:replace('xy', -2) return b:dump()")).to.deep.equal([bytes(0, 0, 120, 121)]);
    expect(run(c, "local b = pixbuf.newBuffer(4, 1) b:replace('xy', -9) return b:dump()")).to.deep.equal([bytes(120, 121, 0, 0)]);
    expect(run(c, "local b = pixbuf.newBuffer(3, 2) b:replace('abcde', 2) return b:dump()")).to.deep.equal([bytes(0, 0, 97, 98, 99, 100)]);
    expect(run(c, "local b = pixbuf.newBuffer(3, 1) b:replace(pixbuf.newBuffer(1, 1):fill(9), 3) return b:dump()")).to.deep.equal([bytes(0, 0, 9)]);
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):replace('xy', 4)")).to.equal("(exec):1: bad argument #1 to 'replace' (does not fit into destination)");
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):replace(pixbuf.newBuffer(1, 2))")).to.equal("(exec):1: bad argument #1 to 'replace' (buffers have different channels)");
  });

  it("mix rounds half up, truncates toward zero and saturates at 0 and 255", () => {
    const mix = (code: string) => run(c, `local a, b = pixbuf.newBuffer(1, 3):fill(10, 22, 54), pixbuf.newBuffer(1, 3):fill(10, 27, 55) ${code} return a:get(1)`);
    expect(mix("a:mix(224, a, 32, b)")).to.deep.equal([10, 23, 54]);
    expect(mix("a:mix(128, a, -256, b)")).to.deep.equal([0, 0, 0]);
    expect(mix("a:mix(25600, a, 32, b)")).to.deep.equal([255, 255, 255]);
    expect(mix("a:mix(-257, a, 255, b)")).to.deep.equal([0, 5, 1]);
    expect(run(c, "local a = pixbuf.newBuffer(1, 3):fill(1, 127, 3) return a:mix(128, a) == a, a:get(1)")).to.deep.equal([true, 1, 64, 2]);
    expect(errorOf(c, "pixbuf.newBuffer(1, 3):mix(256, pixbuf.newBuffer(2, 3))")).to.equal("(exec):1: bad argument #2 to 'mix' (buffer not same size or shape)");
    expect(errorOf(c, "pixbuf.newBuffer(1, 3):mix(256, 'x')")).to.equal("(exec):1: bad argument #2 to 'mix' (pixbuf.buf expected, got string)");
  });

  it("fade divides for FADE_OUT (the default) and multiplies with saturation otherwise", () => {
    const fade = (args: string) => run(c, `local b = pixbuf.newBuffer(1, 3):fill(1, 222, 55) b:fade(${args}) return b:dump()`);
    expect(fade("2")).to.deep.equal([bytes(0, 111, 27)]);
    expect(fade("3, pixbuf.FADE_OUT")).to.deep.equal([bytes(0, 74, 18)]);
    expect(fade("3, pixbuf.FADE_IN")).to.deep.equal([bytes(3, 255, 165)]);
    expect(fade("2, 7")).to.deep.equal([bytes(2, 255, 110)]);
    expect(errorOf(c, "pixbuf.newBuffer(1, 3):fade(0)")).to.equal("(exec):1: bad argument #1 to 'fade' (fade value should be a strictly positive int)");
  });

  it("shift moves pixels logically or circularly within string.sub-style bounds", () => {
    const shift = (args: string) => run(c, `local b = pixbuf.newBuffer(4, 1):set(1, 'abcd') b:shift(${args}) return b:dump()`);
    expect(shift("1")).to.deep.equal([bytes(0, 97, 98, 99)]);
    expect(shift("-4")).to.deep.equal([bytes(0, 0, 0, 0)]);
    expect(shift("-1, pixbuf.SHIFT_CIRCULAR")).to.deep.equal(["bcda"]);
    expect(shift("1, pixbuf.SHIFT_CIRCULAR, -12, 12")).to.deep.equal(["dabc"]);
    expect(shift("1, nil, 2, 3")).to.deep.equal([bytes(97, 0, 98, 100)]);
    expect(shift("-1, pixbuf.SHIFT_CIRCULAR, -3, -2")).to.deep.equal(["acbd"]);
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):shift(5)")).to.equal("(exec):1: bad argument #1 to 'shift' (shifting more elements than buffer size)");
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):shift(-3, 0, 2, 3)")).to.equal("(exec):1: bad argument #1 to 'shift' (shifting more than sliced window)");
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):shift(1, 2)")).to.equal("(exec):1: bad argument #2 to 'shift' (invalid shift type)");
    expect(errorOf(c, "pixbuf.newBuffer(4, 1):shift(1, 0, 3, 2)")).to.equal("(exec):1: bad argument #4 to 'shift' (end position must be >= start)");
  });

  it("sub, concat, ==, tostring, power and channels", () => {
    expect(run(c, "local b = pixbuf.newBuffer(4, 1):set(1, 'abcd') return b:sub(2, 3):dump(), b:sub(-12, 33):dump(), b:sub(4, 3):size(), b:sub(-2):dump()")).to.deep.equal(["bc", "abcd", 0, "cd"]);
    expect(run(c, "local a = pixbuf.newBuffer(1, 2):fill(1, 2) local b = a .. pixbuf.newBuffer(1, 2) return tostring(b), b:size(), b == a, a == pixbuf.newBuffer(1, 2):fill(1, 2), b:power()")).to.deep.equal(["[(1,2),(0,0)]", 2, false, true, 3]);
    expect(errorOf(c, "return pixbuf.newBuffer(1, 2) .. pixbuf.newBuffer(1, 3)")).to.equal("(exec):1: bad argument #1 to '__concat' (can only concatenate buffers with same channel count)");
    expect(errorOf(c, "return pixbuf.newBuffer(8000, 1) .. pixbuf.newBuffer(193, 1)")).to.equal("(exec):1: pixbuf size limits exeeded");
  });

  it("map takes results last channel first and checks the firmware's limits", () => {
    expect(run(c, "local b = pixbuf.newBuffer(2, 3):set(1, 'abcdef') b:map(function(x, y, z) return z, y, x end) return b:dump()")).to.deep.equal(["cbafed"]);
    expect(run(c, "local o = pixbuf.newBuffer(2, 2) o:map(function(x, y) return x, y end, pixbuf.newBuffer(3, 1):set(1, 'abc'), 2, 3, pixbuf.newBuffer(3, 1):set(1, 'XYZ'), 2) return o:dump()")).to.deep.equal(["bYcZ"]);
    // The firmware wants end > start, so a one-pixel buffer cannot be mapped.
    expect(errorOf(c, "pixbuf.newBuffer(1, 3):map(function(...) return ... end)")).to.equal("(exec):1: bad argument #2 to 'map' (Buffer limits out of order)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 1):map(function(x) return x end, pixbuf.newBuffer(3, 1))")).to.equal("(exec):1: calling 'map' on bad self (Output buffer wrong size)");
    expect(errorOf(c, "pixbuf.newBuffer(2, 1):map(function(x) return x end, nil, 1, 2, pixbuf.newBuffer(2, 1), 2)")).to.equal("(exec):1: bad argument #5 to 'map' (Second buffer too short)");
  });

  it("the intensity variants: powerI, fadeI (with the firmware's fade-in stride) and mix4I5", () => {
    expect(run(c, "return pixbuf.newBuffer(2, 4):set(1, 2, 10, 20, 30):set(2, 3, 1, 1, 1):powerI()")).to.deep.equal([129]);
    expect(run(c, "local b = pixbuf.newBuffer(3, 2):set(1, 'ABCDEF') b:fadeI(2) return b:dump()")).to.deep.equal([bytes(32, 66, 33, 68, 34, 70)]);
    expect(run(c, "local b = pixbuf.newBuffer(3, 2):set(1, 10, 1):set(2, 20, 2):set(3, 30, 3) b:fadeI(2, pixbuf.FADE_IN) return b:dump()")).to.deep.equal([bytes(20, 1, 20, 4, 30, 3)]);
    expect(run(c, "local a = pixbuf.newBuffer(1, 4):set(1, 31, 255, 255, 255) local o = pixbuf.newBuffer(1, 4) o:mix4I5(256, a) return o:get(1)")).to.deep.equal([31, 255, 255, 255]);
    expect(run(c, "local a = pixbuf.newBuffer(1, 4):set(1, 1, 10, 20, 30) local o = pixbuf.newBuffer(1, 4) o:mix4I5(256, a) return o:get(1)")).to.deep.equal([1, 10, 20, 30]);
    // A black pixel ends the firmware's loop: the pixels after it keep their values.
    expect(run(c, "local a = pixbuf.newBuffer(2, 4):set(2, 1, 10, 10, 10) local o = pixbuf.newBuffer(2, 4):fill(9, 9, 9, 9) o:mix4I5(256, a) return o:dump()")).to.deep.equal([bytes(0, 0, 0, 0, 9, 9, 9, 9)]);
    expect(errorOf(c, "local a = pixbuf.newBuffer(1, 3) a:mix4I5(256, a)")).to.equal("(exec):1: bad argument #1 to 'mix4I5' (Requires 4 channel pixbuf)");
  });
});

describe("NodeMCU ws2812 with pixbuf buffers", () => {
  it("writes strings and 3- or 4-channel pixbufs, recorded as the bytes sent", async () => {
    const c = await started({ flavor: "nodemcu" });
    run(c, "ws2812.init(ws2812.MODE_DUAL) ws2812.write(pixbuf.newBuffer(1, 4):fill(1, 2, 3, 4)) ws2812.write(nil, 'ab')");
    const events = c.rt.hardware.filter("ws2812").map((event) => [event.call, event.args.map((arg) => (arg instanceof Uint8Array ? [...arg] : arg))]);
    expect(events).to.deep.equal([["init", [1]], ["write", [[1, 2, 3, 4]]], ["write", [null, [97, 98]]]]);
    expect(errorOf(c, "ws2812.write(pixbuf.newBuffer(1, 2))")).to.equal("(exec):1: bad argument #1 to 'write' (Bad pixbuf format)");
    expect(errorOf(c, "ws2812.write('', pixbuf.newBuffer(1, 5))")).to.equal("(exec):1: bad argument #2 to 'write' (Bad pixbuf format)");
    expect(errorOf(c, "ws2812.write()")).to.equal("(exec):1: bad argument #1 to 'write' (pixbuf or string expected)");
    expect(errorOf(c, "ws2812.write('', 5)")).to.equal("(exec):1: bad argument #2 to 'write' (pixbuf or string expected)");
    expect(errorOf(c, "ws2812.write(tmr.create())")).to.equal("(exec):1: bad argument #1 to 'write' (pixbuf.buf expected, got tmr.timer)");
    await c.rt.close();
  });
});
