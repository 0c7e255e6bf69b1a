// The LuatOS device's two file roots, as the device has them:
//   /luadb/NAME   the uploaded project, read-only, seen flat (`/luadb/ca.crt` finds
//                 certs/ca.crt), because LuaTools flattens the project into the luadb image;
//   /lua/NAME     the firmware's built-in scripts (luat_fs_inline: its sys.lua and
//                 sysplus.lua), read-only: here the runtime's own lua/sys.lua and sysplus.lua;
//   anything else the writable flash file system: the runtime's flash folder (`fs` option,
//                 by default the project directory), with real directories.
// Every module that names a file (io, fskv, http, crypto, fota) resolves it here.
import { existsSync, lstatSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type LuaState } from "../../engine/lua.js";
import { raise } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { cString, isFile, Project, ProjectError } from "../../runtime/project.js";
import { libraryDir } from "../../runtime/loader.js";

/** What the firmware's inline file system (/lua/) holds. */
const INLINE_FILES = new Set(["sys.lua", "sysplus.lua"]);

export class DevicePathError extends Error {}

export type DeviceTarget =
  /** A project file under /luadb/, or a built-in one under /lua/ (read-only); `path` undefined when there is none. */
  | { readonly kind: "luadb"; readonly path: string | undefined; readonly rest: string; readonly inline?: true }
  /** A path in the writable flash folder (which may or may not exist), links resolved. */
  | { readonly kind: "flash"; readonly path: string; readonly rest: string }
  /** A flash path that symbolic links lead out of the folder: answered as missing. */
  | { readonly kind: "outside"; readonly path: undefined; readonly rest: string };

function projectDirOf(board: Board): string {
  return board.host.runtime.projectDirectory;
}

export const projectOf = perBoard((board): Project => withNotice(board, new Project(projectDirOf(board))));

/** The flash folder, for confining its paths (it is not seen flat). */
export const flashOf = perBoard((board): Project => withNotice(board, new Project(flashDirOf(board), { place: "the flash folder", view: "flash" })));

function withNotice(board: Board, project: Project): Project {
  project.notice = (line) => board.host.stderr(line);
  return project;
}

export function flashDirOf(board: Board): string {
  return board.host.runtime.flashDir;
}

/**
 * Maps a device path to the host. Segments are resolved the way the device would
 * ("/luadb/../x" is "/x"); a ".." that climbs above the device's root is refused.
 */
export function resolveDevicePath(board: Board, name: string): DeviceTarget {
  // The firmware hands the name to its C file system, which stops at a NUL byte.
  const devicePath = cString(name);
  const segments: string[] = [];
  for (const part of devicePath.split(/[/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (segments.length === 0) {
        const where = /^\/?luadb(\/|$)/.test(devicePath) ? "the project directory" : "the flash folder";
        throw new DevicePathError(`path '${devicePath}' is outside ${where}`);
      }
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  // The firmware mounts the inline file system at the prefix "/lua/": only that spelling.
  if (/^\/lua\//.test(devicePath) && segments[0] === "lua") {
    const rest = segments.slice(1).join("/");
    return { kind: "luadb", path: INLINE_FILES.has(rest) ? join(libraryDir, rest) : undefined, rest, inline: true };
  }
  if (segments[0] === "luadb") {
    const rest = segments.slice(1).join("/");
    if (rest === "") return { kind: "luadb", path: undefined, rest };
    let path: string | undefined;
    try {
      path = projectOf(board).resolve(rest);
    } catch (error) {
      if (error instanceof ProjectError) throw new DevicePathError(error.message);
      throw error;
    }
    return { kind: "luadb", path, rest };
  }
  const rest = segments.join("/");
  const path = flashOf(board).contain(rest === "" ? flashDirOf(board) : join(flashDirOf(board), ...segments));
  return path === undefined ? { kind: "outside", path, rest } : { kind: "flash", path, rest };
}

/** resolveDevicePath with escapes and ambiguous names raised as Lua errors. */
export function deviceTarget(L: LuaState, devicePath: string): DeviceTarget {
  try {
    return resolveDevicePath(boardOf(L), devicePath);
  } catch (error) {
    if (error instanceof DevicePathError) return raise(L, error.message);
    throw error;
  }
}

/** A readable file for a device path, or undefined. */
export function readablePath(L: LuaState, devicePath: string): string | undefined {
  const target = deviceTarget(L, devicePath);
  if (target.path === undefined || !isFile(target.path)) return undefined;
  return target.path;
}

export function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Reads a whole device file (or a slice); undefined when it cannot be read. */
export function readDeviceFile(L: LuaState, devicePath: string, offset = 0, length = Infinity): Uint8Array | undefined {
  const path = readablePath(L, devicePath);
  if (path === undefined) return undefined;
  try {
    const all = readFileSync(path);
    return all.subarray(Math.min(Math.max(0, offset), all.length), Math.min(all.length, Math.max(0, offset) + length));
  } catch {
    return undefined;
  }
}

/** Writes bytes to a device file in the flash folder; false for /luadb/ or an I/O failure. */
export function writeDeviceFile(L: LuaState, devicePath: string, data: Uint8Array, append = false): boolean {
  const target = deviceTarget(L, devicePath);
  if (target.kind !== "flash" || target.rest === "") return false;
  try {
    ensureFlashRoot(boardOf(L));
    writeFileSync(target.path, data, { flag: append ? "a" : "w" });
    return true;
  } catch {
    return false;
  }
}

/** The --fs folder may not exist yet: the device's root directory always does. */
export function ensureFlashRoot(board: Board): void {
  const root = flashDirOf(board);
  if (!existsSync(root)) mkdirSync(root, { recursive: true });
}
