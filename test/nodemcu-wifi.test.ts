// NodeMCU wifi through the real Runtime: the simulated station's events in order with
// their tables, getip polling, outcomes from the device's network list, liveness, and the
// firmware's error wording.
import { expect } from "chai";
import type { DeviceConfig, RuntimeOptions } from "../main/index.js";
import { captured, started, type Captured } from "./support/capture.js";
import { SHOW_EVENT, errorOf, run } from "./support/lua.js";
import { makeProject } from "./support/project.js";

const DELAY = 20;

function device(extra: DeviceConfig = {}): DeviceConfig {
  // A board with no station configuration saved: these tests configure it themselves.
  return { ...extra, wifi: { connectDelayMs: DELAY, station: false, ...extra.wifi } };
}

/** A runtime kept alive by a long timer, so chunks run with exec see later events. */
function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", device: device(), prelude: ["tmr.create():alarm(600000, tmr.ALARM_SINGLE, function() end)"], ...options });
}

/** Runs a script file as the project's init.lua. */
async function script(source: string, options: RuntimeOptions = {}): Promise<Captured> {
  const dir = makeProject({ "init.lua": source });
  const c = captured({ device: device(), ...options });
  await c.rt.run(dir);
  return c;
}

const EVENT_PRINTERS = `${SHOW_EVENT}wifi.eventmon.register(wifi.eventmon.STA_CONNECTED, show("connected"))
wifi.eventmon.register(wifi.eventmon.STA_DISCONNECTED, show("disconnected"))
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, show("got_ip"))
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NodeMCU wifi station", () => {
  it("joins the configured network: connected, then got IP, a delay apart; then the script ends", async () => {
    const started = Date.now();
    const c = await script(`${EVENT_PRINTERS}
wifi.setmode(wifi.STATION)
print("config", wifi.sta.config({ssid = "HomeNet", pwd = "secret123"}), wifi.sta.status(), wifi.sta.getip())`);
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.greaterThanOrEqual(2 * DELAY - 2);
    expect(c.stdout()).to.match(
      /^config\ttrue\t1\tnil\nconnected BSSID=c8:3a:35:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2} SSID=HomeNet channel=6\ngot_ip IP=192\.168\.1\.100 gateway=192\.168\.1\.1 netmask=255\.255\.255\.0\n$/,
    );
  });

  it("serves a getip polling loop with the old positional config", async () => {
    const c = await script(`
wifi.setmode(wifi.STATION)
wifi.sta.config("HomeNet", "secret123")
local polls = 0
tmr.alarm(0, 5, tmr.ALARM_AUTO, function()
  polls = polls + 1
  if wifi.sta.getip() == nil then return end
  tmr.stop(0)
  print("ip", wifi.sta.getip())
  print("status", wifi.sta.status(), polls > 1)
end)`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("ip\t192.168.1.100\t255.255.255.0\t192.168.1.1\nstatus\t5\ttrue\n");
  });

  it("reports the device's addresses and the network's radio figures", async () => {
    const c = await boot({
      device: device({ ip: "10.0.0.7", netmask: "255.0.0.0", gateway: "10.0.0.1", mac: "AA:BB:CC:01:02:03", wifi: { networks: [{ ssid: "Lab", pwd: "pw", bssid: "11:22:33:44:55:66", channel: 11, rssi: -42 }] } }),
    });
    run(c, 'wifi.sta.config({ssid = "Lab", pwd = "pw", got_ip_cb = function() print("ready") end})');
    expect(run(c, "return wifi.sta.getrssi(), wifi.getchannel()")).to.deep.equal([null, 1]);
    await c.waitFor("ready");
    expect(run(c, "return wifi.sta.getip()")).to.deep.equal(["10.0.0.7", "255.0.0.0", "10.0.0.1"]);
    expect(run(c, "return wifi.sta.getrssi(), wifi.getchannel(), wifi.sta.getbroadcast(), wifi.sta.getmac(), wifi.ap.getmac(), wifi.sta.gethostname()")).to.deep.equal([-42, 11, "10.255.255.255", "aa:bb:cc:01:02:03", "aa:bb:cc:01:02:03", "NODE-123"]);
    await c.rt.close();
  });

  it("derives MACs and hostname from the chip id by default", async () => {
    const c = await boot();
    expect(run(c, "return wifi.sta.getmac(), wifi.ap.getmac(), wifi.sta.gethostname(), wifi.sta.sethostname('my-node'), wifi.sta.gethostname()")).to.deep.equal(["5c:cf:7f:c0:ff:ee", "5e:cf:7f:c0:ff:ee", "NODE-C0FFEE", true, "my-node"]);
    await c.rt.close();
  });

  it("does not find a network the device does not list (reason 201), and retries without keeping the script alive", async () => {
    const c = await script(`${EVENT_PRINTERS}
wifi.sta.config({ssid = "Elsewhere", pwd = "x"})`, { device: device({ wifi: { networks: [{ ssid: "Lab" }] } }) });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("disconnected BSSID=00:00:00:00:00:00 SSID=Elsewhere reason=201\n");
  });

  it("fails the handshake on a wrong password (reason 15, status STA_WRONGPWD) and retries while the script runs", async () => {
    const c = await script(`${EVENT_PRINTERS}
wifi.sta.config({ssid = "Lab", pwd = "wrong"})
tmr.create():alarm(${DELAY * 16}, tmr.ALARM_SINGLE, function() print("status", wifi.sta.status(), wifi.sta.getip()) end)`, { device: device({ wifi: { networks: [{ ssid: "Lab", pwd: "right", bssid: "11:22:33:44:55:66" }] } }) });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("disconnected BSSID=11:22:33:44:55:66 SSID=Lab reason=15\n".repeat(2) + "status\t2\tnil\n");
  });

  it("joins a listed network with the right password", async () => {
    const c = await script(`${EVENT_PRINTERS}
wifi.sta.config({ssid = "Lab", pwd = "right"})`, { device: device({ wifi: { networks: [{ ssid: "Other" }, { ssid: "Lab", pwd: "right", bssid: "11:22:33:44:55:66", channel: 3 }] } }) });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("connected BSSID=11:22:33:44:55:66 SSID=Lab channel=3\ngot_ip IP=192.168.1.100 gateway=192.168.1.1 netmask=255.255.255.0\n");
  });

  it("disconnect fires STA_DISCONNECTED with reason 8 and clears the address", async () => {
    const c = await boot();
    run(c, `${EVENT_PRINTERS} wifi.sta.config({ssid = "HomeNet", pwd = "pw", bssid = "AA:AA:AA:AA:AA:AA"})`);
    await c.waitFor("got_ip");
    run(c, 'wifi.sta.disconnect() print("after", wifi.sta.status(), wifi.sta.getip())');
    await c.waitFor("disconnected");
    expect(c.stdout()).to.equal(
      "connected BSSID=aa:aa:aa:aa:aa:aa SSID=HomeNet channel=6\ngot_ip IP=192.168.1.100 gateway=192.168.1.1 netmask=255.255.255.0\nafter\t0\tnil\ndisconnected BSSID=aa:aa:aa:aa:aa:aa SSID=HomeNet reason=8\n",
    );
    await c.rt.close();
  });

  it("calls the callbacks given to config, and waits for connect() when auto is false", async () => {
    const c = await boot();
    run(c, 'wifi.sta.config({ssid = "N", pwd = "p", auto = false, connected_cb = function(T) print("cb connected", T.SSID) end, got_ip_cb = function(T) print("cb ip", T.IP) end})');
    await sleep(DELAY * 4);
    expect(c.stdout()).to.equal("");
    expect(run(c, "return wifi.sta.status()")).to.deep.equal([0]);
    run(c, "wifi.sta.connect()");
    await c.waitFor("cb ip");
    expect(c.stdout()).to.equal("cb connected\tN\ncb ip\t192.168.1.100\n");
    await c.rt.close();
  });

  it("unregister stops an event's callback", async () => {
    const c = await script(`${EVENT_PRINTERS}
wifi.eventmon.unregister(wifi.eventmon.STA_CONNECTED)
wifi.sta.config({ssid = "N", pwd = "p"})`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("got_ip IP=192.168.1.100 gateway=192.168.1.1 netmask=255.255.255.0\n");
  });

  it("reconnects by itself after a restart with the configuration saved to flash", async () => {
    const c = await script(`
local _, reason = node.bootreason()
print("boot", reason, wifi.sta.getconfig())
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(T)
  print("ip", T.IP)
  if reason == 0 then node.restart() end
end)
if reason == 0 then wifi.sta.config("Saved", "password1") end`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("boot\t0\t\t\t0\tff:ff:ff:ff:ff:ff\nip\t192.168.1.100\nboot\t4\tSaved\tpassword1\t0\tff:ff:ff:ff:ff:ff\nip\t192.168.1.100\n");
  });

  it("leaves the network when the mode drops the station, and reports mode changes", async () => {
    const c = await boot();
    run(c, `${EVENT_PRINTERS} wifi.eventmon.register(wifi.eventmon.WIFI_MODE_CHANGED, function(T) print("mode", T.old_mode, T.new_mode) end) wifi.sta.config({ssid = "N", pwd = "p"})`);
    await c.waitFor("got_ip");
    expect(run(c, "return wifi.setmode(wifi.SOFTAP), wifi.getmode(), wifi.sta.getip(), wifi.ap.getip()")).to.deep.equal([2, 2, null, "192.168.4.1", "255.255.255.0", "192.168.4.1"]);
    await c.waitFor("mode");
    expect(c.stdout()).to.match(/\ngot_ip [^\n]*\ndisconnected BSSID=\S+ SSID=N reason=8\nmode\t1\t2\n$/);
    expect(errorOf(c, "wifi.sta.getap(print)")).to.equal("(exec):2: Can't list ap in SOFTAP mode");
    await c.rt.close();
  });

  it("lists access points in the old and the new format", async () => {
    const c = await boot({ device: device({ wifi: { networks: [{ ssid: "Lab", pwd: "x", bssid: "11:22:33:44:55:66", channel: 3, rssi: -50 }, { ssid: "Open", bssid: "66:55:44:33:22:11", channel: 9, rssi: -80 }] } }) });
    run(c, `
wifi.sta.getap(function(t) local k = {} for ssid, v in pairs(t) do k[#k + 1] = ssid .. "=" .. v end table.sort(k) print("old", table.concat(k, " ")) end)
wifi.sta.getap({ssid = "Open"}, 1, function(t) for bssid, v in pairs(t) do print("new", bssid, v) end end)`);
    await c.waitFor("new");
    expect(c.stdout()).to.equal("old\tLab=3,-50,11:22:33:44:55:66,3 Open=0,-80,66:55:44:33:22:11,9\nnew\t66:55:44:33:22:11\tOpen,-80,0,9\n");
    await c.rt.close();
  });

  it("runs the old status monitor's callbacks with the previous status", async () => {
    const c = await script(`
wifi.sta.eventMonReg(wifi.STA_CONNECTING, function(previous) print("connecting, was", previous) end)
wifi.sta.eventMonReg(wifi.STA_GOTIP, function(previous) print("got ip, was", previous, wifi.sta.getip()) end)
wifi.sta.eventMonStart()
wifi.sta.config("N", "p")`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("connecting, was\t0\ngot ip, was\t1\t192.168.1.100\t255.255.255.0\t192.168.1.1\n");
  });

  it("reports STA_APNOTFOUND after a failed search and STA_IDLE before any", async () => {
    const c = await boot({ device: device({ wifi: { networks: [{ ssid: "Lab" }] } }) });
    expect(run(c, "return wifi.sta.status(), wifi.sta.getconfig()")).to.deep.equal([0, "", "", 0, "ff:ff:ff:ff:ff:ff"]);
    run(c, 'wifi.sta.config({ssid = "Gone", pwd = "x", disconnected_cb = function() print("gone") end})');
    await c.waitFor("gone");
    expect(run(c, "return wifi.sta.status(), wifi.sta.getip(), wifi.sta.getconfig(true).ssid")).to.deep.equal([3, null, "Gone"]);
    await c.rt.close();
  });

  it("has the firmware's constants", async () => {
    const c = await boot();
    expect(run(c, "return wifi.NULLMODE, wifi.STATION, wifi.SOFTAP, wifi.STATIONAP, wifi.STA_IDLE, wifi.STA_CONNECTING, wifi.STA_WRONGPWD, wifi.STA_APNOTFOUND, wifi.STA_FAIL, wifi.STA_GOTIP")).to.deep.equal([0, 1, 2, 3, 0, 1, 2, 3, 4, 5]);
    expect(run(c, "local e = wifi.eventmon return e.STA_CONNECTED, e.STA_DISCONNECTED, e.STA_AUTHMODE_CHANGE, e.STA_GOT_IP, e.STA_DHCP_TIMEOUT, e.AP_STACONNECTED, e.reason.NO_AP_FOUND, e.reason['4WAY_HANDSHAKE_TIMEOUT'], e.reason.ASSOC_LEAVE")).to.deep.equal([0, 1, 2, 3, 4, 5, 201, 15, 8]);
    await c.rt.close();
  });

  it("raises the firmware's errors for misuse", async () => {
    const c = await boot();
    const cases: Array<[string, string]> = [
      ["wifi.setmode(7)", "bad argument #1 to 'setmode' (Invalid mode)"],
      ["wifi.setmode(1, 1)", "bad argument #2 to 'setmode' (boolean expected, got number)"],
      ["wifi.sta.config({pwd = 'x'})", "bad argument #1 to 'config' (ssid required)"],
      ["wifi.sta.config({ssid = {}})", "bad argument #1 to 'config' (ssid:not string)"],
      ["wifi.sta.config({ssid = string.rep('s', 33)})", "bad argument #1 to 'config' (ssid: length:0-32)"],
      ["wifi.sta.config({ssid = 'n', auto = 1})", "bad argument #1 to 'config' (auto:not boolean)"],
      ["wifi.sta.config({ssid = 'n', got_ip_cb = 1})", "bad argument #1 to 'config' (gotip_cb:not function)"],
      ["wifi.sta.config('n', 'p', 2)", "wrong arg type"],
      ["wifi.sta.config()", "bad argument #1 to 'config' (string expected, got no value)"],
      ["wifi.sta.sethostname('-bad-')", "bad argument #1 to 'sethostname' (Invalid hostname)"],
      ["wifi.sta.autoconnect(2)", "bad argument #1 to 'autoconnect' (0 or 1)"],
      ["wifi.eventmon.register(11, print)", "valid wifi events:0-10"],
      ["wifi.ap.config({ssid = 'ap', pwd = 'short'})", "bad argument #1 to 'config' (pwd: length:0 or 8-64)"],
    ];
    for (const [code, message] of cases) {
      expect(errorOf(c, code), code).to.equal(`(exec):2: ${message}`);
    }
    await c.rt.close();
  });
});
