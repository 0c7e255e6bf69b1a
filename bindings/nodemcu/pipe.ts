// NodeMCU `pipe`: a byte FIFO kept in 256-byte chunks, with pipe.c's exact chunking (so
// nrec() and #pipe count what the device counts), its read modes (a byte count, or a
// one-character delimiter that `+` keeps) and its optional reader callback run as a
// node.task. The reader's reposting follows pipe.c's code rather than pipe.md: a callback
// returning nil is posted again after every run, true reposts while data is left, false stops.
import { lua, pushBytes, pushUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { argError, checkInteger, typeError } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { postTask } from "./node.js";

const METATABLE = "pipe.pipe";
const CHUNK = 256;
const TASK_LOW = 0;
const TASK_MEDIUM = 1;
const TASK_HIGH = 2;
const CB_NOT_USED = 0;
const CB_ACTIVE = 1;
const CB_WRITE_UPDATED = 2;
const CB_QUIESCENT = 4;
/** read()'s delimiter modes: drop the delimiter, or keep it. */
const DELIM = -1;
const DELIM_KEEP = -2;

interface Chunk {
  buf: Uint8Array;
  start: number;
  end: number;
}

interface Pipe {
  chunks: Chunk[];
  priority: number;
  state: number;
  /** The reader callback's registry slot (fengari collects no userdata, so it is never freed early). */
  callbackRef: number | undefined;
}

const newChunk = (): Chunk => ({ buf: new Uint8Array(CHUNK), start: 0, end: 0 });

function checkPipe(L: LuaState): Pipe {
  const pipe = testUserdata<Pipe>(L, 1, METATABLE);
  if (!pipe) argError(L, 1, "pipe table");
  return pipe;
}

/** A Lua string argument's bytes; lua_tolstring's empty answer for anything else. */
function bytesOrEmpty(L: LuaState, idx: number): Uint8Array {
  const t = lua.lua_type(L, idx);
  return t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? (lua.lua_tolstring(L, idx) as Uint8Array) : new Uint8Array();
}

/** A byte count (> 0), or a delimiter mode with its character. */
function sizeOrDelimiter(L: LuaState, idx: number): { n: number; delim: number } {
  if (lua.lua_type(L, idx) === lua.LUA_TNUMBER) {
    const n = checkInteger(L, idx);
    if (n <= 0) argError(L, idx, "invalid chunk size");
    return { n, delim: 0 };
  }
  if (lua.lua_isnoneornil(L, idx)) return { n: DELIM, delim: 0x0a };
  const spec = bytesOrEmpty(L, idx);
  const n = spec.length === 2 && spec[1] === 0x2b ? DELIM_KEEP : DELIM;
  if (spec.length + n !== 0) argError(L, idx, "invalid delimiter");
  return { n, delim: spec[0] as number };
}

function readFrom(pipe: Pipe, size: number, delim: number): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let n = size;
  let chunk = pipe.chunks[0];
  while (chunk && n) {
    let want: number;
    let used: number;
    if (n < 0) {
      let i = chunk.start;
      while (i < chunk.end && chunk.buf[i] !== delim) i++;
      if (i === chunk.end) {
        want = used = chunk.end - chunk.start;
      } else {
        want = used = i + 1 - chunk.start;
        if (n === DELIM) want--;
        n = 0;
      }
    } else {
      want = used = Math.min(n, chunk.end - chunk.start);
      n -= used;
    }
    parts.push(chunk.buf.slice(chunk.start, chunk.start + want));
    chunk.start += used;
    if (chunk.start === chunk.end) {
      pipe.chunks.shift();
      chunk = pipe.chunks[0];
    }
  }
  return parts.length > 0 ? Buffer.concat(parts) : undefined;
}

function writeTo(pipe: Pipe, data: Uint8Array): void {
  if (pipe.chunks.length === 0) pipe.chunks.push(newChunk());
  let chunk = pipe.chunks[pipe.chunks.length - 1] as Chunk;
  let s = 0;
  let l = data.length;
  for (;;) {
    let used = chunk.end - chunk.start;
    if (used === CHUNK) {
      chunk = newChunk();
      pipe.chunks.push(chunk);
      used = 0;
    } else if (CHUNK - chunk.end < l) {
      chunk.buf.copyWithin(0, chunk.start, chunk.end);
      chunk.start = 0;
      chunk.end = used;
    }
    const room = CHUNK - used;
    if (l <= room) break;
    chunk.buf.set(data.subarray(s, s + room), chunk.end);
    chunk.end += room;
    l -= room;
    s += room;
  }
  chunk.buf.set(data.subarray(s, s + l), chunk.end);
  chunk.end += l;
}

/** Puts bytes back at the head, filling leftwards from the head chunk's start. */
function unreadTo(pipe: Pipe, data: Uint8Array): void {
  if (pipe.chunks.length === 0) pipe.chunks.push(newChunk());
  let chunk = pipe.chunks[0] as Chunk;
  let l = data.length;
  for (;;) {
    const used = chunk.end - chunk.start;
    let room = CHUNK - used;
    if (used === CHUNK) {
      chunk = { buf: new Uint8Array(CHUNK), start: CHUNK, end: CHUNK };
      pipe.chunks.unshift(chunk);
      room = CHUNK;
    } else if (chunk.start < l) {
      chunk.buf.copyWithin(room, chunk.start, chunk.end);
      chunk.start = room;
      chunk.end = CHUNK;
    }
    if (l <= room) break;
    l -= room;
    chunk.buf.set(data.subarray(l, l + room), 0);
    chunk.start = 0;
  }
  chunk.start -= l;
  chunk.buf.set(data.subarray(0, l), chunk.start);
}

// ---- the reader callback ----

/** Posts the reader task; the pipe (index `idx`) stays referenced until it runs. */
function postReader(L: LuaState, board: Board, pipe: Pipe, idx: number): void {
  const ref = board.ref(L, idx);
  postTask(board, pipe.priority, () => {
    const BL = board.L;
    lua.lua_pushjsfunction(BL, runReader);
    board.pushRef(BL, ref);
    board.unref(ref);
    board.callTop(1);
  });
}

/** The task: calls the reader with the pipe and decides, from its answer, whether to run again. */
const runReader = (L: LuaState): number => {
  const pipe = testUserdata<Pipe>(L, 1, METATABLE);
  if (!pipe) return 0;
  const entryState = pipe.state;
  if (entryState === CB_NOT_USED) return 0;
  pipe.state = CB_ACTIVE;
  const board = boardOf(L);
  board.pushRef(L, pipe.callbackRef as number);
  lua.lua_pushvalue(L, 1);
  lua.lua_call(L, 1, 1);
  let repost: number;
  if (lua.lua_type(L, -1) === lua.LUA_TBOOLEAN) repost = lua.lua_toboolean(L, -1) && pipe.chunks.length > 0 ? CB_WRITE_UPDATED : 0;
  // pipe.c decides from the state before the call, which a posted reader always has this flag in.
  else repost = entryState & CB_WRITE_UPDATED;
  pipe.state = CB_QUIESCENT | repost;
  if (repost) postReader(L, board, pipe, 1);
  return 0;
};

// ---- Lua functions ----

const create = (L: LuaState): number => {
  lua.lua_settop(L, 2);
  let priority = -1;
  if (!lua.lua_isnil(L, 1)) {
    if (lua.lua_type(L, 1) !== lua.LUA_TFUNCTION) typeError(L, 1, "function");
    priority = lua.lua_isnil(L, 2) ? TASK_MEDIUM : lua.lua_tointegerx(L, 2) || 0;
    if (priority < TASK_LOW || priority > TASK_HIGH) argError(L, 2, "invalid priority");
  }
  const callbackRef = priority === -1 ? undefined : boardOf(L).ref(L, 1);
  pushUserdata<Pipe>(L, { chunks: [], priority, state: callbackRef === undefined ? CB_NOT_USED : CB_QUIESCENT, callbackRef }, METATABLE);
  return 1;
};

const write = (L: LuaState): number => {
  const pipe = testUserdata<Pipe>(L, 1, METATABLE);
  const data = bytesOrEmpty(L, 2);
  if (data.length === 0) return 0;
  if (!pipe) return argError(L, 1, "pipe table");
  writeTo(pipe, data);
  if (pipe.state !== CB_NOT_USED && !(pipe.state & CB_WRITE_UPDATED)) {
    pipe.state |= CB_WRITE_UPDATED;
    postReader(L, boardOf(L), pipe, 1);
  }
  return 0;
};

function readWith(L: LuaState, pipe: Pipe, size: number, delim: number): number {
  const bytes = readFrom(pipe, size, delim);
  if (bytes) pushBytes(L, bytes);
  else lua.lua_pushnil(L);
  return 1;
}

const read = (L: LuaState): number => {
  const pipe = checkPipe(L);
  const { n, delim } = sizeOrDelimiter(L, 2);
  return readWith(L, pipe, n, delim);
};

const reader = (L: LuaState): number => {
  const pipe = checkPipe(L);
  const { n, delim } = sizeOrDelimiter(L, 2);
  lua.lua_pushjsfunction(L, (L1: LuaState) => readWith(L1, pipe, n, delim));
  return 1;
};

const unread = (L: LuaState): number => {
  const data = bytesOrEmpty(L, 2);
  if (data.length === 0) return 0;
  unreadTo(checkPipe(L), data);
  return 0;
};

const nrec = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkPipe(L).chunks.length);
  return 1;
};

const length = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkPipe(L).chunks.length + 1);
  return 1;
};

const toString = (L: LuaState): number => {
  const id = (lua.lua_topointer(L, 1) as { id?: number }).id ?? 0;
  lua.lua_pushstring(L, `Pipe: 0x${id.toString(16).padStart(8, "0")}`);
  return 1;
};

export const pipe = defineModule("pipe", {
  functions: { create },
  metatables: { [METATABLE]: { methods: { read, reader, unread, write, nrec }, meta: { __len: length, __tostring: toString } } },
});
