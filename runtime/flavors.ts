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

/** Loads one firmware's bindings, so that a start-up evaluates only the firmware the script runs on. */
export type FlavorLoaders = Readonly<Record<Flavor, () => Promise<FlavorDef>>>;

let installed: FlavorLoaders | undefined;

/**
 * The bindings sit above the runtime, so the package's entry points hand them down here
 * (main/flavors.ts) rather than the runtime reaching up for them.
 */
export function installFlavors(loaders: FlavorLoaders): void {
  installed = loaders;
}

export async function loadFlavor(flavor: Flavor): Promise<FlavorDef> {
  if (!installed) throw new Error("no firmware bindings installed: import moonrig from its package root (main/index.ts)");
  return installed[flavor]();
}
