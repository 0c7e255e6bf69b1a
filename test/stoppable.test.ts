// Lua that never returns to the event loop still stops: --run-for, signals, close() and the
// REPL's Ctrl-C; memory exhaustion is a Lua error, not a crash; projects whose entry file
// sits in a subfolder run.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { Runtime } from "../main/index.js";
import { CLI, runCli } from "./support/cli.js";
import { makeProject } from "./support/project.js";
import { TmuxSession } from "./support/repl-tmux.js";
import { removeTempDir, tempDir } from "./support/temp.js";

const BUSY = "while true do end\n";

describe("Stopping Lua that never yields", function () {
  this.timeout(20000);

  async function runFor(files: Record<string, string>, extra: readonly string[] = []): Promise<{ elapsed: number; code: number | null; stdout: string; stderr: string }> {
    const project = makeProject(files);
    const started = Date.now();
    const r = await runCli(["--run-for", "1", ...extra, project]);
    return { elapsed: Date.now() - started, code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
  }

  it("--run-for ends a main chunk stuck in a loop with status 0", async () => {
    const r = await runFor({ "init.lua": `print("before")\n${BUSY}` });
    expect(r).to.include({ code: 0, stdout: "before\n", stderr: "" });
    expect(r.elapsed).to.be.below(6000);
  });

  it("--run-for ends a loop that catches every error with pcall, and prints nothing after it", async () => {
    const r = await runFor({ "init.lua": 'while true do pcall(function() while true do end end) print("escaped") end\n' });
    expect(r).to.include({ code: 0, stdout: "", stderr: "" });
  });

  it("--run-for ends a loop inside a LuatOS task (a coroutine) and inside a NodeMCU timer callback", async () => {
    const task = await runFor({ "main.lua": `sys = require("sys")\nsys.taskInit(function() sys.wait(10) ${BUSY} end)\nsys.run()\n` });
    expect(task).to.include({ code: 0, stdout: "", stderr: "" });
    const timer = await runFor({ "init.lua": `tmr.create():alarm(10, tmr.ALARM_SINGLE, function() print("fired") ${BUSY} end)\n` });
    expect(timer).to.include({ code: 0, stdout: "fired\n", stderr: "" });
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} ends a script stuck in a loop as it ends any process`, async () => {
      const project = makeProject({ "init.lua": `print("looping")\n${BUSY}` });
      const child = spawn(process.execPath, [CLI, project], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, received) => resolve(received)));
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      expect(await ended).to.equal(signal);
      clearTimeout(timer);
      expect(stderr).to.equal("");
    });
  }

  it("close() called while Lua runs (from an output callback) stops the chunk within a few instructions", async () => {
    let printed = 0;
    let atClose = -1;
    const rt: Runtime = new Runtime({
      flavor: "nodemcu",
      prelude: ['local n = 0 while true do n = n + 1 print(n) end'],
      stdout: () => {
        printed++;
        if (printed === 3) {
          atClose = printed;
          void rt.close();
        }
      },
      stderr: () => undefined,
    });
    await rt.run();
    expect(await rt.finished).to.equal(0);
    expect(atClose).to.equal(3);
    expect(printed).to.equal(3);
  });

  it("a chunk run with exec() stops at the run's --run-for deadline", async () => {
    const rt = new Runtime({ flavor: "nodemcu", runFor: 0.3, stdout: () => undefined, stderr: () => undefined });
    await rt.run();
    const started = Date.now();
    expect(() => rt.exec(BUSY)).to.throw("os.exit");
    expect(Date.now() - started).to.be.within(200, 2000);
    expect(await rt.finished).to.equal(0);
  });
});

describe("Running out of memory", function () {
  this.timeout(30000);

  function run(command: string, cwd: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn("bash", ["-c", command], { cwd, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stderr }));
    });
  }

  it("a string that cannot be allocated fails with 'not enough memory' at the script's line", async () => {
    const project = makeProject({ "grow.lua": 'local s = "x"\nwhile true do s = s .. s end\n' });
    // A smaller address space makes the allocation fail after ~0.5 GB instead of ~8 GB.
    const r = await run(`ulimit -v 1400000; exec '${process.execPath}' '${CLI}' grow.lua`, project);
    expect(r).to.deep.equal({ code: 1, stderr: "moonrig: grow.lua:2: not enough memory\nstack traceback:\n\tgrow.lua:2: in main chunk\n" });
  });

  it("a table grown without end fails with 'not enough memory' before V8 aborts the process", async () => {
    const project = makeProject({ "hoard.lua": "local t = {}\nlocal i = 0\nwhile true do i = i + 1 t[i] = {i} end\n" });
    const r = await run(`exec '${process.execPath}' --max-old-space-size=96 '${CLI}' hoard.lua`, project);
    expect(r).to.deep.equal({ code: 1, stderr: "moonrig: hoard.lua:3: not enough memory\nstack traceback:\n\thoard.lua:3: in main chunk\n" });
  });
});

describe("REPL: Ctrl-C interrupts the running chunk", function () {
  this.timeout(30000);
  let home: string;
  let session: TmuxSession | undefined;

  beforeEach(() => {
    home = tempDir("interrupt");
  });

  afterEach(() => {
    session?.kill();
    session = undefined;
    removeTempDir(home);
  });

  function enter(s: TmuxSession, line: string): void {
    s.type(line);
    s.keys("Enter");
  }

  it("prints interrupted! with a traceback, keeps the state, and keeps keys typed meanwhile", async () => {
    const s = new TmuxSession([], { cwd: home, env: { HOME: home, MOONRIG_HISTORY: "" } });
    session = s;
    // Each loop prints a mark first, so Ctrl-C is sent only once Lua is really running.
    const spinning = (what: string) => s.waitFor((lines) => lines.at(-1) === "spinning", what);
    await s.waitFor((lines) => lines.includes("> "), "the prompt");
    enter(s, "x = 42");
    enter(s, `print("spinning") ${BUSY.trim()}`);
    await spinning("the loop to start");
    s.keys("C-c");
    await s.waitFor((lines) => lines.at(-1) === "> ", "the prompt after Ctrl-C");
    expect(s.screen().slice(-6)).to.deep.equal(['> print("spinning") while true do end', "spinning", "interrupted!", "stack traceback:", "        stdin:1: in main chunk", "> "]);

    enter(s, "=x");
    await s.waitFor((lines) => lines.slice(-2).join("|") === "42|> ", "x to be kept");

    // pcall sees the interruption as an error, as with lua.
    enter(s, `function spin() print("spinning") ${BUSY.trim()} end`);
    enter(s, "print(pcall(spin))");
    await spinning("spin to start");
    s.keys("C-c");
    await s.waitFor((lines) => lines.slice(-2).join("|") === "false   interrupted!|> ", "pcall's answer");

    // A timer callback stuck in a loop is stopped too; the session carries on.
    // (Its mark is drawn above the prompt only once it returns, so give it time to start.)
    enter(s, "tmr.create():alarm(10, tmr.ALARM_SINGLE, spin)");
    await s.waitFor((lines) => lines.at(-1) === "> ", "the alarm to be set");
    await new Promise((resolve) => setTimeout(resolve, 500));
    s.keys("C-c");
    await s.waitFor((lines) => lines.slice(-5).join("|") === "spinning|interrupted!|stack traceback:|        stdin:1: in function 'spin'|> ", "the callback's interruption");

    // Keys typed while the chunk runs are not lost.
    enter(s, "spin()");
    await spinning("the last loop to start");
    s.type('print("typed ahead")');
    await new Promise((resolve) => setTimeout(resolve, 200));
    s.keys("C-c");
    await s.waitFor((lines) => lines.at(-1) === '> print("typed ahead")', "the typed-ahead line");
    s.keys("Enter");
    await s.waitFor((lines) => lines.slice(-2).join("|") === "typed ahead|> ", "the typed-ahead line to run");
  });
});

describe("Entry discovery", () => {
  it("runs the one main.lua of a project that keeps it in a subfolder, with the project still flat", async () => {
    const project = makeProject({ "platforms/PC/main.lua": 'print("entry", require("util").x)\n', "lib/util.lua": "return { x = 7 }\n" });
    const r = await runCli([project]);
    expect(r).to.deep.include({ code: 0, stderr: "" });
    expect(r.stdout.toString()).to.equal("entry\t7\n");
  });

  it("refuses two candidates, naming both, and runs the one --entry names", async () => {
    const project = makeProject({ "a/main.lua": 'print("a")\n', "b/init.lua": 'print("b")\n' });
    const both = await runCli([project]);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.equal(`moonrig: ${project}: more than one entry file (b/init.lua and a/main.lua); choose one with --entry\n`);
    const chosen = await runCli(["--entry", "a/main.lua", project]);
    expect(chosen).to.deep.include({ code: 0, stderr: "" });
    expect(chosen.stdout.toString()).to.equal("a\n");
    const inCwd = await runCli(["--entry", "b/init.lua"], { cwd: project });
    expect(inCwd.stdout.toString()).to.equal("b\n");
    const missing = await runCli(["--entry", "c/main.lua", project]);
    expect(missing).to.deep.include({ code: 2, stderr: `moonrig: cannot open c/main.lua in ${project}\n` });
  });

  it("looks only for the chosen flavor's entry name", async () => {
    const project = makeProject({ "a/main.lua": 'print("luatos")\n', "b/init.lua": 'print("nodemcu")\n' });
    expect((await runCli(["--flavor", "luatos", project])).stdout.toString()).to.equal("luatos\n");
    expect((await runCli(["--flavor", "nodemcu", project])).stdout.toString()).to.equal("nodemcu\n");
  });

  it("still says when there is no entry at all", async () => {
    const project = makeProject({ "lib/util.lua": "return {}\n" });
    expect(await runCli([project])).to.deep.include({ code: 2, stderr: `moonrig: ${project}: no init.lua or main.lua in the project directory\n` });
  });
});
