// LuatOS gmssl through the real Runtime: the standards' published examples (GB/T 32905 SM3,
// GB/T 32907 SM4, GB/T 32918 SM2 signature and encryption with their fixed k), the firmware's
// output layouts and paddings, and its answers for bad input.
import { createHash } from "node:crypto";
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { run, errorOnLine1 } from "./support/lua.js";
import { encrypt, multiply, G, signedDigest, sign } from "../bindings/luatos/gmssl.js";

const hexOf = (latin1: unknown): string => Buffer.from(latin1 as string, "latin1").toString("hex");
// GB/T 32918 (GM/T 0003) examples on sm2p256v1.
const D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8";
const PX = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020";
const PY = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13";
const K = 0x59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21n;
const SIG_R = "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3";
const SIG_S = "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa";
const C1 = "04ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0";
const C3 = "59983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766";
const C2 = "21886ca989ca9c7d58087307ca93092d651efa";

const sm3 = (data: Buffer): Buffer => createHash("sm3").update(data).digest();
function hmacSm3(key: Buffer, data: Buffer): Buffer {
  const k = Buffer.alloc(64);
  (key.length > 64 ? sm3(key) : key).copy(k);
  const pad = (b: number): Buffer => Buffer.from(k.map((x) => x ^ b));
  return sm3(Buffer.concat([pad(0x5c), sm3(Buffer.concat([pad(0x36), data]))]));
}

describe("LuatOS gmssl", function () {
  this.timeout(20000);
  let c: Captured;
  before(async () => {
    c = await started({ flavor: "luatos" });
  });
  after(async () => {
    await c.rt.close();
  });

  it("sm3 gives GB/T 32905's digests, sm3update is the same function, empty input answers nil", () => {
    expect(run(c, `return gmssl.sm3("abc"):toHex(), gmssl.sm3update(string.rep("abcd", 16)):toHex(), gmssl.sm3(""), gmssl.sm3 == gmssl.sm3update`)).to.deep.equal([
      "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0",
      "DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732",
      null,
      true,
    ]);
  });

  it("sm3hmac(data, key) is HMAC-SM3 (RFC 2104 over SM3, long keys hashed first); an empty key or data answers nil", () => {
    const long = Buffer.alloc(100, 0xa5);
    expect(run(c, `return gmssl.sm3hmac("lqlq666lqlq946", "123"), gmssl.sm3hmac("\\0\\1\\2", string.rep("\\165", 100)), gmssl.sm3hmac("x", ""), gmssl.sm3hmac("", "k")`).map((v) => (v === null ? null : hexOf(v)))).to.deep.equal([
      hmacSm3(Buffer.from("123"), Buffer.from("lqlq666lqlq946")).toString("hex"),
      hmacSm3(long, Buffer.from([0, 1, 2])).toString("hex"),
      null,
      null,
    ]);
  });

  it("sm4 ECB encrypts GB/T 32907's example block, and decrypts it back", () => {
    const key = "\\x01\\x23\\x45\\x67\\x89\\xab\\xcd\\xef\\xfe\\xdc\\xba\\x98\\x76\\x54\\x32\\x10";
    expect(run(c, `local k = "${key}" local e = gmssl.sm4encrypt("ECB", "NONE", k, k) return e:toHex(), gmssl.sm4decrypt("ECB", "NONE", e, k) == k`)).to.deep.equal(["681EDF34D206965E86B3E94F536E4246", true]);
  });

  it("pads as the firmware does: PKCS5/7 and ZERO add a whole block to full blocks; ZERO with fewer than 6 zeros decrypts to nil", () => {
    const [ecb, cbc, zero, full] = run(c, `
      local k, iv = "1234567890123456", "1234567890666666"
      return gmssl.sm4encrypt("ECB", "PKCS7", "SM4 ECB Pkcs5Padding test", k),
        gmssl.sm4encrypt("CBC", "PKCS5", "SM4 CBC Pkcs5Padding test", k, iv),
        gmssl.sm4encrypt("ECB", "ZERO", "0123456789", k),
        gmssl.sm4encrypt("ECB", "PKCS5", string.rep("a", 16), k)`);
    expect([hexOf(ecb).length, hexOf(cbc).length, hexOf(zero).length, hexOf(full).length]).to.deep.equal([64, 64, 32, 64]);
    expect(run(c, `
      local k, iv = "1234567890123456", "1234567890666666"
      local bin = "a\\0b\\255" .. string.rep("\\0", 3)
      return gmssl.sm4decrypt("ECB", "PKCS7", gmssl.sm4encrypt("ECB", "PKCS7", "SM4 ECB Pkcs5Padding test", k), k),
        gmssl.sm4decrypt("CBC", "PKCS5", gmssl.sm4encrypt("CBC", "PKCS5", bin, k, iv), k, iv) == bin,
        gmssl.sm4decrypt("ECB", "ZERO", gmssl.sm4encrypt("ECB", "ZERO", "0123456789", k), k),
        gmssl.sm4decrypt("ECB", "ZERO", gmssl.sm4encrypt("ECB", "ZERO", "0123456789abc", k), k),
        gmssl.sm4decrypt("ECB", "PKCS5", gmssl.sm4encrypt("ECB", "NONE", string.rep("a", 16), k), k),
        (gmssl.sm4decrypt("CBC", "NONE", gmssl.sm4encrypt("CBC", "PKCS5", "ab", k, iv), k, iv):toHex())`)).to.deep.equal([
      "SM4 ECB Pkcs5Padding test", true, "0123456789", null, null, `6162${"0E".repeat(14)}`,
    ]);
  });

  it("sm4 raises the firmware's errors for bad key, mode, padding, IV and length; empty data answers nil", () => {
    expect(errorOnLine1(c, `gmssl.sm4encrypt("ECB", "NONE", "abc", "short")`)).to.equal("(exec):1: invalid password length=5, only support 128bit Password");
    expect(errorOnLine1(c, `gmssl.sm4encrypt("CTR", "NONE", "abc", "1234567890123456")`)).to.equal("(exec):1: invalid mode=CTR, only support ECB,CBC");
    expect(errorOnLine1(c, `gmssl.sm4encrypt("ECB", "ANSI", "abc", "1234567890123456")`)).to.equal("(exec):1: invalid padding=ANSI, only support NONE,PKCS5,PKCS7,ZERO");
    expect(errorOnLine1(c, `gmssl.sm4encrypt("CBC", "ZERO", "abc", "1234567890123456")`)).to.equal("(exec):1: invalid iv length=0, only support 128bit IV");
    expect(errorOnLine1(c, `gmssl.sm4encrypt("ECB", "NONE", "abc", "1234567890123456")`)).to.equal("(exec):1: buf len should be multiple of 16, len=3");
    expect(errorOnLine1(c, `gmssl.sm4decrypt("ECB", "NONE", "abc", "1234567890123456")`)).to.equal("(exec):1: invalid BufLen length=3, BufLen must be Integer multiples of 16");
    expect(errorOnLine1(c, `gmssl.sm4decrypt("CTR", "NONE", "abc", "1234567890123456")`)).to.equal("(exec):1: invalid mode=CTR, only support ECB,CBC,CTR");
    expect(errorOnLine1(c, `gmssl.sm4decrypt("CBC", "NONE", string.rep("x", 16), "1234567890123456", "iv")`)).to.equal("(exec):1: invalid iv length=2, only support 16");
    expect(errorOnLine1(c, `gmssl.sm4encrypt(nil, "NONE", "abc", "k")`)).to.equal("(exec):1: bad argument #1 to 'sm4encrypt' (string expected, got nil)");
    expect(run(c, `return gmssl.sm4encrypt("ECB", "NONE", "", "k"), gmssl.sm4decrypt("XX", "NONE", "", "k")`)).to.deep.equal([null, null]);
  });

  it("derives GB/T 32918's public key and verifies its signature with the default id; a changed byte fails", () => {
    expect(run(c, `return gmssl.sm2pointmul("${D}", "${G.x.toString(16).toUpperCase().padStart(64, "0")}", "${G.y.toString(16).toUpperCase()}")`)).to.deep.equal([PX, PY]);
    const sig = `fromHex("${SIG_R}${SIG_S}")`;
    expect(run(c, `local sig = string.${sig} return gmssl.sm2verify("${PX}", "${PY}", "message digest", nil, sig),
      gmssl.sm2verify("${PX}", "${PY}", "message digest", "1234567812345678", sig),
      gmssl.sm2verify("${PX}", "${PY}", "message digesT", nil, sig),
      gmssl.sm2verify("${PX}", "${PY}", "message digest", "ALICE123@YAHOO.COM", sig)`)).to.deep.equal([true, true, false, false]);
  });

  it("signs as the standard does with its k, and sm2sign's random signatures verify (with and without an id)", () => {
    const d = BigInt(`0x${D}`);
    const pub = multiply(d, G)!;
    const { r, s } = sign(d, signedDigest(pub, Buffer.from("1234567812345678"), Buffer.from("message digest")), K);
    expect([r.toString(16), s.toString(16)]).to.deep.equal([SIG_R, SIG_S]);
    expect(run(c, `
      local s1 = gmssl.sm2sign("${D}", "hello\\0world")
      local s2 = gmssl.sm2sign("${D}", "hello", "my-id")
      local s3 = gmssl.sm2sign("${D}", "hello", "")
      return #s1, gmssl.sm2verify("${PX}", "${PY}", "hello\\0world", nil, s1), gmssl.sm2verify("${PX}", "${PY}", "hello", "my-id", s2),
        gmssl.sm2verify("${PX}", "${PY}", "hello", nil, s2), gmssl.sm2verify("${PX}", "${PY}", "hello", "", s3), s1 ~= gmssl.sm2sign("${D}", "hello\\0world")`)).to.deep.equal([64, true, true, false, true, true]);
  });

  it("decrypts GB/T 32918's encryption example in the website C1C3C2 and C1C2C3 layouts and in GmSSL's DER", () => {
    const ct = encrypt({ x: BigInt(`0x${PX}`), y: BigInt(`0x${PY}`) }, Buffer.from("encryption standard"), K);
    expect([ct.c1.x.toString(16).padStart(64, "0") + ct.c1.y.toString(16).padStart(64, "0"), ct.c3.toString("hex"), ct.c2.toString("hex")]).to.deep.equal([C1, C3, C2]);
    const x = C1.slice(0, 64);
    const y = C1.slice(64);
    // x's top bit is clear and y's set: INTEGER x is 32 bytes, INTEGER y 33 with a 0x00.
    const der = `307c0220${x}022100${y}0420${C3}0413${C2}`;
    expect(run(c, `return gmssl.sm2decrypt("${D}", string.fromHex("${C1}${C3}${C2}"), true),
      gmssl.sm2decrypt("${D}", string.fromHex("04${C1}${C2}${C3}"), true, true),
      gmssl.sm2decrypt("${D}", string.fromHex("${der}")),
      (gmssl.sm2decrypt("${D}", string.fromHex("${der}00")))`)).to.deep.equal(["encryption standard", "encryption standard", "encryption standard", null]);
  });

  it("sm2encrypt's three layouts (DER by default) round-trip binary data with sm2keygen's HEX keys", () => {
    const [pkx, pky, priv, der, web, old] = run(c, `
      local pkx, pky, priv = gmssl.sm2keygen()
      local msg = "bin\\0\\255\\1"
      return pkx, pky, priv, gmssl.sm2encrypt(pkx, pky, msg), gmssl.sm2encrypt(pkx, pky, msg, true), gmssl.sm2encrypt(pkx, pky, msg, true, true)`) as string[];
    for (const key of [pkx, pky, priv]) expect(key).to.match(/^[0-9A-F]{64}$/);
    expect([hexOf(web).length / 2, hexOf(old).length / 2, hexOf(old).slice(0, 2), hexOf(der).slice(0, 2)]).to.deep.equal([96 + 6, 97 + 6, "04", "30"]);
    expect(hexOf(old).slice(2, 130)).to.not.equal(hexOf(web).slice(0, 128));
    expect(run(c, `local priv = "${priv}"
      return gmssl.sm2decrypt(priv, string.fromHex("${hexOf(der)}")), gmssl.sm2decrypt(priv, string.fromHex("${hexOf(web)}"), true),
        gmssl.sm2decrypt(priv, string.fromHex("${hexOf(old)}"), true, true), (gmssl.sm2decrypt(priv, string.fromHex("${hexOf(web)}"), true, true))`)).to.deep.equal(["bin\0\xff\x01", "bin\0\xff\x01", "bin\0\xff\x01", null]);
  });

  it("answers nothing and logs the firmware's line for bad keys and short data", () => {
    const before = c.stdout().length;
    expect(run(c, `return select('#', gmssl.sm2encrypt("12", "${PY}", "x")), select('#', gmssl.sm2decrypt("${D}", "short")),
      select('#', gmssl.sm2encrypt("${PX}", "${PX}", "x")), select('#', gmssl.sm2sign("${D}", "")), select('#', gmssl.sm2verify("${PX}", "${PY}", "m", nil, "x"))`)).to.deep.equal([0, 0, 0, 0, 0]);
    const lines = c.stdout().slice(before).split("\n").filter(Boolean).map((l) => l.replace(/^.*?([DWE]\/sm )/, "$1"));
    expect(lines).to.deep.equal([
      "E/sm invalid pkx password length=2",
      "E/sm 待数据太短,应该要97字节以上",
      "D/sm sm2_key_set_public_key -1",
      "W/sm 待签名数据不能为空字符串",
      "W/sm sig数据长度应该在64字节",
    ]);
  });

  it("does the key-exchange arithmetic: ecdh agrees both ways, point add, on-curve checks, mod-n add and mul", () => {
    const hex = (n: bigint): string => n.toString(16).toUpperCase().padStart(64, "0");
    const n = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
    expect(run(c, `
      local ax, ay, a = gmssl.sm2keygen()
      local bx, by, b = gmssl.sm2keygen()
      local s1x, s1y = gmssl.sm2ecdh(a, bx, by)
      local s2x, s2y = gmssl.sm2ecdh(b, ax, ay)
      local tx, ty = gmssl.sm2pointmul("${hex(2n)}", "${PX}", "${PY}")
      local ux, uy = gmssl.sm2pointadd("${PX}", "${PY}", "${PX}", "${PY}")
      return s1x == s2x and s1y == s2y, tx == ux and ty == uy, gmssl.sm2pointisoncurve("${PX}", "${PY}"), gmssl.sm2pointisoncurve("${PX}", "${PX}"),
        gmssl.sm2bnadd("${hex(n - 1n)}", "${hex(2n)}"), gmssl.sm2bnmul("${hex(n - 1n)}", "${hex(n - 1n)}"), select('#', gmssl.sm2ecdh("${hex(n)}", "${PX}", "${PY}"))`)).to.deep.equal([
      true, true, true, false, hex(1n), hex(1n), 0,
    ]);
  });
});
