// The source tree's dependency direction, read from the sources' import statements:
// main → bindings → runtime → emulator → mqtt → (modem, device) → engine. A file may import from its
// own folder or from a lower layer only, and no chain of value imports leads back to where it
// started (type-only imports vanish from the JavaScript, so they cannot form a load cycle).
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Higher imports lower; equal ranks in different folders do not import each other. */
const LAYERS: Record<string, number> = { main: 7, bindings: 6, runtime: 5, emulator: 4, mqtt: 3, modem: 2, device: 2, engine: 1 };

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, "utf8");
  const edges: Edge[] = [];
  const pattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const spec = match[3] ?? match[4];
    const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
    edges.push({ from: relative(root, file), to: relative(root, target), typeOnly: match[2] !== undefined });
  }
  return edges;
}

const layerOf = (path: string): string => path.split(sep)[0];

function upwardImports(list: readonly Edge[]): string[] {
  return list
    .filter((edge) => {
      const from = layerOf(edge.from);
      const to = layerOf(edge.to);
      return from !== to && !(LAYERS[to] !== undefined && LAYERS[to] < LAYERS[from]);
    })
    .map((edge) => `${edge.from} -> ${edge.to}`);
}

function valueCycles(list: readonly Edge[]): string[] {
  const graph = new Map<string, string[]>();
  for (const edge of list) {
    if (edge.typeOnly) continue;
    graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  }
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

const files = Object.keys(LAYERS).flatMap((layer) => sources(join(root, layer)));
const edges = files.flatMap(importsOf);

describe("source layers", () => {
  it("reads every import form: named, type-only, re-export, dynamic", () => {
    expect(files.length).to.be.greaterThan(100);
    const of = (from: string) => edges.filter((edge) => edge.from === join("runtime", from)).map((edge) => `${edge.typeOnly ? "type " : ""}${edge.to}`);
    expect(of("mqtt.ts")).to.include.members([join("mqtt", "deferred.ts"), join("mqtt", "session.ts"), `type ${join("runtime", "board.ts")}`]);
    expect(of("modem.ts")).to.include(join("emulator", "index.ts"));
  });

  it("every import points to the importing file's own layer or a lower one", () => {
    expect(upwardImports(edges)).to.deep.equal([]);
    expect(upwardImports([{ from: join("mqtt", "at.ts"), to: join("runtime", "runtime.ts"), typeOnly: true }])).to.have.length(1);
    expect(upwardImports([{ from: join("modem", "a.ts"), to: join("device", "b.ts"), typeOnly: false }])).to.have.length(1);
  });

  it("value imports form no cycle", () => {
    expect(valueCycles(edges)).to.deep.equal([]);
    const loop = [
      { from: "a.ts", to: "b.ts", typeOnly: false },
      { from: "b.ts", to: "a.ts", typeOnly: false },
    ];
    expect(valueCycles(loop)).to.deep.equal(["a.ts -> b.ts -> a.ts"]);
    expect(valueCycles([loop[0], { ...loop[1], typeOnly: true }])).to.deep.equal([]);
  });
});
