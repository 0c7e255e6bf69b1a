// table.pack converted the key "n" from a JS string on every call; it is converted once.
// Gain: table.pack took twice as long as a table constructor before (BENCHMARKS.md, fourth
// session).
export default {
  name: "table-pack-key",
  edits: [
    { file: "ltablib.js", from: `lua_setfield(L, 1, to_luastring("n"));`, to: `lua_setfield(L, 1, KEY_N);` },
    { file: "ltablib.js", from: `const tinsert = function(L) {`, to: `const KEY_N = to_luastring("n");\n\nconst tinsert = function(L) {` },
  ],
};
