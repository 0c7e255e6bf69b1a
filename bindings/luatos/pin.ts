// LuatOS `pin`: pin names as GPIO numbers. Any name "P" + port letter + index works, in
// either case and with or without a leading zero (pin.PA1, pin.PA01, pin.pc14): the number
// is port * 16 + index, so PA00 is 0, PB00 16 and PC14 46. Other names are nil.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { defineModule } from "../common/module.js";

const PINS_PER_PORT = 16;

export function pinNumber(name: string): number | undefined {
  const match = /^[Pp]([A-Za-z])(\d{1,2})$/.exec(name);
  if (!match) return undefined;
  const port = (match[1] as string).toUpperCase().charCodeAt(0) - 0x41;
  return port * PINS_PER_PORT + Number(match[2]);
}

function pushPin(L: LuaState, arg: number): number {
  const number = pinNumber(new TextDecoder().decode(checkBytes(L, arg)));
  if (number === undefined) return 0;
  lua.lua_pushinteger(L, number);
  return 1;
}

/** pin.get(name) → the GPIO number, or nothing for a name that is no pin. */
const get = (L: LuaState): number => pushPin(L, 1);

/** The module table's __index: pin.PA12 looks the name up as pin.get("PA12") does. */
const index = (L: LuaState): number => {
  if (lua.lua_type(L, 2) !== lua.LUA_TSTRING) return 0;
  return pushPin(L, 2);
};

export const pin = defineModule("pin", {
  functions: { get },
  setup: (L) => {
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushjsfunction(L, index);
    lua.lua_setfield(L, -2, "__index");
    lua.lua_setmetatable(L, -2);
  },
});
