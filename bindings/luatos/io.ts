// The LuatOS firmware's `io`: files opened on the device's roots (device-files.ts), byte
// for byte (fengari ships no io.open at all), and the firmware's additions (exists,
// fileSize, readFile, writeFile, mkdir, rmdir, lsdir, fsstat, ...).
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, rmdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { lua, bytesOf, pushBytes, pushText, pushUserdata, testUserdata, setConstants, setFunctions, textOf, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, optInteger, raise, typeError } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { isDirectory, isFile, Project } from "../../runtime/project.js";
import { deviceTarget, ensureFlashRoot, flashDirOf, flashOf, isLink, projectOf, readDeviceFile, readablePath, writeDeviceFile } from "./device-files.js";

const FILE_METATABLE = "moonrig.luatos.FILE*";
export const EROFS = 30;
export const ENOENT = 2;
const EBADF = 9;
export const EINVAL = 22;

class DeviceFile {
  position = 0;
  /** The firmware's inline files (/lua/) clamp a seek to their bounds instead of failing. */
  clamps = false;
  private fd: number | undefined;
  private forget: (() => void) | undefined;

  constructor(fd: number, readonly readable: boolean, readonly writable: boolean, readonly append: boolean, board: Board) {
    this.fd = fd;
    this.forget = board.own(() => this.close());
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  close(): boolean {
    if (this.fd === undefined) return false;
    try {
      closeSync(this.fd);
    } catch {
      // Already gone with the process' descriptor table: nothing left to release.
    }
    this.fd = undefined;
    this.forget?.();
    this.forget = undefined;
    return true;
  }

  size(): number {
    return this.fd === undefined ? 0 : fstatSync(this.fd).size;
  }

  readAt(n: number): Uint8Array {
    if (this.fd === undefined || !this.readable || n <= 0) return new Uint8Array(0);
    const buffer = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buffer, got, n - got, this.position + got);
      if (r <= 0) break;
      got += r;
    }
    this.position += got;
    return buffer.subarray(0, got);
  }

  atEnd(): boolean {
    return this.position >= this.size();
  }

  write(bytes: Uint8Array): boolean {
    if (this.fd === undefined || !this.writable) return false;
    if (this.append) this.position = this.size();
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset, this.position + offset);
    this.position += bytes.length;
    return true;
  }
}

export function pushFailure(L: LuaState, message: string, errno: number): number {
  lua.lua_pushnil(L);
  pushText(L, message);
  lua.lua_pushinteger(L, errno);
  return 3;
}

function toFile(L: LuaState): DeviceFile {
  const file = testUserdata<DeviceFile>(L, 1, FILE_METATABLE);
  if (!file) return typeError(L, 1, "FILE*");
  if (file.closed) return raise(L, "attempt to use a closed file");
  return file;
}

/** Mode strings as C's fopen accepts them: [rwa]+?b* */
function parseMode(mode: string): { flags: string; readable: boolean; writable: boolean; append: boolean; create: boolean } | undefined {
  const match = /^([rwa])(\+?)b*$/.exec(mode);
  if (!match) return undefined;
  const plus = match[2] === "+";
  switch (match[1]) {
    case "r": return { flags: plus ? "r+" : "r", readable: true, writable: plus, append: false, create: false };
    case "w": return { flags: plus ? "w+" : "w", readable: plus, writable: true, append: false, create: true };
    default: return { flags: plus ? "a+" : "a", readable: plus, writable: true, append: true, create: true };
  }
}

/** Opens a device file; pushes the file or (nil, message, errno) and returns the count. */
function openDeviceFile(L: LuaState, name: string, modeText: string): number {
  const mode = parseMode(modeText);
  if (!mode) return argError(L, 2, "invalid mode");
  const target = deviceTarget(L, name);
  if (target.kind === "luadb") {
    if (mode.writable) return pushFailure(L, `${name}: Read-only file system`, EROFS);
    if (target.path === undefined || !isFile(target.path)) return pushFailure(L, `${name}: No such file or directory`, ENOENT);
  } else if (target.kind === "outside") {
    return pushFailure(L, `${name}: No such file or directory`, ENOENT);
  } else if (target.rest === "" || isDirectory(target.path)) {
    return pushFailure(L, `${name}: Is a directory`, 21);
  }
  const board = boardOf(L);
  let fd: number;
  try {
    if (mode.create) ensureFlashRoot(board);
    fd = openSync(target.path as string, mode.flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return pushFailure(L, `${name}: No such file or directory`, ENOENT);
    return pushFailure(L, `${name}: ${code ?? "I/O error"}`, EINVAL);
  }
  const file = new DeviceFile(fd, mode.readable, mode.writable, mode.append, board);
  file.clamps = target.kind === "luadb" && target.inline === true;
  pushUserdata(L, file, FILE_METATABLE);
  return 1;
}

const ioOpen: LuaJsFunction = (L) => {
  const name = textOf(checkBytes(L, 1));
  const mode = lua.lua_isnoneornil(L, 2) ? "r" : textOf(checkBytes(L, 2));
  return openDeviceFile(L, name, mode);
};

const NEWLINE = 0x0a;

/** Reads up to and including the next newline (or to the end); null at the end. */
function readLine(file: DeviceFile, keepNewline: boolean): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = file.readAt(256);
    if (chunk.length === 0) break;
    const at = chunk.indexOf(NEWLINE);
    if (at >= 0) {
      // Give back what was read past the newline.
      file.position -= chunk.length - at - 1;
      parts.push(chunk.subarray(0, keepNewline ? at + 1 : at));
      total += keepNewline ? at + 1 : at;
      const line = Buffer.concat(parts, total);
      return line;
    }
    parts.push(chunk);
    total += chunk.length;
  }
  if (total === 0) return null;
  return Buffer.concat(parts, total);
}

/** Reads a numeral as C Lua's read_number does (at most 200 characters) and converts it. */
function readNumber(L: LuaState, file: DeviceFile): boolean {
  let text = "";
  for (;;) {
    const c = file.readAt(1);
    if (c.length === 0) break;
    const ch = String.fromCharCode(c[0] as number);
    if (text === "" && /\s/.test(ch)) continue;
    if (!/[0-9a-fA-FxX.+\-pP]/.test(ch) || text.length >= 200) {
      file.position -= 1;
      break;
    }
    text += ch;
  }
  if (text !== "" && lua.lua_stringtonumber(L, bytesOf(text)) !== 0) return true;
  lua.lua_pushnil(L);
  return false;
}

function readFormats(L: LuaState, file: DeviceFile, first: number): number {
  const nargs = lua.lua_gettop(L) - first + 1;
  if (nargs <= 0) {
    const line = readLine(file, false);
    if (line) pushBytes(L, line);
    else lua.lua_pushnil(L);
    return 1;
  }
  let pushed = 0;
  for (let arg = first; arg < first + nargs; arg++) {
    let ok: boolean;
    if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
      const n = checkInteger(L, arg);
      if (n <= 0) {
        ok = !file.atEnd();
        pushBytes(L, new Uint8Array(0));
      } else {
        const bytes = file.readAt(n);
        ok = bytes.length > 0;
        pushBytes(L, bytes);
      }
    } else {
      const format = textOf(checkBytes(L, arg)).replace(/^\*/, "");
      switch (format[0]) {
        case "n":
          ok = readNumber(L, file);
          break;
        case "l":
        case "L": {
          const line = readLine(file, format[0] === "L");
          ok = line !== null;
          pushBytes(L, line ?? new Uint8Array(0));
          break;
        }
        case "a":
          pushBytes(L, file.readAt(Math.max(0, file.size() - file.position)));
          ok = true;
          break;
        default:
          return argError(L, arg, "invalid format");
      }
    }
    pushed++;
    if (!ok) {
      lua.lua_pop(L, 1);
      lua.lua_pushnil(L);
      break;
    }
  }
  return pushed;
}

const fRead: LuaJsFunction = (L) => {
  const file = toFile(L);
  if (!file.readable) return pushFailure(L, "Bad file descriptor", EBADF);
  return readFormats(L, file, 2);
};

const fWrite: LuaJsFunction = (L) => {
  const file = toFile(L);
  const n = lua.lua_gettop(L);
  const parts: Uint8Array[] = [];
  for (let i = 2; i <= n; i++) parts.push(checkBytes(L, i));
  try {
    for (const part of parts) {
      if (!file.write(part)) return pushFailure(L, "Bad file descriptor", EBADF);
    }
  } catch (error) {
    return pushFailure(L, (error as Error).message, EINVAL);
  }
  lua.lua_pushvalue(L, 1);
  return 1;
};

const WHENCES = ["set", "cur", "end"] as const;

/**
 * f:seek([whence[, offset]]) as in Lua; also the (offset, io.SEEK_*) order the LuatOS
 * documentation shows, so scripts written from it work.
 */
const fSeek: LuaJsFunction = (L) => {
  const file = toFile(L);
  let whence: (typeof WHENCES)[number] = "cur";
  let offset = 0;
  if (lua.lua_type(L, 2) === lua.LUA_TNUMBER) {
    offset = checkInteger(L, 2);
    const w = lua.lua_type(L, 3) === lua.LUA_TNUMBER ? lua.lua_tointeger(L, 3) : lua.lua_type(L, 3) === lua.LUA_TSTRING ? WHENCES.indexOf(textOf(checkBytes(L, 3)) as (typeof WHENCES)[number]) : 0;
    whence = WHENCES[w] ?? "set";
  } else {
    if (!lua.lua_isnoneornil(L, 2)) {
      const name = textOf(checkBytes(L, 2));
      if (!(WHENCES as readonly string[]).includes(name)) return argError(L, 2, `invalid option '${name}'`);
      whence = name as (typeof WHENCES)[number];
    }
    offset = optInteger(L, 3, 0);
  }
  const base = whence === "set" ? 0 : whence === "cur" ? file.position : file.size();
  let position = base + offset;
  if (file.clamps) position = Math.min(Math.max(0, position), file.size());
  if (position < 0) return pushFailure(L, "Invalid argument", EINVAL);
  file.position = position;
  lua.lua_pushinteger(L, position);
  return 1;
};

const fClose: LuaJsFunction = (L) => {
  toFile(L).close();
  lua.lua_pushboolean(L, true);
  return 1;
};

const fFlush: LuaJsFunction = (L) => {
  toFile(L);
  lua.lua_pushboolean(L, true);
  return 1;
};

const fSetvbuf: LuaJsFunction = (L) => {
  toFile(L);
  lua.lua_pushboolean(L, true);
  return 1;
};

/** A lines iterator over the file at stack index 1 with the read formats after it. */
function pushLinesIterator(L: LuaState, file: DeviceFile, formatsFrom: number, closeAtEnd: boolean): void {
  const formats: Uint8Array[] = [];
  const numbers: Array<number | undefined> = [];
  for (let i = formatsFrom; i <= lua.lua_gettop(L); i++) {
    if (lua.lua_type(L, i) === lua.LUA_TNUMBER) {
      numbers.push(lua.lua_tointeger(L, i));
      formats.push(new Uint8Array(0));
    } else {
      numbers.push(undefined);
      formats.push(checkBytes(L, i));
    }
  }
  lua.lua_pushjsfunction(L, (L1) => {
    if (file.closed) return raise(L1, "file is already closed");
    lua.lua_settop(L1, 0);
    lua.lua_pushnil(L1);
    formats.forEach((format, i) => {
      const n = numbers[i];
      if (n !== undefined) lua.lua_pushinteger(L1, n);
      else pushBytes(L1, format);
    });
    const count = readFormats(L1, file, 2);
    const first = lua.lua_gettop(L1) - count + 1;
    if (lua.lua_isnil(L1, first) && closeAtEnd) file.close();
    return count;
  });
}

const fLines: LuaJsFunction = (L) => {
  const file = toFile(L);
  pushLinesIterator(L, file, 2, false);
  return 1;
};

/** f:fill(buff[, offset[, len]]): reads into a zbuff without moving the zbuff's cursor. */
const fFill: LuaJsFunction = (L) => {
  const file = toFile(L);
  const target = fillTarget?.(L, 2);
  if (!target) return 0;
  const offset = lua.lua_isinteger(L, 3) ? lua.lua_tointeger(L, 3) : 0;
  let len = lua.lua_isinteger(L, 4) ? Math.min(lua.lua_tointeger(L, 4), target.length - offset) : target.length - offset;
  if (offset < 0 || offset > target.length) len = 0;
  const bytes = file.readAt(Math.max(0, len));
  target.set(bytes, Math.max(0, offset));
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, bytes.length);
  return 2;
};

/** Set by zbuff.ts: the writable bytes of the zbuff at idx (zbuff would import stdlib). */
let fillTarget: ((L: LuaState, idx: number) => Uint8Array | undefined) | undefined;

export function setZbuffAccessor(accessor: (L: LuaState, idx: number) => Uint8Array | undefined): void {
  fillTarget = accessor;
}

const fGc: LuaJsFunction = (L) => {
  testUserdata<DeviceFile>(L, 1, FILE_METATABLE)?.close();
  return 0;
};

let fileIds = 0;
const fileNames = new WeakMap<DeviceFile, number>();

const fTostring: LuaJsFunction = (L) => {
  const file = testUserdata<DeviceFile>(L, 1, FILE_METATABLE);
  if (!file || file.closed) {
    pushText(L, "file (closed)");
    return 1;
  }
  let id = fileNames.get(file);
  if (id === undefined) {
    id = 0x20001000 + 0x40 * ++fileIds;
    fileNames.set(file, id);
  }
  pushText(L, `file (0x${id.toString(16).padStart(8, "0")})`);
  return 1;
};

const fileMethods: Record<string, LuaJsFunction> = {
  read: fRead, write: fWrite, seek: fSeek, close: fClose, flush: fFlush, setvbuf: fSetvbuf, lines: fLines, fill: fFill,
};

function registerFileMetatable(L: LuaState): void {
  lua.lua_createtable(L, 0, 4);
  pushText(L, "FILE*");
  lua.lua_setfield(L, -2, "__name");
  lua.lua_createtable(L, 0, Object.keys(fileMethods).length);
  setFunctions(L, -1, fileMethods);
  lua.lua_setfield(L, -2, "__index");
  setFunctions(L, -1, { __gc: fGc, __tostring: fTostring });
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, FILE_METATABLE);
}

/** Calls the io function that was there before this module replaced it. */
function callOriginal(L: LuaState, name: string): number {
  const n = lua.lua_gettop(L);
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, originalKey(name));
  if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) return 0;
  lua.lua_insert(L, 1);
  lua.lua_call(L, n, lua.LUA_MULTRET);
  return lua.lua_gettop(L);
}

const ioType: LuaJsFunction = (L) => {
  const file = testUserdata<DeviceFile>(L, 1, FILE_METATABLE);
  if (file) {
    pushText(L, file.closed ? "closed file" : "file");
    return 1;
  }
  return callOriginal(L, "type");
};

const ioClose: LuaJsFunction = (L) => {
  if (testUserdata<DeviceFile>(L, 1, FILE_METATABLE)) return fClose(L);
  return callOriginal(L, "close");
};

const ioLines: LuaJsFunction = (L) => {
  const name = textOf(checkBytes(L, 1));
  const opened = openDeviceFile(L, name, "r");
  if (opened !== 1) return raise(L, textOf(lua.lua_tolstring(L, -2) ?? bytesOf(name)));
  const file = testUserdata<DeviceFile>(L, -1, FILE_METATABLE) as DeviceFile;
  lua.lua_replace(L, 1);
  pushLinesIterator(L, file, 2, true);
  return 1;
};

const ioExists: LuaJsFunction = (L) => {
  lua.lua_pushboolean(L, readablePath(L, textOf(checkBytes(L, 1))) !== undefined);
  return 1;
};

const ioFileSize: LuaJsFunction = (L) => {
  // luat_fs_fsize answers 0 for a missing file or a directory.
  const path = readablePath(L, textOf(checkBytes(L, 1)));
  const stats = path === undefined ? undefined : statSync(path);
  lua.lua_pushinteger(L, stats?.isFile() ? stats.size : 0);
  return 1;
};

/** io.readFile(path[, mode = "rb"[, offset = 0[, len]]]) → bytes, or nothing when absent. */
const ioReadFile: LuaJsFunction = (L) => {
  const name = textOf(checkBytes(L, 1));
  if (!lua.lua_isnoneornil(L, 2)) checkBytes(L, 2);
  const offset = optInteger(L, 3, 0);
  const len = lua.lua_isnoneornil(L, 4) ? Infinity : checkInteger(L, 4);
  const bytes = readDeviceFile(L, name, offset, len);
  if (!bytes) return 0;
  pushBytes(L, bytes);
  return 1;
};

/** io.writeFile(path, data[, mode = "wb+"]) → true, or false when it cannot be written. */
const ioWriteFile: LuaJsFunction = (L) => {
  const name = textOf(checkBytes(L, 1));
  const data = checkBytes(L, 2);
  const mode = lua.lua_isnoneornil(L, 3) ? "wb+" : textOf(checkBytes(L, 3));
  lua.lua_pushboolean(L, writeDeviceFile(L, name, data, mode.startsWith("a")));
  return 1;
};

function pushResult(L: LuaState, ok: boolean): number {
  lua.lua_pushboolean(L, ok);
  lua.lua_pushinteger(L, ok ? 0 : -1);
  return 2;
}

const ioMkdir: LuaJsFunction = (L) => {
  const target = deviceTarget(L, textOf(checkBytes(L, 1)));
  if (target.kind !== "flash" || target.rest === "") return pushResult(L, false);
  try {
    ensureFlashRoot(boardOf(L));
    mkdirSync(target.path);
    return pushResult(L, true);
  } catch {
    return pushResult(L, false);
  }
};

const ioRmdir: LuaJsFunction = (L) => {
  const target = deviceTarget(L, textOf(checkBytes(L, 1)));
  if (target.kind !== "flash" || target.rest === "") return pushResult(L, false);
  try {
    rmdirSync(target.path);
    return pushResult(L, true);
  } catch {
    return pushResult(L, false);
  }
};

const ioDexist: LuaJsFunction = (L) => {
  const target = deviceTarget(L, textOf(checkBytes(L, 1)));
  lua.lua_pushboolean(L, target.kind === "luadb" ? target.rest === "" : target.kind === "flash" && isDirectory(target.path));
  return 1;
};

/** Files the runtime keeps in the flash folder for itself, hidden from listings. */
export const PRIVATE_FLASH_FILES = new Set([".fskv", ".fskv.tmp"]);

/** The /luadb/ listing: the project seen flat, as resolveDevicePath finds its files. */
function listProjectFlat(project: Project): Array<{ name: string; size: number }> {
  return project.entries().flatMap(({ name, path }) => {
    try {
      return [{ name, size: statSync(path).size }];
    } catch {
      return [];
    }
  });
}

/** io.lsdir(path[, max = 10 (at most 100)[, offset = 0]]) → true, {{name, type, size}, ...} */
const ioLsdir: LuaJsFunction = (L) => {
  const board = boardOf(L);
  const target = deviceTarget(L, textOf(checkBytes(L, 1)));
  let max = optInteger(L, 2, 10);
  if (max < 0) max = 10;
  max = Math.min(max, 100);
  const offset = Math.max(0, optInteger(L, 3, 0));
  let entries: Array<{ name: string; type: number; size: number }>;
  if (target.kind === "luadb") {
    if (target.rest !== "") return pushResult(L, false);
    entries = listProjectFlat(projectOf(board)).map((e) => ({ ...e, type: 0 }));
  } else if (target.kind === "outside") {
    return pushResult(L, false);
  } else {
    let names: string[];
    try {
      names = readdirSync(target.path).sort();
    } catch {
      return pushResult(L, false);
    }
    entries = [];
    for (const name of names) {
      if (target.rest === "" && PRIVATE_FLASH_FILES.has(name)) continue;
      const path = join(target.path, name);
      // Listed only where it stays inside: a link to /etc is not part of the device.
      if (isLink(path) && flashOf(board).contain(path) === undefined) continue;
      try {
        const stats = statSync(path);
        entries.push({ name, type: stats.isDirectory() ? 1 : 0, size: stats.isDirectory() ? 0 : stats.size });
      } catch {
        // Vanished while listing.
      }
    }
  }
  const page = entries.slice(offset, offset + max);
  lua.lua_pushboolean(L, true);
  lua.lua_createtable(L, page.length, 0);
  page.forEach((entry, i) => {
    lua.lua_createtable(L, 0, 3);
    lua.lua_pushinteger(L, entry.type);
    lua.lua_setfield(L, -2, "type");
    pushText(L, entry.name);
    lua.lua_setfield(L, -2, "name");
    lua.lua_pushinteger(L, entry.size);
    lua.lua_setfield(L, -2, "size");
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 2;
};

const ioLsmount: LuaJsFunction = (L) => {
  lua.lua_createtable(L, 2, 0);
  [["/", "lfs2"], ["/luadb", "luadb"]].forEach(([path, fs], i) => {
    lua.lua_createtable(L, 0, 2);
    pushText(L, path as string);
    lua.lua_setfield(L, -2, "path");
    pushText(L, fs as string);
    lua.lua_setfield(L, -2, "fs");
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

const FS_BLOCK = 4096;
const FS_BLOCKS = 112;

/** io.fsstat([path]) → true, total blocks, used blocks, block size, type (a 448 KiB littlefs). */
const ioFsstat: LuaJsFunction = (L) => {
  const board = boardOf(L);
  const target = deviceTarget(L, lua.lua_isnoneornil(L, 1) ? "/" : textOf(checkBytes(L, 1)));
  let used = 2;
  if (target.kind === "flash") {
    try {
      for (const name of readdirSync(flashDirOf(board))) {
        const stats = lstatSync(join(flashDirOf(board), name));
        if (stats.isFile()) used += Math.ceil(stats.size / FS_BLOCK);
      }
    } catch {
      // No flash folder yet: an empty file system.
    }
  }
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, FS_BLOCKS);
  lua.lua_pushinteger(L, Math.min(FS_BLOCKS, used));
  lua.lua_pushinteger(L, FS_BLOCK);
  pushText(L, target.kind === "luadb" ? "luadb" : "lfs");
  return 5;
};

/** Formatting would erase a folder on the PC: refused, with a notice. */
const ioMkfs: LuaJsFunction = (L) => {
  const board = boardOf(L);
  board.host.stderr(`moonrig: io.mkfs() ignored: it would erase ${flashDirOf(board)}\n`);
  return pushResult(L, false);
};

const ioFunctions: Record<string, LuaJsFunction> = {
  open: ioOpen, lines: ioLines, type: ioType, close: ioClose,
  exists: ioExists, fileSize: ioFileSize, fsize: ioFileSize, readFile: ioReadFile, writeFile: ioWriteFile,
  mkdir: ioMkdir, rmdir: ioRmdir, dexist: ioDexist, lsdir: ioLsdir, lsmount: ioLsmount, fsstat: ioFsstat, mkfs: ioMkfs,
};

const originalKey = (name: string): string => `moonrig.luatos.io.${name}`;

/** Puts the firmware's io into Lua's io table, keeping fengari's type and close for non-device files. */
export function installIo(L: LuaState): void {
  registerFileMetatable(L);
  lua.lua_getglobal(L, "io");
  for (const name of ["type", "close"]) {
    lua.lua_getfield(L, -1, name);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, originalKey(name));
  }
  setFunctions(L, -1, ioFunctions);
  setConstants(L, -1, { FILE: 0, DIR: 1, SEEK_SET: 0, SEEK_CUR: 1, SEEK_END: 2 });
  lua.lua_pop(L, 1);
}
