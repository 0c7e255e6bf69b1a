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

  // A received payload becomes a Lua string that shares the bytes mqtt.js parsed, often
  // part of one socket read holding many packets: strings kept from a burst must still be
  // intact after every later read, equal to the same bytes made in Lua (as table keys too),
  // and unchanged by string functions that make new strings from them.
  for (const flavor of ["nodemcu", "luatos"] as const) it(`${flavor}: payloads kept from a burst stay intact`, async () => {
    const KEPT = 500;
    const expectedOf = `function(i) return ("%05d:"):format(i) .. string.rep("\\0\\255\\r\\n", 50) .. ("%05d"):format(i) end`;
    const verify = `
      local expectedOf = ${expectedOf}
      local function verify()
        local bad = 0
        for i = 1, ${KEPT} do
          local d = kept[i]
          d:upper(); d:gsub("%z", "x"); d:reverse()
          if d ~= expectedOf(i) or not byValue[expectedOf(i)] or #d ~= 211 then bad = bad + 1 end
        end
        print("kept " .. #kept .. ", bad " .. bad)
        os.exit(0)
      end
      kept, byValue = {}, {}
      local function keep(d)
        kept[#kept + 1] = d
        byValue[d] = true
        if #kept == ${KEPT} then verify() end
      end`;
    const c = track(await started({ flavor, prelude: [flavor === "nodemcu" ? `${verify}
      m = mqtt.Client("kept-nm", 30)
      m:on("message", function(_, t, d) keep(d) end)
      m:connect("127.0.0.1", ${suite.broker.tcpPort}, false, function(cl) cl:subscribe("kept/nm", 0, function() print("ready") end) end)` : `${verify}
      local c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth("kept-lt")
      c:on(function(cl, event, t, d)
        if event == "conack" then cl:subscribe("kept/lt", 0)
        elseif event == "suback" then print("ready")
        elseif event == "recv" then keep(d) end
      end)
      c:connect()`] }));
    await c.waitFor("ready\n");
    const publisher = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const block = Buffer.from("\0\xff\r\n".repeat(50), "latin1");
    const number = (i: number) => String(i).padStart(5, "0");
    for (let i = 1; i <= KEPT; i++) publisher.publish(`kept/${flavor === "nodemcu" ? "nm" : "lt"}`, Buffer.concat([Buffer.from(`${number(i)}:`), block, Buffer.from(number(i))]));
    await publisher.endAsync();
    expect([await c.rt.finished, c.stdout()]).to.deep.equal([0, `ready\nkept ${KEPT}, bad 0\n`]);
  });
});
