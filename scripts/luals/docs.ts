// The editor definitions' doc text: scripts/luals/<flavor>.txt, one entry per documented
// name. An entry is a header line at the start of a line, then its description indented:
//
//   tmr.create(): tmr.timer                              -- a function (returns after ':')
//   tmr.timer:alarm(interval: integer, mode: integer, callback: fun(t: tmr.timer)): boolean
//   tmr.ALARM_AUTO                                       -- a constant or a table
//
// Parameters are `name: type`, `name?: type` (may be left out) or `...: type`; types are
// LuaLS's (callbacks `fun(a: T, b: U)`). A method is keyed `CLASS:name`, where CLASS is
// declared by `@class CLASS REGISTRY-NAME` (the metatable the binding registers). `@probe
// MODULE CHUNK` runs CHUNK, which returns an object of MODULE's: for a metatable registered
// only when the first object is made, and for objects whose __index is a function (their
// documented methods are looked up on it). Lines starting with # are comments.

export interface Param {
  name: string;
  type: string | undefined;
  optional: boolean;
}

export interface DocEntry {
  /** `mod.fn`, `mod.CONST`, `mod.sub`, or `CLASS:method`. */
  key: string;
  line: number;
  /** Undefined for a constant or table entry. */
  params: Param[] | undefined;
  returns: string | undefined;
  text: string[];
}

export interface DocsData {
  entries: Map<string, DocEntry>;
  /** Registry name -> class name. */
  classes: Map<string, string>;
  probes: Array<[string, string]>;
  errors: string[];
}

/** Splits at the commas that are not inside brackets of a type such as fun(a, b). */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(" || c === "<" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === ">" || c === "}" || c === "]") depth--;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== "" || parts.length > 0) parts.push(last);
  return parts;
}

/** The index of the bracket closing the one at `open`, or -1. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

const KEY = /^[A-Za-z_][\w.]*(?::[A-Za-z_]\w*)?$/;

function parseHeader(header: string, line: number, errors: string[]): DocEntry | undefined {
  const open = header.indexOf("(");
  if (open < 0) {
    if (!KEY.test(header)) errors.push(`line ${line}: '${header}' is not a name`);
    return { key: header, line, params: undefined, returns: undefined, text: [] };
  }
  const key = header.slice(0, open);
  const close = closing(header, open);
  if (!KEY.test(key) || close < 0) {
    errors.push(`line ${line}: cannot read '${header}'`);
    return undefined;
  }
  const rest = header.slice(close + 1).trim();
  if (rest !== "" && !rest.startsWith(":")) errors.push(`line ${line}: expected ': RETURNS' after the parameters, got '${rest}'`);
  const params: Param[] = [];
  for (const part of splitTopLevel(header.slice(open + 1, close), ",")) {
    const m = /^(\.\.\.|[A-Za-z_]\w*)(\?)?\s*(?::\s*(.+))?$/.exec(part);
    if (!m) {
      errors.push(`line ${line}: cannot read parameter '${part}'`);
      continue;
    }
    params.push({ name: m[1] as string, optional: m[2] === "?", type: m[3]?.trim() });
  }
  return { key, line, params, returns: rest.startsWith(":") ? rest.slice(1).trim() : undefined, text: [] };
}

export function parseDocs(source: string): DocsData {
  const data: DocsData = { entries: new Map(), classes: new Map(), probes: [], errors: [] };
  let current: DocEntry | undefined;
  source.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trimEnd();
    if (text === "" || text.startsWith("#")) return;
    if (/^\s/.test(text)) {
      if (current) current.text.push(text.trim());
      else data.errors.push(`line ${line}: description without an entry`);
      return;
    }
    current = undefined;
    const directive = /^@(\w+)\s+(\S+)\s+(.+)$/.exec(text);
    if (directive) {
      const [, name, first, rest] = directive as unknown as [string, string, string, string];
      if (name === "class") data.classes.set(rest.trim(), first);
      else if (name === "probe") data.probes.push([first, rest]);
      else data.errors.push(`line ${line}: unknown directive @${name}`);
      return;
    }
    const entry = parseHeader(text, line, data.errors);
    if (!entry) return;
    if (data.entries.has(entry.key)) data.errors.push(`line ${line}: ${entry.key} is documented twice`);
    data.entries.set(entry.key, entry);
    current = entry;
  });
  return data;
}
