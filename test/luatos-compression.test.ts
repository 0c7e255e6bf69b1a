// LuatOS fastlz and miniz through the real Runtime. fastlz's expected bytes come from the C
// FastLZ library the firmware ships (built for a 32-bit target, run on these inputs);
// miniz's inputs were made by zlib and Python's zipfile, so both directions meet a real peer.
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { inflateSync, inflateRawSync } from "node:zlib";
import { expect } from "chai";
import { startedIn, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";

const TEXT = "abcd1234567890efghijklmnopqrstuvwxyz".repeat(3);
const LEVEL1 = "1f616263643132333435363738393065666768696a6b6c6d6e6f70717273747576037778797ae03a2304767778797a";
// Text, 12000 bytes of a counter pattern, the text again (12030 bytes back: a level-2 far match), a run.
const FAR_INPUT = `local t = {} for i = 0, 11999 do t[#t + 1] = string.char((i * 31 + (i >> 8)) & 0xff) end
  far = "The quick brown fox jumps over" .. table.concat(t) .. "The quick brown fox jumps over" .. string.rep("*", 600)`;
const sha256 = (latin1: unknown): string => createHash("sha256").update(Buffer.from(latin1 as string, "latin1")).digest("hex");
const hexOf = (latin1: unknown): string => Buffer.from(latin1 as string, "latin1").toString("hex");

const APP_ZIP = "504b030414000000000000002100000000000000000000000000040000006170702f504b03041400000008004f07885d1d83b3b517000000900000000c0000006170702f6d61696e2e6c75612b28cacc2bd1502fcdabca2c28484d51d7542818501100504b03041400000000004f07885d738c052900010000000100000e0000006170702f646174612f622e62696e" +
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex") +
  "504b01021403140000000000000021000000000000000000000000000400000000000000000000008001000000006170702f504b010214031400000008004f07885d1d83b3b517000000900000000c00000000000000000000008001220000006170702f6d61696e2e6c7561504b010214031400000000004f07885d738c052900010000000100000e00000000000000000000008001630000006170702f646174612f622e62696e504b05060000000003000300a80000008f0100000000";
const EVIL_ZIP = "504b03041400000000004f07885d9254a9be0400000004000000060000006f6b2e74787466696e65504b03041400000000004f07885dfb392b8203000000030000000b0000002e2e2f6576696c2e747874626164504b010214031400000000004f07885d9254a9be04000000040000000600000000000000000000008001000000006f6b2e747874504b010214031400000000004f07885dfb392b8203000000030000000b00000000000000000000008001280000002e2e2f6576696c2e747874504b050600000000020002006d000000540000000000";

describe("LuatOS fastlz", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await startedIn({}, { flavor: "luatos" }));
  });
  after(async () => {
    await c.rt.close();
  });

  it("compresses byte for byte as the firmware's FastLZ does, level 2 marked in the first byte", () => {
    expect(run(c, `return fastlz.compress("${TEXT}"):toHex():lower()`)).to.deep.equal([LEVEL1]);
    expect(run(c, `return fastlz.compress("${TEXT}", 2):toHex():lower()`)).to.deep.equal([`3f${LEVEL1.slice(2)}`]);
  });

  it("matches the library on a long input with far matches, and each level reads the library's output", () => {
    run(c, FAR_INPUT);
    const [c1, c2] = run(c, "return fastlz.compress(far, 1), fastlz.compress(far, 2)");
    expect([(c1 as string).length, sha256(c1)]).to.deep.equal([714, "9fbddb849519454f2cac23a99f2b567d1990dd0f0e15856329b584cea897e4a2"]);
    expect([(c2 as string).length, sha256(c2)]).to.deep.equal([626, "ce70f0f6e19f30261d8a98564f0d72695d2a8be12a44bb7ae2e688888dc19ae4"]);
    expect(run(c, "return fastlz.uncompress(fastlz.compress(far, 1), #far) == far, fastlz.uncompress(fastlz.compress(far, 2), #far) == far")).to.deep.equal([true, true]);
  });

  it("answers nothing for empty input, an unknown level, corrupt data or output beyond maxout (default 4096)", () => {
    run(c, FAR_INPUT);
    expect(run(c, `return select('#', fastlz.compress("")), select('#', fastlz.compress("abc", 3)), select('#', fastlz.uncompress("\\1\\2\\3\\4\\5", 1024))`)).to.deep.equal([0, 0, 0]);
    expect(run(c, "return select('#', fastlz.uncompress(fastlz.compress(far))), select('#', fastlz.uncompress(fastlz.compress(far), #far - 1))")).to.deep.equal([0, 0]);
    expect(run(c, `return fastlz.uncompress(fastlz.compress("${TEXT}"))`)).to.deep.equal([TEXT]);
    expect(run(c, `return fastlz.uncompress("\\0x")`)).to.deep.equal(["x"]);
  });
});

describe("LuatOS miniz", () => {
  let c: Captured;
  let dir: string;
  before(async () => {
    ({ c, dir } = await startedIn({ "app.zip": Buffer.from(APP_ZIP, "hex"), "evil.zip": Buffer.from(EVIL_ZIP, "hex") }, { flavor: "luatos" }));
  });
  after(async () => {
    await c.rt.close();
  });

  it("compresses to a zlib stream by default (Huffman coding only, as miniz's default flags ask) that zlib reads", () => {
    const [data] = run(c, "return miniz.compress(string.rep('ABCDE', 100))");
    const bytes = Buffer.from(data as string, "latin1");
    expect(bytes.subarray(0, 2).toString("hex")).to.equal("7801");
    expect(inflateSync(bytes).toString()).to.equal("ABCDE".repeat(100));
    expect(bytes.length).to.be.lessThan(500);
    const [raw] = run(c, "return miniz.compress('raw bytes', miniz.COMPUTE_ADLER32)");
    expect(inflateRawSync(Buffer.from(raw as string, "latin1")).toString()).to.equal("raw bytes");
  });

  it("uncompresses zlib and raw deflate made by zlib", () => {
    expect(run(c, "return miniz.uncompress(('7801cbcdcfcf2bca4c57c8cdcccbac52c8c5cd53040061801028'):fromHex())")).to.deep.equal(["moonrig miniz moonrig miniz moonrig miniz!"]);
    expect(run(c, "return miniz.uncompress(('2b4a2c5748494dcb492c495528c2ce0600'):fromHex(), 0)")).to.deep.equal(["raw deflate raw deflate raw deflate"]);
    expect(run(c, "return miniz.uncompress(miniz.compress('x', miniz.FORCE_ALL_RAW_BLOCKS + miniz.WRITE_ZLIB_HEADER)), miniz.uncompress(miniz.compress(''))")).to.deep.equal(["x", ""]);
  });

  it("answers nothing with the firmware's log line for bad data and inputs over 32 KiB", () => {
    expect(run(c, "return select('#', miniz.uncompress('not a zlib stream')), select('#', miniz.compress(string.rep('a', 32769)))")).to.deep.equal([0, 0]);
    expect(c.stdout()).to.match(/\] W\/miniz decompress fail\n.*\] E\/miniz only 32k data is allow\n$/);
  });

  it("has the firmware's flag constants", () => {
    expect(run(c, "return miniz.WRITE_ZLIB_HEADER, miniz.COMPUTE_ADLER32, miniz.GREEDY_PARSING_FLAG, miniz.RLE_MATCHES, miniz.FORCE_ALL_RAW_BLOCKS, miniz.PARSE_ZLIB_HEADER, miniz.HAS_MORE_INPUT")).to.deep.equal([0x1000, 0x2000, 0x4000, 0x10000, 0x80000, 1, 2]);
  });

  it("unzip extracts stored and deflated entries with their folders into the flash folder", () => {
    expect(run(c, "return miniz.unzip('/luadb/app.zip', '/out/')")).to.deep.equal([true]);
    expect(readFileSync(join(dir, "out/app/main.lua"), "utf8")).to.equal("print('unzipped') ".repeat(8));
    expect(readFileSync(join(dir, "out/app/data/b.bin")).toString("hex")).to.equal(Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex"));
    expect(hexOf(run(c, "return io.readFile('/out/app/data/b.bin'):sub(1, 4)")[0])).to.equal("00010203");
  });

  it("unzip refuses a target without a trailing slash and entries that climb out, extracting the rest", () => {
    expect(run(c, "return miniz.unzip('/luadb/app.zip', '/nope')")).to.deep.equal([false]);
    expect(run(c, "return miniz.unzip('/luadb/evil.zip', '/safe/')")).to.deep.equal([false]);
    expect(readFileSync(join(dir, "safe/ok.txt"), "utf8")).to.equal("fine");
    expect(existsSync(join(dir, "evil.txt"))).to.equal(false);
    expect(c.stdout()).to.contain("E/miniz target_dir must end with '/': /nope\n");
    expect(c.stdout()).to.contain("E/miniz Unsafe ZIP entry path: ../evil.txt\n");
  });
});
