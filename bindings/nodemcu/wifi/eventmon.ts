// NodeMCU `wifi.eventmon`: callbacks for the station's and the access point's events, and
// the disconnect reason codes `wifi.eventmon.reason`.
import { lua, type LuaState } from "../../../engine/lua.js";
import { checkNumber, raise } from "../../../engine/args.js";
import { EVENTS } from "./constants.js";
import { setEventRef, wifiOf } from "./radio.js";

export const REASONS: Record<string, number> = {
  UNSPECIFIED: 1, AUTH_EXPIRE: 2, AUTH_LEAVE: 3, ASSOC_EXPIRE: 4, ASSOC_TOOMANY: 5, NOT_AUTHED: 6, NOT_ASSOCED: 7,
  ASSOC_LEAVE: 8, ASSOC_NOT_AUTHED: 9, DISASSOC_PWRCAP_BAD: 10, DISASSOC_SUPCHAN_BAD: 11, IE_INVALID: 13,
  MIC_FAILURE: 14, "4WAY_HANDSHAKE_TIMEOUT": 15, GROUP_KEY_UPDATE_TIMEOUT: 16, IE_IN_4WAY_DIFFERS: 17,
  GROUP_CIPHER_INVALID: 18, PAIRWISE_CIPHER_INVALID: 19, AKMP_INVALID: 20, UNSUPP_RSN_IE_VERSION: 21,
  INVALID_RSN_IE_CAP: 22, "802_1X_AUTH_FAILED": 23, CIPHER_SUITE_REJECTED: 24, BEACON_TIMEOUT: 200,
  NO_AP_FOUND: 201, AUTH_FAIL: 202, ASSOC_FAIL: 203, HANDSHAKE_TIMEOUT: 204,
};

const eventmonRegister = (L: LuaState): number => {
  const event = Math.trunc(checkNumber(L, 1)) & 0xff;
  if (event > EVENTS.EVENT_MAX) return raise(L, `valid wifi events:0-${EVENTS.EVENT_MAX}`);
  const wifi = wifiOf(L);
  setEventRef(L, wifi, event, lua.lua_type(L, 2) === lua.LUA_TFUNCTION ? 2 : undefined);
  return 0;
};

export const eventmonFunctions = { register: eventmonRegister, unregister: eventmonRegister };
