// With a count hook set (moonrig's watchdog always is), the VM called luaG_traceexec before
// every instruction only to decrement the count; the count is now decremented in the loop and
// the function called when it runs out (or for a line hook). A hook that yielded is then
// skipped once more at the next count, which only a yielding hook could notice: neither
// moonrig's nor debug.sethook's can yield.
// Gain: the watchdog costs 1.03× on a loop of Lua calls instead of far more (BENCHMARKS.md,
// fifth session).
export default {
  name: "count-hook-in-loop",
  edits: [
    {
      file: "lvm.js",
      from: `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) {
            ldebug.luaG_traceexec(L);`,
      to: `        if (L.hookmask & (LUA_MASKLINE | LUA_MASKCOUNT) && (L.hookmask & LUA_MASKLINE || L.hookcount === 1 || (L.hookcount--, false))) {
            ldebug.luaG_traceexec(L);`,
    },
  ],
};
