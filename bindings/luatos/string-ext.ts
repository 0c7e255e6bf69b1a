// The LuatOS firmware's additions to Lua's `string` table: toHex/fromHex, split, toValue,
// urlEncode, Base64/Base32, startsWith/endsWith and trim, over byte strings.
import { lua, bytesOf, pushBytes, type LuaJsFunction } from "../../engine/lua.js";
import { checkBytes, checkInteger } from "../../engine/args.js";
import { HEX_UPPER, base32Of, base64Of, bytesFromBase32, bytesFromBase64, bytesFromHex, hexOf } from "./encodings.js";

function startsWithBytes(s: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (at < 0 || at + prefix.length > s.length) return false;
  for (let i = 0; i < prefix.length; i++) if (s[at + i] !== prefix[i]) return false;
  return true;
}

const toHex: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const sep = lua.lua_isnoneornil(L, 2) ? new Uint8Array(0) : checkBytes(L, 2);
  pushBytes(L, hexOf(s, sep));
  // The length of the hex digits alone, separators not counted (the firmware's figure).
  lua.lua_pushinteger(L, s.length * 2);
  return 2;
};

const fromHex: LuaJsFunction = (L) => {
  pushBytes(L, bytesFromHex(checkBytes(L, 1)));
  return 1;
};

/**
 * string.split(s[, sep[, keepEmpty]]): sep is a plain byte string (default ","); empty
 * pieces are dropped unless keepEmpty is true.
 */
const split: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  let sep = lua.lua_isnoneornil(L, 2) ? bytesOf(",") : checkBytes(L, 2);
  if (sep.length === 0) sep = bytesOf(",");
  const keepEmpty = lua.lua_type(L, 3) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 3);
  lua.lua_createtable(L, 4, 0);
  if (s.length === 0) return 1;
  let n = 0;
  let start = 0;
  const add = (end: number) => {
    if (end > start || keepEmpty) {
      pushBytes(L, s.subarray(start, end));
      lua.lua_rawseti(L, -2, ++n);
    }
  };
  for (let i = 0; i <= s.length - sep.length; ) {
    if (startsWithBytes(s, sep, i)) {
      add(i);
      i += sep.length;
      start = i;
    } else {
      i++;
    }
  }
  add(s.length);
  return 1;
};

const toValue: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const out = s.map((c) => (c > 0x39 ? c + 9 : c) & 0x0f);
  pushBytes(L, out);
  lua.lua_pushinteger(L, s.length);
  return 2;
};

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * string.urlEncode(s[, mode[, space, keep]]): mode 0 (default, PHP style: space → '+',
 * keeps . - * _), 1 (RFC 3986: space → %20, keeps . - _), -1 (custom: `space` 0 → '+',
 * 1 → %20; `keep` lists the bytes left alone).
 */
const urlEncode: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const mode = lua.lua_gettop(L) >= 2 ? checkInteger(L, 2) : 0;
  let spaceAsPlus = true;
  let keep = bytesOf(".-*_");
  if (mode === -1) {
    spaceAsPlus = checkInteger(L, 3) === 0;
    keep = checkBytes(L, 4);
  } else if (mode === 1) {
    spaceAsPlus = false;
    keep = bytesOf(".-_");
  }
  const out: number[] = [];
  for (const c of s) {
    if (isAlnum(c) || keep.includes(c)) out.push(c);
    else if (c === 0x20 && spaceAsPlus) out.push(0x2b);
    else out.push(0x25, HEX_UPPER.charCodeAt(c >> 4), HEX_UPPER.charCodeAt(c & 15));
  }
  pushBytes(L, Uint8Array.from(out));
  return 1;
};

export const toBase64: LuaJsFunction = (L) => {
  pushBytes(L, base64Of(checkBytes(L, 1)));
  return 1;
};

export const fromBase64: LuaJsFunction = (L) => {
  pushBytes(L, bytesFromBase64(checkBytes(L, 1)));
  return 1;
};

const toBase32: LuaJsFunction = (L) => {
  pushBytes(L, base32Of(checkBytes(L, 1)));
  return 1;
};

const fromBase32: LuaJsFunction = (L) => {
  pushBytes(L, bytesFromBase32(checkBytes(L, 1)) ?? new Uint8Array(0));
  return 1;
};

const startsWith: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  lua.lua_pushboolean(L, startsWithBytes(s, checkBytes(L, 2), 0));
  return 1;
};

const endsWith: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const suffix = checkBytes(L, 2);
  lua.lua_pushboolean(L, startsWithBytes(s, suffix, s.length - suffix.length));
  return 1;
};

const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** string.trim(s[, left = true[, right = true]]): spaces, tabs, CR and LF. */
const trim: LuaJsFunction = (L) => {
  const s = checkBytes(L, 1);
  const left = lua.lua_type(L, 2) === lua.LUA_TBOOLEAN ? lua.lua_toboolean(L, 2) : true;
  const right = lua.lua_type(L, 3) === lua.LUA_TBOOLEAN ? lua.lua_toboolean(L, 3) : true;
  let begin = 0;
  let end = s.length;
  if (left) while (begin < end && isBlank(s[begin])) begin++;
  if (right) while (end > begin && isBlank(s[end - 1])) end--;
  pushBytes(L, s.subarray(begin, end));
  return 1;
};

export const stringFunctions: Record<string, LuaJsFunction> = {
  toHex, fromHex, split, toValue, urlEncode, toBase64, fromBase64, toBase32, fromBase32, startsWith, endsWith, trim,
};
