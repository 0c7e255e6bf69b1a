// LuatOS `crypto`: digests and HMACs as UPPERCASE hex strings, the firmware's CRC family,
// base64, random bytes, TOTP and symmetric ciphers with the firmware's padding quirks
// (with PKCS7 or ZERO padding an aligned input still gains a whole padding block, and a
// failure part-way returns the output so far, as mbedtls leaves it).
import { createCipheriv, createDecipheriv, createHash, createHmac, getCiphers, randomBytes, type Hash, type Hmac } from "node:crypto";
import { lua, pushBytes, pushText, pushUserdata, testUserdata, setFunctions, textOf, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger, typeError } from "../../engine/args.js";
import type { ModuleDef } from "../../runtime/board.js";
import { bytesFromBase32, hexOf } from "./encodings.js";
import { readDeviceFile } from "./device-files.js";
import { toZbuff } from "./zbuff.js";
import { fromBase64, toBase64 } from "./string-ext.js";

// ---- digests ----

/** mbedtls digest names (what crypto.md and friends take) → node's. */
const DIGESTS: Record<string, string> = {
  MD5: "md5", SHA1: "sha1", SHA224: "sha224", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512", RIPEMD160: "ripemd160",
};

function digestName(name: string): string | undefined {
  return DIGESTS[name.toUpperCase()];
}

function digest(algorithm: string, data: Uint8Array, key?: Uint8Array): Uint8Array {
  const hash = key && key.length > 0 ? createHmac(algorithm, key) : createHash(algorithm);
  return hash.update(data).digest();
}

function hashFunction(algorithm: string): LuaJsFunction {
  return (L) => {
    pushBytes(L, hexOf(digest(algorithm, checkBytes(L, 1))));
    return 1;
  };
}

/** crypto.hmac_*(data, key): an empty key is still a key here (HMAC with a zero block). */
function hmacFunction(algorithm: string): LuaJsFunction {
  return (L) => {
    const data = checkBytes(L, 1);
    const key = checkBytes(L, 2);
    pushBytes(L, hexOf(createHmac(algorithm, key).update(data).digest()));
    return 1;
  };
}

const md: LuaJsFunction = (L) => {
  const algorithm = digestName(textOf(checkBytes(L, 1)));
  const data = checkBytes(L, 2);
  const key = lua.lua_type(L, 3) === lua.LUA_TSTRING ? checkBytes(L, 3) : undefined;
  if (!algorithm) return 0;
  pushBytes(L, hexOf(digest(algorithm, data, key)));
  return 1;
};

const mdFile: LuaJsFunction = (L) => {
  const algorithm = digestName(textOf(checkBytes(L, 1)));
  const path = textOf(checkBytes(L, 2));
  const key = lua.lua_type(L, 3) === lua.LUA_TSTRING ? checkBytes(L, 3) : undefined;
  if (path.length < 2 || !algorithm) return 0;
  const contents = readDeviceFile(L, path);
  if (!contents) return 0;
  pushBytes(L, hexOf(digest(algorithm, contents, key)));
  return 1;
};

const STREAM_METATABLE = "crypto";

interface HashStream {
  hash: Hash | Hmac | undefined;
}

const hashInit: LuaJsFunction = (L) => {
  const algorithm = digestName(textOf(checkBytes(L, 1)));
  if (!algorithm) return 0;
  const key = lua.lua_type(L, 2) === lua.LUA_TSTRING ? checkBytes(L, 2) : undefined;
  ensureStreamMetatable(L);
  const stream: HashStream = { hash: key && key.length > 0 ? createHmac(algorithm, key) : createHash(algorithm) };
  pushUserdata(L, stream, STREAM_METATABLE);
  return 1;
};

function checkStream(L: LuaState): HashStream {
  const stream = testUserdata<HashStream>(L, 1, STREAM_METATABLE);
  if (!stream) return typeError(L, 1, STREAM_METATABLE);
  return stream;
}

const hashUpdate: LuaJsFunction = (L) => {
  const stream = checkStream(L);
  const data = checkBytes(L, 2);
  stream.hash?.update(data);
  return 0;
};

const hashFinish: LuaJsFunction = (L) => {
  const stream = checkStream(L);
  if (!stream.hash) return 0;
  const result = stream.hash.digest();
  stream.hash = undefined;
  pushBytes(L, hexOf(result));
  return 1;
};

function ensureStreamMetatable(L: LuaState): void {
  const exists = lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, STREAM_METATABLE) !== lua.LUA_TNIL;
  lua.lua_pop(L, 1);
  if (exists) return;
  lua.lua_createtable(L, 0, 1);
  pushText(L, STREAM_METATABLE);
  lua.lua_setfield(L, -2, "__name");
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, STREAM_METATABLE);
}

// ---- CRCs ----

function reflect(value: number, bits: number): number {
  let out = 0;
  for (let i = 0; i < bits; i++) if (value & (1 << i)) out |= 1 << (bits - 1 - i);
  return out >>> 0;
}

interface Crc16Model {
  poly: number;
  init: number;
  xorOut: number;
  refIn: boolean;
  refOut: boolean;
}

/** The firmware's named CRC-16 models (luat_lib_crypto.c's table: none reflects the output). */
const CRC16_MODELS: Record<string, Crc16Model> = {
  IBM: { poly: 0x8005, init: 0x0000, xorOut: 0x0000, refIn: true, refOut: false },
  MAXIM: { poly: 0x8005, init: 0x0000, xorOut: 0xffff, refIn: true, refOut: false },
  USB: { poly: 0x8005, init: 0xffff, xorOut: 0xffff, refIn: true, refOut: false },
  MODBUS: { poly: 0x8005, init: 0xffff, xorOut: 0x0000, refIn: true, refOut: false },
  CCITT: { poly: 0x1021, init: 0x0000, xorOut: 0x0000, refIn: true, refOut: false },
  "CCITT-FALSE": { poly: 0x1021, init: 0xffff, xorOut: 0x0000, refIn: false, refOut: false },
  X25: { poly: 0x1021, init: 0xffff, xorOut: 0xffff, refIn: true, refOut: false },
  XMODEM: { poly: 0x1021, init: 0x0000, xorOut: 0x0000, refIn: false, refOut: false },
  DNP: { poly: 0x3d65, init: 0x0000, xorOut: 0xffff, refIn: true, refOut: false },
  "USER-DEFINED": { poly: 0x0000, init: 0x0000, xorOut: 0x0000, refIn: false, refOut: false },
};

/**
 * luat_crc16: each data bit is folded in after the register shifts (the unaugmented
 * textbook form differs), so the named models do not give the catalogue's check values.
 */
export function crc16(data: Uint8Array, model: Crc16Model): number {
  let crc = model.init & 0xffff;
  if (model.refIn) {
    const poly = reflect(model.poly & 0xffff, 16);
    for (const byte of data) {
      for (let i = 0; i < 8; i++) {
        crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
        if (byte & (1 << i)) crc ^= poly;
      }
    }
  } else {
    for (const byte of data) {
      for (let i = 7; i >= 0; i--) {
        crc = crc & 0x8000 ? ((crc << 1) ^ model.poly) & 0xffff : (crc << 1) & 0xffff;
        if (byte & (1 << i)) crc ^= model.poly;
      }
    }
  }
  crc = (crc ^ model.xorOut) & 0xffff;
  return model.refOut ? reflect(crc, 16) : crc;
}

export function crc16Modbus(data: Uint8Array, init = 0xffff): number {
  let crc = init & 0xffff;
  for (const byte of data) {
    crc ^= byte;
    for (let j = 0; j < 8; j++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** Reflected CRC-32 (the common zlib one with the defaults); the unsigned result. */
export function crc32(data: Uint8Array, init = 0xffffffff, poly = 0x04c11db7, xorOut = 0xffffffff): number {
  const rpoly = reflect(poly >>> 0, 32);
  let crc = init >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let j = 0; j < 8; j++) crc = crc & 1 ? (crc >>> 1) ^ rpoly : crc >>> 1;
  }
  return (crc ^ xorOut) >>> 0;
}

/** CRC-8, MSB first, or LSB first with the reflected polynomial when `reverse`. */
export function crc8(data: Uint8Array, poly = 0x07, init = 0, reverse = false): number {
  let crc = init & 255;
  if (reverse) {
    const rpoly = reflect(poly & 255, 8);
    for (const byte of data) {
      crc ^= byte;
      for (let j = 0; j < 8; j++) crc = crc & 1 ? (crc >>> 1) ^ rpoly : crc >>> 1;
    }
  } else {
    for (const byte of data) {
      crc ^= byte;
      for (let j = 0; j < 8; j++) crc = crc & 0x80 ? ((crc << 1) ^ poly) & 255 : (crc << 1) & 255;
    }
  }
  return crc;
}

/** luat_crc7: MSB first in a 7-bit register; a polynomial of 0 means 0x09. */
export function crc7(data: Uint8Array, polyArg = 0xe5, init = 0): number {
  const poly = polyArg & 0x7f || 0x09;
  let crc = init & 0x7f;
  for (const byte of data) {
    for (let bit = 0; bit < 8; bit++) {
      const feedback = ((crc >>> 6) & 1) ^ ((byte >>> (7 - bit)) & 1);
      crc = (crc << 1) & 0x7f;
      if (feedback) crc ^= poly;
    }
  }
  return crc;
}

/** crypto.crc16 and crc8 also take a zbuff: its bytes from the cursor to the end. */
function dataArg(L: LuaState, idx: number): Uint8Array {
  const buff = toZbuff(L, idx);
  if (buff) return buff.data.subarray(buff.cursor);
  return lua.lua_tolstring(L, idx) ?? new Uint8Array(0);
}

const optNumberAt = (L: LuaState, idx: number, fallback: number): number =>
  lua.lua_type(L, idx) === lua.LUA_TNUMBER ? Math.trunc(lua.lua_tonumber(L, idx)) : fallback;

/** crypto.crc16(method, data[, poly, init, xorOut, refIn, refOut]): the arguments override the method's model; an unknown method starts from all zeros. */
const crc16Fn: LuaJsFunction = (L) => {
  const method = textOf(checkBytes(L, 1));
  const data = dataArg(L, 2);
  const base = CRC16_MODELS[method] ?? (CRC16_MODELS["USER-DEFINED"] as Crc16Model);
  const model = {
    poly: optNumberAt(L, 3, base.poly) & 0xffff,
    init: optNumberAt(L, 4, base.init) & 0xffff,
    xorOut: optNumberAt(L, 5, base.xorOut) & 0xffff,
    refIn: (optNumberAt(L, 6, base.refIn ? 1 : 0) & 0xff) !== 0,
    refOut: (optNumberAt(L, 7, base.refOut ? 1 : 0) & 0xff) !== 0,
  };
  lua.lua_pushinteger(L, crc16(data, model));
  return 1;
};

const crc16ModbusFn: LuaJsFunction = (L) => {
  const data = checkBytes(L, 1);
  lua.lua_pushinteger(L, crc16Modbus(data, optInteger(L, 2, 0xffff)));
  return 1;
};

/** The unsigned result wrapped to fengari's 32-bit integers, as the literal 0x... would be. */
const crc32Fn: LuaJsFunction = (L) => {
  const data = checkBytes(L, 1);
  const init = optNumberAt(L, 2, 0xffffffff);
  let poly = optNumberAt(L, 3, 0x04c11db7);
  if (poly === 0) poly = 0x04c11db7;
  const xorOut = optNumberAt(L, 4, 0xffffffff);
  lua.lua_pushinteger(L, crc32(data, init, poly, xorOut) | 0);
  return 1;
};

/** crypto.crc8(data[, poly[, init[, reverse]]]): without a poly, CRC-8/SMBUS (poly 0x07). */
const crc8Fn: LuaJsFunction = (L) => {
  const data = checkBytes(L, 1);
  if (!lua.lua_isinteger(L, 2)) {
    lua.lua_pushinteger(L, crc8(data));
    return 1;
  }
  const poly = lua.lua_tointeger(L, 2) & 255;
  const init = optInteger(L, 3, 0) & 255;
  const reverse = lua.lua_type(L, 4) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 4);
  lua.lua_pushinteger(L, crc8(data, poly, init, reverse));
  return 1;
};

const crc7Fn: LuaJsFunction = (L) => {
  const data = checkBytes(L, 1);
  lua.lua_pushinteger(L, crc7(data, optInteger(L, 2, 0xe5) & 255, optInteger(L, 3, 0) & 255));
  return 1;
};

/** crypto.checksum(data[, mode]): mode 0 XOR of all bytes (default), 1 their sum, 8 bits. */
const checksum: LuaJsFunction = (L) => {
  const data = checkBytes(L, 1);
  const mode = optInteger(L, 2, 0);
  let sum = 0;
  for (const byte of data) sum = mode === 1 ? (sum + byte) & 255 : sum ^ byte;
  lua.lua_pushinteger(L, sum);
  return 1;
};

/** crypto.trng(n): n random bytes, at most 128; nothing for n < 1. */
const trng: LuaJsFunction = (L) => {
  const n = checkInteger(L, 1);
  if (n < 1) return 0;
  pushBytes(L, randomBytes(Math.min(n, 128)));
  return 1;
};

/** crypto.totp(base32 secret[, unix time]) → the 6-digit code (RFC 6238, 30 s, SHA-1). */
const totp: LuaJsFunction = (L) => {
  const secret = bytesFromBase32(checkBytes(L, 1));
  if (!secret) return 0;
  const now = lua.lua_isinteger(L, 2) ? lua.lua_tointeger(L, 2) : Math.floor(Date.now() / 1000);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = (mac[19] as number) & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  lua.lua_pushinteger(L, code);
  return 1;
};

// ---- ciphers ----

type Mode = "ECB" | "CBC" | "CTR" | "CFB128" | "CFB8" | "OFB" | "GCM";

interface CipherSpec {
  node: string;
  mode: Mode;
  block: number;
  iv: number;
  /** OpenSSL 3 keeps single and two-key DES in its legacy provider: they run as three-key DES with repeated keys. */
  keyOf?: (key: Uint8Array) => Uint8Array;
}

/** The additional data the firmware authenticates in every GCM call. */
const GCM_AAD = Buffer.from("1234567890123456");
const GCM_TAG_BYTES = 16;

function cipherSpec(name: string): CipherSpec | undefined {
  const upper = name.toUpperCase();
  const aes = /^AES-(128|192|256)-(ECB|CBC|CTR|CFB128|CFB8|OFB|GCM)$/.exec(upper);
  if (aes) {
    const mode = aes[2] as Mode;
    const nodeMode = mode === "CFB128" ? "cfb" : mode.toLowerCase();
    return { node: `aes-${aes[1]}-${nodeMode}`, mode, block: 16, iv: mode === "ECB" ? 0 : 16 };
  }
  const des = /^DES(-EDE3?|)-(ECB|CBC)$/.exec(upper);
  if (des) {
    const mode = des[2] as Mode;
    const node = mode === "ECB" ? "des-ede3" : "des-ede3-cbc";
    // A key of the wrong length stays as it is, and is refused.
    const single = (k: Uint8Array): Uint8Array => (k.length === 8 ? Buffer.concat([k, k, k]) : k);
    const twoKey = (k: Uint8Array): Uint8Array => (k.length === 16 ? Buffer.concat([k, k.subarray(0, 8)]) : k);
    const keyOf = des[1] === "" ? single : des[1] === "-EDE" ? twoKey : undefined;
    return { node, mode, block: 8, iv: mode === "ECB" ? 0 : 8, keyOf };
  }
  return undefined;
}

/** Ciphers this build supports, in the firmware's naming. */
function supportedCiphers(): string[] {
  const available = new Set(getCiphers());
  const names: string[] = [];
  for (const bits of [128, 192, 256]) {
    for (const mode of ["ECB", "CBC", "CFB128", "CFB8", "OFB", "CTR", "GCM"]) names.push(`AES-${bits}-${mode}`);
  }
  names.push("DES-ECB", "DES-CBC", "DES-EDE-ECB", "DES-EDE-CBC", "DES-EDE3-ECB", "DES-EDE3-CBC");
  return names.filter((name) => {
    const spec = cipherSpec(name);
    return spec !== undefined && available.has(spec.node);
  });
}

type Padding = "PKCS7" | "ZERO" | "ONE_AND_ZEROS" | "ZEROS_AND_LEN" | "NONE";

function paddingOf(name: string): Padding {
  if (name === "PKCS7") return "PKCS7";
  if (name === "ZERO" || name === "ZEROS") return "ZERO";
  if (name === "ONE_AND_ZEROS" || name === "ZEROS_AND_LEN") return name;
  return "NONE";
}

/** Always adds 1..block bytes (a whole block when the input is aligned). */
function pad(data: Uint8Array, block: number, padding: Padding): Uint8Array {
  const n = block - (data.length % block);
  const out = new Uint8Array(data.length + n);
  out.set(data);
  if (padding === "PKCS7") out.fill(n, data.length);
  else if (padding === "ONE_AND_ZEROS") out[data.length] = 0x80;
  else if (padding === "ZEROS_AND_LEN") out[out.length - 1] = n;
  return out;
}

/** Padding length to strip from the last block, or -1 when it is invalid. */
function unpadLength(last: Uint8Array, padding: Padding): number {
  const block = last.length;
  switch (padding) {
    case "PKCS7": {
      const n = last[block - 1] as number;
      if (n === 0 || n > block) return -1;
      for (let i = block - n; i < block; i++) if (last[i] !== n) return -1;
      return n;
    }
    case "ZERO": {
      let end = block;
      while (end > 0 && last[end - 1] === 0) end--;
      return block - end;
    }
    case "ONE_AND_ZEROS": {
      let end = block;
      while (end > 0 && last[end - 1] === 0) end--;
      if (end === 0 || last[end - 1] !== 0x80) return -1;
      return block - end + 1;
    }
    case "ZEROS_AND_LEN": {
      const n = last[block - 1] as number;
      if (n === 0 || n > block) return -1;
      for (let i = block - n; i < block - 1; i++) if (last[i] !== 0) return -1;
      return n;
    }
    default:
      return 0;
  }
}

function runCipher(spec: CipherSpec, encrypt: boolean, keyArg: Uint8Array, iv: Uint8Array | null, data: Uint8Array): Uint8Array {
  const key = spec.keyOf ? spec.keyOf(keyArg) : keyArg;
  const cipher = encrypt ? createCipheriv(spec.node, key, iv) : createDecipheriv(spec.node, key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * GCM as the firmware runs it: the fixed additional data, a 16-byte tag from encryption,
 * and decryption that never checks a tag (cipher_decrypt takes none).
 */
function runGcm(spec: CipherSpec, encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): { out: Uint8Array; tag?: Uint8Array } {
  if (encrypt) {
    const cipher = createCipheriv(spec.node as "aes-128-gcm", key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(GCM_AAD);
    const out = Buffer.concat([cipher.update(data), cipher.final()]);
    return { out, tag: cipher.getAuthTag() };
  }
  const decipher = createDecipheriv(spec.node as "aes-128-gcm", key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(GCM_AAD);
  return { out: decipher.update(data) };
}

/**
 * The firmware's cipher routine. Undefined when the cipher, key or IV is refused (the
 * firmware then returns nothing); otherwise the output, possibly partial.
 */
export function cipherTransform(name: string, paddingName: string, data: Uint8Array, key: Uint8Array, ivArg: Uint8Array, encrypt: boolean): { out: Uint8Array; tag?: Uint8Array } | undefined {
  const spec = cipherSpec(name);
  if (!spec) return undefined;
  let iv: Uint8Array | null = null;
  if (spec.iv > 0) {
    if (ivArg.length === 0) iv = new Uint8Array(spec.iv);
    else if (ivArg.length < spec.iv) return undefined;
    else iv = spec.mode === "GCM" ? ivArg : ivArg.subarray(0, spec.iv);
  }
  const padding = paddingOf(paddingName);
  try {
    if (spec.mode === "GCM") return runGcm(spec, encrypt, key, iv as Uint8Array, data);
    runCipher(spec, encrypt, key, iv, new Uint8Array(0));
  } catch {
    return undefined;
  }
  const blockMode = spec.mode === "ECB" || spec.mode === "CBC";
  if (!blockMode) return { out: runCipher(spec, encrypt, key, iv, data) };
  const aligned = data.subarray(0, data.length - (data.length % spec.block));
  if (encrypt) {
    // Every padding but NONE adds 1..block bytes; otherwise an unaligned tail makes the
    // firmware stop after the whole blocks.
    return { out: runCipher(spec, true, key, iv, padding !== "NONE" ? pad(data, spec.block, padding) : aligned) };
  }
  const plain = runCipher(spec, false, key, iv, aligned);
  const unaligned = aligned.length !== data.length;
  if (padding === "NONE" || plain.length === 0) return { out: plain };
  const lastStart = plain.length - spec.block;
  if (unaligned && spec.mode === "CBC") return { out: plain.subarray(0, lastStart) };
  // CBC leaves padding to mbedtls (a bad one loses the last block); ECB strips its own,
  // leniently except for PKCS7.
  const n = spec.mode === "ECB" && padding !== "PKCS7" ? lenientUnpad(plain.subarray(lastStart), padding) : unpadLength(plain.subarray(lastStart), padding);
  if (n < 0) return { out: plain.subarray(0, lastStart) };
  return { out: plain.subarray(0, plain.length - n) };
}

/** The firmware's own ECB unpadding: what does not look like padding stays. */
function lenientUnpad(last: Uint8Array, padding: Padding): number {
  const block = last.length;
  let end = block;
  if (padding === "ZEROS_AND_LEN") {
    const n = last[block - 1] as number;
    return n > 0 && n <= block ? n : 0;
  }
  while (end > 0 && last[end - 1] === 0) end--;
  if (padding === "ZERO") return block - end;
  return end > 0 && last[end - 1] === 0x80 ? block - end + 1 : 0;
}

function cipherFunction(encrypt: boolean): LuaJsFunction {
  return (L) => {
    const name = lua.lua_isnoneornil(L, 1) ? "AES-128-ECB" : textOf(checkBytes(L, 1));
    const padding = lua.lua_isnoneornil(L, 2) ? "PKCS7" : textOf(checkBytes(L, 2));
    const data = checkBytes(L, 3);
    const key = checkBytes(L, 4);
    const iv = lua.lua_isnoneornil(L, 5) ? new Uint8Array(0) : checkBytes(L, 5);
    const result = cipherTransform(name, padding, data, key, iv, encrypt);
    if (!result) return 0;
    pushBytes(L, result.out);
    if (!result.tag) return 1;
    pushBytes(L, result.tag);
    return 2;
  };
}

function pushList(L: LuaState, names: readonly string[]): number {
  lua.lua_createtable(L, names.length, 0);
  names.forEach((name, i) => {
    pushText(L, name);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
}

const cipherList: LuaJsFunction = (L) => pushList(L, supportedCiphers());

const cipherSuites: LuaJsFunction = (L) =>
  pushList(L, TLS_SUITES);

/** The TLS suites the firmware's mbedtls build offers, strongest first as mbedtls lists them. */
const TLS_SUITES = [
  "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM",
  "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA",
  "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM-8", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
  "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256",
  "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA",
  "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8", "TLS-RSA-WITH-AES-256-GCM-SHA384", "TLS-RSA-WITH-AES-256-CCM",
  "TLS-RSA-WITH-AES-256-CBC-SHA256", "TLS-RSA-WITH-AES-256-CBC-SHA", "TLS-RSA-WITH-AES-256-CCM-8",
  "TLS-RSA-WITH-AES-128-GCM-SHA256", "TLS-RSA-WITH-AES-128-CCM", "TLS-RSA-WITH-AES-128-CBC-SHA256",
  "TLS-RSA-WITH-AES-128-CBC-SHA", "TLS-RSA-WITH-AES-128-CCM-8", "TLS-RSA-PSK-WITH-AES-256-GCM-SHA384",
  "TLS-RSA-PSK-WITH-AES-256-CBC-SHA384", "TLS-RSA-PSK-WITH-AES-256-CBC-SHA", "TLS-RSA-PSK-WITH-AES-128-GCM-SHA256",
  "TLS-RSA-PSK-WITH-AES-128-CBC-SHA256", "TLS-RSA-PSK-WITH-AES-128-CBC-SHA",
];

const encrypt = cipherFunction(true);

export const crypto: ModuleDef = {
  name: "crypto",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 32);
    setFunctions(L, -1, {
      md5: hashFunction("md5"),
      sha1: hashFunction("sha1"),
      sha256: hashFunction("sha256"),
      sha512: hashFunction("sha512"),
      hmac_md5: hmacFunction("md5"),
      hmac_sha1: hmacFunction("sha1"),
      hmac_sha256: hmacFunction("sha256"),
      hmac_sha512: hmacFunction("sha512"),
      cipher: encrypt,
      cipher_encrypt: encrypt,
      cipher_decrypt: cipherFunction(false),
      cipher_list: cipherList,
      cipher_suites: cipherSuites,
      crc16: crc16Fn,
      crc16_modbus: crc16ModbusFn,
      crc32: crc32Fn,
      crc8: crc8Fn,
      crc7: crc7Fn,
      trng,
      totp,
      // The firmware's crypto.base64_* are string.toBase64/fromBase64 under other names.
      base64_encode: toBase64,
      base64_decode: fromBase64,
      md_file: mdFile,
      md,
      checksum,
      hash_init: hashInit,
      hash_update: hashUpdate,
      hash_finish: hashFinish,
    });
  },
};
