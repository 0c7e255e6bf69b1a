// LuatOS `fskv`: the key-value store in its own 64 KiB flash partition. Values keep their
// type: strings (bytes), integers, floats (stored as 32-bit floats, as the firmware does
// with pack ">f"), booleans, and tables (stored as the JSON text of the script's own
// json.encode and read back through json.decode). The store lives in a `.fskv` file in the
// flash folder, rewritten on every change, so it survives rtos.reboot() and later runs.
// Until fskv.init() is called every other function logs the firmware's complaint and
// returns nothing.
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lua, bytesOf, pushBytes, pushUserdata, testUserdata, setFunctions, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes, typeError } from "../../engine/args.js";
import { boardOf, type ModuleDef, perBoard } from "../../runtime/board.js";
import { timestamp } from "./log.js";

const FILE_NAME = ".fskv";
const FORMAT = "moonrig-fskv/1";
/** The partition size the firmware reports as the total. */
const TOTAL = 64 * 1024;
/** Largest stored value (type byte included) and key, as on the firmware. */
const VALUE_MAX = 4096;
const KEY_MAX = 63;
const ITER_METATABLE = "fskv.iter";

type Stored =
  | { t: "s"; v: Uint8Array }
  | { t: "i"; v: number }
  | { t: "f"; v: number }
  | { t: "b"; v: boolean }
  /** JSON text from json.encode. */
  | { t: "t"; v: Uint8Array };

type FileEntry = [key: string, type: Stored["t"], value: string | number | boolean];

interface StoreFile {
  format: string;
  entries: FileEntry[];
}

function encodeEntry(key: Uint8Array, value: Stored): FileEntry {
  const k = Buffer.from(key).toString("base64");
  if (value.t === "s" || value.t === "t") return [k, value.t, Buffer.from(value.v).toString("base64")];
  return [k, value.t, value.v];
}

function decodeEntry(entry: FileEntry): [string, Stored] | undefined {
  const [k, t, v] = entry;
  if (typeof k !== "string") return undefined;
  const key = Buffer.from(k, "base64").toString("latin1");
  switch (t) {
    case "s":
    case "t":
      return typeof v === "string" ? [key, { t, v: Uint8Array.from(Buffer.from(v, "base64")) }] : undefined;
    case "i":
    case "f":
      return typeof v === "number" ? [key, { t, v }] : undefined;
    case "b":
      return typeof v === "boolean" ? [key, { t, v }] : undefined;
    default:
      return undefined;
  }
}

/** Keys are byte strings; a latin1 JS string maps each byte to one char, losslessly. */
const keyOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");
const keyBytes = (key: string): Uint8Array => Uint8Array.from(Buffer.from(key, "latin1"));

function sizeOf(value: Stored): number {
  switch (value.t) {
    case "s":
    case "t":
      return 1 + value.v.length;
    case "b":
      return 2;
    case "i":
      return 9;
    case "f":
      return 5;
  }
}

// The store's files are the runtime's own: never opened through a symbolic link, which
// could lead anywhere on the PC (a link in their place reads as empty and fails writes).
const PRIVATE_WRITE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

function readPrivate(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

class Store {
  private entries = new Map<string, Stored>();

  constructor(readonly path: string) {
    this.load();
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    try {
      const parsed = JSON.parse(readPrivate(this.path)) as StoreFile;
      if (parsed.format !== FORMAT || !Array.isArray(parsed.entries)) return;
      for (const entry of parsed.entries) {
        const decoded = decodeEntry(entry);
        if (decoded) this.entries.set(decoded[0], decoded[1]);
      }
    } catch {
      // A damaged store reads as empty, like a freshly erased partition.
    }
  }

  private save(): boolean {
    const file: StoreFile = { format: FORMAT, entries: [...this.entries].map(([k, v]) => encodeEntry(keyBytes(k), v)) };
    try {
      const dir = join(this.path, "..");
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const temporary = `${this.path}.tmp`;
      const fd = openSync(temporary, PRIVATE_WRITE);
      try {
        writeFileSync(fd, JSON.stringify(file));
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      return true;
    } catch {
      return false;
    }
  }

  get(key: string): Stored | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Stored): boolean {
    this.entries.set(key, value);
    return this.save();
  }

  delete(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    return this.save();
  }

  clear(): boolean {
    this.entries.clear();
    return this.save();
  }

  keyAt(index: number): string | undefined {
    return [...this.entries.keys()][index];
  }

  used(): number {
    let used = 0;
    for (const [key, value] of this.entries) used += key.length + sizeOf(value);
    return used;
  }

  get count(): number {
    return this.entries.size;
  }
}

interface FskvState {
  store: Store | undefined;
}

const stateOf = perBoard((): FskvState => ({ store: undefined }));

/** The store, or undefined after printing the firmware's error line when not initialised. */
function storeOf(L: LuaState): Store | undefined {
  const board = boardOf(L);
  const store = stateOf(board).store;
  if (!store) board.write(bytesOf(`${timestamp()}E/fskv call fskv.init() first!!!\n`));
  return store;
}

const init: LuaJsFunction = (L) => {
  const board = boardOf(L);
  const state = stateOf(board);
  state.store ??= new Store(join(board.host.runtime.flashDir, FILE_NAME));
  lua.lua_pushboolean(L, true);
  return 1;
};

/** Calls the script's json.<name> on the value at `idx`; leaves its results on the stack. */
function callJson(L: LuaState, name: "encode" | "decode", push: () => void, results: number): boolean {
  lua.lua_getglobal(L, "json");
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) {
    lua.lua_pop(L, 1);
    return false;
  }
  lua.lua_getfield(L, -1, name);
  lua.lua_remove(L, -2);
  if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
    lua.lua_pop(L, 1);
    return false;
  }
  push();
  lua.lua_call(L, 1, results);
  return true;
}

/** The value at idx in storable form, or undefined for nil, functions, userdata, threads. */
function storable(L: LuaState, idx: number): Stored | undefined {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TBOOLEAN:
      return { t: "b", v: lua.lua_toboolean(L, idx) };
    case lua.LUA_TNUMBER:
      return lua.lua_isinteger(L, idx) ? { t: "i", v: lua.lua_tointeger(L, idx) } : { t: "f", v: Math.fround(lua.lua_tonumber(L, idx)) };
    case lua.LUA_TSTRING:
      return { t: "s", v: Uint8Array.from(lua.lua_tolstring(L, idx) as Uint8Array) };
    case lua.LUA_TTABLE: {
      const absolute = lua.lua_absindex(L, idx);
      if (!callJson(L, "encode", () => lua.lua_pushvalue(L, absolute), 1)) return undefined;
      const text = lua.lua_type(L, -1) === lua.LUA_TSTRING ? Uint8Array.from(lua.lua_tolstring(L, -1) as Uint8Array) : undefined;
      lua.lua_pop(L, 1);
      return text ? { t: "t", v: text } : undefined;
    }
    default:
      return undefined;
  }
}

function pushStored(L: LuaState, value: Stored): void {
  switch (value.t) {
    case "b":
      lua.lua_pushboolean(L, value.v);
      break;
    case "i":
      lua.lua_pushinteger(L, value.v);
      break;
    case "f":
      lua.lua_pushnumber(L, value.v);
      break;
    case "s":
      pushBytes(L, value.v);
      break;
    case "t":
      if (!callJson(L, "decode", () => pushBytes(L, value.v), 1)) lua.lua_pushnil(L);
      break;
  }
}

function checkKey(L: LuaState, arg: number): string {
  return keyOf(checkBytes(L, arg));
}

function setValue(store: Store, key: string, value: Stored | undefined): boolean {
  if (key.length === 0 || key.length > KEY_MAX || !value || sizeOf(value) > VALUE_MAX) return false;
  return store.set(key, value);
}

const set: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  const key = checkKey(L, 1);
  lua.lua_pushboolean(L, setValue(store, key, storable(L, 2)));
  return 1;
};

/**
 * fskv.sett(key, skey, value): sets one field of a stored table (a missing key or a
 * non-table value becomes a new table); a nil value removes the field.
 */
const sett: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  const key = checkKey(L, 1);
  checkBytes(L, 2);
  if (lua.lua_gettop(L) < 3) return 0;
  const current = store.get(key);
  if (current?.t === "t") pushStored(L, current);
  else lua.lua_pushnil(L);
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) {
    lua.lua_pop(L, 1);
    lua.lua_createtable(L, 0, 1);
  }
  lua.lua_pushvalue(L, 2);
  lua.lua_pushvalue(L, 3);
  lua.lua_settable(L, -3);
  lua.lua_pushboolean(L, setValue(store, key, storable(L, -1)));
  return 1;
};

/** fskv.get(key[, skey]): the value, or one field of a stored table; nil when absent. */
const get: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  const key = checkKey(L, 1);
  const skey = lua.lua_isnoneornil(L, 2) ? undefined : checkBytes(L, 2);
  const value = store.get(key);
  if (!value) return 0;
  pushStored(L, value);
  if (value.t === "t" && skey && skey.length > 0 && lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    pushBytes(L, skey);
    lua.lua_gettable(L, -2);
  }
  return 1;
};

const del: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  const key = checkKey(L, 1);
  lua.lua_pushboolean(L, store.delete(key));
  return 1;
};

const clear: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  lua.lua_pushboolean(L, store.clear());
  return 1;
};

interface Iterator {
  offset: number;
}

const iter: LuaJsFunction = (L) => {
  if (!storeOf(L)) return 0;
  ensureIterMetatable(L);
  pushUserdata<Iterator>(L, { offset: 0 }, ITER_METATABLE);
  return 1;
};

const next: LuaJsFunction = (L) => {
  const iterator = testUserdata<Iterator>(L, 1, ITER_METATABLE);
  if (!iterator) return typeError(L, 1, "userdata");
  const store = stateOf(boardOf(L)).store;
  const key = store?.keyAt(iterator.offset);
  if (key === undefined) return 0;
  iterator.offset++;
  pushBytes(L, keyBytes(key));
  return 1;
};

/** fskv.status() → bytes used, bytes in the partition, number of keys. */
const status: LuaJsFunction = (L) => {
  const store = storeOf(L);
  if (!store) return 0;
  lua.lua_pushinteger(L, store.used());
  lua.lua_pushinteger(L, TOTAL);
  lua.lua_pushinteger(L, store.count);
  return 3;
};

function ensureIterMetatable(L: LuaState): void {
  const exists = lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, ITER_METATABLE) !== lua.LUA_TNIL;
  lua.lua_pop(L, 1);
  if (exists) return;
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, bytesOf(ITER_METATABLE));
  lua.lua_setfield(L, -2, "__name");
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, ITER_METATABLE);
}

export const fskv: ModuleDef = {
  name: "fskv",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 24);
    // The fdb-compatible names (kv_set, kvdb_init, ...) are the same functions.
    setFunctions(L, -1, {
      init, set, sett, get, del, clr: clear, clear, stat: status, status, iter, next,
      kvdb_init: init, kv_set: set, kv_get: get, kv_del: del, kv_clr: clear, kv_stat: status, kv_iter: iter, kv_next: next,
    });
  },
};
