// NodeMCU color_utils through the real Runtime: color_utils.c's integer arithmetic,
// including colorWheel's r,g,b order (the docs say g,r,b) and its argument checks.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

describe("NodeMCU color_utils", () => {
  let c: Captured;
  before(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  after(async () => {
    await c.rt.close();
  });

  it("hsv2grb gives green, red, blue with the firmware's rounding", () => {
    expect(run(c, "return color_utils.hsv2grb(0, 255, 255)")).to.deep.equal([0, 255, 0]);
    expect(run(c, "return color_utils.hsv2grb(120, 255, 255)")).to.deep.equal([255, 0, 0]);
    expect(run(c, "return color_utils.hsv2grb(240, 255, 128)")).to.deep.equal([0, 0, 128]);
    // bottom = (255 - 100) * 200 >> 8 = 121; hue 200 rises from green to blue: falling = (79 * 40) / 60 + 121.
    expect(run(c, "return color_utils.hsv2grb(200, 100, 200)")).to.deep.equal([173, 121, 200]);
    // Saturation 0 is not quite grey: bottom = 255 * 77 >> 8 = 76.
    expect(run(c, "return color_utils.hsv2grb(360, 0, 77)")).to.deep.equal([76, 77, 76]);
  });

  it("hsv2grbw takes the common part out as white", () => {
    expect(run(c, "return color_utils.hsv2grbw(200, 100, 200)")).to.deep.equal([52, 0, 79, 121]);
    expect(run(c, "return color_utils.hsv2grbw(0, 0, 255)")).to.deep.equal([0, 1, 0, 254]);
  });

  it("colorWheel answers red, green, blue", () => {
    expect(run(c, "return color_utils.colorWheel(0)")).to.deep.equal([255, 0, 0]);
    expect(run(c, "return color_utils.colorWheel(120)")).to.deep.equal([0, 255, 0]);
    expect(run(c, "return color_utils.colorWheel(30)")).to.deep.equal([255, 127, 0]);
  });

  it("grb2hsv inverts hsv2grb within the firmware's tolerance (truncating divisions)", () => {
    expect(run(c, "return color_utils.grb2hsv(0, 255, 0)")).to.deep.equal([0, 255, 255]);
    expect(run(c, "return color_utils.grb2hsv(255, 0, 0)")).to.deep.equal([120, 255, 255]);
    // h = (121 - 173) * 60 / 79 + 240 truncates to 201; s = (256 * 79 - 8) / 200 = 101.
    expect(run(c, "return color_utils.grb2hsv(173, 121, 200)")).to.deep.equal([201, 101, 200]);
    expect(run(c, "return color_utils.grb2hsv(256, 0, 1)")).to.deep.equal([240, 248, 1]);
  });

  it("checks ranges with the firmware's messages", () => {
    expect(errorOnLine1(c, "color_utils.hsv2grb(361, 0, 0)")).to.match(/bad argument #1 to '.*' \(should be a 0-360\)$/);
    expect(errorOnLine1(c, "color_utils.hsv2grbw(0, 256, 0)")).to.match(/bad argument #2 to '.*' \(should be 0-255\)$/);
    expect(errorOnLine1(c, "color_utils.hsv2grb(0, 0, -1)")).to.match(/bad argument #3 to '.*' \(should be 0-255\)$/);
    expect(errorOnLine1(c, "color_utils.colorWheel(400)")).to.match(/bad argument #1 to '.*' \(should be a 0-360\)$/);
    expect(errorOnLine1(c, "color_utils.grb2hsv(9, 9, 9)")).to.match(/bad argument #1 to '.*' \(greyscale value cannot be converted to hsv\)$/);
    expect(errorOnLine1(c, "color_utils.hsv2grb(0, 0)")).to.match(/bad argument #3 to '.*' \(number expected, got no value\)$/);
  });
});
