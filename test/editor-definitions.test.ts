// The LuaLS definitions the build writes to dist/meta/<flavor>/ against a live runtime of
// each flavor: every global, field and object method the flavor adds to stock Lua 5.3 has a
// definition there (constants with their values), and every definition names something
// the flavor has. Then `moonrig init` and the starter project it writes.
import { expect } from "chai";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Runtime, type RuntimeOptions } from "../main/index.js";
import { loadFlavor, type Flavor } from "../runtime/flavors.js";
import { lua, lauxlib, lualib, bytesOf, textOf } from "../engine/lua.js";
import { parseDocs } from "../scripts/luals/docs.js";
import { runCli } from "./support/cli.js";
import { REPO_ROOT } from "./support/repl-tmux.js";
import { tempDir } from "./support/temp.js";

const META = join(REPO_ROOT, "dist", "meta");

// Lists "path<TAB>kind<TAB>value" for every global (after opening the named modules and
// running the probes) and every field below, then "method<TAB>REGISTRY:NAME" for each
// metatable's methods. A table met twice is listed where it is met first, the globals
// before package.loaded. Objects whose __index is a function (zbuff) cannot list their
// methods: for those, the names in \`asked\` (by metatable) are looked up on a probed object.
const LISTER = `
local modules, probes, asked = ...
for _, name in ipairs(modules) do local _ = _G[name] end
local probed = {}
for _, probe in ipairs(probes) do
  local object = load(probe)()
  local mt = getmetatable(object)
  if type(mt) == "table" and rawget(mt, "__name") then probed[mt.__name] = object end
end
local out, visited = {}, {[_G] = true}
local function list(path, v)
  local t = type(v)
  local shown = t == "number" and string.format("%.17g", v) or t == "string" and v or tostring(t == "boolean" and v or "")
  out[#out + 1] = path .. "\\t" .. t .. "\\t" .. shown
  if t == "table" and not visited[v] then
    visited[v] = true
    for k, field in pairs(v) do if type(k) == "string" then list(path .. "." .. k, field) end end
  end
end
for k, v in pairs(_G) do if type(k) == "string" and k ~= "_G" and k ~= "package" then list(k, v) end end
list("package", package)
for name, mt in pairs(debug.getregistry()) do
  if type(name) == "string" and type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
    for m, f in pairs(mt.__index) do
      if type(m) == "string" and type(f) == "function" then out[#out + 1] = "method\\t" .. name .. ":" .. m end
    end
  elseif type(name) == "string" and type(mt) == "table" and probed[name] ~= nil then
    for _, m in ipairs(asked[name] or {}) do
      if type(probed[name][m]) == "function" then out[#out + 1] = "method\\t" .. name .. ":" .. m end
    end
  end
end
return table.concat(out, "\\n")
`;

// What each of the given paths holds ("kind<TAB>value" lines), looked up as a script would.
const RESOLVER = `
local paths, out = ..., {}
for i, path in ipairs(paths) do
  local v = _G
  for name in path:gmatch("[^.]+") do
    if type(v) ~= "table" then v = nil break end
    v = v[name]
  end
  local t = type(v)
  out[i] = t .. "\\t" .. (t == "number" and string.format("%.17g", v) or t == "string" and v or tostring(t == "boolean" and v or ""))
end
return table.concat(out, "\\n")
`;

interface Live {
  values: Map<string, { kind: string; value: string }>;
  methods: Set<string>;
  /** What each defined path holds, in the variant where it is not nil (if any). */
  resolved: Map<string, { kind: string; value: string }>;
}

function parseLive(text: string, into: Live): void {
  for (const line of text.split("\n")) {
    const [a, b, c] = line.split("\t") as [string, string, string];
    if (a === "method") into.methods.add(b);
    else if (!into.values.has(a)) into.values.set(a, { kind: b, value: c });
  }
}

function luaArray(values: readonly string[]): string {
  return `{${values.map((v) => JSON.stringify(v)).join(",")}}`;
}

function stockLua(): Live {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const source = bytesOf(`return (function(...) ${LISTER} end)({}, {}, {})`);
  expect(lauxlib.luaL_loadbufferx(L, source, source.length, "=lister", null)).to.equal(lua.LUA_OK);
  expect(lua.lua_pcall(L, 0, 1, 0)).to.equal(lua.LUA_OK);
  const live: Live = { values: new Map(), methods: new Set(), resolved: new Map() };
  parseLive(textOf(lua.lua_tolstring(L, -1) as Uint8Array), live);
  return live;
}

const VARIANTS: Record<Flavor, RuntimeOptions[]> = {
  nodemcu: [{}, { at: "emulator" }],
  luatos: [{}, { device: { network: "wifi" } }, { at: "emulator" }],
};

async function liveFlavor(flavor: Flavor, probes: readonly string[], defs: Definitions): Promise<Live> {
  const defined = [...defs.values.keys()];
  const asked = `{${[...defs.methods].map(([registryName, names]) => `[${JSON.stringify(registryName)}] = ${luaArray([...names])}`).join(", ")}}`;
  const modules = (await loadFlavor(flavor)).modules.map((m) => m.name);
  const live: Live = { values: new Map(), methods: new Set(), resolved: new Map() };
  for (const variant of VARIANTS[flavor]) {
    const rt = new Runtime({ ...variant, flavor, stdout: () => {}, stderr: () => {} });
    try {
      await rt.run();
      const [text] = rt.exec(`return (function(...) ${LISTER} end)(${luaArray(modules)}, ${luaArray(probes)}, ${asked})`);
      parseLive((text as Buffer).toString("latin1"), live);
      const [resolved] = rt.exec(`return (function(...) ${RESOLVER} end)(${luaArray(defined)})`);
      (resolved as Buffer).toString("latin1").split("\n").forEach((line, i) => {
        const [kind, value] = line.split("\t") as [string, string];
        if (kind !== "nil") live.resolved.set(defined[i] as string, { kind, value });
      });
    } finally {
      await rt.close();
    }
  }
  return live;
}

/** A Lua string literal as the generator writes them: printable ASCII and \\ddd escapes. */
function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(\d{1,3})/g, (_, d: string) => String.fromCharCode(Number(d)));
}

interface Definitions {
  /** path -> right-hand side ("{}", a literal, "nil" or another path) or "function". */
  values: Map<string, string>;
  /** registry name -> method names. */
  methods: Map<string, Set<string>>;
  /** Functions and methods written with doc text. */
  documented: number;
  functions: number;
}

function readDefinitions(flavor: Flavor): Definitions {
  const defs: Definitions = { values: new Map(), methods: new Map(), documented: 0, functions: 0 };
  const dir = join(META, flavor);
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), "utf8");
    const lines = text.split("\n");
    expect(lines[0], file).to.equal("---@meta");
    // The editor parses them as Lua: they must compile.
    const L = lauxlib.luaL_newstate();
    const bytes = bytesOf(text);
    const status = lauxlib.luaL_loadbufferx(L, bytes, bytes.length, `=${file}`, "t");
    expect(status === lua.LUA_OK ? "" : textOf(lua.lua_tolstring(L, -1) as Uint8Array), `${flavor}/${file}`).to.equal("");
    const classes = new Map<string, string>();
    let registryName: string | undefined;
    // Keys that are not Lua names are written in brackets: back to the dotted path.
    lines.map((line) => line.replace(/\["([^"]+)"\]/g, ".$1")).forEach((line, i) => {
      const comment = /^-- objects with the metatable "(.+)"$/.exec(line);
      if (comment) registryName = comment[1];
      const local = /^local (\w+) = \{\}$/.exec(line);
      if (local && registryName) classes.set(local[1] as string, registryName);
      const fn = /^function ([\w.]+)(?::(\w+))?\(/.exec(line) ?? /^([\w.]+) = function\(/.exec(line);
      if (fn) {
        defs.functions++;
        if (/^---[^@]/.test(lines.slice(0, i).reverse().find((l) => !l.startsWith("---@")) ?? "")) defs.documented++;
        if (fn[2]) {
          const owner = classes.get(fn[1] as string);
          expect(owner, `${file}: ${line}`).to.be.a("string");
          const set = defs.methods.get(owner as string) ?? new Set();
          set.add(fn[2]);
          defs.methods.set(owner as string, set);
        } else {
          defs.values.set(fn[1] as string, "function");
        }
        return;
      }
      const value = /^([\w.]+) = (.+)$/.exec(line);
      if (value) defs.values.set(value[1] as string, value[2] as string);
    });
  }
  return defs;
}

/** The definition of `path`, following `a = b` aliases of the tables on the way. */
function definitionOf(defs: Definitions, path: string): string | undefined {
  const direct = defs.values.get(path);
  if (direct !== undefined) return direct;
  const parts = path.split(".");
  for (let i = parts.length - 1; i > 0; i--) {
    const head = parts.slice(0, i).join(".");
    const target = defs.values.get(head);
    if (target && /^[A-Za-z_][\w.]*$/.test(target) && target !== "nil") return definitionOf(defs, [target, ...parts.slice(i)].join("."));
  }
  return undefined;
}

function matches(definition: string, live: { kind: string; value: string }): boolean {
  switch (live.kind) {
    case "function": return definition === "function";
    case "table": return definition === "{}" || /^[A-Za-z_][\w.]*$/.test(definition);
    case "number": return definition !== "function" && Number(definition) === Number(live.value);
    case "string": return definition.startsWith('"') && unquote(definition) === live.value;
    case "boolean": return definition === live.value;
    default: return definition === "nil";
  }
}

for (const flavor of ["nodemcu", "luatos"] as const) {
  describe(`editor definitions: ${flavor}`, function () {
    this.timeout(60000);
    const docs = parseDocs(readFileSync(join(REPO_ROOT, "scripts", "luals", `${flavor}.txt`), "utf8"));
    let live: Live;
    let stock: Live;
    let defs: Definitions;
    before(async () => {
      defs = readDefinitions(flavor);
      live = await liveFlavor(flavor, docs.probes.map(([, chunk]) => chunk), defs);
      stock = stockLua();
    });

    it("define every global, field and method the flavor adds to Lua 5.3, constants with their values", () => {
      const missing: string[] = [];
      for (const [path, value] of live.values) {
        if (/^(package|arg)(\.|$)/.test(path)) continue;
        const known = stock.values.get(path);
        if (known && known.kind === value.kind) continue;
        const definition = definitionOf(defs, path);
        if (definition === undefined || !matches(definition, value)) missing.push(`${path} (${value.kind} ${value.value}): ${definition ?? "no definition"}`);
      }
      for (const method of live.methods) {
        if (stock.methods.has(method)) continue;
        const [registryName, name] = method.split(":") as [string, string];
        if (!defs.methods.get(registryName)?.has(name)) missing.push(`method ${method}`);
      }
      expect(missing).to.deep.equal([]);
    });

    it("name only what the flavor has, as it is", () => {
      const unknown: string[] = [];
      for (const [path, definition] of defs.values) {
        const value = live.resolved.get(path);
        if (!value || !matches(definition, value)) unknown.push(`${path} = ${definition}: ${value ? `${value.kind} ${value.value}` : "nil"}`);
      }
      for (const [registryName, names] of defs.methods) {
        for (const name of names) if (!live.methods.has(`${registryName}:${name}`)) unknown.push(`${registryName}:${name}`);
      }
      expect(unknown).to.deep.equal([]);
    });

    it(`scripts/luals/${flavor}.txt documents only names that exist`, () => {
      expect(docs.errors).to.deep.equal([]);
      const classes = new Map([...docs.classes].map(([registryName, cls]) => [cls, registryName]));
      const stale = [...docs.entries.keys()].filter((key) => {
        const [owner, method] = key.split(":") as [string, string | undefined];
        if (method !== undefined) return !defs.methods.get(classes.get(owner) ?? owner)?.has(method);
        return !classes.has(key) && definitionOf(defs, key) === undefined;
      });
      expect(stale).to.deep.equal([]);
      // Names without doc text still get a definition: reported, not a failure.
      console.log(`      (${flavor}: ${defs.documented} of ${defs.functions} functions and methods have doc text)`);
    });
  });
}

describe("moonrig init", function () {
  this.timeout(30000);

  const expected: Record<Flavor, { entry: string; module: string; output: RegExp }> = {
    nodemcu: { entry: "init.lua", module: "tmr.lua", output: /^Wi-Fi up, IP 192\.168\.1\.100\nMQTT connected\npublished (moonrig\/12648430\/count) 1\nreceived \1 1\n$/ },
    luatos: { entry: "main.lua", module: "sys.lua", output: /^network ready\nMQTT connected\npublished (moonrig\/[0-9A-F]{32}\/count) 1\nreceived \1 1\n$/ },
  };

  for (const flavor of ["nodemcu", "luatos"] as const) {
    it(`--flavor ${flavor} writes a starter that runs on the embedded broker, and a .luarc.json for the editor`, async () => {
      const dir = join(tempDir("init"), "project");
      const init = await runCli(["init", "--flavor", flavor, dir]);
      expect([init.stdout.toString(), init.stderr, init.code]).to.deep.equal([`moonrig: wrote ${dir}/${expected[flavor].entry} and ${dir}/.luarc.json (${flavor})\nrun it: moonrig --broker embedded ${dir}\n`, "", 0]);
      expect(readdirSync(dir).sort()).to.deep.equal([".luarc.json", expected[flavor].entry]);
      const config = JSON.parse(readFileSync(join(dir, ".luarc.json"), "utf8")) as Record<string, unknown>;
      expect(config).to.deep.equal({ "runtime.version": "Lua 5.3", "workspace.library": [join(REPO_ROOT, "dist", "meta", flavor)] });
      expect(existsSync(join(REPO_ROOT, "dist", "meta", flavor, expected[flavor].module))).to.equal(true);
      // Long enough for a loaded machine, short of the second publish (10 s).
      const run = await runCli(["--run-for", "5", "--broker", "embedded", dir], { timeoutMs: 20000 });
      expect(run.stdout.toString()).to.match(expected[flavor].output);
      expect(run.stderr).to.match(/^moonrig: mqtt\.example\.com:1883 -> mqtt:\/\/127\.0\.0\.1:\d+\n$/);
      expect(run.code).to.equal(0);
    });
  }

  it("the flavor defaults to NodeMCU and the folder to the current one; a path inside the project is relative", async () => {
    const dir = tempDir("init-here");
    const init = await runCli(["init"], { cwd: dir });
    expect([init.stdout.toString(), init.stderr, init.code]).to.deep.equal(["moonrig: wrote init.lua and .luarc.json (nodemcu)\nrun it: moonrig --broker embedded .\n", "", 0]);
    const { luarc } = await import("../runtime/init.js");
    expect(luarc(REPO_ROOT, "luatos")).to.equal('{\n  "runtime.version": "Lua 5.3",\n  "workspace.library": [\n    "dist/meta/luatos"\n  ]\n}\n');
    expect(luarc(resolve(REPO_ROOT, "dist"), "nodemcu")).to.contain('"meta/nodemcu"');
  });

  it("refuses to overwrite: nothing is written when a file exists", async () => {
    const dir = tempDir("init-exists");
    writeFileSync(join(dir, "init.lua"), "print('mine')\n");
    const init = await runCli(["init", dir]);
    expect([init.stdout.toString(), init.stderr, init.code]).to.deep.equal(["", `moonrig: init: ${dir}/init.lua already exists; nothing written\n`, 1]);
    expect(readdirSync(dir)).to.deep.equal(["init.lua"]);
    expect(readFileSync(join(dir, "init.lua"), "utf8")).to.equal("print('mine')\n");
  });

  it("bad arguments get the usage and status 2", async () => {
    const init = await runCli(["init", "--flavor", "esp32"]);
    expect([init.stdout.toString(), init.stderr, init.code]).to.deep.equal(["", "moonrig: init: --flavor must be nodemcu or luatos, got 'esp32'\nusage: moonrig init [--flavor nodemcu|luatos] [DIR]\n", 2]);
    const extra = await runCli(["init", "a", "b"]);
    expect([extra.stderr, extra.code]).to.deep.equal(["moonrig: init: one folder, got 'a' and 'b'\nusage: moonrig init [--flavor nodemcu|luatos] [DIR]\n", 2]);
  });
});
