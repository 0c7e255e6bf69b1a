// NodeMCU mqtt.Client against real brokers: the embedded Aedes and a Mosquitto started here.
import { expect } from "chai";
import net from "node:net";
import mqtt from "mqtt";
import { startBroker, type RunningBroker, type RuntimeOptions } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";
import { freePort } from "./support/ports.js";
import { execError, luaString } from "./support/lua.js";
import { waitUntil } from "./support/wait.js";
import { runCli } from "./support/cli.js";
import { atModemCommand } from "../runtime/at-modem.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
// The firmware's platform_print_deprecation_note lines.
const SECURE_NUMBER_NOTE = "Warning, deprecated API! mqtt.connect secure parameter as integer. It will be removed in the future. See documentation for details.\n";
const AUTORECONNECT_NOTE = "Warning, deprecated API! autoreconnect == 1 is deprecated. It will be removed in the next version. See documentation for details.\n";

function rawClient(url: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `raw-${Math.random().toString(16).slice(2, 8)}` });
}

/**
 * The suite runs twice: straight over TCP, and with --at emulator, where the same calls go
 * through AT commands to the modem emulator (which connects where the script says).
 * Over AT two failures can only look different (see at-modem.md): the modem answers
 * AT+MQTTCONN with ERROR for an unknown host and for a server that is not MQTT alike, so
 * both end as -5 (the emulator resolves names through the runtime's injectable lookup). A
 * server that never answers still gives -2: AT+MQTTCONN times out.
 */
for (const transport of ["tcp", "at"] as const) describe(`NodeMCU mqtt.Client on the embedded broker${transport === "at" ? ", over --at emulator" : ""}`, function () {
  const overAt = transport === "at";
  if (overAt) this.timeout(20000);
  const nodemcu = (chunk: string, options: RuntimeOptions = {}): Promise<Captured> => started({ flavor: "nodemcu", keepGoing: false, ...(overAt ? { at: "emulator" } : {}), ...options, prelude: [chunk] });
  let broker: RunningBroker;
  let port: number;
  const log: string[] = [];
  const open: Captured[] = [];

  before(async () => {
    broker = await startBroker({ verbose: true, log: (line) => log.push(line) });
    port = broker.tcpPort;
  });
  after(async () => {
    await broker.close();
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.rt.close();
  });
  const track = (c: Captured) => (open.push(c), c);

  it("connects, subscribes, publishes at QoS 0/1/2 and receives, with exact callback order", async () => {
    const c = track(await nodemcu(`
      m = mqtt.Client("order1", 30)
      m:on("message", function(client, topic, data) print("message", client == m, topic, data) end)
      m:on("offline", function(client) print("offline", client == m) end)
      print("connect returned", m:connect("127.0.0.1", ${port}, false, function(client)
        print("connected", client == m)
        client:subscribe("t/order1", 2, function(cl)
          print("suback", cl == m)
          cl:publish("t/order1", "q0", 0, 0, function() print("puback") end)
          cl:publish("t/order1", "q1", 1, 0)
          cl:publish("t/order1", "q2", 2, 0)
        end)
      end, function(client, reason) print("failed", reason) end))
    `));
    await c.waitFor("message\ttrue\tt/order1\tq2\n");
    // Over AT the modem answers a QoS 2 AT+MQTTPUB when the handshake is done, which may
    // be after the message came back.
    await waitUntil(() => c.stdout().split("\n").filter((l) => l === "puback").length === 3);
    c.rt.exec("m:close()");
    await c.waitFor("offline\ttrue\n");
    const lines = c.stdout().split("\n");
    expect(lines.slice(0, 3)).to.deep.equal(["connect returned\ttrue", "connected\ttrue", "suback\ttrue"]);
    expect(lines.filter((l) => l === "puback")).to.have.length(3);
    expect(lines.filter((l) => l.startsWith("message"))).to.have.members(["message\ttrue\tt/order1\tq0", "message\ttrue\tt/order1\tq1", "message\ttrue\tt/order1\tq2"]);
    expect(lines.at(-2)).to.equal("offline\ttrue");
    expect(await c.rt.finished).to.equal(0);
  });

  it("round-trips all 256 byte values, numbers, and an empty payload as nil", async () => {
    const raw = await rawClient(broker.tcpUrl);
    const received: Buffer[] = [];
    await raw.subscribeAsync("bin/out", { qos: 1 });
    raw.on("message", (_t, p) => received.push(Buffer.from(p)));
    const c = track(await nodemcu(`
      m = mqtt.Client("bin1", 30)
      m:on("message", function(_, topic, data)
        if data == nil then print("nil payload on", topic) return end
        print("got", #data, data == ${luaString(ALL_BYTES)})
        m:publish("bin/out", data, 1, 0)
        m:publish("bin/out", 12345, 0, 0)
      end)
      m:connect("127.0.0.1", ${port}, 0, function(cl) cl:subscribe("bin/in", 0, function() print("ready") end) end)
    `));
    await c.waitFor("ready\n");
    await raw.publishAsync("bin/in", ALL_BYTES);
    await c.waitFor("got\t256\ttrue\n");
    await raw.publishAsync("bin/in", Buffer.alloc(0));
    await c.waitFor("nil payload on\tbin/in\n");
    await waitUntil(() => received.length === 2);
    // The broker may deliver the QoS 0 publish before the QoS 1 one.
    const sorted = [...received].sort((a, b) => b.length - a.length);
    expect(sorted[0]?.equals(ALL_BYTES)).to.equal(true);
    expect(sorted[1]?.toString()).to.equal("12345");
    await raw.endAsync();
  });

  it("delivers a message above max_message_length to overflow with its first bytes", async () => {
    const raw = await rawClient(broker.tcpUrl);
    const c = track(await nodemcu(`
      m = mqtt.Client("ovf1", 30, nil, nil, 1, 8)
      m:on("message", function(_, t, d) print("message", t, d) end)
      m:on("overflow", function(_, t, d) print("overflow", t, d) end)
      m:connect("127.0.0.1", ${port}, false, function(cl) cl:subscribe("ovf/#", 0, function() print("ready") end) end)
    `));
    await c.waitFor("ready\n");
    await raw.publishAsync("ovf/a", "12345678");
    await raw.publishAsync("ovf/b", "123456789ABC");
    await c.waitFor("overflow\tovf/b\t12345678\n");
    expect(c.stdout()).to.equal("ready\nmessage\tovf/a\t12345678\noverflow\tovf/b\t12345678\n");
    await raw.endAsync();
  });

  it("uses NodeMCU_<chipid hex> as the default client id and keeps the latest callback slot", async () => {
    log.length = 0;
    const c = track(await nodemcu(`
      m = mqtt.Client()
      m:on("connect", function() print("first") end)
      m:connect("127.0.0.1", ${port}, function() print("second") end)
    `, { device: { chipId: 0xabc123 } }));
    await c.waitFor("second\n");
    expect(log).to.include("connect NodeMCU_abc123");
    expect(c.stdout()).to.equal("second\n");
  });

  it("supports the legacy connect(host, port, 0, 1, cb, fail) form and unsubscribe", async () => {
    const raw = await rawClient(broker.tcpUrl);
    const c = track(await nodemcu(`
      m = mqtt.Client("legacy1", 120, "", "")
      m:on("message", function(_, t, d) print("message", t, d) end)
      m:connect("127.0.0.1", ${port}, 0, 1, function(cl)
        cl:subscribe({["u/a"] = 0, ["u/b"] = 1}, function()
          print("subscribed")
          cl:unsubscribe({["u/a"] = true}, function() print("unsubscribed") end)
        end)
      end, function(_, r) print("fail", r) end)
    `));
    await c.waitFor("unsubscribed\n");
    await raw.publishAsync("u/a", "nope");
    await raw.publishAsync("u/b", "yes");
    await c.waitFor("message\tu/b\tyes\n");
    expect(c.stdout()).to.equal(`${SECURE_NUMBER_NOTE}${AUTORECONNECT_NOTE}subscribed\nunsubscribed\nmessage\tu/b\tyes\n`);
    await raw.endAsync();
  });

  it("reads arguments as the firmware does; acks in arrival order; close() then connect() at once", async () => {
    // Numeric slots take numeric strings (lua_isnumber); a callback slot holding something
    // else is skipped; close() leaves the client not connected at once (publish raises,
    // connect may start again); a host that cannot be a name fails its lookup (-3).
    const c = track(await nodemcu(`
      a = mqtt.Client("sA", "120")
      a:on("connect", function(cl)
        if again then print("connected again") return bad() end
        print("connected")
        cl:subscribe("args/t", 1, function()
          print("suback")
          cl:publish("args/t", "one", 1, 0, function() print("puback") end)
        end)
      end)
      -- The message follows its PUBACK or comes first: the broker decides.
      a:on("message", function(cl, t, d)
        print("message", t, d)
        print("close", cl:close())
        print(pcall(cl.publish, cl, "args/t", "x", 0, 0))
        again = true
        print("connect", cl:connect("127.0.0.1", ${port}))
      end)
      function bad()
        b = mqtt.Client("sB", 30)
        print("bad host", b:connect("bad host name!", 1883, false, nil, function(_, reason) print("connfail", reason) a:close() end))
      end
      print(a:connect("127.0.0.1", "${port}", false, "not a function"))
    `, { trace: true }));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout().replace("puback\n", "")).to.equal("true\nconnected\nsuback\nmessage\targs/t\tone\nclose\ttrue\nfalse\tnot connected\nconnect\ttrue\nconnected again\nbad host\ttrue\nconnfail\t-3\n");
    if (!overAt) expect(c.stderr()).to.match(/-> CONNECT client_id="sA" keepalive=120 clean=1\n/);
  });

  it("raises the firmware's errors on misuse and the runtime carries on", async () => {
    const c = track(await nodemcu(`m = mqtt.Client("err1", 30)`));
    const errorOf = (chunk: string) => execError(c, chunk);
    expect(errorOf('m:publish("t", "x", 0, 0)')).to.equal("(exec):1: not connected");
    expect(errorOf('m:subscribe("t", 0)')).to.equal("(exec):1: not connected");
    expect(errorOf('m:unsubscribe("t")')).to.equal("(exec):1: not connected");
    expect(errorOf('m:on("bogus", print)')).to.equal("(exec):1: bad argument #1 to 'on' (invalid option 'bogus')");
    expect(errorOf('m:on("message", nil)')).to.equal("(exec):1: bad argument #2 to 'on' (function expected, got nil)");
    expect(errorOf('m:on("message", 5)')).to.equal("(exec):1: bad argument #2 to 'on' (function expected, got number)");
    expect(errorOf("m:lwt(nil, 'x')")).to.equal("(exec):1: need lwt topic");
    expect(errorOf("m:lwt('t')")).to.equal("(exec):1: need lwt message");
    expect(errorOf("m:connect()")).to.equal("(exec):1: bad argument #1 to 'connect' (string expected, got no value)");
    expect(errorOf(`m:connect("127.0.0.1", ${port}, false, function() print("up") end)`)).to.equal("no error");
    expect(errorOf(`m:connect("127.0.0.1", ${port})`)).to.equal("(exec):1: already connected");
    expect(errorOf('m:publish("t", "x", 0, 0)')).to.equal("(exec):1: not connected");
    await c.waitFor("up\n");
    expect(errorOf("m:subscribe({}, print)")).to.equal("(exec):1: no topics found");
    expect(errorOf('m:publish("t", nil, 0, 0)')).to.equal("(exec):1: bad argument #2 to 'publish' (string expected, got nil)");
    expect(errorOf('m:publish("t", "x", 0)')).to.equal("(exec):1: bad argument #4 to 'publish' (number expected, got no value)");
    expect(errorOf('return m:publish("t", "x", 0, 0)')).to.equal("no error");
    expect(c.rt.exec("return tostring(m):match('^mqtt.socket: 0x%x+$') ~= nil, m:close(), m:close()")).to.deep.equal([true, true, false]);
  });

  it("reports CONN_FAIL_SERVER_NOT_FOUND (-5) for a closed port, without offline", async () => {
    const closed = await freePort();
    const c = track(await nodemcu(`
      m = mqtt.Client("nf", 30)
      m:on("offline", function() print("offline") end)
      m:connect("127.0.0.1", ${closed}, false, function() print("connected") end, function(cl, reason) print("fail", cl == m, reason, reason == mqtt.CONN_FAIL_SERVER_NOT_FOUND) end)
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("fail\ttrue\t-5\ttrue\n");
  });

  it(`reports ${overAt ? "-5 (AT ERROR)" : "CONN_FAIL_DNS (-3)"} when the injected lookup fails, sending no query`, async () => {
    const asked: string[] = [];
    const c = track(await nodemcu(`
      m = mqtt.Client("dns", 30)
      m:connect("no-such-host.invalid", 1883, false, nil, function(_, reason) print("fail", reason) end)
    `, { lookup: async (host) => { asked.push(host); throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }); } }));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(overAt ? "fail\t-5\n" : "fail\t-3\n");
    expect(asked).to.deep.equal(["no-such-host.invalid"]);
  });

  it(`reports ${overAt ? "-5 (AT ERROR)" : "CONN_FAIL_NOT_A_CONNACK_MSG (-4)"} when the server answers CONNECT with another packet`, async () => {
    const server = net.createServer((socket) => socket.once("data", () => socket.write(Buffer.from([0xd0, 0x00]))));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const c = track(await nodemcu(`
      m = mqtt.Client("nc", 30)
      m:connect("127.0.0.1", ${(server.address() as net.AddressInfo).port}, false, nil, function(_, reason) print("fail", reason) end)
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(overAt ? "fail\t-5\n" : "fail\t-4\n");
    server.close();
  });

  it("reports CONN_FAIL_TIMEOUT_RECEIVING (-2) when the server never answers (5 s)", async function () {
    this.timeout(10000);
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const started = Date.now();
    const c = track(await nodemcu(`
      m = mqtt.Client("silent", 30)
      m:connect("127.0.0.1", ${(server.address() as net.AddressInfo).port}, false, nil, function(_, reason) print("fail", reason) end)
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("fail\t-2\n");
    expect(Date.now() - started).to.be.within(4900, 7000);
    for (const s of sockets) s.destroy();
    server.close();
  });

  it("publishes the LWT when the connection drops without DISCONNECT", async () => {
    const raw = await rawClient(broker.tcpUrl);
    const wills: string[] = [];
    await raw.subscribeAsync("lwt/dev", { qos: 0 });
    raw.on("message", (t, p) => wills.push(`${t}=${p.toString()}`));
    const c = await nodemcu(`
      m = mqtt.Client("lwt1", 30)
      m:lwt("lwt/dev", "gone", 0, 0)
      m:connect("127.0.0.1", ${port}, false, function() print("up") end)
    `);
    await c.waitFor("up\n");
    await c.rt.close();
    await waitUntil(() => wills.length === 1);
    expect(wills).to.deep.equal(["lwt/dev=gone"]);
    await raw.endAsync();
  });

  it("routes a device host to the broker with --map, announcing the redirect once", async () => {
    const c = track(await nodemcu(`
      m = mqtt.Client("route1", 30)
      m:connect("broker.emqx.io", 1883, false, function(cl) print("up") cl:close() end)
      local rounds = 0
      m:on("offline", function() rounds = rounds + 1 if rounds == 1 then m:connect("broker.emqx.io", 1883, false, function() print("again") m:close() end) end end)
    `, { map: [["broker.emqx.io:1883", broker.tcpUrl]] }));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("up\nagain\n");
    expect(c.stderr()).to.equal(`moonrig: broker.emqx.io:1883 -> mqtt://127.0.0.1:${port}\n`);
  });
});

for (const transport of ["tcp", "at"] as const) describe(`NodeMCU mqtt.Client on Mosquitto (TLS, WebSocket, passwords, restarts)${transport === "at" ? ", over --at emulator" : ""}`, function () {
  this.timeout(20000);
  const overAt = transport === "at";
  const nodemcu = (chunk: string, options: RuntimeOptions = {}): Promise<Captured> => started({ flavor: "nodemcu", keepGoing: false, ...(overAt ? { at: "emulator" } : {}), ...options, prelude: [chunk] });
  let mosq: Mosquitto;
  const open: Captured[] = [];
  before(async () => {
    mosq = await startMosquitto({ users: { alice: "wonder" } });
  });
  after(async () => {
    await mosq.stop();
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.rt.close();
  });
  const track = (c: Captured) => (open.push(c), c);

  it(`authenticates with user and password, and reports ${overAt ? "-5 (AT ERROR)" : "CONNACK 5"} for a wrong one`, async () => {
    const ok = track(await nodemcu(`
      m = mqtt.Client("pw1", 30, "alice", "wonder")
      m:connect("127.0.0.1", ${mosq.ports.auth}, false, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
    `));
    expect(await ok.rt.finished).to.equal(0);
    expect(ok.stdout()).to.equal("up\n");
    const bad = track(await nodemcu(`
      m = mqtt.Client("pw2", 30, "alice", "nope")
      m:connect("127.0.0.1", ${mosq.ports.auth}, false, function() print("up") end, function(_, r) print("fail", r, r == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED) end)
    `));
    expect(await bad.rt.finished).to.equal(0);
    expect(bad.stdout()).to.equal(overAt ? "fail\t-5\tfalse\n" : "fail\t5\ttrue\n");
  });

  it("verifies the server with ca_cert, refuses a wrong CA, and authenticates with a client certificate", async () => {
    const certs = mosq.certs;
    const run = async (secure: string, portNumber: number) => {
      const c = track(await nodemcu(`
        m = mqtt.Client("tls-${portNumber}-${Math.random().toString(16).slice(2, 6)}", 30)
        m:connect("127.0.0.1", ${portNumber}, ${secure}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
      `));
      await c.rt.finished;
      return c.stdout();
    };
    // A modem verifies with the certificates flashed into it, not the script's: the
    // emulator has none, so over AT only the unverified connection comes up.
    expect(await run(`{ca_cert = ${luaString(certs.ca)}}`, mosq.ports.tls)).to.equal(overAt ? "fail\t-5\n" : "up\n");
    expect(await run(`{ca_cert = ${luaString(certs.otherCa)}}`, mosq.ports.tls)).to.equal("fail\t-5\n");
    expect(await run("true", mosq.ports.tls)).to.equal("up\n");
    expect(await run(`{ca_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}`, mosq.ports.mtls)).to.equal(overAt ? "fail\t-5\n" : "up\n");
    expect(await run(`{ca_cert = ${luaString(certs.ca)}}`, mosq.ports.mtls)).to.equal("fail\t-5\n");
  });

  if (overAt) it("verifies and authenticates with the certificates flashed into the emulator (atCertificates), whatever the script passes", async () => {
    const certs = mosq.certs;
    const pem = (text: string | Uint8Array) => Buffer.from(text);
    const run = async (secure: string, portNumber: number, flashed: RuntimeOptions["atCertificates"]) => {
      const c = track(await nodemcu(`
        m = mqtt.Client("tls-at-${portNumber}-${Math.random().toString(16).slice(2, 6)}", 30)
        m:connect("127.0.0.1", ${portNumber}, ${secure}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
      `, { atCertificates: flashed }));
      await c.rt.finished;
      return c.stdout();
    };
    const right = { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) };
    expect(await run(`{ca_cert = ${luaString(certs.ca)}}`, mosq.ports.tls, right)).to.equal("up\n");
    // The modem's own CA decides, as on a device: the script's (wrong) one is not sent.
    expect(await run(`{ca_cert = ${luaString(certs.otherCa)}}`, mosq.ports.tls, right)).to.equal("up\n");
    expect(await run(`{ca_cert = ${luaString(certs.ca)}}`, mosq.ports.tls, { ca: pem(certs.otherCa) })).to.equal("fail\t-5\n");
    expect(await run(`{ca_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}`, mosq.ports.mtls, right)).to.equal("up\n");
    expect(await run(`{ca_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}`, mosq.ports.mtls, { ca: pem(certs.ca) })).to.equal("fail\t-5\n");

    // The same from the command line: --at-ca/--at-cert/--at-key flash the files.
    const script = `mqtt.Client("tls-at-cli", 30):connect("127.0.0.1", ${mosq.ports.mtls}, {ca_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)`;
    const cli = await runCli(["--at", "emulator", "--at-ca", certs.paths.ca, "--at-cert", certs.paths.clientCert, "--at-key", certs.paths.clientKey, "-e", script]);
    expect([cli.code, cli.stdout.toString(), cli.stderr]).to.deep.equal([0, "up\n", ""]);
  });

  if (overAt) it("moonrig at-modem --ca/--cert/--key: a host on its pty gets a verified, client-authenticated link", async () => {
    const certs = mosq.certs;
    let stdout = "";
    let stderr = "";
    const abort = new AbortController();
    const exit = atModemCommand(["--pty", "--broker", `mqtts://127.0.0.1:${mosq.ports.mtls}`, "--ca", certs.paths.ca, "--cert", certs.paths.clientCert, "--key", certs.paths.clientKey, "--verbose"],
      { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }, { signal: abort.signal });
    try {
      await waitUntil(() => stdout.includes("\n"), "the pty's path");
      const pty = /^moonrig at-modem: (\/dev\/\S+)\n$/.exec(stdout)?.[1];
      expect(pty, stdout + stderr).to.be.a("string");
      const script = `mqtt.Client("tls-at-pty", 30):connect("127.0.0.1", ${mosq.ports.mtls}, {ca_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)`;
      const cli = await runCli(["--at", pty as string, "-e", script], { timeoutMs: 15000 });
      expect([cli.code, cli.stdout.toString(), cli.stderr], stderr).to.deep.equal([0, "up\n", ""]);
    } finally {
      abort.abort();
      await exit;
    }
  });

  it("connects over WebSocket with a ws:// host", async () => {
    const c = track(await nodemcu(`
      m = mqtt.Client("ws1", 30)
      m:connect("ws://127.0.0.1:${mosq.ports.ws}/mqtt", function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("up\n");
  });

  it("autoreconnect: offline then connect again across a broker restart", async () => {
    const c = track(await nodemcu(`
      m = mqtt.Client("auto1", 30)
      m:on("offline", function() print("offline") end)
      m:connect("127.0.0.1", ${mosq.ports.tcp}, 0, 1, function() print("connected") end, function(_, r) print("fail", r) end)
    `));
    await c.waitFor("connected\n");
    await mosq.restart();
    await c.waitFor("connected\noffline\nconnected\n", 10000);
    expect(c.stdout()).to.equal(`${SECURE_NUMBER_NOTE}${AUTORECONNECT_NOTE}connected\noffline\nconnected\n`);
  });

  it("without autoreconnect: offline once after the broker goes away, and the script can reconnect by hand", async () => {
    const c = track(await nodemcu(`
      m = mqtt.Client("manual1", 30)
      function go() m:connect("127.0.0.1", ${mosq.ports.tcp}, false, function() print("connected") end, function(_, r) print("fail", r) tmr.create():alarm(300, tmr.ALARM_SINGLE, go) end) end
      m:on("offline", function() print("offline") tmr.create():alarm(300, tmr.ALARM_SINGLE, go) end)
      go()
    `));
    await c.waitFor("connected\n");
    await mosq.restart();
    await c.waitFor("offline\n");
    await c.waitFor("offline\nconnected\n", 10000);
    expect(c.stdout().replace(/fail\t-5\n/g, "")).to.equal("connected\noffline\nconnected\n");
  });
});
