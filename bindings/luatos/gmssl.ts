// LuatOS `gmssl`: the Chinese national algorithms. SM3 (and HMAC-SM3) and SM4 come from
// OpenSSL through node:crypto; SM2 (curve sm2p256v1) is computed here over BigInt, since
// OpenSSL offers the curve but not SM2's own signature, Z value or encryption. Keys travel
// as 64-digit HEX strings, ciphertexts and signatures as raw bytes, and failures answer
// nothing plus the firmware's log line, as the firmware's binding does.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { lua, pushBytes, bytesOf, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkText, raise } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { timestamp } from "./log.js";

const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const A = P - 3n;
const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;
const DEFAULT_ID = bytesOf("1234567812345678");
const MAX_PLAINTEXT = 16384;
const BLOCK = 16;

export interface Point { x: bigint; y: bigint }
/** Jacobian coordinates; z = 0 is the point at infinity. */
interface Jacobian { x: bigint; y: bigint; z: bigint }

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function double(p: Jacobian): Jacobian {
  if (p.z === 0n || p.y === 0n) return { x: 0n, y: 1n, z: 0n };
  const yy = mod(p.y * p.y, P);
  const s = mod(4n * p.x * yy, P);
  const zz = mod(p.z * p.z, P);
  const m = mod(3n * p.x * p.x + A * zz * zz, P);
  const x = mod(m * m - 2n * s, P);
  return { x, y: mod(m * (s - x) - 8n * yy * yy, P), z: mod(2n * p.y * p.z, P) };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const pz2 = mod(p.z * p.z, P);
  const qz2 = mod(q.z * q.z, P);
  const u1 = mod(p.x * qz2, P);
  const u2 = mod(q.x * pz2, P);
  const s1 = mod(p.y * qz2 * q.z, P);
  const s2 = mod(q.y * pz2 * p.z, P);
  if (u1 === u2) return s1 === s2 ? double(p) : { x: 0n, y: 1n, z: 0n };
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const x = mod(r * r - hhh - 2n * u1 * hh, P);
  return { x, y: mod(r * (u1 * hh - x) - s1 * hhh, P), z: mod(h * p.z * q.z, P) };
}

function affine(p: Jacobian): Point | undefined {
  if (p.z === 0n) return undefined;
  const zi = inverse(p.z, P);
  const zi2 = mod(zi * zi, P);
  return { x: mod(p.x * zi2, P), y: mod(p.y * zi2 * zi, P) };
}

export function multiply(k: bigint, point: Point): Point | undefined {
  let result: Jacobian = { x: 0n, y: 1n, z: 0n };
  let base: Jacobian = { ...point, z: 1n };
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, base);
    base = double(base);
  }
  return affine(result);
}

export const G: Point = { x: GX, y: GY };
const toJacobian = (p: Point | undefined): Jacobian => (p ? { ...p, z: 1n } : { x: 0n, y: 1n, z: 0n });
const sum = (p: Point, q: Point): Point | undefined => affine(add({ ...p, z: 1n }, { ...q, z: 1n }));
const onCurve = (p: Point): boolean => p.x < P && p.y < P && mod(p.y * p.y - (p.x * p.x * p.x + A * p.x + B), P) === 0n;

const toBytes = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, "0"), "hex");
const fromBytes = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
const toHex = (n: bigint): Uint8Array => bytesOf(n.toString(16).toUpperCase().padStart(64, "0"));

/** luat_str_fromhex: no validation, a letter's low three bits plus 9. */
function fromHex(hex: Uint8Array): bigint {
  const out = Buffer.alloc(hex.length >> 1);
  const digit = (c: number): number => (c <= 0x39 ? c - 0x30 : (c & 7) + 9);
  for (let i = 0; i < out.length; i++) out[i] = (digit(hex[2 * i] as number) << 4) + digit(hex[2 * i + 1] as number);
  return fromBytes(out);
}

const sm3 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sm3");
  for (const part of parts) h.update(part);
  return h.digest();
};

function kdf(z: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let at = 0, ct = 1; at < length; at += 32, ct++) {
    counter.writeUInt32BE(ct);
    sm3(z, counter).copy(out, at);
  }
  return out;
}

function randomScalar(): bigint {
  for (;;) {
    const k = fromBytes(randomBytes(32));
    if (k > 0n && k < N) return k;
  }
}

export interface Ciphertext { c1: Point; c3: Buffer; c2: Buffer }

/** `k` is the ephemeral scalar, random unless a test fixes it. */
export function encrypt(pub: Point, message: Uint8Array, k?: bigint): Ciphertext {
  for (;;) {
    const scalar = k ?? randomScalar();
    const c1 = multiply(scalar, G) as Point;
    const shared = multiply(scalar, pub) as Point;
    const x2 = toBytes(shared.x);
    const y2 = toBytes(shared.y);
    const t = kdf(Buffer.concat([x2, y2]), message.length);
    if (t.every((b) => b === 0)) continue;
    const c2 = Buffer.from(message.map((b, i) => b ^ (t[i] as number)));
    return { c1, c3: sm3(x2, message, y2), c2 };
  }
}

export function decrypt(d: bigint, ct: Ciphertext): Buffer | undefined {
  if (!onCurve(ct.c1)) return undefined;
  const shared = multiply(d, ct.c1);
  if (!shared) return undefined;
  const x2 = toBytes(shared.x);
  const y2 = toBytes(shared.y);
  const t = kdf(Buffer.concat([x2, y2]), ct.c2.length);
  if (t.every((b) => b === 0)) return undefined;
  const message = Buffer.from(ct.c2.map((b, i) => b ^ (t[i] as number)));
  return sm3(x2, message, y2).equals(ct.c3) ? message : undefined;
}

function zValue(pub: Point, id: Uint8Array): Buffer {
  const entl = Buffer.from([(id.length * 8) >> 8 & 0xff, (id.length * 8) & 0xff]);
  return sm3(entl, id, toBytes(A), toBytes(B), toBytes(GX), toBytes(GY), toBytes(pub.x), toBytes(pub.y));
}

/** The digest SM2 signs: SM3(Z || M), Z left out for an empty id as the binding does. */
export function signedDigest(pub: Point, id: Uint8Array, message: Uint8Array): bigint {
  return fromBytes(id.length > 0 ? sm3(zValue(pub, id), message) : sm3(message));
}

export function sign(d: bigint, e: bigint, k?: bigint): { r: bigint; s: bigint } {
  const dInv = inverse(d + 1n, N);
  for (;;) {
    const scalar = k ?? randomScalar();
    const x1 = (multiply(scalar, G) as Point).x;
    const r = mod(e + x1, N);
    if (r === 0n || r + scalar === N) continue;
    const s = mod(dInv * (scalar - r * d), N);
    if (s !== 0n) return { r, s };
  }
}

export function verify(pub: Point, e: bigint, r: bigint, s: bigint): boolean {
  if (r === 0n || r >= N || s === 0n || s >= N) return false;
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const point = affine(add(toJacobian(multiply(s, G)), toJacobian(multiply(t, pub))));
  return point !== undefined && mod(e + point.x, N) === r;
}

/** GmSSL's DER form: SEQUENCE { INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2 }. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = Buffer.from(n.toString(16).padStart(n > 0xff ? 4 : 2, "0"), "hex");
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function derInteger(n: bigint): Buffer {
  let body = toBytes(n);
  while (body.length > 1 && body[0] === 0) body = body.subarray(1);
  if ((body[0] as number) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

const derOctets = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0x04]), derLength(b.length), b]);

export function toDer(ct: Ciphertext): Buffer {
  const body = Buffer.concat([derInteger(ct.c1.x), derInteger(ct.c1.y), derOctets(ct.c3), derOctets(ct.c2)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Strict DER as GmSSL reads it; undefined for anything else, trailing bytes included. */
export function fromDer(der: Uint8Array): Ciphertext | undefined {
  let at = 0;
  const element = (tag: number, end: number): Buffer | undefined => {
    if (at + 2 > end || der[at] !== tag) return undefined;
    let len = der[at + 1] as number;
    at += 2;
    if (len & 0x80) {
      const count = len & 0x7f;
      if (count === 0 || count > 4 || at + count > end) return undefined;
      len = 0;
      for (let i = 0; i < count; i++) len = len * 256 + (der[at++] as number);
    }
    if (at + len > end) return undefined;
    const body = Buffer.from(der.subarray(at, at + len));
    at += len;
    return body;
  };
  const seq = element(0x30, der.length);
  if (!seq || at !== der.length) return undefined;
  at -= seq.length;
  const x = element(0x02, der.length);
  const y = element(0x02, der.length);
  const c3 = element(0x04, der.length);
  const c2 = element(0x04, der.length);
  if (!x || !y || !c3 || !c2 || at !== der.length) return undefined;
  const strip = (b: Buffer): Buffer => (b.length === 33 && b[0] === 0 ? b.subarray(1) : b);
  if (strip(x).length > 32 || strip(y).length > 32 || c3.length !== 32 || c2.length > MAX_PLAINTEXT) return undefined;
  const c1 = { x: fromBytes(x), y: fromBytes(y) };
  return onCurve(c1) ? { c1, c3, c2 } : undefined;
}

function logLine(L: LuaState, level: "D" | "W" | "E", message: string): void {
  boardOf(L).write(bytesOf(`${timestamp()}${level}/sm ${message}\n`));
}

/** lua_tolstring without a check: a non-string argument reads as NULL, length 0. */
function looseBytes(L: LuaState, arg: number): Uint8Array {
  const t = lua.lua_type(L, arg);
  return t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? (lua.lua_tolstring(L, arg) as Uint8Array) : new Uint8Array(0);
}

const flagAt = (L: LuaState, arg: number): boolean => lua.lua_type(L, arg) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, arg);

const sm2encrypt = (L: LuaState): number => {
  const pkx = looseBytes(L, 1);
  const pky = looseBytes(L, 2);
  const data = looseBytes(L, 3);
  if (pkx.length !== 64) return logLine(L, "E", `invalid pkx password length=${pkx.length}`), 0;
  if (pky.length !== 64) return logLine(L, "E", `invalid pky password length=${pky.length}`), 0;
  if (data.length > MAX_PLAINTEXT) return logLine(L, "D", `data too large max ${MAX_PLAINTEXT} but ${data.length}`), 0;
  const webMode = flagAt(L, 4);
  const c1c2c3 = flagAt(L, 5);
  const pub = { x: fromHex(pkx), y: fromHex(pky) };
  if (!onCurve(pub)) return logLine(L, "D", "sm2_key_set_public_key -1"), 0;
  if (data.length === 0) return logLine(L, "D", "sm2_encrypt ret -1"), 0;
  const ct = encrypt(pub, data);
  const c1 = Buffer.concat([toBytes(ct.c1.x), toBytes(ct.c1.y)]);
  let out: Buffer;
  if (!webMode) out = toDer(ct);
  else if (c1c2c3) out = Buffer.concat([Buffer.from([0x04]), c1, ct.c2, ct.c3]);
  else out = Buffer.concat([c1, ct.c3, ct.c2]);
  pushBytes(L, out);
  return 1;
};

const sm2decrypt = (L: LuaState): number => {
  const key = looseBytes(L, 1);
  let data = looseBytes(L, 2);
  const webMode = flagAt(L, 3);
  const c1c2c3 = flagAt(L, 4);
  if (key.length !== 64) return logLine(L, "E", `invalid private password length=${key.length}`), 0;
  if (data.length < 97) return logLine(L, "E", "待数据太短,应该要97字节以上"), 0;
  let ct: Ciphertext | undefined;
  if (webMode) {
    if (c1c2c3) data = data.subarray(1);
    const size = data.length - 96;
    if (size > MAX_PLAINTEXT) return logLine(L, "E", `ciphertext too large: ${size}`), 0;
    const c1 = { x: fromBytes(data.subarray(0, 32)), y: fromBytes(data.subarray(32, 64)) };
    ct = c1c2c3
      ? { c1, c2: Buffer.from(data.subarray(64, 64 + size)), c3: Buffer.from(data.subarray(64 + size)) }
      : { c1, c3: Buffer.from(data.subarray(64, 96)), c2: Buffer.from(data.subarray(96)) };
  } else {
    ct = fromDer(data);
  }
  const message = ct && decrypt(fromHex(key), ct);
  if (!message) return logLine(L, "D", "sm2_decrypt ret -1"), 0;
  pushBytes(L, message);
  return 1;
};

const sm3update = (L: LuaState): number => {
  const data = looseBytes(L, 1);
  if (data.length === 0) lua.lua_pushnil(L);
  else pushBytes(L, sm3(data));
  return 1;
};

const sm3hmac = (L: LuaState): number => {
  const data = looseBytes(L, 1);
  const key = looseBytes(L, 2);
  if (data.length === 0 || key.length === 0) lua.lua_pushnil(L);
  else pushBytes(L, createHmac("sm3", key).update(data).digest());
  return 1;
};

const PADDINGS = ["NONE", "PKCS5", "PKCS7", "ZERO"];

function sm4run(mode: string, encrypting: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const algorithm = mode === "ECB" ? "sm4-ecb" : "sm4-cbc";
  const ivOrNull = mode === "ECB" ? null : iv;
  const cipher = encrypting ? createCipheriv(algorithm, key, ivOrNull) : createDecipheriv(algorithm, key, ivOrNull);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

const sm4encrypt = (L: LuaState): number => {
  const mode = checkText(L, 1);
  const padding = checkText(L, 2);
  const data = checkBytes(L, 3);
  const key = checkBytes(L, 4);
  const iv = looseBytes(L, 5);
  if (data.length === 0) return lua.lua_pushnil(L), 1;
  if (key.length !== 16) raise(L, `invalid password length=${key.length}, only support 128bit Password`);
  if (mode !== "ECB" && mode !== "CBC") raise(L, `invalid mode=${mode}, only support ECB,CBC`);
  if (!PADDINGS.includes(padding)) raise(L, `invalid padding=${padding}, only support NONE,PKCS5,PKCS7,ZERO`);
  if (mode === "CBC" && iv.length !== 16) raise(L, `invalid iv length=${iv.length}, only support 128bit IV`);
  // Like the firmware, a whole block of padding when the data already fills its blocks.
  const padLength = BLOCK - (data.length % BLOCK);
  let input: Uint8Array = data;
  if (padding === "NONE") {
    if (data.length % BLOCK !== 0) raise(L, `buf len should be multiple of 16, len=${data.length}`);
  } else {
    input = Buffer.concat([data, Buffer.alloc(padLength, padding === "ZERO" ? 0 : padLength)]);
  }
  pushBytes(L, sm4run(mode, true, key, iv, input));
  return 1;
};

/** The firmware's padding removal; undefined where it answers nil. */
function unpad(padding: string, plain: Buffer): Buffer | undefined {
  const last = plain.length - 1;
  if (padding === "PKCS5" || padding === "PKCS7") {
    const n = plain[last] as number;
    if (n === 0 || n > BLOCK) return undefined;
    for (let i = 0; i < n; i++) if (plain[last - i] !== n) return undefined;
    return plain.subarray(0, plain.length - n);
  }
  if (padding === "ZERO") {
    let n = 0;
    while (n < BLOCK && plain[last - n] === 0) n++;
    // The firmware refuses fewer than 6 zero bytes, so short zero padding decrypts to nil.
    if (n < 6) return undefined;
    return plain.subarray(0, plain.length - n);
  }
  return plain;
}

const sm4decrypt = (L: LuaState): number => {
  const mode = checkText(L, 1);
  const padding = checkText(L, 2);
  const data = checkBytes(L, 3);
  const key = checkBytes(L, 4);
  const iv = looseBytes(L, 5);
  if (data.length === 0) return lua.lua_pushnil(L), 1;
  const known = mode === "ECB" || mode === "CBC";
  if (known && data.length % BLOCK !== 0) raise(L, `invalid BufLen length=${data.length}, BufLen must be Integer multiples of 16`);
  if (key.length !== 16) raise(L, `invalid password length=${key.length}, only support 128, 192, 256 bits`);
  if (!known) raise(L, `invalid mode=${mode}, only support ECB,CBC,CTR`);
  if (!PADDINGS.includes(padding)) raise(L, `invalid padding=${padding}, only support NONE,PKCS5,PKCS7,ZERO`);
  if (mode === "CBC" && iv.length !== 16) raise(L, `invalid iv length=${iv.length}, only support 16`);
  const plain = sm4run(mode, false, key, iv, data);
  // ECB strips padding from the last block alone, CBC from the whole buffer: the same bytes.
  const result = unpad(padding, plain);
  if (!result) return lua.lua_pushnil(L), 1;
  pushBytes(L, result);
  return 1;
};

/** luaL_optlstring's default for nil or none; an empty string leaves Z out. */
const idAt = (L: LuaState, arg: number): Uint8Array => (lua.lua_isnoneornil(L, arg) ? DEFAULT_ID : checkBytes(L, arg));

const sm2sign = (L: LuaState): number => {
  const key = checkBytes(L, 1);
  const data = checkBytes(L, 2);
  const id = idAt(L, 3);
  if (key.length !== 64) return logLine(L, "W", "private key len must be 64 byte HEX string"), 0;
  if (data.length < 1) return logLine(L, "W", "待签名数据不能为空字符串"), 0;
  const d = fromHex(key);
  if (d === 0n || d >= N) return logLine(L, "W", "sm2_key_set_private_key -1"), 0;
  const pub = multiply(d, G) as Point;
  const { r, s } = sign(d, signedDigest(pub, id, data));
  pushBytes(L, Buffer.concat([toBytes(r), toBytes(s)]));
  return 1;
};

const sm2verify = (L: LuaState): number => {
  const pkx = checkBytes(L, 1);
  const pky = checkBytes(L, 2);
  const data = checkBytes(L, 3);
  const id = idAt(L, 4);
  const sig = checkBytes(L, 5);
  if (pkx.length !== 64 || pky.length !== 64) return logLine(L, "W", "public key x/y len must be 64 byte HEX string"), 0;
  if (data.length < 1) return logLine(L, "W", "待签名数据不能为空字符串"), 0;
  if (sig.length !== 64) return logLine(L, "W", "sig数据长度应该在64字节"), 0;
  const pub = { x: fromHex(pkx), y: fromHex(pky) };
  const ok = verify(pub, signedDigest(pub, id, data), fromBytes(sig.subarray(0, 32)), fromBytes(sig.subarray(32)));
  lua.lua_pushboolean(L, ok);
  return 1;
};

const sm2keygen = (L: LuaState): number => {
  const d = randomScalar();
  const pub = multiply(d, G) as Point;
  for (const value of [pub.x, pub.y, d]) pushBytes(L, toHex(value));
  return 3;
};

function pushPoint(L: LuaState, p: Point | undefined, failure: string): number {
  // The point at infinity has no affine form; GmSSL's conversion fails on it.
  if (!p) return logLine(L, "E", failure), 0;
  pushBytes(L, toHex(p.x));
  pushBytes(L, toHex(p.y));
  return 2;
}

function hexArgs(L: LuaState, count: number, name: string, what: string): bigint[] | undefined {
  const args = Array.from({ length: count }, (_, i) => checkBytes(L, i + 1));
  if (args.every((a) => a.length === 64)) return args.map(fromHex);
  logLine(L, "E", `${name}: ${what} must be 64-char HEX strings, got ${args.map((a) => a.length).join("/")}`);
  return undefined;
}

const sm2pointmul = (L: LuaState): number => {
  const v = hexArgs(L, 3, "sm2pointmul", "k/px/py");
  if (!v) return 0;
  return pushPoint(L, multiply(v[0] as bigint, { x: v[1] as bigint, y: v[2] as bigint }), "sm2pointmul: sm2_point_mul failed");
};

const sm2ecdh = (L: LuaState): number => {
  const v = hexArgs(L, 3, "sm2ecdh", "priv/px/py");
  if (!v) return 0;
  const d = v[0] as bigint;
  if (d === 0n || d >= N) return logLine(L, "E", "sm2ecdh: private key out of range [1, n-1]"), 0;
  return pushPoint(L, multiply(d, { x: v[1] as bigint, y: v[2] as bigint }), "sm2ecdh: sm2_point_mul failed");
};

const sm2pointadd = (L: LuaState): number => {
  const args = Array.from({ length: 4 }, (_, i) => checkBytes(L, i + 1));
  if (!args.every((a) => a.length === 64)) {
    return logLine(L, "E", `sm2pointadd: all params must be 64-char HEX strings, got ${args.map((a) => a.length).join("/")}`), 0;
  }
  const [x1, y1, x2, y2] = args.map(fromHex) as [bigint, bigint, bigint, bigint];
  return pushPoint(L, sum({ x: x1, y: y1 }, { x: x2, y: y2 }), "sm2pointadd: sm2_point_add failed");
};

const sm2pointisoncurve = (L: LuaState): number => {
  const px = checkBytes(L, 1);
  const py = checkBytes(L, 2);
  if (px.length !== 64 || py.length !== 64) {
    logLine(L, "E", `sm2pointisoncurve: px/py must be 64-char HEX strings, got ${px.length}/${py.length}`);
    lua.lua_pushboolean(L, false);
    return 1;
  }
  lua.lua_pushboolean(L, onCurve({ x: fromHex(px), y: fromHex(py) }));
  return 1;
};

const bnOp = (name: string, op: (a: bigint, b: bigint) => bigint) => (L: LuaState): number => {
  const v = hexArgs(L, 2, name, "a/b");
  if (!v) return 0;
  pushBytes(L, toHex(mod(op(v[0] as bigint, v[1] as bigint), N)));
  return 1;
};

export const gmssl = defineModule("gmssl", {
  functions: {
    sm2encrypt, sm2decrypt, sm3update, sm3: sm3update, sm3hmac, sm4encrypt, sm4decrypt, sm2sign, sm2verify, sm2keygen,
    sm2pointmul, sm2ecdh, sm2pointadd, sm2pointisoncurve,
    sm2bnadd: bnOp("sm2bnadd", (a, b) => a + b),
    sm2bnmul: bnOp("sm2bnmul", (a, b) => a * b),
  },
});
