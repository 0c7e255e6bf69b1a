// Builds what bin/moonrig.cjs runs (the fast start-up path):
//   dist/fast/moonrig.bin     scripts/fast-main.mjs + the runtime + fengari as one CommonJS
//                             script, followed by its V8 code cache
//   dist/fast/vendor/*.bin    aedes, mqtt, ws, each the same way, loaded when a script needs it
// Start-up then skips parsing and compiling: the caches are made after a warm-up run
// (scripts/fastcli-cache.mjs), so they hold the functions a start-up calls, compiled.
// Also exports the esbuild plugins that every bundle (dist/cli.js too) uses to start faster.
// The fengari patches are engine/fengari/'s.
import { build, transform } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { join, relative, sep } from "node:path";
import { fengariPatches } from "../engine/fengari/index.mjs";

const nodeRequire = createRequire(import.meta.url);
const BUILTINS = new Set(builtinModules);
const builtinName = (path) => (path.startsWith("node:") ? path.slice(5) : BUILTINS.has(path) ? path : undefined);

/** fengari and its internal modules (engine/lua.ts imports two), always bundled. */
const FENGARI = /^fengari(\/|$)/;

/**
 * Bundles fengari (patched) into the test and benchmark bundles, whose other packages stay
 * external, so they measure and test the Lua engine moonrig ships.
 */
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
