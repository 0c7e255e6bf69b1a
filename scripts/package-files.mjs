// What the npm package ships besides the bundles (build.mjs calls this last):
// - dist/types/: the embedding API's declarations (package.json "types"), the files
//   `tsc -p tsconfig.json` wrote to build/types that main/index.d.ts reaches, plus
//   fengari's, which moonrig declares itself (fengari ships none);
// - dist/meta/<flavor>/: the LuaLS editor definitions (scripts/luals/generate.ts).
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { bundledFengari } from "./fastcli.mjs";
import { fengariPatches } from "../engine/fengari/index.mjs";

function declarations(root) {
  const from = join(root, "build", "types");
  const to = join(root, "dist", "types");
  const entry = join(from, "main", "index.d.ts");
  if (!existsSync(entry)) throw new Error("build/types/main/index.d.ts is missing: run tsc -p tsconfig.json first");
  copyFileSync(join(root, "engine", "fengari.d.ts"), join(from, "engine", "fengari.d.ts"));
  rmSync(to, { recursive: true, force: true });
  const queue = [entry];
  const seen = new Set();
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    let text = readFileSync(file, "utf8");
    // The embedding API's types refer to fengari's: lua.d.ts pulls in their declarations.
    if (relative(from, file) === join("engine", "lua.d.ts")) text = `/// <reference path="./fengari.d.ts" />\n${text}`;
    for (const match of text.matchAll(/(?:from\s+|import\()\s*"(\.[^"]+)"|reference path="([^"]+)"/g)) {
      const target = join(dirname(file), (match[1] ?? match[2]).replace(/\.js$/, ".d.ts"));
      if (!existsSync(target)) throw new Error(`${relative(root, file)} refers to ${relative(root, target)}, which tsc did not write`);
      queue.push(target);
    }
    const out = join(to, relative(from, file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
}

async function editorDefinitions(root) {
  const bundle = join(root, "build", "luals", "generate.js");
  await build({
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    entryPoints: [join(root, "scripts", "luals", "generate.ts")],
    outfile: bundle,
    packages: "external",
    banner: { js: "import { createRequire as __moonrigCreateRequire } from 'node:module'; const require = __moonrigCreateRequire(import.meta.url);" },
    plugins: [bundledFengari(root), fengariPatches],
  });
  const { generate } = await import(`${pathToFileURL(bundle).href}?${Date.now()}`);
  const result = await generate(root, join(root, "dist", "meta"));
  for (const [flavor, { stale, undocumented }] of Object.entries(result)) {
    for (const problem of stale) console.warn(`luals: ${problem}`);
    if (undocumented.length > 0) console.warn(`luals: ${flavor}: ${undocumented.length} names without doc text in scripts/luals/${flavor}.txt (generic definitions written)`);
  }
}

export async function packageFiles(root) {
  declarations(root);
  await editorDefinitions(root);
}
