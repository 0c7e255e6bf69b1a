// The REPL as a user meets it: the real CLI in a real pseudo-terminal (tmux), plus one
// session with piped standard input.
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { REPO_ROOT, TmuxSession } from "./support/repl-tmux.js";
import { tempDir } from "./support/temp.js";

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const BANNER = `moonrig ${VERSION} (Lua 5.3, fengari) nodemcu flavor`;
const TAB = "       "; // "1\t2" as the terminal shows it: tab stops every 8 columns

describe("REPL", function () {
  this.timeout(30000);
  const sessions: TmuxSession[] = [];
  let home: string;

  beforeEach(() => {
    home = tempDir("repl");
  });

  afterEach(() => {
    for (const session of sessions.splice(0)) session.kill();
  });

  after(() => {
    for (const session of sessions.splice(0)) session.kill();
  });

  function start(args: readonly string[] = [], env: Record<string, string | undefined> = {}): TmuxSession {
    const session = new TmuxSession(args, { cwd: home, env: { HOME: home, MOONRIG_HISTORY: undefined, ...env } });
    sessions.push(session);
    return session;
  }

  /** Types a line and presses Enter. */
  function enter(session: TmuxSession, line: string): void {
    session.type(line);
    session.keys("Enter");
  }

  it("shows the banner and the prompt, and prints expression values", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    enter(s, "1+1");
    await s.expectScreen([BANNER, "> 1+1", "2", "> "]);
    enter(s, "=1,2");
    await s.expectScreen([BANNER, "> 1+1", "2", "> =1,2", `1${TAB}2`, "> "]);
    enter(s, '("x"):rep(3), nil, true');
    await s.expectScreen([BANNER, "> 1+1", "2", "> =1,2", `1${TAB}2`, '> ("x"):rep(3), nil, true', `xxx${"     "}nil${"     "}true`, "> "]);
    // A statement prints nothing; the global it set is there on the next line.
    enter(s, "answer = 6 * 7");
    enter(s, "answer");
    await s.expectScreen([BANNER, "> 1+1", "2", "> =1,2", `1${TAB}2`, '> ("x"):rep(3), nil, true', `xxx${"     "}nil${"     "}true`, "> answer = 6 * 7", "> answer", "42", "> "]);
  });

  it("completes names with Tab: a module's fields, an object's methods", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    enter(s, 'm = mqtt.Client("c", 10)');
    s.type("mqtt.Cl");
    s.keys("Tab");
    await s.expectScreen([BANNER, '> m = mqtt.Client("c", 10)', "> mqtt.Client"]);
    s.keys("C-u");
    s.type("m:pub");
    s.keys("Tab");
    await s.expectScreen([BANNER, '> m = mqtt.Client("c", 10)', "> m:publish"]);
  });

  it("continues an incomplete chunk with >> and runs it once complete", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    enter(s, "function double(a)");
    await s.expectScreen([BANNER, "> function double(a)", ">> "]);
    enter(s, "  return a * 2");
    enter(s, "end");
    await s.expectScreen([BANNER, "> function double(a)", ">>   return a * 2", ">> end", "> "]);
    enter(s, "double(21)");
    await s.expectScreen([BANNER, "> function double(a)", ">>   return a * 2", ">> end", "> double(21)", "42", "> "]);
    enter(s, "print(");
    enter(s, '"two lines")');
    await s.expectScreen([BANNER, "> function double(a)", ">>   return a * 2", ">> end", "> double(21)", "42", "> print(", '>> "two lines")', "two lines", "> "]);
  });

  it("reports runtime and syntax errors as stdin:LINE and carries on", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    enter(s, "x.y = 1");
    const runtimeError = ["> x.y = 1", "stdin:1: attempt to index a nil value (global 'x')", "stack traceback:", "        stdin:1: in main chunk", "> "];
    await s.expectScreen([BANNER, ...runtimeError]);
    enter(s, "x = = 1");
    const syntaxError = ["> x = = 1", "stdin:1: unexpected symbol near '='", "> "];
    await s.expectScreen([BANNER, ...runtimeError.slice(0, -1), ...syntaxError]);
    enter(s, "1+2");
    await s.expectScreen([BANNER, ...runtimeError.slice(0, -1), ...syntaxError.slice(0, -1), "> 1+2", "3", "> "]);
  });

  it("cancels a half-typed line and an incomplete chunk with Ctrl-C", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    s.type('print("never")');
    await s.expectScreen([BANNER, '> print("never")']);
    s.keys("C-c");
    await s.expectScreen([BANNER, '> print("never")^C', "> "]);
    enter(s, "if true then");
    s.type("print(1)");
    s.keys("C-c");
    await s.expectScreen([BANNER, '> print("never")^C', "> if true then", ">> print(1)^C", "> "]);
    // Nothing of the cancelled chunk survives: the next line is a chunk of its own.
    enter(s, "1+2");
    await s.expectScreen([BANNER, '> print("never")^C', "> if true then", ">> print(1)^C", "> 1+2", "3", "> "]);
  });

  it("keeps history across sessions in ~/.moonrig_history", async () => {
    const first = start();
    await first.expectScreen([BANNER, "> "]);
    enter(first, 'print("remembered")');
    await first.expectScreen([BANNER, '> print("remembered")', "remembered", "> "]);
    first.keys("C-d");
    await first.expectScreen([BANNER, '> print("remembered")', "remembered", "> ", "exit=0"]);
    expect(readFileSync(join(home, ".moonrig_history"), "utf8")).to.equal('print("remembered")\n');

    const second = start();
    await second.expectScreen([BANNER, "> "]);
    second.keys("Up");
    await second.expectScreen([BANNER, '> print("remembered")']);
    second.keys("Enter");
    await second.expectScreen([BANNER, '> print("remembered")', "remembered", "> "]);
  });

  it("keeps at most 500 history entries, in $MOONRIG_HISTORY when set", async () => {
    const file = join(home, "custom_history");
    writeFileSync(file, Array.from({ length: 600 }, (_, i) => `x = ${i + 1}`).join("\n") + "\n");
    const s = start([], { MOONRIG_HISTORY: file });
    await s.expectScreen([BANNER, "> "]);
    s.keys("Up");
    await s.expectScreen([BANNER, "> x = 600"]);
    s.keys("C-u");
    enter(s, "1");
    await s.expectScreen([BANNER, "> 1", "1", "> "]);
    s.keys("C-d");
    await s.expectScreen([BANNER, "> 1", "1", "> ", "exit=0"]);
    const saved = readFileSync(file, "utf8").split("\n");
    expect(saved.length).to.equal(501); // 500 entries and the empty string after the last newline
    expect(saved[0]).to.equal("x = 102");
    expect(saved.slice(-3)).to.deep.equal(["x = 600", "1", ""]);
  });

  it("prints callback output above the prompt and keeps the half-typed line", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    const alarm = 't = tmr.create() t:alarm(300, tmr.ALARM_SINGLE, function() print("ping") end)';
    enter(s, alarm);
    s.type("abc");
    await s.expectScreen([BANNER, `> ${alarm}`, "ping", "> abc"]);
    // The typed text is still readline's, not just paint on the screen.
    enter(s, " = 5");
    enter(s, "abc");
    await s.expectScreen([BANNER, `> ${alarm}`, "ping", "> abc = 5", "> abc", "5", "> "]);
  });

  it("keeps an idle script's session open: -i runs the script, then prompts with its globals", async () => {
    writeFileSync(join(home, "setup.lua"), 'greeting = "hi from script"\nprint("script ran")\n');
    const s = start(["-i", "setup.lua"]);
    await s.expectScreen(["script ran", BANNER, "> "]);
    enter(s, "greeting");
    await s.expectScreen(["script ran", BANNER, "> greeting", "hi from script", "> "]);
  });

  it("ends with the status os.exit gives, from a line or from a callback", async () => {
    const s = start();
    await s.expectScreen([BANNER, "> "]);
    enter(s, "os.exit(3)");
    await s.expectScreen([BANNER, "> os.exit(3)", "exit=3"]);

    const t = start();
    await t.expectScreen([BANNER, "> "]);
    enter(t, "tmr.create():alarm(200, tmr.ALARM_SINGLE, function() os.exit(4) end)");
    await t.expectScreen([BANNER, "> tmr.create():alarm(200, tmr.ALARM_SINGLE, function() os.exit(4) end)", "true", "> ", "exit=4"]);
  });

  it("reads piped standard input line by line with -i, without terminal codes", async () => {
    const input = ['print(1+1)', "=1,2", "function f(a)", "return a*2", "end", "f(21)", 'error("boom")', "x = = 1", "'after'"].join("\n") + "\n";
    const r = await runCli(["-i"], { input, cwd: home, env: { HOME: home, MOONRIG_HISTORY: join(home, "history") } });
    expect(r.stderr).to.equal("");
    expect(r.stdout.toString()).to.equal(
      `${BANNER}\n` +
        "> 2\n" +
        "> 1\t2\n" +
        "> >> >> > 42\n" +
        "> stdin:1: boom\nstack traceback:\n\t[C]: in function 'error'\n\tstdin:1: in main chunk\n" +
        "> stdin:1: unexpected symbol near '='\n" +
        "> after\n" +
        "> \n",
    );
    expect(r.code).to.equal(0);
  });
});
