// The moonrig command as users run it: options, scripts, projects, exit statuses.
import { expect } from "chai";
import { runCli } from "./support/cli.js";
import { startBroker } from "../main/index.js";
import { makeProject } from "./support/project.js";
import { join } from "node:path";

/** Any PEM file will do where the option is refused before it is used. */
const PEM_FILE = join(makeProject({ "ca.pem": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n" }), "ca.pem");

describe("moonrig CLI", () => {
  it("runs -e chunks in order, then exits 0", async () => {
    const r = await runCli(["-e", "x = 20", "-e", "print(x + 1)"]);
    expect(r.stdout.toString()).to.equal("21\n");
    expect(r.stderr).to.equal("");
    expect(r.code).to.equal(0);
  });

  it("runs a script with arguments after it and after --", async () => {
    const dir = makeProject({ "show.lua": "print(#arg, arg[0], arg[1], arg[2])" });
    const a = await runCli([`${dir}/show.lua`, "one", "--two"]);
    expect(a.stdout.toString()).to.equal("2\tshow.lua\tone\t--two\n");
    const b = await runCli(["--flavor", "luatos", `${dir}/show.lua`, "--", "x"]);
    expect(b.stdout.toString()).to.equal("2\tshow.lua\t--\tx\n");
  });

  it("runs a project directory's init.lua with require from subfolders", async () => {
    const dir = makeProject({ "init.lua": 'print(require("conf").id)', "cfg/conf.lua": "return { id = 'abc' }" });
    const r = await runCli([dir]);
    expect(r.stdout.toString()).to.equal("abc\n");
    expect(r.code).to.equal(0);
  });

  it("runs a script read from standard input", async () => {
    const r = await runCli([], { input: 'print("from stdin")' });
    expect(r.stdout.toString()).to.equal("from stdin\n");
    expect(r.code).to.equal(0);
  });

  it("exits 1 on an uncaught error with file:line and traceback on stderr", async () => {
    const dir = makeProject({ "init.lua": "print('up')\n\nm:connect('x')\n" });
    const r = await runCli([dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout.toString()).to.equal("up\n");
    expect(r.stderr).to.equal("moonrig: init.lua:3: attempt to index a nil value (global 'm')\nstack traceback:\n\tinit.lua:3: in main chunk\n");
  });

  it("exits 1 on a syntax error", async () => {
    const r = await runCli(["-e", "x = = 1"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal("moonrig: (command line):1: unexpected symbol near '='\n");
  });

  it("exits 1 on an error in a callback, unless --keep-going", async () => {
    const chunk = 'tmr.create():alarm(5, 0, function() error("cb failed") end) tmr.create():alarm(40, 0, function() print("later") end)';
    const a = await runCli(["-e", chunk]);
    expect(a.code).to.equal(1);
    expect(a.stderr.split("\n")[0]).to.equal("moonrig: (command line):1: cb failed");
    expect(a.stdout.toString()).to.equal("");
    const b = await runCli(["--keep-going", "-e", chunk]);
    expect(b.code).to.equal(0);
    expect(b.stdout.toString()).to.equal("later\n");
  });

  it("exits with os.exit's status", async () => {
    expect((await runCli(["-e", "os.exit(7)"])).code).to.equal(7);
  });

  it("--run-for stops a never-ending script with status 0", async () => {
    const started = Date.now();
    const r = await runCli(["--run-for", "0.5", "-e", 'tmr.create():alarm(100, tmr.ALARM_AUTO, function() print("tick") end)']);
    expect(r.code).to.equal(0);
    // Timers drift on a loaded machine: about five ticks, never none, never runaway.
    const ticks = r.stdout.toString().split("\n").filter(Boolean);
    expect(ticks.every((line) => line === "tick")).to.equal(true);
    expect(ticks.length).to.be.within(2, 5);
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it("exits 2 naming the bad option, with the usage", async () => {
    const r = await runCli(["--frobnicate"]);
    expect(r.code).to.equal(2);
    expect(r.stderr.split("\n").slice(0, 2)).to.deep.equal(["moonrig: unknown option '--frobnicate'", "usage: moonrig [options] [SCRIPT.lua | PROJECT_DIR] [-- ARGS...]"]);
    const cases: Array<[string[], string]> = [
      [["-e"], "moonrig: option '-e' needs an argument"],
      [["--flavor", "arduino"], "moonrig: --flavor must be nodemcu, luatos or auto, got 'arduino'"],
      [["--broker", "http://x"], "moonrig: unsupported broker URL scheme 'http:' in 'http://x' (use mqtt://, mqtts://, ws:// or wss://)"],
      [["--map", "nohost"], "moonrig: --map expects HOST[:PORT]=URL, got 'nohost'"],
      [["--map", "api.example.com=ftp://127.0.0.1"], "moonrig: unsupported URL scheme 'ftp:' in --map 'ftp://127.0.0.1' (use mqtt://, mqtts://, ws://, wss://, http:// or https://)"],
      [["--run-for", "soon"], "moonrig: --run-for expects a number, got 'soon'"],
      [["--baud", "9600.5"], "moonrig: --baud expects a whole number, got '9600.5'"],
      [["--trace=yes"], "moonrig: option '--trace' takes no argument"],
      [["--device", "/nonexistent/device.json"], "moonrig: cannot read device file /nonexistent/device.json: ENOENT"],
      [["--at", "emulator", "--at-ca", "/nonexistent/ca.pem"], "moonrig: cannot read --at-ca /nonexistent/ca.pem: ENOENT"],
      [["--at", "emulator", "--at-key", "/dev/null"], "moonrig: --at-key /dev/null is not a PEM file"],
      [["--at", "/dev/ttyUSB0", "--at-ca", PEM_FILE], "moonrig: --at-ca, --at-cert and --at-key need --at emulator"],
      [["--at-cert", PEM_FILE], "moonrig: --at-ca, --at-cert and --at-key need --at emulator"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(" ")).to.equal(2);
      expect(result.stderr.split("\n")[0], args.join(" ")).to.equal(message);
    }
  });

  it("exits 2 for a script that cannot be read", async () => {
    const r = await runCli(["/nonexistent/init.lua"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal("moonrig: cannot open /nonexistent/init.lua\n");
  });

  it("prints help and version with status 0", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout.toString()).to.match(/^usage: moonrig \[options\]/);
    const version = await runCli(["--version"]);
    expect(version.stdout.toString()).to.match(/^moonrig \d+\.\d+\.\d+\n$/);
  });

  it("reads --device values", async () => {
    const dir = makeProject({ "device.json": JSON.stringify({ chipId: "0x1234", heap: 31000 }) });
    const r = await runCli(["--device", `${dir}/device.json`, "--flavor", "nodemcu", "-e", "print(node.chipid(), node.heap())"]);
    expect(r.stdout.toString()).to.equal("4660\t31000\n");
  });

  describe("broker routing", () => {
    const script = `
      m = mqtt.Client("cli-route", 30)
      m:connect("broker.hivemq.com", 1883, false, function(c)
        c:subscribe("r/t", 1, function() c:publish("r/t", "hi", 1, 0) end)
      end, function(_, r) print("fail", r) end)
      m:on("message", function(c, t, d) print(t, d) c:close() end)`;

    it("--broker sends the script's host to the given broker and --trace prints every packet", async () => {
      const broker = await startBroker({});
      try {
        const r = await runCli(["--broker", broker.tcpUrl, "--trace", "-e", script]);
        expect(r.code).to.equal(0);
        expect(r.stdout.toString()).to.equal("r/t\thi\n");
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines[0]).to.equal(`moonrig: broker.hivemq.com:1883 -> ${broker.tcpUrl}`);
        expect(lines.slice(1, 5)).to.deep.equal([
          'moonrig: mqtt cli-route -> CONNECT client_id="cli-route" keepalive=30 clean=1',
          "moonrig: mqtt cli-route <- CONNACK session_present=0 rc=0",
          'moonrig: mqtt cli-route -> SUBSCRIBE id=1 "r/t":1',
          "moonrig: mqtt cli-route <- SUBACK id=1 granted=1",
        ]);
        expect(lines).to.include('moonrig: mqtt cli-route -> PUBLISH topic="r/t" qos=1 retain=0 dup=0 id=2 len=2');
        expect(lines).to.include("moonrig: mqtt cli-route <- PUBACK id=2");
        expect(lines.at(-1)).to.equal("moonrig: mqtt cli-route -> DISCONNECT");
      } finally {
        await broker.close();
      }
    });

    it("--map redirects one host (more specific than --broker)", async () => {
      const broker = await startBroker({});
      try {
        const r = await runCli(["--broker", "mqtt://127.0.0.1:1", "--map", `broker.hivemq.com=${broker.tcpUrl}`, "-e", script]);
        expect(r.code).to.equal(0);
        expect(r.stdout.toString()).to.equal("r/t\thi\n");
        expect(r.stderr).to.equal(`moonrig: broker.hivemq.com:1883 -> ${broker.tcpUrl}\n`);
      } finally {
        await broker.close();
      }
    });
  });
});
