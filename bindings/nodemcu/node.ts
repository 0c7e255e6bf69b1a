// NodeMCU `node`: identity and heap figures from the simulated device, and the reboots
// (restart, dsleep) the runtime simulates with a fresh Lua state.
import { lua, pushText, type LuaState } from "../../runtime/lua.js";
import { checkInteger, optInteger, argError } from "../../runtime/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const DEFAULT_CHIP_ID = 0x00c0ffee;
const DEFAULT_FLASH_ID = 0x001640ef;
const DEFAULT_HEAP = 40000;

function device(L: LuaState) {
  return boardOf(L).host.runtime.options.device ?? {};
}

const chipid = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).chipId ?? DEFAULT_CHIP_ID);
  return 1;
};

const flashid = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).flashId ?? DEFAULT_FLASH_ID);
  return 1;
};

const heap = (L: LuaState): number => {
  lua.lua_pushinteger(L, device(L).heap ?? DEFAULT_HEAP);
  return 1;
};

const restart = (L: LuaState): number => {
  boardOf(L).host.requestReboot(0);
  return 0;
};

const dsleep = (L: LuaState): number => {
  const us = optInteger(L, 1, 0);
  if (us < 0) argError(L, 1, "time must be non-negative");
  // dsleep(0) sleeps until an external reset that never comes on a PC: wake at once.
  boardOf(L).host.requestReboot(Math.floor(us / 1000));
  return 0;
};

const bootTime = Date.now();

const uptime = (L: LuaState): number => {
  const us = (Date.now() - bootTime) * 1000;
  lua.lua_pushinteger(L, us % 0x100000000);
  lua.lua_pushinteger(L, Math.floor(us / 0x100000000));
  return 2;
};

const random = (L: LuaState): number => {
  const n = lua.lua_gettop(L);
  if (n === 0) {
    lua.lua_pushnumber(L, Math.random());
    return 1;
  }
  const low = n >= 2 ? checkInteger(L, 1) : 1;
  const high = checkInteger(L, n >= 2 ? 2 : 1);
  if (low > high) argError(L, n >= 2 ? 2 : 1, "interval is empty");
  lua.lua_pushinteger(L, low + Math.floor(Math.random() * (high - low + 1)));
  return 1;
};

/** Power-on reset on first boot; software restart after node.restart. */
const bootreason = (L: LuaState): number => {
  lua.lua_pushinteger(L, 2);
  lua.lua_pushinteger(L, 0);
  return 2;
};

const setcpufreq = (L: LuaState): number => {
  lua.lua_pushinteger(L, checkInteger(L, 1));
  return 1;
};

const getcpufreq = (L: LuaState): number => {
  lua.lua_pushinteger(L, 80);
  return 1;
};

const info = (L: LuaState): number => {
  const group = lua.lua_isnoneornil(L, 1) ? undefined : new TextDecoder().decode(lua.lua_tolstring(L, 1) ?? new Uint8Array());
  const d = device(L);
  if (group === undefined) {
    for (const value of [3, 0, 0, d.chipId ?? DEFAULT_CHIP_ID, d.flashId ?? DEFAULT_FLASH_ID, 4096, 0, 40000000]) lua.lua_pushinteger(L, value);
    return 8;
  }
  lua.lua_createtable(L, 0, 4);
  const fields: Record<string, Record<string, number | string>> = {
    hw: { chip_id: d.chipId ?? DEFAULT_CHIP_ID, flash_id: d.flashId ?? DEFAULT_FLASH_ID, flash_size: 4096, flash_mode: 0, flash_speed: 40000000 },
    sw_version: { node_version_major: 3, node_version_minor: 0, node_version_revision: 0, git_branch: "release", git_commit_id: "moonrig", git_release: "3.0.0-moonrig", git_commit_dts: "20240101" },
    build_config: { ssl: "true", lfs_size: 0, modules: "adc,bit,file,gpio,i2c,mqtt,net,node,pwm,rtctime,sjson,sntp,tmr,uart,wifi", number_type: "float" },
  };
  const table = fields[group];
  if (!table) return argError(L, 1, `invalid option '${group}'`);
  for (const [key, value] of Object.entries(table)) {
    if (typeof value === "number") lua.lua_pushinteger(L, value);
    else pushText(L, value);
    lua.lua_setfield(L, -2, key);
  }
  return 1;
};

const nothing = (): number => 0;

export const node = defineModule("node", {
  functions: { chipid, flashid, heap, restart, dsleep, uptime, random, bootreason, setcpufreq, getcpufreq, info, stripdebug: nothing, osprint: nothing },
  constants: { CPU80MHZ: 80, CPU160MHZ: 160 },
  tables: { egc: { functions: { setmode: nothing }, constants: { NOT_ACTIVE: 0, ON_ALLOC_FAILURE: 1, ON_MEM_LIMIT: 2, ALWAYS: 3 } } },
});
