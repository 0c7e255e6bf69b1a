// LuatOS `sms` (cellular boards only): messages sent are recorded and reported sent; no
// message ever arrives, so the new-message callback is kept and never called.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkBytes, optFlag } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { hasCellular } from "./socket.js";

/** The shortest number the firmware sends to. */
const MIN_PHONE_DIGITS = 3;

const callbacks = new WeakMap<Board, number>();

/** sms.send(phone, text[, auto_phone_fix]) → true once the message is handed to the modem. */
const send = (L: LuaState): number => {
  const board = boardOf(L);
  const phone = new TextDecoder().decode(checkBytes(L, 1));
  const text = checkBytes(L, 2);
  if (phone.replace(/^\+/, "").length < MIN_PHONE_DIGITS || text.length === 0) {
    lua.lua_pushboolean(L, false);
    return 1;
  }
  recorderOf(board).record("sms", "send", [phone, text]);
  lua.lua_pushboolean(L, true);
  return 1;
};

const setNewSmsCb = (L: LuaState): number => {
  const board = boardOf(L);
  const old = callbacks.get(board);
  if (old !== undefined) board.unref(old);
  if (lua.lua_type(L, 1) === lua.LUA_TFUNCTION) callbacks.set(board, boardOf(L).ref(L, 1));
  else callbacks.delete(board);
  return 0;
};

const autoLong = (L: LuaState): number => {
  lua.lua_pushboolean(L, optFlag(L, 1, true));
  return 1;
};

const clearLong = (L: LuaState): number => {
  lua.lua_pushinteger(L, 0);
  return 1;
};

export const sms = defineModule("sms", {
  available: (board) => hasCellular(board),
  functions: { send, setNewSmsCb, autoLong, clearLong },
});
