// The Lua `at` module (present with --at): direct access to the modem for scripts that
// drive it themselves. A JS function cannot block Lua while the modem answers, so
// at.send either takes a callback or, inside a LuatOS sys task, waits like sys.waitUntil.
import { lua, pushBytes, bytesOf, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkOption, typeError, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { loadChunk } from "../../runtime/loader.js";
import { defineModule } from "../common/module.js";
import { modemFor } from "../../runtime/modem.js";
import { publishSystemMessage } from "../luatos/rtos.js";

const DEFAULT_TIMEOUT_MS = 10000;
let requests = 0;

function pushLines(L: LuaState, lines: readonly Uint8Array[]): void {
  lua.lua_createtable(L, lines.length, 0);
  lines.forEach((line, i) => {
    pushBytes(L, line);
    lua.lua_rawseti(L, -2, i + 1);
  });
}

/**
 * at.send_raw(cmd, timeout_ms, fn | nil) → request id. The answer goes to fn(lines, ok, err)
 * or, without fn, is published as a sys message named by the id.
 */
const sendRaw = (L: LuaState): number => {
  const board = boardOf(L);
  const command = checkBytes(L, 1);
  const timeoutMs = lua.lua_isnoneornil(L, 2) ? DEFAULT_TIMEOUT_MS : lua.lua_tointeger(L, 2);
  const callbackRef = lua.lua_type(L, 3) === lua.LUA_TFUNCTION ? board.ref(L, 3) : undefined;
  const id = `AT_RESPONSE_${++requests}`;
  const release = board.hold();
  const deliver = (lines: readonly Uint8Array[], ok: boolean, error: string | undefined) => {
    release();
    const pushArgs = (L1: LuaState) => {
      pushLines(L1, lines);
      lua.lua_pushboolean(L1, ok);
      if (error === undefined) lua.lua_pushnil(L1);
      else lua.lua_pushstring(L1, bytesOf(error));
      return 3;
    };
    if (callbackRef === undefined) {
      publishSystemMessage(board, id, pushArgs);
      return;
    }
    board.post(() => {
      board.callRef(callbackRef, pushArgs);
      board.unref(callbackRef);
    });
  };
  modemFor(board.host.runtime)
    .then((modem) => modem.driver.send(Buffer.from(command), { timeoutMs, acceptError: true }))
    .then(
      (response) => deliver(response.lines, response.ok, response.ok ? undefined : String(response.result)),
      (error: unknown) => deliver([], false, error instanceof Error ? error.message : String(error)),
    );
  lua.lua_pushstring(L, bytesOf(id));
  return 1;
};

// at.send itself: a callback means asynchronous; otherwise wait inside a sys task.
const SEND_WRAPPER = `
local send_raw = ...
return function(cmd, timeout, fn)
  if type(timeout) == "function" then fn, timeout = timeout, nil end
  if fn ~= nil then return send_raw(cmd, timeout, fn) end
  if not coroutine.isyieldable() or type(sys) ~= "table" then
    error("at.send: pass a callback function(lines, ok, err), or call it inside a sys task", 2)
  end
  local id = send_raw(cmd, timeout)
  local answered, lines, ok, err = sys.waitUntil(id, (timeout or ${DEFAULT_TIMEOUT_MS}) + 5000)
  if not answered then return nil, "no answer" end
  if not ok then return nil, err, lines end
  return lines
end`;

const on = (L: LuaState): number => {
  const board = boardOf(L);
  checkOption(L, 1, ["urc"] as const);
  if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) typeError(L, 2, "function");
  const ref = board.ref(L, 2);
  listeners.get(board)?.();
  let detach: (() => void) | undefined;
  let cancelled = false;
  const stop = () => {
    cancelled = true;
    detach?.();
    board.unref(ref);
  };
  listeners.set(board, stop);
  board.own(stop);
  void modemFor(board.host.runtime).then((modem) => {
    if (cancelled) return;
    detach = modem.driver.onUrc((urc) => {
      if (urc.type === "subrecv") return;
      const line = urc.line;
      board.post(() => board.callRef(ref, (L1) => {
        pushBytes(L1, line);
        return 1;
      }));
    });
  }, () => undefined);
  return 0;
};

const listeners = new WeakMap<Board, () => void>();

const raw = (L: LuaState): number => {
  const board = boardOf(L);
  const bytes = Buffer.from(checkBytes(L, 1));
  void modemFor(board.host.runtime).then((modem) => modem.driver.writeRaw(bytes), () => undefined);
  return 0;
};

export const at = defineModule("at", {
  functions: { on, raw },
  available: (board) => board.host.runtime.options.at !== undefined,
  setup: (L) => {
    if (loadChunk(L, bytesOf(SEND_WRAPPER), "=at") !== lua.LUA_OK) raise(L, "at: internal wrapper failed to load");
    lua.lua_pushjsfunction(L, sendRaw);
    lua.lua_call(L, 1, 1);
    lua.lua_setfield(L, -2, "send");
  },
});
