// NodeMCU `mdns` (app/modules/mdns.c): registering the device's name and service with the
// firmware's argument checks and its "No network connection" error when the interface it
// would answer on (the station, or the access point in SoftAP mode) has no address. On a PC
// the host's own mDNS responder owns port 5353, so no multicast answers go out: the
// registration is recorded as a hardware event (`mdns` `register` hostname, service, port,
// description, then the TXT records as key=value) that tests and embedders can read.
import { lua, textOf, toBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise, typeError } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { SOFTAP } from "./wifi/constants.js";
import { wifiOf } from "./wifi/radio.js";

/** The firmware keeps at most this many service-specific TXT attributes. */
const TXT_SLOTS = 10;

/** mdns.register(hostname[, attributes]) */
const register = (L: LuaState): number => {
  const hostname = textOf(checkBytes(L, 1));
  let service = "http";
  let port = 80;
  let description = hostname;
  const txt: string[] = [];
  if (lua.lua_gettop(L) >= 2) {
    if (!lua.lua_istable(L, 2)) typeError(L, 2, "table");
    lua.lua_pushnil(L);
    while (txt.length < TXT_SLOTS && lua.lua_next(L, 2)) {
      if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) typeError(L, -2, "string");
      const key = textOf(toBytes(L, -2) as Uint8Array);
      if (key === "port") port = checkInteger(L, -1);
      else if (key === "service") service = textOf(checkBytes(L, -1));
      else if (key === "description") description = textOf(checkBytes(L, -1));
      else txt.push(`${key}=${textOf(checkBytes(L, -1))}`);
      lua.lua_pop(L, 1);
    }
  }
  const wifi = wifiOf(L);
  const address = wifi.mode === SOFTAP ? wifi.apIp.ip : wifi.ipInfo?.ip;
  if (!address || address === "0.0.0.0") raise(L, "No network connection");
  recorderOf(boardOf(L)).record("mdns", "register", [hostname, service, port, description, ...txt]);
  return 0;
};

const close = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("mdns", "close", []);
  return 0;
};

export const mdns = defineModule("mdns", {
  functions: { register, close },
});
