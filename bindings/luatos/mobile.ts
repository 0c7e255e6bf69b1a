// LuatOS `mobile` (cellular boards only): the module's identity (IMEI, IMSI, ICCID ...),
// which is never nil, from --device or derived from the chip id; a registered modem with
// good signal; flight mode taking the cellular link down and up again; cell information.
import { createHash } from "node:crypto";
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkText } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { publishSys } from "./sysbus.js";
import { deviceOf, hasCellular, netDelayOf, networkOf } from "./socket.js";

/** The NodeMCU flavor's default chip id: one --device file names one chip in both flavors. */
const DEFAULT_CHIP_ID = 0x00c0ffee;
/** An Air780E-style type allocation code: the first 8 IMEI digits. */
const IMEI_TAC = "86978406";
const IMSI_PLMN = "46000";
const ICCID_PREFIX = "898600";
const DEFAULT_APN = "cmnet";
/** How long reqCellInfo takes before CELL_INFO_UPDATE. */
const CELL_INFO_DELAY_MS = 100;

// mobile.status() values (LUAT_MOBILE_REGISTER_STATUS_E).
const UNREGISTER = 0;
const REGISTERED = 1;
const SEARCHING = 2;

const DEFAULT_SIGNAL = { csq: 24, rssi: -65, rsrp: -90, rsrq: -10, snr: 15 } as const;
type SignalName = keyof typeof DEFAULT_SIGNAL;

/** The Luhn check digit that makes `digits` + it a valid number. */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function chipIdOf(board: Board): number {
  return deviceOf(board).chipId ?? DEFAULT_CHIP_ID;
}

/** `count` decimal digits derived from the chip id and a label: stable across runs. */
function derivedDigits(board: Board, label: string, count: number): string {
  const hash = createHash("sha256").update(`moonrig ${label} ${chipIdOf(board)}`).digest();
  let out = "";
  for (let i = 0; out.length < count; i++) out += String((hash[i % hash.length] as number) % 10);
  return out;
}

function derivedHex(board: Board, label: string, bytes: number): string {
  return createHash("sha256").update(`moonrig ${label} ${chipIdOf(board)}`).digest().subarray(0, bytes).toString("hex").toUpperCase();
}

export function imeiOf(board: Board): string {
  const configured = deviceOf(board).imei;
  if (configured) return configured;
  const serial = String(chipIdOf(board) % 1000000).padStart(6, "0");
  const body = IMEI_TAC + serial;
  return body + luhnDigit(body);
}

export function imsiOf(board: Board): string {
  return deviceOf(board).imsi || IMSI_PLMN + derivedDigits(board, "imsi", 10);
}

export function iccidOf(board: Board): string {
  const configured = deviceOf(board).iccid;
  if (configured) return configured;
  const body = ICCID_PREFIX + derivedDigits(board, "iccid", 13);
  return body + luhnDigit(body);
}

interface MobileState {
  flymode: boolean;
  cellInfoRequested: boolean;
  apn: string;
  ipv6: boolean;
  simid: number;
}

const stateOf = perBoard((): MobileState => ({ flymode: false, cellInfoRequested: false, apn: DEFAULT_APN, ipv6: false, simid: 0 }));

function signal(board: Board, name: SignalName): number {
  if (stateOf(board).flymode) return 0;
  return recorderOf(board).sensor(name) ?? DEFAULT_SIGNAL[name];
}

/** A function returning the text `value(board)` computes. */
const textFunction = (value: (board: Board) => string) => (L: LuaState): number => {
  pushText(L, value(boardOf(L)));
  return 1;
};

const imei = textFunction(imeiOf);
const imsi = textFunction(imsiOf);
const iccid = textFunction(iccidOf);
/** The number stored on the SIM (a plausible Chinese mobile number, stable per chip). */
const number = textFunction((board) => `138${derivedDigits(board, "msisdn", 8)}`);

/** The factory serial number: bytes, as the firmware says it may hold invisible characters. */
const sn = (L: LuaState): number => {
  pushBytes(L, new TextEncoder().encode(derivedHex(boardOf(L), "sn", 8)));
  return 1;
};

/** The module's factory id (hmeta.muid answers the same). */
export function muidOf(board: Board): string {
  return derivedHex(board, "muid", 16);
}

const muid = textFunction(muidOf);

const simid = (L: LuaState): number => {
  const state = stateOf(boardOf(L));
  // 2 means "detect the SIM slot": the simulated board's SIM sits in slot 0.
  if (lua.lua_isinteger(L, 1)) {
    const id = lua.lua_tointeger(L, 1);
    state.simid = id === 0 || id === 1 ? id : 0;
  }
  lua.lua_pushinteger(L, state.simid);
  return 1;
};

const apn = (L: LuaState): number => {
  const state = stateOf(boardOf(L));
  if (lua.lua_type(L, 3) === lua.LUA_TSTRING) state.apn = checkText(L, 3);
  pushText(L, state.apn);
  return 1;
};

const ipv6 = (L: LuaState): number => {
  const state = stateOf(boardOf(L));
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) state.ipv6 = lua.lua_toboolean(L, 1);
  lua.lua_pushboolean(L, state.ipv6);
  return 1;
};

const signalFunction = (name: SignalName) => (L: LuaState): number => {
  lua.lua_pushinteger(L, signal(boardOf(L), name));
  return 1;
};

/** mobile.status(): searching from boot until the link registers (--device netDelayMs). */
const status = (L: LuaState): number => {
  const cellular = networkOf(boardOf(L)).cellular;
  lua.lua_pushinteger(L, cellular === "registered" ? REGISTERED : cellular === "searching" ? SEARCHING : UNREGISTER);
  return 1;
};

/**
 * mobile.flymode([index[, enable]]) → the previous state. Entering flight mode takes the
 * cellular link down (IP_LOSE); leaving it registers again, as long as at boot, and
 * publishes IP_READY.
 */
const flymode = (L: LuaState): number => {
  const board = boardOf(L);
  const state = stateOf(board);
  const previous = state.flymode;
  if (lua.lua_type(L, 2) === lua.LUA_TBOOLEAN) {
    const enable = lua.lua_toboolean(L, 2);
    if (enable !== previous) {
      state.flymode = enable;
      if (enable) networkOf(board).switchOff();
      else networkOf(board).register(netDelayOf(board));
    }
  }
  lua.lua_pushboolean(L, previous);
  return 1;
};

// ---- cells ----

/** mcc/mnc as the firmware reports them: the decimal digits read as hex (460 → 0x460). */
function plmn(board: Board): { mcc: number; mnc: number } {
  const digits = imsiOf(board);
  return { mcc: Number.parseInt(digits.slice(0, 3), 16) || 0x460, mnc: Number.parseInt(digits.slice(3, 5), 16) || 0 };
}

const SERVING_CID = 0x7654321;

function setInt(L: LuaState, key: string, value: number): void {
  lua.lua_pushinteger(L, value);
  lua.lua_setfield(L, -2, key);
}

const eci = (L: LuaState): number => {
  lua.lua_pushinteger(L, stateOf(boardOf(L)).flymode ? -1 : SERVING_CID);
  return 1;
};

const enbid = (L: LuaState): number => {
  lua.lua_pushinteger(L, stateOf(boardOf(L)).flymode ? -1 : SERVING_CID >> 8);
  return 1;
};

const tac = (L: LuaState): number => {
  lua.lua_pushinteger(L, 0x5a2b);
  return 1;
};

/** The serving cell and two neighbours, once reqCellInfo has been called (as since 2023.06). */
const getCellInfo = (L: LuaState): number => {
  const board = boardOf(L);
  const state = stateOf(board);
  lua.lua_createtable(L, 3, 0);
  if (!state.cellInfoRequested || state.flymode) return 1;
  const { mcc, mnc } = plmn(board);
  const cells = [
    { cid: SERVING_CID, pci: 115, earfcn: 1850, rsrp: signal(board, "rsrp"), rsrq: signal(board, "rsrq"), rssi: signal(board, "rssi"), snr: signal(board, "snr"), serving: true },
    { cid: SERVING_CID + 3, pci: 388, earfcn: 2452, rsrp: -97, rsrq: -11, rssi: -70, snr: 5, serving: false },
    { cid: SERVING_CID + 40, pci: 100, earfcn: 75, rsrp: -109, rsrq: -13, rssi: -80, snr: 2, serving: false },
  ];
  cells.forEach((cell, i) => {
    lua.lua_createtable(L, 0, 10);
    setInt(L, "mcc", mcc);
    setInt(L, "mnc", mnc);
    setInt(L, "cid", cell.cid);
    setInt(L, "pci", cell.pci);
    setInt(L, "earfcn", cell.earfcn);
    setInt(L, "rsrp", cell.rsrp);
    setInt(L, "rsrq", cell.rsrq);
    setInt(L, "rssi", cell.rssi);
    setInt(L, "snr", cell.snr);
    setInt(L, "tac", 0x5a2b);
    if (cell.serving) setInt(L, "tdd", 0);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

const reqCellInfo = (L: LuaState): number => {
  const board = boardOf(L);
  const state = stateOf(board);
  const release = board.hold();
  const handle = setTimeout(() => {
    forget();
    release();
    state.cellInfoRequested = true;
    publishSys(board, "CELL_INFO_UPDATE");
  }, CELL_INFO_DELAY_MS);
  const forget = board.own(() => clearTimeout(handle));
  return 0;
};

const dataTraffic = (L: LuaState): number => {
  for (let i = 0; i < 4; i++) lua.lua_pushinteger(L, 0);
  return 4;
};

const yes = (L: LuaState): number => {
  lua.lua_pushboolean(L, true);
  return 1;
};

const nothing = (): number => 0;

/** mobile.getBand() → the LTE bands an Air780E supports. */
const getBand = (L: LuaState): number => {
  const bands = [1, 3, 5, 8, 34, 38, 39, 40, 41];
  lua.lua_createtable(L, bands.length, 0);
  bands.forEach((band, i) => {
    lua.lua_pushinteger(L, band);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

export const mobile = defineModule("mobile", {
  available: (board) => hasCellular(board),
  functions: {
    imei, imsi, iccid, number, sn, muid, simid, apn, ipv6, status, flymode,
    csq: signalFunction("csq"), rssi: signalFunction("rssi"), rsrp: signalFunction("rsrp"),
    rsrq: signalFunction("rsrq"), snr: signalFunction("snr"),
    eci, enbid, tac, getCellInfo, reqCellInfo, dataTraffic, getBand,
    simPin: yes, config: yes, setBand: yes,
    rtime: nothing, setAuto: nothing, reset: nothing, syncTime: nothing,
  },
  constants: {
    UNREGISTER, REGISTERED, SEARCH: SEARCHING, DENIED: 3, UNKNOW: 4, REGISTERED_ROAMING: 5,
    SMS_ONLY_REGISTERED: 6, SMS_ONLY_REGISTERED_ROAMING: 7, EMERGENCY_REGISTERED: 8,
    CSFB_NOT_PREFERRED_REGISTERED: 9, CSFB_NOT_PREFERRED_REGISTERED_ROAMING: 10,
    CONF_RESELTOWEAKNCELL: 1, CONF_STATICCONFIG: 2, CONF_QUALITYFIRST: 3, CONF_USERDRXCYCLE: 4,
    CONF_T3324MAXVALUE: 5, CONF_PSM_MODE: 6, CONF_CE_MODE: 7, CONF_SIM_WC_MODE: 8,
    CONF_FAKE_CELL_BARTIME: 9, CONF_RESET_TO_FACTORY: 10, CONF_USB_ETHERNET: 11,
    PIN_VERIFY: 0, PIN_CHANGE: 1, PIN_ENABLE: 2, PIN_DISABLE: 3, PIN_UNBLOCK: 4,
  },
});

