// LuatOS `json` (the firmware's lua-cjson): encode never raises but returns nil and the
// message; decode returns the value and 1, or nil, false and the message. Integers encode
// as integers, other numbers with the format the second argument of encode gives
// ("7f" by default since the 2024-01 firmware: %.7f; "12f", "7g", ...). An empty table is
// `{}`, JSON null is json.null.
import { lua, lauxlib, pushBytes, textOf, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { defineModule } from "../common/module.js";
import { CjsonError, decodeCjson, encodeCjson, type CjsonDialect } from "../common/cjson-codec.js";

/** The light userdata standing for JSON null (the firmware's NULL pointer). */
export const LUATOS_JSON_NULL: object = Object.freeze({ luatosJsonNull: true });

export function pushJsonNull(L: LuaState): void {
  lua.lua_pushlightuserdata(L, LUATOS_JSON_NULL);
}

const DEFAULT_PRECISION = 7;
const MAX_PRECISION = 14;

// ---- number formatting, exactly as C's printf rounds (the double's exact value, ties to even) ----

interface NumberFormat {
  mode: "f" | "g";
  precision: number;
}

/** |x| as num / den, den a power of two. */
function exactRational(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let shift: number;
  if (exponent === 0) shift = -1074;
  else {
    mantissa |= 1n << 52n;
    shift = exponent - 1075;
  }
  return shift >= 0 ? { num: mantissa << BigInt(shift), den: 1n } : { num: mantissa, den: 1n << BigInt(-shift) };
}

/** round(num / den) with ties to even. */
function roundDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** round(|x| * 10^k) for any integer k. */
function scaled(x: number, k: number): bigint {
  const { num, den } = exactRational(x);
  return k >= 0 ? roundDiv(num * 10n ** BigInt(k), den) : roundDiv(num, den * 10n ** BigInt(-k));
}

function withPoint(digits: bigint, decimals: number): string {
  if (decimals === 0) return digits.toString();
  const text = digits.toString().padStart(decimals + 1, "0");
  return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

/** C's "%.{p}f". */
export function formatFixed(x: number, precision: number): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  return sign + withPoint(scaled(x, precision), precision);
}

/** C's "%.{p}g". */
export function formatGeneral(x: number, precision: number): string {
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const p = precision === 0 ? 1 : precision;
  if (x === 0) return `${sign}0`;
  // The decimal exponent of x once rounded to p significant digits.
  let exponent = Math.floor(Math.log10(Math.abs(x)));
  let digits = scaled(x, p - 1 - exponent);
  if (digits >= 10n ** BigInt(p)) {
    exponent++;
    digits = scaled(x, p - 1 - exponent);
  } else if (digits < 10n ** BigInt(p - 1)) {
    exponent--;
    digits = scaled(x, p - 1 - exponent);
  }
  let text: string;
  if (exponent < -4 || exponent >= p) {
    const mantissa = withPoint(digits, p - 1);
    const trimmed = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
    text = `${trimmed}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  } else {
    const fixed = withPoint(digits, p - 1 - exponent);
    text = fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
  }
  return sign + text;
}

/**
 * The format argument, checked as strictly as the firmware does: "<digits>f|g" or
 * "%.<digits>f|g" with one to three digits; undefined for anything else.
 */
function parseFormat(spec: Uint8Array): NumberFormat | undefined {
  const body = spec[0] === 0x25 ? (spec[1] === 0x2e ? spec.subarray(2) : undefined) : spec;
  if (!body || body.length < 2 || body.length > 4) return undefined;
  const mode = body[body.length - 1];
  if (mode !== 0x66 && mode !== 0x67) return undefined;
  let precision = 0;
  for (const digit of body.subarray(0, body.length - 1)) {
    if (digit < 0x30 || digit > 0x39) return undefined;
    precision = precision * 10 + (digit - 0x30);
  }
  return { mode: mode === 0x66 ? "f" : "g", precision: precision <= MAX_PRECISION ? precision : DEFAULT_PRECISION };
}

// ---- the module ----

const DIALECT: Omit<CjsonDialect, "formatNumber"> = {
  isNull: (pointer) => pointer === LUATOS_JSON_NULL,
  nonFiniteReason: "must not be NaN or Inf",
  infiniteIndex: false,
};

function formatter(format: NumberFormat): (n: number) => string {
  return format.mode === "f" ? (n) => formatFixed(n, format.precision) : (n) => formatGeneral(n, format.precision);
}

/** json.encode(value[, format]) → string, or nil and the reason. */
const encode = (L: LuaState): number => {
  // The firmware encodes nil (or nothing) as an empty string.
  if (lua.lua_isnoneornil(L, 1)) {
    lua.lua_pushstring(L, "");
    return 1;
  }
  let format: NumberFormat | undefined = { mode: "f", precision: DEFAULT_PRECISION };
  if (lua.lua_isstring(L, 2)) format = parseFormat(checkBytes(L, 2));
  if (!format) {
    lua.lua_pushnil(L);
    lua.lua_pushstring(L, "invalid float format");
    return 2;
  }
  let text: Uint8Array;
  try {
    text = encodeCjson(L, 1, { ...DIALECT, formatNumber: formatter(format) });
  } catch (error) {
    if (!(error instanceof CjsonError)) throw error;
    lua.lua_pushnil(L);
    lua.lua_pushstring(L, error.message);
    return 2;
  }
  pushBytes(L, text);
  return 1;
};

function decodeFailure(L: LuaState, message: string): number {
  lua.lua_pushnil(L);
  lua.lua_pushboolean(L, false);
  lua.lua_pushstring(L, message);
  return 3;
}

/** json.decode(s) → value, 1; or nil, false, message (never raises). */
const decode = (L: LuaState): number => {
  const t = lua.lua_type(L, 1);
  if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) {
    return decodeFailure(L, `bad argument #1 to 'decode' (string expected, got ${t === lua.LUA_TNONE ? "no value" : textOf(lauxlib.luaL_typename(L, 1))})`);
  }
  try {
    decodeCjson(L, lua.lua_tolstring(L, 1) as Uint8Array, pushJsonNull);
  } catch (error) {
    if (!(error instanceof CjsonError)) throw error;
    return decodeFailure(L, error.message);
  }
  lua.lua_pushinteger(L, 1);
  return 2;
};

export const json = defineModule("json", {
  functions: { encode, decode },
  setup: (L) => {
    pushJsonNull(L);
    lua.lua_setfield(L, -2, "null");
  },
});
