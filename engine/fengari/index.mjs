// moonrig's changes to fengari, one file per change in patches/ (what it changes, why, what it
// gained), applied to fengari's sources by every bundle the build makes (dist/, dist/fast/,
// the tests, the benchmarks), so all of them run the same engine. Each edit must match
// exactly once, or the build stops: a fengari update that moves the code is noticed.
// test/fengari-patches.test.ts shows for each change what it changes by running fengari with
// and without it.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import lazyStdio from "./patches/01-lazy-stdio.mjs";
import platformWithoutOs from "./patches/02-platform-without-os.mjs";
import lazyDebugAndTmp from "./patches/03-lazy-debug-and-tmp.mjs";
import keepStackSlots from "./patches/04-keep-stack-slots.mjs";
import tablePackKey from "./patches/05-table-pack-key.mjs";
import typedArrayCopy from "./patches/06-typed-array-copy.mjs";
import oneToOneStringKeys from "./patches/07-one-to-one-string-keys.mjs";
import cCallBoundaryMessage from "./patches/08-c-call-boundary-message.mjs";
import keepDeadKeyMap from "./patches/09-keep-dead-key-map.mjs";
import yieldWithoutThrow from "./patches/10-yield-without-throw.mjs";
import countHookInLoop from "./patches/11-count-hook-in-loop.mjs";
import nativeErrorStackRoom from "./patches/12-native-error-stack-room.mjs";
import literalBytes from "./patches/13-literal-bytes.mjs";

export const PATCHES = [
  lazyStdio,
  platformWithoutOs,
  lazyDebugAndTmp,
  keepStackSlots,
  tablePackKey,
  typedArrayCopy,
  oneToOneStringKeys,
  cCallBoundaryMessage,
  keepDeadKeyMap,
  yieldWithoutThrow,
  countHookInLoop,
  nativeErrorStackRoom,
  literalBytes,
];

/** fengari's source files (fengari/src/NAME.js). */
export const FENGARI_SOURCE = /[\\/]fengari[\\/]src[\\/]\w+\.js$/;

/** `source`, the text of fengari/src/`path`, with every patch applied but those named in `except`. */
export function patchFengariSource(path, source, except = []) {
  const file = basename(path);
  for (const patch of PATCHES) {
    if (except.includes(patch.name)) continue;
    for (const edit of patch.edits) {
      if (edit.pattern) {
        source = source.replace(edit.pattern, edit.to);
        continue;
      }
      if (edit.file !== file) continue;
      if (source.split(edit.from).length !== 2) {
        throw new Error(`fengari patch ${patch.name}: ${file} changed (looking for ${JSON.stringify(edit.from.slice(0, 60))}); update engine/fengari/patches/`);
      }
      source = source.replace(edit.from, () => edit.to);
    }
  }
  return source;
}

/** The esbuild plugin that applies the patches. */
export const fengariPatches = {
  name: "fengari-patches",
  setup(b) {
    b.onLoad({ filter: FENGARI_SOURCE }, (args) => ({ contents: patchFengariSource(args.path, readFileSync(args.path, "utf8")), loader: "js" }));
  },
};
