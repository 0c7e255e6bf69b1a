// NodeMCU struct through the real Runtime: byte strings as the ESP8266 build packs them. The
// formats with explicit sizes and order give the bytes Lua 5.3's string.pack gives for the
// same layout (checked with lua5.3: "<i4", ">i2<i2", "<!4bi4", "<d", ">f", "<!8b d", "<z", ">I3").
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

const HEX = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ";

describe("NodeMCU struct", () => {
  let c: Captured;
  before(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  after(async () => {
    await c.rt.close();
  });

  const hex = (format: string, args: string) => run(c, `${HEX} return hex(struct.pack(${JSON.stringify(format)}, ${args}))`)[0];

  it("packs integers little-endian by default, in the order > and < ask for", () => {
    expect(hex("I", "0x41424344")).to.equal("44434241");
    expect(hex(">h<h", "1, -2")).to.equal("0001feff");
    expect(hex(">I3", "0x123456")).to.equal("123456");
    expect(hex("bBhHlLT", "-1, 255, -2, 65535, -3, 7, 9")).to.equal("ffff" + "feff" + "ffff" + "fdffffff" + "07000000" + "09000000");
  });

  it("integers wider than 4 bytes carry the 32-bit value with zero bytes above it, even when negative", () => {
    expect(hex("i8", "-1")).to.equal("ffffffff00000000");
    expect(hex(">i6", "258")).to.equal("000000000102");
  });

  it("aligns to !n, to 8 for a bare !, and never pads char strings", () => {
    expect(hex("!4bi", "1, 2")).to.equal("0100000002000000");
    expect(hex("!b d", "1, -0.25")).to.equal("0100000000000000000000000000d0bf");
    expect(hex("!4b c3 h", "1, 'xyz', 5")).to.equal("0178797a0500");
    expect(run(c, "return struct.size('!4bi'), struct.size('!d b d'), struct.size('!2b i'), struct.size('i3'), struct.size('c10x'), struct.size('zz')")).to.deep.equal([8, 24, 6, 3, 11, 0]);
  });

  it("packs floats and doubles in IEEE order, strings as s (NUL-ended) and cn (cut to n)", () => {
    expect(hex("d", "1.5")).to.equal("000000000000f83f");
    expect(hex(">f", "1.5")).to.equal("3fc00000");
    expect(hex("s", "'hi'")).to.equal("686900");
    expect(hex("c2", "'abc'")).to.equal("6162");
    expect(hex("Bc0", "3, 'abc'")).to.equal("03616263");
  });

  it("unpacks values and the next position; out-of-range integers come back as floats", () => {
    expect(run(c, "return struct.unpack('<I4', '\\255\\255\\255\\255')")).to.deep.equal([4294967295, 5]);
    expect(run(c, "return math.type((struct.unpack('<I4', '\\255\\255\\255\\255'))), math.type((struct.unpack('<i4', '\\255\\255\\255\\255')))")).to.deep.equal(["float", "integer"]);
    expect(run(c, "return struct.unpack('<i3', '\\255\\255\\255')")).to.deep.equal([-1, 4]);
    expect(run(c, "return struct.unpack('>H', '\\1\\2')")).to.deep.equal([258, 3]);
    expect(run(c, "return struct.unpack('Bc0', '\\3abcdef')")).to.deep.equal(["abc", 5]);
    expect(run(c, "return struct.unpack('s i', struct.pack('s i', 'hi', 7))")).to.deep.equal(["hi", 7, 8]);
    expect(run(c, "return struct.unpack('h', 'xx\\1\\0', 3)")).to.deep.equal([1, 5]);
    expect(run(c, "return struct.unpack('>d', struct.pack('>d', -2.75))")).to.deep.equal([-2.75, 9]);
  });

  it("raises struct.c's errors", () => {
    expect(errorOnLine1(c, "struct.pack('c5', 'ab')")).to.match(/bad argument #3 to '.*' \(string too short\)$/);
    expect(errorOnLine1(c, "struct.unpack('i', 'ab')")).to.match(/bad argument #2 to '.*' \(data string too short\)$/);
    expect(errorOnLine1(c, "struct.pack('z', 1)")).to.match(/bad argument #1 to '.*' \(invalid format option 'z'\)$/);
    expect(errorOnLine1(c, "struct.size('s')")).to.match(/\(option 's' has no fixed size\)$/);
    expect(errorOnLine1(c, "struct.size('c0')")).to.match(/\(option 'c0' has no fixed size\)$/);
    expect(errorOnLine1(c, "struct.pack('i40', 1)")).to.equal("(exec):1: integral size 40 is larger than limit of 32");
    expect(errorOnLine1(c, "struct.pack('!3i', 1)")).to.equal("(exec):1: alignment 3 is not a power of 2");
    expect(errorOnLine1(c, "struct.unpack('s', 'abc')")).to.equal("(exec):1: unfinished string in data");
    expect(errorOnLine1(c, "struct.unpack('c0', 'abc')")).to.equal("(exec):1: format `c0' needs a previous size");
    expect(errorOnLine1(c, "struct.pack('i')")).to.match(/bad argument #2 to '.*' \(number expected, got no value\)$/);
  });
});
