// fengari words the yield-across-boundary error "JS-call"; the firmwares' C Lua says
// "attempt to yield across a C-call boundary", and scripts may match on it.
// Gain: fidelity, not speed.
export default {
  name: "c-call-boundary-message",
  edits: [{ file: "ldo.js", from: `"attempt to yield across a JS-call boundary"`, to: `"attempt to yield across a C-call boundary"` }],
};
