// Bundles the library and the CLI into dist/, each test file into build/test/, the
// benchmarks into build/bench/, and the fast start-up bundle that bin/moonrig.cjs runs
// into dist/fast/ (see scripts/fastcli.mjs).
// fengari, mqtt and aedes are inlined so start-up reads one file; serialport stays
// external because it carries a native addon and is loaded only for a real port.
import { build } from "esbuild";
import { readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFastCli, bundledFengari, lazyBuiltins } from "./fastcli.mjs";
import { fengariPatches } from "../engine/fengari/index.mjs";
import { packageFiles } from "./package-files.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const dist = join(root, "dist");
const external = ["serialport"];

const shared = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // CommonJS dependencies bundled into ESM still call require() for node built-ins.
  banner: { js: "import { createRequire as __moonrigCreateRequire } from 'node:module'; const require = __moonrigCreateRequire(import.meta.url);" },
};

function files(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const library = await build({
  ...shared,
  entryPoints: { index: "main/index.ts", cli: "main/cli.ts" },
  outdir: "dist",
  splitting: true,
  minify: process.env.MOONRIG_MINIFY !== "0",
  metafile: true,
  external,
  chunkNames: "chunks/[name]-[hash]",
  plugins: [fengariPatches, lazyBuiltins(root)],
});

// Chunk names carry a content hash: delete the ones this build did not write. (Done after
// the build rather than before, so a moonrig started meanwhile never finds dist/ empty.)
const written = new Set(Object.keys(library.metafile.outputs).map((path) => resolve(root, path)));
for (const path of files(dist)) {
  if (!written.has(path) && !relative(dist, path).startsWith(`fast${sep}`)) rmSync(path, { force: true });
}
for (const dir of readdirSync(dist)) {
  const path = join(dist, dir);
  if (statSync(path).isDirectory() && files(path).length === 0) rmSync(path, { recursive: true, force: true });
}

await build({
  ...shared,
  entryPoints: files("test").filter((path) => path.endsWith(".test.ts")),
  outdir: "build/test",
  outbase: "test",
  packages: "external",
  plugins: [bundledFengari(root), fengariPatches],
});

await build({
  ...shared,
  entryPoints: files("test/bench").filter((path) => path.endsWith(".ts") && !path.endsWith(".test.ts")),
  outdir: "build/bench",
  outbase: "test/bench",
  packages: "external",
  plugins: [bundledFengari(root), fengariPatches],
});

// The fast start-up path bin/moonrig.cjs runs (see scripts/fastcli.mjs).
// MOONRIG_WARM_UP=0 builds its code cache without the warm-up run (for comparisons).
await buildFastCli({ root, dist, external, warmUp: process.env.MOONRIG_WARM_UP !== "0" });

// The declarations and editor definitions the package ships (see scripts/package-files.mjs).
await packageFiles(root);
