// NodeMCU `sntp`: a sync "succeeds" with the host's clock after a simulated round trip,
// sets the RTC (rtctime) and calls the success callback from the event loop. Nothing is
// resolved or contacted: the server named is reported back as given.
import { lua, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { rtcClockOf } from "./rtctime.js";

/** The simulated round trip; also reported as the info table's delay_us. */
export const SYNC_DELAY_MS = 20;
const REPEAT_MS = 1000 * 1000;
const DEFAULT_SERVER = "0.nodemcu.pool.ntp.org";
const MAX_HOSTNAME = 128;
const STRATUM = 2;

interface Sync {
  server: string;
  okRef: number | undefined;
  /** Kept for the firmware's signature; a simulated sync never fails. */
  errRef: number | undefined;
  repeat: boolean;
  cancel: () => void;
}

class SntpState {
  /** A sync between the call and its callback: another sync() is refused meanwhile. */
  inProgress = false;
  current: Sync | undefined;
  lastServer: string | undefined;
  offset = 0;

  constructor(readonly board: Board) {}

  start(sync: Sync, delayMs: number): void {
    const board = this.board;
    const release = board.hold();
    const handle = setTimeout(() => {
      forget();
      board.post(() => this.complete(sync));
      release();
    }, delayMs);
    const forget = board.own(() => clearTimeout(handle));
    sync.cancel = () => {
      clearTimeout(handle);
      forget();
      release();
    };
  }

  private complete(sync: Sync): void {
    if (this.current !== sync) return;
    this.inProgress = false;
    const board = this.board;
    const clock = rtcClockOf(board);
    const nowMicros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const [oldSec, oldUsec] = clock.now();
    const deltaMicros = nowMicros + this.offset * 1000000 - (oldSec * 1000000 + oldUsec);
    const sec = Math.floor(nowMicros / 1000000);
    const usec = nowMicros % 1000000;
    // With an offset set, the RTC runs that many seconds ahead of NTP time (leap seconds).
    clock.set(sec + this.offset, usec);
    this.lastServer = sync.server;
    if (sync.repeat) {
      this.start(sync, REPEAT_MS);
    } else {
      this.current = undefined;
    }
    const okRef = sync.okRef;
    if (!sync.repeat) this.release(sync);
    if (okRef === undefined) return;
    board.callRef(okRef, (L) => {
      lua.lua_pushinteger(L, sec);
      lua.lua_pushinteger(L, usec);
      pushText(L, sync.server);
      lua.lua_createtable(L, 0, 4);
      if (Math.abs(deltaMicros) >= 1000000) {
        lua.lua_pushinteger(L, Math.trunc(deltaMicros / 1000000));
        lua.lua_setfield(L, -2, "offset_s");
      } else {
        lua.lua_pushinteger(L, Math.trunc(deltaMicros));
        lua.lua_setfield(L, -2, "offset_us");
      }
      lua.lua_pushinteger(L, SYNC_DELAY_MS * 1000);
      lua.lua_setfield(L, -2, "delay_us");
      lua.lua_pushinteger(L, STRATUM);
      lua.lua_setfield(L, -2, "stratum");
      lua.lua_pushinteger(L, 0);
      lua.lua_setfield(L, -2, "leap");
      return 4;
    });
    if (!sync.repeat) board.unref(okRef);
  }

  /** Drops a sync's callbacks (the success callback is unreferenced by its caller). */
  private release(sync: Sync): void {
    if (sync.errRef !== undefined) this.board.unref(sync.errRef);
    sync.errRef = undefined;
  }

  cancelCurrent(): void {
    const sync = this.current;
    if (!sync) return;
    sync.cancel();
    this.release(sync);
    if (sync.okRef !== undefined) this.board.unref(sync.okRef);
    this.current = undefined;
    this.inProgress = false;
  }
}

const stateOf = perBoard((board): SntpState => new SntpState(board));

function serverName(L: LuaState, state: SntpState): string {
  if (lua.lua_isnoneornil(L, 1)) return state.lastServer ?? DEFAULT_SERVER;
  let name: Uint8Array;
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    // A list of servers: the first one answers.
    if (lua.lua_rawlen(L, 1) === 0) return state.lastServer ?? DEFAULT_SERVER;
    lua.lua_rawgeti(L, 1, 1);
    name = checkBytes(L, -1);
    lua.lua_pop(L, 1);
  } else {
    name = checkBytes(L, 1);
  }
  if (name.length > MAX_HOSTNAME) raise(L, "need <128 hostname");
  return new TextDecoder().decode(name);
}

const sync = (L: LuaState): number => {
  const board = boardOf(L);
  const state = stateOf(board);
  if (state.inProgress) raise(L, "sync in progress");
  const server = serverName(L, state);
  // A new sync replaces an autorepeating one.
  state.cancelCurrent();
  const entry: Sync = {
    server,
    okRef: lua.lua_isnoneornil(L, 2) ? undefined : board.ref(L, 2),
    errRef: lua.lua_isnoneornil(L, 3) ? undefined : board.ref(L, 3),
    repeat: !lua.lua_isnoneornil(L, 4),
    cancel: () => undefined,
  };
  state.current = entry;
  state.inProgress = true;
  state.start(entry, SYNC_DELAY_MS);
  return 0;
};

const setoffset = (L: LuaState): number => {
  stateOf(boardOf(L)).offset = lua.lua_isnoneornil(L, 1) ? 0 : checkInteger(L, 1);
  return 0;
};

const getoffset = (L: LuaState): number => {
  lua.lua_pushinteger(L, stateOf(boardOf(L)).offset);
  return 1;
};

export const sntp = defineModule("sntp", {
  functions: { sync, setoffset, getoffset },
});
