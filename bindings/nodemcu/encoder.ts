// NodeMCU `encoder`: Base64 and hex on byte strings, with the firmware's strict decoding.
import { pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD = 0x3d;
const base64Values = new Int16Array(256).fill(-1);
for (let i = 0; i < BASE64.length; i++) base64Values[BASE64.charCodeAt(i)] = i;

export function toBase64(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.from(Buffer.from(bytes).toString("base64"), "latin1"));
}

export function toHex(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.from(Buffer.from(bytes).toString("hex"), "latin1"));
}

/** undefined for a string the firmware refuses: length not a multiple of 4, stray characters. */
export function fromBase64(text: Uint8Array): Uint8Array | undefined {
  const n = text.length;
  if (n === 0) return new Uint8Array();
  if (n % 4 !== 0) return undefined;
  const pad = text[n - 1] === PAD ? (text[n - 2] === PAD ? 2 : 1) : 0;
  const values: number[] = [];
  for (let i = 0; i < n - pad; i++) {
    const value = base64Values[text[i] as number] as number;
    if (value < 0) return undefined;
    values.push(value);
  }
  const out: number[] = [];
  for (let i = 0; i + 1 < values.length; i += 4) {
    const [a, b, c, d] = [values[i] ?? 0, values[i + 1] ?? 0, values[i + 2], values[i + 3]];
    out.push(((a << 2) | (b >> 4)) & 0xff);
    if (c !== undefined) out.push(((b << 4) | (c >> 2)) & 0xff);
    if (c !== undefined && d !== undefined) out.push(((c << 6) | d) & 0xff);
  }
  return Uint8Array.from(out);
}

export function fromHex(text: Uint8Array): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as number;
    const nibble = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (nibble < 0) return undefined;
    out[i >> 1] = ((out[i >> 1] as number) << 4) | nibble;
  }
  return out;
}

function converter(convert: (bytes: Uint8Array) => Uint8Array | undefined, failure: string) {
  return (L: LuaState): number => {
    const result = convert(checkBytes(L, 1));
    if (!result) raise(L, failure);
    pushBytes(L, result);
    return 1;
  };
}

export const encoder = defineModule("encoder", {
  functions: {
    toBase64: converter(toBase64, ""),
    fromBase64: converter(fromBase64, "Invalid base64 string"),
    toHex: converter(toHex, ""),
    fromHex: converter(fromHex, "Invalid hex string"),
  },
});
