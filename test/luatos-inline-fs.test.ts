// LuatOS /lua/: the firmware's inline file system, which holds its built-in sys.lua and
// sysplus.lua (luat_fs_inline.c), read-only; here moonrig's own copies of those two.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { libraryDir } from "../runtime/loader.js";
import { captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";

async function runMain(main: string): Promise<string> {
  const dir = makeProject({ "main.lua": main, "sys.lua": "-- the project's own, not the firmware's\n" });
  const c = captured({ flavor: "luatos" });
  await c.rt.run(dir);
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c.stdout();
}

describe("LuatOS /lua/: the firmware's built-in scripts", () => {
  it("io reads /lua/sys.lua and /lua/sysplus.lua byte for byte; a seek outside the file is clamped", async () => {
    const sys = readFileSync(join(libraryDir, "sys.lua"));
    const out = await runMain(`
      local s = io.readFile("/lua/sys.lua", "rb")
      print(#s, io.fileSize("/lua/sys.lua"), io.exists("/lua/sysplus.lua"), crypto.md5(s))
      local f = io.open("/lua/sys.lua", "rb")
      print(f:seek("end", -3), f:read("*a") == s:sub(-3), f:seek("set", -5), f:read(3) == s:sub(1, 3), f:seek("cur", 1e6))
      f:close()
    `);
    const md5 = (await import("node:crypto")).createHash("md5").update(sys).digest("hex").toUpperCase();
    expect(out).to.equal(`${sys.length}\t${sys.length}\ttrue\t${md5}\n${sys.length - 3}\ttrue\t0\ttrue\t${sys.length}\n`);
  });

  it("is read-only and holds nothing else: not the project's files, not moonrig's other libraries", async () => {
    const out = await runMain(`
      print(io.open("/lua/sys.lua", "w"))
      print(io.writeFile("/lua/new.lua", "x"), os.remove("/lua/sys.lua"))
      print(io.exists("/lua/main.lua"), io.exists("/lua/libnet.lua"), io.exists("/luadb/main.lua"))
      print(io.readFile("/luadb/sys.lua"))
    `);
    expect(out).to.equal("nil\t/lua/sys.lua: Read-only file system\t30\nfalse\tnil\t/lua/sys.lua: Read-only file system\t30\nfalse\tfalse\ttrue\n-- the project's own, not the firmware's\n\n");
  });
});
