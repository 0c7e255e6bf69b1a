// lua_pushliteral encoded its JS string anew on every call (coroutine.status does, for every
// message a sys task waits for): the bytes of the first 1024 literals are kept. Lua strings
// are immutable, so strings may share them.
// Gain: part of the sys message path's speed-up in the fourth session (BENCHMARKS.md).
export default {
  name: "literal-bytes",
  edits: [
    {
      file: "lstring.js",
      from: `const luaS_newliteral = function(L, str) {
    return luaS_bless(L, to_luastring(str));
};`,
      to: `const literalBytes = new Map();
const luaS_newliteral = function(L, str) {
    let bytes = literalBytes.get(str);
    if (bytes === void 0) {
        bytes = to_luastring(str);
        if (literalBytes.size < 1024) literalBytes.set(str, bytes);
    }
    return luaS_bless(L, bytes);
};`,
    },
  ],
};
