// QoS values outside 0..2 in publish and subscribe, as each firmware treats them. NodeMCU
// (app/modules/mqtt.c) checks nothing: the value is a uint8_t, the header takes qos & 3,
// a packet id goes in for any non-zero value, and a SUBSCRIBE carries the byte as is.
// LuatOS (libemqtt.c) sends anything but 1 and 2 as QoS 0 and turns a subscription QoS
// above 2 into 0; luat_lib_mqtt.c posts "sent" for a publish only when qos is exactly 0.
import { expect } from "chai";
import mqtt from "mqtt";
import type { RuntimeOptions } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { useEmbeddedBroker, closeAfterEach } from "./support/hooks.js";
import { delay, waitUntil } from "./support/wait.js";

interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

async function sink(url: string, topic: string): Promise<{ got: Received[]; end(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `qsink-${Math.random().toString(16).slice(2, 8)}` });
  const got: Received[] = [];
  client.on("message", (t, payload, packet) => got.push({ topic: t, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain }));
  await client.subscribeAsync(topic, { qos: 2 });
  return { got, end: () => client.endAsync(true) };
}

describe("QoS outside 0..2, NodeMCU: sent as the firmware builds it", function () {
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();
  const nodemcu = (chunk: string, options: RuntimeOptions = {}): Promise<Captured> => started({ flavor: "nodemcu", keepGoing: false, ...options, prelude: [chunk] });
  /** A connected client `m` that prints offline and puback; `body` runs once connected. */
  const client = (id: string, body: string) => nodemcu(`
    m = mqtt.Client("${id}", 30)
    m:on("offline", function() print("offline") end)
    m:on("puback", function() print("puback") end)
    m:connect("127.0.0.1", ${suite.broker.tcpPort}, false, function() ${body} end)
  `);

  for (const qos of [3, -1, 7]) {
    it(`publish with qos ${qos} returns true, puts QoS bits 11 on the wire, and the broker hangs up: offline, nothing delivered`, async () => {
      const s = await sink(suite.broker.tcpUrl, "nq/#");
      const c = track(await client(`nq${qos}`, `print("queued", m:publish("nq/t", "x", ${qos}, 0))`));
      await c.waitFor("offline\n");
      await delay(50);
      expect(c.stdout()).to.equal("queued\ttrue\noffline\n");
      expect(s.got).to.deep.equal([]);
      expect(c.stderr()).to.equal("");
      await s.end();
    });
  }

  // The firmware then waits for a PUBACK that never comes, holding back everything queued
  // after it; moonrig sends what follows (see FIDELITY.md).
  it("publish with qos 4 goes out as QoS 0 with the packet id in front of the payload, and no puback", async () => {
    const s = await sink(suite.broker.tcpUrl, "nq4/#");
    const c = track(await client("nq4", `print("queued", m:publish("nq4/t", "x", 4, 0))`));
    await waitUntil(() => s.got.length === 1, "the message");
    await delay(50);
    expect(c.stdout()).to.equal("queued\ttrue\n");
    expect(s.got.map((m) => [m.payload.toString("hex"), m.qos])).to.deep.equal([["000178", 0]]);
    await s.end();
  });

  it("publish with qos 257 and 6 is QoS 1 and 2 (the low bits), retain 2 is not retained (bit 0)", async () => {
    const s = await sink(suite.broker.tcpUrl, "nq5/#");
    const c = track(await client("nq5", `print("queued", m:publish("nq5/t", "a", 257, 2), m:publish("nq5/t", "b", 6, 3))`));
    await waitUntil(() => s.got.length === 2 && c.stdout().split("puback").length === 3, "two messages and two pubacks");
    expect(s.got.map((m) => [m.payload.toString(), m.qos, m.retain])).to.deep.equal([["a", 1, false], ["b", 2, false]]);
    const late = await sink(suite.broker.tcpUrl, "nq5/#");
    await delay(100);
    expect(late.got.map((m) => m.payload.toString())).to.deep.equal(["b"]);
    await s.end();
    await late.end();
  });

  for (const [what, call] of [["qos 3", `m:subscribe("ns/a", 3)`], ["qos -1", `m:subscribe("ns/a", -1)`], ["a table with one qos 3", `m:subscribe({["ns/a"] = 1, ["ns/b"] = 3})`]] as const) {
    it(`subscribe with ${what} returns true and the broker hangs up on the SUBSCRIBE: offline, no suback`, async () => {
      const c = track(await client(`ns${what.length}`, `m:on("suback", function() print("suback") end) print("queued", ${call})`));
      await c.waitFor("offline\n");
      await delay(50);
      expect(c.stdout()).to.equal("queued\ttrue\noffline\n");
    });
  }

  it("subscribe with qos 258 asks for QoS 2", async () => {
    const c = track(await client("ns258", `m:subscribe("ns2/a", 258, function() m:publish("ns2/a", "z", 2, 0) end) m:on("message", function(_, t, d) print(t, d) end)`));
    await c.waitFor("ns2/a\tz\n");
    await waitUntil(() => c.stdout().includes("puback"), "the PUBCOMP");
    expect(c.stdout().split("\n").sort()).to.deep.equal(["", "ns2/a\tz", "puback"]);
  });
});

describe("QoS outside 0..2, LuatOS: QoS 0 without the sent event", function () {
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();
  const luatos = (chunk: string): Promise<Captured> => started({ flavor: "luatos", prelude: [chunk] });
  const client = (id: string, onConack: string) => luatos(`
    c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
    c:auth("${id}")
    c:on(function(cl, event, a, b) print(event, a, b) if event == "conack" then ${onConack} end end)
    c:connect()
  `);

  it("publish with qos 3, -1 and 255 returns 0, sends QoS 0, and posts no sent event; 256 is 0 and posts one", async () => {
    const s = await sink(suite.broker.tcpUrl, "lq/#");
    const c = track(await client("lq", `print("ids", cl:publish("lq/t", "a", 3), cl:publish("lq/t", "b", -1), cl:publish("lq/t", "c", 255), cl:publish("lq/t", "d", 256), cl:publish("lq/t", "e", 257))`));
    await waitUntil(() => s.got.length === 5 && c.stdout().includes("sent\t1"), "five messages and the QoS 1 ack");
    await delay(50);
    expect(c.stdout()).to.equal("conack\tnil\tnil\nids\t0\t0\t0\t0\t1\nsent\t0\tnil\nsent\t1\tnil\n");
    expect(s.got.map((m) => [m.payload.toString(), m.qos])).to.deep.equal([["a", 0], ["b", 0], ["c", 0], ["d", 0], ["e", 1]]);
    await s.end();
  });

  it("subscribe with qos 3 or -1 subscribes at QoS 0, 257 at QoS 1, in either form", async () => {
    const c = track(await client("ls", `print("ids", cl:subscribe("ls/a", 3), cl:subscribe("ls/b", -1), cl:subscribe({["ls/c"] = 257}))`));
    await waitUntil(() => c.stdout().split("suback").length === 4, "three subacks");
    expect(c.stdout()).to.equal("conack\tnil\tnil\nids\t1\t2\t3\nsuback\ttrue\t0\nsuback\ttrue\t0\nsuback\ttrue\t1\n");
  });
});
