// NodeMCU `file`: the device's flash file system, simulated by a folder on the PC (the
// runtime's `fs` option, by default the project directory) seen flat, as the device sees
// its flash after an upload: `file.open("config.json")` finds conf/config.json. New files
// are created at the top of the folder. Contents cross into Lua as bytes, never as text.
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { lua, pushBytes, pushText, pushUserdata, testUserdata, textOf, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkOption, optInteger, optText, raise } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { Project, ProjectError } from "../../runtime/project.js";

const METATABLE = "file.obj";
/** SPIFFS object names hold at most 31 bytes. */
const NAME_MAX = 31;
const READ_CHUNK = 1024;
/** A 4 MB module's SPIFFS partition, as file.fscfg and file.fsinfo report it. */
const FS_ADDRESS = 0x100000;
const FS_SIZE = 0x300000;
const FS_TOTAL = 2_893_218;

/** The flash folder as one flat namespace of file names; `/FLASH/` is the volume's name. */
export class Flash extends Project {
  constructor(root: string, excluded: readonly string[] = []) {
    super(root, { place: "the flash folder", view: "flash", volume: /^\/FLASH(\/|$)/ }, excluded);
  }

  /**
   * Where writing to a device name goes: the existing file, else a new one at the top;
   * undefined when links lead the place outside the folder (the write then fails).
   */
  target(name: string): string | undefined {
    const existing = this.resolve(name);
    if (existing) return existing;
    const path = this.contain(join(this.root, this.confine(name)));
    if (path === undefined) return undefined;
    mkdirSync(dirname(path), { recursive: true });
    return path;
  }
}

/** The flash folder of this run: the runtime's `fs` option, else the project directory. */
export function flashRoot(board: Board): string {
  return board.host.runtime.flashDir;
}

export const flashOf = perBoard((board): Flash => {
  // LFS modules live in their own partition, not among the files.
  const lfs = board.host.runtime.lfsDir;
  const flash = new Flash(flashRoot(board), lfs === undefined ? [] : [lfs]);
  flash.notice = (line) => board.host.stderr(line);
  return flash;
});

/** A device file name argument: a string without NUL whose last part fits SPIFFS. */
export function checkFileName(L: LuaState, arg: number): string {
  const bytes = checkBytes(L, arg);
  const name = textOf(bytes);
  const last = name.slice(name.lastIndexOf("/") + 1);
  if (bytes.includes(0) || new TextEncoder().encode(last).length > NAME_MAX) argError(L, arg, "filename invalid");
  return name;
}

/** Runs a flash lookup, turning escapes and ambiguous names into Lua errors. */
export function onFlash<T>(L: LuaState, action: (flash: Flash) => T): T {
  try {
    return action(flashOf(boardOf(L)));
  } catch (error) {
    if (error instanceof ProjectError) return raise(L, error.message);
    throw error;
  }
}

// ---- open files ----

class FlashFile {
  position = 0;
  private forget: (() => void) | undefined;

  constructor(
    private fd: number | undefined,
    readonly readable: boolean,
    readonly writable: boolean,
    readonly append: boolean,
    board: Board,
  ) {
    this.forget = board.own(() => this.close());
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.forget?.();
    this.forget = undefined;
  }

  size(): number {
    return this.fd === undefined ? 0 : fstatSync(this.fd).size;
  }

  /** Up to n bytes from the position, stopping after `end` when given; null at EOF. */
  read(n: number, end: number | undefined): Uint8Array | null {
    if (this.fd === undefined || !this.readable) return null;
    const buffer = Buffer.alloc(n);
    const got = readSync(this.fd, buffer, 0, n, this.position);
    let length = got;
    if (end !== undefined) {
      const at = buffer.subarray(0, got).indexOf(end);
      if (at >= 0) length = at + 1;
    }
    if (length === 0) return null;
    this.position += length;
    return buffer.subarray(0, length);
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

interface FileState {
  /** The file the module-level functions (file.read, file.write, ...) work on. */
  last: FlashFile | undefined;
}

const states = new WeakMap<Board, FileState>();

function stateOf(L: LuaState): FileState {
  const board = boardOf(L);
  let state = states.get(board);
  if (!state) {
    state = { last: undefined };
    states.set(board, state);
  }
  return state;
}

const MODES: Record<string, { flags: string; readable: boolean; writable: boolean; append: boolean; create: boolean }> = {
  r: { flags: "r", readable: true, writable: false, append: false, create: false },
  "r+": { flags: "r+", readable: true, writable: true, append: false, create: false },
  w: { flags: "w", readable: false, writable: true, append: false, create: true },
  "w+": { flags: "w+", readable: true, writable: true, append: false, create: true },
  a: { flags: "a", readable: false, writable: true, append: true, create: true },
  "a+": { flags: "a+", readable: true, writable: true, append: true, create: true },
};

/**
 * The file a function works on: a file object as argument 1 (method call), else the last
 * file opened. Returns it with the position of the first real argument; null when the
 * last file has been closed (the firmware then fails quietly, returning nil).
 */
function fileArg(L: LuaState): [FlashFile | null, number] {
  const object = testUserdata<FlashFile>(L, 1, METATABLE);
  if (object) {
    if (!object.open) raise(L, "open a file first");
    return [object, 2];
  }
  const last = stateOf(L).last;
  if (!last) raise(L, "open a file first");
  return [last.open ? last : null, 1];
}

const open = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  const mode = MODES[optText(L, 2, "r").replace("b", "")];
  const board = boardOf(L);
  const state = stateOf(L);
  const path = onFlash(L, (flash) => (mode?.create ? flash.target(name) : flash.resolve(name)));
  if (!mode || path === undefined) {
    lua.lua_pushnil(L);
    return 1;
  }
  let fd: number;
  try {
    fd = openSync(path, mode.flags);
  } catch {
    lua.lua_pushnil(L);
    return 1;
  }
  if (mode.create) flashOf(board).changed();
  const file = new FlashFile(fd, mode.readable, mode.writable, mode.append, board);
  state.last = file;
  pushUserdata(L, file, METATABLE);
  return 1;
};

const close = (L: LuaState): number => {
  const object = testUserdata<FlashFile>(L, 1, METATABLE);
  if (object) object.close();
  else stateOf(L).last?.close();
  return 0;
};

function pushRead(L: LuaState, file: FlashFile | null, n: number, end: number | undefined): number {
  const bytes = file?.read(n, end) ?? null;
  if (bytes) pushBytes(L, bytes);
  else lua.lua_pushnil(L);
  return 1;
}

const read = (L: LuaState): number => {
  const [file, arg] = fileArg(L);
  let n = READ_CHUNK;
  let end: number | undefined;
  if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) {
    n = lua.lua_tointeger(L, arg);
    if (n <= 0) n = READ_CHUNK;
  } else if (lua.lua_type(L, arg) === lua.LUA_TSTRING) {
    const stop = lua.lua_tolstring(L, arg) as Uint8Array;
    if (stop.length !== 1) raise(L, "wrong arg range");
    end = stop[0];
  }
  return pushRead(L, file, n, end);
};

const readline = (L: LuaState): number => {
  const [file] = fileArg(L);
  return pushRead(L, file, READ_CHUNK, 0x0a);
};

function pushWrite(L: LuaState, file: FlashFile | null, bytes: Uint8Array): number {
  if (file?.write(bytes)) lua.lua_pushboolean(L, true);
  else lua.lua_pushnil(L);
  return 1;
}

const write = (L: LuaState): number => {
  const [file, arg] = fileArg(L);
  return pushWrite(L, file, checkBytes(L, arg));
};

const writeline = (L: LuaState): number => {
  const [file, arg] = fileArg(L);
  const bytes = checkBytes(L, arg);
  const line = new Uint8Array(bytes.length + 1);
  line.set(bytes);
  line[bytes.length] = 0x0a;
  return pushWrite(L, file, line);
};

const seek = (L: LuaState): number => {
  const [file, arg] = fileArg(L);
  const whence = checkOption(L, arg, ["set", "cur", "end"] as const, "cur");
  const offset = optInteger(L, arg + 1, 0);
  if (!file) {
    lua.lua_pushnil(L);
    return 1;
  }
  const size = file.size();
  const base = whence === "set" ? 0 : whence === "cur" ? file.position : size;
  const position = base + offset;
  // SPIFFS refuses positions outside the file.
  if (position < 0 || position > size) {
    lua.lua_pushnil(L);
    return 1;
  }
  file.position = position;
  lua.lua_pushinteger(L, position);
  return 1;
};

/** Writes reach the folder at once, so there is nothing left to flush. */
const flush = (L: LuaState): number => {
  const [file] = fileArg(L);
  if (file) lua.lua_pushboolean(L, true);
  else lua.lua_pushnil(L);
  return 1;
};

// ---- whole files and the file system ----

const exists = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  lua.lua_pushboolean(L, onFlash(L, (flash) => flash.resolve(name)) !== undefined);
  return 1;
};

const remove = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  onFlash(L, (flash) => {
    const path = flash.resolve(name);
    if (path === undefined) return;
    try {
      unlinkSync(path);
    } catch {
      // The firmware ignores a failed remove.
    }
    flash.changed();
  });
  return 0;
};

const rename = (L: LuaState): number => {
  const from = checkFileName(L, 1);
  const to = checkFileName(L, 2);
  const done = onFlash(L, (flash) => {
    const source = flash.resolve(from);
    // SPIFFS will not rename over an existing file.
    if (source === undefined || flash.resolve(to) !== undefined) return false;
    const destination = flash.target(to);
    if (destination === undefined) return false;
    try {
      renameSync(source, destination);
    } catch {
      return false;
    } finally {
      flash.changed();
    }
    return true;
  });
  lua.lua_pushboolean(L, done);
  return 1;
};

const getcontents = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  const path = onFlash(L, (flash) => flash.resolve(name));
  let contents: Uint8Array | undefined;
  try {
    if (path !== undefined) contents = readFileSync(path);
  } catch {
    contents = undefined;
  }
  if (contents) pushBytes(L, contents);
  else lua.lua_pushnil(L);
  return 1;
};

const putcontents = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  const contents = checkBytes(L, 2);
  const done = onFlash(L, (flash) => {
    const path = flash.target(name);
    if (path === undefined) return false;
    try {
      writeFileSync(path, contents);
      return true;
    } catch {
      return false;
    } finally {
      flash.changed();
    }
  });
  if (done) lua.lua_pushboolean(L, true);
  else lua.lua_pushnil(L);
  return 1;
};

function usedBytes(flash: Flash): number {
  let used = 0;
  for (const { path } of flash.entries()) {
    try {
      used += statSync(path).size;
    } catch {
      // Vanished while counting.
    }
  }
  return used;
}

const fsinfo = (L: LuaState): number => {
  const used = Math.min(FS_TOTAL, onFlash(L, usedBytes));
  lua.lua_pushinteger(L, FS_TOTAL - used);
  lua.lua_pushinteger(L, used);
  lua.lua_pushinteger(L, FS_TOTAL);
  return 3;
};

const fscfg = (L: LuaState): number => {
  lua.lua_pushinteger(L, FS_ADDRESS);
  lua.lua_pushinteger(L, FS_SIZE);
  return 2;
};

const list = (L: LuaState): number => {
  const hasPattern = !lua.lua_isnoneornil(L, 1);
  if (hasPattern) checkBytes(L, 1);
  const entries = onFlash(L, (flash) => flash.entries());
  lua.lua_createtable(L, 0, entries.length);
  const table = lua.lua_gettop(L);
  for (const { name, path } of entries) {
    if (hasPattern) {
      // Matched with the script's string.match, as the firmware does.
      lua.lua_getglobal(L, "string");
      lua.lua_getfield(L, -1, "match");
      lua.lua_remove(L, -2);
      pushText(L, name);
      lua.lua_pushvalue(L, 1);
      lua.lua_call(L, 2, 1);
      const matched = !lua.lua_isnil(L, -1);
      lua.lua_pop(L, 1);
      if (!matched) continue;
    }
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      continue;
    }
    lua.lua_pushinteger(L, size);
    pushText(L, name);
    lua.lua_insert(L, -2);
    lua.lua_rawset(L, table);
  }
  return 1;
};

function setInteger(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

function setBoolean(L: LuaState, key: string, value: boolean): void {
  lua.lua_pushboolean(L, value);
  lua.lua_setfield(L, -2, key);
}

const stat = (L: LuaState): number => {
  const name = checkFileName(L, 1);
  const path = onFlash(L, (flash) => flash.resolve(name));
  let stats;
  try {
    stats = path === undefined ? undefined : statSync(path);
  } catch {
    stats = undefined;
  }
  if (!stats) {
    lua.lua_pushnil(L);
    return 1;
  }
  lua.lua_createtable(L, 0, 8);
  setInteger(L, "size", stats.size);
  pushText(L, onFlash(L, (flash) => flash.confine(name)));
  lua.lua_setfield(L, -2, "name");
  for (const flag of ["is_dir", "is_rdonly", "is_hidden", "is_sys", "is_arch"]) setBoolean(L, flag, false);
  // SPIFFS keeps no file times: file.c reports its FILE_TIMEDEF_* defaults (only FatFS,
  // via the rtc callback, sets tm_valid), whatever the host's mtime or the clock says.
  lua.lua_createtable(L, 0, 6);
  for (const [field, value] of [["year", 1970], ["mon", 1], ["day", 1], ["hour", 0], ["min", 0], ["sec", 0]] as const) setInteger(L, field, value);
  lua.lua_setfield(L, -2, "time");
  return 1;
};

/** Erasing the flash would erase the project folder on a PC: refused with a notice. */
const format = (L: LuaState): number => {
  const board = boardOf(L);
  board.host.stderr(`moonrig: file.format() ignored: it would erase ${flashOf(board).root}\n`);
  return 0;
};

const chdir = (L: LuaState): number => {
  const dir = textOf(checkBytes(L, 1));
  lua.lua_pushboolean(L, dir === "/" || dir === "/FLASH" || dir === "/FLASH/");
  return 1;
};

/** The RTC callback only stamps file times on the device; the PC has its own clock. */
const on = (L: LuaState): number => {
  checkOption(L, 1, ["rtc"] as const, "rtc");
  return 0;
};

const fileMethods = { close, read, readline, write, writeline, seek, flush };

export const file = defineModule("file", {
  functions: { ...fileMethods, open, list, exists, remove, rename, getcontents, putcontents, fsinfo, fscfg, stat, format, chdir, on },
  metatables: { [METATABLE]: { methods: fileMethods } },
});
