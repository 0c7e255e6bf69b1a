// The LuatOS firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";

export const luatos: FlavorDef = {
  modules: [],
};
