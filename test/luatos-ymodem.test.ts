// LuatOS ymodem through the real Runtime: a YMODEM sender's byte stream built here (header
// block with name and size, 1024- and 128-byte blocks with CRC-16/XMODEM, the EOT
// handshake, the empty header that ends the batch) fed through zbuffs in arbitrary
// chunks; the answers are the bytes a sender waits for, the file lands in the flash folder.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startedIn, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";

const SOH = 1;
const STX = 2;
const EOT = 4;
const CAN = 0x18;

function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function block(seq: number, payload: Buffer, size: 128 | 1024, fill = 0x1a): Buffer {
  const body = Buffer.alloc(size, fill);
  payload.copy(body);
  const crc = crc16(body);
  return Buffer.concat([Buffer.from([size === 128 ? SOH : STX, seq & 0xff, 255 - (seq & 0xff)]), body, Buffer.from([crc >> 8, crc & 0xff])]);
}

const header = (name: string, size: number): Buffer => block(0, Buffer.from(`${name}\0${size} 14537363162 100644\0`), 128, 0);
const FILE = Buffer.from(Array.from({ length: 1100 }, (_, i) => (i * 7 + (i >> 4)) & 0xff));

describe("LuatOS ymodem", () => {
  let c: Captured;
  let dir: string;
  before(async () => {
    ({ c, dir } = await startedIn({ "main.lua": "", "sub/keep.txt": "" }, { flavor: "luatos" }));
    run(c, `function feed(h, hex)
      local b = zbuff.create(#hex // 2 + 1)
      b:write((string.fromHex(hex)))
      return {ymodem.receive(h, b)}
    end`);
  });
  after(async () => {
    await c.rt.close();
  });

  /** The five answers of ymodem.receive, nil as null. */
  const feed = (handle: string, bytes: Buffer): unknown[] => {
    const [t] = run(c, `local r = feed(${handle}, "${bytes.toString("hex")}") return {r[1], r[2], r[3] == nil and "nil" or r[3], r[4], r[5]}`);
    return Object.values(t as Record<string, unknown>);
  };

  it("receives a file: C while idle, header (split across reads) ACK+C, blocks ACK, EOT NAK then ACK+C, empty header ends", () => {
    run(c, `h = ymodem.create("/")`);
    const empty = run(c, `local r = {ymodem.receive(h, zbuff.create(4))} return r[1], r[2], r[3], r[4], r[5]`);
    expect(empty).to.deep.equal([true, 0x43, null, false, false]);
    const head = header("data.bin", FILE.length);
    expect(feed("h", head.subarray(0, 50))).to.deep.equal([true, 0, "nil", false, false]);
    expect(feed("h", head.subarray(50))).to.deep.equal([true, 6, 0x43, false, false]);
    const first = block(1, FILE.subarray(0, 1024), 1024);
    expect(feed("h", first.subarray(0, 700))).to.deep.equal([true, 0, "nil", false, false]);
    expect(feed("h", first.subarray(700))).to.deep.equal([true, 6, "nil", false, false]);
    expect(feed("h", block(2, FILE.subarray(1024), 128))).to.deep.equal([true, 6, "nil", true, false]);
    expect(feed("h", Buffer.from([EOT]))).to.deep.equal([true, 0x15, "nil", false, false]);
    expect(feed("h", Buffer.from([EOT]))).to.deep.equal([true, 6, 0x43, false, false]);
    expect(feed("h", block(0, Buffer.alloc(0), 128, 0))).to.deep.equal([true, 6, "nil", false, true]);
    expect(readFileSync(join(dir, "data.bin")).equals(FILE)).to.equal(true);
  });

  it("NAKs a bad CRC or a wrong sequence number and takes the resent block; CAN cancels", () => {
    run(c, `h2 = ymodem.create("/sub")`);
    expect(feed("h2", header("b.bin", 200))).to.deep.equal([true, 6, 0x43, false, false]);
    const good = block(1, FILE.subarray(0, 128), 128);
    const bad = Buffer.from(good);
    bad[40] ^= 1;
    expect(feed("h2", bad)).to.deep.equal([false, 0x15, "nil", false, false]);
    expect(feed("h2", block(2, FILE.subarray(0, 128), 128))).to.deep.equal([false, 0x15, "nil", false, false]);
    expect(feed("h2", good)).to.deep.equal([true, 6, "nil", false, false]);
    expect(feed("h2", block(2, FILE.subarray(128, 256), 128))).to.deep.equal([true, 6, "nil", true, false]);
    expect(readFileSync(join(dir, "sub", "b.bin")).equals(FILE.subarray(0, 200))).to.equal(true);
    expect(feed("h2", Buffer.from([0x55]))).to.deep.equal([false, 0x15, "nil", false, false]);
    expect(feed("h2", Buffer.from([CAN, CAN]))).to.deep.equal([true, 6, "nil", false, true]);
    expect(feed("h2", Buffer.from([0x55]))).to.deep.equal([false, 0x15, "nil", false, false]);
  });

  it("saves to the forced path whatever the header names", () => {
    run(c, `h3 = ymodem.create("/", "/forced.bin")`);
    expect(feed("h3", header("ignored.txt", 5))).to.deep.equal([true, 6, 0x43, false, false]);
    expect(feed("h3", block(1, Buffer.from("hello"), 128))).to.deep.equal([true, 6, "nil", true, false]);
    expect([readFileSync(join(dir, "forced.bin"), "latin1"), existsSync(join(dir, "ignored.txt"))]).to.deep.equal(["hello", false]);
  });

  it("reads a string argument as no data, as the firmware's binding does; a released handle answers false and logs", () => {
    run(c, `h4 = ymodem.create()`);
    const head = header("s.bin", 3).toString("latin1");
    expect(run(c, `return ymodem.receive(h4, string.fromHex("${Buffer.from(head, "latin1").toString("hex")}"))`)).to.deep.equal([true, 0x43, null, false, false]);
    const before = c.stdout().length;
    expect(run(c, `ymodem.release(h4) ymodem.reset(h4) return ymodem.receive(h4, zbuff.create(1))`)).to.deep.equal([false, null, null, false, false]);
    expect(run(c, `return ymodem.receive(nil, zbuff.create(1))`)).to.deep.equal([false, null, null, false, false]);
    expect(c.stdout().slice(before).split("\n").filter(Boolean).map((l) => l.replace(/^.*?E\//, "E/"))).to.deep.equal([
      "E/ymodem handler->ctrl is nil!!!",
      "E/ymodem handler is nil!!!",
    ]);
    expect(run(c, `return pcall(ymodem.receive, ymodem.create(), io.stdout)`)).to.deep.equal([false, "bad argument #2 to '?' (ZBUFF* expected, got FILE*)"]);
  });
});
