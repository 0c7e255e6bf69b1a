// NodeMCU's Lua Flash Store (node.LFS). The firmware's image is built by luac.cross from
// .lua files; here the image is a folder of them (--lfs DIR, the `lfs` option, or the
// project's lfs/ folder), one module per file, named after the file without `.lua`.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { lua, lauxlib, bytesOf, pushText, textOf, type LuaState } from "../../engine/lua.js";
import { checkText } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { loadChunk } from "../../runtime/loader.js";
import { isDirectory, Project } from "../../runtime/project.js";
import type { Runtime } from "../../runtime/runtime.js";
import { onFlash } from "./file.js";

/** node.LFS.reload's choice, which outlives the reboot it causes; unset: the runtime's lfsDir. */
const reloaded = new WeakMap<Runtime, string>();

interface Image {
  dir: string;
  /** Module name -> host path, sorted by name. */
  modules: Map<string, string>;
  /** Newest modification of a module, in Unix seconds: luac.cross stamps the build time. */
  time: number;
  bytes: number;
}

/** The image of this boot, read once: the device maps it at boot and it does not change until a reload. */
const imageOf = perBoard((board: Board): Image | undefined => {
  const runtime = board.host.runtime;
  const dir = reloaded.get(runtime) ?? runtime.lfsDir;
  if (dir === undefined) return undefined;
  const modules = new Map<string, string>();
  let time = 0;
  let bytes = 0;
  for (const { name, path } of new Project(dir).entries()) {
    if (!name.endsWith(".lua")) continue;
    modules.set(name.slice(0, -".lua".length), path);
    const stats = statSync(path);
    time = Math.max(time, Math.floor(stats.mtimeMs / 1000));
    bytes += stats.size;
  }
  return { dir, modules, time, bytes };
});

// Where the image sits in the flash address map: the firmware's default 128 KiB LFS partition.
const LFS_BASE = 0x80000;
const LFS_MAPPED = 0x40280000;
export const LFS_SIZE = 0x20000;

/**
 * Pushes the module's main function, or nil when there is no image or no such module.
 * A module that does not compile fails here, as luac.cross would have refused the image.
 */
function pushModule(L: LuaState, name: string | undefined): void {
  const path = name === undefined ? undefined : imageOf(boardOf(L))?.modules.get(name);
  if (path === undefined) {
    lua.lua_pushnil(L);
    return;
  }
  if (loadChunk(L, readFileSync(path), `@${name}.lua`) !== lua.LUA_OK) {
    lauxlib.luaL_error(L, "%s", bytesOf(`LFS module '${name}': ${textOf(lua.lua_tolstring(L, -1) ?? new Uint8Array())}`));
  }
}

function nameAt(L: LuaState, idx: number): string | undefined {
  const type = lua.lua_type(L, idx);
  return type === lua.LUA_TSTRING || type === lua.LUA_TNUMBER ? textOf(lua.lua_tolstring(L, idx) as Uint8Array) : undefined;
}

/** node.LFS.get(name) and node.flashindex(name). */
export const lfsGet = (L: LuaState): number => {
  pushModule(L, nameAt(L, 1));
  return 1;
};

/** node.LFS.list(): the sorted module names, nil without an image. */
const list = (L: LuaState): number => {
  const image = imageOf(boardOf(L));
  if (!image) {
    lua.lua_pushnil(L);
    return 1;
  }
  const names = [...image.modules.keys()].sort();
  lua.lua_createtable(L, names.length, 0);
  names.forEach((name, i) => {
    pushText(L, name);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

/** node.info("lfs") and node.LFS.config: the partition is there, used or not. */
export function pushConfig(L: LuaState): void {
  const image = imageOf(boardOf(L));
  lua.lua_createtable(L, 0, 4);
  const fields = { lfs_mapped: LFS_MAPPED, lfs_base: LFS_BASE, lfs_size: LFS_SIZE, lfs_used: image?.bytes ?? 0 };
  for (const [key, value] of Object.entries(fields)) {
    lua.lua_pushinteger(L, value);
    lua.lua_setfield(L, -2, key);
  }
}

/**
 * node.LFS.reload(image): `image` names a folder of .lua files on the flash, which becomes
 * the LFS from the next boot on; the device restarts at once, as node.restart() does.
 * Like luaL_lfsreload, a name that is not there answers "No LFS partition allocated".
 */
const reload = (L: LuaState): number => {
  const name = checkText(L, 1);
  const dir = onFlash(L, (flash) => {
    const relative = flash.confine(name);
    const path = relative === "" ? flash.root : join(flash.root, relative);
    return isDirectory(path) ? flash.contain(path) : undefined;
  });
  if (dir === undefined) {
    const isFile = onFlash(L, (flash) => flash.resolve(name)) !== undefined;
    pushText(L, isFile ? `${name}: moonrig's LFS images are folders of .lua files, not luac.cross images` : "No LFS partition allocated");
    return 1;
  }
  const board = boardOf(L);
  reloaded.set(board.host.runtime, dir);
  board.host.requestReboot(0);
  return 0;
};

/** node.LFS.<name>: config, time, else the module of that name (node.c node_lfs_func). */
const index = (L: LuaState): number => {
  const name = nameAt(L, 2);
  if (name === "config") pushConfig(L);
  else if (name === "time") lua.lua_pushinteger(L, imageOf(boardOf(L))?.time ?? 0);
  else pushModule(L, name);
  return 1;
};

/** Pushes the node.LFS table. */
export function pushLfsTable(L: LuaState): void {
  lua.lua_createtable(L, 0, 3);
  for (const [key, fn] of Object.entries({ get: lfsGet, list, reload })) {
    lua.lua_pushjsfunction(L, fn);
    lua.lua_setfield(L, -2, key);
  }
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushjsfunction(L, index);
  lua.lua_setfield(L, -2, "__index");
  lua.lua_setmetatable(L, -2);
}

/**
 * require finds LFS modules after the flash file system, where lua_examples/lfs/_init.lua
 * puts its loader (package.loaders[3]): a flash copy of a module wins, as on the device
 * whose _init installs that loader.
 */
export function installLfsSearcher(board: Board): void {
  const L = board.L;
  lua.lua_getglobal(L, "package");
  lua.lua_getfield(L, -1, "searchers");
  lua.lua_pushjsfunction(L, searcher);
  lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
  lua.lua_pop(L, 2);
}

const searcher = (L: LuaState): number => {
  const name = checkText(L, 1);
  const image = imageOf(boardOf(L));
  if (!image) return 0;
  if (!image.modules.has(name)) {
    pushText(L, `\n\tno module '${name}' in LFS`);
    return 1;
  }
  pushModule(L, name);
  pushText(L, `${name}.lua`);
  return 2;
};
