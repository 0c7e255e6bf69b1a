// Run by scripts/fastcli.mjs in a fresh node process (the binary moonrig will run on):
//   node scripts/fastcli-cache.mjs LAUNCHER PARTIAL_MAIN_BIN warm|cold
// Loads dist/fast/moonrig.bin (from PARTIAL_MAIN_BIN, which has no cache yet) exactly as
// bin/moonrig.cjs does, runs its warm-up, loads every vendor bundle, then writes each
// bundle's V8 code cache, which by then holds every function compiled so far: the main
// one appended to PARTIAL_MAIN_BIN, the vendor ones into their files (atomically).
import { appendFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [launcher, partial, mode] = process.argv.slice(2);
const { load, loaded, readBundle, mainFile } = createRequire(import.meta.url)(launcher);
const bundle = readBundle(partial);
if (bundle.cache) throw new Error(`${partial} already has a code cache`);
// Compiled under its final name: V8 keeps the name given here in the cache (stack traces).
const main = load(mainFile, bundle);
if (mode === "warm") await main.exports.warmUp();
const vendorDir = join(mainFile, "..", "vendor");
for (const name of readdirSync(vendorDir)) if (name.endsWith(".bin")) load(join(vendorDir, name));
for (const [file, record] of loaded) {
  const cache = record.script.createCachedData();
  if (file === mainFile) {
    appendFileSync(partial, cache);
  } else {
    const source = readBundle(file).source;
    const header = Buffer.alloc(8);
    header.write("MRB1", 0, "latin1");
    header.writeUInt32LE(source.length, 4);
    writeFileSync(`${file}.${process.pid}`, Buffer.concat([header, Buffer.from(source, "latin1"), cache]));
    renameSync(`${file}.${process.pid}`, file);
  }
}
process.exit(0);
