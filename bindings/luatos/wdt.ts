// LuatOS `wdt`: the hardware watchdog. It never bites on a PC (a script whose feeding timer
// stalls would reboot a device, but the host's own loop cannot stall that way); the calls
// are recorded so tests can see the script arm and feed it.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

function ok(L: LuaState): number {
  lua.lua_pushboolean(L, true);
  return 1;
}

const init = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("wdt", "init", [checkInteger(L, 1)]);
  return ok(L);
};

const setTimeout = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("wdt", "setTimeout", [checkInteger(L, 1)]);
  return ok(L);
};

const feed = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("wdt", "feed", []);
  return ok(L);
};

const close = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("wdt", "close", []);
  return ok(L);
};

export const wdt = defineModule("wdt", {
  functions: { init, setTimeout, feed, close },
});
