// LuatOS `pm`: power management. Sleep requests and power switches change nothing on a PC
// and are recorded; pm.reboot restarts the script as a reboot does; pm.shutdown ends the
// run as powering off would; the deep-sleep timers only remember that they run.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkInteger, optFlag, optInteger } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";

// Sleep modes (LUAT_PM_SLEEP_MODE_*).
const NONE = 0;
const IDLE = 1;
const LIGHT = 2;
const DEEP = 3;
const HIB = 4;

// What pm.lastReson reports for a power-on: woken by nothing (0), a normal boot (0), and the
// power-on reason LUAT_PM_POWERON_REASON_NORMAL (0).
const WAKEUP_NONE = 0;
const BOOT_NORMAL = 0;
const POWERON_NORMAL = 0;

interface PmState {
  requested: number;
  dtimers: Map<number, number>;
}

const stateOf = perBoard((): PmState => ({ requested: IDLE, dtimers: new Map() }));

function ok(L: LuaState, value = true): number {
  lua.lua_pushboolean(L, value);
  return 1;
}

const request = (L: LuaState): number => {
  const board = boardOf(L);
  const mode = checkInteger(L, 1);
  if (mode < NONE || mode > HIB) return ok(L, false);
  stateOf(board).requested = mode;
  recorderOf(board).record("pm", "request", [mode]);
  return ok(L);
};

const force = (L: LuaState): number => {
  const board = boardOf(L);
  const mode = checkInteger(L, 1);
  recorderOf(board).record("pm", "force", [mode]);
  return ok(L, mode >= NONE && mode <= HIB);
};

/** pm.check() → whether the chip could sleep now, and the firmware's code (0: it could). */
const check = (L: LuaState): number => {
  lua.lua_pushboolean(L, true);
  lua.lua_pushinteger(L, 0);
  return 2;
};

/** pm.dtimerStart(id, ms): remembered until it would have fired (when the chip would wake). */
const dtimerStart = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  const ms = checkInteger(L, 2);
  if (id < 0 || ms <= 0) return ok(L, false);
  stateOf(board).dtimers.set(id, Date.now() + ms);
  recorderOf(board).record("pm", "dtimerStart", [id, ms]);
  return ok(L);
};

const dtimerStop = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  stateOf(board).dtimers.delete(id);
  return 0;
};

const dtimerCheck = (L: LuaState): number => {
  const due = stateOf(boardOf(L)).dtimers.get(checkInteger(L, 1));
  return ok(L, due !== undefined && due > Date.now());
};

const dtimerList = (L: LuaState): number => {
  const now = Date.now();
  const ids = [...stateOf(boardOf(L)).dtimers].filter(([, due]) => due > now).map(([id]) => id);
  lua.lua_createtable(L, ids.length, 0);
  ids.forEach((id, i) => {
    lua.lua_pushinteger(L, id);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

/** pm.dtimerWkId() → the deep-sleep timer that woke the chip: none, after a power-on. */
const dtimerWkId = (L: LuaState): number => {
  lua.lua_pushinteger(L, -1);
  return 1;
};

/** pm.lastReson() → wake-up source, boot kind, power-on reason: a plain power-on. */
const lastReson = (L: LuaState): number => {
  lua.lua_pushinteger(L, WAKEUP_NONE);
  lua.lua_pushinteger(L, BOOT_NORMAL);
  lua.lua_pushinteger(L, POWERON_NORMAL);
  return 3;
};

const shutdown = (L: LuaState): number => {
  const board = boardOf(L);
  recorderOf(board).record("pm", "shutdown", []);
  return board.raiseExit(L, 0);
};

const reboot = (L: LuaState): number => {
  const board = boardOf(L);
  recorderOf(board).record("pm", "reboot", []);
  board.host.requestReboot(0);
  return 0;
};

/** pm.power(id, on): a power switch (USB, GPS, PWK_MODE, WORK_MODE ...), recorded. */
const power = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  // WORK_MODE takes a level 0..3; the others a boolean.
  const value = lua.lua_isinteger(L, 2) ? lua.lua_tointeger(L, 2) : optFlag(L, 2, false) ? 1 : 0;
  recorderOf(board).record("pm", "power", [id, value]);
  return ok(L);
};

/** pm.ioVol([id,] mV): the I/O voltage, recorded. */
const ioVol = (L: LuaState): number => {
  const board = boardOf(L);
  const id = lua.lua_gettop(L) >= 2 ? checkInteger(L, 1) : 0;
  const mv = checkInteger(L, lua.lua_gettop(L) >= 2 ? 2 : 1);
  recorderOf(board).record("pm", "ioVol", [id, mv]);
  return ok(L);
};

const wakeupPin = (L: LuaState): number => {
  const board = boardOf(L);
  recorderOf(board).record("pm", "wakeupPin", [checkInteger(L, 1), optInteger(L, 2, 0)]);
  return ok(L);
};

const release = (L: LuaState): number => ok(L);

export const pm = defineModule("pm", {
  functions: {
    request, release, force, check, dtimerStart, dtimerStop, dtimerCheck, dtimerList, dtimerWkId,
    lastReson, shutdown, reboot, power, ioVol, wakeupPin,
  },
  constants: {
    NONE, IDLE, LIGHT, DEEP, HIB,
    USB: 0, GPS: 1, GPS_ANT: 2, CAMERA: 3, DAC_EN: 4, PWK_MODE: 5, WORK_MODE: 6, LDO_CTL: 7,
    IOVOL_ALL_GPIO: 0, IOVOL_SDIO: 1, IOVOL_LCD: 2, IOVOL_CAMA: 3, IOVOL_CAMD: 4,
  },
});
