// The LuatOS firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";
import { mqtt } from "./mqtt.js";

export const luatos: FlavorDef = {
  modules: [mqtt],
};
