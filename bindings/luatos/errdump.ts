// LuatOS `errDump`: the crash and error log the firmware keeps in flash and can upload. A PC
// run never crashes into it: records written with errDump.record are kept for this boot
// and read back by errDump.dump into a zbuff.
import { lua, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { toZbuff } from "./zbuff.js";

const recordsOf = perBoard((): Uint8Array[] => []);

/** errDump.record(text): kept for the next dump. */
const record = (L: LuaState): number => {
  recordsOf(boardOf(L)).push(Uint8Array.from(checkBytes(L, 1)));
  return 0;
};

/** errDump.dump(zbuff, type, isDelete) → true when nothing had been recorded (the firmware's sense). */
const dump = (L: LuaState): number => {
  const records = recordsOf(boardOf(L));
  const buff = toZbuff(L, 1);
  const empty = records.length === 0;
  if (buff && !empty) buff.writeAtCursor(Buffer.concat(records));
  if (lua.lua_toboolean(L, 3)) records.length = 0;
  lua.lua_pushboolean(L, empty);
  return 1;
};

/** errDump.config(enable, period, ...): the upload needs the vendor's server; nothing is sent. */
const config = (): number => 0;

export const errDump = defineModule("errDump", { functions: { record, dump, config } });
