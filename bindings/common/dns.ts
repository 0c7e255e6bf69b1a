// A host name a script connects to, resolved as the device's DNS would answer: an address as
// it is, else the embedder's `lookup` when there is one, else the PC's resolver.
import { lookup as systemLookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Board } from "../../runtime/board.js";

/** The address of `host`, or undefined when it cannot be resolved (the firmware's DNS failure). */
export async function resolveHost(board: Board, host: string, family?: 4 | 6): Promise<string | undefined> {
  if (isIP(host)) return host;
  const lookup = board.host.runtime.options.lookup;
  try {
    return lookup ? (await lookup(host)).address : (await systemLookup(host, family ? { family } : {})).address;
  } catch {
    return undefined;
  }
}
