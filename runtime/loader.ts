// require, dofile and loadfile over the flat project view, then the runtime's own lua/
// folder. Chunks are named after the device file name so errors read `init.lua:12: ...`.
import { readFileSync, existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lua, lauxlib, bytesOf, textOf, type LuaState } from "../engine/lua.js";
import { checkText, raiseAt } from "../engine/args.js";
import { cString, Project, ProjectError } from "./project.js";
import { boardOf, type Board } from "./board.js";

/** The runtime's own Lua library folder (sys.lua, ...), found from wherever this code runs. */
export const libraryDir: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "lua")) && existsSync(join(dir, "package.json"))) return join(dir, "lua");
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "lua");
})();

const BOM = [0xef, 0xbb, 0xbf];
const RUNTIME_FIRST = new Set(["sys", "sysplus"]);

/** Source bytes as C Lua's loader sees them: no UTF-8 BOM, a leading `#` line blanked. */
export function chunkBytes(raw: Uint8Array): Uint8Array {
  let bytes = raw;
  if (bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2]) bytes = bytes.subarray(3);
  if (bytes[0] === 0x23 /* # */) {
    const end = bytes.indexOf(0x0a);
    bytes = end < 0 ? new Uint8Array(0) : bytes.subarray(end);
  }
  return bytes;
}

/** Loads a chunk; pushes the function, or the error message, and returns the status. */
export function loadChunk(L: LuaState, source: Uint8Array, chunkname: string): number {
  const bytes = chunkBytes(source);
  return lauxlib.luaL_loadbufferx(L, bytes, bytes.length, bytesOf(chunkname), null);
}

export function loadFile(L: LuaState, path: string): number {
  return loadChunk(L, readFileSync(path), `@${basename(path)}`);
}

export class Loader {
  /** `roots`: the project, then the flash folder when --fs names another one. */
  constructor(readonly roots: readonly Project[], readonly library: string = libraryDir) {}

  /** A device path inside the roots; refuses escapes with a Lua-visible message. */
  resolveProjectFile(devicePath: string): string | undefined {
    // C's loaders open the name as a C string, up to its first NUL.
    const name = cString(devicePath);
    for (const root of this.roots) {
      const path = root.resolve(name);
      if (path) return path;
    }
    return undefined;
  }

  findModule(name: string): { path: string } | { tried: string[] } {
    // The runtime's sys drives tasks from the host's event loop; a project's copy of the
    // firmware's sys.lua would block in rtos.receive, so ours wins for these names.
    if (RUNTIME_FIRST.has(name)) {
      const own = join(this.library, `${name}.lua`);
      if (existsSync(own)) return { path: own };
    }
    const candidates = [`${name.replace(/\./g, "/")}.lua`, `${name}.lua`, `${name}.lc`];
    for (const candidate of candidates) {
      const path = this.resolveProjectFile(candidate);
      if (path) return { path };
    }
    const libraryPath = join(this.library, `${name.replace(/\./g, "/")}.lua`);
    if (existsSync(libraryPath)) return { path: libraryPath };
    return { tried: [...new Set(candidates)].map((c) => `no file '${c}' in the project`).concat(`no file '${name}.lua' in moonrig's lua/ library`) };
  }

  install(board: Board): void {
    const L = board.L;
    for (const root of this.roots) root.notice ??= (line) => board.host.stderr(line);
    lua.lua_pushjsfunction(L, dofile);
    lua.lua_setglobal(L, "dofile");
    lua.lua_pushjsfunction(L, loadfile);
    lua.lua_setglobal(L, "loadfile");

    lua.lua_getglobal(L, "package");
    // The device has no C modules and one flat file system: keep the preload searcher and
    // replace the rest with one that searches the project, then moonrig's library.
    lua.lua_createtable(L, 2, 0);
    lua.lua_getfield(L, -2, "searchers");
    lua.lua_rawgeti(L, -1, 1);
    lua.lua_rawseti(L, -3, 1);
    lua.lua_pop(L, 1);
    lua.lua_pushjsfunction(L, searcher);
    lua.lua_rawseti(L, -2, 2);
    lua.lua_setfield(L, -2, "searchers");
    lua.lua_pushstring(L, bytesOf("?.lua;?.lc"));
    lua.lua_setfield(L, -2, "path");
    lua.lua_pushstring(L, bytesOf(""));
    lua.lua_setfield(L, -2, "cpath");
    // fengari's loadlib runs any JavaScript file of the PC; the firmwares build no C
    // loaders (NodeMCU's LUA_NODEMCU_NOCLOADERS), so it goes. searchpath looks where
    // require does, not on the PC.
    lua.lua_pushnil(L);
    lua.lua_setfield(L, -2, "loadlib");
    lua.lua_pushjsfunction(L, searchpath);
    lua.lua_setfield(L, -2, "searchpath");
    lua.lua_pop(L, 1);
  }
}

const loaders = new WeakMap<Board, Loader>();

export function attachLoader(board: Board, loader: Loader): void {
  loaders.set(board, loader);
  loader.install(board);
}

/**
 * Whether the project carries its own Lua module `name`: a firmware build running such a
 * project leaves out the C module of that name, so the global must not shadow the file.
 */
export function projectProvides(board: Board, name: string): boolean {
  const loader = loaders.get(board);
  try {
    return loader !== undefined && [`${name}.lua`, `${name}.lc`].some((file) => loader.resolveProjectFile(file) !== undefined);
  } catch (error) {
    if (error instanceof ProjectError) return true;
    throw error;
  }
}

function loaderOf(L: LuaState): Loader {
  return loaders.get(boardOf(L)) as Loader;
}

/** Resolves a path for dofile/loadfile; a Lua error for escapes or ambiguity. */
function resolveOrRaise(L: LuaState, path: string): string | undefined {
  try {
    return loaderOf(L).resolveProjectFile(path);
  } catch (error) {
    if (error instanceof ProjectError) return lauxlib.luaL_error(L, "%s", bytesOf(error.message));
    throw error;
  }
}

/** Per run, the .lc names already said to be compiled from their .lua. */
const compiledNotices = new WeakMap<object, Set<string>>();

/**
 * A script that loads X.lc made by node.compile on the device, in a project that keeps
 * only X.lua: X.lua is compiled in its place (what node.compile would have written), said once.
 */
function sourceForCompiled(L: LuaState, path: string): string | undefined {
  if (!path.endsWith(".lc")) return undefined;
  const sourceName = `${path.slice(0, -".lc".length)}.lua`;
  const source = resolveOrRaise(L, sourceName);
  if (source === undefined) return undefined;
  const board = boardOf(L);
  const runtime = board.host.runtime;
  const said = compiledNotices.get(runtime) ?? new Set<string>();
  compiledNotices.set(runtime, said);
  if (!said.has(path)) {
    said.add(path);
    board.host.stderr(`moonrig: ${path} is not in the project: compiled ${sourceName} in its place\n`);
  }
  return source;
}

function loadProjectFile(L: LuaState, path: string): number {
  const file = resolveOrRaise(L, path) ?? sourceForCompiled(L, path);
  if (!file) {
    lua.lua_pushstring(L, bytesOf(`cannot open ${path}`));
    return lua.LUA_ERRRUN;
  }
  return loadFile(L, file);
}

const dofile = (L: LuaState): number => {
  const path = checkText(L, 1);
  lua.lua_settop(L, 1);
  if (loadProjectFile(L, path) !== lua.LUA_OK) return lua.lua_error(L);
  lua.lua_call(L, 0, lua.LUA_MULTRET);
  return lua.lua_gettop(L) - 1;
};

const loadfile = (L: LuaState): number => {
  const path = checkText(L, 1);
  if (loadProjectFile(L, path) !== lua.LUA_OK) {
    lua.lua_pushnil(L);
    lua.lua_insert(L, -2);
    return 2;
  }
  return 1;
};

/** package.searchpath(name, path[, sep[, rep]]) over the project, as Lua words its answer. */
const searchpath = (L: LuaState): number => {
  const name = checkText(L, 1);
  const templates = checkText(L, 2);
  const separator = lua.lua_isnoneornil(L, 3) ? "." : checkText(L, 3);
  const replacement = lua.lua_isnoneornil(L, 4) ? "/" : checkText(L, 4);
  const key = separator === "" ? name : name.split(separator).join(replacement);
  const tried: string[] = [];
  for (const template of templates.split(";")) {
    if (template === "") continue;
    const candidate = template.split("?").join(key);
    if (resolveOrRaise(L, candidate) !== undefined) {
      lua.lua_pushstring(L, bytesOf(candidate));
      return 1;
    }
    tried.push(`\n\tno file '${candidate}'`);
  }
  lua.lua_pushnil(L);
  lua.lua_pushstring(L, bytesOf(tried.join("")));
  return 2;
};

const searcher = (L: LuaState): number => {
  const name = checkText(L, 1);
  const board = boardOf(L);
  if (board.hasNativeModule(name)) {
    lua.lua_pushjsfunction(L, (L1) => {
      board.pushModule(L1, name);
      return 1;
    });
    lua.lua_pushstring(L, bytesOf(`:${name}`));
    return 2;
  }
  let found;
  try {
    found = loaderOf(L).findModule(name);
  } catch (error) {
    // Positioned at the script's require call, not at require itself.
    if (error instanceof ProjectError) return raiseAt(L, 2, error.message);
    throw error;
  }
  if ("tried" in found) {
    lua.lua_pushstring(L, bytesOf(found.tried.map((line) => `\n\t${line}`).join("")));
    return 1;
  }
  if (loadFile(L, found.path) !== lua.LUA_OK) {
    const message = textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array());
    return lauxlib.luaL_error(L, "%s", bytesOf(`error loading module '${name}' from file '${basename(found.path)}':\n\t${message}`));
  }
  lua.lua_pushstring(L, bytesOf(basename(found.path)));
  return 2;
};
