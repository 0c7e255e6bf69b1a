// What is particular to the NodeMCU and LuatOS MQTT APIs over --at emulator. The full
// suites (nodemcu-mqtt, luatos-mqtt) also run over --at emulator, with the same
// expectations wherever the modem can meet them. Exceptions, by design of the AT command
// set, each asserted there:
// - packet ids are numbered by moonrig (the modem reports none), QoS of received messages
//   is not reported (+MQTTSUBRECV carries none: metas say qos 0, id 0);
// - AT+MQTTCONN answers ERROR for a refused CONNACK, an unknown host or a server that is
//   not MQTT alike: NodeMCU sees -5, LuatOS error("connect");
// - +MQTTDISCONNECTED does not say who closed: LuatOS sees disconnect(-1), never -2;
// - the packets stay inside the modem: LuatOS debug(true) prints nothing;
// - a modem verifies TLS with the certificates flashed into it, not the script's
//   ca_cert/client_cert: without atCertificates (--at-ca/--at-cert/--at-key) the emulator
//   has none, so only unverified TLS comes up (nodemcu-mqtt tests both).
import { expect } from "chai";
import mqtt from "mqtt";
import { captured } from "./support/capture.js";
import { useEmbeddedBroker, closeAfterEach } from "./support/hooks.js";
import { execError, luaString } from "./support/lua.js";
import { freePort } from "./support/ports.js";
import { spawn } from "node:child_process";
import { CLI, runCli } from "./support/cli.js";
import { waitUntil } from "./support/wait.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe("MQTT over the AT modem emulator (--at emulator)", function () {
  this.timeout(20000);
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();
  const run = async (flavor: "nodemcu" | "luatos", chunk: string, extra: Parameters<typeof captured>[0] = {}) => {
    const c = captured({ flavor, at: "emulator", broker: suite.broker.tcpUrl, ...extra, prelude: [chunk] });
    track(c);
    await c.rt.run();
    return c;
  };

  it("NodeMCU: connect, subscribe, publish and receive all 256 byte values, close → offline", async () => {
    const c = await run("nodemcu", `
      m = mqtt.Client("at-nm", 30)
      m:on("message", function(_, t, d) print("message", t, #d, d == ${luaString(ALL_BYTES)}) m:close() end)
      m:on("offline", function() print("offline") end)
      m:connect("device.example", 1883, false, function(cl)
        print("connected")
        cl:subscribe("at/bin", 1, function()
          print("suback")
          cl:publish("at/bin", ${luaString(ALL_BYTES)}, 1, 0, function() print("puback") end)
        end)
      end, function(_, r) print("fail", r) end)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.be.oneOf([
      "connected\nsuback\npuback\nmessage\tat/bin\t256\ttrue\noffline\n",
      "connected\nsuback\nmessage\tat/bin\t256\ttrue\npuback\noffline\n",
    ]);
  });

  it("NodeMCU: a text payload uses AT+MQTTPUB, a binary one AT+MQTTPUBRAW (seen in --trace)", async () => {
    const c = await run("nodemcu", `
      m = mqtt.Client("at-tr", 30)
      m:connect("device.example", 1883, false, function(cl)
        cl:publish("t/a", "plain, \\"quoted\\"", 0, 0)
        cl:publish("t/b", "line\\r\\nbreak", 0, 0, function() cl:close() end)
      end)
    `, { trace: true });
    expect(await c.rt.finished).to.equal(0);
    const sent = c.stderr().split("\n").filter((l) => l.startsWith("moonrig: at -> AT+MQTTPUB"));
    expect(sent).to.deep.equal([
      'moonrig: at -> AT+MQTTPUB=0,"t/a","plain\\, \\"quoted\\"",0,0\\r\\n',
      'moonrig: at -> AT+MQTTPUBRAW=0,"t/b",11,0,0\\r\\n',
    ]);
  });

  it("NodeMCU: modem limits are Lua errors: one link, ten subscriptions, 128-byte topics", async () => {
    const c = await run("nodemcu", `
      m = mqtt.Client("at-lim", 30)
      m:connect("device.example", 1883, false, function() print("up") end)
    `);
    await c.waitFor("up\n");
    const errorOf = (chunk: string) => execError(c, chunk);
    expect(errorOf('mqtt.Client("second", 30):connect("device.example", 1883)')).to.equal("(exec):1: the AT modem has a single MQTT link and another client is using it");
    expect(errorOf(`m:publish(string.rep("t", 129), "x", 0, 0)`)).to.equal("(exec):1: topic longer than 128 bytes: the AT modem refuses it");
    expect(errorOf('for i = 1, 10 do m:subscribe("s/" .. i, 0) end')).to.equal("no error");
    expect(errorOf('m:subscribe("s/11", 0)')).to.equal("(exec):1: the AT modem holds at most 10 subscriptions");
    expect(errorOf('m:subscribe("s/3", 1)')).to.equal("no error");
    // The refused second client holds nothing: once the first closes, the run ends.
    expect(errorOf("m:close()")).to.equal("no error");
    expect(await c.rt.finished).to.equal(0);
  });

  it("NodeMCU: a closed broker port fails with -5, without offline", async () => {
    const closed = await freePort();
    const c = captured({ flavor: "nodemcu", at: "emulator", prelude: [`
      m = mqtt.Client("at-nf", 30)
      m:on("offline", function() print("offline") end)
      m:connect("127.0.0.1", ${closed}, false, function() print("up") end, function(_, r) print("fail", r) end)
    `] });
    track(c);
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("fail\t-5\n");
  });

  it("LuatOS: the same event order as over TCP, with metas from the modem", async () => {
    const raw = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const c = await run("luatos", `
      c = mqtt.create(nil, "device.example", 1883)
      c:auth("at-lt")
      c:on(function(cl, event, data, payload, metas)
        print(event, data, type(payload) == "string" and payload or nil, metas and metas.qos or nil)
        if event == "conack" then print("sub", cl:subscribe("lt/in", 1)) end
        if event == "suback" then print("pub", cl:publish("lt/out", "x", 1)) end
        if event == "recv" then cl:disconnect() end
      end)
      c:connect()
    `);
    await c.waitFor("sent\t2");
    await raw.publishAsync("lt/in", "down");
    await c.waitFor("close\tnil\tnil\tnil\n");
    expect(c.stdout()).to.equal("conack\tnil\tnil\tnil\nsub\t1\nsuback\ttrue\tnil\tnil\npub\t2\nsent\t2\tnil\tnil\nrecv\tlt/in\tdown\t0\ndisconnect\t-1\tnil\tnil\nclose\tnil\tnil\tnil\n");
    await raw.endAsync();
  });

  it("NodeMCU: a modem that reboots mid-session means offline; the script reconnects through it", async () => {
    const c = await run("nodemcu", `
      m = mqtt.Client("at-rst", 30)
      local rounds = 0
      local function up(cl)
        rounds = rounds + 1
        print("connected", rounds)
        if rounds == 1 then at.send("AT+RST", function(lines, ok) print("rst", ok) end)
        else cl:close() end
      end
      m:on("offline", function()
        print("offline")
        if rounds == 1 then m:connect("device.example", 1883, false, up, function(_, r) print("fail", r) end) end
      end)
      m:connect("device.example", 1883, false, up)
    `);
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.be.oneOf(["connected\t1\nrst\ttrue\noffline\nconnected\t2\noffline\n", "connected\t1\noffline\nrst\ttrue\nconnected\t2\noffline\n"]);
    // The redirect notice, and nothing else: no error, no warning.
    expect(c.stderr()).to.equal(`moonrig: device.example:1883 -> ${suite.broker.tcpUrl}\n`);
  });

  it("LuatOS: a network error gives error(connect) -> disconnect(-1) -> close", async () => {
    const closed = await freePort();
    const c = captured({ flavor: "luatos", at: "emulator", prelude: [`
      c = mqtt.create(nil, "127.0.0.1", ${closed})
      c:on(function(_, event, data, payload) print(event, data, payload) end)
      c:connect()
    `] });
    track(c);
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("error\tconnect\t0\ndisconnect\t-1\tnil\nclose\tnil\tnil\n");
  });
});

describe("MQTT over an AT modem port that cannot be used (--at PATH)", function () {
  this.timeout(20000);

  it("each connect fails with -5, the reason is told once on stderr, and the run goes on", async () => {
    const script = `m = mqtt.Client("no-port", 30)
      local tries = 0
      local function try() m:connect("127.0.0.1", 9, false, function() print("up") end, function(_, r) tries = tries + 1 print("fail", r) if tries < 3 then try() end end) end
      try()`;
    const r = await runCli(["--at", "/dev/no-such-tty", "-e", script]);
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.equal("fail\t-5\nfail\t-5\nfail\t-5\n");
    expect(r.stderr).to.equal("moonrig: AT modem /dev/no-such-tty: AT modem port /dev/no-such-tty does not exist\n");
  });
});

describe("The moonrig command on both ends of a pty (at-modem --pty, --at PATH)", function () {
  this.timeout(20000);
  const suite = useEmbeddedBroker();

  // Both processes are the command users run (bin/moonrig.cjs), so serialport is loaded the
  // way it is there, which a test that imports the modules does not show.
  it("a script drives MQTT through the emulator's serial line", async () => {
    const modem = spawn(process.execPath, [CLI, "at-modem", "--pty", "--broker", suite.broker.tcpUrl], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    modem.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    modem.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => modem.on("exit", resolve));
    try {
      await waitUntil(() => stdout.includes("\n") || modem.exitCode !== null, "the pty's path", 10000);
      const pty = /^moonrig at-modem: (\/dev\/\S+)\n$/.exec(stdout)?.[1];
      expect(pty, stdout + stderr).to.be.a("string");
      const r = await runCli(["--at", pty as string, "-e", `
        m = mqtt.Client("cli-pty", 30)
        m:on("message", function(c, t, d) print(t, d) c:close() end)
        m:connect("device.example", 8883, false, function(c) c:subscribe("pty/t", 0, function() c:publish("pty/t", "over the line", 0, 0) end) end,
          function(_, r) print("fail", r) end)`], { timeoutMs: 15000 });
      expect([r.code, r.stdout.toString(), r.stderr]).to.deep.equal([0, "pty/t\tover the line\n", ""]);
    } finally {
      modem.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);
  });
});
