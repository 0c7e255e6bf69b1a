// What a script can reach, probed in both flavors: no host commands, no host environment,
// and no host file outside its roots, whether named with an absolute path, `..`, a NUL
// byte, or through a symbolic link (to a file, to a folder, dangling, looping, or put in
// place after start-up). Each probe asserts the exact answer and that nothing outside
// changed.
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RuntimeOptions } from "../main/index.js";
import { startedIn, type Captured } from "./support/capture.js";
import { errorOf, run } from "./support/lua.js";

const SECRET = "host secret\n";

/** A folder outside every root, with a file, a subfolder and a Lua module. */
function makeOutside(): string {
  const dir = mkdtempSync(join(tmpdir(), "moonrig-outside-"));
  writeFileSync(join(dir, "secret.txt"), SECRET);
  writeFileSync(join(dir, "evil.lua"), "return 'outside code'");
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "sub", "deep.txt"), SECRET);
  return dir;
}

/** The links a user might leave in a project: out to a file, a folder, nowhere, a loop; and one that stays inside. */
function plantLinks(root: string, outside: string): void {
  symlinkSync(join(outside, "secret.txt"), join(root, "link.txt"));
  symlinkSync(outside, join(root, "outdir"));
  symlinkSync(join(outside, "evil.lua"), join(root, "evil.lua"));
  symlinkSync(join(outside, "created-by-script.txt"), join(root, "dangling.txt"));
  symlinkSync("loop.txt", join(root, "loop.txt"));
  symlinkSync("inside.txt", join(root, "alias.txt"));
}

const HOST_FUNCTIONS = "return os.execute, io.popen, os.getenv, os.tmpname, os.setlocale, package.loadlib, io.read, io.tmpfile";

describe("sandbox", () => {
  let outside: string;
  beforeEach(() => {
    outside = makeOutside();
  });
  afterEach(() => {
    rmSync(outside, { recursive: true, force: true });
  });

  /** The outside folder holds exactly what makeOutside put there, unchanged. */
  function expectOutsideUntouched(): void {
    expect(readFileSync(join(outside, "secret.txt"), "latin1")).to.equal(SECRET);
    expect(readFileSync(join(outside, "sub", "deep.txt"), "latin1")).to.equal(SECRET);
    expect(existsSync(join(outside, "created-by-script.txt")), "a file created through the dangling link").to.equal(false);
    expect(existsSync(join(outside, "new.txt")), "a file created through the folder link").to.equal(false);
  }

  describe("NodeMCU flavor", () => {
    async function boot(options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
      const { c, dir } = await startedIn({ "init.lua": "", "inside.txt": "inside\n", "lib/mod.lua": "return 'mod'" }, { flavor: "nodemcu", ...options });
      plantLinks(options.fs ?? dir, outside);
      return { c, dir };
    }

    it("has no host commands, environment or JavaScript loader; os.exit ends the run", async () => {
      const { c } = await boot();
      expect(run(c, HOST_FUNCTIONS)).to.deep.equal([null, null, null, null, null, null, null, null]);
      expect(run(c, "return os.remove, os.rename, type(os.exit), type(os.time), type(os.date), type(os.clock)")).to.deep.equal([null, null, "function", "function", "function", "function"]);
      expect(errorOf(c, `os.execute("id > ${join(outside, "pwned")}")`)).to.equal("(exec):2: attempt to call a nil value (field 'execute')");
      expect(errorOf(c, 'package.loadlib("x.js", "*")')).to.equal("(exec):2: attempt to call a nil value (field 'loadlib')");
      expect(existsSync(join(outside, "pwned"))).to.equal(false);
      // The documented run end: the runtime's status, not the host process ending.
      const exiting = await startedIn({}, { flavor: "nodemcu", prelude: ["os.exit(3, true)"] });
      expect(await exiting.c.rt.finished).to.equal(3);
      await c.rt.close();
    });

    it("answers a link out of the flash folder as a missing file, for reading and for writing", async () => {
      const { c } = await boot();
      expect(run(c, 'return file.open("link.txt"), file.open("link.txt", "w"), file.open("link.txt", "a+"), file.getcontents("link.txt"), file.exists("link.txt"), file.stat("link.txt")')).to.deep.equal([null, null, null, null, false, null]);
      expect(run(c, 'return file.putcontents("link.txt", "pwned"), file.rename("link.txt", "moved.txt"), file.rename("inside.txt", "outdir/new.txt")')).to.deep.equal([null, false, false]);
      run(c, 'file.remove("link.txt")');
      expect(run(c, 'return file.open("dangling.txt", "w"), file.putcontents("outdir/new.txt", "x"), file.open("outdir/sub/deep.txt"), file.open("loop.txt", "w")')).to.deep.equal([null, null, null, null]);
      expectOutsideUntouched();
      expect(c.stderr()).to.include(`moonrig: link.txt leads outside the flash folder (${join(outside, "secret.txt")}): treated as missing\n`);
      expect(c.stderr()).to.include("moonrig: loop.txt leads outside the flash folder (a loop of symbolic links): treated as missing\n");
      await c.rt.close();
    });

    it("lists only files that are really inside: a linked folder outside adds nothing", async () => {
      const { c } = await boot();
      const [listing] = run(c, "return file.list()") as [Record<string, number>];
      expect(Object.keys(listing).sort()).to.deep.equal(["alias.txt", "init.lua", "inside.txt", "mod.lua"]);
      expect(run(c, 'return file.list("deep")')).to.deep.equal([{}]);
      await c.rt.close();
    });

    it("follows links that stay inside, to files and to folders", async () => {
      const { c, dir } = await boot();
      symlinkSync("lib", join(dir, "liblink"));
      expect(run(c, 'return file.getcontents("alias.txt"), file.getcontents("liblink/mod.lua"), require("mod")')).to.deep.equal(["inside\n", "return 'mod'", "mod"]);
      await c.rt.close();
    });

    it("keeps absolute names, .. and NUL bytes in the folder", async () => {
      const { c, dir } = await boot();
      const absolute = join(outside, "abs.txt");
      expect(run(c, `return file.putcontents(${JSON.stringify(absolute)}, "x"), file.open("/etc/passwd"), file.exists("/etc/hostname")`)).to.deep.equal([true, null, false]);
      expect(existsSync(absolute), "the absolute path on the host").to.equal(false);
      expect(readFileSync(join(dir, absolute), "latin1")).to.equal("x");
      expect(errorOf(c, 'file.open("../escape.txt", "w")')).to.equal("(exec):2: path '../escape.txt' is outside the flash folder");
      expect(errorOf(c, 'file.open("/FLASH/../../escape.txt", "w")')).to.equal("(exec):2: path '/FLASH/../../escape.txt' is outside the flash folder");
      expect(errorOf(c, 'file.open("inside.txt\\0.lua")')).to.equal("(exec):2: bad argument #1 to 'open' (filename invalid)");
      await c.rt.close();
    });

    it("refuses links out of the project for dofile, loadfile, require and package.searchpath", async () => {
      const { c } = await boot();
      expect(errorOf(c, 'dofile("evil.lua")')).to.equal("cannot open evil.lua");
      expect(run(c, 'return loadfile("link.txt")')).to.deep.equal([null, "cannot open link.txt"]);
      expect(errorOf(c, 'require("evil")')).to.equal("(exec):2: module 'evil' not found:\n\tno field package.preload['evil']\n\tno file 'evil.lua' in the project\n\tno file 'evil.lc' in the project\n\tno file 'evil.lua' in moonrig's lua/ library");
      expect(run(c, 'return package.searchpath("evil", "?.lua")')).to.deep.equal([null, "\n\tno file 'evil.lua'"]);
      expect(run(c, 'return package.searchpath("mod", "?.lua;?.lc")')).to.deep.equal(["mod.lua"]);
      expect(run(c, `return package.searchpath("passwd", "/etc/?")`)).to.deep.equal([null, "\n\tno file '/etc/passwd'"]);
      expect(errorOf(c, 'dofile("../x.lua")')).to.equal("(exec):2: path '../x.lua' is outside the project directory");
      // C's loader opens the name as a C string: up to the NUL.
      expect(run(c, 'return dofile("lib/mod.lua\\0junk")')).to.deep.equal(["mod"]);
      await c.rt.close();
    });

    it("refuses a link put in place after start-up, also in place of a file already seen", async () => {
      const { c, dir } = await boot();
      expect(run(c, 'return file.getcontents("mod.lua")')).to.deep.equal(["return 'mod'"]);
      rmSync(join(dir, "lib", "mod.lua"));
      symlinkSync(join(outside, "secret.txt"), join(dir, "lib", "mod.lua"));
      symlinkSync(join(outside, "secret.txt"), join(dir, "late.txt"));
      expect(run(c, 'return file.getcontents("mod.lua"), file.getcontents("late.txt"), file.open("late.txt", "w")')).to.deep.equal([null, null, null]);
      expectOutsideUntouched();
      await c.rt.close();
    });

    it("confines the --fs folder the same way", async () => {
      const flash = mkdtempSync(join(tmpdir(), "moonrig-flash-"));
      try {
        const { c } = await boot({ fs: flash });
        expect(run(c, 'return file.open("link.txt", "w"), file.putcontents("outdir/new.txt", "x"), file.putcontents("own.txt", "y"), file.getcontents("own.txt")')).to.deep.equal([null, null, true, "y"]);
        expect(errorOf(c, 'dofile("evil.lua")')).to.equal("cannot open evil.lua");
        await c.rt.close();
      } finally {
        rmSync(flash, { recursive: true, force: true });
      }
      expectOutsideUntouched();
    });
  });

  describe("LuatOS flavor", () => {
    async function boot(options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
      const { c, dir } = await startedIn({ "main.lua": "", "inside.txt": "inside\n", "lib/mod.lua": "return 'mod'" }, { flavor: "luatos", ...options });
      plantLinks(options.fs ?? dir, outside);
      return { c, dir };
    }

    it("has os.remove and os.rename but no host commands or environment, as the device", async () => {
      const { c } = await boot();
      expect(run(c, HOST_FUNCTIONS)).to.deep.equal([null, null, null, null, null, null, null, null]);
      expect(run(c, "return type(os.remove), type(os.rename), type(os.exit), type(os.time)")).to.deep.equal(["function", "function", "function", "function"]);
      expect(errorOf(c, `io.popen("id > ${join(outside, "pwned")}")`)).to.equal("(exec):2: attempt to call a nil value (field 'popen')");
      expect(existsSync(join(outside, "pwned"))).to.equal(false);
      await c.rt.close();
    });

    it("answers a link out of the flash folder as the device answers a missing file", async () => {
      const { c } = await boot();
      const missing = (name: string) => [null, `${name}: No such file or directory`, 2];
      expect(run(c, 'return io.open("/link.txt")')).to.deep.equal(missing("/link.txt"));
      expect(run(c, 'return io.open("/link.txt", "w")')).to.deep.equal(missing("/link.txt"));
      expect(run(c, 'return io.open("/dangling.txt", "w")')).to.deep.equal(missing("/dangling.txt"));
      expect(run(c, 'return io.open("/outdir/new.txt", "w")')).to.deep.equal(missing("/outdir/new.txt"));
      expect(run(c, 'return io.open("/loop.txt", "a")')).to.deep.equal(missing("/loop.txt"));
      expect(run(c, 'return os.remove("/link.txt")')).to.deep.equal(missing("/link.txt"));
      expect(run(c, 'return os.remove("/outdir/secret.txt")')).to.deep.equal(missing("/outdir/secret.txt"));
      expect(run(c, 'return os.rename("/inside.txt", "/outdir/new.txt")')).to.deep.equal(missing("/inside.txt"));
      expect(run(c, 'return io.readFile("/link.txt"), io.readFile("/outdir/sub/deep.txt"), io.exists("/link.txt"), io.fileSize("/link.txt"), io.writeFile("/link.txt", "pwned"), io.writeFile("/dangling.txt", "pwned")')).to.deep.equal([null, null, false, 0, false, false]);
      expect(run(c, 'return io.mkdir("/outdir/made"), io.rmdir("/outdir/sub"), io.dexist("/outdir"), io.lsdir("/outdir")')).to.deep.equal([false, false, false, false, -1]);
      expect(errorOf(c, 'io.lines("/link.txt")')).to.equal("(exec):2: /link.txt: No such file or directory");
      expectOutsideUntouched();
      expect(existsSync(join(outside, "made"))).to.equal(false);
      await c.rt.close();
    });

    it("answers /luadb/ and /lua/ paths through links as missing, and lists only what is inside", async () => {
      const { c, dir } = await boot();
      symlinkSync(outside, join(dir, "lua"));
      expect(run(c, 'return io.readFile("/luadb/link.txt"), io.readFile("/luadb/secret.txt"), io.readFile("/luadb/deep.txt"), io.readFile("/lua/secret.txt"), io.writeFile("/lua/new.txt", "x")')).to.deep.equal([null, null, null, null, false]);
      expect(run(c, 'local ok, list = io.lsdir("/luadb/", 100) local names = {} for _, e in ipairs(list) do names[#names + 1] = e.name end return table.concat(names, " ")')).to.deep.equal(["alias.txt inside.txt main.lua mod.lua"]);
      expect(run(c, 'local ok, list = io.lsdir("/", 100) local names = {} for _, e in ipairs(list) do names[#names + 1] = e.name end return table.concat(names, " ")')).to.deep.equal(["alias.txt inside.txt lib main.lua"]);
      expect(run(c, 'return io.readFile("/alias.txt"), io.readFile("/luadb/alias.txt")')).to.deep.equal(["inside\n", "inside\n"]);
      expectOutsideUntouched();
      await c.rt.close();
    });

    it("keeps absolute host paths and .. in the flash folder; a name stops at a NUL as in C", async () => {
      const { c } = await boot();
      expect(run(c, 'return io.open("/etc/passwd")')).to.deep.equal([null, "/etc/passwd: No such file or directory", 2]);
      expect(run(c, `return io.readFile(${JSON.stringify(join(outside, "secret.txt"))})`)).to.deep.equal([]);
      expect(errorOf(c, 'io.open("/../escape.txt", "w")')).to.equal("(exec):2: path '/../escape.txt' is outside the flash folder");
      expect(errorOf(c, 'os.remove("/luadb/../../x")')).to.equal("(exec):2: path '/luadb/../../x' is outside the project directory");
      expect(run(c, 'return io.readFile("/inside.txt\\0/../link.txt"), io.open("/inside.txt\\0junk"):read("a")')).to.deep.equal(["inside\n", "inside\n"]);
      await c.rt.close();
    });

    it("refuses links out of the project for dofile and require", async () => {
      const { c } = await boot();
      expect(errorOf(c, 'dofile("evil.lua")')).to.equal("cannot open evil.lua");
      expect(errorOf(c, 'require("evil")')).to.match(/^\(exec\):2: module 'evil' not found:/);
      expect(run(c, 'return require("mod")')).to.deep.equal(["mod"]);
      await c.rt.close();
    });

    it("fskv never writes or reads its store through a link", async () => {
      const flash = mkdtempSync(join(tmpdir(), "moonrig-flash-"));
      try {
        symlinkSync(join(outside, "secret.txt"), join(flash, ".fskv.tmp"));
        const { c } = await boot({ fs: flash });
        expect(run(c, 'fskv.init() return fskv.set("k", "v"), fskv.get("k")')).to.deep.equal([false, "v"]);
        await c.rt.close();
      } finally {
        rmSync(flash, { recursive: true, force: true });
      }
      expectOutsideUntouched();
    });
  });
});
