// A JS exception inside the VM itself (a concatenation whose result cannot be allocated)
// reached the native-error handler with the Lua frame's top at its last register, so pushing
// the handler failed fengari's own "stack overflow" check, the handler never ran and the
// script saw "(error object is not a string)" instead of moonrig's "not enough memory". The
// doomed frame's top is raised first (C Lua's luaD_throw does the same for its panic).
// Gain: fidelity, not speed.
export default {
  name: "native-error-stack-room",
  edits: [
    {
      file: "ldo.js",
      from: `                    lj.status = LUA_OK;

                    lapi.lua_pushcfunction(L, atnativeerror);`,
      to: `                    lj.status = LUA_OK;
                    luaD_checkstack(L, 2);
                    if (L.ci.top < L.top + 2) L.ci.top = L.top + 2;
                    lapi.lua_pushcfunction(L, atnativeerror);`,
    },
  ],
};
