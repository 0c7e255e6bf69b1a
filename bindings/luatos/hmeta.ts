// LuatOS `hmeta`: what the firmware knows about the module it runs on. The names come from
// the --device file (model, hwver, chip); a device that names none is an Air780E.
import { lua, pushText, type LuaState } from "../../runtime/lua.js";
import { boardOf } from "../../runtime/board.js";
import type { DeviceConfig } from "../../runtime/device.js";
import { defineModule } from "../common/module.js";
import { imeiOf, muidOf } from "./mobile.js";
import { uniqueId } from "./mcu.js";

const DEFAULTS = { model: "Air780E", hwver: "A11", chip: "EC618" } as const;

function deviceOf(L: LuaState): DeviceConfig {
  return boardOf(L).host.runtime.options.device ?? {};
}

/** The firmware answers nil when it cannot tell; an empty string in the device file says so. */
function pushName(L: LuaState, value: string): number {
  if (value === "") lua.lua_pushnil(L);
  else pushText(L, value);
  return 1;
}

const model = (L: LuaState): number => pushName(L, deviceOf(L).model ?? DEFAULTS.model);
const hwver = (L: LuaState): number => pushName(L, deviceOf(L).hwver ?? DEFAULTS.hwver);
const chip = (L: LuaState): number => pushName(L, deviceOf(L).chip ?? DEFAULTS.chip);

/** A cellular module's device id is its IMEI. */
const devid = (L: LuaState): number => {
  pushText(L, imeiOf(boardOf(L)));
  return 1;
};

const muid = (L: LuaState): number => {
  pushText(L, muidOf(boardOf(L)));
  return 1;
};

export const hmeta = defineModule("hmeta", {
  functions: { model, hwver, chip, devid, muid, unique_id: uniqueId },
});
