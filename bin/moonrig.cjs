#!/usr/bin/env node
// The `moonrig` command. Runs the CLI from dist/fast/moonrig.bin: the whole runtime as one
// CommonJS script plus the V8 code cache `npm run build` made for it after a warm-up run,
// so node neither parses the runtime nor compiles its start-up path. mqtt.js, aedes and ws
// come the same way from dist/fast/vendor/*.bin when a script needs them. (See
// scripts/fastcli.mjs.) V8 checks each cache itself: after a node upgrade, or with V8
// flags, it is rejected and the script compiled as usual, slower but the same.
// Falls back to the plain ES module CLI, dist/cli.js, when dist/fast/ is missing or
// MOONRIG_PLAIN=1.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const dist = join(__dirname, "..", "dist");
const mainFile = join(dist, "fast", "moonrig.bin");

// A .bin file: "MRB1", the source length (uint32 LE), the source (ASCII), the code cache.
// One file, replaced by one rename, so a source and its cache always belong together.
function readBundle(file) {
  const data = readFileSync(file);
  if (data.length < 8 || data.toString("latin1", 0, 4) !== "MRB1") throw new Error(`${file} is not a moonrig bundle`);
  const end = 8 + data.readUInt32LE(4);
  return { source: data.latin1Slice(8, end), cache: end < data.length ? data.subarray(end) : undefined };
}

// A bundle runs as the body of this function, like a CommonJS module with one more
// parameter: `moonrig.url` stands for import.meta.url (the runtime finds lua/ from it).
const HEAD = "(function (exports, require, module, __filename, __dirname, moonrig) {";
const TAIL = "\n})";

const loaded = new Map();

/**
 * Compiles (with the cache when given) and evaluates a bundle once; returns its module
 * record { exports, script }. Inside a bundle, require("./vendor/NAME.bin") loads that
 * vendor bundle the same way; anything else is node's require.
 */
function load(file, bundle = readBundle(file)) {
  const known = loaded.get(file);
  if (known) return known;
  const { Script } = require("node:vm");
  const script = new Script(HEAD + bundle.source + TAIL, { filename: file, cachedData: bundle.cache });
  const dir = join(file, "..");
  const record = { exports: {}, script };
  loaded.set(file, record);
  const bundleRequire = (id) => (id.startsWith("./vendor/") ? load(join(dir, id)).exports : require(id));
  const url = require("node:url").pathToFileURL(join(dist, "cli.js")).href;
  script.runInThisContext()(record.exports, bundleRequire, record, file, dir, { url });
  return record;
}

if (require.main === module) {
  let bundle;
  if (!process.env.MOONRIG_PLAIN) {
    try {
      bundle = readBundle(mainFile);
    } catch {
      bundle = undefined;
    }
  }
  if (bundle) {
    load(mainFile, bundle).exports.main();
  } else {
    import(require("node:url").pathToFileURL(join(dist, "cli.js")).href);
  }
} else {
  module.exports = { load, loaded, readBundle, mainFile };
}
