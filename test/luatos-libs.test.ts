// The LuatOS script libraries in moonrig's lua/ folder through the real Runtime: libfota,
// libfota2, lbsLoc, lbsLoc2, netLed, exwin, testrunner and libnet, and the rule that a
// project's own file of the same name wins.
import { expect } from "chai";
import { join } from "node:path";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";

/** Runs a project's main.lua to its end and returns the captured run. */
async function project(files: Record<string, string>): Promise<Captured> {
  const dir = makeProject(files);
  const c = captured({ flavor: "luatos" });
  await c.rt.run(join(dir, "main.lua"));
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

/** stdout without the log lines' timestamps. */
const lines = (c: Captured): string[] => c.stdout().trimEnd().split("\n").map((line) => line.replace(/^\[[^\]]+\] /, ""));

describe("LuatOS script libraries", () => {
  it("libfota and libfota2 report 'no update' (4) from a task; libfota2 needs PRODUCT_KEY without a URL (5, at once)", async () => {
    const c = await project({
      "main.lua": `
        sys = require("sys")
        local libfota, libfota2 = require("libfota"), require("libfota2")
        libfota2.request(function(r) print("v2 no key", r, coroutine.isyieldable()) end)
        print("after v2 no key")
        libfota2.request(function(r) print("v2 url", r, coroutine.isyieldable()) end, {url = "http://127.0.0.1:1/fw"})
        PRODUCT_KEY = "abc"
        libfota2.request(function(r) print("v2 key", r) end)
        libfota.request(function(r) print("v1", r) end)
        print("requested")`,
    });
    const out = lines(c).filter((line) => !line.startsWith("I/user.") && !line.startsWith("E/user."));
    expect(out).to.deep.equal(["v2 no key\t5\tfalse", "after v2 no key", "requested", "v2 url\t4\ttrue", "v2 key\t4", "v1\t4"]);
  });

  it("lbsLoc calls back with a fixed fix and the server time; lbsLoc2 returns it in a task", async () => {
    const c = await project({
      "main.lua": `
        sys = require("sys")
        local lbsLoc, lbsLoc2 = require("lbsLoc"), require("lbsLoc2")
        lbsLoc.request(function(result, lat, lng, addr, time, locType)
          print("lbsLoc", result, lat, lng, addr, #time, time:byte(1) + 2000 == os.date("!*t", os.time() + 8 * 3600).year, locType)
        end)
        sys.taskInit(function()
          local lat, lng, t = lbsLoc2.request(5000, nil, nil, true)
          print("lbsLoc2", lat, lng, type(t), t.year >= 2024, lbsLoc2.request(5000))
        end)`,
    });
    expect(lines(c)).to.include.members([
      "lbsLoc\t0\t031.2304160\t121.4737010\tnil\t6\ttrue\t0",
      "lbsLoc2\t031.2304160\t121.4737010\ttable\ttrue\t031.2304160\t121.4737010",
    ]);
  });

  it("netLed records its configuration instead of blinking", async () => {
    const c = await project({
      "main.lua": `
        local netLed = require("netLed")
        netLed.setup(true, 27, 0)
        netLed.setBlinkTime("GPRS", 100, 200)
        netLed.taskLed(function() end)
        print(netLed.enabled, netLed.ledPin, netLed.ltePin, netLed.blinkTime.GPRS[1], netLed.blinkTime.GPRS[2], #netLed.calls, netLed.calls[1][1])`,
    });
    expect(lines(c)).to.deep.equal(["true\t27\t0\t100\t200\t4\tsetup"]);
  });

  it("exwin keeps a window stack with create, focus and destroy callbacks", async () => {
    const c = await project({
      "main.lua": `
        local exwin = require("exwin")
        local function win(name)
          return {
            on_create = function() print(name, "create") end,
            on_destroy = function() print(name, "destroy") end,
            on_lose_focus = function() print(name, "lose") end,
            on_get_focus = function() print(name, "get") end,
          }
        end
        local home = exwin.open(win("home"))
        local menu = exwin.open(win("menu"))
        local page = exwin.open(win("page"))
        print(home, menu, page, exwin.is_active(page), exwin.is_active(home))
        exwin.close(page)
        exwin.open({on_create = function() error("boom") end})
        exwin.return_idle()
        print(exwin.is_active(home))`,
    });
    const out = lines(c).filter((line) => !line.startsWith("E/user.exwin"));
    expect(out).to.deep.equal([
      "home\tcreate", "home\tlose", "menu\tcreate", "menu\tlose", "page\tcreate",
      "1\t2\t3\ttrue\tfalse",
      "page\tdestroy", "menu\tget", "menu\tlose", "menu\tdestroy", "home\tget",
      "true",
    ]);
    expect(c.stdout()).to.match(/E\/user\.exwin on_create main\.lua:\d+: boom/);
  });

  it("testrunner runs the test_* functions of a suite module and of a file, in a task, and logs the results", async () => {
    const c = await project({
      "main.lua": `
        sys = require("sys")
        local testrunner = require("testrunner")
        sys.taskInit(function()
          local passed, failed = testrunner.runBatch("demo", {{testTable = require("demo_test"), testcase = "demo"}})
          print("batch", passed, failed, testrunner.results.failures[1][1])
          print("file", testrunner.runFile("/luadb/file_test.lua"))
        end)`,
      "tests/demo_test.lua": `
        local t = {}
        function t.test_waits() sys.wait(10) assert(1 + 1 == 2) end
        function t.test_fails() assert(false, "expected failure") end
        function t.helper() error("not a test") end
        return t`,
      "tests/file_test.lua": `
        function test_global() assert(string.toHex("A") == "41") end`,
    });
    const out = lines(c);
    expect(out).to.include.members(["I/user.testrunner PASS demo test_waits", "batch\t1\t1\tdemo.test_fails", "file\t1\t0"]);
    expect(out.some((line) => /^E\/user\.testrunner FAIL demo test_fails .*expected failure$/.test(line))).to.equal(true);
  });

  it("libnet: waitLink succeeds once the network is up; refused operations are false, not errors", async () => {
    const c = await project({
      "main.lua": `
        sys = require("sys")
        local libnet = require("libnet")
        sys.taskInitEx(function()
          sys.waitUntil("IP_READY")
          local netc = socket.create(nil, "netTask")
          print("link", libnet.waitLink("netTask", 1000, netc))
          print("connect", libnet.connect("netTask", 1000, netc, "127.0.0.1", 1))
          print("tx", libnet.tx("netTask", 1000, netc, "x"))
          libnet.close("netTask", 1000, netc)
          print("closed")
        end, "netTask")`,
    });
    expect(lines(c).filter((line) => !line.startsWith("W/") && !line.startsWith("I/") && !line.startsWith("moonrig"))).to.deep.equal(["link\ttrue", "connect\tfalse", "tx\tfalse\tfalse", "closed"]);
  });

  it("a project's own file of the same name wins over the runtime's library", async () => {
    const c = await project({
      "main.lua": 'print(require("libfota").mine, require("exwin").open ~= nil)',
      "lib/libfota.lua": "return {mine = 'project'}",
    });
    expect(lines(c)).to.deep.equal(["project\ttrue"]);
  });
});
