// luaconf asked require("os").platform() (which is process.platform) and so loaded `os` at
// start-up for one string.
// Gain: part of the 11 ms of built-ins pulled in at load (BENCHMARKS.md, start-up profile).
export default {
  name: "platform-without-os",
  edits: [{ file: "luaconf.js", from: "} else if (require('os').platform() === 'win32') {", to: "} else if (process.platform === 'win32') {" }],
};
