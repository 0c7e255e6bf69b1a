// The display's picture as a PNG: rt.device.screenshot() and --screenshot FILE, after a
// NodeMCU script drew on an SSD1306 over i2c the way a display driver does.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { inflateSync } from "node:zlib";
import { started } from "./support/capture.js";
import { CLI } from "./support/cli.js";
import { tempDir } from "./support/temp.js";

const run = promisify(execFile);

// Display on, horizontal addressing over the whole panel, then three columns of page 0:
// 0xFF lights rows 0-7 of column 0, 0x01 row 0 of column 1, 0x00 nothing in column 2.
const DRAW = `
i2c.setup(0, 2, 1, i2c.SLOW)
local function send(control, ...)
  i2c.start(0)
  i2c.address(0, 0x3C, i2c.TRANSMITTER)
  i2c.write(0, control, ...)
  i2c.stop(0)
end
send(0x00, 0xAF, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7)
send(0x40, 0xFF, 0x01, 0x00)
`;

/** Width, height and the grey value of each pixel of an 8-bit greyscale PNG. */
function decode(png: Uint8Array): { width: number; height: number; pixel: (x: number, y: number) => number } {
  const bytes = Buffer.from(png);
  expect(bytes.subarray(0, 8).toString("hex")).to.equal("89504e470d0a1a0a");
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  expect([bytes[24], bytes[25]]).to.deep.equal([8, 0]);
  const chunks: Buffer[] = [];
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    if (bytes.toString("latin1", at + 4, at + 8) === "IDAT") chunks.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  expect(raw.length).to.equal(height * (width + 1));
  return { width, height, pixel: (x, y) => raw[y * (width + 1) + 1 + x] as number };
}

describe("display screenshots", () => {
  it("rt.device.screenshot() is what the panel shows, one PNG pixel per display pixel", async () => {
    const c = await started({ flavor: "nodemcu", cwd: tempDir("shot"), device: { i2c: [{ chip: "ssd1306" }] }, prelude: [DRAW] });
    const { width, height, pixel } = decode(c.rt.device.screenshot() as Uint8Array);
    expect([width, height]).to.deep.equal([128, 64]);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((y) => pixel(0, y))).to.deep.equal([255, 255, 255, 255, 255, 255, 255, 255, 0]);
    expect([pixel(1, 0), pixel(1, 1), pixel(2, 0), pixel(127, 63)]).to.deep.equal([255, 0, 0, 0]);
    await c.rt.close();
  });

  it("--screenshot FILE writes it at the end of the run, each pixel 4 x 4; without a display it says so", async () => {
    const dir = tempDir("shot-cli");
    writeFileSync(join(dir, "device.json"), JSON.stringify({ i2c: [{ chip: "ssd1306" }] }));
    const file = join(dir, "screen.png");
    const drawn = await run(process.execPath, [CLI, "--flavor", "nodemcu", "--device", join(dir, "device.json"), "--screenshot", file, "-e", DRAW], { cwd: dir });
    expect(drawn.stderr).to.equal("");
    const { width, height, pixel } = decode(readFileSync(file));
    expect([width, height]).to.deep.equal([512, 256]);
    expect([pixel(0, 0), pixel(3, 31), pixel(4, 0), pixel(7, 3), pixel(4, 4), pixel(8, 0)]).to.deep.equal([255, 255, 255, 255, 0, 0]);
    const none = await run(process.execPath, [CLI, "--flavor", "nodemcu", "--screenshot", file, "-e", "print(1)"], { cwd: dir });
    expect(none.stderr).to.equal('moonrig: --screenshot: the device has no display (place one with --device, e.g. {"i2c": [{"chip": "ssd1306"}]})\n');
  });
});
