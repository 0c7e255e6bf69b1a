// The NodeMCU demo project runs unchanged against a broker, as `npm start` runs it.
import { expect } from "chai";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import mqtt from "mqtt";
import { captured } from "./support/capture.js";
import { useEmbeddedBroker } from "./support/hooks.js";
import { runCli } from "./support/cli.js";

const DEMO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "demos", "nodemcu", "weather-station");

describe("demos/nodemcu/weather-station", function () {
  this.timeout(20000);
  const suite = useEmbeddedBroker();

  it("joins Wi-Fi, publishes three readings, obeys an LED command and closes cleanly", async () => {
    const watcher = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const seen: string[] = [];
    await watcher.subscribeAsync("greenhouse/#", { qos: 1 });
    watcher.on("message", (topic, payload) => {
      seen.push(`${topic} ${payload.toString()}`);
      if (topic.endsWith("/status") && payload.toString() === "online") void watcher.publishAsync("greenhouse/001234/led", "on");
    });
    const c = captured({ cwd: DEMO, broker: suite.broker.tcpUrl, device: { chipId: 0x1234 } });
    await c.rt.run(DEMO);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal([
      "wifi: got 192.168.1.100",
      "mqtt: connected",
      "command greenhouse/001234/led = on",
      'sent {"n":1,"light":512,"heap":40000}',
      'sent {"n":2,"light":512,"heap":40000}',
      'sent {"n":3,"light":512,"heap":40000}',
      "mqtt: offline",
      "",
    ].join("\n"));
    expect(c.stderr()).to.equal("moonrig: mqtt.greenhouse.lan:1883 -> " + suite.broker.tcpUrl + "\n");
    const gpioWrites = c.rt.hardware.events.filter((e) => e.module === "gpio" && e.call === "write").map((e) => e.args);
    expect(gpioWrites).to.deep.equal([[4, 1]]);
    for (let i = 0; i < 100 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).to.include.members([
      "greenhouse/001234/status online",
      'greenhouse/001234/telemetry {"n":1,"light":512,"heap":40000}',
      'greenhouse/001234/telemetry {"n":3,"light":512,"heap":40000}',
      "greenhouse/001234/status done",
    ]);
    expect(seen).not.to.include("greenhouse/001234/status offline");
    await watcher.endAsync();
    await c.rt.close();
  });

  it("runs from the command line with --broker embedded", async () => {
    const r = await runCli(["--broker", "embedded", DEMO], { timeoutMs: 20000 });
    expect(r.code).to.equal(0);
    expect(r.stdout.toString().split("\n").filter((l) => l.startsWith("sent "))).to.have.length(3);
    expect(r.stderr).to.match(/^moonrig: mqtt\.greenhouse\.lan:1883 -> mqtt:\/\/127\.0\.0\.1:\d+\n$/);
  });
});
