// coroutine.yield unwound to coroutine.resume by throwing, and a JS throw costs V8 a stack
// walk: with the sys task framework, a woken task spent about a tenth of its time in that
// throw. When the yielding JS function was called straight from an OP_CALL/OP_TAILCALL of
// the VM loop that resume (or unroll) itself runs (no JS frame of the coroutine in between,
// no hook but a count hook: moonrig's watchdog, which runs before an instruction, never
// between the call and the yield) it now returns instead, and precall, the VM loop, unroll
// and lua_resume each step out, leaving exactly the state the throw left. Anything else (a
// yield across lua_callk, in a metamethod, a continuation, a hook, a coroutine whose body is
// a JS function) still throws. The thread remembers the Lua frame of the last such call
// (inlineYieldFrom, cleared when any JS function returns) and the JS call depth its resume
// started at (resumeCcalls).
// Gain: resume + yield 1.8 µs → 0.24 µs (BENCHMARKS.md, fourth session).
export default {
  name: "yield-without-throw",
  edits: [
    { file: "lstate.js", from: `        this.nny = 1;\n`, to: `        this.nny = 1;\n        this.inlineYieldFrom = null;\n        this.resumeCcalls = 0;\n` },
    { file: "lvm.js", from: `    LUA_MULTRET,\n`, to: `    LUA_MULTRET,\n    thread_status: { LUA_YIELD },\n` },
    {
      file: "lvm.js",
      from: `                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (nresults >= 0)`,
      to: `                L.inlineYieldFrom = L.hookmask & ~LUA_MASKCOUNT ? null : ci;
                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (L.status === LUA_YIELD) return;
                    if (nresults >= 0)`,
    },
    {
      file: "lvm.js",
      from: `                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                } else {`,
      to: `                L.inlineYieldFrom = L.hookmask & ~LUA_MASKCOUNT ? null : ci;
                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                    if (L.status === LUA_YIELD) return;
                } else {`,
    },
    {
      file: "ldo.js",
      from: `            let n = f(L); /* do the actual call */
`,
      to: `            let n = f(L); /* do the actual call */
            if (L.status === LUA_YIELD) return true; /* yielded without a throw */
            L.inlineYieldFrom = null;
`,
    },
    {
      file: "ldo.js",
      from: `        ci.func = L.stack[ci.funcOff];
        luaD_throw(L, LUA_YIELD);`,
      to: `        ci.func = L.stack[ci.funcOff];
        if (L.inlineYieldFrom === ci.previous && L.nCcalls === L.resumeCcalls) {
            L.inlineYieldFrom = null;
            return 0;
        }
        luaD_throw(L, LUA_YIELD);`,
    },
    {
      file: "ldo.js",
      from: `    L.nny = 0;  /* allow yields */
`,
      to: `    L.nny = 0;  /* allow yields */
    L.resumeCcalls = L.nCcalls;
    L.inlineYieldFrom = null;
`,
    },
    {
      file: "ldo.js",
      from: `            status = luaD_rawrunprotected(L, unroll, status);
        }
`,
      to: `            status = luaD_rawrunprotected(L, unroll, status);
        }
        if (status === LUA_OK && L.status === LUA_YIELD) status = LUA_YIELD; /* yielded without a throw */
`,
    },
    {
      file: "ldo.js",
      from: `    while (L.ci !== L.base_ci) {  /* something in the stack */`,
      to: `    while (L.ci !== L.base_ci && L.status !== LUA_YIELD) {  /* something in the stack, and no yield meanwhile */`,
    },
    {
      file: "ldo.js",
      from: `                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
      to: `                L.inlineYieldFrom = null;
                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
    },
    {
      file: "ldo.js",
      from: `    let c_k = ci.c_k; /* don't want to call as method */`,
      to: `    let c_k = ci.c_k; /* don't want to call as method */
    L.inlineYieldFrom = null;`,
    },
  ],
};
