// LuatOS sys (lua/sys.lua over the rtos host hooks), sysplus, rtos and mcu, through the
// real Runtime: tasks, waits, the message queue, timers, errors in tasks, liveness.
import { expect } from "chai";
import { captured, started, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import type { RuntimeOptions } from "../main/index.js";
import type { DeviceConfig } from "../runtime/device.js";

const TRACE_PREFIX = "stack traceback:\n";
/** A log line's `[YYYY-MM-DD HH:MM:SS.mmm] ` prefix. */
const STAMP = /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] /gm;

function luatos(chunk: string, options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "luatos", ...options, prelude: [`sys = require("sys")\n${chunk}`] });
}

const unstamped = (c: Captured): string => c.stdout().replace(STAMP, "");

describe("LuatOS sys: tasks and waits", () => {
  it("taskInit runs the task at once up to its first wait and returns the coroutine", async () => {
    const c = await luatos(`
      local co = sys.taskInit(function(a, b) print("in", a, b) sys.wait(10) print("resumed") end, 1, "x")
      print("after", type(co), coroutine.status(co))
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("in\t1\tx\nafter\tthread\tsuspended\nresumed\n");
  });

  it("sys.wait sleeps at least the time asked, and run() returns at once", async () => {
    const c = await luatos(`
      sys.taskInit(function()
        local t = mcu.ticks()
        sys.wait(60)
        print("waited", mcu.ticks() - t >= 55)
      end)
      sys.run()
      print("after run")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("after run\nwaited\ttrue\n");
  });

  it("sys.wait outside a task is the error `attempt to yield from outside a coroutine`", async () => {
    const c = captured({ flavor: "luatos", prelude: ['sys = require("sys")\nprint("before")\nsys.wait(100)\nprint("never")'] });
    const failure = await c.rt.run().catch((error: unknown) => error);
    expect((failure as Error).message).to.equal("(command line):3: attempt to yield from outside a coroutine");
    expect(await c.rt.finished).to.equal(1);
    expect(c.stdout()).to.equal("before\n");

    const d = await luatos('sys.timerStart(function() sys.waitUntil("X") end, 5)');
    expect(await d.rt.finished).to.equal(1);
    expect(d.stderr().split("\n")[0]).to.equal("moonrig: (command line):2: attempt to yield from outside a coroutine");
  });

  it("waitUntil returns true and the arguments, or false after its timeout", async () => {
    const c = await luatos(`
      sys.taskInit(function()
        print("got", sys.waitUntil("EV", 1000))
        local t = mcu.ticks()
        local r = table.pack(sys.waitUntil("EV", 50))
        print("timeout", r.n, r[1], mcu.ticks() - t >= 45)
        print("forever", sys.waitUntil("EV"))
      end)
      sys.timerStart(sys.publish, 10, "EV", 1, nil, "three")
      sys.timerStart(sys.publish, 120, "EV", "last")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("got\ttrue\t1\tnil\tthree\ntimeout\t1\tfalse\ttrue\nforever\ttrue\tlast\n");
  });

  it("waitUntilExt returns the id and arguments or false; waitUntilMsg returns the arguments", async () => {
    const c = await luatos(`
      sys.taskInit(function()
        print("ext", sys.waitUntilExt("A", 500))
        print("ext timeout", sys.waitUntilExt("A", 20))
        print("msg", sys.waitUntilMsg("B"))
      end)
      sys.timerStart(function() sys.publish("A", "a1", 2) end, 5)
      sys.timerStart(function() sys.publish("B", "b1", false) end, 60)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("ext\tA\ta1\t2\next timeout\tfalse\nmsg\tb1\tfalse\n");
  });

  it("several tasks waiting for one message all wake, in the order they began waiting", async () => {
    const c = await luatos(`
      for i = 1, 3 do sys.taskInit(function() print("task", i, sys.waitUntil("GO")) end) end
      sys.subscribe("GO", function(v) print("fn", v) end)
      sys.publish("GO", "now")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("task\t1\ttrue\tnow\ntask\t2\ttrue\tnow\ntask\t3\ttrue\tnow\nfn\tnow\n");
  });

  it("a task that waits again goes behind subscribers that came meanwhile, as subscribing anew does", async () => {
    // The task wakes first (it subscribed first), waits again while "X" is still being
    // delivered, and so the callback comes before it for the second message.
    const c = await luatos(`
      sys.taskInit(function() while true do print("task", select(2, sys.waitUntil("X"))) end end)
      sys.subscribe("X", function(v) print("fn", v) end)
      sys.publish("X", 1)
      sys.publish("X", 2)
      sys.timerStart(function() sys.publish("X", 3) end, 5)
      sys.timerStart(os.exit, 20)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("task\t1\nfn\t1\nfn\t2\ntask\t2\nfn\t3\ntask\t3\n");
  });

  it("a task woken by a message gets no more of it until it waits for it again", async () => {
    // The second "X" arrives while the task sleeps in sys.wait: it must not wake it early.
    const c = await luatos(`
      sys.taskInit(function()
        print("got", sys.waitUntil("X"))
        local t = mcu.ticks()
        print("slept", select("#", sys.wait(40)), mcu.ticks() - t >= 35)
        print("then", sys.waitUntil("X", 30))
        sys.subscribe("X", coroutine.running())
        print("subscribed, woken by", sys.wait(1000))
      end)
      sys.publish("X", "a")
      sys.publish("X", "b")
      sys.timerStart(sys.publish, 100, "X", "c")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("got\ttrue\ta\nslept\t0\ttrue\nthen\tfalse\nsubscribed, woken by\tX\tc\n");
  });
});

describe("LuatOS sys: the message queue", () => {
  it("publish queues: nothing runs until the current code returns", async () => {
    const c = await luatos(`
      sys.subscribe("A", function(...) print("A", ...) end)
      sys.publish("A", 1, "two")
      print("after publish")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("after publish\nA\t1\ttwo\n");
  });

  it("drains in order, including messages published during the drain, before anything else runs", async () => {
    const c = await luatos(`
      sys.timerStart(function() print("timer") end, 1)
      sys.subscribe("A", function() print("A") sys.publish("C") end)
      sys.subscribe("B", function() print("B") end)
      sys.subscribe("C", function() print("C") sys.publish("D", 1) end)
      local n = 0
      sys.subscribe("D", function(i) n = n + 1 if i < 50 then sys.publish("D", i + 1) else print("D chain", n) end end)
      sys.taskInit(function() print("task got", sys.waitUntil("C")) sys.publish("E") end)
      sys.subscribe("E", function() print("E") end)
      sys.publish("A")
      sys.publish("B")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("A\nB\nC\ntask got\ttrue\nE\nD chain\t50\ntimer\n");
  });

  it("subscribe and unsubscribe have set semantics and take a table of ids", async () => {
    const c = await luatos(`
      local function f(...) print("f", ...) end
      local function g(...) print("g", ...) end
      sys.subscribe("X", f)
      sys.subscribe("X", f)
      sys.subscribe({"X", "Y"}, g)
      sys.unsubscribe("Z", f)
      sys.unsubscribe("Y", f)
      sys.publish("X", 1)
      sys.publish("Y", 2)
      sys.timerStart(function()
        sys.unsubscribe({"X", "Y"}, g)
        sys.unsubscribe("X", f)
        sys.publish("X", 3)
        sys.publish("Y", 4)
        sys.subscribe("Y", f)
        sys.publish("Y", 5)
      end, 5)
    `);
    expect(await c.rt.finished).to.equal(0);
    // Y 4 is delivered after the callback returns, when f has subscribed to Y again.
    expect(c.stdout()).to.equal("f\t1\ng\t1\ng\t2\nf\t4\nf\t5\n");
  });

  it("a callback unsubscribed by an earlier one in the same delivery is skipped", async () => {
    const c = await luatos(`
      local second
      local function first() print("first") sys.unsubscribe("M", second) end
      second = function() print("second") end
      sys.subscribe("M", first)
      sys.subscribe("M", second)
      sys.publish("M")
      sys.publish("M")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("first\nfirst\n");
  });

  it("sys_pub is sys.publish; require('sysplus') is sys", async () => {
    const c = await luatos(`
      print(sys_pub == sys.publish, require("sysplus") == sys, require("sys") == sys)
      sys.subscribe("P", print)
      sys_pub("P", "via sys_pub")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("true\ttrue\ttrue\nvia sys_pub\n");
  });
});

describe("LuatOS sys: timers", () => {
  it("numbers user timers from 0x200000 and task timers below 0x1FFFFF", async () => {
    const c = await luatos(`
      local id1 = sys.timerStart(function() end, 10)
      local id2 = sys.timerLoopStart(function() end, 10)
      print(id1, id2, sys.timerIsActive(id1), sys.timerIsActive(id2))
      sys.timerStop(id2)
      print(sys.timerIsActive(id2))
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("2097152\t2097153\ttrue\ttrue\nfalse\n");
  });

  it("starting the same callback with the same arguments restarts it instead of adding one", async () => {
    const c = await luatos(`
      local function f(tag) print("fired", tag) end
      local a1 = sys.timerStart(f, 20, "a")
      local a2 = sys.timerStart(f, 40, "a")
      local b = sys.timerStart(f, 30, "b")
      local plain = sys.timerStart(f, 10)
      print(sys.timerIsActive(a1), sys.timerIsActive(a2), sys.timerIsActive(f, "a"), sys.timerIsActive(f, "b"), sys.timerIsActive(f), sys.timerIsActive(f, "c"))
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("false\ttrue\ttrue\ttrue\ttrue\tfalse\nfired\tnil\nfired\tb\nfired\ta\n");
  });

  it("timerStop by id or by callback and arguments, timerStopAll by callback", async () => {
    const c = await luatos(`
      local function f(tag) print("fired", tag) end
      local function g() print("g") end
      local id = sys.timerStart(f, 10, "by id")
      sys.timerStart(f, 10, "by args")
      sys.timerStart(f, 10, "kept")
      sys.timerStart(g, 10)
      sys.timerLoopStart(g, 5, 1)
      sys.timerStart(g, 10, 2)
      sys.timerStop(id)
      sys.timerStop(f, "by args")
      sys.timerStopAll(g)
      print(sys.timerIsActive(g), sys.timerIsActive(g, 1), sys.timerIsActive(f, "kept"))
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("false\tfalse\ttrue\nfired\tkept\n");
  });

  it("timerLoopStart fires repeatedly with its arguments until stopped", async () => {
    const c = await luatos(`
      local n = 0
      local id
      id = sys.timerLoopStart(function(a, b)
        n = n + 1
        print("tick", n, a, b)
        if n == 4 then sys.timerStop(id) print("active", sys.timerIsActive(id)) end
      end, 15, "x", 2)
    `);
    const started = Date.now();
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.greaterThanOrEqual(50);
    expect(c.stdout()).to.equal("tick\t1\tx\t2\ntick\t2\tx\t2\ntick\t3\tx\t2\ntick\t4\tx\t2\nactive\tfalse\n");
  });

  it("a one-shot timer is inactive inside its own callback and may start itself again", async () => {
    const c = await luatos(`
      local n = 0
      local function f()
        n = n + 1
        print("f", n, sys.timerIsActive(f))
        if n < 3 then sys.timerStart(f, 5) end
      end
      sys.timerStart(f, 5)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("f\t1\tfalse\nf\t2\tfalse\nf\t3\tfalse\n");
  });

  it("timerAdvStart(fn, ms, n) fires n + 1 times, like rtos.timer_start's repeat count", async () => {
    const c = await luatos(`
      local n = 0
      local id
      id = sys.timerAdvStart(function(tag) n = n + 1 print(tag, n, sys.timerIsActive(id)) end, 5, 2, "adv")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("adv\t1\ttrue\nadv\t2\ttrue\nadv\t3\tfalse\n");
  });

  it("a task body that is not a function is an error at the script's line; a timer without a callback runs, calling nothing", async () => {
    const d = captured({ flavor: "luatos", prelude: ['sys = require("sys")\nsys.taskInit(42)'] });
    expect(((await d.rt.run().catch((error: unknown) => error)) as Error).message).to.equal("(command line):2: bad argument #1 to 'taskInit' (function expected, got number)");

    // The firmware's sys.lua has its callback checks commented out.
    const c = await luatos('print(math.type(sys.timerStart(nil, 10)), math.type(sys.timerLoopStart(nil, 10)), math.type(sys.timerAdvStart("x", 10, 2)))');
    expect(c.stdout()).to.equal("integer\tinteger\tinteger\n");
  });
});

describe("LuatOS sys: odd arguments the firmware's sys.lua does not check", () => {
  it("timers without a callback run, a 0 ms timer is refused with the firmware's log line, nil task names are logged", async () => {
    const c = await luatos(`
      local function f(tag) print("fired", tag) end
      local id = sys.timerStart(f, 30, "x")
      print("zero", sys.timerStart(f, 0, "x"), sys.timerIsActive(id))
      print("nil fn", math.type(sys.timerLoopStart(nil, 10)), math.type(sys.timerAdvStart(nil, 10, 1)))
      print("stops", sys.timerStop(nil), sys.timerStopAll(nil), sys.unsubscribe("X", print), sys.publish())
      print("ex", sys.taskInitEx(function() print("never") end, nil))
      sys.timerStart(os.exit, 60, 0)
    `);
    expect(await c.rt.finished).to.equal(0);
    const lines = unstamped(c).split("\n");
    expect(lines.slice(0, 4)).to.deep.equal(["E/user.rtos.timer_start create fail!!!", "zero\tnil\tfalse", "nil fn\tinteger\tinteger", "stops\tnil\tnil\tnil"]);
    expect(lines[4]).to.equal("E/user.sys taskName is nil stack traceback:");
    expect(lines.slice(-2)).to.deep.equal(["ex", ""]);
  });
});

describe("LuatOS sys: errors and liveness", () => {
  it("an error inside a task is logged with its traceback, then ends the run with status 1", async () => {
    const c = await luatos(`
      sys.taskInit(function()
        sys.wait(5)
        local x = nil
        print(x.y)
      end)
      sys.timerStart(function() print("never") end, 60)
      print("main done")
    `);
    expect(await c.rt.finished).to.equal(1);
    const report = "(command line):6: attempt to index a nil value (local 'x')\n" + `${TRACE_PREFIX}\t(command line):6: in function <(command line):3>`;
    expect(unstamped(c)).to.equal(`main done\nE/user.coroutine.resume ${report}\n`);
    expect(c.stderr()).to.equal(`moonrig: ${report}\n`);
  });

  it("an error in a task's first run does not stop the main chunk; keepGoing carries on", async () => {
    const c = await luatos(`
      sys.taskInit(function() error("boom") end)
      sys.timerStart(function() print("still running") end, 30)
      print("main done")
    `, { keepGoing: true });
    expect(await c.rt.finished).to.equal(0);
    expect(unstamped(c)).to.equal(`E/user.coroutine.resume (command line):3: boom\n${TRACE_PREFIX}\t[C]: in function 'error'\n\t(command line):3: in function <(command line):3>\nmain done\nstill running\n`);
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: (command line):3: boom");
  });

  it("an error in a subscriber follows the callback policy; with keepGoing the queue still drains", async () => {
    const c = await luatos(`
      sys.subscribe("A", function() error("in subscriber") end)
      sys.subscribe("B", function() print("B ran") end)
      sys.publish("A")
      sys.publish("B")
    `, { keepGoing: true });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("B ran\n");
    expect(c.stderr().split("\n")[0]).to.equal("moonrig: (command line):3: in subscriber");

    const d = await luatos('sys.subscribe("A", function() error("in subscriber") end)\nsys.subscribe("B", function() print("B ran") end)\nsys.publish("A")\nsys.publish("B")');
    expect(await d.rt.finished).to.equal(1);
    expect(d.stdout()).to.equal("");
  });

  it("os.exit inside a task ends the run with its status and logs nothing", async () => {
    const c = await luatos('sys.taskInit(function() sys.wait(5) os.exit(3) end)\nsys.timerStart(function() print("never") end, 40)');
    expect(await c.rt.finished).to.equal(3);
    expect(c.stdout()).to.equal("");
    expect(c.stderr()).to.equal("");
  });

  it("exits when nothing is pending: no timer, no waiting task", async () => {
    const c = await luatos('sys.taskInit(function() sys.wait(10) print("done") end)');
    const started = Date.now();
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.below(1000);
    expect(c.stdout()).to.equal("done\n");
  });

  it("a task waiting for a message without a timeout keeps the script alive", async () => {
    // --run-for counts from the start of run(), so the clock starts before it.
    const started = Date.now();
    const c = await luatos('sys.taskInit(function() print("waiting") sys.waitUntil("NEVER") print("never") end)', { runFor: 0.25 });
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.within(200, 1500);
    expect(c.stdout()).to.equal("waiting\n");
  });

  it("a task that wakes lets the script end once nothing else waits", async () => {
    const c = await luatos(`
      sys.taskInit(function() print("got", sys.waitUntil("GO")) end)
      sys.taskInit(function() sys.wait(30) sys.publish("GO", 1) end)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("got\ttrue\t1\n");
  });
});

describe("LuatOS sys: network readiness", () => {
  it("publishes IP_READY (ip, adapter) and IP_READY_IND shortly after start on a cellular device", async () => {
    const c = await luatos(`
      sys.subscribe("IP_READY_IND", function(...) print("ind", ...) end)
      sys.taskInit(function() print("ready", sys.waitUntil("IP_READY", 1000)) end)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("ready\ttrue\t192.168.1.100\t1\nind\t192.168.1.100\t1\n");

    const d = await luatos('sys.taskInit(function() print("ready", sys.waitUntil("IP_READY", 1000)) end)', { device: { ip: "10.1.2.3" } });
    expect(await d.rt.finished).to.equal(0);
    expect(d.stdout()).to.equal("ready\ttrue\t10.1.2.3\t1\n");
  });

  it("publishes nothing by itself on a Wi-Fi board", async () => {
    const c = await luatos('sys.taskInit(function() print("ready", sys.waitUntil("IP_READY", 150)) end)', { device: { network: "wifi" } });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("ready\tfalse\n");
  });
});

describe("LuatOS sysplus: task messages", () => {
  it("sendMsg queues messages for a taskInitEx task; waitMsg returns the target, others go to its callback", async () => {
    const c = await luatos(`
      sys.taskInitEx(function()
        local msg = sys.waitMsg("worker", "job")
        print("job", msg[1], msg[2], msg[3], msg[4])
        print("timeout", sys.waitMsg("worker", "job", 30))
        local any = sys_wait("worker")
        print("any", any[1], any[2])
      end, "worker", function(msg) print("other", msg[1], msg[2]) end)
      print("send", sys.sendMsg("worker", "noise", 1), sys.sendMsg("worker", "job", "a", "b", "c"), sys.sendMsg("nobody", "x"))
      sys.timerStart(function() sys_send("worker", "late", 9) end, 60)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("send\ttrue\ttrue\tfalse\nother\tnoise\t1\njob\tjob\ta\tb\tc\ntimeout\tnil\nany\tlate\t9\n");
  });

  it("cleanMsg drops queued messages; taskDel forgets the task; waitMsg needs a taskInitEx task", async () => {
    const c = await luatos(`
      sys.taskInitEx(function()
        sys.wait(10)
        print("clean", sys.cleanMsg("t"), sys.cleanMsg("none"))
        print("after clean", sys.waitMsg("t", nil, 20))
        sys.taskDel("t")
        print("deleted", sys.sendMsg("t", 1))
        print("not ex", sys.waitMsg("t", nil, 20))
      end, "t")
      sys.sendMsg("t", "queued")
    `);
    expect(await c.rt.finished).to.equal(0);
    const lines = unstamped(c).split("\n");
    expect(lines.slice(0, 3)).to.deep.equal(["clean\ttrue\tfalse", "after clean\tnil", "deleted\tfalse"]);
    expect(lines[3]).to.match(/^E\/user\.sysplus waitMsg needs a task started by sys\.taskInitEx t$/);
    expect(lines[4]).to.equal("not ex\tfalse");
  });

  it("sys_cw objects wait for a message or hand it to a callback task", async () => {
    const c = await luatos(`
      sys.taskInit(function() print("wait", sys_cw("R1").wait()) end)
      sys_cw("R2").cb(function(...) print("cb", ...) end)
      sys.taskInit(function() print("ready", sys_cw("R3", 200, "body").wait()) end)
      sys.publish("R1", 1, 2)
      sys.publish("R2", "x")
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("ready\t200\tbody\nwait\t1\t2\ncb\tx\n");
  });
});

describe("LuatOS rtos and mcu", () => {
  it("rtos names the PC build and reports plausible memory", async () => {
    const c = await luatos(`
      print(rtos.bsp(), rtos.version(), rtos.firmware(), type(rtos.buildDate()))
      local total, used, max = rtos.meminfo()
      print(total > used, max >= used, used > 0)
      print(select("#", rtos.meminfo("sys")), rtos.INF_TIMEOUT)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("PC\tV1106\tLuatOS-SoC_V1106_PC\tstring\ntrue\ttrue\ttrue\n3\t-1\n");
  });

  it("rtos.reboot restarts the script in a fresh Lua state", async () => {
    const dir = makeProject({ "main.lua": 'sys = require("sys")\nprint("boot", leftover)\nleftover = 1\nsys.timerStart(rtos.reboot, 10)' });
    const c = captured({ flavor: "luatos" });
    await c.rt.run(dir);
    await c.waitFor("boot\tnil\nboot\tnil\nboot\tnil\n");
    await c.rt.close();
  });

  it("mcu.unique_id is stable for a device; ticks, hz, clocks and ticks2 behave", async () => {
    const ids: string[] = [];
    // uniqueId is an optional device-file field that only mcu reads.
    const devices: DeviceConfig[] = [{}, {}, { chipId: 42 }, { uniqueId: "00112233445566778899aabbccddeeff" } as DeviceConfig];
    for (const device of devices) {
      const c = await luatos("print(mcu.unique_id():len(), (mcu.unique_id():gsub('.', function(ch) return ('%02x'):format(ch:byte()) end)))", { device });
      expect(await c.rt.finished).to.equal(0);
      ids.push(c.stdout());
    }
    expect(ids[0]).to.match(/^16\t[0-9a-f]{32}\n$/);
    expect(ids[1]).to.equal(ids[0]);
    expect(ids[2]).to.not.equal(ids[0]);
    expect(ids[3]).to.equal("16\t00112233445566778899aabbccddeeff\n");

    const c = await luatos(`
      sys.taskInit(function()
        local t = mcu.ticks()
        sys.wait(30)
        local hi, lo = mcu.ticks2(1)
        print(mcu.ticks() - t >= 25, mcu.hz(), math.type(hi), hi * 1000000 + lo >= 25)
        print(mcu.setClk(80), mcu.getClk(), mcu.x32(0x2009FFFC))
        local t1 = mcu.tick64()
        local t2, per = mcu.tick64()
        print(#t1, per, mcu.dtick64(t2, t1) == true)
      end)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("true\t1000\tinteger\ttrue\ntrue\t80\t0x2009fffc\n8\t1\ttrue\n");
  });
});

describe("sys as the firmware provides it", () => {
  it("is a global without require, and the same table require returns", async () => {
    const c = captured({ flavor: "luatos", prelude: ['local s = sys\nprint(s == require("sys"), require("sysplus") == s, type(sys.taskInit))'] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("true\ttrue\tfunction\n");
  });

  it("wins over a firmware sys.lua shipped in the project, whose sys.run would block", async () => {
    const dir = makeProject({
      "main.lua": 'local sys = require "sys"\nsys.taskInit(function() sys.wait(10) print("task ran") end)\nsys.run()',
      "lib/sys.lua": 'error("the project copy must not load")',
    });
    const c = captured();
    await c.rt.run(dir);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("task ran\n");
  });
});
