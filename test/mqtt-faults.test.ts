// MQTT under faults, for both flavors: a broker that goes silent or dies mid-stream, a
// connection cut under traffic, garbage after CONNACK, PINGREQ left unanswered. Each case
// ends in the firmware's event, with nothing on stderr. QoS 1 traffic is counted for loss
// and duplicates against what the firmwares promise: neither keeps a publish without its
// PUBACK across a reconnect (NodeMCU empties its queue in mqtt_socket_disconnected, LuatOS
// has no queue), so such a message may be lost, and the script can tell: it never got its
// puback / sent. Everything acknowledged arrives, once.
import { expect } from "chai";
import net from "node:net";
import mqtt from "mqtt";
import type { RuntimeOptions } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { closeAfterEach, useEmbeddedBroker } from "./support/hooks.js";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";
import { delay, waitUntil } from "./support/wait.js";

const nodemcu = (chunk: string, options: RuntimeOptions = {}): Promise<Captured> => started({ flavor: "nodemcu", keepGoing: false, ...options, prelude: [chunk] });
const luatos = (chunk: string, options: RuntimeOptions = {}): Promise<Captured> => started({ flavor: "luatos", ...options, prelude: [chunk] });

/** The numbered payloads a subscriber outside the script saw on `topic`, in arrival order. */
async function collector(url: string, topic: string): Promise<{ got: number[]; end(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, keepalive: 600, clientId: `sink-${Math.random().toString(16).slice(2, 8)}` });
  const got: number[] = [];
  client.on("message", (_t, payload) => got.push(Number(payload.toString())));
  await client.subscribeAsync(topic, { qos: 1 });
  return { got, end: () => client.endAsync(true) };
}

function duplicates(values: readonly number[]): number[] {
  const seen = new Set<number>();
  return values.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
}

/** The tab-separated fields of the script's output lines starting with `word`. */
function fields(c: Captured, word: string): string[][] {
  return c.stdout().split("\n").filter((l) => l === word || l.startsWith(`${word}\t`)).map((l) => l.split("\t").slice(1));
}

function numbers(c: Captured, word: string): number[] {
  return fields(c, word).map((f) => Number(f[0]));
}

/** The numbers of the "pub" lines after the first `marker` line that follows a `since` line. */
function publishedAfter(c: Captured, marker: string, since: string): number[] {
  const out = c.stdout().split("\n");
  const at = out.indexOf(marker, out.indexOf(since));
  return at < 0 ? [] : out.slice(at).filter((l) => l.startsWith("pub\t")).map((l) => Number(l.split("\t")[1]));
}

/** A TCP relay to `target` whose connections can be cut, as a network failure would. */
async function relay(target: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    close: () => new Promise<void>((r) => {
      cut();
      server.close(() => r());
    }),
  };
}

/** A server that answers CONNECT with CONNACK, then does what `after` says with the socket. */
async function fakeBroker(after: (socket: net.Socket, packet: Buffer) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    let connected = false;
    socket.on("data", (data) => {
      if (!connected && data[0] === 0x10) {
        connected = true;
        socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        const rest = data.subarray(2 + (data[1] ?? 0));
        if (rest.length > 0) after(socket, rest);
        return;
      }
      after(socket, data);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/**
 * NodeMCU: publishes 1, 2, ... at QoS 1 on `topic` every 5 ms while connected, printing
 * "pub n" for each one publish() accepted and "ack" for each puback; "offline"/"connect".
 * It subscribes to the topic on each connect and prints "recv n" for what comes back.
 */
function nodemcuStream(clientId: string, port: number, topic: string, keepalive: number, count: number): string {
  return `
    m = mqtt.Client("${clientId}", ${keepalive})
    sent = 0
    m:on("puback", function() print("ack") end)
    m:on("offline", function() print("offline") end)
    m:on("message", function(_, _, data) print("recv", data) end)
    m:connect("127.0.0.1", ${port}, 0, 1, function() print("connect") m:subscribe("${topic}", 1) if not t then start() end end, function(_, r) print("connfail", r) end)
    function start()
      t = tmr.create()
      t:alarm(5, tmr.ALARM_AUTO, function()
        if sent >= ${count} then t:unregister() print("done") return end
        local ok, queued = pcall(m.publish, m, "${topic}", tostring(sent + 1), 1, 0)
        if ok and queued then sent = sent + 1 print("pub", sent) end
      end)
    end
  `;
}

/**
 * LuatOS: the same stream with autoreconn; "pub n id" per accepted publish, "sent id",
 * "recv n" for its own messages coming back, and every other event by name.
 */
function luatosStream(clientId: string, port: number, topic: string, count: number): string {
  return `
    c = mqtt.create(nil, "127.0.0.1", ${port})
    c:auth("${clientId}")
    c:autoreconn(true, 1000)
    sent, ready = 0, false
    c:on(function(cl, event, data, payload)
      if event == "sent" then print("sent", data)
      elseif event == "recv" then print("recv", payload)
      elseif event == "conack" then print("conack") cl:subscribe("${topic}", 1)
      elseif event == "suback" then print("suback") ready = true
      else print(event, data) if event == "disconnect" then ready = false end end
    end)
    c:connect()
    t = sys.timerLoopStart(function()
      if sent >= ${count} then sys.timerStop(t) print("done") return end
      if not ready then return end
      local id = c:publish("${topic}", tostring(sent + 1), 1)
      if id then sent = sent + 1 print("pub", sent, id) end
    end, 5)
  `;
}

describe("MQTT faults on Mosquitto: silent, killed and restarted mid-stream", function () {
  this.timeout(20000);
  let mosq: Mosquitto;
  const track = closeAfterEach();
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    const pid = mosq.pid();
    if (pid !== undefined) process.kill(pid, "SIGCONT");
    await mosq.stop();
  });

  it("NodeMCU, broker silent (SIGSTOP) then back: offline within 1.5 keepalives, reconnect; only publishes without puback are lost, none twice", async () => {
    const sink = await collector(mosq.urls.tcp, "flt/n");
    const c = track(await nodemcu(nodemcuStream("flt-n", mosq.ports.tcp, "flt/n", 1, 600)));
    await c.waitFor("connect\n");
    await c.waitFor("pub\t100\n");
    const pid = mosq.pid() as number;
    process.kill(pid, "SIGSTOP");
    const stoppedAt = Date.now();
    try {
      await c.waitFor("offline\n", 5000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // The last PUBACK came just before the stop, so 1.5 keepalives count from about then.
    expect(Date.now() - stoppedAt).to.be.below(1800);
    await c.waitFor("done\n", 15000);
    const accepted = numbers(c, "pub");
    // Every message publish() accepted either arrives or goes without its puback.
    await waitUntil(() => accepted.length - new Set(sink.got).size <= accepted.length - fields(c, "ack").length, "the acknowledged messages", 3000).catch(() => undefined);
    await delay(200);
    const acks = fields(c, "ack").length;
    const lost = accepted.filter((n) => !new Set(sink.got).has(n));
    expect(duplicates(sink.got), "duplicates").to.deep.equal([]);
    expect(acks, "pubacks").to.be.at.most(new Set(sink.got).size);
    expect(lost.length, "lost messages").to.be.at.most(accepted.length - acks);
    expect(lost.length, "lost messages").to.be.greaterThan(0);
    expect(acks).to.be.greaterThan(0);
    expect(c.stderr()).to.equal("");
    await sink.end();
  });

  for (const flavor of ["nodemcu", "luatos"] as const) {
    it(`${flavor === "nodemcu" ? "NodeMCU" : "LuatOS"}, broker killed and restarted mid-stream, QoS 1 both ways: ${flavor === "nodemcu" ? "offline" : "disconnect(-1)"}, reconnect, nothing twice, nothing lost after the reconnect`, async () => {
      const topic = `flt/k/${flavor}`;
      const c = track(flavor === "nodemcu" ? await nodemcu(nodemcuStream("flt-kn", mosq.ports.tcp, topic, 30, 400)) : await luatos(luatosStream("flt-kl", mosq.ports.tcp, topic, 400)));
      await c.waitFor("recv\t100\n");
      await mosq.restart();
      await c.waitFor("done\n", 15000);
      const accepted = numbers(c, "pub");
      const later = flavor === "nodemcu" ? publishedAfter(c, "connect", "offline") : publishedAfter(c, "suback", "disconnect\t-1");
      await waitUntil(() => later.every((n) => numbers(c, "recv").includes(n)), "the messages published after the reconnect coming back", 3000);
      const received = numbers(c, "recv");
      expect(later.length, "published after the reconnect").to.be.greaterThan(0);
      expect(duplicates(received), "duplicates").to.deep.equal([]);
      expect(received.filter((n) => !accepted.includes(n)), "received but never published").to.deep.equal([]);
      const events = c.stdout().split("\n").filter((l) => /^(connect|offline|conack|suback|disconnect|close|error|connfail)/.test(l));
      if (flavor === "nodemcu") {
        expect(events.filter((l) => l !== "connfail\t-5")).to.deep.equal(["connect", "offline", "connect"]);
      } else {
        // The ids in "sent" are ids publish() returned, each once.
        const ids = fields(c, "pub").map((f) => Number(f[1]));
        const acked = numbers(c, "sent");
        expect(duplicates(acked)).to.deep.equal([]);
        expect(acked.filter((id) => !ids.includes(id))).to.deep.equal([]);
        expect(events.filter((l) => !l.startsWith("error\tconnect") && l !== "disconnect\t-1")).to.deep.equal(["conack", "suback", "conack", "suback"]);
      }
      expect(c.stderr()).to.equal("");
    });
  }
});

describe("MQTT faults on the embedded broker and on broken servers", function () {
  this.timeout(10000);
  const suite = useEmbeddedBroker();
  const track = closeAfterEach();

  for (const flavor of ["nodemcu", "luatos"] as const) {
    const name = flavor === "nodemcu" ? "NodeMCU" : "LuatOS";
    it(`${name}, connection cut under traffic: ${flavor === "nodemcu" ? "offline" : "disconnect(-1)"}, reconnect; only messages without their ack are lost, none twice`, async () => {
      const link = await relay(suite.broker.tcpPort);
      const topic = `flt/cut/${flavor}`;
      const sink = await collector(suite.broker.tcpUrl, topic);
      try {
        const c = track(flavor === "nodemcu" ? await nodemcu(nodemcuStream("flt-cn", link.port, topic, 30, 400)) : await luatos(luatosStream("flt-cl", link.port, topic, 400)));
        await c.waitFor("recv\t100\n");
        link.cut();
        await c.waitFor("done\n", 8000);
        const accepted = numbers(c, "pub");
        const later = flavor === "nodemcu" ? publishedAfter(c, "connect", "offline") : publishedAfter(c, "suback", "disconnect\t-1");
        const ackCount = () => (flavor === "nodemcu" ? fields(c, "ack").length : fields(c, "sent").length);
        await waitUntil(() => later.every((n) => sink.got.includes(n)), "the messages published after the reconnect", 3000);
        await delay(200);
        const received = new Set(sink.got);
        const lost = accepted.filter((n) => !received.has(n));
        expect(later.length).to.be.greaterThan(0);
        expect(duplicates(sink.got), "duplicates").to.deep.equal([]);
        expect(lost.length, "lost messages").to.be.at.most(accepted.length - ackCount());
        if (flavor === "luatos") {
          // Each lost message is one whose id never came back in "sent".
          const acked = new Set(numbers(c, "sent"));
          const idOf = new Map(fields(c, "pub").map((f) => [Number(f[0]), Number(f[1])]));
          expect(lost.filter((n) => acked.has(idOf.get(n) as number)), "lost although acknowledged").to.deep.equal([]);
        }
        expect(c.stdout()).to.include(flavor === "nodemcu" ? "offline\n" : "disconnect\t-1\n");
        expect(c.stderr()).to.equal("");
      } finally {
        await sink.end();
        await link.close();
      }
    });

    it(`${name}, garbage after CONNACK (a malformed remaining length): ${flavor === "nodemcu" ? "offline" : "disconnect(-1) then close"}, and the script ends`, async () => {
      const server = await fakeBroker(() => undefined);
      const garbage = await fakeBroker((socket) => socket.write(Buffer.from([0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f])));
      try {
        const port = garbage.port;
        const c = track(flavor === "nodemcu"
          ? await nodemcu(`m = mqtt.Client("flt-g", 30) m:on("offline", function() print("offline") end) m:connect("127.0.0.1", ${port}, false, function() print("connect") m:publish("g", "x", 0, 0) end, function(_, r) print("connfail", r) end)`)
          : await luatos(`c = mqtt.create(nil, "127.0.0.1", ${port}) c:auth("flt-g") c:on(function(cl, event, data) print(event, data) if event == "conack" then cl:publish("g", "x", 1) end end) c:connect()`));
        expect(await c.rt.finished).to.equal(0);
        expect(c.stdout()).to.equal(flavor === "nodemcu" ? "connect\noffline\n" : "conack\tnil\ndisconnect\t-1\nclose\tnil\n");
        expect(c.stderr()).to.equal("");
      } finally {
        await server.close();
        await garbage.close();
      }
    });
  }

  // LuatOS's keepalive is at least 15 s (mqttc:keepalive clamps it), too long for this suite.
  it("NodeMCU, a server that stops answering PINGREQ: offline within 1.5 keepalives of the last packet", async () => {
    const server = await fakeBroker(() => undefined);
    try {
      const c = track(await nodemcu(`
        m = mqtt.Client("flt-p", 1)
        m:on("offline", function() print("offline", tmr.now() - t0) end)
        m:connect("127.0.0.1", ${server.port}, false, function() t0 = tmr.now() print("connect") end)
      `));
      expect(await c.rt.finished).to.equal(0);
      const [line, micros] = c.stdout().split("\n")[1]?.split("\t") ?? [];
      expect(line).to.equal("offline");
      expect(Number(micros) / 1000).to.be.within(1000, 1500 + 100);
      expect(c.stderr()).to.equal("");
    } finally {
      await server.close();
    }
  });
});
