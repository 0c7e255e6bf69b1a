// Tab completion for the REPL: the globals, or the fields (after `.`) or methods (after `:`)
// of the value the name path before the cursor reaches, looked up in the live Lua state, so
// it offers what the editor definitions list and what the script has added since.
import type { Board } from "./board.js";
import { lua, textOf, type LuaState } from "../engine/lua.js";

/** A name path ending at the cursor: `mqtt.Cl`, `m:pub`, `tm`, `a.b.`. */
const PATH_AT_END = /((?:[A-Za-z_]\w*\s*[.:]\s*)*)([A-Za-z_]\w*)?$/;
const IDENTIFIER = /^[A-Za-z_]\w*$/;
/** Fields and methods gathered from at most this many tables (a value and its __index chain). */
const INDEX_DEPTH = 4;

/** readline's completer result: the candidates, and the text at the cursor they replace. */
export type Completion = [string[], string];

/** Completions of `line` (the text up to the cursor) in `board`'s Lua state; Lua must be idle. */
export function complete(board: Board, line: string): Completion {
  const match = PATH_AT_END.exec(line);
  const path = match?.[1] ?? "";
  const partial = match?.[2] ?? "";
  const typed = path + partial;
  const L = board.L;
  const top = lua.lua_gettop(L);
  try {
    let names: string[];
    if (path === "") {
      names = [...new Set([...keysOf(L, globalsIndex(L)), ...board.moduleNames()])];
    } else {
      const steps = path.split(/\s*[.:]\s*/).filter((step) => step !== "");
      const methods = path.trimEnd().endsWith(":");
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
      for (const step of steps) {
        if (!lua.lua_istable(L, -1) && lua.lua_type(L, -1) !== lua.LUA_TUSERDATA) return [[], typed];
        lua.lua_getfield(L, -1, step);
        lua.lua_remove(L, -2);
      }
      names = methods ? methodsOf(L) : fieldsOf(L);
    }
    const found = names.filter((name) => name.startsWith(partial) && IDENTIFIER.test(name)).sort();
    return [found.map((name) => path + name), typed];
  } catch {
    // A failing __index (or anything else) offers nothing rather than disturbing the prompt.
    return [[], typed];
  } finally {
    lua.lua_settop(L, top);
  }
}

/** Pushes the globals table; returns its stack index. */
function globalsIndex(L: LuaState): number {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  return lua.lua_gettop(L);
}

/** The string keys of the table at `idx`. */
function keysOf(L: LuaState, idx: number): string[] {
  const keys: string[] = [];
  if (!lua.lua_istable(L, idx)) return keys;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) === lua.LUA_TSTRING) keys.push(textOf(lua.lua_tolstring(L, -1) as Uint8Array));
  }
  return keys;
}

/** The keys of the value on top and of the tables its metatables' __index lead to. */
function indexChain(L: LuaState, includeSelf: boolean): string[] {
  const names: string[] = [];
  const start = lua.lua_gettop(L);
  if (includeSelf) names.push(...keysOf(L, start));
  lua.lua_pushvalue(L, start);
  for (let depth = 0; depth < INDEX_DEPTH; depth++) {
    if (!lua.lua_getmetatable(L, -1)) break;
    lua.lua_getfield(L, -1, "__index");
    if (!lua.lua_istable(L, -1)) break;
    names.push(...keysOf(L, lua.lua_gettop(L)));
  }
  lua.lua_settop(L, start);
  return names;
}

function fieldsOf(L: LuaState): string[] {
  return lua.lua_istable(L, -1) ? indexChain(L, true) : [];
}

function methodsOf(L: LuaState): string[] {
  // A string's methods are the string library's, through its metatable like any other value.
  return indexChain(L, lua.lua_istable(L, -1));
}
