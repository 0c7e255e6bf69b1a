// The line the firmware prints (platform_print_deprecation_note) when a script uses a
// deprecated form of a call.
import { bytesOf } from "../../engine/lua.js";

export function deprecationNote(what: string, when: string): Uint8Array {
  return bytesOf(`Warning, deprecated API! ${what}. It will be removed ${when}. See documentation for details.\n`);
}
