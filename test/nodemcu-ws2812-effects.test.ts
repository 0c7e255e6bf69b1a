// NodeMCU ws2812_effects: settings and their errors, effects drawn into the pixbuf with the
// firmware's arithmetic, and frames written by its timer through the event loop.
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";

const writes = (c: Captured): number[][] => c.rt.hardware.filter("ws2812", "write").map((event) => [...(event.args[0] as Uint8Array)]);

describe("NodeMCU ws2812_effects", () => {
  let c: Captured;
  beforeEach(async () => {
    c = await started({ flavor: "nodemcu" });
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("wants init() first, prints the firmware's deprecation warning, and checks its settings", () => {
    expect(errorOf(c, "ws2812_effects.set_speed(5)")).to.equal("(exec):1: bad argument #1 to 'set_speed' (please call init() first)");
    expect(errorOf(c, "ws2812_effects.start()")).to.equal("(exec):1: bad argument #1 to 'start' (please call init() first)");
    expect(errorOf(c, "ws2812_effects.init('x')")).to.equal("(exec):1: bad argument #1 to 'init' (pixbuf.buf expected, got string)");
    run(c, "ws2812_effects.init(ws2812.newBuffer(3, 3))");
    expect(c.stdout()).to.contain("Warning, deprecated API! ws2812_effects. It will be removed soon; please see https://github.com/nodemcu/nodemcu-firmware/issues/3122. See documentation for details.\n");
    expect(run(c, "return ws2812_effects.get_speed(), ws2812_effects.get_delay(), ws2812_effects.__tostring()")).to.deep.equal([150, 100, "[effects]"]);
    expect(run(c, "local d = ws2812_effects.set_delay(20) return d, ws2812_effects.get_delay(), ws2812_effects.get_speed()")).to.deep.equal([20, 20, 0]);
    expect(run(c, "ws2812_effects.set_speed(100) return ws2812_effects.get_delay(), ws2812_effects.get_speed()")).to.deep.equal([10, 100]);
    expect(errorOf(c, "ws2812_effects.set_speed(256)")).to.equal("(exec):1: bad argument #1 to 'set_speed' (should be 0-255)");
    expect(errorOf(c, "ws2812_effects.set_brightness(-1)")).to.equal("(exec):1: bad argument #1 to 'set_brightness' (should be 0-255)");
    expect(errorOf(c, "ws2812_effects.set_delay(9)")).to.equal("(exec):1: bad argument #1 to 'set_delay' (must be equal / larger than 10)");
    expect(errorOf(c, "ws2812_effects.set_mode('sparkle')")).to.equal("(exec):1: bad argument #1 to 'set_mode' (invalid option 'sparkle')");
    expect(errorOf(c, "ws2812_effects.set_mode('gradient', 5)")).to.equal("(exec):1: bad argument #2 to 'set_mode' (string expected)");
    expect(errorOf(c, "ws2812_effects.set_mode('gradient_rgb', 'abcd')")).to.equal("(exec):1: bad argument #2 to 'set_mode' (must be at least two colors and same size as buffer colors)");
  });

  it("static fills the set colour scaled by brightness; gradient_rgb interpolates and writes once", () => {
    const dump = run(c, "local b = ws2812.newBuffer(2, 3) ws2812_effects.init(b) ws2812_effects.set_color(255, 100, 0) ws2812_effects.set_mode('static') return b:dump()");
    expect(dump).to.deep.equal([String.fromCharCode(100, 39, 0, 100, 39, 0)]);
    expect(writes(c)).to.deep.equal([]);
    const rgbw = run(c, "local b = ws2812.newBuffer(1, 4) ws2812_effects.init(b) ws2812_effects.set_brightness(255) ws2812_effects.set_color(10, 20, 30, 255) ws2812_effects.set_mode('static') return b:dump()");
    expect(rgbw).to.deep.equal([String.fromCharCode(10, 20, 30, 255)]);
    run(c, "local b = ws2812.newBuffer(3, 3) ws2812_effects.init(b) ws2812_effects.set_brightness(255) ws2812_effects.set_mode('gradient_rgb', string.char(0, 0, 0, 200, 100, 50))");
    expect(writes(c)).to.deep.equal([[0, 0, 0, 100, 50, 25, 200, 100, 50]]);
  });

  it("start runs frames on the timer (halloween: each frame shifts, writes twice); stop ends them", async () => {
    run(c, "local b = ws2812.newBuffer(4, 3) ws2812_effects.init(b) ws2812_effects.set_brightness(255) ws2812_effects.set_delay(10) ws2812_effects.set_mode('halloween') ws2812_effects.start()");
    expect(writes(c)).to.deep.equal([]);
    const deadline = Date.now() + 3000;
    while (writes(c).length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    run(c, "ws2812_effects.stop()");
    const [orange, purple] = [[50, 255, 0], [0, 255, 130]];
    const once = [purple, orange, orange, purple].flat();
    const twice = [purple, purple, orange, orange].flat();
    expect(writes(c).slice(0, 4)).to.deep.equal([once, once, twice, twice]);
    const count = writes(c).length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(writes(c).length).to.equal(count);
  });
});
