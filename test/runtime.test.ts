// The embedding API and the Lua host: output bytes, errors, loading, the event loop.
import { expect } from "chai";
import { Runtime, LuaFailure, ScriptError } from "../main/index.js";
import { captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";

const TRACE_PREFIX = "stack traceback:\n";

describe("Runtime (embedding API)", () => {
  it("prints bytes exactly, tab-separated, through the stdout option", async () => {
    const c = captured({ flavor: "nodemcu" });
    await c.rt.run();
    c.rt.exec('print("a\\0b", 1, nil, true, "\\255")');
    expect([...c.stdoutBytes()]).to.deep.equal([0x61, 0, 0x62, 9, 0x31, 9, ...Buffer.from("nil\ttrue\t"), 0xff, 10]);
    expect(await c.rt.finished).to.equal(0);
  });

  it("exec returns results with Lua strings as byte Buffers", async () => {
    const c = captured({ flavor: "nodemcu" });
    await c.rt.run();
    const values = c.rt.exec('return 1 + 1, "x\\0y", {1, 2}, {a = true}, nil');
    expect(values).to.deep.equal([2, Buffer.from("x\0y"), [1, 2], { a: true }, null]);
    await c.rt.close();
  });

  it("exec refuses to run before the start, during a reboot and after close(), but not after an idle end", async () => {
    const c = captured({ flavor: "nodemcu" });
    expect(() => c.rt.exec("return 1")).to.throw("the runtime has not started");
    await c.rt.run();
    c.rt.exec("x = 41 node.restart()");
    expect(() => c.rt.exec("return 1")).to.throw("the device is rebooting");
    await c.rt.close();
    expect(() => c.rt.exec("print('after')")).to.throw("the runtime is closed");
    const idle = captured({ flavor: "nodemcu" });
    await idle.rt.run();
    idle.rt.exec("x = 41");
    expect(await idle.rt.finished).to.equal(0);
    expect(idle.rt.exec("return x + 1")).to.deep.equal([42]);
    await idle.rt.close();
    expect(() => idle.rt.exec("return x")).to.throw("the runtime is closed");
    expect(c.stdout() + idle.stdout()).to.equal("");
  });

  it("runs prelude chunks before the script and passes arguments in arg", async () => {
    const dir = makeProject({ "main.lua": 'print(greeting, arg[0], arg[1], arg[2])' });
    const c = captured({ prelude: ['greeting = "hi"'], args: ["one", "two"] });
    await c.rt.run(`${dir}/main.lua`);
    expect(c.stdout()).to.equal("hi\tmain.lua\tone\ttwo\n");
    expect(c.rt.flavor).to.equal("luatos");
    expect(await c.rt.finished).to.equal(0);
  });

  it("reports a main-chunk error with file:line and a traceback, and rejects run()", async () => {
    const dir = makeProject({ "init.lua": 'print("before")\nlocal x\nx.y = 1\n' });
    const c = captured();
    let failure: unknown;
    await c.rt.run(dir).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(LuaFailure);
    expect((failure as LuaFailure).message).to.equal("init.lua:3: attempt to index a nil value (local 'x')");
    expect(c.stderr()).to.equal(`moonrig: init.lua:3: attempt to index a nil value (local 'x')\n${TRACE_PREFIX}\tinit.lua:3: in main chunk\n`);
    expect(c.stdout()).to.equal("before\n");
    expect(await c.rt.finished).to.equal(1);
  });

  it("names the global in an error, as C Lua does", async () => {
    const c = captured({ prelude: ["m:publish()"] });
    await c.rt.run().catch(() => undefined);
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: (command line):1: attempt to index a nil value (global 'm')");
  });

  it("shows [C] frames like C Lua and counts method arguments after self", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['local t = tmr.create()\nt:alarm(100, tmr.ALARM_SINGLE, "nope")'] });
    await c.rt.run().catch(() => undefined);
    expect(c.stderr()).to.equal(
      "moonrig: (command line):2: bad argument #3 to 'alarm' (Must be function)\n" +
        `${TRACE_PREFIX}\t[C]: in method 'alarm'\n\t(command line):2: in main chunk\n`,
    );
  });

  it("rejects with ScriptError for a missing script or an empty project", async () => {
    const dir = makeProject({ "readme.txt": "" });
    for (const target of [`${dir}/missing.lua`, dir]) {
      const rt = new Runtime({ stderr: () => undefined });
      const error = await rt.run(target).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ScriptError);
      await rt.close();
    }
    const rt = new Runtime();
    expect((await rt.run(dir).catch((e: unknown) => e) as Error).message).to.equal(`${dir}: no init.lua or main.lua in the project directory`);
  });

  it("skips a UTF-8 byte-order mark and a #! first line, keeping line numbers", async () => {
    const dir = makeProject({ "main.lua": Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('#!/usr/bin/env moonrig\nprint("ok")\nerror("here")\n')]) });
    const c = captured();
    await c.rt.run(`${dir}/main.lua`).catch(() => undefined);
    expect(c.stdout()).to.equal("ok\n");
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: main.lua:3: here");
  });
});

describe("Loading a project", () => {
  it("sees the project flat: require and dofile find files in subfolders", async () => {
    const dir = makeProject({
      "init.lua": 'local cfg = require "config"\nlocal m = require("mqtt_main")\ndofile("helpers.lua")\nprint(cfg.name, m.go(), helper())',
      "lib/config.lua": 'return { name = "dev1" }',
      "mqtt/mqtt_main.lua": 'return { go = function() return "going" end }',
      "util/deep/helpers.lua": "function helper() return 'helped' end",
    });
    const c = captured();
    await c.rt.run(dir);
    expect(c.stdout()).to.equal("dev1\tgoing\thelped\n");
    expect(c.rt.flavor).to.equal("nodemcu");
  });

  it("loadfile returns nil and a message for a missing file; require lists where it looked", async () => {
    const dir = makeProject({ "main.lua": 'print(loadfile("nope.lua"))\nprint(pcall(require, "nomod"))' });
    const c = captured();
    await c.rt.run(dir);
    expect(c.stdout()).to.equal(
      "nil\tcannot open nope.lua\nfalse\tmodule 'nomod' not found:\n\tno field package.preload['nomod']\n\tno file 'nomod.lua' in the project\n\tno file 'nomod.lc' in the project\n\tno file 'nomod.lua' in moonrig's lua/ library\n",
    );
  });

  it("refuses a name found twice in the flat view, naming both files", async () => {
    const dir = makeProject({ "init.lua": 'require "config"', "a/config.lua": "return 1", "b/config.lua": "return 2" });
    const c = captured();
    await c.rt.run(dir).catch(() => undefined);
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: init.lua:1: 'config.lua' is ambiguous in the flat project view: a/config.lua and b/config.lua");
  });

  it("refuses paths that escape the project, for dofile, loadfile and require", async () => {
    const dir = makeProject({ "init.lua": "", "sub/x.lua": "" });
    const c = captured();
    await c.rt.run(dir);
    for (const call of ['dofile("../secret.lua")', 'loadfile("../../etc/passwd")', 'dofile("sub/../../x.lua")', 'require("..evil")']) {
      const error = (() => {
        try {
          c.rt.exec(call);
          return undefined;
        } catch (e) {
          return e as LuaFailure;
        }
      })();
      if (call.startsWith("require")) {
        expect(error?.message).to.match(/module '\.\.evil' not found/);
      } else {
        expect(error?.message).to.match(/^\(exec\):1: path '.*' is outside the project directory$/);
      }
    }
    await c.rt.close();
  });

  it("sees files the script creates or removes after the flat view was built", async () => {
    const dir = makeProject({ "init.lua": "", "lib/a.lua": "return 'a'" });
    const c = captured();
    await c.rt.run(dir);
    expect(c.rt.exec('return require("a")')).to.deep.equal([Buffer.from("a")]);
    c.rt.exec('file.putcontents("made.lua", "return 42") file.remove("a.lua")');
    expect(c.rt.exec('return dofile("made.lua"), (loadfile("a.lua"))')).to.deep.equal([42, null]);
    await c.rt.close();
  });

  it("also loads from the --fs flash folder when it is not the project directory", async () => {
    const project = makeProject({ "init.lua": 'print(dofile("stored.lua"), require("flashmod"))' });
    const flash = makeProject({ "stored.lua": "return 'from flash'", "flashmod.lua": "return 'module'" });
    const c = captured({ fs: flash });
    await c.rt.run(project);
    expect(c.stdout()).to.equal("from flash\tmodule\n");
  });

  it("finds the runtime's own lua/ library after the project", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['print((pcall(require, "moonrig_library_probe")))'] });
    await c.rt.run();
    expect(c.stdout()).to.equal("false\n");
  });

  it("detects the flavor from the entry name, then from the API used", async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ "init.lua": "" }, "", "nodemcu"],
      [{ "main.lua": "" }, "", "luatos"],
      [{ "app.lua": "sys.taskInit(function() end)" }, "app.lua", "luatos"],
      [{ "app.lua": "m = mqtt.Client('x', 60)" }, "app.lua", "nodemcu"],
      [{ "app.lua": "print(1)" }, "app.lua", "nodemcu"],
    ];
    for (const [files, entry, flavor] of cases) {
      const dir = makeProject(files);
      const rt = new Runtime({ stdout: () => undefined, stderr: () => undefined });
      await rt.run(entry ? `${dir}/${entry}` : dir).catch(() => undefined);
      expect(rt.flavor, JSON.stringify(files)).to.equal(flavor);
      await rt.close();
    }
  });
});

describe("Standard library adjustments", () => {
  it("collectgarbage works for every option (fengari raises on all of them)", async () => {
    const c = captured({ flavor: "nodemcu" });
    await c.rt.run();
    const [count, collect, step, running] = c.rt.exec('return collectgarbage("count"), collectgarbage(), collectgarbage("step"), collectgarbage("isrunning")');
    expect(count).to.be.a("number").greaterThan(0);
    expect([collect, step, running]).to.deep.equal([0, true, true]);
    expect(() => c.rt.exec('collectgarbage("bogus")')).to.throw("bad argument #1 to 'collectgarbage' (invalid option 'bogus')");
    await c.rt.close();
  });

  it("has the Lua 5.1 names in the nodemcu flavor; LuatOS keeps only unpack", async () => {
    const probe = 'return unpack({1, 2})==1, loadstring("return 7")(), table.getn({1,2,3}), math.pow(2, 10), math.mod(7, 3), string.gfind ~= nil';
    const n = captured({ flavor: "nodemcu" });
    await n.rt.run();
    expect(n.rt.exec(probe)).to.deep.equal([true, 7, 3, 1024, 1, true]);
    await n.rt.close();
    const l = captured({ flavor: "luatos" });
    await l.rt.run();
    expect(l.rt.exec("return unpack == table.unpack, loadstring, table.getn, math.pow")).to.deep.equal([true, null, null, null]);
    await l.rt.close();
  });

  it("os.date with a leading ! formats in UTC, as C Lua does", async () => {
    const c = captured({ flavor: "luatos" });
    await c.rt.run();
    expect(c.rt.exec('return os.date("!%Y-%m-%d %H:%M:%S", 86400 + 3661), os.date("!*t", 0).year, type(os.date())')).to.deep.equal([Buffer.from("1970-01-02 01:01:01"), 1970, Buffer.from("string")]);
    await c.rt.close();
  });

  it("string keys are distinct byte for byte (fengari's own key function mixed some up)", async () => {
    // "\1#" is bytes 01 23 and "\18\3" bytes 12 03: unpadded hex made both "|123".
    const c = captured({ flavor: "nodemcu" });
    await c.rt.run();
    const result = c.rt.exec(`
      local t = { ["\\1#"] = "a", ["\\18\\3"] = "b" }
      local big = string.rep("\\0\\255", 5000)
      t[big] = "c"
      t[big .. "\\0"] = "d"
      local n = 0
      for i = 0, 255 do t[string.char(i)] = i end
      for _ in pairs(t) do n = n + 1 end
      return t["\\1#"], t["\\18\\3"], t[string.rep("\\0\\255", 5000)], t[big .. "\\0"], n`);
    expect(result).to.deep.equal([Buffer.from("a"), Buffer.from("b"), Buffer.from("c"), Buffer.from("d"), 260]);
    await c.rt.close();
  });

  // moonrig's fengari returns from a yield instead of throwing where it can (scripts/
  // fastcli.mjs); this script runs through both ways and every refusal. The expected lines
  // are what the reference interpreter, lua5.3 5.3.6, prints for it.
  it("coroutines behave exactly as in C Lua 5.3, whichever way a yield unwinds", async () => {
    const dir = makeProject({ "co.lua": COROUTINE_SCRIPT });
    const c = captured({ flavor: "nodemcu" });
    await c.rt.run(`${dir}/co.lua`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout().split("\n")).to.deep.equal([
      "start 1 2 true running",
      "suspended true 3 x",
      "got c nil",
      "suspended true",
      "true 42 end",
      "dead false cannot resume dead coroutine",
      "2 10 14",
      "a b",
      "in pcall",
      "pcall false co.lua:22: boom v",
      "direct",
      "pcall2 true w",
      "p done",
      "index foo",
      "add",
      "iter 0",
      "iter 1",
      "iter 2",
      "V S 1=w1,2=w2,3=w3",
      "inner1 inner2 deep deeper D E",
      "false attempt to yield from outside a coroutine",
      "false attempt to yield across a C-call boundary",
      "false attempt to yield across a C-call boundary",
      "false table 7 dead false cannot resume dead coroutine",
      "j1 j2",
      "j3",
      "hooked",
      "after true",
      "true false cannot resume non-suspended coroutine",
      "",
    ]);
  });

  // fengari keeps a table's removed object keys for `next` across inserts (scripts/
  // fastcli.mjs): clearing every field during a traversal must still visit each once.
  it("pairs visits every key once while the loop clears them, after insert-and-remove churn", async () => {
    const c = captured({ flavor: "luatos" });
    await c.rt.run();
    expect(c.rt.exec(`
      local t = {}
      for i = 1, 100 do t["k" .. i] = i t[{}] = i t[coroutine.create(print)] = i end
      local co = coroutine.create(print)
      for i = 1, 1000 do t[co] = i t[co] = nil t[i] = i end
      local seen, twice = 0, false
      local visited = {}
      for k in pairs(t) do
        if visited[k] then twice = true end
        visited[k] = true
        seen = seen + 1
        t[k] = nil
      end
      return seen, twice, next(t)`)).to.deep.equal([1300, false, null]);
    await c.rt.close();
  });

  it("os.exit ends the run with its status, even inside pcall, and runs nothing after", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['pcall(os.exit, 3)\nprint("after pcall")'] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(3);
    expect(c.stdout()).to.equal("");
    const d = captured({ flavor: "nodemcu", prelude: ["os.exit(true)"] });
    await d.rt.run();
    expect(await d.rt.finished).to.equal(0);
    const e = captured({ flavor: "nodemcu", prelude: ["tmr.create():alarm(5, 0, function() os.exit(false) end)"] });
    await e.rt.run();
    expect(await e.rt.finished).to.equal(1);
  });
});

describe("Event loop", () => {
  it("exits when nothing is pending and stays alive while a timer is", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['local n = 0\nlocal t = tmr.create()\nt:alarm(20, tmr.ALARM_AUTO, function(tt) n = n + 1 print("tick", n) if n == 3 then tt:unregister() end end)'] });
    const started = Date.now();
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.greaterThanOrEqual(55);
    expect(c.stdout()).to.equal("tick\t1\ntick\t2\ntick\t3\n");
  });

  it("never runs a callback while Lua is running: events queue until the chunk returns", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['tmr.create():alarm(1, tmr.ALARM_SINGLE, function() print("timer") end)\nprint("a")\ntmr.delay(30000)\nprint("b")'] });
    await c.rt.run();
    await c.rt.finished;
    expect(c.stdout()).to.equal("a\nb\ntimer\n");
  });

  it("an error in a callback prints message and traceback and ends with status 1", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['tmr.create():alarm(5, tmr.ALARM_SINGLE, function() local v = nil; return v.x end)\ntmr.create():alarm(50, tmr.ALARM_SINGLE, function() print("never") end)'] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(1);
    expect(c.stderr()).to.equal(`moonrig: (command line):1: attempt to index a nil value (local 'v')\n${TRACE_PREFIX}\t(command line):1: in function <(command line):1>\n`);
    expect(c.stdout()).to.equal("");
  });

  it("keepGoing reports callback errors and carries on", async () => {
    const c = captured({ flavor: "nodemcu", keepGoing: true, prelude: ['tmr.create():alarm(5, 0, function() error("first") end)\ntmr.create():alarm(30, 0, function() print("still here") end)'] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: (command line):1: first");
    expect(c.stdout()).to.equal("still here\n");
  });

  it("runFor stops a script that never ends with status 0", async () => {
    const c = captured({ flavor: "nodemcu", runFor: 0.175, prelude: ['tmr.create():alarm(50, tmr.ALARM_AUTO, function() print("tick") end)'] });
    const started = Date.now();
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    const elapsed = Date.now() - started;
    expect(elapsed).to.be.within(170, 1000);
    // About three ticks; a loaded machine delays timers, so allow one fewer.
    expect(c.stdout()).to.be.oneOf(["tick\ntick\n", "tick\ntick\ntick\n"]);
  });

  it("node.restart reboots into a fresh Lua state that runs the script again", async () => {
    const dir = makeProject({ "init.lua": 'print("boot", leftover)\nleftover = "from previous boot"\ntmr.create():alarm(10, tmr.ALARM_SINGLE, function() node.restart() end)' });
    const c = captured();
    await c.rt.run(dir);
    await c.waitFor("boot\tnil\nboot\tnil\nboot\tnil\n");
    await c.rt.close();
    expect(await c.rt.finished).to.equal(0);
  });

  it("node.dsleep sleeps, then reboots", async () => {
    const dir = makeProject({ "init.lua": 'print("boot", tmr.now() < 1000000)\nnode.dsleep(100000)' });
    const c = captured();
    const started = Date.now();
    await c.rt.run(dir);
    await c.waitFor("boot\ttrue\nboot\ttrue\n");
    expect(Date.now() - started).to.be.greaterThanOrEqual(95);
    await c.rt.close();
  });

  it("close() stops timers and resolves finished", async () => {
    const c = captured({ flavor: "nodemcu", prelude: ['tmr.create():alarm(10, tmr.ALARM_AUTO, function() print("tick") end)'] });
    await c.rt.run();
    await c.waitFor("tick\n");
    await c.rt.close();
    const seen = c.stdout();
    await new Promise((r) => setTimeout(r, 50));
    expect(c.stdout()).to.equal(seen);
    expect(await c.rt.finished).to.equal(0);
  });
});

const COROUTINE_SCRIPT = `local out = {}
local function say(...) local t = table.pack(...) for i = 1, t.n do t[i] = tostring(t[i]) end out[#out + 1] = table.concat(t, " ") end
-- values both ways, status in every state
local co = coroutine.create(function(a, b)
  say("start", a, b, coroutine.isyieldable(), coroutine.status(coroutine.running()))
  local c, d = coroutine.yield(a + b, "x")
  say("got", c, d)
  local e = coroutine.yield()
  return e, "end"
end)
say(coroutine.status(co), coroutine.resume(co, 1, 2))
say(coroutine.status(co), coroutine.resume(co, "c", nil))
say(coroutine.resume(co, 42))
say(coroutine.status(co), coroutine.resume(co))
-- tail-called yield
local t = coroutine.wrap(function(x) while true do x = coroutine.yield(x * 2) end end)
say(t(1), t(5), t(7))
local tail = coroutine.wrap(function(x) return coroutine.yield(x) end)
say(tail("a"), tail("b"))
-- yield inside pcall, then an error caught by that pcall after resuming
local p = coroutine.wrap(function()
  local ok, err = pcall(function() local v = coroutine.yield("in pcall") error("boom " .. v) end)
  say("pcall", ok, err)
  local ok2, v2 = pcall(coroutine.yield, "direct")
  say("pcall2", ok2, v2)
  return "p done"
end)
say(p()) say(p("v")) say(p("w"))
-- yield across a metamethod and a generic-for iterator written in Lua
local mt = setmetatable({}, { __index = function(_, k) return coroutine.yield("index " .. k) end,
                              __add = function(a, b) return coroutine.yield("add") end })
local m = coroutine.wrap(function()
  local v = mt.foo
  local s = mt + 1
  local acc = {}
  for i, w in function(_, i) if i < 3 then return i + 1, coroutine.yield("iter " .. i) end end, nil, 0 do acc[#acc + 1] = i .. "=" .. tostring(w) end
  return v, s, table.concat(acc, ",")
end)
say(m()) say(m("V")) say(m("S")) say(m("w1")) say(m("w2")) say(m("w3"))
-- nested coroutines, and yields from a deep Lua call chain
local outer = coroutine.wrap(function()
  local inner = coroutine.wrap(function() coroutine.yield("inner1") return "inner2" end)
  coroutine.yield(inner()) coroutine.yield(inner())
  local function deep(n) if n == 0 then return coroutine.yield("deep") end return deep(n - 1) end
  local function deeper(n) if n == 0 then return (coroutine.yield("deeper")) end local r = deeper(n - 1) return r end
  return deep(50), deeper(50)
end)
say(outer(), outer(), outer(), outer("D"), outer("E"))
-- yields that are not allowed, and errors
say(pcall(coroutine.yield, 1))
local c2 = coroutine.create(function() table.sort({3, 2, 1}, function(a, b) coroutine.yield() return a < b end) end)
say(coroutine.resume(c2))
local c3 = coroutine.create(function() ("abc"):gsub(".", function(c) coroutine.yield(c) end) end)
say(coroutine.resume(c3))
local c4 = coroutine.create(function() coroutine.yield(1) error({code = 7}) end)
coroutine.resume(c4) local ok4, e4 = coroutine.resume(c4) say(ok4, type(e4), e4.code, coroutine.status(c4), coroutine.resume(c4))
-- a JS function as the body, yielding directly
local y = coroutine.wrap(coroutine.yield) say(y("j1", "j2")) say(y("j3"))
-- yield with a count hook set inside the coroutine
local h = coroutine.wrap(function() local n = 0 debug.sethook(function() n = n + 1 end, "", 1) local r = coroutine.yield("hooked") debug.sethook() return r, n > 0 end)
say(h()) say(h("after"))
-- wrap inside wrap with resume of a running coroutine refused
local self
self = coroutine.create(function() return coroutine.resume(self) end)
say(coroutine.resume(self))
print(table.concat(out, "\\n"))
`;
