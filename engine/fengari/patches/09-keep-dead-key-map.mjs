// Every new key in a table dropped the table's WeakMap of removed object keys (kept so that
// `next` can go on from a key cleared during a traversal), and the next removal of an object
// key (a thread, a function: sys keys its tables by task) made a new one. A WeakMap per
// insert-and-remove is costly to create and to collect; it is now kept: its entries die with
// their keys, and after an insert `next` from a removed key is undefined in Lua anyway.
// Gain: part of the sys message path's speed-up in the fourth session (BENCHMARKS.md).
export default {
  name: "keep-dead-key-map",
  edits: [
    {
      file: "ltable.js",
      from: `    t.dead_strong.clear();\n    t.dead_weak = void 0;\n    let prev = null;`,
      to: `    if (t.dead_strong.size !== 0) t.dead_strong.clear();\n    let prev = null;`,
    },
  ],
};
