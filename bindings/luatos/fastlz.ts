// LuatOS `fastlz`: FastLZ level 1 and level 2 block format (LZ77 with 8 KiB windows; level 2
// adds longer lengths and far matches). The compressor makes the same choices as the C
// library the firmware ships (3-byte Fibonacci hash of 13 bits, greedy matching, 32-byte
// literal runs), so compressed sizes agree with the device; the decoder checks every bound
// and answers nothing for corrupt input, as the library's bound checks make it.
import { pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const HASH_BITS = 13;
const HASH_MASK = (1 << HASH_BITS) - 1;
const MAX_COPY = 32;
const MAX_LEN = 264;
const MAX_L1_DISTANCE = 8192;
const MAX_L2_DISTANCE = 8191;
const MAX_FAR_DISTANCE = 65535 + MAX_L2_DISTANCE - 1;
const DEFAULT_MAXOUT = 4096;

const hashOf = (seq: number): number => (Math.imul(seq, 0x9e3779b9) >>> (32 - HASH_BITS)) & HASH_MASK;

/** Grows as the compressor writes; the worst case is about 1/32 over the input. */
class Output {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  push(...values: number[]): void {
    if (this.length + values.length > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2 + values.length);
      bigger.set(this.bytes.subarray(0, this.length));
      this.bytes = bigger;
    }
    for (const value of values) this.bytes[this.length++] = value & 0xff;
  }

  literals(data: Uint8Array, from: number, count: number): void {
    let at = from;
    let left = count;
    while (left > 0) {
      const run = Math.min(left, MAX_COPY);
      this.push(run - 1, ...data.subarray(at, at + run));
      at += run;
      left -= run;
    }
  }
}

/** `length` is the match length less 2; `distance` counts from the byte after the match source. */
function level1Match(out: Output, length: number, distance: number): void {
  const d = distance - 1;
  let len = length;
  while (len > MAX_LEN - 2) {
    out.push((7 << 5) + (d >> 8), MAX_LEN - 2 - 7 - 2, d & 0xff);
    len -= MAX_LEN - 2;
  }
  if (len < 7) out.push((len << 5) + (d >> 8), d & 0xff);
  else out.push((7 << 5) + (d >> 8), len - 7, d & 0xff);
}

function level2Match(out: Output, length: number, distance: number): void {
  let d = distance - 1;
  const extra: number[] = [];
  if (length >= 7) {
    let rest = length - 7;
    for (; rest >= 255; rest -= 255) extra.push(255);
    extra.push(rest);
  }
  const code = Math.min(length, 7) << 5;
  if (d < MAX_L2_DISTANCE) {
    out.push(code + (d >> 8), ...extra, d & 0xff);
  } else {
    // A far match: distance field 31/255, then 16 more bits of distance.
    d -= MAX_L2_DISTANCE;
    out.push(code + 31, ...extra, 255, d >> 8, d & 0xff);
  }
}

export function compress(data: Uint8Array, level: 1 | 2): Uint8Array {
  const n = data.length;
  const read24 = (at: number): number => (data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16);
  const out = new Output(n > 512 ? Math.floor(n * 1.05) : 1024);
  const table = new Uint32Array(1 << HASH_BITS);
  const bound = n - 4;
  const limit = n - 13;
  const maxDistance = level === 1 ? MAX_L1_DISTANCE : MAX_FAR_DISTANCE;
  let anchor = 0;
  let ip = 2;
  while (ip < limit) {
    let seq: number;
    let ref: number;
    let distance: number;
    let cmp: number;
    // Find the next position whose 3 bytes match the last position with the same hash.
    do {
      seq = read24(ip);
      const hash = hashOf(seq);
      ref = table[hash] as number;
      table[hash] = ip;
      distance = ip - ref;
      cmp = distance < maxDistance ? read24(ref) : 0x1000000;
      if (ip >= limit) break;
      ip++;
    } while (seq !== cmp);
    if (ip >= limit) break;
    ip--;
    // Level 2's far matches must be at least 5 bytes long to pay for their longer code.
    if (level === 2 && distance >= MAX_L2_DISTANCE && (data[ref + 3] !== data[ip + 3] || data[ref + 4] !== data[ip + 4])) {
      ip++;
      continue;
    }
    if (ip > anchor) out.literals(data, anchor, ip - anchor);
    // Counts the mismatching byte too, as the library does: the match length less 2.
    let p = ref + 3;
    let q = ip + 3;
    while (q < bound) if (data[p++] !== data[q++]) break;
    const len = p - (ref + 3);
    if (level === 1) level1Match(out, len, distance);
    else level2Match(out, len, distance);
    ip += len;
    table[hashOf(read24(ip))] = ip++;
    table[hashOf(read24(ip))] = ip++;
    anchor = ip;
  }
  out.literals(data, anchor, n - anchor);
  if (level === 2 && out.length > 0) out.bytes[0] = (out.bytes[0] as number) | (1 << 5);
  return out.bytes.slice(0, out.length);
}

/** undefined for corrupt input or output beyond `maxout`. */
export function decompress(input: Uint8Array, maxout: number): Uint8Array | undefined {
  // An empty string is read through its terminating NUL: level 1, then a failed literal.
  const level = ((input[0] ?? 0) >> 5) + 1;
  if (level !== 1 && level !== 2) return undefined;
  const out = new Uint8Array(maxout);
  const limit = input.length;
  const bound = limit - 2;
  let op = 0;
  let ip = 1;
  let ctrl = (input[0] ?? 0) & 31;
  for (;;) {
    if (ctrl >= 32) {
      let len = (ctrl >> 5) - 1;
      let ofs = (ctrl & 31) << 8;
      let ref = op - ofs - 1;
      if (len === 6) {
        if (level === 1) {
          if (ip > bound) return undefined;
          len += input[ip++] as number;
        } else {
          let code: number;
          do {
            if (ip > bound) return undefined;
            code = input[ip++] as number;
            len += code;
          } while (code === 255);
        }
      }
      const code = input[ip++] ?? 0;
      ref -= code;
      len += 3;
      if (level === 2 && code === 255 && ofs === 31 << 8) {
        if (ip >= bound) return undefined;
        ofs = ((input[ip] as number) << 8) + (input[ip + 1] as number);
        ip += 2;
        ref = op - ofs - MAX_L2_DISTANCE - 1;
      }
      if (op + len > maxout || ref < 0) return undefined;
      // Byte by byte: a match may overlap the bytes it produces.
      for (let i = 0; i < len; i++) out[op++] = out[ref + i] as number;
    } else {
      ctrl++;
      if (op + ctrl > maxout || ip + ctrl > limit) return undefined;
      out.set(input.subarray(ip, ip + ctrl), op);
      ip += ctrl;
      op += ctrl;
    }
    if (level === 1 ? ip > bound : ip >= limit) break;
    ctrl = input[ip++] as number;
  }
  return out.slice(0, op);
}

const compressLua = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const level = optInteger(L, 2, 1);
  if (level !== 1 && level !== 2) return 0;
  const result = compress(data, level);
  if (result.length === 0) return 0;
  pushBytes(L, result);
  return 1;
};

const uncompressLua = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const maxout = optInteger(L, 2, DEFAULT_MAXOUT);
  // size_t on the device: a negative size asks for more memory than there is.
  if (maxout < 0) raise(L, "not enough memory");
  const result = decompress(data, maxout);
  if (!result || result.length === 0) return 0;
  pushBytes(L, result);
  return 1;
};

export const fastlz = defineModule("fastlz", {
  functions: { compress: compressLua, uncompress: uncompressLua },
});
