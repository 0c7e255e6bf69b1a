// Lua source snippets for tests, and running chunks in a captured runtime.
import { expect } from "chai";
import type { JsValue } from "../../engine/lua.js";
import type { Captured } from "./capture.js";

/** A Lua string literal holding exactly these bytes. */
export function luaString(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? Buffer.from(value) : value;
  let out = '"';
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\${b.toString().padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** Lua: `show(name)` makes a callback that prints NAME and its table argument's fields, sorted (event tables). */
export const SHOW_EVENT = `
local function show(name)
  return function(T)
    local keys = {}
    for k in pairs(T) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {name}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(T[k]) end
    print(table.concat(parts, " "))
  end
end
`;

/** A value from Runtime.exec with Lua strings as latin1 JS strings, byte for byte. */
export function plain(value: JsValue): unknown {
  if (Buffer.isBuffer(value)) return value.toString("latin1");
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Runs a chunk; Lua strings come back as latin1 JS strings, byte for byte. */
export function run(c: Captured, source: string): unknown[] {
  return c.rt.exec(source).map(plain);
}

/** The message `code` raises inside a Lua function; its position is (exec):2. */
export function errorOf(c: Captured, code: string): string {
  return pcallError(c, code, `return pcall(function()\n${code}\nend)`);
}

/** The message `code` raises inside a Lua function written on one line: (exec):1. */
export function errorOnLine1(c: Captured, code: string): string {
  return pcallError(c, code, `return pcall(function() ${code} end)`);
}

function pcallError(c: Captured, code: string, chunk: string): string {
  const [ok, message] = run(c, chunk);
  expect(ok, `${code} should fail`).to.equal(false);
  return message as string;
}

/** What running `chunk` raises out of Runtime.exec, or "no error". */
export function execError(c: Captured, chunk: string): string {
  try {
    c.rt.exec(chunk);
    return "no error";
  } catch (error) {
    return (error as Error).message;
  }
}
