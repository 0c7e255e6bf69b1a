// A string's table key was "|" and the hex digits of each byte without padding, built one
// byte at a time: slow, and not one-to-one ("\1#" and "\18\3" were the same key, so one
// overwrote the other in a table). It is now "|" and one UTF-16 unit per byte.
// Gain: a correctness fix; also faster string keys (BENCHMARKS.md, third session).
export default {
  name: "one-to-one-string-keys",
  edits: [
    {
      file: "lstring.js",
      from: `    let len = str.length;
    let s = "|";
    for (let i=0; i<len; i++)
        s += str[i].toString(16);
    return s;`,
      to: `    const len = str.length;
    if (len <= 4096) return "|" + String.fromCharCode.apply(null, str);
    let s = "|";
    for (let i = 0; i < len; i += 4096)
        s += String.fromCharCode.apply(null, str.subarray(i, i + 4096));
    return s;`,
    },
  ],
};
