// LuatOS modules and behaviours matched to the firmware's sources (issue 20): hmeta, bit,
// bit64, xxtea, fs, os.time/os.date, rtc checks, crypto's GCM/DES/padding/CRCs, pack's
// 'A<n>' and 64-bit codes, iotauth defaults. Expected values are computed independently
// (node:crypto, published vectors) or worked out by hand from the firmware's C code.
import { expect } from "chai";
import { createCipheriv } from "node:crypto";
import { startedIn, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";

const hex = (text: string): string => Buffer.from(text, "latin1").toString("hex").toUpperCase();

describe("LuatOS fidelity: identity, bit and bit64", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await startedIn({}, { flavor: "luatos", device: { hwver: "B2" } }));
  });
  after(() => c.rt.close());

  it("hmeta names an Air780E unless the device file says otherwise; unique_id is mcu's", () => {
    expect(run(c, "return hmeta.model(), hmeta.hwver(), hmeta.chip(), hmeta.unique_id() == mcu.unique_id(), hmeta.muid() == mobile.muid()")).to.deep.equal(["Air780E", "B2", "EC618", true, true]);
  });

  it("rtos.version(true) adds the type number and the 32-bit integer width", () => {
    expect(run(c, "return select('#', rtos.version()), select(2, rtos.version(true))")).to.deep.equal([1, 0, 32]);
  });

  it("bit is bit32 plus eLua's bit/set/clear/isset/isclear, results as 32-bit integers", () => {
    expect(run(c, "return bit == bit32, bit.set(0x7FFFFFC0, 5), bit.bit(31), bit.bnot(0), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.lrotate(0x80000001, 1)")).to.deep.equal([false, 0x7fffffe0, -2147483648, -1, 15, -4, 3]);
    expect(run(c, "return bit.isset(5, 2), bit.isclear(5, 1), bit.clear(7, 0, 2), bit.extract(0xF0, 4, 4), bit.replace(0, 3, 8, 2), bit.bit(32)")).to.deep.equal([true, true, 2, 15, 0x300, 0]);
    expect(() => run(c, "return bit.extract(1, 30, 4)")).to.throw("trying to access non-existent bits");
  });

  it("bit64 keeps 9-byte values and computes as a 32-bit build does", () => {
    expect(run(c, 'return bit64.to32(string.fromHex("40E201000000000000")), bit64.to64(-1):toHex(), bit64.to32(bit64.to64(-12345678))')).to.deep.equal([123456, "FFFFFFFF0000000000", -12345678]);
    expect(run(c, "return bit64.show(bit64.multi(bit64.to64(87654321), bit64.to64(12345678))), bit64.show(bit64.to64(-123456), 10, true), bit64.show(bit64.to64(-1), 10, false)")).to.deep.equal(["1082152022374638", "4294843840", "4294967295"]);
    expect(run(c, "return bit64.show(bit64.plus(bit64.to64(87654321), -12345678)), bit64.show(bit64.pide(bit64.to64(87654321), -12345678, true)), bit64.show(bit64.plus(bit64.to64(1.5), 2)), bit64.show(bit64.multi(bit64.to64(876.326), bit64.to64(123), nil, true))")).to.deep.equal(["75308643", "0", "3.500000", "107788"]);
    expect(run(c, 'return bit64.show(bit64.shift(bit64.to64(12345678), 5, true)), bit64.show(bit64.strtoll("12345", 16)), bit64.show(bit64.strtoll("0x1F", 0)), bit64.show(bit64.strtoll("***", 10)), bit64.show(bit64.to64(255), 16)')).to.deep.equal(["395061696", "74565", "31", "0", "0xff"]);
    expect(run(c, 'return bit64.show("short"), bit64.plus("short", 1):toHex()')).to.deep.equal([null, "000000000000000000", 18]);
    expect(() => run(c, "return bit64.pide(bit64.to64(1), 0)")).to.throw("bit64: division by zero");
  });
});

describe("LuatOS fidelity: modules without their hardware, and unpack", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await startedIn({}, { flavor: "luatos" }));
  });
  after(() => c.rt.close());

  it("pwm accepts its channels; audio, i2s, sfud and iconv answer as a board without them", () => {
    expect(run(c, 'return pwm.open(5, 1000, 50), pwm.setDuty(5, 20), pwm.capture(5, 1000), audio.play(0, "/a.mp3"), audio.isEnd(0), i2s.setup(0), sfud.init(), sfud.getDeviceNum(), iconv.open("ucs2", "utf8")')).to.deep.equal([true, true, false, false, true, false, false, 0, null]);
    expect(() => run(c, "return pwm.open()")).to.throw("bad argument #1 to 'open'");
  });

  it("errDump keeps records for dump, which answers true when there was nothing", () => {
    expect(run(c, 'errDump.record("boom") local b = zbuff.create(16) local first = errDump.dump(b, 0, true) return first, b:query(0, b:used()), errDump.dump(b)')).to.deep.equal([false, "boom", true]);
  });

  it("unpack is table.unpack", () => {
    expect(run(c, "return unpack == table.unpack, unpack({1, 2, 3})")).to.deep.equal([true, 1, 2, 3]);
  });
});

describe("LuatOS fidelity: xxtea, fs, time", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await startedIn({}, { flavor: "luatos" }));
  });
  after(() => c.rt.close());

  it("xxtea matches the reference library's vector and round-trips; empty input gives nothing", () => {
    expect(run(c, 'local e = xxtea.encrypt("Hello World! \\228\\189\\160\\229\\165\\189", "1234567890") return #e, xxtea.decrypt(e, "1234567890"), select("#", xxtea.encrypt("", "k")), select("#", xxtea.decrypt("abcd", "k"))')).to.deep.equal([24, "Hello World! \u00e4\u00bd\u00a0\u00e5\u00a5\u00bd", 0, 0]);
    expect(run(c, 'return crypto.base64_encode(xxtea.encrypt("Hello World! \\228\\189\\160\\229\\165\\189\\239\\188\\140\\228\\184\\173\\229\\155\\189\\239\\188\\129", "1234567890"))')).to.deep.equal(["QncB1C0rHQoZ1eRiPM4dsZtRi9pNrp7sqvX76cFXvrrIHXL6"]);
  });

  it("fs is the io table; fsize answers 0 for a missing file or a directory", () => {
    expect(run(c, 'io.writeFile("/f.txt", "abc") return fs == io, fs.fsize("/f.txt"), fs.fsize("/none"), fs.fsize("/"), (fs.fsstat())')).to.deep.equal([true, 3, 0, 0, true]);
  });

  it("os.time reads a date table as UTC and takes mon; os.date formats in the rtc zone", () => {
    expect(run(c, 'local t = {year=2023, mon=1, day=1, hour=8} local s = os.time(t) return s, t.month, t.isdst, os.date("%Y-%m-%d %H:%M:%S", s), os.date("!%H", s)')).to.deep.equal([1672560000, 1, false, "2023-01-01 16:00:00", "08"]);
    expect(run(c, 'local d = os.date("*t", 0) return d.hour, d.isdst, d.yday, os.date("!*t", 0).hour')).to.deep.equal([8, false, 1, 0]);
    expect(() => run(c, "return os.time({year=2038, mon=1, day=19, hour=3, min=14, sec=8})")).to.throw("time result cannot be represented in this installation");
    expect(run(c, 'rtc.timezone(-16) local h = os.date("%H", 0) rtc.timezone(32) return h')).to.deep.equal(["20"]);
  });

  it("rtc refuses bad timestamps, dates and zones as the firmware does", () => {
    expect(run(c, 'return rtc.set(-5), rtc.set(0), rtc.set(1.5), rtc.set({year=2025, mon=2, day=29, hour=0, min=0, sec=0}), select("#", rtc.set({year=2025})), rtc.timezone(52), rtc.timezone(2), rtc.timezone()')).to.deep.equal([false, false, false, false, 0, false, false, 32]);
    expect(() => run(c, "rtc.setBaseYear(-100)")).to.throw("invalid base year");
    expect(run(c, "return adc.ADC_RANGE_3_8, adc.ADC_RANGE_MAX, adc.ADC_RANGE_MIN, adc.ADC_RANGE_3_6")).to.deep.equal([8, 14, 0, 1]);
    expect(run(c, "return mcu.KEYBORAD, mcu.ETH, mcu.SDIO, (pcall(mcu.hardfault, 'x')), (pcall(mcu.hardfault, 1))")).to.deep.equal([11, 12, 7, false, true]);
  });
});

describe("LuatOS fidelity: crypto, pack and iotauth", () => {
  let c: Captured;
  before(async () => {
    ({ c } = await startedIn({}, { flavor: "luatos" }));
  });
  after(() => c.rt.close());

  it("AES-GCM authenticates the firmware's fixed additional data and returns a 16-byte tag", () => {
    const cipher = createCipheriv("aes-128-gcm", "0123456789abcdef", "abcdef9876543210");
    cipher.setAAD(Buffer.from("1234567890123456"));
    const body = Buffer.concat([cipher.update("hello gcm"), cipher.final()]).toString("hex").toUpperCase();
    const tag = cipher.getAuthTag().toString("hex").toUpperCase();
    expect(run(c, 'local e, t = crypto.cipher_encrypt("AES-128-GCM", "NONE", "hello gcm", "0123456789abcdef", "abcdef9876543210") return e:toHex(), t:toHex(), crypto.cipher_decrypt("AES-128-GCM", "NONE", e, "0123456789abcdef", "abcdef9876543210")')).to.deep.equal([body, tag, "hello gcm"]);
  });

  it("DES and DES-EDE run through three-key DES; ECB pads and strips ZEROS_AND_LEN itself", () => {
    expect(run(c, 'return crypto.cipher_encrypt("DES-CBC", "ONE_AND_ZEROS", "12345678", "81bytesk", "81bytesiv"):toHex()')).to.deep.equal(["8A053F57D3F36640860022831BD176F1", 32]);
    const ede3 = createCipheriv("des-ede3", Buffer.from("12345678".repeat(3)), null).update(Buffer.from("TestDES!\x08\x08\x08\x08\x08\x08\x08\x08", "latin1"));
    expect(run(c, 'local e = crypto.cipher_encrypt("DES-ECB", "PKCS7", "TestDES!", "12345678") return e:toHex(), crypto.cipher_decrypt("DES-ECB", "PKCS7", e, "12345678"), select("#", crypto.cipher_encrypt("DES-ECB", "PKCS7", "x", "short"))')).to.deep.equal([ede3.toString("hex").toUpperCase(), "TestDES!", 0]);
    expect(run(c, 'local k = "1234567890123456" local e = crypto.cipher_encrypt("AES-128-ECB", "ZEROS_AND_LEN", "TestZerosLen", k) return #e, crypto.cipher_decrypt("AES-128-ECB", "ZEROS_AND_LEN", e, k), crypto.cipher_decrypt("AES-128-ECB", "NONE", e, k):toHex()')).to.deep.equal([16, "TestZerosLen", hex("TestZerosLen") + "00000004", 32]);
  });

  it("crc16 USER-DEFINED with MODBUS's parameters equals MODBUS; crc7 stays in 7 bits", () => {
    expect(run(c, 'return crypto.crc16("MODBUS", "123456789"), crypto.crc16("USER-DEFINED", "123456789", 0x8005, 0xFFFF, 0, 1, 0), crypto.crc7("hello", 0x09, 0), crypto.crc7("hello", 0xe5, 0)')).to.deep.equal([0x4b37, 0x4b37, 0x22, 0x40]);
  });

  it("cipher_suites lists mbedtls's suites", () => {
    expect(run(c, "local n = 0 for _, s in ipairs(crypto.cipher_suites()) do if s == 'TLS-RSA-PSK-WITH-AES-128-CBC-SHA' or s == 'TLS-ECDHE-ECDSA-WITH-AES-256-CCM-8' then n = n + 1 end end return n")).to.deep.equal([2]);
  });

  it("pack 'A<n>' writes exactly n bytes and 'l'/'L' are 64-bit", () => {
    expect(run(c, 'return pack.pack("A3>HA5", "ABCD", 258, "XY"):toHex(), pack.pack("<l", -2):toHex(), pack.unpack("1234567890", ">L")')).to.deep.equal(["41424301025859000000", "FEFFFFFFFFFFFFFF", 9, 0x35363738]);
  });

  it("zbuff: 64-bit reads keep the low 32 bits, query returns odd widths as bytes, toStr refuses negative offsets", () => {
    expect(run(c, 'local b = zbuff.create(16) b:writeU64(-1) b:write(0x12, 0x34, 0x56) local q3, q2 = b:query(8, 3, true), b:query(8, 2, true) b:seek(0) return b:readU64(), q3, q2, b:toStr(-5, 5), b:toStr(0, -1)')).to.deep.equal([-1, "\u00124V", 0x1234, "", ""]);
  });

  it("iotauth: iotda and tuya far-future defaults, iotda's hour in UTC+8, onenet refusing an unknown method", () => {
    expect(run(c, 'local a = iotauth.iotda("dev", "secret") local b = iotauth.iotda("dev", "secret", 1700000000) local _, u = iotauth.tuya("id", "s") return a, b, u, iotauth.onenet("p", "d", "a2V5", "crc32")')).to.deep.equal(["dev_0_0_2999010100", "dev_0_1_2023111506", "id|signMethod=hmacSha256,timestamp=7258089600,secureMode=1,accessType=1", "", "", ""]);
  });
});
