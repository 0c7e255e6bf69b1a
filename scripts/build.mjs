// Bundles the library and the CLI into dist/, and each test file into build/test/.
// fengari, mqtt and aedes are inlined so start-up reads one file; serialport stays
// external because it carries a native addon and is loaded only for a real port.
import { build } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

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

await build({
  ...shared,
  entryPoints: { index: "runtime/index.ts", cli: "runtime/cli.ts" },
  outdir: "dist",
  splitting: true,
  minify: true,
  external: ["serialport"],
  chunkNames: "chunks/[name]-[hash]",
});

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

await build({
  ...shared,
  entryPoints: testFiles("test"),
  outdir: "build/test",
  outbase: "test",
  packages: "external",
});
