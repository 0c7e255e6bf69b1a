// NodeMCU Wi-Fi as a configured device: the station configuration saved in flash (from the
// device file) joining at boot, getconfig/getdefaultconfig, connect/disconnect callbacks,
// getap on the device's networks, and enduser_setup joining the device file's network.
import { expect } from "chai";
import type { DeviceConfig } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import { SHOW_EVENT } from "./support/lua.js";

const DELAY = 20;
const GREENHOUSE = { ssid: "greenhouse", pwd: "tomatoes", bssid: "11:22:33:44:55:66", channel: 11, rssi: -48 };

async function script(source: string, wifi: DeviceConfig["wifi"] = {}, extra: DeviceConfig = {}): Promise<Captured> {
  const dir = makeProject({ "init.lua": source });
  const c = captured({ device: { ...extra, wifi: { connectDelayMs: DELAY, ...wifi } } });
  await c.rt.run(dir);
  return c;
}


describe("NodeMCU wifi: the configuration saved in flash", () => {
  it("joins the device file's first network at boot: status 1, then STA_CONNECTED, STA_GOT_IP, with the device's IP", async () => {
    const c = await script(`${SHOW_EVENT}
wifi.eventmon.register(wifi.eventmon.STA_CONNECTED, show("connected"))
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(T)
  show("got_ip")(T)
  print("ip", wifi.sta.getip())
  local t = wifi.sta.getconfig(true)
  print("config", t.ssid, t.pwd, t.bssid_set, t.bssid)
end)
print("boot", wifi.getmode(), wifi.sta.status(), wifi.sta.getip(), wifi.sta.getconfig())`,
      { networks: [GREENHOUSE, { ssid: "other" }] }, { ip: "10.0.0.7", netmask: "255.0.0.0", gateway: "10.0.0.1" });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(
      "boot\t1\t1\tnil\tgreenhouse\ttomatoes\t0\tff:ff:ff:ff:ff:ff\n" +
        "connected BSSID=11:22:33:44:55:66 SSID=greenhouse channel=11\n" +
        "got_ip IP=10.0.0.7 gateway=10.0.0.1 netmask=255.0.0.0\n" +
        "ip\t10.0.0.7\t255.0.0.0\t10.0.0.1\n" +
        "config\tgreenhouse\ttomatoes\tfalse\t11:22:33:44:55:66\n",
    );
  });

  it("does not keep a script that never waits for Wi-Fi alive", async () => {
    const started = Date.now();
    const c = await script('print("hello", wifi.sta.status())', { connectDelayMs: 500 });
    expect(await c.rt.finished).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(400);
    expect(c.stdout()).to.equal("hello\t1\n");
  });

  it("uses wifi.station when given (bssid_set 1), and the open network moonrig when nothing is listed", async () => {
    const given = await script(`
print(wifi.sta.getdefaultconfig())
local t = wifi.sta.getdefaultconfig(true)
print(t.ssid, t.pwd, t.bssid_set, t.bssid)
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(T) print("ip", T.IP) end)`,
      { networks: [{ ssid: "greenhouse", pwd: "tomatoes" }, { ssid: "Lab", pwd: "labpass1", bssid: "AA:BB:CC:00:00:01" }], station: { ssid: "Lab", pwd: "labpass1", bssid: "AA:BB:CC:00:00:01" } });
    expect(await given.rt.finished).to.equal(0);
    expect(given.stdout()).to.equal("Lab\tlabpass1\t1\taa:bb:cc:00:00:01\nLab\tlabpass1\ttrue\taa:bb:cc:00:00:01\nip\t192.168.1.100\n");
    const none = await script('wifi.eventmon.register(wifi.eventmon.STA_CONNECTED, function(T) print(T.SSID, T.BSSID, wifi.sta.getconfig()) end)');
    expect(await none.rt.finished).to.equal(0);
    expect(none.stdout()).to.equal("moonrig\tc8:3a:35:fe:2b:de\tmoonrig\t\t0\tc8:3a:35:fe:2b:de\n");
  });

  it("stays idle with station false (empty strings from getconfig, as wifi.c never returns nil), auto false, or a saved SOFTAP mode", async () => {
    const fresh = await script('print(wifi.sta.status(), wifi.sta.getconfig()) local t = wifi.sta.getconfig(true) print(t.ssid, t.pwd, t.bssid_set, t.bssid)', { station: false });
    expect(await fresh.rt.finished).to.equal(0);
    expect(fresh.stdout()).to.equal("0\t\t\t0\tff:ff:ff:ff:ff:ff\n\tnil\tfalse\tff:ff:ff:ff:ff:ff\n");
    const manual = await script('print(wifi.sta.status(), (wifi.sta.getconfig()))', { station: { ssid: "greenhouse", auto: false } });
    expect(await manual.rt.finished).to.equal(0);
    expect(manual.stdout()).to.equal("0\tgreenhouse\n");
    const ap = await script("print(wifi.getmode(), wifi.getdefaultmode(), wifi.sta.status())", { mode: 2 });
    expect(await ap.rt.finished).to.equal(0);
    expect(ap.stdout()).to.equal("2\t2\t0\n");
  });

  it("saves a table config to flash by default (save = true) and not with save = false", async () => {
    const c = await script(`
local _, reason = node.bootreason()
print("boot", reason, (wifi.sta.getconfig()), (wifi.sta.getdefaultconfig()))
if reason == 0 then
  wifi.sta.config({ssid = "Temp", pwd = "password1", save = false})
  print("temp", (wifi.sta.getconfig()), (wifi.sta.getdefaultconfig()))
  wifi.sta.config({ssid = "Kept", pwd = "password2"})
  print("kept", (wifi.sta.getconfig()), (wifi.sta.getdefaultconfig()))
  node.restart()
end`);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("boot\t0\tmoonrig\tmoonrig\ntemp\tTemp\tmoonrig\nkept\tKept\tKept\nboot\t4\tKept\tKept\n");
  });
});

describe("NodeMCU wifi.sta connect/disconnect callbacks and getap", () => {
  it("connect(fn) and disconnect(fn) set the STA_CONNECTED and STA_DISCONNECTED callbacks with the firmware's tables", async () => {
    const c = await script(`${SHOW_EVENT}
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(T)
  print("ip", T.IP)
  wifi.sta.disconnect(show("disconnected"))
end)
wifi.sta.connect(show("connected"))`, { networks: [GREENHOUSE], station: { ssid: "greenhouse", pwd: "tomatoes", auto: false } });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(
      "connected BSSID=11:22:33:44:55:66 SSID=greenhouse channel=11\nip\t192.168.1.100\ndisconnected BSSID=11:22:33:44:55:66 SSID=greenhouse reason=8\n",
    );
  });

  it("takes wifi.c's connect_cb/disconnect_cb names in config as well as the documented ones", async () => {
    const c = await script(`${SHOW_EVENT}
wifi.sta.config({ssid = "greenhouse", pwd = "tomatoes", connect_cb = show("connect_cb"), got_ip_cb = function() wifi.sta.disconnect() end, disconnect_cb = show("disconnect_cb")})`, { networks: [GREENHOUSE], station: false });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("connect_cb BSSID=11:22:33:44:55:66 SSID=greenhouse channel=11\ndisconnect_cb BSSID=11:22:33:44:55:66 SSID=greenhouse reason=8\n");
  });

  it("lists the device's networks in the old format (ssid -> authmode,rssi,bssid,channel) and format 1 (bssid -> ssid,rssi,authmode,channel)", async () => {
    const c = await script(`
local function dump(name) return function(t) local k = {} for key, v in pairs(t) do k[#k + 1] = key .. "=" .. v end table.sort(k) print(name, table.concat(k, " ")) end end
wifi.sta.getap(dump("old"))
wifi.sta.getap(1, dump("new"))
wifi.sta.getap({channel = 11}, 0, dump("ch11"))`, { networks: [GREENHOUSE, { ssid: "cafe", bssid: "66:55:44:33:22:11", channel: 1, rssi: -81 }] });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(
      "old\tcafe=0,-81,66:55:44:33:22:11,1 greenhouse=3,-48,11:22:33:44:55:66,11\n" +
        "new\t11:22:33:44:55:66=greenhouse,-48,3,11 66:55:44:33:22:11=cafe,-81,0,1\n" +
        "ch11\tgreenhouse=3,-48,11:22:33:44:55:66,11\n",
    );
  });
});

describe("NodeMCU enduser_setup", () => {
  it("raises the open AP NodeMCU_XXXXXX, joins the device file's network, calls onConnected, then takes the AP down", async () => {
    const c = await script(`${SHOW_EVENT}
wifi.eventmon.register(wifi.eventmon.WIFI_MODE_CHANGED, function(T) print("mode", T.old_mode, T.new_mode) end)
wifi.eventmon.register(wifi.eventmon.STA_CONNECTED, show("connected"))
print("manual", enduser_setup.manual())
enduser_setup.start(
  function() print("Connected to WiFi as:" .. wifi.sta.getip()) end,
  function(err, str) print("enduser_setup: Err #" .. err .. ": " .. str) end,
  print)
print("ap", wifi.getmode(), wifi.ap.getconfig())`, { networks: [GREENHOUSE], station: false }, { chipId: 0x123456 });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(
      "manual\tfalse\nap\t3\tNodeMCU_123456\tnil\nmode\t1\t3\n" +
        "connected BSSID=11:22:33:44:55:66 SSID=greenhouse channel=11\n" +
        "Connected to WiFi as:192.168.1.100\nmode\t3\t1\n",
    );
  });

  it("takes the AP name given, keeps the mode in manual mode, saves the network; a second start stops the portal silently", async () => {
    const c = await script(`
print("manual", enduser_setup.manual(true), enduser_setup.manual())
enduser_setup.start("Setup-Me", function()
  print("connected", wifi.getmode(), (wifi.sta.getdefaultconfig()), (wifi.ap.getconfig()))
  enduser_setup.stop()
end)`, { networks: [GREENHOUSE], station: false });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.match(/^manual\ttrue\ttrue\nconnected\t1\tgreenhouse\tESP_[0-9A-F]{6}\n$/);
    const twice = await script(`
enduser_setup.start("A", function() print("first") end)
enduser_setup.start("B", function() print("second") end, function(e, s) print("error", e, s) end)
print(wifi.getmode())`, { networks: [GREENHOUSE], station: false });
    expect(await twice.rt.finished).to.equal(0);
    expect(twice.stdout()).to.equal("1\n");
  });
});
