// NodeMCU `am2320` over the device's AM2320 model on bus 0 (0x5C): wake, function 0x03,
// answer checked (function code, count, CRC-16) as the firmware does.
import { lua, type LuaState } from "../../engine/lua.js";
import { raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { crc16Modbus } from "../../device/crc.js";
import { probe, readFrom, writeTo } from "./platform-i2c.js";

const ADDRESS = 0xb8 >> 1;
const READ = 0x03;

/** The `len` register bytes from `offset` as the chip frames them (function code and count first), or undefined on a bad answer. */
function transfer(board: Board, len: number, offset: number): Uint8Array | undefined {
  probe(board, ADDRESS); // wakes the sensor; it does not acknowledge this
  writeTo(board, ADDRESS, [READ, offset, len]);
  const answer = readFrom(board, ADDRESS, len + 4);
  const body = answer.subarray(0, len + 2);
  const crc = (answer[len + 2] as number) | ((answer[len + 3] as number) << 8);
  if (body[0] !== READ || body[1] !== len || crc !== crc16Modbus(body)) return undefined;
  return body;
}

// The firmware reads into C structs: setup's { cmd, len, model, version, id } is padded so
// that `id` is the answer's bytes 8..11 (registers 0x0E..0x11) and 10 registers are asked for.
const setup = (L: LuaState): number => {
  const b = transfer(boardOf(L), 10, 0x08);
  if (!b) raise(L, "transmission error");
  lua.lua_pushinteger(L, ((b[2] as number) << 8) | (b[3] as number));
  lua.lua_pushinteger(L, b[4] as number);
  lua.lua_pushinteger(L, (((b[8] as number) << 24) | ((b[9] as number) << 16) | ((b[10] as number) << 8) | (b[11] as number)) >>> 0);
  return 3;
};

const read = (L: LuaState): number => {
  const b = transfer(boardOf(L), 4, 0x00);
  if (!b) raise(L, "transmission error");
  const rh = ((b[2] as number) << 8) | (b[3] as number);
  const raw = ((b[4] as number) << 8) | (b[5] as number);
  lua.lua_pushinteger(L, rh);
  lua.lua_pushinteger(L, raw & 0x8000 ? -(raw & 0x7fff) : raw);
  return 2;
};

export const am2320 = defineModule("am2320", { functions: { read, setup } });
