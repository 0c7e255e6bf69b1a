// The registration shape every binding file ends with, like the `luaL_Reg` tables at the
// end of Lua's C libraries and NodeMCU's app/modules/*.c.
import { lua, setFunctions, setConstants, type LuaConstant, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import type { Board, ModuleDef } from "../../runtime/board.js";

export interface ModuleSpec {
  functions: Record<string, LuaJsFunction>;
  constants?: Record<string, LuaConstant>;
  /** Sub-tables (wifi.sta, wifi.eventmon, ...), each with functions and constants. */
  tables?: Record<string, { functions?: Record<string, LuaJsFunction>; constants?: Record<string, LuaConstant> }>;
  /** Metatables for the module's objects, by registry name. */
  metatables?: Record<string, { methods: Record<string, LuaJsFunction>; meta?: Record<string, LuaJsFunction> }>;
  /** Anything else the module sets up when first opened (module table on top of the stack). */
  setup?(L: LuaState, board: Board): void;
  /** Whether the simulated device has this module; absent modules are nil globals. */
  available?(board: Board): boolean;
}

export function defineModule(name: string, spec: ModuleSpec): ModuleDef {
  return {
    name,
    available: spec.available,
    open(L: LuaState, board: Board): void {
      for (const [registryName, { methods, meta }] of Object.entries(spec.metatables ?? {})) {
        registerMetatable(L, registryName, methods, meta);
      }
      lua.lua_createtable(L, 0, Object.keys(spec.functions).length);
      setFunctions(L, -1, spec.functions);
      if (spec.constants) setConstants(L, -1, spec.constants);
      for (const [tableName, table] of Object.entries(spec.tables ?? {})) {
        lua.lua_createtable(L, 0, 8);
        if (table.functions) setFunctions(L, -1, table.functions);
        if (table.constants) setConstants(L, -1, table.constants);
        lua.lua_setfield(L, -2, tableName);
      }
      spec.setup?.(L, board);
    },
  };
}

/** A metatable whose __index holds the methods; `meta` adds __gc, __tostring, ... */
export function registerMetatable(L: LuaState, registryName: string, methods: Record<string, LuaJsFunction>, meta: Record<string, LuaJsFunction> = {}): void {
  const exists = lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, registryName) !== lua.LUA_TNIL;
  lua.lua_pop(L, 1);
  if (exists) return;
  lua.lua_createtable(L, 0, 4);
  lua.lua_pushstring(L, registryName);
  lua.lua_setfield(L, -2, "__name");
  lua.lua_createtable(L, 0, Object.keys(methods).length);
  setFunctions(L, -1, methods);
  lua.lua_setfield(L, -2, "__index");
  setFunctions(L, -1, meta);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, registryName);
}
