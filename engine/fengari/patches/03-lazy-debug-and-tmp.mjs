// The debug library loaded readline-sync (for debug.debug() alone) and the os library loaded
// tmp (for os.tmpname() alone) when fengari loaded; with them came child_process and crypto.
// They now load on first use.
// Gain: most of the 11 ms of built-ins pulled in at load (BENCHMARKS.md, start-up profile).
export default {
  name: "lazy-debug-and-tmp",
  edits: [
    { file: "loslib.js", from: "    const tmp = require('tmp');\n", to: "    let tmp;\n" },
    { file: "loslib.js", from: "return tmp.tmpNameSync();", to: "return (tmp || (tmp = require('tmp'))).tmpNameSync();" },
    {
      file: "ldblib.js",
      from: `    const readlineSync = require('readline-sync');
    readlineSync.setDefaultOptions({
        prompt: 'lua_debug> '
    });
    getinput = function() {
        return readlineSync.prompt();
    };`,
      to: `    let readlineSync;
    getinput = function() {
        if (!readlineSync) {
            readlineSync = require('readline-sync');
            readlineSync.setDefaultOptions({
                prompt: 'lua_debug> '
            });
        }
        return readlineSync.prompt();
    };`,
    },
  ],
};
