// Which firmware's globals a script gets, and how `auto` decides.
import type { Board, ModuleDef } from "./board.js";

export interface FlavorDef {
  /** Globals, each opened on first use. */
  readonly modules: readonly ModuleDef[];
  /** Changes to the standard library made at every boot. */
  readonly setup?: (board: Board) => void;
}

export type Flavor = "nodemcu" | "luatos";
export type FlavorChoice = Flavor | "auto";

export const FLAVORS: readonly FlavorChoice[] = ["nodemcu", "luatos", "auto"];

/**
 * `auto`: the entry file name decides (init.lua is NodeMCU, main.lua is LuatOS); otherwise
 * the API the source uses; NodeMCU when nothing tells.
 */
export function detectFlavor(entryName: string | undefined, sources: readonly string[]): Flavor {
  if (entryName === "init.lua") return "nodemcu";
  if (entryName === "main.lua") return "luatos";
  const text = sources.join("\n");
  const nodemcu = /\bmqtt\.Client\b|\btmr\./.test(text);
  const luatos = /\bmqtt\.create\b|\bsys\./.test(text);
  if (luatos && !nodemcu) return "luatos";
  return "nodemcu";
}

/** Loads one flavor's bindings: a start-up evaluates only the firmware the script runs on. */
export async function loadFlavor(flavor: Flavor): Promise<FlavorDef> {
  return flavor === "nodemcu" ? (await import("../bindings/nodemcu/index.js")).nodemcu : (await import("../bindings/luatos/index.js")).luatos;
}
