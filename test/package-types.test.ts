// The package's declarations (package.json "types" and the "types" export condition),
// checked the way a TypeScript project that embeds moonrig uses them: the README's
// embedding example compiles under strict settings with each module resolution mode.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./support/repl-tmux.js";
import { removeTempDir, tempDir } from "./support/temp.js";

function readmeExample(): string {
  const section = readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("## Embedding API")[1] ?? "";
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!example) throw new Error("README.md has no TypeScript example under Embedding API");
  return example;
}

describe("package type declarations", function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = tempDir("types");
    mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
    symlinkSync(REPO_ROOT, join(dir, "node_modules", "moonrig"));
    symlinkSync(join(REPO_ROOT, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, "main.ts"), readmeExample());
  });
  after(() => removeTempDir(dir));

  for (const [module, resolution] of [["NodeNext", "NodeNext"], ["ESNext", "Bundler"], ["ESNext", "Node10"]]) {
    it(`the README example compiles with moduleResolution ${resolution}`, () => {
      const config = { compilerOptions: { strict: true, module, moduleResolution: resolution, target: "ES2022", noEmit: true, types: ["node"] }, files: ["main.ts"] };
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(config));
      const tsc = spawnSync(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
      expect(tsc.stdout + tsc.stderr).to.equal("");
      expect(tsc.status).to.equal(0);
    });
  }
});
