// Both firmwares' bindings, handed to the runtime. Each is imported when a run first needs it.
import { installFlavors } from "../runtime/flavors.js";

installFlavors({
  nodemcu: async () => (await import("../bindings/nodemcu/index.js")).nodemcu,
  luatos: async () => (await import("../bindings/luatos/index.js")).luatos,
});
