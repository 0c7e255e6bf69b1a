// NodeMCU file through the real Runtime: the flash folder seen flat, byte-exact contents,
// file objects and the legacy one-open-file API, and the firmware's error wording.
import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeOptions } from "../main/index.js";
import { captured, startedIn, type Captured } from "./support/capture.js";
import { errorOf, run } from "./support/lua.js";
import { tempDir } from "./support/temp.js";

function boot(files: Record<string, string | Uint8Array>, options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
  return startedIn(files, { flavor: "nodemcu", ...options });
}

describe("NodeMCU file objects", () => {
  it("writes and reads bytes exactly, NUL and 0xFF included", async () => {
    const { c, dir } = await boot({ "init.lua": "" });
    expect(run(c, 'local f = file.open("data.bin", "w") local ok = f:write("\\0\\1\\255") f:close() return ok, file.getcontents("data.bin")')).to.deep.equal([true, "\x00\x01\xff"]);
    expect([...readFileSync(join(dir, "data.bin"))]).to.deep.equal([0, 1, 255]);
    writeFileSync(join(dir, "raw.bin"), Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]));
    expect(run(c, 'local f = file.open("raw.bin") return f:read(), f:read()')).to.deep.equal(["\xde\xad\x00\xbe\xef", null]);
    await c.rt.close();
  });

  it("read() gives at most 1024 bytes, read(n) n bytes, read(char) up to that char; nil at the end", async () => {
    const text = `${"a".repeat(1500)}\nline two\nend`;
    const { c } = await boot({ "init.lua": "", "big.txt": text });
    expect(run(c, 'local f = file.open("big.txt") return #f:read(), #f:read(10), f:read("\\n"), f:read(0) ~= nil')).to.deep.equal([1024, 10, `${"a".repeat(466)}\n`, true]);
    expect(run(c, 'local f = file.open("big.txt") f:seek("set", 1501) return f:readline(), f:readline(), f:readline()')).to.deep.equal(["line two\n", "end", null]);
    expect(errorOf(c, 'file.open("big.txt"):read("ab")')).to.equal("(exec):2: wrong arg range");
    await c.rt.close();
  });

  it("writeline adds a newline; seek moves within the file and answers the position", async () => {
    const { c } = await boot({ "init.lua": "" });
    expect(run(c, 'local f = file.open("log.txt", "w+") f:writeline("one") f:write("two") return f:seek("set"), f:read(), f:seek("end"), f:seek("cur", -3), f:read(), f:seek("set", 99), f:seek("cur", -100)')).to.deep.equal([0, "one\ntwo", 7, 4, "two", null, null]);
    expect(errorOf(c, 'file.open("log.txt"):seek("middle")')).to.equal("(exec):2: bad argument #1 to 'seek' (invalid option 'middle')");
    await c.rt.close();
  });

  it("honours the modes: r reads, w truncates, a appends, r+ updates in place, a+ reads from the start", async () => {
    const { c, dir } = await boot({ "init.lua": "", "m.txt": "12345" });
    expect(run(c, 'local f = file.open("m.txt", "r") return f:write("x"), f:read()')).to.deep.equal([null, "12345"]);
    expect(run(c, 'local f = file.open("m.txt", "r+") f:seek("set", 1) f:write("ab") f:close() return file.getcontents("m.txt")')).to.deep.equal(["1ab45"]);
    expect(run(c, 'local f = file.open("m.txt", "a") f:write("6") local r = f:read() f:close() return r, file.getcontents("m.txt")')).to.deep.equal([null, "1ab456"]);
    expect(run(c, 'local f = file.open("m.txt", "a+") local first = f:read(2) f:write("7") f:close() return first, file.getcontents("m.txt")')).to.deep.equal(["1a", "1ab4567"]);
    expect(run(c, 'local f = file.open("m.txt", "w") local r = f:read() f:close() return r, file.getcontents("m.txt")')).to.deep.equal([null, ""]);
    expect(readFileSync(join(dir, "m.txt"), "latin1")).to.equal("");
    expect(run(c, 'return file.open("missing.txt"), file.open("missing.txt", "r+"), file.open("m.txt", "q")')).to.deep.equal([null, null, null]);
    await c.rt.close();
  });

  it("a closed object refuses work; tostring names it", async () => {
    const { c } = await boot({ "init.lua": "", "a.txt": "x" });
    expect(errorOf(c, 'local f = file.open("a.txt") f:close() f:read()')).to.equal("(exec):2: open a file first");
    expect(run(c, 'return tostring(file.open("a.txt")):match("^file.obj: ") ~= nil')).to.deep.equal([true]);
    await c.rt.close();
  });

  it("checks names: too long, embedded NUL, missing", async () => {
    const { c } = await boot({ "init.lua": "" });
    expect(errorOf(c, `file.open("${"n".repeat(32)}", "w")`)).to.equal("(exec):2: bad argument #1 to 'open' (filename invalid)");
    expect(errorOf(c, 'file.exists("a\\0b")')).to.equal("(exec):2: bad argument #1 to 'exists' (filename invalid)");
    expect(errorOf(c, "file.open()")).to.equal("(exec):2: bad argument #1 to 'open' (string expected, got no value)");
    expect(run(c, `return file.open("${"n".repeat(31)}", "w") ~= nil`)).to.deep.equal([true]);
    await c.rt.close();
  });
});

describe("NodeMCU file, the legacy API on the last opened file", () => {
  it("file.read/write/readline/close act on the file opened last", async () => {
    const { c } = await boot({ "init.lua": "" });
    expect(errorOf(c, 'file.write("x")')).to.equal("(exec):2: open a file first");
    expect(errorOf(c, "file.readline()")).to.equal("(exec):2: open a file first");
    expect(run(c, 'file.open("legacy.txt", "w") file.writeline("first") file.write("second") file.close() return file.open("legacy.txt", "r") ~= nil, file.readline(), file.read(), file.read()')).to.deep.equal([true, "first\n", "second", null]);
    expect(run(c, 'file.close() return file.read(), file.write("x"), file.seek("set", 0), file.flush()')).to.deep.equal([null, null, null, null]);
    expect(run(c, 'local f = file.open("legacy.txt") return file.seek("set", 6), file.read(3), f:read(3)')).to.deep.equal([6, "sec", "ond"]);
    await c.rt.close();
  });
});

describe("NodeMCU file system functions", () => {
  it("sees the flash folder flat: names find files in subfolders; writes go where the file is", async () => {
    const { c, dir } = await boot({ "init.lua": "", "conf/config.json": '{"a":1}', "lib/x/util.lua": "return 1" });
    expect(run(c, 'return file.getcontents("config.json"), file.exists("util.lua"), file.exists("nothing.lua")')).to.deep.equal(['{"a":1}', true, false]);
    expect(run(c, 'return file.putcontents("config.json", "{}"), file.putcontents("new.txt", "n")')).to.deep.equal([true, true]);
    expect(readFileSync(join(dir, "conf/config.json"), "latin1")).to.equal("{}");
    expect(existsSync(join(dir, "config.json"))).to.equal(false);
    expect(readFileSync(join(dir, "new.txt"), "latin1")).to.equal("n");
    await c.rt.close();
  });

  it("lists names with sizes, filtered by a Lua pattern", async () => {
    const { c } = await boot({ "init.lua": "print(1)", "lib/app.lua": "x", "data.txt": "12345" });
    expect(run(c, "return file.list()")).to.deep.equal([{ "app.lua": 1, "data.txt": 5, "init.lua": 8 }]);
    expect(run(c, 'return file.list("%.lua$")')).to.deep.equal([{ "app.lua": 1, "init.lua": 8 }]);
    expect(errorOf(c, 'file.list("[")')).to.match(/malformed pattern/);
    await c.rt.close();
  });

  it("removes and renames; rename refuses to overwrite", async () => {
    const { c, dir } = await boot({ "init.lua": "", "a.txt": "A", "b.txt": "B" });
    expect(run(c, 'return file.rename("a.txt", "c.txt"), file.rename("c.txt", "b.txt"), file.rename("zzz", "y"), file.exists("a.txt"), file.getcontents("c.txt")')).to.deep.equal([true, false, false, false, "A"]);
    expect(run(c, 'file.remove("b.txt") file.remove("never.txt") return file.exists("b.txt"), file.getcontents("b.txt")')).to.deep.equal([false, null]);
    expect(existsSync(join(dir, "b.txt"))).to.equal(false);
    await c.rt.close();
  });

  it("reports fsinfo as remaining, used, total and stat as a table", async () => {
    const { c } = await boot({ "init.lua": "", "ten.txt": "0123456789" });
    const [remaining, used, total] = run(c, "return file.fsinfo()") as number[];
    expect(used).to.equal(10);
    expect(total).to.equal(2893218);
    expect(remaining).to.equal(total - used);
    const [s] = run(c, 'return file.stat("ten.txt")') as Array<Record<string, unknown>>;
    expect(s).to.include({ size: 10, name: "ten.txt", is_dir: false, is_rdonly: false });
    expect(Object.keys(s?.time as object)).to.have.members(["year", "mon", "day", "hour", "min", "sec"]);
    expect(run(c, 'return file.stat("none.txt")')).to.deep.equal([null]);
    await c.rt.close();
  });

  it("refuses names that climb out of the flash folder", async () => {
    const { c } = await boot({ "init.lua": "" });
    for (const call of ['file.open("../secret.txt", "w")', 'file.getcontents("sub/../../x")', 'file.exists("..")', 'file.remove("../init.lua")']) {
      expect(errorOf(c, call), call).to.match(/^\(exec\):2: path '.*' is outside the flash folder$/);
    }
    await c.rt.close();
  });

  it("works in the fs folder when one is given, apart from the project", async () => {
    const fs = tempDir("flash");
    writeFileSync(join(fs, "stored.txt"), "in flash");
    const { c, dir } = await boot({ "init.lua": "", "project.txt": "in project" }, { fs });
    expect(run(c, 'return file.getcontents("stored.txt"), file.exists("project.txt"), file.putcontents("out.txt", "o")')).to.deep.equal(["in flash", false, true]);
    expect(readFileSync(join(fs, "out.txt"), "latin1")).to.equal("o");
    expect(existsSync(join(dir, "out.txt"))).to.equal(false);
    await c.rt.close();
  });

  it("refuses a name present twice in the flat view, naming both files", async () => {
    const { c } = await boot({ "init.lua": "", "a/dup.txt": "1", "b/dup.txt": "2" });
    expect(errorOf(c, 'file.open("dup.txt")')).to.equal("(exec):2: 'dup.txt' is ambiguous in the flat flash view: a/dup.txt and b/dup.txt");
    await c.rt.close();
  });

  it("ignores format(), which would erase the project", async () => {
    const { c, dir } = await boot({ "init.lua": "" });
    run(c, "file.format()");
    expect(existsSync(join(dir, "init.lua"))).to.equal(true);
    expect(c.stderr()).to.equal(`moonrig: file.format() ignored: it would erase ${dir}\n`);
    await c.rt.close();
  });
});

// node.compile writes into the flash folder, so node's tests live with file's.
describe("NodeMCU node.compile", () => {
  it("writes x.lc into the flash folder; require and dofile load it", async () => {
    const { c, dir } = await boot({ "init.lua": "", "src/lib.lua": 'return { answer = 42, where = debug.getinfo(1, "S").short_src }' });
    run(c, 'node.compile("lib.lua")');
    expect(readFileSync(join(dir, "lib.lc"), "latin1")).to.equal(readFileSync(join(dir, "src/lib.lua"), "latin1"));
    run(c, 'file.remove("lib.lua")');
    expect(run(c, 'local m = require("lib") return m.answer, m.where, dofile("lib.lc").answer')).to.deep.equal([42, "lib.lc", 42]);
    await c.rt.close();
  });

  it("raises for a name without .lua, a missing file and a syntax error", async () => {
    const { c } = await boot({ "init.lua": "", "bad.lua": "x = = 1" });
    expect(errorOf(c, 'node.compile("notes.txt")')).to.equal("(exec):2: not a .lua file");
    expect(errorOf(c, 'node.compile("missing.lua")')).to.equal("(exec):2: cannot open missing.lua");
    expect(errorOf(c, 'node.compile("bad.lua")')).to.equal("(exec):2: bad.lua:1: unexpected symbol near '='");
    expect(run(c, 'return file.exists("bad.lc")')).to.deep.equal([false]);
    await c.rt.close();
  });
});

describe("NodeMCU node", () => {
  /** Booted with a long timer pending, so later events still run. */
  async function alive(): Promise<Captured> {
    const c = captured({ flavor: "nodemcu", prelude: ["tmr.create():alarm(600000, tmr.ALARM_SINGLE, function() end)"] });
    await c.rt.run();
    return c;
  }

  it("reports identity, heap and the legacy info tuple from the device", async () => {
    const c = captured({ flavor: "nodemcu", device: { chipId: 0x123456, flashId: 0x1640e0, heap: 32000 } });
    await c.rt.run();
    expect(run(c, "return node.chipid(), node.flashid(), node.heap(), node.flashsize()")).to.deep.equal([0x123456, 0x1640e0, 32000, 4194304]);
    expect(run(c, "return node.info()")).to.deep.equal([3, 0, 0, 0x123456, 0x1640e0, 4096, 0, 40000000]);
    expect(run(c, 'local hw = node.info("hw") return hw.chip_id, hw.flash_size, node.info("sw_version").node_version_major, node.info("build_config").ssl')).to.deep.equal([0x123456, 4096, 3, true]);
    expect(errorOf(c, 'node.info("bogus")')).to.equal("(exec):2: bad argument #1 to 'info' (invalid option 'bogus')");
    await c.rt.close();
  });

  it("boots with a power-on reason and counts uptime from boot", async () => {
    const c = await alive();
    const [raw, reason, low, high] = run(c, "local raw, reason = node.bootreason() return raw, reason, node.uptime()") as number[];
    expect([raw, reason, high]).to.deep.equal([1, 0, 0]);
    expect(low).to.be.a("number").within(0, 5_000_000);
    await c.rt.close();
  });

  it("sets the CPU frequency to 80 or 160 MHz and checks egc modes", async () => {
    const c = await alive();
    expect(run(c, "return node.setcpufreq(node.CPU160MHZ), node.getcpufreq(), node.setcpufreq(100), node.getcpufreq()")).to.deep.equal([160, 160, 80, 80]);
    expect(run(c, "node.egc.setmode(node.egc.ALWAYS) node.egc.setmode(node.egc.ON_MEM_LIMIT, 4096) return node.egc.NOT_ACTIVE, node.egc.ON_ALLOC_FAILURE, node.egc.ON_MEM_LIMIT, node.egc.ALWAYS")).to.deep.equal([0, 1, 2, 4]);
    expect(errorOf(c, "node.egc.setmode(9)")).to.equal("(exec):2: bad argument #1 to 'setmode' (invalid mode)");
    expect(errorOf(c, "node.egc.setmode(node.egc.ON_MEM_LIMIT)")).to.equal("(exec):2: bad argument #1 to 'setmode' (limit must be non-zero)");
    await c.rt.close();
  });

  it("node.output sends printed output to a function, with or without the serial copy", async () => {
    const c = await alive();
    run(c, 'got = "" node.output(function(s) got = got .. s end, 0) print("hidden", 1) io.write("raw")');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(c.stdout()).to.equal("");
    run(c, 'node.output(nil) print("got", got)');
    expect(c.stdout()).to.equal("got\thidden\t1\nraw\n");
    run(c, 'node.output(function(s) print("echo:" .. s:gsub("\\n", "")) end, 1) print("both")');
    await c.waitFor("echo:both");
    expect(c.stdout()).to.equal("got\thidden\t1\nraw\nboth\necho:both\n");
    await c.rt.close();
  });

  it("node.input writes into the interpreter's pipe: each complete line runs later, with the prompt after it, as lua.c's dojob does", async () => {
    const c = await alive();
    run(c, 'node.input("print(1 + 1)\\n") node.input("=2 * 21\\nfor i = 1, 2 do\\n") node.input("print(i) end\\nerror(\'oops\')\\n") node.input("print(\'half\',") print("first")');
    await c.waitFor("oops");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = "first\n2\n> 42\n> >> 1\n2\n> Lua error: \tstdin:1: oops\nstack traceback:\n\t[C]: in function 'error'\n\tstdin:1: in main chunk\n> ";
    expect(c.stdout()).to.equal(before);
    // A line without its newline waits in the pipe until one comes.
    run(c, 'node.input(" \'line\')\\n")');
    await c.waitFor("half");
    expect(c.stdout()).to.equal(`${before}half\tline\n> `);
    await c.rt.close();
  });

  it("node.task.post runs the function after the current code, higher priorities first", async () => {
    const c = await alive();
    run(c, 'node.task.post(function() print("task") end) node.task.post(node.task.HIGH_PRIORITY, function() print("task 2") end) print("now")');
    await c.waitFor("task 2");
    expect(c.stdout()).to.equal("now\ntask 2\ntask\n");
    await c.rt.close();
  });
});
