// NodeMCU node.task, node.setonerror, node.LFS and loading X.lc from X.lua, through the
// real Runtime: exact output order, error texts and exit statuses.
import { expect } from "chai";
import type { RuntimeOptions } from "../main/index.js";
import { captured, startedIn, type Captured } from "./support/capture.js";
import { errorOf, run } from "./support/lua.js";
import { makeProject } from "./support/project.js";

function boot(files: Record<string, string>, options: RuntimeOptions = {}) {
  return startedIn(files, { flavor: "nodemcu", ...options });
}

/** Runs the project's init.lua (boot() only makes the project the working directory). */
async function runProject(files: Record<string, string>, options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
  const dir = makeProject(files);
  const c = captured({ flavor: "nodemcu", cwd: dir, ...options });
  await c.rt.run(dir);
  return { c, dir };
}

describe("NodeMCU node.task.post", () => {
  it("runs HIGH before MEDIUM (the default) before LOW, FIFO within one, and passes the priority", async () => {
    const { c } = await runProject({
      "init.lua": `
        local t = node.task
        t.post(t.LOW_PRIORITY, function(p) print("low", p) end)
        t.post(t.MEDIUM_PRIORITY, function(p) print("medium", p) end)
        t.post(function(p) print("default", p) end)
        t.post(t.HIGH_PRIORITY, function(p)
          print("high", p)
          t.post(t.HIGH_PRIORITY, function() print("high again") end)
        end)`,
    });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("high\t2\nhigh again\nmedium\t1\ndefault\t1\nlow\t0\n");
    expect(run(c, "return node.task.LOW_PRIORITY, node.task.MEDIUM_PRIORITY, node.task.HIGH_PRIORITY")).to.deep.equal([0, 1, 2]);
    await c.rt.close();
  });

  it("checks its arguments with the firmware's words", async () => {
    const { c } = await boot({ "init.lua": "" });
    expect(errorOf(c, "node.task.post(3, print)")).to.equal("(exec):2: bad argument #1 to 'post' (invalid  priority)");
    expect(errorOf(c, "node.task.post(1)")).to.equal("(exec):2: bad argument #2 to 'post' (function expected, got no value)");
    expect(errorOf(c, 'node.task.post("x")')).to.equal("(exec):2: bad argument #1 to 'post' (function expected, got string)");
    await c.rt.close();
  });
});

describe("NodeMCU node.setonerror", () => {
  it("hands an error escaping a callback, with its traceback, to the function instead of stopping the run", async () => {
    const { c } = await runProject({
      "init.lua": `node.setonerror(function(s) print("caught: " .. s) end)
tmr.create():alarm(1, tmr.ALARM_SINGLE, function() error("boom") end)
node.task.post(function() print("after", 1) end)`,
    });
    expect(await c.rt.finished).to.equal(0);
    const out = c.stdout();
    expect(out.startsWith("after\t1\ncaught: init.lua:2: boom\nstack traceback:\n")).to.equal(true, out);
    expect(c.stderr()).to.equal("");
    await c.rt.close();
  });

  it("node.setonerror() restores the default: the report on stderr ends the run", async () => {
    const { c } = await runProject({
      "init.lua": `node.setonerror(function(s) print("caught") end)
node.setonerror()
node.task.post(function() error("late") end)`,
    });
    expect(await c.rt.finished).to.equal(1);
    expect(c.stdout()).to.equal("");
    expect(c.stderr()).to.match(/^moonrig: init\.lua:3: late\nstack traceback:\n/);
    await c.rt.close();
  });

  it("an error inside the handler itself is reported the default way, not fed back to it", async () => {
    const { c } = await runProject({
      "init.lua": `node.setonerror(function(s) print("handler") error("again") end)
node.task.post(function() error("first") end)`,
    }, { keepGoing: true });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("handler\n");
    expect(c.stderr()).to.match(/^moonrig: init\.lua:1: again\nstack traceback:\n/);
    await c.rt.close();
  });
});

describe("NodeMCU file.stat times", () => {
  it("are SPIFFS's fixed 1970-01-01 00:00:00, not the host's modification time", async () => {
    const { c } = await boot({ "init.lua": "", "a.txt": "abc" });
    expect(run(c, 'local t = file.stat("a.txt").time return t.year, t.mon, t.day, t.hour, t.min, t.sec')).to.deep.equal([1970, 1, 1, 0, 0, 0]);
    await c.rt.close();
  });
});

describe("NodeMCU node.LFS", () => {
  const lfsProject = {
    "init.lua": "",
    "lfs/greet.lua": "local who = ... return 'hello ' .. tostring(who)",
    "lfs/_init.lua": "return 'init'",
    "lfs/notes.txt": "not a module",
  };

  it("is made from the project's lfs/ folder: list, get, node.LFS.<name>, require; not on the flash", async () => {
    const { c } = await boot(lfsProject);
    expect(run(c, "return node.LFS.list()")).to.deep.equal([["_init", "greet"]]);
    expect(run(c, 'return node.LFS.get("greet")("you"), node.LFS.greet("me"), node.LFS.get("nope"), node.LFS.get(), node.flashindex("_init")()')).to.deep.equal(["hello you", "hello me", null, null, "init"]);
    expect(run(c, 'return require("greet"), file.exists("greet.lua"), file.exists("notes.txt")')).to.deep.equal(["hello greet", false, false]);
    expect(run(c, 'local cfg = node.LFS.config return cfg.lfs_size, cfg.lfs_used > 0, node.info("lfs").lfs_base, math.type(node.LFS.time)')).to.deep.equal([0x20000, true, 0x80000, "integer"]);
    await c.rt.close();
  });

  it("a flash copy of a module wins over LFS in require; a missing module names LFS in the message", async () => {
    const { c } = await boot({ ...lfsProject, "greet.lua": "return 'from flash'" });
    expect(run(c, 'return require("greet")')).to.deep.equal(["from flash"]);
    expect(errorOf(c, 'require("absent")')).to.contain("\n\tno module 'absent' in LFS");
    await c.rt.close();
  });

  it("without an image: list and get answer nil, require does not mention LFS", async () => {
    const { c } = await boot({ "init.lua": "" });
    expect(run(c, 'return node.LFS.list(), node.LFS.get("x"), node.LFS.x, node.LFS.time')).to.deep.equal([null, null, null, 0]);
    expect(errorOf(c, 'require("absent")')).not.to.contain("LFS");
    await c.rt.close();
  });

  it("the lfs option names another folder; a module that does not compile fails when fetched", async () => {
    const other = makeProject({ "bad.lua": "return (", "ok.lua": "return 1" });
    const { c } = await boot(lfsProject, { lfs: other });
    expect(run(c, "return node.LFS.list()")).to.deep.equal([["bad", "ok"]]);
    expect(errorOf(c, 'node.LFS.get("bad")')).to.equal("(exec):2: LFS module 'bad': bad.lua:1: unexpected symbol near <eof>");
    await c.rt.close();
  });

  it("reload(folder on the flash) restarts with that folder as the image; a missing one is refused", async () => {
    const { c } = await runProject({
      "init.lua": `print(table.concat(node.LFS.list() or {"none"}, ","))
if not node.LFS.list() then
  tmr.create():alarm(10, tmr.ALARM_SINGLE, function() print(node.LFS.reload("nothere")) node.LFS.reload("img") end)
end`,
      "img/m1.lua": "return 1",
      "img/m2.lua": "return 2",
    });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("none\nNo LFS partition allocated\nm1,m2\n");
    await c.rt.close();
  });
});

describe("NodeMCU X.lc from X.lua", () => {
  it("dofile and loadfile of a missing X.lc compile X.lua, said once on stderr", async () => {
    const { c } = await boot({ "init.lua": "", "mod.lua": "return ..." });
    expect(run(c, 'return dofile("mod.lc"), loadfile("mod.lc")(5), select(2, loadfile("none.lc"))')).to.deep.equal([null, 5, "cannot open none.lc"]);
    expect(c.stderr()).to.equal("moonrig: mod.lc is not in the project: compiled mod.lua in its place\n");
    await c.rt.close();
  });
});
