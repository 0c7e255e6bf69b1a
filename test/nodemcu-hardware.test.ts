// NodeMCU hardware modules through the real Runtime: recorded outputs, --device inputs,
// firmware error wording and the order of asynchronous callbacks.
import { expect } from "chai";
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from "node:net";
import type { RuntimeOptions } from "../main/index.js";
import type { HardwareEvent } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { errorOnLine1 as errorOf, run } from "./support/lua.js";
import { freePort } from "./support/ports.js";
import { createSocket } from "node:dgram";

function boot(options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor: "nodemcu", ...options });
}

/** Events without their timestamps, bytes as arrays, for deep comparison. */
function events(c: Captured, module?: string): Array<[string, string, unknown[]]> {
  const all: HardwareEvent[] = c.rt.hardware.events;
  return all
    .filter((event) => module === undefined || event.module === module)
    .map((event) => [event.module, event.call, event.args.map((arg) => (arg instanceof Uint8Array ? [...arg] : arg))]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NodeMCU gpio", () => {
  it("has the firmware's constants", async () => {
    const c = await boot();
    expect(run(c, "return gpio.OUTPUT, gpio.INPUT, gpio.INT, gpio.OPENDRAIN, gpio.PULLUP, gpio.FLOAT, gpio.HIGH, gpio.LOW")).to.deep.equal([1, 0, 2, 3, 1, 0, 1, 0]);
    await c.rt.close();
  });

  it("records mode and write; an output reads back what was written", async () => {
    const c = await boot();
    expect(run(c, "gpio.mode(4, gpio.OUTPUT); gpio.write(4, gpio.HIGH); local a = gpio.read(4); gpio.write(4, gpio.LOW); return a, gpio.read(4)")).to.deep.equal([1, 0]);
    expect(events(c)).to.deep.equal([
      ["gpio", "mode", [4, 1, 0]],
      ["gpio", "write", [4, 1]],
      ["gpio", "write", [4, 0]],
    ]);
    expect(c.rt.hardware.events.every((event) => typeof event.at === "number" && event.at >= 0)).to.equal(true);
    await c.rt.close();
  });

  it("inputs read the --device pins, else 0, or 1 with the pull-up; setInput overrides", async () => {
    const c = await boot({ device: { pins: { "5": 1, "6": 0 } } });
    expect(run(c, "gpio.mode(5, gpio.INPUT); gpio.mode(6, gpio.INPUT, gpio.PULLUP); gpio.mode(7, gpio.INPUT); gpio.mode(8, gpio.INPUT, gpio.PULLUP)\nreturn gpio.read(5), gpio.read(6), gpio.read(7), gpio.read(8)")).to.deep.equal([1, 0, 0, 1]);
    c.rt.hardware.setInput(7, 1);
    c.rt.hardware.setInput(5, 0);
    expect(run(c, "return gpio.read(5), gpio.read(7)")).to.deep.equal([0, 1]);
    await c.rt.close();
  });

  it("raises the firmware's errors for bad pins, modes and levels", async () => {
    const c = await boot();
    expect(errorOf(c, "gpio.write(13, 1)")).to.equal("(exec):1: gpio 13 does not exist");
    expect(errorOf(c, "gpio.read(-1)")).to.equal("(exec):1: gpio 4294967295 does not exist");
    expect(errorOf(c, "gpio.mode(13, gpio.OUTPUT)")).to.equal("(exec):1: bad argument #1 to 'mode' (Invalid pin)");
    expect(errorOf(c, "gpio.mode(0, gpio.INT)")).to.equal("(exec):1: bad argument #1 to 'mode' (Invalid pin)");
    expect(errorOf(c, "gpio.mode(1, 7)")).to.equal("(exec):1: bad argument #2 to 'mode' (wrong arg type)");
    expect(errorOf(c, "gpio.mode(1)")).to.equal("(exec):1: bad argument #2 to 'mode' (number expected, got no value)");
    expect(errorOf(c, "gpio.write(1, 2)")).to.equal("(exec):1: bad argument #2 to 'write' (wrong level type)");
    expect(errorOf(c, "gpio.trig(0, 'up', print)")).to.equal("(exec):1: bad argument #1 to 'trig' (Invalid interrupt pin)");
    expect(errorOf(c, "gpio.trig(1, 'sideways', print)")).to.equal("(exec):1: bad argument #2 to 'trig' (invalid option 'sideways')");
    expect(errorOf(c, "gpio.trig(1, 'up')")).to.equal("(exec):1: bad argument #3 to 'trig' (invalid callback type)");
    expect(errorOf(c, "gpio.serout(1, 1, 5)")).to.equal("(exec):1: bad argument #3 to 'serout' (Invalid delay_times)");
    await c.rt.close();
  });

  it("calls gpio.trig callbacks from the loop, in order, with level, when and count", async () => {
    const c = await boot({
      prelude: [
        "gpio.mode(3, gpio.INT, gpio.PULLUP)\n" +
          "gpio.trig(3, 'down', function(level, when, count) print('irq', level, math.type(when), when >= 0, count) end)",
      ],
    });
    const release = c.rt.loop.hold();
    const hw = c.rt.hardware;
    hw.setInput(3, 1); // already high through the pull-up: no edge
    hw.setInput(3, 0);
    expect(c.stdout()).to.equal(""); // never synchronously from the JS event
    hw.setInput(3, 1); // a rising edge: not wanted by "down"
    await c.waitFor("irq");
    run(c, "gpio.trig(3, 'both')"); // keeps the callback, changes the type
    hw.setInput(3, 0);
    hw.setInput(3, 1);
    await c.waitFor("irq\t1");
    expect(c.stdout()).to.equal("irq\t0\tinteger\ttrue\t1\nirq\t0\tinteger\ttrue\t1\nirq\t1\tinteger\ttrue\t1\n");
    run(c, "gpio.trig(3, 'none')");
    hw.setInput(3, 0);
    run(c, "gpio.trig(3, 'low', function(level) print('low', level) end)"); // already low: fires at once
    await c.waitFor("low\t0");
    run(c, "gpio.mode(3, gpio.INPUT)"); // leaving INT mode drops the callback
    hw.setInput(3, 1);
    hw.setInput(3, 0);
    await sleep(20);
    expect(c.stdout().split("\n").filter((line) => line.startsWith("low"))).to.deep.equal(["low\t0"]);
    release();
    await c.rt.close();
  });

  it("records serout's waveform and leaves the pin at its last level; the async form calls back", async () => {
    const c = await boot();
    const release = c.rt.loop.hold();
    run(c, "gpio.mode(1, gpio.OUTPUT); gpio.serout(1, gpio.HIGH, {30, 30, 60}, 2)");
    expect(run(c, "return gpio.read(1)")).to.deep.equal([0]);
    run(c, "gpio.serout(1, gpio.LOW, {1000, 1000}, 1, function() print('serout done', gpio.read(1)) end) print('queued')");
    await c.waitFor("serout done");
    expect(c.stdout()).to.equal("queued\nserout done\t1\n");
    expect(events(c, "gpio").slice(1)).to.deep.equal([
      ["gpio", "serout", [1, 1, 2, 30, 30, 60]],
      ["gpio", "serout", [1, 0, 1, 1000, 1000]],
    ]);
    release();
    await c.rt.close();
  });
});

describe("NodeMCU i2c", () => {
  it("sets up, addresses (always ACK), writes and reads what the device queued", async () => {
    const c = await boot();
    c.rt.hardware.i2cReply(0x76, [0x58, 0x01]);
    const results = run(c, `
      local speed = i2c.setup(0, 2, 1, i2c.SLOW)
      i2c.start(0)
      local ack = i2c.address(0, 0x76, i2c.TRANSMITTER)
      local n = i2c.write(0, 0xD0, "\\1\\2", {3, 4})
      i2c.stop(0)
      i2c.start(0)
      i2c.address(0, 0x76, i2c.RECEIVER)
      local data = i2c.read(0, 3)
      i2c.stop(0)
      return speed, ack, n, data, i2c.FAST, i2c.FASTPLUS`);
    expect(results).to.deep.equal([100000, true, 5, "\x58\x01\x00", 400000, 1000000]);
    expect(events(c)).to.deep.equal([
      ["i2c", "setup", [0, 2, 1, 100000]],
      ["i2c", "start", [0]],
      ["i2c", "address", [0, 0x76, 0]],
      ["i2c", "write", [0, [0xd0, 1, 2, 3, 4]]],
      ["i2c", "stop", [0]],
      ["i2c", "start", [0]],
      ["i2c", "address", [0, 0x76, 1]],
      ["i2c", "read", [0, 3]],
      ["i2c", "stop", [0]],
    ]);
    await c.rt.close();
  });

  it("raises the firmware's errors", async () => {
    const c = await boot();
    expect(errorOf(c, "i2c.start(0)")).to.equal("(exec):1: i2c 0 is not configured");
    expect(errorOf(c, "i2c.setup(1, 2, 1, i2c.SLOW)")).to.equal("(exec):1: i2c 1 does not exist");
    expect(errorOf(c, "i2c.setup(0, 0, 1, i2c.SLOW)")).to.equal("(exec):1: i2c SDA on D0 is not supported");
    expect(errorOf(c, "i2c.setup(0, 13, 1, i2c.SLOW)")).to.equal("(exec):1: gpio 13 does not exist");
    expect(errorOf(c, "i2c.setup(0, 2, 1, 0)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "i2c.address(0, 128, 0)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "i2c.write(0)")).to.equal("(exec):1: wrong arg type");
    expect(errorOf(c, "i2c.write(0, 256)")).to.equal("(exec):1: wrong arg range");
    expect(run(c, "return select('#', i2c.read(0, 0))")).to.deep.equal([0]);
    await c.rt.close();
  });
});

describe("NodeMCU rtctime and sntp", () => {
  it("rtctime is 0 until set, then ticks; epoch2cal gives the UTC calendar", async () => {
    const c = await boot();
    expect(run(c, "return rtctime.get()")).to.deep.equal([0, 0, 0]);
    const [sec, usec] = run(c, "rtctime.set(1700000000, 250000) return rtctime.get()") as number[];
    expect(sec).to.equal(1700000000);
    expect(usec).to.be.within(250000, 999999);
    expect(run(c, "return rtctime.epoch2cal(1700000000)")).to.deep.equal([{ year: 2023, mon: 11, day: 14, hour: 22, min: 13, sec: 20, yday: 318, wday: 3 }]);
    expect(run(c, "return rtctime.epoch2cal(951782400)")).to.deep.equal([{ year: 2000, mon: 2, day: 29, hour: 0, min: 0, sec: 0, yday: 60, wday: 3 }]);
    expect(errorOf(c, "rtctime.epoch2cal(-1)")).to.equal("(exec):1: bad argument #1 to 'epoch2cal' (wrong arg range)");
    await c.rt.close();
  });

  it("sntp.sync calls back later with the host time, sets rtctime, and resolves nothing", async () => {
    const lookups: string[] = [];
    const c = await boot({
      lookup: async (host) => {
        lookups.push(host);
        throw new Error("no DNS in this test");
      },
      prelude: [
        "sntp.sync(nil, function(sec, usec, server, info)\n" +
          "  local now = rtctime.get()\n" +
          "  print('synced', server, math.type(sec), usec < 1000000, info.stratum, info.delay_us, info.leap, info.offset_s == sec, now >= sec)\n" +
          "  sntp.sync('time.example.com', function(_, _, server2, info2) print('again', server2, info2.offset_s, info2.offset_us ~= nil) end, print)\n" +
          "end, function(code) print('failed', code) end)\n" +
          "print('after sync')",
      ],
    });
    const before = Math.floor(Date.now() / 1000);
    await c.waitFor("again");
    expect(c.stdout()).to.equal("after sync\nsynced\t0.nodemcu.pool.ntp.org\tinteger\ttrue\t2\t20000\t0\ttrue\ttrue\nagain\ttime.example.com\tnil\ttrue\n");
    const [sec] = run(c, "return rtctime.get()") as number[];
    expect(sec).to.be.within(before, Math.floor(Date.now() / 1000));
    expect(lookups).to.deep.equal([]);
    expect(await c.rt.finished).to.equal(0);
  });

  it("refuses a second sync while one is under way; autorepeat keeps the script alive", async () => {
    const c = await boot({ prelude: ["sntp.sync(nil, function() print('tick') end, nil, 1)"] });
    expect(errorOf(c, "sntp.sync()")).to.equal("(exec):1: sync in progress");
    await c.waitFor("tick");
    await sleep(30);
    expect(c.rt.exited).to.equal(false);
    await c.rt.close();
  });
});

describe("NodeMCU adc, pwm, dht", () => {
  it("adc reads the --device sensors or plausible constants", async () => {
    const c = await boot();
    expect(run(c, "return adc.read(0), adc.readvdd33(), adc.INIT_ADC, adc.INIT_VDD33")).to.deep.equal([512, 3300, 0, 255]);
    expect(run(c, "return adc.force_init_mode(adc.INIT_VDD33), adc.force_init_mode(adc.INIT_VDD33)")).to.deep.equal([true, false]);
    expect(errorOf(c, "adc.read(1)")).to.equal("(exec):1: adc 1 does not exist");
    await c.rt.close();
    const d = await boot({ device: { sensors: { adc: 700, vdd33: 3012 } } });
    expect(run(d, "return adc.read(0), adc.readvdd33()")).to.deep.equal([700, 3012]);
    d.rt.hardware.setSensor("adc", 5000);
    expect(run(d, "return adc.read(0)")).to.deep.equal([1023]);
    await d.rt.close();
  });

  it("pwm shares one clock (max 1000 Hz), keeps duties and records every change", async () => {
    const c = await boot();
    expect(run(c, "return pwm.setup(1, 500, 512), pwm.getduty(1), pwm.getclock(1), pwm.getclock(2)")).to.deep.equal([500, 512, 500, 0]);
    expect(run(c, "pwm.start(1) return pwm.setduty(1, 100), pwm.getduty(1), pwm.setup(2, 5000, 0), pwm.getclock(1), pwm.setclock(1, 100), pwm.setduty(3, 10)")).to.deep.equal([100, 100, 1000, 1000, 100, 0]);
    run(c, "pwm.stop(1) pwm.close(2)");
    expect(events(c)).to.deep.equal([
      ["pwm", "setup", [1, 500, 512]],
      ["pwm", "start", [1]],
      ["pwm", "setduty", [1, 100]],
      ["pwm", "setup", [2, 1000, 0]],
      ["pwm", "setclock", [1, 100]],
      ["pwm", "stop", [1]],
      ["pwm", "close", [2]],
    ]);
    expect(errorOf(c, "pwm.setup(0, 100, 0)")).to.equal("(exec):1: no pwm for D0");
    expect(errorOf(c, "pwm.setup(13, 100, 0)")).to.equal("(exec):1: pwm 13 does not exist");
    expect(errorOf(c, "pwm.setup(1, 100, 1024)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "pwm.setup(1, 0, 10)")).to.equal("(exec):1: wrong arg range");
    expect(errorOf(c, "pwm.start(5)")).to.equal("(exec):1: Unable to start PWM output");
    expect(errorOf(c, "for pin = 2, 8 do pwm.setup(pin, 100, 0) end")).to.equal("(exec):1: too many pwms.");
    await c.rt.close();
  });

  it("dht returns OK with the --device readings at the model's resolution", async () => {
    const c = await boot();
    expect(run(c, "return dht.read(5)")).to.deep.equal([0, 21.5, 45.5, 500, 500]);
    expect(run(c, "return dht.read11(5)")).to.deep.equal([0, 21, 45, 0, 0]);
    run(c, "local status, temp = dht.read11(5) print('T=' .. temp, dht.OK, dht.ERROR_CHECKSUM, dht.ERROR_TIMEOUT)");
    expect(c.stdout()).to.equal("T=21\t0\t-1\t-2\n");
    expect(errorOf(c, "dht.read(0)")).to.equal("(exec):1: dht 0 does not exist");
    await c.rt.close();
    const d = await boot({ device: { sensors: { temperature: -3.5, humidity: 61 } } });
    expect(run(d, "return dht.readxx(2)")).to.deep.equal([0, -3.5, 61, -500, 0]);
    await d.rt.close();
  });
});

describe("NodeMCU uart", () => {
  it("uart 0 is the console: write goes to stdout and is recorded; uart 1 is only recorded", async () => {
    const c = await boot();
    expect(run(c, "return uart.setup(0, 9600, 8, uart.PARITY_NONE, uart.STOPBITS_1, 0)")).to.deep.equal([9600]);
    expect(run(c, "return uart.getconfig(0)")).to.deep.equal([9600, 8, 0, 1]);
    expect(run(c, "return uart.getconfig(1)")).to.deep.equal([115200, 8, 0, 1]);
    run(c, "uart.write(0, 'hi', 10) uart.write(1, 'x\\0y')");
    expect([...c.stdoutBytes()]).to.deep.equal([0x68, 0x69, 0x0a]);
    expect(events(c)).to.deep.equal([
      ["uart", "setup", [0, 9600, 8, 0, 1, false]],
      ["uart", "write", [0, [0x68, 0x69, 0x0a]]],
      ["uart", "write", [1, [0x78, 0, 0x79]]],
    ]);
    expect(errorOf(c, "uart.write(0, 256)")).to.equal("(exec):1: invalid number");
    expect(errorOf(c, "uart.write(0, {})")).to.equal("(exec):1: bad argument #2 to 'write' (string expected, got table)");
    expect(errorOf(c, "uart.write(2, 'x')")).to.equal("(exec):1: uart 2 does not exist");
    expect(errorOf(c, "uart.on('receive', print)")).to.equal("(exec):1: method not supported");
    expect(errorOf(c, "uart.on('data', 256, print)")).to.equal("(exec):1: wrong arg range");
    await c.rt.close();
  });

  it("uart.on('data') gets fed bytes, cut at the end character or by length", async () => {
    const c = await boot({ prelude: ["uart.on('data', '\\r', function(data) print('line', #data, data) end, 0)"] });
    const release = c.rt.loop.hold();
    const hw = c.rt.hardware;
    hw.feedUart(0, "ab\rc");
    hw.feedUart(1, "ignored\r");
    hw.feedUart(0, "d\r");
    expect(c.stdout()).to.equal("");
    await c.waitFor("line\t3\tcd");
    expect(c.stdout()).to.equal("line\t3\tab\r\nline\t3\tcd\r\n");
    run(c, "uart.on('data', 2, function(data) print('pair', data) end, 0)");
    hw.feedUart(0, "wxyz1");
    await c.waitFor("pair\tyz");
    run(c, "uart.on('data')");
    hw.feedUart(0, "22");
    await sleep(20);
    expect(c.stdout().split("\n").filter((line) => line.startsWith("pair"))).to.deep.equal(["pair\twx", "pair\tyz"]);
    release();
    await c.rt.close();
  });
});

describe("NodeMCU ow", () => {
  it("finds a DS18B20 and reads the --device temperature through the usual script", async () => {
    const c = await boot({ device: { sensors: { temperature: 23.25 } } });
    run(c, `
      local pin = 3
      ow.setup(pin)
      ow.reset_search(pin)
      local addr = ow.search(pin)
      print('family', addr:byte(1), #addr, ow.crc8(string.sub(addr, 1, 7)) == addr:byte(8))
      print('again', ow.search(pin))
      ow.reset(pin)
      ow.select(pin, addr)
      ow.write(pin, 0x44, 1)
      -- Read slots answer 0 until the 750 ms conversion is over.
      print('busy', ow.read(pin))
      while ow.read(pin) == 0 do end
      print('present', ow.reset(pin))
      ow.select(pin, addr)
      ow.write(pin, 0xBE, 1)
      local data = string.char(ow.read(pin))
      for i = 1, 8 do data = data .. string.char(ow.read(pin)) end
      local crc = ow.crc8(string.sub(data, 1, 8))
      local t = (data:byte(1) + data:byte(2) * 256) * 625
      print('temp', crc == data:byte(9), t / 10000)`);
    expect(c.stdout()).to.equal("family\t40\t8\ttrue\nagain\tnil\nbusy\t0\npresent\t1\ntemp\ttrue\t23.25\n");
    expect(events(c, "ow").map(([, call]) => call)).to.deep.equal(["setup", "reset", "select", "write", "reset", "select", "write"]);
    expect(events(c, "ow")[3]).to.deep.equal(["ow", "write", [3, 0x44, 1]]);
    await c.rt.close();
  });

  it("computes the Dallas CRCs and raises the firmware's errors", async () => {
    const c = await boot();
    expect(run(c, "return ow.crc8('\\2\\28\\184\\1\\0\\0\\0'), ow.crc16('123456789')")).to.deep.equal([0xa2, 0xbb3d]);
    expect(run(c, "local crc = ow.crc16('123456789') ~ 0xffff return ow.check_crc16('123456789', crc & 0xff, crc >> 8)")).to.deep.equal([true]);
    expect(errorOf(c, "ow.setup(0)")).to.equal("(exec):1: no 1-wire for D0");
    expect(errorOf(c, "ow.reset(13)")).to.equal("(exec):1: ow 13 does not exist");
    expect(errorOf(c, "ow.select(1, 'short')")).to.equal("(exec):1: wrong arg range");
    await c.rt.close();
  });
});

describe("NodeMCU crypto and encoder", () => {
  it("hashes, HMACs and encodes bytes like node:crypto", async () => {
    const c = await boot();
    const [sha1, hmac, md5, base64, hex, masked] = run(c, `
      local h = crypto.new_hash("md5") h:update("a") h:update("bc")
      return crypto.toHex(crypto.hash("sha1", "abc")), crypto.toHex(crypto.hmac("SHA256", "data", "key")),
        crypto.toHex(h:finalize()), crypto.toBase64("\\0\\255hello"), encoder.toHex("\\0\\255"), crypto.mask("abc", "\\1")`) as string[];
    expect(sha1).to.equal(createHash("sha1").update("abc").digest("hex"));
    expect(hmac).to.equal(createHmac("sha256", "key").update("data").digest("hex"));
    expect(md5).to.equal("900150983cd24fb0d6963f7d28e17f72");
    expect(base64).to.equal(Buffer.from("\0\xffhello", "latin1").toString("base64"));
    expect([hex, masked]).to.deep.equal(["00ff", "`cb"]);
    expect(run(c, "return crypto.toHex(crypto.new_hmac('sha1', 'k'):finalize()) == crypto.toHex(crypto.hmac('SHA1', '', 'k'))")).to.deep.equal([true]);
    expect(errorOf(c, "crypto.hash('sha3', 'x')")).to.equal("(exec):1: unknown hash mech");
    expect(errorOf(c, "crypto.mask('x', '')")).to.equal("(exec):1: invalid argument: mask");
    await c.rt.close();
  });

  it("AES pads with zeros to whole blocks and CBC chains from the IV", async () => {
    const c = await boot();
    const key = "0123456789abcdef";
    const iv = "fedcba9876543210";
    const [ecb, cbc, back] = run(c, `
      local e = crypto.encrypt("AES-ECB", "${key}", "hello")
      local b = crypto.encrypt("aes-cbc", "${key}", string.rep("x", 20), "${iv}")
      return e, b, crypto.decrypt("AES-CBC", "${key}", b, "${iv}")`) as string[];
    const expected = (mode: "ecb" | "cbc", data: Buffer, ivBytes: Buffer | null) => {
      const cipher = createCipheriv(`aes-128-${mode}`, Buffer.from(key), ivBytes);
      cipher.setAutoPadding(false);
      return Buffer.concat([cipher.update(data), cipher.final()]).toString("latin1");
    };
    expect(ecb).to.equal(expected("ecb", Buffer.concat([Buffer.from("hello"), Buffer.alloc(11)]), null));
    expect(cbc).to.equal(expected("cbc", Buffer.concat([Buffer.from("x".repeat(20)), Buffer.alloc(12)]), Buffer.from(iv)));
    expect(back).to.equal("x".repeat(20) + "\0".repeat(12));
    expect(errorOf(c, "crypto.encrypt('DES', 'k', 'x')")).to.equal("(exec):1: unknown cipher: DES");
    expect(errorOf(c, "crypto.encrypt('AES-ECB', 'short', 'x')")).to.equal("(exec):1: crypto op failed");
    await c.rt.close();
  });

  it("encoder round-trips bytes and refuses malformed input with the firmware's words", async () => {
    const c = await boot();
    expect(run(c, "local s = '\\0\\1\\255xyz' return encoder.fromBase64(encoder.toBase64(s)) == s, encoder.fromHex(encoder.toHex(s)) == s, encoder.toBase64(''), encoder.fromBase64('QUI='), encoder.fromHex('4A4b')")).to.deep.equal([true, true, "", "AB", "JK"]);
    expect(errorOf(c, "encoder.fromBase64('abc')")).to.equal("(exec):1: Invalid base64 string");
    expect(errorOf(c, "encoder.fromBase64('ab=c')")).to.equal("(exec):1: Invalid base64 string");
    expect(errorOf(c, "encoder.fromHex('zz')")).to.equal("(exec):1: Invalid hex string");
    expect(errorOf(c, "encoder.fromHex('abc')")).to.equal("(exec):1: Invalid hex string");
    await c.rt.close();
  });
});

describe("NodeMCU ws2812", () => {
  it("buffers hold colors; init and write are recorded as the bytes sent", async () => {
    const c = await boot();
    const results = run(c, `
      ws2812.init()
      local buf = ws2812.newBuffer(3, 3)
      buf:fill(0, 0, 255)
      buf:set(2, 255, 0, 0)
      buf:set(3, {1, 2, 3})
      ws2812.write(buf)
      ws2812.write(string.char(9, 8, 7))
      local a, b, cc = buf:get(2)
      buf:shift(1, ws2812.SHIFT_CIRCULAR)
      return a, b, cc, buf:size(), tostring(buf), buf:power(), tostring(buf:sub(2, 2) .. buf:sub(1, 1))`);
    expect(results).to.deep.equal([255, 0, 0, 3, "[(1,2,3),(0,0,255),(255,0,0)]", 516, "[(0,0,255),(1,2,3)]"]);
    expect(events(c)).to.deep.equal([
      ["ws2812", "init", [0]],
      ["ws2812", "write", [[0, 0, 255, 255, 0, 0, 1, 2, 3]]],
      ["ws2812", "write", [[9, 8, 7]]],
    ]);
    expect(errorOf(c, "ws2812.newBuffer(3, 3):get(4)")).to.equal("(exec):1: bad argument #1 to 'get' (index out of range)");
    expect(errorOf(c, "ws2812.newBuffer(0, 3)")).to.equal("(exec):1: bad argument #1 to 'newBuffer' (should be a positive integer)");
    expect(errorOf(c, "ws2812.init(5)")).to.equal("(exec):1: bad argument #1 to 'init' (ws2812.SINGLE or ws2812.DUAL expected)");
    expect(errorOf(c, "ws2812.write(5)")).to.equal("(exec):1: bad argument #1 to 'write' (pixbuf or string expected)");
    await c.rt.close();
  });
});

describe("NodeMCU net", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it("a server listens on loopback: accept, connection, receive, send, sent in order", async () => {
    const c = await boot({
      prelude: [
        "srv = net.createServer(net.TCP, 30)\n" +
          "srv:listen(0, function(conn)\n" +
          "  print('accept', conn:getpeer() ~= nil)\n" +
          "  conn:on('connection', function(s) print('connection') end)\n" +
          "  conn:on('receive', function(s, data) print('receive', data) s:send('pong:' .. data, function(s2) print('sent') s2:close() end) end)\n" +
          "end)",
      ],
    });
    let port: number | undefined;
    for (let i = 0; i < 100 && port === undefined; i++) {
      await sleep(5);
      port = (run(c, "return (srv:getaddr())")[0] as number | null) ?? undefined;
    }
    expect(port).to.be.a("number");
    const reply = await new Promise<string>((resolve, reject) => {
      const socket: Socket = tcpConnect({ port: port as number, host: "127.0.0.1" }, () => socket.write("ping"));
      let data = "";
      socket.on("data", (chunk) => (data += chunk.toString()));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(reply).to.equal("pong:ping");
    await c.waitFor("sent");
    expect(c.stdout()).to.equal("accept\ttrue\nconnection\nreceive\tping\nsent\n");
    run(c, "srv:close()");
    expect(errorOf(c, "srv:close()")).to.equal("(exec):1: not connected");
    expect(await c.rt.finished).to.equal(0);
  });

  it("a client connects to loopback; other hosts fail without sending a packet", async () => {
    server = createServer((socket) => {
      socket.on("data", (data) => socket.end(`echo:${data.toString()}`));
    });
    await new Promise<void>((resolve) => (server as Server).listen(0, "127.0.0.1", resolve));
    const port = ((server as Server).address() as AddressInfo).port;
    const lookups: string[] = [];
    const c = await boot({
      lookup: async (host) => {
        lookups.push(host);
        return { address: "93.184.216.34", family: 4 };
      },
      prelude: [
        "local sk = net.createConnection(net.TCP, 0)\n" +
          "sk:on('receive', function(s, data) print('receive', data) end)\n" +
          "sk:on('disconnection', function(s, err) print('disconnection', err) end)\n" +
          `sk:connect(${port}, '127.0.0.1', function(s) print('connected', s:getpeer()) s:send('hi') end)\n` +
          "local far = net.createConnection()\n" +
          "far:on('reconnection', function(s, err) print('reconnection', err) end)\n" +
          "far:connect(80, 'example.com')\n" +
          "print('started')",
      ],
    });
    await c.waitFor("disconnection");
    const lines = c.stdout().trim().split("\n");
    expect(lines[0]).to.equal("started");
    expect(lines).to.include.members(["reconnection\t-8", `connected\t${port}\t127.0.0.1`, "receive\techo:hi", "disconnection\t0"]);
    expect(lines.indexOf(`connected\t${port}\t127.0.0.1`)).to.be.below(lines.indexOf("receive\techo:hi"));
    expect(c.stderr()).to.equal("moonrig: net: example.com:80 is not reachable from the simulated board (only loopback is)\n");
    expect(lookups).to.deep.equal(["example.com"]);
    expect(await c.rt.finished).to.equal(0);
  });

  it("a refused loopback connection reports reconnection with ERR_RST, and the socket can connect again", async () => {
    const port = await freePort();
    const c = await boot({
      prelude: [
        "local tries = 0\n" +
          "local sk = net.createConnection()\n" +
          "sk:on('reconnection', function(s, err) tries = tries + 1 print('reconnection', err) if tries < 2 then s:connect(" + port + ", '127.0.0.1') end end)\n" +
          "sk:connect(" + port + ", 'localhost')",
      ],
    });
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("reconnection\t-9\nreconnection\t-9\n");
  });

  it("a UDP socket receives with port and ip, and 'sent' runs before send returns", async () => {
    const c = await boot({
      prelude: [
        "udp = net.createUDPSocket()\n" +
          "udp:on('receive', function(s, data, port, ip) print('receive', data, ip) s:send(port, ip, 'ack:' .. data, function() print('sent') end) print('send returned') end)\n" +
          "udp:listen(0)",
      ],
    });
    let port: number | undefined;
    for (let i = 0; i < 100 && port === undefined; i++) {
      await sleep(5);
      port = (run(c, "return (udp:getaddr())")[0] as number | null) ?? undefined;
    }
    const peer = createSocket("udp4");
    const reply = new Promise<string>((resolve) => peer.on("message", (data) => resolve(data.toString())));
    peer.send("hello", port as number, "127.0.0.1");
    expect(await reply).to.equal("ack:hello");
    peer.close();
    expect(c.stdout()).to.equal("receive\thello\t127.0.0.1\nsent\nsend returned\n");
    run(c, "udp:close()");
    expect(await c.rt.finished).to.equal(0);
  });

  it("net.dns.resolve uses the runtime's lookup; bad arguments get the firmware's errors", async () => {
    const c = await boot({
      lookup: async (host) => {
        if (host === "sensor.lan") return { address: "10.1.2.3", family: 4 };
        throw new Error("NXDOMAIN");
      },
      prelude: ["net.dns.resolve('sensor.lan', function(sk, ip) print('ip', sk, ip) net.dns.resolve('nope.lan', function(_, ip2) print('ip2', ip2) end) end)"],
    });
    await c.waitFor("ip2");
    expect(c.stdout()).to.equal("ip\tnil\t10.1.2.3\nip2\tnil\n");
    const d = await boot();
    expect(run(d, "return net.TCP, net.UDP, net.dns.getdnsserver(0), net.dns.getdnsserver(1)")).to.deep.equal([1, 2, "208.67.222.222", null]);
    expect(errorOf(d, "net.dns.getdnsserver(2)")).to.equal("(exec):1: server index out of range [0-1]");
    expect(errorOf(d, "net.dns.setdnsserver('not an ip')")).to.equal("(exec):1: invalid dns server ip");
    expect(errorOf(d, "net.createServer(7)")).to.equal("(exec):1: invalid type");
    expect(errorOf(d, "net.createServer():listen(80)")).to.equal("(exec):1: need callback");
    expect(errorOf(d, "net.createConnection():send('x')")).to.equal("(exec):1: not connected");
    expect(errorOf(d, "net.createConnection():connect(0)")).to.equal("(exec):1: specify port");
    expect(errorOf(d, "net.createConnection():on('bogus', print)")).to.equal("(exec):1: invalid callback name");
    expect(errorOf(d, "net.createUDPSocket():send(5000, '127.0.0.1', '')")).to.equal("(exec):1: no data to send");
    await d.rt.close();
  });
});
