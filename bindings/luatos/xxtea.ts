// LuatOS `xxtea`: XXTEA over little-endian 32-bit words, the plaintext's length stored in an
// extra last word (so decrypt can trim the padding). The key is a C string: its bytes up to
// the first NUL, cut or zero-padded to 16. Empty input or a ciphertext whose length word
// does not fit gives no value.
import { pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const DELTA = 0x9e3779b9;
const KEY_BYTES = 16;

function keyWords(raw: Uint8Array): Uint32Array {
  const key = new Uint8Array(KEY_BYTES);
  const end = raw.indexOf(0);
  key.set(raw.subarray(0, Math.min(end < 0 ? raw.length : end, KEY_BYTES)));
  return toWords(key, false);
}

/** Little-endian words, the last one zero-padded; with `withLength` one more word holding the byte count. */
function toWords(bytes: Uint8Array, withLength: boolean): Uint32Array {
  const n = Math.ceil(bytes.length / 4);
  const words = new Uint32Array(withLength ? n + 1 : n);
  for (let i = 0; i < bytes.length; i++) words[i >> 2] = ((words[i >> 2] as number) | ((bytes[i] as number) << ((i & 3) * 8))) >>> 0;
  if (withLength) words[n] = bytes.length;
  return words;
}

function toBytes(words: Uint32Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((words[i >> 2] as number) >>> ((i & 3) * 8)) & 0xff;
  return out;
}

function mx(sum: number, y: number, z: number, p: number, e: number, key: Uint32Array): number {
  return ((((z >>> 5) ^ (y << 2)) + ((y >>> 3) ^ (z << 4))) ^ ((sum ^ y) + ((key[(p & 3) ^ e] as number) ^ z))) >>> 0;
}

function encryptWords(v: Uint32Array, key: Uint32Array): void {
  const n = v.length - 1;
  if (n < 1) return;
  let z = v[n] as number;
  let sum = 0;
  for (let q = 6 + Math.floor(52 / (n + 1)); q > 0; q--) {
    sum = (sum + DELTA) >>> 0;
    const e = (sum >>> 2) & 3;
    let p = 0;
    for (; p < n; p++) {
      const y = v[p + 1] as number;
      z = v[p] = ((v[p] as number) + mx(sum, y, z, p, e, key)) >>> 0;
    }
    const y = v[0] as number;
    z = v[n] = ((v[n] as number) + mx(sum, y, z, p, e, key)) >>> 0;
  }
}

function decryptWords(v: Uint32Array, key: Uint32Array): void {
  const n = v.length - 1;
  if (n < 1) return;
  const rounds = 6 + Math.floor(52 / (n + 1));
  let sum = Math.imul(rounds, DELTA) >>> 0;
  let y = v[0] as number;
  while (sum !== 0) {
    const e = (sum >>> 2) & 3;
    let p = n;
    for (; p > 0; p--) {
      const z = v[p - 1] as number;
      y = v[p] = ((v[p] as number) - mx(sum, y, z, p, e, key)) >>> 0;
    }
    const z = v[n] as number;
    y = v[0] = ((v[0] as number) - mx(sum, y, z, p, e, key)) >>> 0;
    sum = (sum - DELTA) >>> 0;
  }
}

const encrypt = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const key = keyWords(checkBytes(L, 2));
  if (data.length === 0) return 0;
  const words = toWords(data, true);
  encryptWords(words, key);
  pushBytes(L, toBytes(words, words.length * 4));
  return 1;
};

const decrypt = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const key = keyWords(checkBytes(L, 2));
  if (data.length === 0) return 0;
  const words = toWords(data, false);
  decryptWords(words, key);
  // The last word is the plaintext length: it must name one of the last four byte counts.
  const room = words.length * 4 - 4;
  const length = words[words.length - 1] as number;
  if (room < 3 || length < room - 3 || length > room) return 0;
  pushBytes(L, toBytes(words, length));
  return 1;
};

export const xxtea = defineModule("xxtea", { functions: { encrypt, decrypt } });
