// Writes the LuaLS (lua-language-server) definition files, dist/meta/<flavor>/*.lua, from
// what a fresh runtime of each flavor actually holds: every global and field the flavor
// adds to stock Lua 5.3, each constant with its value, and the methods of the objects its
// modules make. Doc text and typed signatures come from scripts/luals/<flavor>.txt (see
// docs.ts); a name without an entry still gets a definition, with a generic signature, so
// a new binding never breaks the build. scripts/package-files.mjs runs this at build time.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Runtime, type RuntimeOptions } from "../../main/index.js";
import { loadFlavor, type Flavor } from "../../runtime/flavors.js";
import { lua, lauxlib, lualib, bytesOf, textOf } from "../../engine/lua.js";
import { parseDocs, splitTopLevel, type DocEntry, type DocsData } from "./docs.js";

const FLAVOR_NAMES: readonly Flavor[] = ["nodemcu", "luatos"];

/** The device variants whose globals differ: their listings are merged. */
const VARIANTS: Record<Flavor, RuntimeOptions[]> = {
  nodemcu: [{}, { at: "emulator" }],
  luatos: [{}, { device: { network: "wifi" } }, { at: "emulator" }],
};

const TITLES: Record<Flavor, string> = { nodemcu: "NodeMCU", luatos: "LuatOS" };

interface Item {
  kind: string;
  path: string;
  detail: string[];
}

function parseListing(text: string): Map<string, Item> {
  const items = new Map<string, Item>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [kind, path, ...detail] = line.split("\t") as [string, string, ...string[]];
    items.set(kind === "metatable" ? `@${path}` : path, { kind, path, detail });
  }
  return items;
}

function luaList(values: readonly string[]): string {
  return `{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
}

/** Method names documented for each class, by registry name (see CANDIDATES in walk.lua). */
function candidates(docs: DocsData | undefined): string {
  const fields = [...(docs?.classes ?? [])].map(([registryName, cls]) => {
    const names = [...(docs?.entries.keys() ?? [])].filter((key) => key.startsWith(`${cls}:`)).map((key) => key.slice(cls.length + 1));
    return `[${JSON.stringify(registryName)}] = ${luaList(names)}`;
  });
  return `{${fields.join(", ")}}`;
}

function walkerSource(root: string, modules: readonly string[], docs: DocsData | undefined): string {
  const walker = readFileSync(join(root, "scripts", "luals", "walk.lua"), "utf8");
  const probes = `{${(docs?.probes ?? []).map((p) => luaList(p)).join(", ")}}`;
  return `local MODULES = ${luaList(modules)}\nlocal PROBES = ${probes}\nlocal CANDIDATES = ${candidates(docs)}\n${walker}`;
}

/** What stock fengari (Lua 5.3, which the editor already knows) holds. */
function stockListing(root: string): Map<string, Item> {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const source = bytesOf(walkerSource(root, [], undefined));
  if (lauxlib.luaL_loadbufferx(L, source, source.length, "=walk.lua", null) !== lua.LUA_OK || lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
    throw new Error(textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array()));
  }
  return parseListing(textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array()));
}

/** Everything a fresh runtime of `flavor` holds, over all device variants. */
async function flavorListing(root: string, flavor: Flavor, docs: DocsData): Promise<Map<string, Item>> {
  const modules = (await loadFlavor(flavor)).modules.map((m) => m.name);
  const merged = new Map<string, Item>();
  for (const variant of VARIANTS[flavor]) {
    let errors = "";
    const runtime = new Runtime({ ...variant, flavor, stdout: () => {}, stderr: (text) => void (errors += text) });
    try {
      await runtime.run();
      const [listing] = runtime.exec(walkerSource(root, modules, docs), "=walk.lua");
      if (!Buffer.isBuffer(listing)) throw new Error(`the walk returned no listing: ${errors}`);
      for (const [key, item] of parseListing(listing.toString("latin1"))) {
        const known = merged.get(key);
        // A metatable first opened by a module in one variant keeps that owner.
        if (!known || (known.kind === "metatable" && known.detail[0] === "")) merged.set(key, item);
      }
    } finally {
      await runtime.close();
    }
  }
  return merged;
}

/** Names the editor must learn: the flavor's additions to stock Lua. */
function isAddition(item: Item, stock: Map<string, Item>): boolean {
  if (/^(package|arg)(\.|$)/.test(item.path)) return false;
  const known = stock.get(item.path);
  return known === undefined || known.kind !== item.kind;
}

function luaLiteral(hex: string): string {
  let out = '"';
  for (let i = 0; i < hex.length; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, "0")}`;
  }
  return `${out}"`;
}

const KEYWORDS = new Set("and break do else elseif end false for function goto if in local nil not or repeat return then true until while".split(" "));

function isName(key: string): boolean {
  return /^[A-Za-z_]\w*$/.test(key) && !KEYWORDS.has(key);
}

/** A path as a Lua expression: keys that are not names (reason.4WAY_...) in brackets. */
function expression(path: string): string {
  return path.split(".").map((key, i) => (isName(key) ? `${i === 0 ? "" : "."}${key}` : `[${JSON.stringify(key)}]`)).join("");
}

function identifier(name: string): string {
  return name.replace(/\W+/g, "_").replace(/^_+|_+$/g, "") || "object";
}

function docLines(entry: DocEntry | undefined): string[] {
  return (entry?.text ?? []).map((line) => `---${line}`);
}

function functionLines(target: string, item: Item, entry: DocEntry | undefined, method: boolean): string[] {
  const lines = docLines(entry);
  let names: string[];
  if (entry?.params) {
    for (const p of entry.params) {
      lines.push(`---@param ${p.name}${p.optional && p.name !== "..." ? "?" : ""} ${p.type ?? "any"}`);
    }
    names = entry.params.map((p) => p.name);
  } else if (item.detail[0] === "lua") {
    names = (item.detail[1] ?? "").split(",").filter((n) => n !== "");
    if (method && names[0] === "self") names = names.slice(1);
  } else {
    lines.push("---@param ... any");
    names = ["..."];
  }
  if (entry?.returns) {
    // A bare `...` (any number of values) is `any ...` in LuaLS's syntax.
    for (const type of splitTopLevel(entry.returns, ",")) lines.push(`---@return ${type === "..." ? "any ..." : type}`);
  } else if (!entry?.params) {
    lines.push("---@return any ...");
  }
  const head = method || target.split(".").every(isName) ? `function ${target}` : `${expression(target)} = function`;
  lines.push(`${head}(${names.join(", ")}) end`);
  return lines;
}

function valueLines(item: Item, entry: DocEntry | undefined): string[] {
  const lines = docLines(entry);
  const target = expression(item.path);
  switch (item.kind) {
    case "table": lines.push(`${target} = {}`); break;
    case "alias": lines.push(`${target} = ${expression(item.detail[0] ?? "")}`); break;
    case "number": lines.push(`${target} = ${item.detail[1]}`); break;
    case "string": lines.push(`${target} = ${luaLiteral(item.detail[0] ?? "")}`); break;
    case "boolean": lines.push(`${target} = ${item.detail[0]}`); break;
    default: lines.push(`---@type ${item.detail[0]}`, `${target} = nil`);
  }
  return lines;
}

interface Generated {
  /** File name -> text. */
  files: Map<string, string>;
  /** Docs entries that name nothing this flavor has, or describe it wrongly. */
  stale: string[];
  /** Functions and methods without doc text. */
  undocumented: string[];
}

function readDocs(root: string, flavor: Flavor): DocsData {
  return parseDocs(readFileSync(join(root, "scripts", "luals", `${flavor}.txt`), "utf8"));
}

function render(flavor: Flavor, items: Map<string, Item>, stock: Map<string, Item>, docs: DocsData): Generated {
  const files = new Map<string, string[]>();
  const used = new Set<string>();
  const stale = docs.errors.map((e) => `${flavor}.txt ${e}`);
  const undocumented: string[] = [];
  const stockGlobals = new Set([...stock.values()].filter((i) => !i.path.includes(".") && i.kind !== "metatable").map((i) => i.path));
  const add = (file: string, lines: string[]) => {
    const list = files.get(file) ?? [];
    list.push(...lines, "");
    files.set(file, list);
  };
  const entryFor = (key: string, item: Item): DocEntry | undefined => {
    const entry = docs.entries.get(key);
    if (!entry) {
      if (item.kind === "function" || item.kind === "method") undocumented.push(key);
      return undefined;
    }
    used.add(key);
    const isFunction = item.kind === "function" || item.kind === "method";
    if (isFunction !== (entry.params !== undefined)) {
      stale.push(`${flavor}.txt line ${entry.line}: ${key} is a ${item.kind}, the entry describes ${entry.params ? "a function" : "a value"}`);
    }
    return entry;
  };
  const classOf = (registryName: string) => docs.classes.get(registryName) ?? (/^[A-Za-z_][\w.]*$/.test(registryName) ? registryName : identifier(registryName));

  for (const item of items.values()) {
    if (item.kind === "method" || item.kind === "metatable" || !isAddition(item, stock)) continue;
    const top = item.path.split(".")[0] as string;
    const file = stockGlobals.has(top) ? "stdlib" : item.path.includes(".") || item.kind === "table" ? top : "globals";
    const entry = entryFor(item.path, item);
    add(file, item.kind === "function" ? functionLines(item.path, item, entry, false) : valueLines(item, entry));
  }
  for (const item of items.values()) {
    if (item.kind !== "metatable" || stock.has(`@${item.path}`)) continue;
    const cls = classOf(item.path);
    // The class's table is a local: named apart from a global of the same name (zbuff).
    const local = items.has(identifier(cls)) ? `${identifier(cls)}_object` : identifier(cls);
    const file = item.detail[0] || "classes";
    const entry = docs.entries.get(cls);
    if (entry) used.add(cls);
    add(file, [`-- objects with the metatable "${item.path}"`, ...docLines(entry), `---@class ${cls}`, `local ${local} = {}`]);
    for (const method of items.values()) {
      if (method.kind !== "method" || !method.path.startsWith(`${item.path}:`)) continue;
      const name = method.path.slice(item.path.length + 1);
      add(file, functionLines(`${local}:${name}`, method, entryFor(`${cls}:${name}`, method), true));
    }
  }
  for (const [registryName, cls] of docs.classes) {
    if (!items.has(`@${registryName}`)) stale.push(`${flavor}.txt: @class ${cls} names the metatable "${registryName}", which nothing registers`);
  }
  for (const [key, entry] of docs.entries) {
    if (!used.has(key)) stale.push(`${flavor}.txt line ${entry.line}: ${key} names nothing moonrig's ${TITLES[flavor]} flavor has`);
  }
  const rendered = new Map<string, string>();
  for (const [file, lines] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const what = file === "stdlib" ? "additions to Lua's standard libraries" : file === "globals" ? "global functions and values" : file === "classes" ? "objects" : `the ${file} module`;
    const head = ["---@meta", `-- moonrig's ${TITLES[flavor]} flavor: ${what}. Generated by \`npm run build\` from the`, "-- bindings and scripts/luals/" + flavor + ".txt; do not edit.", ""];
    // A module's file returns its table: the editor then types `local sys = require("sys")`.
    const tail = items.get(file)?.kind === "table" ? [`return ${file}`] : [];
    rendered.set(`${file}.lua`, [...head, ...lines, ...tail].join("\n").replace(/\n*$/, "\n"));
  }
  return { files: rendered, stale, undocumented };
}

/** Generates every flavor's definitions into `outDir/<flavor>/`; returns what it found. */
export async function generate(root: string, outDir: string): Promise<Record<Flavor, Generated>> {
  const stock = stockListing(root);
  const result = {} as Record<Flavor, Generated>;
  for (const flavor of FLAVOR_NAMES) {
    const docs = readDocs(root, flavor);
    const generated = render(flavor, await flavorListing(root, flavor, docs), stock, docs);
    const dir = join(outDir, flavor);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of generated.files) writeFileSync(join(dir, name), text);
    result[flavor] = generated;
  }
  return result;
}
