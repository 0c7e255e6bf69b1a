// Each fengari patch (engine/fengari/patches/) against fengari without it: a child node
// process loads fengari's sources patched in memory, with every patch or with all but one,
// and reports what the patch changes (a count or a result). The same observation must read
// one way with the patch and the other way without, so no patch is there for nothing and
// none silently stops applying.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const patchesUrl = pathToFileURL(resolve(root, "engine/fengari/index.mjs")).href;

/**
 * Runs `body` (the inside of an async function given `require`, which loads fengari patched
 * but for `except`; it returns a JSON value) in a fresh node process, so spies set before
 * fengari loads see its module-level bindings.
 */
function observe(body: string, except?: string): unknown {
  const script = `
import Module, { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const { FENGARI_SOURCE, patchFengariSource } = await import(${JSON.stringify(patchesUrl)});
const except = ${JSON.stringify(except ? [except] : [])};
const compileJs = Module._extensions[".js"];
Module._extensions[".js"] = function (module, filename) {
  if (!FENGARI_SOURCE.test(filename)) return compileJs(module, filename);
  module._compile(patchFengariSource(filename, readFileSync(filename, "utf8"), except), filename);
};
const require = createRequire(${JSON.stringify(resolve(root, "package.json"))});
const result = await (async () => {${body}})();
process.stdout.write(JSON.stringify(result));
`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20000 }));
}

/** A Lua state with the standard libraries, and luaL_dostring over a JS string. */
const STATE = `
const { lua, lauxlib, lualib, to_luastring } = require("fengari");
const L = lauxlib.luaL_newstate();
lualib.luaL_openlibs(L);
const run = (code) => {
  if (lauxlib.luaL_dostring(L, to_luastring(code)) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
};
`;

interface Case {
  /** What the observation reads with the patch applied. */
  patched: unknown;
  /** What it reads without it. */
  unpatched: unknown;
  body: string;
}

const CASES: Record<string, Case> = {
  "lazy-stdio": {
    // Touching process.stdin makes node build a stream: count the touches.
    body: `
let touched = 0;
const streams = ["stdin", "stdout", "stderr"].map((name) => [name, Object.getOwnPropertyDescriptor(process, name)]);
for (const [name, real] of streams) {
  Object.defineProperty(process, name, { configurable: true, get() { touched++; return real.get.call(process); } });
}
${STATE}
for (const [name, real] of streams) Object.defineProperty(process, name, real);
return touched;`,
    patched: 0,
    unpatched: 3,
  },
  "platform-without-os": {
    body: `
const load = Module._load;
let os = 0;
Module._load = function (request, ...rest) {
  if (request === "os" || request === "node:os") os++;
  return load.call(this, request, ...rest);
};
require("fengari");
return os;`,
    patched: 0,
    unpatched: 1,
  },
  "lazy-debug-and-tmp": {
    body: `${STATE}
return Object.keys(require.cache).filter((path) => /[\\\\/]node_modules[\\\\/](readline-sync|tmp)[\\\\/]/.test(path)).length;`,
    patched: 0,
    unpatched: 2,
  },
  "keep-stack-slots": {
    // The registers a finished call used: kept for the next call, or deleted.
    body: `${STATE}
run("local function f(a, b, c) local x, y, z = a, b, c return x end for i = 1, 3 do f(1, 2, 3) end");
let kept = 0;
for (let i = L.top; i < L.top + 4; i++) if (i in L.stack) kept++;
return kept;`,
    patched: 4,
    unpatched: 0,
  },
  "table-pack-key": {
    body: `
const defs = require("fengari/src/defs.js");
const encode = defs.to_luastring;
let keys = 0;
defs.to_luastring = (text, ...rest) => { if (text === "n") keys++; return encode(text, ...rest); };
${STATE}
keys = 0;
run("for i = 1, 100 do local t = table.pack(1, 2) end");
return keys;`,
    patched: 0,
    unpatched: 100,
  },
  "typed-array-copy": {
    body: `
const from = Uint8Array.from;
let iterated = 0;
Uint8Array.from = function (...args) { iterated++; return from.apply(this, args); };
${STATE}
iterated = 0;
for (let i = 0; i < 100; i++) { lua.lua_pushstring(L, new Uint8Array([104, 105])); lua.lua_pop(L, 1); }
return iterated;`,
    patched: 0,
    unpatched: 100,
  },
  "one-to-one-string-keys": {
    body: `${STATE}
run("local t = {} t['\\\\1#'] = 'first' t['\\\\18\\\\3'] = 'second' result = t['\\\\1#']");
lua.lua_getglobal(L, to_luastring("result"));
return lua.lua_tojsstring(L, -1);`,
    patched: "first",
    unpatched: "second",
  },
  "c-call-boundary-message": {
    body: `${STATE}
run("local co = coroutine.wrap(function () table.sort({3, 2, 1}, function (a, b) coroutine.yield() return a < b end) end) local ok, e = pcall(co) result = e");
lua.lua_getglobal(L, to_luastring("result"));
return lua.lua_tojsstring(L, -1);`,
    patched: "attempt to yield across a C-call boundary",
    unpatched: "attempt to yield across a JS-call boundary",
  },
  "keep-dead-key-map": {
    // A table that lost an object key and then gained a key: its map of removed keys.
    body: `${STATE}
run("local k = {} t = { [k] = 1 } t[k] = nil t.x = 1");
lua.lua_getglobal(L, to_luastring("t"));
return typeof lua.lua_topointer(L, -1).dead_weak;`,
    patched: "object",
    unpatched: "undefined",
  },
  "yield-without-throw": {
    // JS exceptions thrown (and caught) while a coroutine yields ten times.
    body: `${STATE}
run("co = coroutine.wrap(function () while true do coroutine.yield() end end)");
const { Session } = require("node:inspector");
const session = new Session();
session.connect();
let thrown = 0;
session.on("Debugger.paused", () => { thrown++; session.post("Debugger.resume"); });
session.post("Debugger.enable");
session.post("Debugger.setPauseOnExceptions", { state: "all" });
run("for i = 1, 10 do co() end");
session.post("Debugger.setPauseOnExceptions", { state: "none" });
session.disconnect();
return thrown;`,
    patched: 0,
    unpatched: 10,
  },
  "count-hook-in-loop": {
    // Calls into the hook machinery for 10,000 loop iterations under a count hook of 1,000.
    body: `
const ldebug = require("fengari/src/ldebug.js");
const traceexec = ldebug.luaG_traceexec;
let calls = 0;
ldebug.luaG_traceexec = (L) => { calls++; return traceexec(L); };
${STATE}
lua.lua_sethook(L, () => {}, lua.LUA_MASKCOUNT, 1000);
calls = 0;
run("local x = 0 for i = 1, 10000 do x = x + i end");
return calls < 100 ? "per count" : "per instruction";`,
    patched: "per count",
    unpatched: "per instruction",
  },
  "native-error-stack-room": {
    // A JS exception inside the VM (a concatenation that cannot be allocated) reaches the
    // native-error handler.
    body: `
const lstring = require("fengari/src/lstring.js");
const bless = lstring.luaS_bless;
lstring.luaS_bless = (L, bytes) => {
  if (bytes.length === 100001) throw new RangeError("Array buffer allocation failed");
  return bless(L, bytes);
};
${STATE}
lua.lua_atnativeerror(L, (L) => { lua.lua_pushstring(L, to_luastring("not enough memory")); return 1; });
const status = lauxlib.luaL_dostring(L, to_luastring("local a = string.rep('x', 100000) local b = 'y' local c = a .. b return c"));
return [status, lua.lua_type(L, -1), lua.lua_tojsstring(L, -1)];`,
    // [status, type of the error value, its text]. Without the patch the handler never runs:
    // the status is no Lua status and the handler function itself is left as the "error".
    patched: [2, 4, "not enough memory"],
    unpatched: [-1, 6, null],
  },
  "literal-bytes": {
    body: `
const defs = require("fengari/src/defs.js");
const encode = defs.to_luastring;
let encoded = 0;
defs.to_luastring = (text, ...rest) => { if (text === "moonrig-literal") encoded++; return encode(text, ...rest); };
${STATE}
for (let i = 0; i < 100; i++) { lua.lua_pushliteral(L, "moonrig-literal"); lua.lua_pop(L, 1); }
return encoded;`,
    patched: 1,
    unpatched: 100,
  },
};

describe("fengari patches", function () {
  this.timeout(60000);

  it("every patch in engine/fengari/patches has a case here, and every case a patch", async () => {
    const { PATCHES } = (await import(patchesUrl)) as { PATCHES: Array<{ name: string }> };
    expect(PATCHES.map((patch) => patch.name).sort()).to.deep.equal(Object.keys(CASES).sort());
  });

  for (const [name, { body, patched, unpatched }] of Object.entries(CASES)) {
    it(`${name}: changes what it says it changes`, () => {
      expect(observe(body), "with the patch").to.deep.equal(patched);
      expect(observe(body, name), "without it").to.deep.equal(unpatched);
    });
  }
});
