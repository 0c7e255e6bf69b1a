// The LuatOS device modules through the real Runtime: identity that is never nil, the
// cellular/Wi-Fi board choice (mobile or wlan, never both), network readiness and its sys
// messages, and the hardware modules' recorded outputs and simulated inputs.
import { expect } from "chai";
import type { RuntimeOptions } from "../main/index.js";
import type { DeviceConfig } from "../runtime/device.js";
import { captured, started, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "luatos", ...options });
}

/** Runs a script to its end (idle) and returns the captured output. */
async function script(source: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "luatos", ...options, prelude: [source] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

function events(c: Captured, module: string): Array<[string, unknown[]]> {
  return c.rt.hardware
    .filter(module)
    .map((event) => [event.call, event.args.map((arg) => (arg instanceof Uint8Array ? Buffer.from(arg).toString("latin1") : arg))]);
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const WIFI: DeviceConfig = { network: "wifi", wifi: { connectDelayMs: 20 } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("LuatOS device: which modules a board has", () => {
  it("the default board is a cellular module: mobile and sms present, a wlan that only scans, w5500 nil", async () => {
    const c = await boot();
    expect(run(c, "return type(mobile), type(sms), type(socket), w5500 == nil")).to.deep.equal(["table", "table", "table", true]);
    expect(run(c, "local names = {} for k in pairs(wlan) do names[#names + 1] = k end table.sort(names) return table.concat(names, ' ')")).to.deep.equal(["init scan scanResult"]);
    await c.rt.close();
  });

  it("a Wi-Fi board (--device network wifi) has wlan and no mobile or sms", async () => {
    const c = await boot({ device: WIFI });
    expect(run(c, "return type(wlan), mobile == nil, sms == nil, type(socket)")).to.deep.equal(["table", true, true, "table"]);
    await c.rt.close();
  });

  it("the usual start-up block picks the cellular branch on the default board", async () => {
    const c = await script(`
      if wlan and wlan.connect then print("wifi")
      elseif mobile then print("cellular", mobile.imei() ~= nil)
      elseif w5500 then print("ethernet") end
    `);
    expect(c.stdout()).to.equal("cellular\ttrue\n");
  });
});

describe("LuatOS mobile", () => {
  it("derives a stable 15-digit Luhn-valid IMEI, an IMSI, a 20-digit ICCID and the rest from the chip id", async () => {
    const a = await boot();
    const b = await boot();
    const query = "return mobile.imei(), mobile.imsi(), mobile.iccid(), mobile.number(), mobile.muid(), mobile.sn(), mobile.simid()";
    const [imei, imsi, iccid, number, muid, sn, simid] = run(a, query) as [string, string, string, string, string, string, number];
    expect(run(b, query)).to.deep.equal([imei, imsi, iccid, number, muid, sn, simid]);
    expect(imei).to.match(/^\d{15}$/);
    expect(luhnValid(imei)).to.equal(true);
    expect(imsi).to.match(/^46000\d{10}$/);
    expect(iccid).to.match(/^898600\d{14}$/);
    expect(luhnValid(iccid)).to.equal(true);
    expect(number).to.match(/^138\d{8}$/);
    expect(muid).to.match(/^[0-9A-F]{32}$/);
    expect(sn).to.have.length(16);
    expect(simid).to.equal(0);
    const other = await boot({ device: { chipId: 0x123456 } });
    expect(run(other, "return mobile.imei()")[0]).to.not.equal(imei);
    for (const c of [a, b, other]) await c.rt.close();
  });

  it("takes imei, imsi and iccid from the device file", async () => {
    const c = await boot({ device: { imei: "861234567890123", imsi: "460011234567890", iccid: "89860112345678901234" } });
    expect(run(c, "return mobile.imei(), mobile.imsi(), mobile.iccid()")).to.deep.equal(["861234567890123", "460011234567890", "89860112345678901234"]);
    await c.rt.close();
  });

  it("reports a registered modem with good signal; sensors override the signal", async () => {
    const c = await boot({ device: { sensors: { csq: 18 } } });
    expect(run(c, "return mobile.status(), mobile.REGISTERED, mobile.csq(), mobile.rssi(), mobile.rsrp(), mobile.rsrq(), mobile.snr(), mobile.apn(), mobile.flymode()"))
      .to.deep.equal([1, 1, 18, -65, -90, -10, 15, "cmnet", false]);
    await c.rt.close();
  });

  it("has cell information only after reqCellInfo, announced by CELL_INFO_UPDATE", async () => {
    const c = await script(`
      sys.taskInit(function()
        print("before", #mobile.getCellInfo())
        mobile.reqCellInfo(15)
        print("update", sys.waitUntil("CELL_INFO_UPDATE", 2000))
        local cell = mobile.getCellInfo()[1]
        print(#mobile.getCellInfo(), cell.mcc, cell.mnc, cell.rsrp, cell.tdd, math.type(cell.cid))
      end)
    `);
    expect(c.stdout()).to.equal("before\t0\nupdate\ttrue\n3\t1120\t0\t-90\t0\tinteger\n");
  });

  it("flight mode takes the cellular link down (IP_LOSE) and back up (IP_READY)", async () => {
    const c = await script(`
      sys.taskInit(function()
        sys.waitUntil("IP_READY", 1000)
        sys.subscribe("IP_LOSE", function(adapter) print("IP_LOSE", adapter) end)
        print("fly", mobile.flymode(0, true), mobile.status(), socket.adapter(socket.LWIP_GP))
        sys.wait(10)
        print("land", mobile.flymode(0, false))
        print("ready", sys.waitUntil("IP_READY", 1000))
        print("status", mobile.status(), socket.adapter(socket.LWIP_GP))
      end)
    `);
    expect(c.stdout()).to.equal("fly\tfalse\t0\tfalse\t1\nIP_LOSE\t1\nland\ttrue\nready\ttrue\t192.168.1.100\t1\nstatus\t1\ttrue\t1\n");
  });
});

describe("LuatOS socket", () => {
  it("has the firmware's adapter and event constants", async () => {
    const c = await boot();
    expect(run(c, "return socket.LWIP_GP, socket.LWIP_STA, socket.LWIP_AP, socket.LWIP_ETH, socket.LWIP_SPI, socket.LWIP_USER0, socket.LWIP_USER7, socket.ETH0, socket.USB"))
      .to.deep.equal([1, 2, 3, 4, 5, 7, 14, 15, 16]);
    expect(run(c, "return socket.LINK, socket.ON_LINE, socket.TX_OK, socket.CLOSED, socket.EVENT")).to.deep.equal([33554448, 33554449, 33554450, 33554451, 33554452]);
    await c.rt.close();
  });

  it("on a cellular board the network is up from boot: adapter, dft and localIP", async () => {
    const c = await boot();
    expect(run(c, "return socket.adapter()")).to.deep.equal([true, 1]);
    expect(run(c, "return socket.adapter(socket.dft())")).to.deep.equal([true, 1]);
    expect(run(c, "return socket.adapter(socket.ETH0)")).to.deep.equal([false, 15]);
    expect(run(c, "return socket.dft()")).to.deep.equal([1, 1]);
    expect(run(c, "return socket.localIP()")).to.deep.equal(["192.168.1.100", "255.255.255.255", "0.0.0.0", null]);
    expect(run(c, "return select('#', socket.localIP(socket.ETH0))")).to.deep.equal([0]);
    expect(run(c, 'return socket.setDNS(nil, 1, "114.114.114.114"), socket.setDNS(socket.LWIP_GP, 2, 0x08080808)')).to.deep.equal([true, true]);
    await c.rt.close();
  });

  it("takes the address from the device file", async () => {
    const c = await boot({ device: { ip: "10.1.2.3", netmask: "255.0.0.0", gateway: "10.0.0.1" } });
    expect(run(c, "return socket.localIP()")).to.deep.equal(["10.1.2.3", "255.0.0.0", "10.0.0.1", null]);
    await c.rt.close();
  });

  it("the cellular board's IP_READY comes once, with the address and socket.LWIP_GP", async () => {
    const c = await script(`
      local n = 0
      sys.subscribe("IP_READY", function(ip, adapter) n = n + 1 print("IP_READY", ip, adapter) end)
      sys.taskInit(function()
        while not socket.adapter(socket.dft()) do sys.waitUntil("IP_READY", 1000) end
        print("up")
        sys.wait(300)
        print("count", n)
      end)
    `);
    expect(c.stdout()).to.equal("up\nIP_READY\t192.168.1.100\t1\ncount\t1\n");
  });

  it("socket.sntp() publishes NTP_UPDATE promptly; ntptm is valid afterwards", async () => {
    const c = await script(`
      sys.taskInit(function()
        local t0 = mcu and mcu.ticks() or 0
        socket.sntp()
        print("ntp", sys.waitUntil("NTP_UPDATE", 1000))
        local tm = socket.ntptm()
        print(tm.vaild, math.abs(tm.tsec - 2208988800 - os.time()) <= 1)
      end)
    `);
    expect(c.stdout()).to.equal("ntp\ttrue\ntrue\ttrue\n");
  });

  it("a socket object before connect: tx and rx fail as the firmware's do, linkup follows the network", async () => {
    const c = await script(`
      local ctrl = socket.create(nil, function() end)
      print(type(ctrl), socket.config(ctrl))
      print(socket.tx(ctrl, "x"))
      print(socket.rx(ctrl))
      print(socket.linkup(ctrl))
      socket.close(ctrl)
      socket.release(ctrl)
      print(socket.linkup(ctrl))
    `);
    expect(c.stdout()).to.equal("userdata\ttrue\nfalse\tfalse\tfalse\nfalse\t0\ntrue\ttrue\n\n");
  });
});

describe("LuatOS wlan (Wi-Fi boards)", () => {
  it("connect → WLAN_STA_INC CONNECTED, then IP_READY with the address and socket.LWIP_STA", async () => {
    const c = await script(`
      sys.subscribe("WLAN_STA_INC", function(evt, ssid, bssid) print("STA", evt, ssid, (bssid:gsub(".", function(ch) return ("%02X"):format(ch:byte()) end))) end)
      sys.taskInit(function()
        print(wlan.init(), wlan.setMode(wlan.STATION), wlan.ready(), socket.adapter(socket.LWIP_STA))
        print("connect", wlan.connect("home", "secret"))
        print("ip", sys.waitUntil("IP_READY", 2000))
        print(wlan.ready(), wlan.getIP(), (socket.adapter()), socket.localIP())
      end)
    `, { device: { ...WIFI, wifi: { connectDelayMs: 20, networks: [{ ssid: "home", pwd: "secret", bssid: "00:11:22:33:44:55" }] } } });
    expect(c.stdout()).to.equal(
      "true\ttrue\tfalse\tfalse\t2\nconnect\ttrue\nSTA\tCONNECTED\thome\t001122334455\nip\ttrue\t192.168.1.100\t2\n" +
        "true\t192.168.1.100\ttrue\t192.168.1.100\t255.255.255.0\t192.168.1.1\tnil\n",
    );
  });

  it("publishes IP_READY a connect delay after WLAN_STA_INC", async () => {
    const c = await script(`
      local t = {}
      sys.subscribe("WLAN_STA_INC", function() t.sta = mcu.ticks() end)
      sys.subscribe("IP_READY", function() print("gap", mcu.ticks() - t.sta >= 150) end)
      wlan.connect("any", "pwd")
    `, { device: { network: "wifi", wifi: { connectDelayMs: 200 } } });
    expect(c.stdout()).to.equal("gap\ttrue\n");
  });

  it("a wrong password gives WLAN_STA_INC DISCONNECTED and no IP", async () => {
    const c = await script(`
      sys.subscribe("WLAN_STA_INC", function(evt, reason) print("STA", evt, reason) end)
      sys.taskInit(function()
        wlan.connect("home", "wrong")
        print("ip", sys.waitUntil("IP_READY", 300), wlan.ready())
        wlan.connect("elsewhere", "x")
        sys.wait(100)
        wlan.disconnect()
      end)
    `, { device: { ...WIFI, wifi: { connectDelayMs: 20, networks: [{ ssid: "home", pwd: "secret" }] } } });
    expect(c.stdout()).to.equal("STA\tDISCONNECTED\t15\nip\tfalse\tfalse\nSTA\tDISCONNECTED\t201\n");
  });

  it("getMac is 12 uppercase hex digits from the device file or the chip id; raw bytes on request", async () => {
    const c = await boot({ device: WIFI });
    expect(run(c, "return wlan.getMac(), #wlan.getMac(0, false), wlan.hostname()")).to.deep.equal(["5CCF7FC0FFEE", 6, "LUATOS_5CCF7FC0FFEE"]);
    const d = await boot({ device: { ...WIFI, mac: "aa:bb:cc:dd:ee:0f" } });
    expect(run(d, "return wlan.getMac()")).to.deep.equal(["AABBCCDDEE0F"]);
    for (const x of [c, d]) await x.rt.close();
  });

  it("scan → WLAN_SCAN_DONE, scanResult lists the device file's networks", async () => {
    const c = await script(`
      sys.taskInit(function()
        wlan.init()
        wlan.scan()
        sys.waitUntil("WLAN_SCAN_DONE", 1000)
        for _, ap in ipairs(wlan.scanResult()) do print(ap.ssid, #ap.bssid, ap.rssi, ap.channel) end
      end)
    `, { device: { ...WIFI, wifi: { networks: [{ ssid: "a", rssi: -40, channel: 1 }, { ssid: "b" }] } } });
    expect(c.stdout()).to.equal("a\t6\t-40\t1\nb\t6\t-60\t6\n");
  });

  it("a Wi-Fi board's network is down until wlan.connect", async () => {
    const c = await boot({ device: WIFI });
    expect(run(c, "return socket.adapter(), socket.dft(), socket.localIP()")).to.deep.equal([false, 2, "0.0.0.0", "0.0.0.0", "0.0.0.0", null]);
    await c.rt.close();
  });
});

describe("LuatOS gpio", () => {
  it("has the firmware's constants", async () => {
    const c = await boot();
    expect(run(c, "return gpio.LOW, gpio.HIGH, gpio.OUTPUT, gpio.INPUT, gpio.IRQ, gpio.PULLUP, gpio.PULLDOWN, gpio.RISING, gpio.FALLING, gpio.BOTH"))
      .to.deep.equal([0, 1, 0, 1, 2, 1, 2, 0, 1, 2]);
    await c.rt.close();
  });

  it("setup of an output returns a setter; writes are recorded and read back", async () => {
    const c = await boot();
    expect(run(c, "local led = gpio.setup(27, 0); led(1); local a = gpio.get(27); gpio.set(27, 0); gpio.toggle(27); return type(led), a, gpio.get(27)")).to.deep.equal(["function", 1, 1]);
    expect(events(c, "gpio")).to.deep.equal([
      ["setup", [27, 0, 0, 0]],
      ["set", [27, 1]],
      ["set", [27, 0]],
      ["toggle", [27, 1]],
    ]);
    await c.rt.close();
  });

  it("an input reads the device file's level, setInput, or its pull", async () => {
    const c = await boot({ device: { pins: { "5": 1 } } });
    expect(run(c, "local k = gpio.setup(5, nil); local p = gpio.setup(6, nil, gpio.PULLUP); return k(), gpio.get(5), p(), gpio.get(7)")).to.deep.equal([1, 1, 1, 0]);
    c.rt.hardware.setInput(5, 0);
    expect(run(c, "return gpio.get(5)")).to.deep.equal([0]);
    await c.rt.close();
  });

  it("an interrupt pin's callback gets (level, pin) through the loop, filtered by edge", async () => {
    const c = await boot();
    run(c, `
      gpio.setup(9, function(level, pin) print("both", level, pin) end)
      gpio.setup(10, function(level, pin) print("rising", level, pin) end, gpio.PULLDOWN, gpio.RISING)
    `);
    c.rt.hardware.setInput(9, 1);
    c.rt.hardware.setInput(10, 1);
    c.rt.hardware.setInput(10, 0);
    c.rt.hardware.setInput(9, 0);
    expect(c.stdout()).to.equal("");
    await c.waitFor("both\t0\t9\n");
    expect(c.stdout()).to.equal("both\t1\t9\nrising\t1\t10\nboth\t0\t9\n");
    await c.rt.close();
  });

  it("callbacks registered inside a sys task work (the task's stack, not the main one)", async () => {
    const c = await boot({ prelude: [`
      sys.taskInit(function()
        gpio.setup(12, function(level, pin) print("irq", level, pin) end)
        uart.setup(1)
        uart.on(1, "sent", function(id) print("sent", id) end)
        uart.write(1, "x")
        sys.waitUntil("NEVER", 3000)
      end)
    `] });
    await c.waitFor("sent\t1\n");
    c.rt.hardware.setInput(12, 1);
    await c.waitFor("irq\t1\t12\n");
    expect(c.stderr()).to.equal("");
    await c.rt.close();
  });

  it("debounce mode 0 reports the first edge and ignores the pin for the time given", async () => {
    const c = await boot();
    run(c, 'gpio.debounce(4, 200); gpio.setup(4, function(level) print("irq", level) end)');
    for (const level of [1, 0, 1, 0]) c.rt.hardware.setInput(4, level);
    await sleep(50);
    expect(c.stdout()).to.equal("irq\t1\n");
    await c.rt.close();
  });
});

describe("LuatOS uart", () => {
  it("setup returns 0; write is recorded, returns the length and fires sent", async () => {
    const c = await script(`
      print(uart.setup(1, 9600, 8, 1, uart.NONE))
      uart.on(1, "sent", function(id) print("sent", id) end)
      print(uart.write(1, "AT\\r\\n"), uart.write(1, "\\0\\255", 1))
    `);
    expect(c.stdout()).to.equal("0\n4\t1\nsent\t1\nsent\t1\n");
    expect(events(c, "uart")).to.deep.equal([
      ["setup", [1, 9600, 8, 1, 0, 0, 1024]],
      ["write", [1, "AT\r\n"]],
      ["write", [1, "\0"]],
    ]);
  });

  it("fed bytes wait in the receive buffer and are announced to on('receive') as (id, length)", async () => {
    const c = await boot();
    run(c, 'uart.setup(2, 115200); uart.on(2, "receive", function(id, len) print("rx", id, len, uart.read(id, len)) end)');
    c.rt.hardware.feedUart(2, "hello");
    c.rt.hardware.feedUart(2, Uint8Array.of(0x21));
    await c.waitFor("rx");
    await sleep(10);
    expect(c.stdout()).to.equal("rx\t2\t6\thello!\n");
    expect(run(c, "return uart.rxSize(2), uart.read(2, 10), uart.exist(1), uart.exist(9), uart.VUART_0")).to.deep.equal([0, "", true, false, 32]);
    await c.rt.close();
  });
});

describe("LuatOS adc, pm, wdt, pin, rtc", () => {
  it("adc: VBAT 3800 mV and CPU 25000 m°C by default, sensors override, read gives raw and value", async () => {
    const c = await boot({ device: { sensors: { adc1: 1900 } } });
    expect(run(c, "return adc.CH_VBAT, adc.CH_CPU, adc.open(adc.CH_VBAT), adc.get(adc.CH_VBAT), adc.get(adc.CH_CPU), adc.get(1), adc.read(1)"))
      .to.deep.equal([-2, -1, true, 3800, 25000, 1900, 2048, 1900]);
    c.rt.hardware.setSensor("vbat", 4100);
    expect(run(c, "return adc.get(adc.CH_VBAT), adc.get(0)")).to.deep.equal([4100, 0]);
    await c.rt.close();
  });

  it("pm: constants, requests and power switches recorded, a plain power-on reason", async () => {
    const c = await boot();
    expect(run(c, "return pm.NONE, pm.IDLE, pm.LIGHT, pm.DEEP, pm.HIB, pm.USB, pm.GPS, pm.PWK_MODE, pm.WORK_MODE")).to.deep.equal([0, 1, 2, 3, 4, 0, 1, 5, 6]);
    expect(run(c, "return pm.request(pm.LIGHT), pm.power(pm.PWK_MODE, false), pm.power(pm.WORK_MODE, 1), pm.dtimerStart(0, 60000), pm.dtimerCheck(0), pm.lastReson()"))
      .to.deep.equal([true, true, true, true, true, 0, 0, 0]);
    expect(events(c, "pm")).to.deep.equal([
      ["request", [2]],
      ["power", [5, 0]],
      ["power", [6, 1]],
      ["dtimerStart", [0, 60000]],
    ]);
    await c.rt.close();
  });

  it("pm.reboot restarts the script", async () => {
    const c = await boot({ prelude: ['print("boot")'], runFor: 2 });
    run(c, "pm.reboot()");
    await c.waitFor("boot\nboot\n");
    await c.rt.close();
  });

  it("wdt: init and feed are recorded and succeed", async () => {
    const c = await boot();
    expect(run(c, "return wdt.init(9000), wdt.feed(), wdt.close()")).to.deep.equal([true, true, true]);
    expect(events(c, "wdt")).to.deep.equal([["init", [9000]], ["feed", []], ["close", []]]);
    await c.rt.close();
  });

  it("pin: names are port * 16 + index; other names are nil", async () => {
    const c = await boot();
    expect(run(c, 'return pin.PA0, pin.PA01, pin.PB3, pin.PC00, pin.PC01, pin.PC14, pin.get("pc15"), pin.XYZ, (pin.get("Q1"))')).to.deep.equal([0, 1, 19, 32, 33, 46, 47, null, null]);
    await c.rt.close();
  });

  it("rtc: get is the UTC time; set moves it", async () => {
    const c = await boot();
    const [now] = run(c, "return rtc.get()") as [Record<string, number>];
    expect(now.year).to.equal(new Date().getUTCFullYear());
    expect(run(c, "rtc.set({year=2030, mon=1, day=2, hour=3, min=4, sec=5}); local t = rtc.get(); return t.year, t.mon, t.day, t.hour, t.min")).to.deep.equal([2030, 1, 2, 3, 4]);
    await c.rt.close();
  });
});

describe("LuatOS spi, i2c, sms, libgnss, netdrv", () => {
  it("spi: setup returns 0, sends are recorded, reads return zeros", async () => {
    const c = await boot();
    expect(run(c, 'return spi.HSPI_0, spi.setup(spi.SPI_0, nil, 0, 0, 8, 1000000), spi.send(0, "ab"), #spi.recv(0, 3), spi.transfer(0, "\\1\\2")')).to.deep.equal([5, 0, 2, 3, "\0\0"]);
    expect(run(c, 'local d = spi.deviceSetup(1, 8); return d:send("x"), d:close()')).to.deep.equal([1, 0]);
    expect(events(c, "spi").map(([call]) => call)).to.deep.equal(["setup", "send", "recv", "transfer", "deviceSetup", "send", "close"]);
    await c.rt.close();
  });

  it("i2c: writes recorded, reads take the queued reply", async () => {
    const c = await boot();
    c.rt.hardware.i2cReply(0x44, [1, 2, 3]);
    expect(run(c, 'return i2c.setup(0, i2c.FAST), i2c.send(0, 0x44, {0x2c, 0x06}), i2c.recv(0, 0x44, 2), i2c.readReg(0, 0x44, 0, 2)')).to.deep.equal([1, true, "\x01\x02", "\x03\0"]);
    expect(events(c, "i2c")).to.deep.equal([["setup", [0, 1]], ["send", [0, 0x44, "\x2c\x06"]], ["recv", [0, 0x44, 2]], ["readReg", [0, 0x44, 0, 2]]]);
    await c.rt.close();
  });

  it("sms.send is recorded and succeeds; an empty number fails", async () => {
    const c = await boot();
    expect(run(c, 'return sms.send("+8613800138000", "hi"), sms.send("", "x")')).to.deep.equal([true, false]);
    expect(events(c, "sms")).to.deep.equal([["send", ["+8613800138000", "hi"]]]);
    await c.rt.close();
  });

  it("libgnss never has a fix", async () => {
    const c = await boot();
    expect(run(c, "libgnss.bind(2); return libgnss.isFix(), libgnss.getRmc(0).valid, libgnss.getIntLocation()")).to.deep.equal([false, false, 0, 0, 0]);
    await c.rt.close();
  });

  it("netdrv reports the board's adapters", async () => {
    const c = await boot();
    expect(run(c, "return netdrv.ready(socket.LWIP_GP), netdrv.ipv4(socket.LWIP_GP)")).to.deep.equal([true, "192.168.1.100", "255.255.255.255", "0.0.0.0"]);
    expect(run(c, "return netdrv.ready(socket.LWIP_ETH)")).to.deep.equal([]);
    await c.rt.close();
  });
});
