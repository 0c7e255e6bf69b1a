// The npm package as a user gets it: `npm pack`, the tarball unpacked into a fresh project
// that has only the dependencies it declares (linked from this checkout: no network), then
// the README's embedding example type-checked under strict settings against the shipped
// declarations, and the `moonrig` command run from it.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./support/repl-tmux.js";
import { tempDir } from "./support/temp.js";
import ts from "typescript";

interface PackResult {
  filename: string;
  entryCount: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

interface Manifest {
  types?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readmeExample(): string {
  const section = readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("## Embedding API")[1] ?? "";
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!example) throw new Error("README.md has no TypeScript example under Embedding API");
  return example;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

/** The package's dependencies and theirs, as installed in this checkout (optional ones when present). */
function dependencyClosure(pkg: Manifest): string[] {
  const found = new Set<string>();
  const queue = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    const dir = join(REPO_ROOT, "node_modules", name);
    if (found.has(name) || !existsSync(dir)) continue;
    found.add(name);
    const dep = manifest(dir);
    queue.push(...Object.keys(dep.dependencies ?? {}), ...Object.keys(dep.optionalDependencies ?? {}));
  }
  return [...found].sort();
}

describe("the npm package", function () {
  this.timeout(60000);
  let pack: PackResult;
  let project: string;
  let installed: string;

  before(() => {
    const dir = tempDir("package");
    const npm = spawnSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: REPO_ROOT, encoding: "utf8" });
    if (npm.status !== 0) throw new Error(`npm pack failed: ${npm.stderr}`);
    pack = (JSON.parse(npm.stdout) as PackResult[])[0] as PackResult;
    project = join(dir, "project");
    installed = join(project, "node_modules", "moonrig");
    mkdirSync(installed, { recursive: true });
    const tar = spawnSync("tar", ["-xzf", join(dir, pack.filename), "-C", installed, "--strip-components=1"], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    for (const name of new Set([...dependencyClosure(manifest(installed)), "@types/node", "undici-types"])) {
      const link = join(project, "node_modules", name);
      mkdirSync(dirname(link), { recursive: true });
      if (existsSync(join(REPO_ROOT, "node_modules", name))) symlinkSync(join(REPO_ROOT, "node_modules", name), link);
    }
    // The project is an ES module package: under NodeNext that makes main.ts one.
    writeFileSync(join(project, "package.json"), '{ "type": "module", "private": true }\n');
    writeFileSync(join(project, "main.ts"), readmeExample());
  });

  it("holds the runtime, the declarations, the editor definitions and the documents, and nothing of the sources", () => {
    const paths = pack.files.map((f) => f.path);
    const tops = [...new Set(paths.map((p) => (p.includes("/") ? `${p.split("/")[0]}/` : p)))].sort();
    expect(tops).to.deep.equal(["FIDELITY.md", "LICENSE", "README.md", "bin/", "dist/", "lua/", "package.json"]);
    expect(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))).to.deep.equal([]);
    expect(paths.filter((p) => p.endsWith(".map"))).to.deep.equal([]);
    expect(paths).to.include.members(["bin/moonrig.cjs", "dist/index.js", "dist/cli.js", "dist/fast/moonrig.bin", "lua/sys.lua", "dist/meta/nodemcu/tmr.lua", "dist/meta/luatos/sys.lua"]);
    const types = manifest(installed).types as string;
    expect(paths).to.include(types);
    expect(types).to.equal("dist/types/main/index.d.ts");
    expect(readdirSync(join(installed, "dist/types/runtime")).sort()).to.include.members(["runtime.d.ts"]);
    expect(readdirSync(join(installed, "dist/types/engine")).sort()).to.include.members(["lua.d.ts", "fengari.d.ts"]);
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).to.match(/^MIT License\n/);
  });

  // One compiler for the three settings, sharing parsed files: each tsc process would
  // parse node's declarations again. The first also checks the declaration files
  // (moonrig's and node's; TypeScript's own lib files are its business).
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const settings = [
    ["NodeNext", ts.ModuleKind.NodeNext, ts.ModuleResolutionKind.NodeNext],
    ["Bundler", ts.ModuleKind.ESNext, ts.ModuleResolutionKind.Bundler],
    ["Node10", ts.ModuleKind.ESNext, ts.ModuleResolutionKind.Node10],
  ] as const;
  settings.forEach(([name, module, moduleResolution], index) => {
    it(`the README's embedding example type-checks against it under strict, moduleResolution ${name}`, () => {
      const options: ts.CompilerOptions = { strict: true, module, moduleResolution, target: ts.ScriptTarget.ES2022, noEmit: true, types: ["node"], skipDefaultLibCheck: true, skipLibCheck: index > 0 };
      const host = ts.createCompilerHost(options);
      const read = host.getSourceFile.bind(host);
      host.getSourceFile = (file, language, ...rest) => {
        const key = `${file}\0${JSON.stringify(language)}`;
        if (!parsed.has(key)) parsed.set(key, read(file, language, ...rest));
        return parsed.get(key);
      };
      host.getCurrentDirectory = () => project;
      const program = ts.createProgram({ rootNames: [join(project, "main.ts")], options, host });
      const diagnostics = ts.getPreEmitDiagnostics(program);
      expect(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => "\n" })).to.equal("");
    });
  });

  for (const [label, env] of [["the fast start-up bundle", {}], ["the plain ES module CLI", { MOONRIG_PLAIN: "1" }]] as const) {
    it(`its moonrig command runs scripts of both flavors (${label})`, () => {
      const run = (args: string[]) => spawnSync(process.execPath, [join(installed, "bin", "moonrig.cjs"), ...args], { cwd: project, encoding: "utf8", env: { ...process.env, ...env } });
      const nodemcu = run(["-e", "print(1, tmr.ALARM_AUTO, type(mqtt.Client))"]);
      expect([nodemcu.stdout, nodemcu.stderr, nodemcu.status]).to.deep.equal(["1\t1\tfunction\n", "", 0]);
      // sys is lua/sys.lua from the package.
      const luatos = run(["--flavor", "luatos", "-e", "print(type(sys.taskInit), sys.wait == require('sys').wait)"]);
      expect([luatos.stdout, luatos.stderr, luatos.status]).to.deep.equal(["function\ttrue\n", "", 0]);
    });
  }

  it("moonrig init points the editor at the package's definitions, relative to the project", () => {
    const init = spawnSync(process.execPath, [join(installed, "bin", "moonrig.cjs"), "init", "--flavor", "luatos", "."], { cwd: project, encoding: "utf8" });
    expect([init.stdout, init.stderr, init.status]).to.deep.equal(["moonrig: wrote main.lua and .luarc.json (luatos)\nrun it: moonrig --broker embedded .\n", "", 0]);
    const config = JSON.parse(readFileSync(join(project, ".luarc.json"), "utf8")) as { "workspace.library": string[] };
    expect(config["workspace.library"]).to.deep.equal(["node_modules/moonrig/dist/meta/luatos"]);
    expect(readdirSync(join(project, "node_modules/moonrig/dist/meta/luatos"))).to.include.members(["sys.lua", "mqtt.lua", "zbuff.lua"]);
  });

  it("imports as a library from the project", () => {
    const script = 'import { Runtime } from "moonrig"; const rt = new Runtime({ flavor: "nodemcu", device: { chipId: 0x1234 } }); await rt.run(); console.log(String(rt.exec("return node.chipid()")[0])); await rt.close();';
    const node = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: project, encoding: "utf8" });
    expect([node.stdout, node.stderr, node.status]).to.deep.equal(["4660\n", "", 0]);
  });
});
