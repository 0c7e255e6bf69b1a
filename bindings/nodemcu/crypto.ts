// NodeMCU `crypto`: digests, HMACs and AES over byte strings with node:crypto. Mechanism
// names are case-insensitive as in the firmware; AES pads with zeros, never PKCS#7, so the
// output is always whole blocks and a decryption keeps the padding.
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { lua, pushBytes, pushUserdata, checkUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkText, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";
import { toBase64, toHex } from "./encoder.js";

const HASH_METATABLE = "crypto.hash";
const DIGESTS: Record<string, string> = { MD5: "md5", SHA1: "sha1", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512" };
const AES_BLOCK = 16;

function checkMech(L: LuaState, arg: number): string {
  const algorithm = DIGESTS[checkText(L, arg).toUpperCase()];
  if (!algorithm) raise(L, "unknown hash mech");
  return algorithm;
}

function digest(algorithm: string, data: Uint8Array, key?: Uint8Array): Uint8Array {
  const hash = key ? createHmac(algorithm, key) : createHash(algorithm);
  return new Uint8Array(hash.update(data).digest());
}

const hash = (L: LuaState): number => {
  const algorithm = checkMech(L, 1);
  pushBytes(L, digest(algorithm, checkBytes(L, 2)));
  return 1;
};

const hmac = (L: LuaState): number => {
  const algorithm = checkMech(L, 1);
  const data = checkBytes(L, 2);
  pushBytes(L, digest(algorithm, data, checkBytes(L, 3)));
  return 1;
};

const sha1 = (L: LuaState): number => {
  pushBytes(L, digest("sha1", checkBytes(L, 1)));
  return 1;
};

/** XOR with the mask repeated over the message (WebSocket framing). */
const mask = (L: LuaState): number => {
  const message = checkBytes(L, 1);
  const key = checkBytes(L, 2);
  if (key.length === 0) raise(L, "invalid argument: mask");
  pushBytes(L, message.map((byte, i) => byte ^ (key[i % key.length] as number)));
  return 1;
};

/** A running digest; finalize may be called again and sees everything updated so far. */
interface HashState {
  algorithm: string;
  key: Uint8Array | undefined;
  chunks: Uint8Array[];
}

function newDigest(L: LuaState, withKey: boolean): number {
  const algorithm = checkMech(L, 1);
  const key = withKey ? Uint8Array.from(checkBytes(L, 2)) : undefined;
  pushUserdata<HashState>(L, { algorithm, key, chunks: [] }, HASH_METATABLE);
  return 1;
}

const update = (L: LuaState): number => {
  const state = checkUserdata<HashState>(L, 1, HASH_METATABLE);
  state.chunks.push(Uint8Array.from(checkBytes(L, 2)));
  return 0;
};

const finalize = (L: LuaState): number => {
  const state = checkUserdata<HashState>(L, 1, HASH_METATABLE);
  pushBytes(L, digest(state.algorithm, Buffer.concat(state.chunks), state.key));
  return 1;
};

function cipherName(L: LuaState, keyLength: number): [string, boolean] | undefined {
  const name = checkText(L, 1);
  const mode = name.toUpperCase();
  if (mode !== "AES-ECB" && mode !== "AES-CBC") raise(L, `unknown cipher: ${name}`);
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32) return undefined;
  return [`aes-${keyLength * 8}-ecb`, mode === "AES-CBC"];
}

/** The firmware's block loop: zero-padded blocks, CBC chained by hand over ECB. */
function crypt(L: LuaState, encrypt: boolean): number {
  const key = checkBytes(L, 2);
  const cipher = cipherName(L, key.length);
  const data = checkBytes(L, 3);
  const iv = lua.lua_isnoneornil(L, 4) ? new Uint8Array() : checkBytes(L, 4);
  if (!cipher) raise(L, "crypto op failed");
  const [algorithm, chained] = cipher;
  const blocks = Math.ceil(data.length / AES_BLOCK);
  const input = new Uint8Array(blocks * AES_BLOCK);
  input.set(data);
  const engine = encrypt ? createCipheriv(algorithm, key, null) : createDecipheriv(algorithm, key, null);
  engine.setAutoPadding(false);
  const out = new Uint8Array(input.length);
  let previous = new Uint8Array(AES_BLOCK);
  previous.set(iv.subarray(0, AES_BLOCK));
  for (let offset = 0; offset < input.length; offset += AES_BLOCK) {
    const block = input.slice(offset, offset + AES_BLOCK);
    if (chained && encrypt) for (let i = 0; i < AES_BLOCK; i++) block[i] = (block[i] as number) ^ (previous[i] as number);
    const result = new Uint8Array(engine.update(block));
    if (chained && !encrypt) for (let i = 0; i < AES_BLOCK; i++) result[i] = (result[i] as number) ^ (previous[i] as number);
    out.set(result, offset);
    if (chained) previous = encrypt ? result : input.slice(offset, offset + AES_BLOCK);
  }
  pushBytes(L, out);
  return 1;
}

const toBase64Lua = (L: LuaState): number => {
  pushBytes(L, toBase64(checkBytes(L, 1)));
  return 1;
};

const toHexLua = (L: LuaState): number => {
  pushBytes(L, toHex(checkBytes(L, 1)));
  return 1;
};

export const crypto = defineModule("crypto", {
  functions: {
    sha1, toBase64: toBase64Lua, toHex: toHexLua, mask, hash, hmac,
    new_hash: (L) => newDigest(L, false),
    new_hmac: (L) => newDigest(L, true),
    encrypt: (L) => crypt(L, true),
    decrypt: (L) => crypt(L, false),
  },
  metatables: { [HASH_METATABLE]: { methods: { update, finalize } } },
});
