// LuatOS `hmeta`: what the firmware knows about the module it runs on: the board of
// boards.ts (--device model, hwver, chip, or what `auto` chose).
import { lua, pushText, type LuaState } from "../../engine/lua.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { imeiOf, muidOf } from "./mobile.js";
import { uniqueId } from "./mcu.js";
import { boardSpecOf } from "./boards.js";
import { staMacOf } from "./wlan.js";

/** The firmware answers nil when it cannot tell; an empty string in the device file says so. */
function pushName(L: LuaState, value: string): number {
  if (value === "") lua.lua_pushnil(L);
  else pushText(L, value);
  return 1;
}

const model = (L: LuaState): number => pushName(L, boardSpecOf(boardOf(L)).model);
const hwver = (L: LuaState): number => pushName(L, boardSpecOf(boardOf(L)).hwver);
const chip = (L: LuaState): number => pushName(L, boardSpecOf(boardOf(L)).chip);

/** A cellular module's device id is its IMEI; a Wi-Fi module's its MAC address. */
const devid = (L: LuaState): number => {
  const board = boardOf(L);
  pushText(L, boardSpecOf(board).cellular ? imeiOf(board) : staMacOf(board));
  return 1;
};

const muid = (L: LuaState): number => {
  pushText(L, muidOf(boardOf(L)));
  return 1;
};

export const hmeta = defineModule("hmeta", {
  functions: { model, hwver, chip, devid, muid, unique_id: uniqueId },
});
