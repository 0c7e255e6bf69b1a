// The LuatOS demo project runs unchanged against a broker and takes downlink commands.
import { expect } from "chai";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import mqtt from "mqtt";
import { captured } from "./support/capture.js";
import { useEmbeddedBroker } from "./support/hooks.js";
import { runCli } from "./support/cli.js";

const DEMO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "demos", "luatos", "cold-chain");
const IMEI = "123456780049153";

describe("demos/luatos/cold-chain", function () {
  this.timeout(20000);
  const suite = useEmbeddedBroker();

  it("reports JSON telemetry, restores its subscription on conack, and obeys downlink commands", async () => {
    const watcher = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const seen: string[] = [];
    await watcher.subscribeAsync("coldchain/#", { qos: 1 });
    watcher.on("message", (topic, payload) => {
      seen.push(`${topic.replace(IMEI, "IMEI")} ${payload.toString()}`);
      if (topic.endsWith("/status") && payload.toString() === "online") {
        void watcher.publishAsync(`coldchain/${IMEI}/down`, "not json");
        void watcher.publishAsync(`coldchain/${IMEI}/down`, '{"cmd":"interval","ms":200}');
      }
      if (payload.toString().includes('"n":3')) void watcher.publishAsync(`coldchain/${IMEI}/down`, '{"cmd":"stop"}');
    });
    const c = captured({ broker: suite.broker.tcpUrl, device: { imei: IMEI } });
    await c.rt.run(DEMO);
    expect(await c.rt.finished).to.equal(0);
    const lines = c.stdout().trimEnd().split("\n").map((l) => l.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] /, ""));
    expect(lines).to.deep.equal([
      "I/user.net ready 192.168.1.100 255.255.255.255 0.0.0.0 nil",
      "I/user.report 1",
      "W/user.downlink not JSON not json",
      "I/user.downlink interval now 200",
      "I/user.report 2",
      "I/user.report 3",
      "I/user.tracker finished after 3 reports",
    ]);
    for (let i = 0; i < 100 && !seen.includes("coldchain/IMEI/status done"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.filter((s) => s.includes("/up "))).to.deep.equal([
      'coldchain/IMEI/up {"n":1,"temp":4.5000000,"vbat":3800,"csq":24}',
      'coldchain/IMEI/up {"n":2,"temp":4.5000000,"vbat":3800,"csq":24}',
      'coldchain/IMEI/up {"n":3,"temp":4.5000000,"vbat":3800,"csq":24}',
    ]);
    expect(seen).to.include("coldchain/IMEI/status online");
    expect(seen).to.include("coldchain/IMEI/status done");
    await watcher.endAsync();
    await c.rt.close();
  });

  it("runs from the command line with --broker embedded", async () => {
    const r = await runCli(["--broker", "embedded", DEMO], { timeoutMs: 20000 });
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.match(/I\/user\.tracker finished after 5 reports\n$/);
    expect(r.stderr).to.match(/^moonrig: iot\.coldchain\.example:1883 -> mqtt:\/\/127\.0\.0\.1:\d+\n$/);
  });
});
