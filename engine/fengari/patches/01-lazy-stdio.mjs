// io.stdin/stdout/stderr were opened over process.stdin/stdout/stderr, although fengari only
// ever uses their `fd`, and touching process.stdin makes node build a stream. The stand-ins
// reach the streams only when a script really uses io.stdin/stdout/stderr.
// Gain: about 3 ms per Lua state at start-up (BENCHMARKS.md, start-up profile).
export default {
  name: "lazy-stdio",
  edits: ["stdin", "stdout", "stderr"].map((stream) => ({
    file: "liolib.js",
    from: `createstdfile(L, process.${stream},`,
    to: `createstdfile(L, { get fd() { return process.${stream}.fd; } },`,
  })),
};
