// LuatOS `log`: leveled log lines. The firmware prints `I/user.<tag>` and the tostring of
// each further argument, separated by single spaces; on the PC build every line starts
// with the local time, `[YYYY-MM-DD HH:MM:SS.mmm] I/user.main hello 1`.
import { lua, bytesOf, debugRecord, toDisplayBytes, textOf, type LuaState } from "../../engine/lua.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const LOG_DEBUG = 1;
const LOG_INFO = 2;
const LOG_WARN = 3;
const LOG_ERROR = 4;
const LOG_SILENT = 7;

const STYLE_NORMAL = 0;
const STYLE_DEBUG_INFO = 1;
const STYLE_FULL = 2;

const LEVEL_NAMES: Record<string, number> = { SILENT: LOG_SILENT, DEBUG: LOG_DEBUG, INFO: LOG_INFO, WARN: LOG_WARN, ERROR: LOG_ERROR };

const SPACE = 0x20;
const NEWLINE = 0x0a;

interface LogState {
  level: number;
  style: number;
}

const states = new WeakMap<Board, LogState>();

function stateOf(L: LuaState): LogState {
  const board = boardOf(L);
  let state = states.get(board);
  if (!state) {
    state = { level: LOG_DEBUG, style: STYLE_NORMAL };
    states.set(board, state);
  }
  return state;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `[YYYY-MM-DD HH:MM:SS.mmm] ` in local time. */
export function timestamp(date = new Date()): string {
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  return `[${day} ${time}] `;
}

/** The tag as the firmware's `%s` of lua_tostring: strings and numbers, else "(null)". */
function tagBytes(L: LuaState): Uint8Array {
  const t = lua.lua_type(L, 1);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return lua.lua_tolstring(L, 1) as Uint8Array;
  return bytesOf("(null)");
}

/** `file:line` of the Lua code that called the log function, or undefined without one. */
function callerPosition(L: LuaState): Uint8Array | undefined {
  const ar = debugRecord();
  if (!lua.lua_getstack(L, 1, ar) || !lua.lua_getinfo(L, "Sl", ar)) return undefined;
  const source = ar.source;
  if (!source || source.length === 0) return undefined;
  // The firmware skips the source's first character ('@' or '='); a chunk loaded from a
  // string has its code as source, shown by short_src instead.
  const name = source[0] === 0x40 || source[0] === 0x3d ? textOf(source.subarray(1)) : textOf(ar.short_src);
  return bytesOf(`${name}:${ar.currentline > 65535 ? 0 : ar.currentline}`);
}

function writeLine(L: LuaState, parts: Uint8Array[]): void {
  const head = bytesOf(timestamp());
  let size = head.length + 1;
  for (const [i, part] of parts.entries()) size += part.length + (i > 0 ? 1 : 0);
  const line = new Uint8Array(size);
  line.set(head, 0);
  let offset = head.length;
  for (const [i, part] of parts.entries()) {
    if (i > 0) line[offset++] = SPACE;
    line.set(part, offset);
    offset += part.length;
  }
  line[offset] = NEWLINE;
  boardOf(L).write(line);
}

function emit(L: LuaState, letter: string, level: number): number {
  const state = stateOf(L);
  if (state.level > level) return 0;
  const n = lua.lua_gettop(L);
  if (n < 1) return 0;
  const parts: Uint8Array[] = [];
  let first = 2;
  switch (state.style) {
    case STYLE_NORMAL:
      parts.push(concat(bytesOf(`${letter}/user.`), tagBytes(L)));
      break;
    case STYLE_DEBUG_INFO: {
      // `I/main.lua:12 tag args`: the position replaces `user.`, the tag becomes an argument.
      const position = callerPosition(L);
      parts.push(position ? concat(bytesOf(`${letter}/`), position) : concat(bytesOf(`${letter}/user.`), tagBytes(L)));
      if (position) first = 1;
      break;
    }
    case STYLE_FULL: {
      parts.push(concat(bytesOf(`${letter}/user.`), tagBytes(L)));
      const position = callerPosition(L);
      if (position) parts.push(position);
      break;
    }
    default:
      // An unknown style prints the plain arguments, as the firmware's print does.
      first = 1;
  }
  for (let i = first; i <= n; i++) parts.push(toDisplayBytes(L, i));
  writeLine(L, parts);
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const debug = (L: LuaState): number => emit(L, "D", LOG_DEBUG);
const info = (L: LuaState): number => emit(L, "I", LOG_INFO);
const warn = (L: LuaState): number => emit(L, "W", LOG_WARN);
const error = (L: LuaState): number => emit(L, "E", LOG_ERROR);

/**
 * setLevel("SILENT" | "DEBUG" | "INFO" | "WARN" | "ERROR" | n). As on the firmware, a name
 * it does not know ("FATAL" included), 0 or no argument silences the log.
 */
const setLevel = (L: LuaState): number => {
  let level = 0;
  if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) {
    const n = lua.lua_tonumber(L, 1);
    if (Number.isInteger(n)) level = n;
  } else if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    level = LEVEL_NAMES[textOf(lua.lua_tolstring(L, 1) as Uint8Array)] ?? 0;
  }
  stateOf(L).level = level === 0 ? LOG_SILENT : level;
  return 0;
};

const getLevel = (L: LuaState): number => {
  lua.lua_pushinteger(L, stateOf(L).level);
  return 1;
};

/** style([n]): 0 `I/user.tag`, 1 `I/file:line tag`, 2 `I/user.tag file:line`; returns the style. */
const style = (L: LuaState): number => {
  const state = stateOf(L);
  if (lua.lua_isinteger(L, 1)) state.style = lua.lua_tointeger(L, 1);
  lua.lua_pushinteger(L, state.style);
  return 1;
};

export const log = defineModule("log", {
  functions: { debug, info, warn, error, fatal: error, setLevel, getLevel, style },
  constants: { LOG_SILENT, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR },
});
