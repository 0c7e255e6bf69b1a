// LuatOS boards: the model in --device decides which network modules exist (as on that
// firmware build) and what hmeta says; `auto` reads the project; the network comes up after
// a board's realistic delay.
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeOptions } from "../main/index.js";
import { readDeviceFile, DeviceFileError } from "../runtime/device.js";
import { autoModel, resolveBoard } from "../bindings/luatos/boards.js";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import { tempDir } from "./support/temp.js";

/** What a project's main.lua prints about its board, one line. */
const REPORT = `
local function kind(m) if m == nil then return "nil" end return m.connect and "station" or "scan" end
print(hmeta.model(), hmeta.chip(), type(mobile), kind(wlan), type(netdrv), type(sms), socket.dft())
`;

/** Runs a project folder (main.lua and `files`) to its end; returns the captured run. */
async function project(main: string, options: RuntimeOptions = {}, files: Record<string, string> = {}): Promise<Captured> {
  const dir = makeProject({ "main.lua": main, ...files });
  const c = captured(options);
  await c.rt.run(dir);
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

async function report(device: RuntimeOptions["device"], main = REPORT): Promise<string> {
  return (await project(main, { device })).stdout();
}

describe("LuatOS boards: the model decides which modules exist", () => {
  it("Air780E (the default): mobile and sms, a wlan that only scans, netdrv; socket defaults to LWIP_GP", async () => {
    expect(await report({ model: "Air780E" })).to.equal("Air780E\tEC618\ttable\tscan\ttable\ttable\t1\t1\n");
    expect(await report({})).to.equal("Air780E\tEC618\ttable\tscan\ttable\ttable\t1\t1\n");
    expect(await report({ model: "Air780EPM" })).to.equal("Air780EPM\tEC718PM\ttable\tscan\ttable\ttable\t1\t1\n");
  });

  it("ESP32C3: wlan joins networks, no mobile, sms or netdrv; socket defaults to LWIP_STA; devid is the MAC", async () => {
    expect(await report({ model: "ESP32C3" })).to.equal("ESP32C3\tESP32C3\tnil\tstation\tnil\tnil\t2\t2\n");
    expect(await report({ model: "ESP32C3", mac: "AA:BB:CC:DD:EE:01" }, "print(hmeta.devid())")).to.equal("AABBCCDDEE01\n");
  });

  it("Air8000: cellular and Wi-Fi and netdrv; defaults to LWIP_GP, registers LWIP_AP last", async () => {
    expect(await report({ model: "Air8000" })).to.equal("Air8000\tEC718HM\ttable\tstation\ttable\ttable\t1\t3\n");
  });

  it("Air8101: Wi-Fi and Ethernet (netdrv) without cellular; LWIP_ETH comes up after netdrv.setup", async () => {
    expect(await report({ model: "Air8101" })).to.equal("Air8101\tBK7258\tnil\tstation\ttable\tnil\t2\t2\n");
    const c = await project(`
      sys.taskInit(function()
        print(netdrv.setup(socket.LWIP_ETH))
        print(sys.waitUntil("IP_READY", 1000))
        print(socket.adapter(socket.LWIP_ETH))
      end)
    `, { device: { model: "Air8101" } });
    expect(c.stdout()).to.equal("true\ntrue\t192.168.1.100\t4\ntrue\t4\n");
  });

  it("`network` overrides the model's radios; a Wi-Fi network alone names an ESP32C3", async () => {
    expect(await report({ model: "Air8000", network: "cellular" })).to.equal("Air8000\tEC718HM\ttable\tscan\ttable\ttable\t1\t1\n");
    expect(await report({ network: "wifi" })).to.equal("ESP32C3\tESP32C3\tnil\tstation\tnil\tnil\t2\t2\n");
    expect(await report({ network: "cellular" })).to.equal("Air780E\tEC618\ttable\tscan\ttable\ttable\t1\t1\n");
  });

  it("hwver and chip from the device file win; an empty model makes hmeta.model() nil", async () => {
    expect(await report({ model: "Air780EHM", hwver: "B10", chip: "X" }, "print(hmeta.model(), hmeta.hwver(), hmeta.chip())")).to.equal("Air780EHM\tB10\tX\n");
    expect(await report({ model: "" }, "print(hmeta.model(), hmeta.hwver(), hmeta.chip())")).to.equal("nil\tA11\tEC618\n");
  });
});

describe("LuatOS boards: auto reads the project", () => {
  it("picks Wi-Fi for a project that configures wlan without checking it can", async () => {
    const main = 'wlan.init()\nwlan.connect("home", "secret")\nprint(hmeta.model(), mobile == nil)';
    expect(await report({ wifi: { connectDelayMs: 5 } }, main)).to.equal("ESP32C3\ttrue\n");
  });

  it("finds the unguarded call in any of the project's files, and picks an Air8000 when mobile is used unguarded too", async () => {
    const c = await project('require "net"\nprint(hmeta.model(), #mobile.imei(), type(rawget(wlan, "connect")))', { device: { wifi: { connectDelayMs: 5 } } }, {
      "lib/net.lua": 'sys.taskInit(function() wlan.connect("ap", "pw") local imei = mobile.imei() end)',
    });
    expect(c.stdout()).to.equal("Air8000\t15\tfunction\n");
  });

  it("keeps the Air780E for guarded Wi-Fi, scanning only, or Wi-Fi code that is commented out", async () => {
    expect(await report(undefined, 'if wlan and wlan.connect then wlan.connect("a", "b") elseif mobile then print(hmeta.model()) end')).to.equal("Air780E\n");
    expect(await report(undefined, "wlan.init()\nwlan.scan()\nprint(hmeta.model())")).to.equal("Air780E\n");
    expect(await report(undefined, '-- wlan.connect("a", "b")\n--[[ wlan.setMode(wlan.STATION) ]]\nprint(hmeta.model())')).to.equal("Air780E\n");
  });

  it("autoModel on source text", () => {
    expect(autoModel('wlan.connect("a")')).to.equal("ESP32C3");
    expect(autoModel('if type(wlan.connect) == "function" then wlan.connect("a") end')).to.equal("Air780E");
    expect(autoModel('wlan.connect("a") print(mobile.imei())')).to.equal("Air8000");
    expect(autoModel('wlan.connect("a") if mobile then print(mobile.imei()) end')).to.equal("ESP32C3");
    expect(autoModel("local x = my.wlan.connect")).to.equal("Air780E");
    expect(resolveBoard({ model: "Air8000W" }, () => "").wlan).to.equal("station");
    expect(resolveBoard({ model: "SomethingElse" }, () => "")).to.deep.equal({ model: "SomethingElse", hwver: "A11", chip: "", cellular: true, wlan: "scan", netdrv: true });
  });
});

describe("LuatOS boards: the network comes up after a realistic delay", () => {
  it("cellular: IP_READY about 2 s after boot; a script that subscribes after a second still gets it", async function () {
    this.timeout(10000);
    const c = await project(`
      local t0 = mcu.ticks()
      sys.taskInit(function()
        print("boot", mobile.status(), socket.adapter(socket.LWIP_GP))
        sys.wait(1000)
        local ok, ip, adapter = sys.waitUntil("IP_READY", 5000)
        local ms = mcu.ticks() - t0
        print("ready", ok, ip, adapter, ms >= 1900 and ms <= 2600 or ms, mobile.status(), socket.adapter(socket.LWIP_GP))
      end)
    `, { device: { netDelayMs: undefined } });
    expect(c.stdout()).to.equal("boot\t2\tfalse\t1\nready\ttrue\t192.168.1.100\t1\ttrue\t1\ttrue\t1\n");
  });

  it("netDelayMs sets the cellular delay; flight mode off registers again after as long", async function () {
    this.timeout(10000);
    const c = await project(`
      local t0 = mcu.ticks()
      sys.taskInit(function()
        sys.waitUntil("IP_READY")
        local first = mcu.ticks() - t0
        print("first", first >= 280 and first <= 800 or first)
        mobile.flymode(0, true)
        print("fly", mobile.status())
        local t1 = mcu.ticks()
        mobile.flymode(0, false)
        print("again", sys.waitUntil("IP_READY", 3000), mobile.status(), mcu.ticks() - t1 >= 280)
      end)
    `, { device: { netDelayMs: 300 } });
    expect(c.stdout()).to.equal("first\ttrue\nfly\t0\nagain\ttrue\t1\ttrue\n");
  });

  it("Wi-Fi: WLAN_STA_INC about 0.5 s and IP_READY about 1 s after wlan.connect", async function () {
    this.timeout(10000);
    const c = await project(`
      sys.taskInit(function()
        local t0 = mcu.ticks()
        wlan.connect("home", "pw")
        local _, event = sys.waitUntil("WLAN_STA_INC", 3000)
        local t1 = mcu.ticks() - t0
        local ok, _, adapter = sys.waitUntil("IP_READY", 3000)
        local t2 = mcu.ticks() - t0
        print(event, t1 >= 450 and t1 <= 900 or t1, ok, adapter, t2 >= 950 and t2 <= 1600 or t2)
      end)
    `, { device: { model: "ESP32C3" } });
    expect(c.stdout()).to.equal("CONNECTED\ttrue\ttrue\t2\ttrue\n");
  });
});

describe("LuatOS boards: the device file", () => {
  it("refuses a network other than cellular or wifi, and a negative netDelayMs", () => {
    const dir = tempDir("device");
    const bad = (json: object): string => {
      const path = join(dir, "device.json");
      writeFileSync(path, JSON.stringify(json));
      try {
        readDeviceFile(path);
        return "accepted";
      } catch (error) {
        expect(error).to.be.instanceOf(DeviceFileError);
        return (error as Error).message.replace(`${path}: `, "");
      }
    };
    expect(bad({ network: "ethernet" })).to.equal('device file network must be "cellular" or "wifi"');
    expect(bad({ netDelayMs: -1 })).to.equal("device file netDelayMs must be a number of milliseconds");
    expect(bad({ model: "Air8000", netDelayMs: 500 })).to.equal("accepted");
  });
});
