// LuatOS `fota`: the low-level firmware update API. A PC has no firmware image to replace,
// so the calls accept the data, report success and completion, and apply nothing; the
// first call prints a one-line notice so nobody mistakes it for a real upgrade.
import { lua, setFunctions, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { boardOf, type Board, type ModuleDef } from "../../runtime/board.js";
import { readDeviceFile } from "./device-files.js";
import { toZbuff } from "./zbuff.js";

const noticed = new WeakSet<Board>();

function notice(L: LuaState): void {
  const board = boardOf(L);
  if (noticed.has(board)) return;
  noticed.add(board);
  board.host.stderr("moonrig: fota: firmware updates are accepted but not applied on a PC\n");
}

function pushBooleans(L: LuaState, ...values: boolean[]): number {
  for (const value of values) lua.lua_pushboolean(L, value);
  return values.length;
}

const init: LuaJsFunction = (L) => {
  notice(L);
  return pushBooleans(L, true);
};

const wait: LuaJsFunction = (L) => pushBooleans(L, true);

/** fota.run(data[, offset, len]) → ok, last block seen (never: the size is unknown), backlog. */
const run: LuaJsFunction = (L) => {
  notice(L);
  if (!toZbuff(L, 1)) checkBytes(L, 1);
  pushBooleans(L, true, false);
  lua.lua_pushinteger(L, 0);
  return 3;
};

/** fota.file(path): the whole package at once, so the last block is seen at once. */
const file: LuaJsFunction = (L) => {
  notice(L);
  const data = readDeviceFile(L, new TextDecoder().decode(checkBytes(L, 1)));
  pushBooleans(L, data !== undefined, data !== undefined);
  lua.lua_pushinteger(L, 0);
  return 3;
};

const isDone: LuaJsFunction = (L) => pushBooleans(L, true, true);

const finish: LuaJsFunction = (L) => pushBooleans(L, true);

export const fota: ModuleDef = {
  name: "fota",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 6);
    setFunctions(L, -1, { init, wait, run, file, isDone, finish });
  },
};
