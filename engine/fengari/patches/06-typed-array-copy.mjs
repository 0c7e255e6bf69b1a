// Every string pushed from JS was copied with Uint8Array.from, which walks an iterator; the
// Uint8Array constructor copies a typed array in one go.
// Gain: part of the receive path's speed-up in the third session (BENCHMARKS.md).
export default {
  name: "typed-array-copy",
  edits: [
    {
      file: "defs.js",
      from: "    luastring_from = Uint8Array.from.bind(Uint8Array);",
      to: "    luastring_from = (a) => (a instanceof Uint8Array ? new Uint8Array(a) : Uint8Array.from(a));",
    },
  ],
};
