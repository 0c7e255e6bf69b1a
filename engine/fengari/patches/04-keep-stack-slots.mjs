// fengari filled a called function's registers with new TValue objects and `delete`d them
// when it returned: an allocation per register per call, and `delete` on an array element is
// a slow generic operation in V8. Registers above the stack top now keep their TValue, which
// the next call resets to nil and reuses. Safe because every other write to a stack slot
// either copies into the TValue (setfrom) or puts a fresh one there, and luaF_close already
// gave the slots a captured upvalue used fresh TValues before a frame is left. Other pops
// assign undefined instead of `delete`.
// Gain: the sys bus alone went from 21.7k to 38k messages/s (BENCHMARKS.md).
export default {
  name: "keep-stack-slots",
  edits: [
    {
      file: "ldo.js",
      from: `        while (L.top < newtop)
            L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null);
    } else {
        while (L.top > newtop)
            delete L.stack[--L.top];
    }`,
      to: `        for (; L.top < newtop; L.top++) {
            const slot = L.stack[L.top];
            if (slot === void 0) L.stack[L.top] = new lobject.TValue(LUA_TNIL, null);
            else slot.setnilvalue();
        }
    } else {
        L.top = newtop;
    }`,
    },
    {
      file: "ldo.js",
      from: `    let newtop = res + wanted; /* top points after the last result */
    for (let i=L.top; i>=newtop; i--)
        delete L.stack[i];
    L.top = newtop;`,
      to: `    L.top = res + wanted; /* top points after the last result */`,
    },
    // Every other pop, in any file: the same element, left undefined rather than deleted.
    { pattern: /delete (\w+)\.stack\[([^\]]+)\];/g, to: "$1.stack[$2] = void 0;" },
  ],
};
