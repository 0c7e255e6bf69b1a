// Hex, Base64 and Base32 over byte strings, in the firmware's forms (uppercase hex; the
// decoders' leniency), shared by the string additions, crypto, zbuff and iotauth.
import { bytesOf } from "../../engine/lua.js";

export const HEX_UPPER = "0123456789ABCDEF";

export function hexOf(bytes: Uint8Array, separator: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(bytes.length * (2 + separator.length));
  let o = 0;
  for (const b of bytes) {
    out[o++] = HEX_UPPER.charCodeAt(b >> 4);
    out[o++] = HEX_UPPER.charCodeAt(b & 15);
    out.set(separator, o);
    o += separator.length;
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * The firmware's fromHex: pairs of hex digits; any other byte is a separator that also
 * drops a pending half pair ("31 32:33" → "123").
 */
export function bytesFromHex(text: Uint8Array): Uint8Array {
  const out: number[] = [];
  let high = -1;
  for (const c of text) {
    const d = hexDigit(c);
    if (d < 0) {
      high = -1;
    } else if (high < 0) {
      high = d;
    } else {
      out.push((high << 4) | d);
      high = -1;
    }
  }
  return Uint8Array.from(out);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Of(bytes: Uint8Array): Uint8Array {
  return bytesOf(Buffer.from(bytes).toString("base64"));
}

/**
 * Decodes like the firmware (mbedtls rules): spaces and line breaks are skipped, at most
 * two '=' and only at the end, an incomplete final group is dropped; anything invalid
 * gives an empty string rather than an error.
 */
export function bytesFromBase64(text: Uint8Array): Uint8Array {
  const values: number[] = [];
  let pads = 0;
  for (const c of text) {
    if (c === 0x20 || c === 0x0d || c === 0x0a) continue;
    if (c === 0x3d) {
      pads++;
      if (pads > 2) return new Uint8Array(0);
      values.push(-1);
      continue;
    }
    const v = B64.indexOf(String.fromCharCode(c));
    if (v < 0 || pads > 0) return new Uint8Array(0);
    values.push(v);
  }
  const out: number[] = [];
  for (let i = 0; i + 4 <= values.length; i += 4) {
    const group = values.slice(i, i + 4);
    const x = group.reduce((acc, v) => (acc << 6) | Math.max(v, 0), 0);
    const real = group.filter((v) => v >= 0).length;
    out.push((x >> 16) & 255);
    if (real > 2) out.push((x >> 8) & 255);
    if (real > 3) out.push(x & 255);
  }
  return Uint8Array.from(out);
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 alphabet without padding, as the firmware writes it. */
export function base32Of(bytes: Uint8Array): Uint8Array {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(buffer << (5 - bits)) & 31];
  return bytesOf(out);
}

/**
 * The firmware's lenient base32 decoder (the one TOTP secrets go through): separators
 * skipped, case ignored, the usual typos 0/1/8 read as O/L/B; null for an invalid byte.
 */
export function bytesFromBase32(text: Uint8Array): Uint8Array | null {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (let c of text) {
    if (c === 0) break;
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x2d) continue;
    if (c === 0x30) c = 0x4f;
    else if (c === 0x31) c = 0x4c;
    else if (c === 0x38) c = 0x42;
    let v: number;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) v = (c & 0x1f) - 1;
    else if (c >= 0x32 && c <= 0x37) v = c - 0x32 + 26;
    else return null;
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}
