// LuatOS mqtt.create against real brokers: events, their arguments and the failure orders.
import { expect } from "chai";
import net from "node:net";
import mqtt from "mqtt";
import type { RuntimeOptions } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { useEmbeddedBroker, closeAfterEach } from "./support/hooks.js";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";
import { freePort } from "./support/ports.js";
import { luaString } from "./support/lua.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** A callback that prints every event with its arguments, one line each. */
const PRINT_EVENTS = `
  function show(v) if type(v) == "table" then return "{qos=" .. v.qos .. ",retain=" .. v.retain .. ",dup=" .. v.dup .. ",id=" .. v.message_id .. "}" end return tostring(v) end
  function events(cl, event, data, payload, metas) print(event, show(data), show(payload), show(metas)) if handler then handler(cl, event, data, payload, metas) end end
`;

/** Starts a LuatOS script, over --at emulator when `overAt`. */
function luatosOver(overAt: boolean): (chunk: string, options?: RuntimeOptions) => Promise<Captured> {
  return (chunk, options = {}) => started({ flavor: "luatos", ...(overAt ? { at: "emulator" } : {}), ...options, prelude: [PRINT_EVENTS + chunk] });
}

for (const transport of ["tcp", "at"] as const) describe(`LuatOS mqtt.create on the embedded broker${transport === "at" ? ", over --at emulator" : ""}`, function () {
  const overAt = transport === "at";
  if (overAt) this.timeout(20000);
  const luatos = luatosOver(overAt);
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();

  it("connects, subscribes, publishes, receives with metas, and closes in order", async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth("lt-order", "", "")
      c:on(events)
      handler = function(cl, event, data)
        if event == "conack" then print("sub ids", cl:subscribe("lo/#", 1))
        elseif event == "suback" then print("pub ids", cl:publish("lo/a", "q0"), cl:publish("lo/b", "q1", 1))
        elseif event == "recv" and data == "lo/b" then cl:disconnect() end
      end
      print("connect", c:connect(), c:state(), c:ready())
    `));
    await c.waitFor("close\tnil\tnil\tnil\n");
    const lines = c.stdout().trimEnd().split("\n");
    expect(lines.slice(0, 6)).to.deep.equal([
      "connect\ttrue\t1\tfalse",
      "conack\tnil\tnil\tnil",
      "sub ids\t1",
      "suback\ttrue\t1\tnil",
      "pub ids\t0\t2",
      "sent\t0\tnil\tnil",
    ]);
    // The broker picks the message id of its QoS 1 delivery. +MQTTSUBRECV says neither QoS
    // nor id: over AT every meta is qos 0, id 0.
    const middle = lines.slice(6, -2).map((line) => line.replace(/id=\d+}$/, (m) => (m === "id=0}" ? m : "id=N}")));
    expect(middle).to.have.members(["sent\t2\tnil\tnil", "recv\tlo/a\tq0\t{qos=0,retain=0,dup=0,id=0}", overAt ? "recv\tlo/b\tq1\t{qos=0,retain=0,dup=0,id=0}" : "recv\tlo/b\tq1\t{qos=1,retain=0,dup=0,id=N}"]);
    expect(lines.slice(-2)).to.deep.equal(["disconnect\t-1\tnil\tnil", "close\tnil\tnil\tnil"]);
    expect(await c.rt.finished).to.equal(0);
  });

  // moonrig builds the metas table only for a callback that can see a 5th argument; one
  // set later with on() must get it again, and a vararg callback always sees all five.
  it("passes metas to vararg callbacks and to one set after a 4-parameter callback", async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth("lt-metas")
      c:on(function(cl, event, data, payload)
        if event == "conack" then cl:subscribe("lm/t")
        elseif event == "suback" then cl:publish("lm/t", "one")
        elseif event == "recv" then
          print("four", data, payload)
          cl:on(function(...)
            local event = select(2, ...)
            if event == "recv" then
              print("vararg", select("#", ...), select(3, ...), select(4, ...), show((select(5, ...))))
              cl:on(function(cl2, event2, d, p, m) if event2 == "recv" then print("five", d, p, show(m)) cl2:close() end end)
              cl:publish("lm/t", "three")
            end
          end)
          cl:publish("lm/t", "two")
        end
      end)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("four\tlm/t\tone\nvararg\t5\tlm/t\ttwo\t{qos=0,retain=0,dup=0,id=0}\nfive\tlm/t\tthree\t{qos=0,retain=0,dup=0,id=0}\n");
  });

  it("has every method also as mqtt.method(client, ...), and reports states", async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      print(mqtt.auth(c, "lt-fn"), mqtt.keepalive(c, 5), mqtt.will(c, "w/t", "bye", 7), mqtt.autoreconn(c, false))
      mqtt.on(c, function(cl, event) print(event, mqtt.state(cl), mqtt.ready(cl)) if event == "conack" then mqtt.close(cl) end end)
      print(mqtt.connect(c), mqtt.publish(c, "x", "y"), mqtt.subscribe(c, "x"), mqtt.unsubscribe(c, {"x"}))
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("true\ttrue\ttrue\ttrue\ntrue\tnil\tnil\tnil\nconack\t3\ttrue\n");
  });

  it("round-trips all 256 byte values in topic-safe payloads", async () => {
    const raw = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const got: Buffer[] = [];
    await raw.subscribeAsync("lb/out");
    raw.on("message", (_t, p) => got.push(Buffer.from(p)));
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:on(function(cl, event, data, payload)
        if event == "conack" then cl:subscribe("lb/in") end
        if event == "suback" then print("ready") end
        if event == "recv" then print("same", payload == ${luaString(ALL_BYTES)}) cl:publish("lb/out", payload, 1) end
      end)
      c:connect()
    `));
    await c.waitFor("ready\n");
    await raw.publishAsync("lb/in", ALL_BYTES);
    await c.waitFor("same\ttrue\n");
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got[0]?.equals(ALL_BYTES)).to.equal(true);
    await raw.endAsync();
  });

  it("network error order: error(connect) -> disconnect(-1) -> close, and publish returns nil", async () => {
    const closed = await freePort();
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${closed})
      c:on(events)
      c:connect()
      print("publish while down", c:publish("t", "x"))
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("publish while down\tnil\nerror\tconnect\t0\tnil\ndisconnect\t-1\tnil\tnil\nclose\tnil\tnil\tnil\n");
  });

  // (Over AT the modem's own, smaller limits apply: see test/at-mqtt.test.ts.)
  if (!overAt) it("strings too long for MQTT (over 65535 bytes) fail like a network error, and the runtime carries on", async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth(string.rep("x", 70000))
      c:on(events)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("error\tconnect\t0\tnil\ndisconnect\t-1\tnil\tnil\nclose\tnil\tnil\tnil\n");
    const up = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth("long-topic")
      c:on(function(cl, event)
        if event == "conack" then
          print("publish", cl:publish(string.rep("t", 70000), "x"), "subscribe", cl:subscribe(string.rep("t", 70000)))
          cl:close()
        end
      end)
      c:connect()
    `));
    expect(await up.rt.finished).to.equal(0);
    expect(up.stdout()).to.equal("publish\tnil\tsubscribe\tnil\n");
  });

  it("closes the connection when an incoming packet exceeds rxSize", async () => {
    const raw = await mqtt.connectAsync(suite.broker.tcpUrl, { reconnectPeriod: 0 });
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort}, false, {rxSize = 64})
      c:on(events)
      handler = function(cl, event) if event == "conack" then cl:subscribe("rx/#") end end
      c:connect()
    `));
    await c.waitFor("suback");
    await raw.publishAsync("rx/small", "ok");
    await c.waitFor("recv\trx/small\tok");
    await raw.publishAsync("rx/big", Buffer.alloc(100, 0x41));
    await c.waitFor("close\tnil\tnil\tnil\n");
    expect(c.stdout().split("\n").slice(-4)).to.deep.equal(["error\tother\t0\tnil", "disconnect\t-1\tnil\tnil", "close\tnil\tnil\tnil", ""]);
    await raw.endAsync();
  });

  it("conn_timeout against a silent TCP server: error(timeout) -> disconnect(-1) -> close", async function () {
    this.timeout(10000);
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const started = Date.now();
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${(server.address() as net.AddressInfo).port}, false, {conn_timeout = 1})
      c:on(events)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("error\ttimeout\t0\tnil\ndisconnect\t-1\tnil\tnil\nclose\tnil\tnil\tnil\n");
    // conn_timeout is clamped to at least 5 s.
    expect(Date.now() - started).to.be.within(4900, 7000);
    for (const s of sockets) s.destroy();
    server.close();
  });

  // +MQTTDISCONNECTED does not say who ended the connection: over AT it is -1.
  it(`reports a broker DISCONNECT as disconnect(${overAt ? "-1" : "-2"})`, async () => {
    const server = net.createServer((socket) => {
      socket.once("data", () => {
        socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        setTimeout(() => socket.end(Buffer.from([0xe0, 0x00])), 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${(server.address() as net.AddressInfo).port})
      c:on(events)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(`conack\tnil\tnil\tnil\ndisconnect\t${overAt ? -1 : -2}\tnil\tnil\nclose\tnil\tnil\tnil\n`);
    server.close();
  });

  // Over AT the packets stay inside the modem: debug(true) has nothing to show (--trace
  // shows the AT lines).
  it(`debug(true) traces this client's packets on stderr${overAt ? " (none over AT)" : ""}`, async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${suite.broker.tcpPort})
      c:auth("lt-debug")
      c:debug(true)
      c:on(function(cl, event) if event == "conack" then cl:close() end end)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stderr()).to.equal(overAt ? "" : [
      'moonrig: mqtt lt-debug -> CONNECT client_id="lt-debug" keepalive=240 clean=1',
      "moonrig: mqtt lt-debug <- CONNACK session_present=0 rc=0",
      "moonrig: mqtt lt-debug -> DISCONNECT",
      "",
    ].join("\n"));
  });

  it("rejects a missing port with Lua's wording", async () => {
    const c = track(await luatos(""));
    expect(() => c.rt.exec('mqtt.create(nil, "h")')).to.throw("bad argument #3 to 'create' (number expected, got no value)");
    expect(c.rt.exec('return mqtt.create(nil, "", 1883)')).to.deep.equal([null]);
  });
});

for (const transport of ["tcp", "at"] as const) describe(`LuatOS mqtt.create on Mosquitto${transport === "at" ? ", over --at emulator" : ""}`, function () {
  const overAt = transport === "at";
  const luatos = luatosOver(overAt);
  this.timeout(20000);
  let mosq: Mosquitto;
  const open: Captured[] = [];
  before(async () => {
    mosq = await startMosquitto({ users: { luat: "air780" } });
  });
  after(async () => {
    await mosq.stop();
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.rt.close();
  });
  const track = (c: Captured) => (open.push(c), c);

  // Over AT a refused CONNACK is AT+MQTTCONN answering ERROR: the network-error order.
  it(`refused CONNACK order: ${overAt ? "error(connect) -> disconnect(-1) -> close" : "disconnect(code) -> close -> error(conack, code)"}`, async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${mosq.ports.auth})
      c:auth("lt-bad", "luat", "wrong")
      c:on(events)
      c:connect()
    `));
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal(overAt ? "error\tconnect\t0\tnil\ndisconnect\t-1\tnil\tnil\nclose\tnil\tnil\tnil\n" : "disconnect\t5\tnil\tnil\nclose\tnil\tnil\tnil\nerror\tconack\t5\tnil\n");
  });

  it("TLS with server_cert verifies; mutual TLS with client_cert/client_key", async () => {
    const certs = mosq.certs;
    const run = async (port: number, ssl: string) => {
      const c = track(await luatos(`
        c = mqtt.create(nil, "127.0.0.1", ${port}, ${ssl})
        c:on(function(cl, event, data) print(event, data) if event == "conack" then cl:close() end end)
        c:connect()
      `));
      await c.rt.finished;
      return c.stdout();
    };
    // A modem verifies with the certificates flashed into it, not the script's: the
    // emulator has none, so over AT only the unverified connection comes up.
    const refused = "error\tconnect\ndisconnect\t-1\nclose\tnil\n";
    expect(await run(mosq.ports.tls, `{server_cert = ${luaString(certs.ca)}}`)).to.equal(overAt ? refused : "conack\tnil\n");
    expect(await run(mosq.ports.tls, "true")).to.equal("conack\tnil\n");
    expect(await run(mosq.ports.tls, `{server_cert = ${luaString(certs.otherCa)}}`)).to.equal(refused);
    expect(await run(mosq.ports.mtls, `{server_cert = ${luaString(certs.ca)}, client_cert = ${luaString(certs.clientCert)}, client_key = ${luaString(certs.clientKey)}}`)).to.equal(overAt ? refused : "conack\tnil\n");
  });

  it("autoreconn across a broker restart: disconnect(-1), then conack again, resubscribing on conack", async () => {
    const c = track(await luatos(`
      c = mqtt.create(nil, "127.0.0.1", ${mosq.ports.tcp})
      c:auth("lt-auto", "", "", false)
      c:autoreconn(true, 1000)
      c:on(function(cl, event, data) print(event, data) if event == "conack" then cl:subscribe("auto/t") end end)
      c:connect()
    `));
    await c.waitFor("suback\ttrue\n");
    await mosq.restart();
    // Attempts made while the broker is still down add error/disconnect pairs; leave them out.
    const expected = "conack\tnil\nsuback\ttrue\ndisconnect\t-1\nconack\tnil\nsuback\ttrue\n";
    const settled = () => c.stdout().replace(/error\tconnect\ndisconnect\t-1\n/g, "");
    for (const deadline = Date.now() + 10000; settled() !== expected && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(settled()).to.equal(expected);
  });
});
