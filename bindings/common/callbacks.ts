// How network objects call the script back: the object itself first (nil once it let go of
// itself), then the event's own arguments.
import { lua, type LuaState } from "../../engine/lua.js";
import type { Board } from "../../runtime/board.js";

/** Calls the function in registry slot `ref` with the object in `selfRef`, then what `more` pushes. */
export function callWithSelf(board: Board, ref: number, selfRef: number | undefined, more?: (L: LuaState) => number): void {
  board.callRef(ref, (L) => {
    if (selfRef !== undefined) board.pushRef(L, selfRef);
    else lua.lua_pushnil(L);
    return 1 + (more ? more(L) : 0);
  });
}
