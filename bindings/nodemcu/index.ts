// The NodeMCU firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";
import { tmr } from "./tmr.js";
import { node } from "./node.js";
import { mqtt } from "./mqtt.js";
import { installLua51Names } from "./lua51.js";

export const nodemcu: FlavorDef = {
  modules: [tmr, node, mqtt],
  setup: installLua51Names,
};
