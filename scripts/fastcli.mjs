// Builds what bin/moonrig.cjs runs (the fast start-up path):
//   dist/fast/moonrig.bin     scripts/fast-main.mjs + the runtime + fengari as one CommonJS
//                             script, followed by its V8 code cache
//   dist/fast/vendor/*.bin    aedes, mqtt, ws, each the same way, loaded when a script needs it
// Start-up then skips parsing and compiling: the caches are made after a warm-up run
// (scripts/fastcli-cache.mjs), so they hold the functions a start-up calls, compiled.
// Also exports the esbuild plugins that every bundle (dist/cli.js too) uses to start faster.
import { build, transform } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { join, relative, sep } from "node:path";

const nodeRequire = createRequire(import.meta.url);
const BUILTINS = new Set(builtinModules);
const builtinName = (path) => (path.startsWith("node:") ? path.slice(5) : BUILTINS.has(path) ? path : undefined);

// Start-up work fengari does on load or per Lua state that moonrig never needs, removed
// without changing behaviour (each replacement must match exactly once, or the build stops):
// - io.stdin/stdout/stderr are opened over process.stdin/stdout/stderr, although fengari
//   only ever uses their `fd`; touching process.stdin makes node build a stream (a few ms).
//   The stand-ins reach the streams when a script really uses io.stdin/stdout/stderr.
// - luaconf asks require("os").platform(), i.e. process.platform, loading `os` for it.
// - the debug library loads readline-sync (for debug.debug() only) and the os library loads
//   tmp (for os.tmpname() only) when fengari loads: they now load on first use.
//
// And the cost of every Lua call, which decides how many MQTT messages a second reach a
// Lua callback (measured in BENCHMARKS.md):
// - fengari fills a called function's registers with new TValue objects and `delete`s
//   them when it returns: an allocation per register per call, and `delete` on an array
//   element is a slow generic operation in V8. Registers above the stack top now keep
//   their TValue, which the next call resets to nil and reuses. This is safe because
//   every other write to a stack slot either copies into the TValue (setfrom) or puts a
//   fresh one there, and luaF_close already gives the slots a captured upvalue used fresh
//   TValues before a frame is left. Other pops assign undefined instead of `delete`.
// - table.pack converted the key "n" from a JS string on every call.
// - A string's table key was "|" and the hex digits of each byte without padding, built
//   one byte at a time: slow, and not one-to-one ("\1#" and "\18\3" were the same key).
//   It is now "|" and one UTF-16 unit per byte.
// - Every string pushed from JS is copied with Uint8Array.from, which walks an iterator;
//   the Uint8Array constructor copies a typed array in one go.
// - coroutine.yield unwound to coroutine.resume by throwing, and a JS throw costs V8 a
//   stack walk: with the sys task framework, a message woken task spent about a tenth of
//   its time in that throw. When the yielding JS function was called straight from an
//   OP_CALL/OP_TAILCALL of the VM loop that resume (or unroll) itself runs — no JS frame
//   of the coroutine in between, no hook but a count hook (moonrig's watchdog; it runs
//   before an instruction, never between the call and the yield) — it now returns
//   instead, and precall, the VM
//   loop, unroll and lua_resume each step out, leaving exactly the state the throw left.
//   Anything else (a yield across lua_callk, in a metamethod, a continuation, a hook, a
//   coroutine whose body is a JS function) still throws. The thread remembers the Lua
//   frame of the last such call (inlineYieldFrom, cleared when any JS function returns)
//   and the JS call depth its resume started at (resumeCcalls).
// - Every new key in a table dropped the table's WeakMap of removed object keys (kept so
//   that `next` can go on from a key cleared during a traversal), and the next removal of
//   an object key (a thread, a function: sys keys its tables by task) made a new one. A
//   WeakMap per insert-and-remove is costly to create and to collect; it is now kept (its
//   entries die with their keys; after an insert, `next` from a removed key is undefined
//   in Lua anyway).
// - fengari words the yield-across-boundary error "JS-call"; the firmware's C Lua says
//   "attempt to yield across a C-call boundary", and scripts may match on it.
// - With a count hook set (moonrig's watchdog always is), the VM called luaG_traceexec
//   before every instruction only to decrement the count; the count is now decremented
//   in the loop and the function called when it runs out (or for a line hook). A hook
//   that yielded is then skipped once more at the next count, which only a yielding
//   hook could notice: neither moonrig's nor debug.sethook's can yield.
// - A JS exception inside the VM itself (a concatenation whose result cannot be allocated)
//   reaches the native-error handler with the Lua frame's top at its last register, so
//   pushing the handler failed fengari's own "stack overflow" check, the handler never ran
//   and the script saw "(error object is not a string)" instead of "not enough memory".
//   The doomed frame's top is raised first (C Lua's luaD_throw does the same for its panic).
// - lua_pushliteral encoded its JS string anew on every call (coroutine.status does, for
//   every message a sys task waits for): the bytes of the first 1024 literals are kept.
//   Lua strings are immutable, so TStrings may share them.
const FENGARI_PATCHES = [
  ["liolib.js", "createstdfile(L, process.stdin,", "createstdfile(L, { get fd() { return process.stdin.fd; } },"],
  ["liolib.js", "createstdfile(L, process.stdout,", "createstdfile(L, { get fd() { return process.stdout.fd; } },"],
  ["liolib.js", "createstdfile(L, process.stderr,", "createstdfile(L, { get fd() { return process.stderr.fd; } },"],
  ["luaconf.js", "} else if (require('os').platform() === 'win32') {", "} else if (process.platform === 'win32') {"],
  ["loslib.js", "    const tmp = require('tmp');\n", "    let tmp;\n"],
  ["loslib.js", "return tmp.tmpNameSync();", "return (tmp || (tmp = require('tmp'))).tmpNameSync();"],
  [
    "ldblib.js",
    `    const readlineSync = require('readline-sync');
    readlineSync.setDefaultOptions({
        prompt: 'lua_debug> '
    });
    getinput = function() {
        return readlineSync.prompt();
    };`,
    `    let readlineSync;
    getinput = function() {
        if (!readlineSync) {
            readlineSync = require('readline-sync');
            readlineSync.setDefaultOptions({
                prompt: 'lua_debug> '
            });
        }
        return readlineSync.prompt();
    };`,
  ],
  [
    "ldo.js",
    `        while (L.top < newtop)
            L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null);
    } else {
        while (L.top > newtop)
            delete L.stack[--L.top];
    }`,
    `        for (; L.top < newtop; L.top++) {
            const slot = L.stack[L.top];
            if (slot === void 0) L.stack[L.top] = new lobject.TValue(LUA_TNIL, null);
            else slot.setnilvalue();
        }
    } else {
        L.top = newtop;
    }`,
  ],
  [
    "ldo.js",
    `    let newtop = res + wanted; /* top points after the last result */
    for (let i=L.top; i>=newtop; i--)
        delete L.stack[i];
    L.top = newtop;`,
    `    L.top = res + wanted; /* top points after the last result */`,
  ],
  ["ltablib.js", `lua_setfield(L, 1, to_luastring("n"));`, `lua_setfield(L, 1, KEY_N);`],
  ["ltablib.js", `const tinsert = function(L) {`, `const KEY_N = to_luastring("n");\n\nconst tinsert = function(L) {`],
  [
    "defs.js",
    "    luastring_from = Uint8Array.from.bind(Uint8Array);",
    "    luastring_from = (a) => (a instanceof Uint8Array ? new Uint8Array(a) : Uint8Array.from(a));",
  ],
  [
    "lstring.js",
    `    let len = str.length;
    let s = "|";
    for (let i=0; i<len; i++)
        s += str[i].toString(16);
    return s;`,
    `    const len = str.length;
    if (len <= 4096) return "|" + String.fromCharCode.apply(null, str);
    let s = "|";
    for (let i = 0; i < len; i += 4096)
        s += String.fromCharCode.apply(null, str.subarray(i, i + 4096));
    return s;`,
  ],
  ["ldo.js", `"attempt to yield across a JS-call boundary"`, `"attempt to yield across a C-call boundary"`],
  ["ltable.js", `    t.dead_strong.clear();\n    t.dead_weak = void 0;\n    let prev = null;`, `    if (t.dead_strong.size !== 0) t.dead_strong.clear();\n    let prev = null;`],
  ["lstate.js", `        this.nny = 1;\n`, `        this.nny = 1;\n        this.inlineYieldFrom = null;\n        this.resumeCcalls = 0;\n`],
  ["lvm.js", `    LUA_MULTRET,\n`, `    LUA_MULTRET,\n    thread_status: { LUA_YIELD },\n`],
  [
    "lvm.js",
    `                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (nresults >= 0)`,
    `                L.inlineYieldFrom = L.hookmask & ~LUA_MASKCOUNT ? null : ci;
                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (L.status === LUA_YIELD) return;
                    if (nresults >= 0)`,
  ],
  [
    "lvm.js",
    `                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                } else {`,
    `                L.inlineYieldFrom = L.hookmask & ~LUA_MASKCOUNT ? null : ci;
                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                    if (L.status === LUA_YIELD) return;
                } else {`,
  ],
  [
    "ldo.js",
    `            let n = f(L); /* do the actual call */
`,
    `            let n = f(L); /* do the actual call */
            if (L.status === LUA_YIELD) return true; /* yielded without a throw */
            L.inlineYieldFrom = null;
`,
  ],
  [
    "ldo.js",
    `        ci.func = L.stack[ci.funcOff];
        luaD_throw(L, LUA_YIELD);`,
    `        ci.func = L.stack[ci.funcOff];
        if (L.inlineYieldFrom === ci.previous && L.nCcalls === L.resumeCcalls) {
            L.inlineYieldFrom = null;
            return 0;
        }
        luaD_throw(L, LUA_YIELD);`,
  ],
  [
    "ldo.js",
    `    L.nny = 0;  /* allow yields */
`,
    `    L.nny = 0;  /* allow yields */
    L.resumeCcalls = L.nCcalls;
    L.inlineYieldFrom = null;
`,
  ],
  [
    "ldo.js",
    `            status = luaD_rawrunprotected(L, unroll, status);
        }
`,
    `            status = luaD_rawrunprotected(L, unroll, status);
        }
        if (status === LUA_OK && L.status === LUA_YIELD) status = LUA_YIELD; /* yielded without a throw */
`,
  ],
  [
    "ldo.js",
    `    while (L.ci !== L.base_ci) {  /* something in the stack */`,
    `    while (L.ci !== L.base_ci && L.status !== LUA_YIELD) {  /* something in the stack, and no yield meanwhile */`,
  ],
  [
    "ldo.js",
    `                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
    `                L.inlineYieldFrom = null;
                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
  ],
  [
    "ldo.js",
    `    let c_k = ci.c_k; /* don't want to call as method */`,
    `    let c_k = ci.c_k; /* don't want to call as method */
    L.inlineYieldFrom = null;`,
  ],
  [
    "lvm.js",
    `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) {
            ldebug.luaG_traceexec(L);`,
    `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT) && (L.hookmask & LUA_MASKLINE || L.hookcount === 1 || (L.hookcount--, false))) {
            ldebug.luaG_traceexec(L);`,
  ],
  [
    "ldo.js",
    `                    lj.status = LUA_OK;

                    lapi.lua_pushcfunction(L, atnativeerror);`,
    `                    lj.status = LUA_OK;
                    luaD_checkstack(L, 2);
                    if (L.ci.top < L.top + 2) L.ci.top = L.top + 2;
                    lapi.lua_pushcfunction(L, atnativeerror);`,
  ],
  [
    "lstring.js",
    `const luaS_newliteral = function(L, str) {
    return luaS_bless(L, to_luastring(str));
};`,
    `const literalBytes = new Map();
const luaS_newliteral = function(L, str) {
    let bytes = literalBytes.get(str);
    if (bytes === void 0) {
        bytes = to_luastring(str);
        if (literalBytes.size < 1024) literalBytes.set(str, bytes);
    }
    return luaS_bless(L, bytes);
};`,
  ],
];

/** Pops elsewhere: the same element, left undefined rather than deleted (see above). */
const STACK_DELETE = /delete (\w+)\.stack\[([^\]]+)\];/g;

/** The fengari patches above. Used by every bundle, so dist/cli.js, bin/moonrig.cjs, the tests and the benchmarks run the same code. */
export const fengariPatches = {
  name: "fengari-patches",
  setup(b) {
    b.onLoad({ filter: /[\\/]fengari[\\/]src[\\/]\w+\.js$/ }, (args) => {
      let source = readFileSync(args.path, "utf8");
      for (const [file, from, to] of FENGARI_PATCHES) {
        if (!args.path.endsWith(`${sep}${file}`)) continue;
        if (source.split(from).length !== 2) throw new Error(`fengari-patches: ${file} changed (looking for ${JSON.stringify(from.slice(0, 60))}); update scripts/fastcli.mjs`);
        source = source.replace(from, () => to);
      }
      source = source.replace(STACK_DELETE, "$1.stack[$2] = void 0;");
      return { contents: source, loader: "js" };
    });
  },
};

/**
 * Bundles fengari (patched) into the test and benchmark bundles, whose other packages stay
 * external, so they measure and test the Lua engine moonrig ships.
 */
/** fengari and its internal modules (runtime/lua.ts imports two), always bundled. */
const FENGARI = /^fengari(\/|$)/;

export function bundledFengari(root) {
  return {
    name: "bundled-fengari",
    setup(b) {
      b.onResolve({ filter: FENGARI }, (args) => ({ path: nodeRequire.resolve(args.path, { paths: [root] }) }));
    },
  };
}

const isProjectFile = (root, path) => !!path && !relative(root, path).startsWith("..") && !path.split(sep).includes("node_modules");

/** The public built-ins node has loaded before any script runs (fs, path, url, ...). */
let booted;
function bootBuiltins() {
  if (booted) return booted;
  const listed = spawnSync(process.execPath, ["-p", "JSON.stringify(process.moduleLoadList)"], { encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`cannot list node's boot modules: ${listed.stderr}`);
  booted = new Set(JSON.parse(listed.stdout).filter((entry) => entry.startsWith("NativeModule ")).map((entry) => entry.slice("NativeModule ".length)));
  return booted;
}

/**
 * A built-in node has not loaded at boot (crypto, net, tls, http, dns/promises,
 * child_process, ...), imported by moonrig's own modules or by fengari and its
 * dependencies, becomes a stand-in with the same exports that requires the real module on
 * first use: they import many that a given script never uses, each costing start-up time
 * (all together, tens of ms). Other packages (mqtt.js, aedes, ws) keep the real modules,
 * and so do built-ins that are themselves a function or class (stream, assert, ...), which
 * an object of getters cannot stand for.
 * Used by every bundle, so dist/cli.js and bin/moonrig.cjs run the same code.
 */
export function lazyBuiltins(root) {
  const loadedAtBoot = bootBuiltins();
  const eligible = (importer) => isProjectFile(root, importer) || /[\\/]node_modules[\\/](fengari|readline-sync|sprintf-js|tmp)[\\/]/.test(importer);
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const id = builtinName(args.path);
        if (id === undefined || loadedAtBoot.has(id) || args.namespace === "lazy-builtin" || !eligible(args.importer)) return undefined;
        if (typeof nodeRequire(id) === "function") return undefined;
        return { path: id, namespace: "lazy-builtin" };
      });
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
        const real = nodeRequire(args.path);
        const keys = Object.getOwnPropertyNames(real).filter((key) => Object.getOwnPropertyDescriptor(real, key).enumerable);
        return {
          loader: "js",
          contents: `let real;
const load = () => (real ??= require(${JSON.stringify(`node:${args.path}`)}));
for (const key of ${JSON.stringify(keys)}) {
  Object.defineProperty(exports, key, { get: () => load()[key], set: (value) => { load()[key] = value; }, enumerable: true, configurable: true });
}`,
        };
      });
    },
  };
}

/**
 * Packages moonrig imports (other than fengari) are bundled apart into vendor/ and
 * required from there when first used: a hello-world does not pay for mqtt.js.
 */
function vendorPackages(root, vendors, external) {
  return {
    name: "vendor-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        // bin/moonrig.cjs runs the bundle as a vm.Script, where import() is refused (node 20
        // only allows it behind a flag or an experimental warning): a package left out of
        // the bundle and imported dynamically (serialport) is required instead.
        if (external.includes(args.path)) return args.kind === "dynamic-import" ? { path: args.path, namespace: "external-require" } : { path: args.path, external: true };
        if (builtinName(args.path) !== undefined || !isProjectFile(root, args.importer) || FENGARI.test(args.path)) return undefined;
        const file = `${args.path.replace(/[^A-Za-z0-9_.-]/g, "_")}.bin`;
        vendors.set(args.path, file);
        return { path: `./vendor/${file}`, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: "external-require" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
    },
  };
}

/** A .bin file without its code cache (bin/moonrig.cjs describes the format). */
function binFileContents(source) {
  if (/[^\x00-\x7f]/.test(source)) throw new Error("a bundle is not ASCII");
  const header = Buffer.alloc(8);
  header.write("MRB1", 0, "latin1");
  header.writeUInt32LE(source.length, 4);
  return Buffer.concat([header, Buffer.from(source, "latin1")]);
}

/** Concurrent builds (and moonrig processes reading) never see a half-written file. */
function writeAtomically(path, contents) {
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, contents);
  renameSync(partial, path);
}

function log(message) {
  process.stderr.write(`fastcli: ${message}\n`);
}

/**
 * Writes dist/fast/. Returns true, or false (after a warning) when the fast path could not
 * be built; bin/moonrig.cjs then runs dist/cli.js.
 */
export async function buildFastCli({ root, dist, external = [], warmUp = true, minify = true, outdir = join(dist, "fast") }) {
  const binFile = join(outdir, "moonrig.bin");
  mkdirSync(join(outdir, "vendor"), { recursive: true });
  try {
    const vendors = new Map();
    const bundle = await build({
      absWorkingDir: root,
      entryPoints: ["scripts/fast-main.mjs"],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      write: false,
      outfile: join(outdir, "moonrig.cjs"),
      // bin/moonrig.cjs reads the source as Latin-1 (V8 then keeps one byte a character).
      charset: "ascii",
      legalComments: "none",
      logLevel: "warning",
      external,
      define: { "import.meta.url": "moonrig.url" },
      plugins: [fengariPatches, vendorPackages(root, vendors, external), lazyBuiltins(root)],
    });
    let source = bundle.outputFiles[0].text;
    if (minify) source = (await transform(source, { minify: true, format: "cjs", target: "node20", platform: "node", legalComments: "none", charset: "ascii" })).code;

    const vendorFiles = new Set(vendors.values());
    for (const name of readdirSync(join(outdir, "vendor"))) if (!vendorFiles.has(name)) rmSync(join(outdir, "vendor", name), { force: true });
    await Promise.all([...vendors].map(([pkg, file]) => build({
      absWorkingDir: root,
      stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: root, loader: "js", sourcefile: `vendor-${file}` },
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      minify: true,
      charset: "ascii",
      legalComments: "none",
      external,
      write: false,
      outfile: join(outdir, "vendor", file),
      logLevel: "warning",
    }).then((result) => writeAtomically(join(outdir, "vendor", file), binFileContents(result.outputFiles[0].text)))));

    // The bundle without a cache first; then a separate node process (the same binary
    // moonrig will run on) loads it, warms it up and writes the cache.
    const partial = `${binFile}.${process.pid}`;
    writeFileSync(partial, binFileContents(source));
    // V8 refuses a cache made under other V8 flags: make it without the build's NODE_OPTIONS.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const made = spawnSync(process.execPath, [join(root, "scripts", "fastcli-cache.mjs"), join(root, "bin", "moonrig.cjs"), partial, warmUp ? "warm" : "cold"], { cwd: root, env, encoding: "utf8" });
    if (made.status !== 0) {
      rmSync(partial, { force: true });
      throw new Error(`making the code cache failed (${made.status ?? made.signal}):\n${made.stderr}${made.stdout}`);
    }
    if (made.stderr.trim()) log(made.stderr.trim());
    renameSync(partial, binFile);
    return true;
  } catch (error) {
    rmSync(binFile, { force: true });
    log(`WARNING: no fast start-up bundle, bin/moonrig.cjs will run dist/cli.js: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}
