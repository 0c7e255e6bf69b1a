// NodeMCU rtcmem and rtcfifo through the real Runtime: the 128 user slots survive
// node.restart within a run and start at zero in the next run; rtcfifo keeps its control
// block and packed samples in those same slots, word for word as rtcfifo.h lays them out.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";
import { makeProject } from "./support/project.js";

describe("NodeMCU rtcmem", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("reads back what write32 stored, as 32-bit signed integers, starting from zeroes", () => {
    expect(run(c, "return rtcmem.read32(0, 3)")).to.deep.equal([0, 0, 0]);
    run(c, "rtcmem.write32(42, 2, 5, 7) rtcmem.write32(0, 0xFFFFFFFF)");
    expect(run(c, "return rtcmem.read32(42, 3)")).to.deep.equal([2, 5, 7]);
    expect(run(c, "return rtcmem.read32(0)")).to.deep.equal([-1]);
  });

  it("reads only valid slots, nothing for a nil count, and refuses writes past slot 127", () => {
    expect(run(c, "return select('#', rtcmem.read32(126, 5)), select('#', rtcmem.read32(128)), select('#', rtcmem.read32(-1)), select('#', rtcmem.read32(3, nil))")).to.deep.equal([2, 0, 0, 0]);
    expect(errorOnLine1(c, "rtcmem.write32(127, 1, 2)")).to.match(/bad argument #1 to '.*' \(RTC mem would overrun\)$/);
    expect(errorOnLine1(c, "rtcmem.read32()")).to.match(/bad argument #1 to '.*' \(number expected, got no value\)$/);
  });

  it("keeps its slots through node.restart, and a new run starts from zero", async () => {
    const dir = makeProject({ "init.lua": "local n = rtcmem.read32(5) + 1\nprint('boot', n)\nrtcmem.write32(5, n)\nif n < 3 then node.restart() end" });
    const first = captured();
    await first.rt.run(dir);
    await first.waitFor("boot\t3\n");
    expect(first.stdout()).to.equal("boot\t1\nboot\t2\nboot\t3\n");
    await first.rt.close();
    const second = captured();
    await second.rt.run(dir);
    await second.waitFor("boot\t3\n");
    expect(second.stdout()).to.equal("boot\t1\nboot\t2\nboot\t3\n");
    await second.rt.close();
  });
});

describe("NodeMCU rtcfifo", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("is not ready until prepared; then every call but ready raises until prepare", () => {
    expect(run(c, "return rtcfifo.ready()")).to.deep.equal([0]);
    expect(errorOnLine1(c, "rtcfifo.put(1, 2, 0, 'a')")).to.equal("(exec):1: rtcfifo not prepared!");
    expect(errorOnLine1(c, "rtcfifo.prepare(5)")).to.equal("(exec):1: expected table as arg #1");
    run(c, "rtcfifo.prepare()");
    expect(run(c, "return rtcfifo.ready(), rtcfifo.count(), select('#', rtcfifo.pop())")).to.deep.equal([1, 0, 0]);
  });

  it("stores samples as rtcfifo.h's packed words in the RTC slots and gives them back in order", () => {
    run(c, "rtcfifo.prepare() rtcfifo.put(1000, 12345, 2, 'temp') rtcfifo.put(1010, 7, 0, 'hu')");
    // Control block (slots 10..20): magic, interval, 3 zeroes, location 32 | 128<<8 | 5<<16, count, tail, head, tail time, head time.
    expect(run(c, "return rtcmem.read32(10, 11)")).to.deep.equal([0x44695553, 0, 0, 0, 0, 32 + (128 << 8) + (5 << 16), 2, 39, 37, 1010, 1000]);
    // Names in slots 32.., then entries from slot 37: value | delta << 16 | decimals << 25 | name index << 28.
    expect(run(c, "return rtcmem.read32(32, 2)")).to.deep.equal([0x706d6574, 0x7568]);
    expect(run(c, "return rtcmem.read32(37, 2)")).to.deep.equal([12345 + (2 << 25), 7 + (10 << 16) + (1 << 28)]);
    expect(run(c, "return rtcfifo.peek(1)")).to.deep.equal([1010, 7, 0, "hu"]);
    expect(run(c, "return rtcfifo.pop()")).to.deep.equal([1000, 12345, 2, "temp"]);
    expect(run(c, "return rtcfifo.count(), rtcfifo.pop()")).to.deep.equal([1, 1010, 7, 0, "hu"]);
  });

  it("keeps 16 bits of value, 4 bytes of name, and drops from the head", () => {
    run(c, "rtcfifo.prepare({sensor_count = 2}) for i = 1, 4 do rtcfifo.put(100 + i, 70000 + i, 9, 'sensor') end");
    expect(run(c, "return rtcfifo.peek()")).to.deep.equal([101, (70001) & 0xffff, 1, "sens"]);
    run(c, "rtcfifo.drop(2)");
    expect(run(c, "return rtcfifo.count(), rtcfifo.pop()")).to.deep.equal([2, 103, 70003 & 0xffff, 1, "sens"]);
    expect(run(c, "return select('#', rtcfifo.peek(5))")).to.deep.equal([0]);
  });

  it("starts over on a gap longer than 511 s or a name too many, as the firmware does", () => {
    run(c, "rtcfifo.prepare({sensor_count = 1}) rtcfifo.put(10, 1, 0, 'a') rtcfifo.put(20, 2, 0, 'a')");
    run(c, "rtcfifo.put(25, 3, 0, 'b')");
    // The delta computed before starting over (5 s) stays in the entry.
    expect(run(c, "return rtcfifo.count(), rtcfifo.peek()")).to.deep.equal([1, 30, 3, 0, "b"]);
    run(c, "rtcfifo.put(1000, 4, 0, 'b')");
    // After a long gap the entry's delta field is all ones: read back 511 s late.
    expect(run(c, "return rtcfifo.count(), rtcfifo.peek()")).to.deep.equal([1, 1511, 4, 0, "b"]);
  });

  it("drops the oldest sample when the ring is full", () => {
    // One name slot at 32, so the ring is slots 33..127: 95 samples.
    run(c, "rtcfifo.prepare({sensor_count = 1}) for i = 1, 97 do rtcfifo.put(i, i, 0, 'a') end");
    expect(run(c, "return rtcfifo.count(), rtcfifo.pop()")).to.deep.equal([95, 3, 3, 0, "a"]);
  });

  it("moves the storage after clearing it at the default place, as prepare does on the device", () => {
    run(c, "rtcfifo.prepare({sensor_count = 2, storage_begin = 100, storage_end = 110})");
    expect(run(c, "return rtcmem.read32(15, 4)")).to.deep.equal([100 + (110 << 8) + (2 << 16), 0, 34, 34]);
  });

  it("survives node.restart with its samples", async () => {
    const dir = makeProject({ "init.lua": "if rtcfifo.ready() == 0 then rtcfifo.prepare() rtcfifo.put(500, 42, 1, 'x') node.restart() else print('after', rtcfifo.pop()) end" });
    const r = captured();
    await r.rt.run(dir);
    await r.waitFor("after\t500\t42\t1\tx\n");
    await r.rt.close();
  });
});
