// The LuatOS data modules through the real Runtime: the string and io additions (with the
// /luadb/ flat view and the writable flash folder), fskv persistence, crypto digests,
// CRCs and ciphers, pack, zbuff and the iotauth signatures, each checked against values
// computed independently here with node:crypto or published check values.
import { expect } from "chai";
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeOptions } from "../main/index.js";
import { captured, startedIn, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import { errorOf, luaString, run } from "./support/lua.js";
import { tempDir } from "./support/temp.js";

function boot(files: Record<string, string | Uint8Array> = {}, options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
  return startedIn(files, { flavor: "luatos", ...options });
}

const hex = (bytes: Uint8Array | string): string => Buffer.from(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes).toString("hex").toUpperCase();

describe("LuatOS string additions", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await boot());
  });
  after(() => c.rt.close());

  it("toHex gives uppercase hex and the hex length, with an optional separator after each byte", () => {
    expect(run(c, 'return string.toHex("\\1\\2\\3")')).to.deep.equal(["010203", 6]);
    expect(run(c, 'return ("123abc"):toHex(" ")')).to.deep.equal(["31 32 33 61 62 63 ", 12]);
    expect(run(c, 'return ("\\0\\255"):toHex()')).to.deep.equal(["00FF", 4]);
  });

  it("fromHex reads pairs of digits in either case and skips separators", () => {
    expect(run(c, 'return string.fromHex("313233616263"), ("00ff7F"):fromHex(), string.fromHex("31 32:33"), #string.fromHex("")')).to.deep.equal(["123abc", "\u0000\u00ff\u007f", "123", 0]);
  });

  it("split drops empty pieces unless asked to keep them; the default separator is a comma", () => {
    expect(run(c, 'return string.split("123,456,789")')).to.deep.equal([["123", "456", "789"]]);
    expect(run(c, 'return ("/tmp//def/1234/"):split("/")')).to.deep.equal([["tmp", "def", "1234"]]);
    expect(run(c, 'return ("/tmp//def/1234/"):split("/", true)')).to.deep.equal([["", "tmp", "", "def", "1234", ""]]);
    expect(run(c, 'return ("a::b::c"):split("::"), #(""):split(",")')).to.deep.equal([["a", "b", "c"], 0]);
  });

  it("trim, startsWith and endsWith", () => {
    expect(run(c, 'local s = "\\r\\nabc\\r\\n" return s:trim(), #string.trim(s, false, true), #string.trim(s, true, false)')).to.deep.equal(["abc", 5, 5]);
    expect(run(c, 'return ("abc"):startsWith("a"), ("abc"):startsWith("b"), ("abc"):endsWith("bc"), ("abc"):endsWith("abcd")')).to.deep.equal([true, false, true, false]);
  });

  it("urlEncode in the PHP, RFC 3986 and custom modes", () => {
    expect(run(c, 'return string.urlEncode("123 abc+/"), string.urlEncode("123 abc+/", 1), string.urlEncode("123 abc+/", -1, 1, "/"), string.urlEncode("123 abc+/", -1, 0, "/ ")')).to.deep.equal([
      "123+abc%2B%2F",
      "123%20abc%2B%2F",
      "123%20abc%2B/",
      "123 abc%2B/",
    ]);
  });

  it("base64 and base32 in both directions, bytes exact; invalid base64 decodes to an empty string", () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 128, 10]);
    expect(run(c, `return string.toBase64(${luaString(bytes)})`)).to.deep.equal([bytes.toString("base64")]);
    expect(run(c, `return string.fromBase64(${luaString(bytes.toString("base64"))})`)).to.deep.equal([bytes.toString("latin1")]);
    expect(run(c, 'return string.fromBase64("a$b="), string.toBase32("12345678901234567890"), string.fromBase32("GEZDGNBVGY3TQOJQ")')).to.deep.equal(["", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "1234567890"]);
  });
});

describe("LuatOS io on /luadb/ and the flash folder", () => {
  it("reads project files through the flat view, byte-exact, and refuses to write them", async () => {
    const cert = Buffer.from([0x2d, 0x00, 0xff, 0x0a, 0x41]);
    const { c } = await boot({ "main.lua": "", "certs/ca.crt": cert });
    expect(run(c, 'local d = io.readFile("/luadb/ca.crt") return d, #d, io.exists("/luadb/ca.crt"), io.fileSize("/luadb/ca.crt")')).to.deep.equal([cert.toString("latin1"), 5, true, 5]);
    expect(run(c, 'return io.readFile("/luadb/ca.crt", "rb", 1, 2)')).to.deep.equal([cert.subarray(1, 3).toString("latin1")]);
    expect(run(c, 'return io.readFile("/luadb/none.txt"), io.exists("/luadb/none.txt"), io.fileSize("/luadb/none.txt")')).to.deep.equal([null, false, 0]);
    expect(run(c, 'return io.open("/luadb/ca.crt", "w")')).to.deep.equal([null, "/luadb/ca.crt: Read-only file system", 30]);
    expect(run(c, 'return io.writeFile("/luadb/ca.crt", "x")')).to.deep.equal([false]);
    expect(run(c, 'local f = io.open("/luadb/ca.crt", "rb") local a = f:read(2) local b = f:read("a") f:close() return a, b, io.type(f)')).to.deep.equal([
      cert.subarray(0, 2).toString("latin1"),
      cert.subarray(2).toString("latin1"),
      "closed file",
    ]);
    await c.rt.close();
  });

  it("writes to the flash folder (the fs option), with absolute and relative names", async () => {
    const fs = tempDir("flash");
    const { c } = await boot({ "main.lua": "" }, { fs });
    expect(run(c, 'return io.writeFile("/data.txt", "a\\0\\255"), io.writeFile("log.txt", "1"), io.writeFile("/log.txt", "2", "ab")')).to.deep.equal([true, true, true]);
    expect([...readFileSync(join(fs, "data.txt"))]).to.deep.equal([0x61, 0, 0xff]);
    expect(readFileSync(join(fs, "log.txt"), "latin1")).to.equal("12");
    expect(run(c, 'return io.readFile("data.txt"), io.fileSize("/data.txt")')).to.deep.equal(["a\u0000\u00ff", 3]);
    expect(run(c, 'return io.mkdir("/sub"), io.dexist("/sub"), io.writeFile("/sub/x.bin", "xyz"), io.readFile("/sub/x.bin")')).to.deep.equal([true, true, true, "xyz"]);
    const [ok, list] = run(c, 'return io.lsdir("/")') as [boolean, Array<{ name: string; type: number; size: number }>];
    expect(ok).to.equal(true);
    expect(list.map((e) => [e.name, e.type])).to.deep.include.members([["data.txt", 0], ["sub", 1]]);
    expect(run(c, 'return os.rename("/data.txt", "/sub/moved.txt"), io.exists("/data.txt"), os.remove("/sub/moved.txt"), os.remove("/sub/moved.txt")')).to.deep.equal([
      true, false, true, null, "/sub/moved.txt: No such file or directory", 2,
    ]);
    expect(existsSync(join(fs, "sub", "moved.txt"))).to.equal(false);
    await c.rt.close();
  });

  it("file objects: line reads, seek (both argument orders), append and lines()", async () => {
    const fs = tempDir("flash");
    const { c } = await boot({}, { fs });
    expect(run(c, `
      local f = assert(io.open("/t.txt", "w+"))
      f:write("one\\n", "two\\n", 3, "\\n")
      f:seek("set")
      local a, b = f:read("l", "L")
      local pos = f:seek("cur")
      f:seek(0, io.SEEK_SET)
      local all = f:read("*a")
      f:close()
      local g = io.open("/t.txt", "a") g:write("four") g:close()
      local lines = {}
      for line in io.lines("/t.txt") do lines[#lines + 1] = line end
      return a, b, pos, all, lines, io.type(g), tostring(g)`)).to.deep.equal(["one", "two\n", 8, "one\ntwo\n3\n", ["one", "two", "3", "four"], "closed file", "file (closed)"]);
    expect(run(c, 'local f = io.open("/t.txt") local n = f:read("n") f:close() return n, io.open("/missing.txt")')).to.deep.equal([null, null, "/missing.txt: No such file or directory", 2]);
    expect(errorOf(c, 'io.open("/t.txt", "rw")')).to.equal("(exec):2: bad argument #2 to 'open' (invalid mode)");
    await c.rt.close();
  });

  it("refuses paths that climb out of the device's roots, with a clear Lua error", async () => {
    const fs = tempDir("flash");
    const { c } = await boot({ "main.lua": "" }, { fs });
    expect(errorOf(c, 'io.readFile("../secret.txt")')).to.equal("(exec):2: path '../secret.txt' is outside the flash folder");
    expect(errorOf(c, 'io.open("/../../etc/passwd")')).to.equal("(exec):2: path '/../../etc/passwd' is outside the flash folder");
    expect(errorOf(c, 'io.writeFile("/luadb/../../x", "1")')).to.equal("(exec):2: path '/luadb/../../x' is outside the project directory");
    expect(errorOf(c, 'os.remove("/a/../../b")')).to.equal("(exec):2: path '/a/../../b' is outside the flash folder");
    // Inside the device's roots ".." is fine: /luadb/../x is /x in the flash folder.
    expect(run(c, 'return io.writeFile("/luadb/../x.txt", "ok"), io.readFile("/x.txt")')).to.deep.equal([true, "ok"]);
    expect(readFileSync(join(fs, "x.txt"), "latin1")).to.equal("ok");
    await c.rt.close();
  });

  it("an ambiguous /luadb/ name is an error naming both files", async () => {
    const { c } = await boot({ "a/cfg.json": "1", "b/cfg.json": "2" });
    expect(errorOf(c, 'io.readFile("/luadb/cfg.json")')).to.equal("(exec):2: 'cfg.json' is ambiguous in the flat project view: a/cfg.json and b/cfg.json");
    await c.rt.close();
  });
});

describe("LuatOS fskv", () => {
  it("stores typed values that survive a second runtime on the same flash folder", async () => {
    const fs = tempDir("flash");
    const first = await boot({}, { fs });
    expect(run(first.c, `
      local r = {fskv.init()}
      r[2] = fskv.set("s", "a\\0\\255")
      r[3] = fskv.set("i", 1234)
      r[4] = fskv.set("f", 1.5)
      r[5] = fskv.set("b", false)
      r[6] = fskv.set("t", {name = "wendal", age = 123})
      r[7] = fskv.set("nil", nil)
      r[8] = fskv.set("", 1)
      r[9] = fskv.kv_set("alias", "x")
      return r`)).to.deep.equal([[true, true, true, true, true, true, false, false, true]]);
    await first.c.rt.close();
    expect(existsSync(join(fs, ".fskv"))).to.equal(true);

    const second = await boot({}, { fs });
    expect(run(second.c, 'fskv.init() local t = fskv.get("t") return fskv.get("s"), fskv.get("i"), math.type(fskv.get("i")), fskv.get("f"), fskv.get("b"), t.name, t.age, fskv.get("t", "age"), fskv.kv_get("alias"), fskv.get("none")')).to.deep.equal([
      "a\u0000\u00ff", 1234, "integer", 1.5, false, "wendal", 123, 123, "x",
    ]);
    expect(run(second.c, 'local keys = {} local it = fskv.iter() while true do local k = fskv.next(it) if not k then break end keys[#keys + 1] = k end return keys, select(3, fskv.status()), select(2, fskv.status())')).to.deep.equal([["s", "i", "f", "b", "t", "alias"], 6, 65536, 6]);
    expect(run(second.c, 'return fskv.sett("t", "age", 7), fskv.get("t", "age"), fskv.del("s"), fskv.get("s"), fskv.clear(), select(3, fskv.status())')).to.deep.equal([true, 7, true, null, true, 0]);
    await second.c.rt.close();
  });

  it("keeps values across rtos.reboot()", async () => {
    const fs = tempDir("flash");
    const dir = makeProject({
      "main.lua": `
        fskv.init()
        local n = (fskv.get("boots") or 0) + 1
        fskv.set("boots", n)
        print("boot " .. n)
        if n < 3 then rtos.reboot() end`,
    });
    const c = captured({ flavor: "luatos", fs });
    await c.rt.run(join(dir, "main.lua"));
    await c.waitFor("boot 3");
    expect(c.stdout()).to.equal("boot 1\nboot 2\nboot 3\n");
    await c.rt.close();
  });

  it("floats are kept as 32-bit floats, as the firmware stores them", async () => {
    const { c } = await boot({}, { fs: tempDir("flash") });
    expect(run(c, 'fskv.init() fskv.set("pi", 3.14159) return fskv.get("pi")')).to.deep.equal([Math.fround(3.14159)]);
    await c.rt.close();
  });

  it("before init every call logs the firmware's error and returns nothing", async () => {
    const { c } = await boot({}, { fs: tempDir("flash") });
    expect(run(c, 'return select("#", fskv.get("a")), select("#", fskv.set("a", 1))')).to.deep.equal([0, 0]);
    expect(c.stdout()).to.match(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] E\/fskv call fskv\.init\(\) first!!!\n/);
    await c.rt.close();
  });
});

describe("LuatOS crypto", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await boot());
  });
  after(() => c.rt.close());

  const data = Buffer.from("abc\u0000\u00ff", "latin1");
  const key = Buffer.from("1234567890");

  it("digests and HMACs are uppercase hex", () => {
    const expected = ["md5", "sha1", "sha256", "sha512"].flatMap((algorithm) => [
      createHash(algorithm).update(data).digest("hex").toUpperCase(),
      createHmac(algorithm, key).update(data).digest("hex").toUpperCase(),
    ]);
    const d = luaString(data);
    expect(run(c, `local d, k = ${d}, "1234567890" return crypto.md5(d), crypto.hmac_md5(d, k), crypto.sha1(d), crypto.hmac_sha1(d, k), crypto.sha256(d), crypto.hmac_sha256(d, k), crypto.sha512(d), crypto.hmac_sha512(d, k)`)).to.deep.equal(expected);
    expect(run(c, 'return crypto.md("SHA256", "1234567890"), crypto.md("MD5", "1234567890", "123456"), crypto.md("NOPE", "x")')).to.deep.equal([
      createHash("sha256").update("1234567890").digest("hex").toUpperCase(),
      createHmac("md5", "123456").update("1234567890").digest("hex").toUpperCase(),
    ]);
    expect(run(c, 'local s = crypto.hash_init("SHA1", "k") crypto.hash_update(s, "ab") crypto.hash_update(s, "c") return crypto.hash_finish(s)')).to.deep.equal([createHmac("sha1", "k").update("abc").digest("hex").toUpperCase()]);
  });

  it("CRC-16 in every named model, against the published check values of \"123456789\"", () => {
    const models = ["IBM", "MAXIM", "USB", "MODBUS", "CCITT", "CCITT-FALSE", "X25", "XMODEM", "DNP"];
    const checks = [0xbb3d, 0x44c2, 0xb4c8, 0x4b37, 0x2189, 0x29b1, 0x906e, 0x31c3, 0xea82];
    const source = `local r = {} for i, m in ipairs(${JSON.stringify(models).replace("[", "{").replace("]", "}")}) do r[i] = crypto.crc16(m, "123456789") end return r`;
    expect(run(c, source)).to.deep.equal([checks]);
    expect(run(c, 'return crypto.crc16_modbus("123456789"), crypto.crc16("NOPE", "1"), crypto.crc16("USER-DEFINED", "123456789", 0x1021, 0xFFFF, 0, 0, 0)')).to.deep.equal([0x4b37, 0, 0x29b1]);
    expect(run(c, 'local b = zbuff.create(9, "123456789") b:seek(0) return crypto.crc16("MODBUS", b)')).to.deep.equal([0x4b37]);
  });

  it("CRC-32 (as 32-bit Lua integers, like hex literals), CRC-8, CRC-7 and checksum", () => {
    expect(run(c, 'local v = crypto.crc32("123456789") return string.format("%08X", v), v == 0xCBF43926')).to.deep.equal(["CBF43926", true]);
    // CRC-8/SMBUS, CRC-8/NRSC-5 (poly 0x31, init 0xFF) and CRC-8/MAXIM-DOW (0x31 reflected).
    expect(run(c, 'return crypto.crc8("123456789"), crypto.crc8("123456789", 0x31, 0xff, false), crypto.crc8("123456789", 0x31, 0, true)')).to.deep.equal([0xf4, 0xf7, 0xa1]);
    // CRC-7/MMC (poly 0x09, written 0x89 for the table) has the check value 0x75, shifted left.
    expect(run(c, 'return crypto.crc7("123456789", 0x89), crypto.checksum("OK"), crypto.checksum("OK", 1)')).to.deep.equal([0x75, 0x4f ^ 0x4b, 0x9a]);
  });

  it("base64, random bytes and TOTP (RFC 6238's SHA-1 vectors)", () => {
    expect(run(c, 'return crypto.base64_encode("123"), crypto.base64_decode("MTIz"), #crypto.trng(4), #crypto.trng(500), crypto.trng(0)')).to.deep.equal(["MTIz", "123", 4, 128]);
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    expect(run(c, `return crypto.totp("${secret}", 59), crypto.totp("${secret}", 1111111109), crypto.totp("${secret}", 2000000000)`)).to.deep.equal([287082, 81804, 279037]);
  });

  it("AES ECB/CBC with PKCS7 and ZERO padding, as the firmware pads", () => {
    const k = Buffer.from("1234567890123456");
    const iv = Buffer.from("1234567890666666");
    const raw = (mode: string, input: Buffer, ivv: Buffer | null) => {
      const cipher = createCipheriv(mode, k, ivv);
      cipher.setAutoPadding(false);
      return Buffer.concat([cipher.update(input), cipher.final()]);
    };
    const pkcs7 = (input: Buffer) => Buffer.concat([input, Buffer.alloc(16 - (input.length % 16), 16 - (input.length % 16))]);
    const zeros = (input: Buffer) => Buffer.concat([input, Buffer.alloc(16 - (input.length % 16))]);
    const text = Buffer.from("1234567890123456");
    const short = Buffer.from("hello");
    const [ecb, cbc, ecbZero, cbcZeroShort] = run(c, `
      local k, iv = "1234567890123456", "1234567890666666"
      return crypto.cipher_encrypt("AES-128-ECB", "PKCS7", k, k):toHex(),
             crypto.cipher_encrypt("AES-128-CBC", "PKCS7", k, k, iv):toHex(),
             crypto.cipher_encrypt("AES-128-ECB", "ZERO", k, k):toHex(),
             crypto.cipher_encrypt("AES-128-CBC", "ZERO", "hello", k, iv):toHex()`);
    expect(ecb).to.equal(hex(raw("aes-128-ecb", pkcs7(text), null)));
    expect(cbc).to.equal(hex(raw("aes-128-cbc", pkcs7(text), iv)));
    expect(ecbZero).to.equal(hex(raw("aes-128-ecb", zeros(text), null)));
    expect((ecbZero as string).length).to.equal(64);
    expect(cbcZeroShort).to.equal(hex(raw("aes-128-cbc", zeros(short), iv)));
    expect(run(c, `
      local k, iv = "1234567890123456", "1234567890666666"
      local a = crypto.cipher_decrypt("AES-128-ECB", "PKCS7", crypto.cipher_encrypt("AES-128-ECB", "PKCS7", "a\\0b", k), k)
      local b = crypto.cipher_decrypt("AES-128-CBC", "PKCS7", crypto.cipher_encrypt("AES-128-CBC", "PKCS7", "secret data", k, iv), k, iv)
      local z = crypto.cipher_decrypt("AES-128-CBC", "ZERO", crypto.cipher_encrypt("AES-128-CBC", "ZERO", "hello", k, iv), k, iv)
      return a, b, z, crypto.cipher_encrypt("AES-128-ECB", "PKCS7", "x", "short key"), crypto.cipher_encrypt("NOPE-1", "PKCS7", "x", k)`)).to.deep.equal(["a\u0000b", "secret data", "hello", null]);
    expect((run(c, "return crypto.cipher_list()")[0] as string[])).to.include.members(["AES-128-ECB", "AES-256-CBC"]);
  });
});

describe("LuatOS pack and zbuff", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await boot());
  });
  after(() => c.rt.close());

  it("pack.pack / pack.unpack with endianness, sizes, strings and floats", () => {
    expect(run(c, 'return pack.pack(">HIb", 0x1234, 0x56789ABC, 255):toHex(), pack.pack("<h", -2):toHex(), pack.pack("zpA", "ab", "cd", "ef"):toHex()')).to.deep.equal([
      "123456789ABCFF", "FEFF", "6162000263646566", 16,
    ]);
    expect(run(c, 'return pack.unpack(string.fromHex("123456789ABCFF"), ">HIb")')).to.deep.equal([8, 0x1234, 0x56789abc, 255]);
    expect(run(c, 'return pack.unpack(string.fromHex("FFFFFFFF80"), "<Ic")')).to.deep.equal([6, -1, -128]);
    expect(run(c, 'return pack.unpack(pack.pack(">fd", 1.5, -2.25), ">fd")')).to.deep.equal([13, 1.5, -2.25]);
    expect(run(c, 'return pack.unpack("xxab\\0cd", "zA2", 3)')).to.deep.equal([8, "ab", "cd"]);
    expect(run(c, 'return pack.unpack("\\1\\2", ">HH")')).to.deep.equal([3, 0x0102]);
    expect(errorOf(c, 'pack.pack("Q", 1)')).to.equal("(exec):2: bad argument #1 to 'pack' (bad code `Q')");
  });

  it("zbuff: write, seek, read, [i], #, toStr, typed reads and writes", () => {
    expect(run(c, `
      local b = zbuff.create(8)
      local n1 = b:write("ab")
      local n2 = b:write(0x31, 0x32)
      b[7] = 0x1FF
      local used = b:used()
      b:seek(0)
      local r = b:read(3)
      return n1, n2, used, r, b[3], b[7], b[8], #b, b:len(), b:toStr(0, 4), b:seek(-2, zbuff.SEEK_END)`)).to.deep.equal([2, 2, 4, "ab1", 0x32, 0xff, null, 8, 8, "ab12", 6]);
    expect(run(c, `
      local b = zbuff.create(16, 0)
      b:writeU16(0x1234) b:writeI8(-1) b:writeU32(0xA1B2C3D4) b:writeF32(1.5)
      b:seek(0)
      return b:readU16(), b:readI8(), b:readU32(), b:readF32(), b:toStr(0, 3):toHex()`)).to.deep.equal([0x1234, -1, 0xa1b2c3d4 | 0, 1.5, "3412FF", 6]);
    expect(run(c, 'return zbuff.create(4, "abcdef"):toStr(), zbuff.create(4, 0x41):toStr(), zbuff.create(0)')).to.deep.equal(["abcd", "AAAA"]);
  });

  it("zbuff: pack/unpack at the cursor, copy/del/query and resize", () => {
    expect(run(c, `
      local b = zbuff.create(12)
      local w = b:pack(">IHA", 0x01020304, 0x0506, "xyz")
      b:seek(0)
      local cnt, i, h, s = b:unpack(">IHA3")
      return w, cnt, i, h, s`)).to.deep.equal([9, 9, 0x01020304, 0x0506, "xyz"]);
    expect(run(c, `
      local b = zbuff.create(4)
      b:copy(nil, "hello")
      local grown = b:len()
      b:copy(0, 0x48)
      b:del(1, 2)
      return grown >= 5, b:used(), b:query(), b:query(0, 2, true), b:query(0, 1, false, true)`)).to.deep.equal([true, 3, "Hlo", 0x486c, 0x48]);
    expect(run(c, 'local b = zbuff.create(10, "123") b:resize(2) return b:len(), b:used(), b:toStr()')).to.deep.equal([2, 2, "12"]);
  });
});

describe("LuatOS iotauth", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await boot());
  });
  after(() => c.rt.close());

  it("aliyun: client id, user name and the HMAC password (uppercase), TCP and TLS", () => {
    const [pk, dn, ds, ts] = ["a1b2c3", "dev1", "SeCrEt", "1700000000"];
    const sign = (algorithm: string) => createHmac(algorithm, ds).update(`clientId${pk}.${dn}deviceName${dn}productKey${pk}timestamp${ts}`).digest("hex").toUpperCase();
    expect(run(c, `return iotauth.aliyun("${pk}", "${dn}", "${ds}", "hmacsha256", ${ts})`)).to.deep.equal([
      `${pk}.${dn}|securemode=3,signmethod=hmacsha256,timestamp=${ts}|`, `${dn}&${pk}`, sign("sha256"),
    ]);
    const farFuture = createHmac("md5", ds).update(`clientId${pk}.${dn}deviceName${dn}productKey${pk}timestamp32472115200`).digest("hex").toUpperCase();
    expect(run(c, `return iotauth.aliyun("${pk}", "${dn}", "${ds}")`)).to.deep.equal([`${pk}.${dn}|securemode=3,signmethod=hmacmd5,timestamp=32472115200|`, `${dn}&${pk}`, farFuture]);
    expect(run(c, `return iotauth.aliyun("${pk}", "${dn}", "${ds}", "HMACSHA1", ${ts}, true)`)[0]).to.equal(`${pk}.${dn}|securemode=2,signmethod=hmacsha1,timestamp=${ts}|`);
  });

  it("onenet: the token with its escaped res and sign", () => {
    const key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
    const res = "products/Ck2AF9QD2K/devices/test";
    const sign = createHmac("sha256", Buffer.from(key, "base64")).update(`1700000000\nsha256\n${res}\n2018-10-31`).digest("base64");
    const esc = (s: string) => s.replace(/%/g, "%25").replace(/\+/g, "%2B").replace(/\//g, "%2F").replace(/=/g, "%3D");
    expect(run(c, `return iotauth.onenet("Ck2AF9QD2K", "test", "${key}", "sha256", 1700000000)`)).to.deep.equal([
      "test", "Ck2AF9QD2K", `version=2018-10-31&res=${esc(res)}&et=1700000000&method=sha256&sign=${esc(sign)}`,
    ]);
    const md5 = createHmac("md5", Buffer.from(key, "base64")).update(`32472115200\nmd5\nproducts/123\n2018-10-31`).digest("base64");
    expect(run(c, `return iotauth.onenet("123", "dev", "${key}", nil, nil, nil, "products/123")`)[2]).to.equal(`version=2018-10-31&res=products%2F123&et=32472115200&method=md5&sign=${esc(md5)}`);
  });

  it("iotda: the hour-bound HMAC, in UTC+8 (the rtc zone), with and without a timestamp", () => {
    const hour = "2023111506";
    expect(run(c, 'return iotauth.iotda("6203cc94c7fb24029b110408_88888888", "123456789", 1700000000)')).to.deep.equal([
      `6203cc94c7fb24029b110408_88888888_0_1_${hour}`, "6203cc94c7fb24029b110408_88888888", createHmac("sha256", hour).update("123456789").digest("hex"),
    ]);
    expect(run(c, 'return iotauth.iotda("dev", "s")')).to.deep.equal(["dev_0_0_2999010100", "dev", createHmac("sha256", "2999010100").update("s").digest("hex")]);
  });

  it("qcloud: the user name with a random connection id, and its HMAC password", () => {
    const psk = "acyv3QDJrRa0fW5UE58KnQ==";
    const [clientId, user, password] = run(c, `return iotauth.qcloud("LD8S5J1L07", "test", "${psk}", "sha256", 1700000000)`) as string[];
    expect(clientId).to.equal("LD8S5J1L07test");
    expect(user).to.match(/^LD8S5J1L07test;12010126;[a-z]{5};1700000000$/);
    expect(password).to.equal(`${createHmac("sha256", Buffer.from(psk, "base64")).update(user as string).digest("hex")};hmacsha256`);
    const [, user1, password1] = run(c, `return iotauth.qcloud("P", "d", "${psk}", "sha1")`) as string[];
    expect(user1).to.match(/^Pd;12010126;[a-z]{5};32472115200$/);
    expect(password1).to.equal(`${createHmac("sha1", Buffer.from(psk, "base64")).update(user1 as string).digest("hex")};hmacsha1`);
  });

  it("tuya and baidu", () => {
    const content = "deviceId=6c95875d0f5ba69607nzfl,timestamp=1700000000,secureMode=1,accessType=1";
    expect(run(c, 'return iotauth.tuya("6c95875d0f5ba69607nzfl", "fb803786602df760", 1700000000)')).to.deep.equal([
      "tuyalink_6c95875d0f5ba69607nzfl",
      "6c95875d0f5ba69607nzfl|signMethod=hmacSha256,timestamp=1700000000,secureMode=1,accessType=1",
      createHmac("sha256", "fb803786602df760").update(content).digest("hex"),
    ]);
    expect(run(c, 'return iotauth.baidu("abcd123", "mydevice", "ImSeCrEt0I1M2jkl", "SHA256", 1700000000)')).to.deep.equal([
      "abcd123", "thingidp@abcd123|mydevice|1700000000|SHA256", createHash("sha256").update("mydevice&1700000000&SHA256ImSeCrEt0I1M2jkl").digest("hex"),
    ]);
    expect(run(c, 'return iotauth.baidu("abcd123", "mydevice", "ImSeCrEt0I1M2jkl")')).to.deep.equal([
      "abcd123", "thingidp@abcd123|mydevice|MD5", createHash("md5").update("mydevice&0&MD5ImSeCrEt0I1M2jkl").digest("hex"),
    ]);
  });
});

describe("LuatOS crypto.md_file and fota on device paths", () => {
  it("hashes a /luadb/ file and accepts a firmware file without applying it", async () => {
    const { c } = await boot({ "fw/update.bin": "firmware" });
    expect(run(c, 'return crypto.md_file("MD5", "/luadb/update.bin"), crypto.md_file("SHA256", "/luadb/none.bin")')).to.deep.equal([createHash("md5").update("firmware").digest("hex").toUpperCase()]);
    expect(run(c, 'return fota.init(), fota.file("/luadb/update.bin")')).to.deep.equal([true, true, true, 0]);
    expect(c.stderr()).to.equal("moonrig: fota: firmware updates are accepted but not applied on a PC\n");
    await c.rt.close();
  });
});
