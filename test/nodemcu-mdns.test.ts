// NodeMCU mdns: the firmware's argument checks, its error without an address, and the
// registration recorded as a hardware event (no multicast answers on a PC).
import { expect } from "chai";
import { captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

describe("NodeMCU mdns", () => {
  it("refuses before the station has an address, registers once it has, with defaults and TXT records", async () => {
    const c = captured({
      flavor: "nodemcu",
      cwd: tempDir("mdns"),
      prelude: [
        `print(pcall(mdns.register, "early"))
         wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function()
           mdns.register("fishtank")
           mdns.register("fishtank", { description = "Top Fishtank", service = "telnet", port = 23, location = "Living Room" })
           mdns.close()
           print(pcall(mdns.register, "x", { port = "eighty" }))
           print(pcall(mdns.register, "x", { [1] = "one" }))
           print(pcall(mdns.register, "x", 5))
           print(pcall(mdns.register))
         end)`,
      ],
    });
    await c.rt.run();
    expect(await c.rt.finished, c.stderr()).to.equal(0);
    expect(c.stdout()).to.equal(
      "false\tNo network connection\n" +
        "false\tbad argument #-1 to '?' (number expected, got string)\n" +
        "false\tbad argument #-2 to '?' (string expected, got number)\n" +
        "false\tbad argument #2 to '?' (table expected, got number)\n" +
        "false\tbad argument #1 to '?' (string expected, got no value)\n",
    );
    expect(c.rt.hardware.filter("mdns").map((event) => [event.call, ...event.args])).to.deep.equal([
      ["register", "fishtank", "http", 80, "fishtank"],
      ["register", "fishtank", "telnet", 23, "Top Fishtank", "location=Living Room"],
      ["close"],
    ]);
    await c.rt.close();
  });
});
