// NodeMCU `mcp4725` over the device's MCP4725 model on bus 0 (0x60 plus the A2..A0 bits of
// the table argument): write sends the firmware's three-byte write-DAC (or DAC and EEPROM)
// command, read the chip's five status and EEPROM bytes. The firmware keeps fields in
// 16-bit unsigned variables, so a negative number fails the range checks as it does there.
import { lua, type LuaState } from "../../engine/lua.js";
import { argError } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS_BASE = 0x60;
const WRITE_DAC = 0x40;
const WRITE_DAC_EEPROM = 0x60;
const PWRDN_NONE = 0;
const PWRDN_1K = 1;
const PWRDN_100K = 2;
const PWRDN_500K = 3;

/** C's lua_tointeger kept in a uint16. */
function uint16At(L: LuaState, index: number): number {
  const value = lua.lua_tointegerx(L, index);
  return value === false ? 0 : value & 0xffff;
}

/** A numeric field of table argument 1, or undefined when nil; anything else is `notNumber`. */
function numberField(L: LuaState, name: string, notNumber: string): number | undefined {
  lua.lua_getfield(L, 1, name);
  if (lua.lua_isnil(L, -1)) {
    lua.lua_pop(L, 1);
    return undefined;
  }
  if (!lua.lua_isnumber(L, -1)) argError(L, 1, notNumber);
  const value = uint16At(L, -1);
  lua.lua_pop(L, 1);
  return value;
}

function addressOf(L: LuaState): number {
  let address = ADDRESS_BASE;
  for (const [name, shift] of [["A2", 2], ["A1", 1], ["A0", 0]] as const) {
    const bit = numberField(L, name, `${name}: Must be number`);
    if (bit === undefined) continue;
    if (bit >= 2) argError(L, 1, `${name}: Must be 0 or 1`);
    address |= bit << shift;
  }
  return address;
}

const write = (L: LuaState): number => {
  let address = ADDRESS_BASE;
  let value = 0;
  let command = 0;
  if (lua.lua_istable(L, 1)) {
    address = addressOf(L);
    const given = numberField(L, "value", "value: Must be number");
    if (given === undefined) argError(L, 1, "value: value is required");
    if (given > 4095) argError(L, 1, "value: Valid range 0-4095");
    value = given << 4;
    lua.lua_getfield(L, 1, "save");
    if (lua.lua_isnil(L, -1)) command |= WRITE_DAC;
    else if (lua.lua_type(L, -1) !== lua.LUA_TBOOLEAN) argError(L, 1, "save: must be boolean");
    else command |= lua.lua_toboolean(L, -1) ? WRITE_DAC_EEPROM : WRITE_DAC;
    lua.lua_pop(L, 1);
    const pwrdn = numberField(L, "pwrdn", "pwrdn: Must be number");
    if (pwrdn !== undefined) {
      if (pwrdn > 3) argError(L, 1, "pwrdn: Valid range 0-3");
      command |= pwrdn << 1;
    }
  }
  writeTo(boardOf(L), address, [command, (value >> 8) & 0xff, value & 0xff]);
  return 0;
};

const read = (L: LuaState): number => {
  const address = lua.lua_istable(L, 1) ? addressOf(L) : ADDRESS_BASE;
  const b = [...readFrom(boardOf(L), address, 5)] as [number, number, number, number, number];
  lua.lua_pushinteger(L, (b[0] & 0x06) >> 1);
  lua.lua_pushinteger(L, (b[1] << 4) | (b[2] >> 4));
  lua.lua_pushinteger(L, (b[3] & 0x60) >> 5);
  lua.lua_pushinteger(L, ((b[3] & 0x0f) << 8) | b[4]);
  lua.lua_pushinteger(L, (b[0] & 0x80) >> 7);
  lua.lua_pushinteger(L, (b[0] & 0x40) >> 6);
  return 6;
};

export const mcp4725 = defineModule("mcp4725", {
  functions: { write, read },
  constants: { PWRDN_NONE, PWRDN_1K, PWRDN_100K, PWRDN_500K },
});
