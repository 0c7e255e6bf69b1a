// NodeMCU `bloom`: Bloom filters sized and hashed as bloom.c does (bit positions from
// 24-bit slices of the SHA-256 of the string), so a filter answers true for the same
// strings, and info() reports the same figures, as on the device.
import { createHash } from "node:crypto";
import { lua, pushUserdata, checkUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const METATABLE = "bloom.filter";
const PROBABILITY_LIMIT = 1000000;

interface Filter {
  fns: number;
  /** The bit array as 32-bit words (bloom_t's uint16 `size`). */
  words: Uint32Array;
  occupancy: number;
}

/** bloom.create's sizing: about 1.5 * elements * log2(errorrate) bits, in 32-bit words. */
export function filterShape(elements: number, errorRate: number): { words: number; fns: number } {
  let logp = 0;
  for (let n = errorRate; n > 0; n >>= 1) logp--;
  let bits = -elements * logp;
  bits += bits >> 1;
  bits = (bits + 31) & ~31;
  if (bits < 256) bits = 256;
  let fns = elements === 0 ? 15 : Math.trunc(bits / elements);
  fns = (fns >> 1) + Math.trunc(fns / 6);
  fns = Math.min(15, Math.max(2, fns));
  // The firmware keeps the word count in 16 bits.
  return { words: (bits >> 5) & 0xffff, fns };
}

function addOrCheck(filter: Filter, bytes: Uint8Array, add: boolean): boolean {
  const hash = createHash("sha256").update(bytes).digest();
  const bits = filter.words.length * 32;
  const step = filter.fns > 10 ? 2 : 3;
  let present = true;
  for (let i = 0, h = 0; i < filter.fns; i++, h += step) {
    const position = ((((hash[h] as number) << 16) | ((hash[h + 1] as number) << 8) | (hash[h + 2] as number)) >>> 0) % bits;
    const word = position >>> 5;
    const bit = 1 << (position & 31);
    if (((filter.words[word] as number) & bit) === 0) {
      present = false;
      if (!add) break;
      filter.words[word] = ((filter.words[word] as number) | bit) >>> 0;
      filter.occupancy++;
    }
  }
  return present;
}

/** info()'s false-positive figure: (bits / occupied)^fns, as 1-in-n, capped at a million. */
export function falsePositiveOneIn(bits: number, fns: number, occupancy: number): number {
  if (occupancy === 0) return PROBABILITY_LIMIT;
  const ratio = BigInt(Math.floor(bits / occupancy));
  let prob = ratio;
  for (let i = 1; i < fns && prob < BigInt(PROBABILITY_LIMIT); i++) prob *= ratio;
  if (prob < BigInt(PROBABILITY_LIMIT)) {
    // Small ratios lose too much to integer division: again in 1/256 units.
    const ratio256 = BigInt(Math.floor((bits * 256) / occupancy));
    let prob256 = ratio256;
    for (let i = 1; i < fns && prob256 < 256000000n; i++) prob256 = (prob256 * ratio256) >> 8n;
    prob = prob256 >> 8n;
  }
  return prob > BigInt(PROBABILITY_LIMIT) ? PROBABILITY_LIMIT : Number(prob);
}

const create = (L: LuaState): number => {
  const elements = checkInteger(L, 1);
  const errorRate = checkInteger(L, 2);
  const { words, fns } = filterShape(elements, errorRate);
  // A filter beyond 16 bits of words wraps to an empty one on the device, whose first use divides by zero.
  if (words === 0) raise(L, "not enough memory");
  pushUserdata<Filter>(L, { fns, words: new Uint32Array(words), occupancy: 0 }, METATABLE);
  return 1;
};

const filterArg = (L: LuaState): Filter => checkUserdata<Filter>(L, 1, METATABLE);

const add = (L: LuaState): number => {
  const filter = filterArg(L);
  lua.lua_pushboolean(L, addOrCheck(filter, checkBytes(L, 2), true));
  return 1;
};

const check = (L: LuaState): number => {
  const filter = filterArg(L);
  lua.lua_pushboolean(L, addOrCheck(filter, checkBytes(L, 2), false));
  return 1;
};

const reset = (L: LuaState): number => {
  const filter = filterArg(L);
  filter.words.fill(0);
  filter.occupancy = 0;
  return 0;
};

const info = (L: LuaState): number => {
  const filter = filterArg(L);
  const bits = filter.words.length * 32;
  lua.lua_pushinteger(L, bits);
  lua.lua_pushinteger(L, filter.fns);
  lua.lua_pushinteger(L, filter.occupancy);
  lua.lua_pushinteger(L, falsePositiveOneIn(bits, filter.fns, filter.occupancy));
  return 4;
};

export const bloom = defineModule("bloom", {
  functions: { create },
  metatables: { [METATABLE]: { methods: { add, check, reset, info } } },
});
