// Bursts: messages reach Lua as soon as they are parsed (no queued job each), so these
// check that nothing is lost or reordered when thousands arrive at once, at QoS 0 and 1,
// through NodeMCU on("message"), LuatOS on(fn) and sys.publish into a waiting task. (One
// QoS per burst: MQTT orders messages of one QoS; Aedes may pass a QoS 0 message ahead of
// an earlier QoS 1 one.)
import { expect } from "chai";
import mqtt from "mqtt";
import { started } from "./support/capture.js";
import { useEmbeddedBroker, closeAfterEach } from "./support/hooks.js";

const COUNT = 3000;

describe("MQTT bursts", function () {
  this.timeout(20000);
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();

  /** Publishes COUNT numbered messages at once. */
  async function burst(topic: string, qos: 0 | 1): Promise<void> {
    const publisher = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    for (let i = 1; i <= COUNT; i++) publisher.publish(topic, String(i), { qos });
    await publisher.endAsync();
  }

  // Each script checks the numbers itself and prints one line at the end (or at the first gap).
  const CHECK = `
    local expected = 1
    local function check(data)
      if tonumber(data) ~= expected then print("out of order", data, "expected", expected) os.exit(1) end
      if expected == ${COUNT} then print("all in order") os.exit(0) end
      expected = expected + 1
    end`;

  for (const qos of [0, 1] as const) describe(`QoS ${qos}`, () => {
    it("NodeMCU on(\"message\")", async () => {
      const c = track(await started({ flavor: "nodemcu", prelude: [`${CHECK}
        m = mqtt.Client("burst-nm-${qos}", 30)
        m:on("message", function(_, t, d) check(d) end)
        m:connect("127.0.0.1", ${suite.broker.tcpPort}, false, function(cl) cl:subscribe("burst/nm", 1, function() print("ready") end) end)`] }));
      await c.waitFor("ready\n");
      await burst("burst/nm", qos);
      expect([await c.rt.finished, c.stdout()]).to.deep.equal([0, "ready\nall in order\n"]);
    });

    for (const viaSys of [false, true]) {
      it(`LuatOS on(fn)${viaSys ? " → sys.publish → sys.waitUntil in a task" : ""}`, async () => {
        const c = track(await started({ flavor: "luatos", prelude: [`${CHECK}
          ${viaSys ? `sys.taskInit(function() while true do local _, t, d = sys.waitUntil("BURST") check(d) end end)` : ""}
          local c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
          c:auth("burst-lt-${viaSys}-${qos}")
          c:on(function(cl, event, t, d)
            if event == "conack" then cl:subscribe("burst/lt", 1)
            elseif event == "suback" then print("ready")
            elseif event == "recv" then ${viaSys ? `sys.publish("BURST", t, d)` : "check(d)"} end
          end)
          c:connect()`] }));
        await c.waitFor("ready\n");
        await burst("burst/lt", qos);
        expect([await c.rt.finished, c.stdout()]).to.deep.equal([0, "ready\nall in order\n"]);
      });
    }
  });
});
