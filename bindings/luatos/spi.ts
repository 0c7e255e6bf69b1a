// LuatOS `spi`: bus and device objects whose writes are recorded. Nothing is wired to the
// simulated buses, so reads return zero bytes of the length asked for.
import { lua, pushBytes, pushUserdata, testUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

const DEVICE = "SPI*";
const DEFAULT_SPEED = 2000000;
const MAX_BUS = 5;

interface Device {
  id: number;
  cs: number;
  closed: boolean;
}

/** Data to send: a string (or number, per Lua coercion); other values (a zbuff) send nothing. */
function dataArg(L: LuaState, arg: number): Uint8Array {
  const t = lua.lua_type(L, arg);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return checkBytes(L, arg);
  if (t === lua.LUA_TUSERDATA) return new Uint8Array();
  return checkBytes(L, arg);
}

function record(L: LuaState, call: string, args: Array<number | Uint8Array>): void {
  recorderOf(boardOf(L)).record("spi", call, args);
}

/** spi.setup(id, cs, CPHA, CPOL, dataw, bandrate, bitdict, ms, mode) → 0 on success. */
const setup = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  if (id < 0 || id > MAX_BUS) {
    lua.lua_pushinteger(L, -1);
    return 1;
  }
  record(L, "setup", [id, optInteger(L, 2, -1), optInteger(L, 3, 0), optInteger(L, 4, 0), optInteger(L, 5, 8), optInteger(L, 6, DEFAULT_SPEED)]);
  lua.lua_pushinteger(L, 0);
  return 1;
};

const close = (L: LuaState): number => {
  record(L, "close", [checkInteger(L, 1)]);
  lua.lua_pushinteger(L, 0);
  return 1;
};

function send(L: LuaState, id: number, dataIndex: number): number {
  let data = dataArg(L, dataIndex);
  if (lua.lua_isinteger(L, dataIndex + 1)) data = data.subarray(0, Math.max(0, lua.lua_tointeger(L, dataIndex + 1)));
  record(L, "send", [id, data]);
  lua.lua_pushinteger(L, data.length);
  return 1;
}

function recv(L: LuaState, id: number, sizeIndex: number): number {
  const size = Math.max(0, checkInteger(L, sizeIndex));
  record(L, "recv", [id, size]);
  pushBytes(L, new Uint8Array(size));
  return 1;
}

/** transfer(data[, len[, recv_len]]) → recv_len bytes read while sending (default: as many as sent). */
function transfer(L: LuaState, id: number, dataIndex: number): number {
  let data = dataArg(L, dataIndex);
  if (lua.lua_isinteger(L, dataIndex + 1)) data = data.subarray(0, Math.max(0, lua.lua_tointeger(L, dataIndex + 1)));
  const received = lua.lua_isinteger(L, dataIndex + 2) ? Math.max(0, lua.lua_tointeger(L, dataIndex + 2)) : data.length;
  record(L, "transfer", [id, data]);
  pushBytes(L, new Uint8Array(received));
  return 1;
}

const busSend = (L: LuaState): number => send(L, checkInteger(L, 1), 2);
const busRecv = (L: LuaState): number => recv(L, checkInteger(L, 1), 2);
const busTransfer = (L: LuaState): number => transfer(L, checkInteger(L, 1), 2);

// ---- device objects ----

const deviceSetup = (L: LuaState): number => {
  const id = checkInteger(L, 1);
  const cs = optInteger(L, 2, -1);
  if (id < 0 || id > MAX_BUS) return 0;
  record(L, "deviceSetup", [id, cs, optInteger(L, 3, 0), optInteger(L, 4, 0), optInteger(L, 5, 8), optInteger(L, 6, DEFAULT_SPEED)]);
  pushUserdata<Device>(L, { id, cs, closed: false }, DEVICE);
  return 1;
};

function deviceArg(L: LuaState): Device | undefined {
  const device = testUserdata<Device>(L, 1, DEVICE);
  return device && !device.closed ? device : undefined;
}

const deviceSend = (L: LuaState): number => {
  const device = deviceArg(L);
  return device ? send(L, device.id, 2) : 0;
};

const deviceRecv = (L: LuaState): number => {
  const device = deviceArg(L);
  return device ? recv(L, device.id, 2) : 0;
};

const deviceTransfer = (L: LuaState): number => {
  const device = deviceArg(L);
  return device ? transfer(L, device.id, 2) : 0;
};

const deviceClose = (L: LuaState): number => {
  const device = deviceArg(L);
  if (device) {
    device.closed = true;
    record(L, "close", [device.id]);
  }
  lua.lua_pushinteger(L, 0);
  return 1;
};

const nothing = (): number => 0;

export const spi = defineModule("spi", {
  functions: {
    setup, close, send: busSend, recv: busRecv, transfer: busTransfer,
    deviceSetup, deviceSend, deviceTransfer,
  },
  constants: {
    MSB: 1, LSB: 0, master: 1, slave: 0, full: 1, half: 0,
    SPI_0: 0, SPI_1: 1, SPI_2: 2, SPI_3: 3, SPI_4: 4, HSPI_0: 5,
  },
  metatables: {
    [DEVICE]: {
      methods: { send: deviceSend, recv: deviceRecv, transfer: deviceTransfer, close: deviceClose, lock: nothing, unlock: nothing },
    },
  },
});
