// The LuatOS firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";
import { mqtt } from "./mqtt.js";
import { rtos } from "./rtos.js";
import { log } from "./log.js";
import { json } from "./json.js";
import { mcu } from "./mcu.js";
import { sys } from "./sys.js";

export const luatos: FlavorDef = {
  modules: [mqtt, rtos, log, json, mcu, sys],
};
