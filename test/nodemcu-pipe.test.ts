// NodeMCU pipe through the real Runtime: pipe.c's 256-byte chunks (nrec, #pipe), its read
// modes, unread, reader iterators and the reader callback posted as a node task.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

describe("NodeMCU pipe", () => {
  let c: Captured;
  beforeEach(async () => {
    c = captured({ flavor: "nodemcu" });
    await c.rt.run();
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("keeps bytes in 256-byte chunks: nrec counts them, #pipe is one more", () => {
    expect(run(c, "p = pipe.create() return p:nrec(), #p, p:read()")).to.deep.equal([0, 1, null]);
    expect(run(c, "p:write(string.rep('x', 300)) return p:nrec(), #p")).to.deep.equal([2, 3]);
    expect(run(c, "p:write(string.rep('y', 212)) return p:nrec()")).to.deep.equal([2]);
    expect(run(c, "p:write('z') return p:nrec()")).to.deep.equal([3]);
    expect(run(c, "return #p:read(256), p:nrec(), tostring(p):match('^Pipe: 0x%x+$') ~= nil")).to.deep.equal([256, 2, true]);
  });

  it("reads lines without the newline by default, with it for '\\n+', and by count across chunks", () => {
    run(c, "p = pipe.create() p:write('one\\ntwo\\n') p:write(string.rep('a', 254) .. '|' .. string.rep('b', 10) .. '\\0end')");
    expect(run(c, "return p:read(), p:read('\\n+'), #p:read('|+'), p:read(3), p:read('\\0'), p:read(100), p:read()")).to.deep.equal(["one", "two\n", 255, "bbb", "bbbbbbb", "end", null]);
  });

  it("a record without its delimiter comes back whole, emptying the pipe", () => {
    expect(run(c, "p = pipe.create() p:write('abc') return p:read(), p:nrec()")).to.deep.equal(["abc", 0]);
  });

  it("unread puts bytes back at the head, across chunks", () => {
    run(c, "p = pipe.create() p:write('world') p:unread('hello ')");
    expect(run(c, "return p:read(100)")).to.deep.equal(["hello world"]);
    run(c, "p:write(string.rep('w', 256)) p:unread(string.rep('u', 300))");
    expect(run(c, "return p:nrec(), p:read(300) == string.rep('u', 300), p:read(1000) == string.rep('w', 256)")).to.deep.equal([3, true, true]);
  });

  it("reader() iterates records for a for loop", () => {
    expect(run(c, "local p = pipe.create() p:write('a,b,,c') local t = {} for r in p:reader(',') do t[#t + 1] = '<' .. r .. '>' end return table.concat(t)")).to.deep.equal(["<a><b><><c>"]);
  });

  it("posts the reader callback once per burst of writes; false stops it, true reposts while data is left", async () => {
    run(c, `log = {}
      p = pipe.create(function(pp) local r = pp:read(2) log[#log + 1] = r return r ~= nil and pp:nrec() > 0 end)
      p:write('abcde') p:write('fg')`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(run(c, "return table.concat(log, '|'), p:nrec()")).to.deep.equal(["ab|cd|ef|g", 0]);
  });

  it("raises for bad sizes, delimiters and priorities; writes of nothing are ignored", () => {
    expect(errorOnLine1(c, "pipe.create():read(0)")).to.match(/bad argument #1 to '.*' \(invalid chunk size\)$/);
    expect(errorOnLine1(c, "pipe.create():read('ab')")).to.match(/bad argument #1 to '.*' \(invalid delimiter\)$/);
    expect(errorOnLine1(c, "pipe.create(print, 3)")).to.match(/bad argument #2 to '.*' \(invalid priority\)$/);
    expect(errorOnLine1(c, "pipe.create(5)")).to.match(/bad argument #1 to '.*' \(function expected, got number\)$/);
    expect(run(c, "local p = pipe.create() p:write('') p:write(nil) p:write({}) return p:nrec()")).to.deep.equal([0]);
  });
});
