// LuatOS socket connections against TCP and UDP echo servers the test starts on 127.0.0.1:
// the firmware's return values and event order (luat_lib_socket.c, luat_network_adapter.c),
// bytes 0x00 and 0xFF both ways, libnet over the same calls, --map for host names, and a
// refused connection.
import { expect } from "chai";
import { createServer, type Server, type Socket } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import type { AddressInfo } from "node:net";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";
import { makeCerts } from "./support/certs.js";
import { createServer as createTlsServer } from "node:tls";

// Prints an event by name: sys.waitMsg's {id, param} or a callback's (id, param).
const EVENT_NAMES = `
local names = {}
for _, k in ipairs({"LINK", "ON_LINE", "TX_OK", "EVENT", "CLOSED"}) do names[socket[k]] = k end
function ev(id, param) print("ev", names[id] or id, param) end
function msg(task) local m = sys.waitMsg(task, nil, 2000); if m then ev(m[1], m[2]) else print("timeout") end end
`;

/** Runs `body` (Lua) in a sysplus task named "T" and waits for the script to end. */
async function run(body: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "luatos", cwd: tempDir("socket"), ...options, prelude: [...(options.prelude ?? []), `sys = require("sys")\n${EVENT_NAMES}\nsys.taskInitEx(function()\n${body}\nend, "T")`] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

describe("LuatOS socket connections", function () {
  this.timeout(10000);
  let tcp: Server;
  let tcpPort: number;
  let udp: UdpSocket;
  let udpPort: number;
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();

  before(async () => {
    tcp = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("data", (chunk: Buffer) => {
        received.push(chunk);
        socket.write(chunk);
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    tcpPort = (tcp.address() as AddressInfo).port;
    udp = createSocket("udp4");
    udp.on("message", (bytes, from) => {
      received.push(bytes);
      udp.send(bytes, from.port, from.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    udpPort = udp.address().port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  });
  beforeEach(() => {
    received.length = 0;
  });

  it("TCP: connect, tx, wait, rx into a zbuff, discon: each step's returns and events in order, bytes exact", async () => {
    const c = await run(`
      local netc = socket.create(nil, "T")
      print("config", socket.config(netc))
      print("state", socket.state(netc))
      print("connect", socket.connect(netc, "127.0.0.1", ${tcpPort}))
      print("state", socket.state(netc))
      msg("T")
      print("state", socket.state(netc))
      print("tx", socket.tx(netc, "\\0\\255ab"))
      msg("T")
      print("wait", socket.wait(netc))
      msg("T")
      print("pending", socket.rx(netc))
      local buff = zbuff.create(2)
      print("rx", socket.rx(netc, buff))
      print("data", (buff:toStr(0, buff:used()):toHex()), buff:len())
      print("rx", socket.rx(netc, buff))
      print("discon", socket.discon(netc))
      msg("T")
      print("state", socket.state(netc))
      print("tx", socket.tx(netc, "x"))
      socket.release(netc)
      print("released", socket.state(netc))`);
    expect(c.stdout()).to.equal([
      "config\ttrue",
      "state\t1\t离线",
      "connect\ttrue\tfalse",
      "state\t3\t正在连接",
      "ev\tON_LINE\t0",
      "state\t5\t在线",
      "tx\ttrue\tfalse\tfalse",
      "ev\tTX_OK\t0",
      "wait\ttrue\tfalse",
      "ev\tEVENT\t0",
      "pending\ttrue\t4",
      "rx\ttrue\t4\tnil\tnil",
      "data\t00FF6162\t4",
      "rx\ttrue\t0",
      "discon\ttrue\tfalse",
      "ev\tCLOSED\t0",
      "state\t1\t离线",
      "tx\tfalse\tfalse\tfalse",
      "released",
      "",
    ].join("\n"));
    expect(Buffer.concat(received)).to.deep.equal(Buffer.from([0x00, 0xff, 0x61, 0x62]));
  });

  it("libnet over a host name --map sends to the echo server; socket.read gives the bytes", async () => {
    const c = await run(`
      local libnet = require("libnet")
      local netc = socket.create(nil, "T")
      socket.config(netc)
      print("connect", libnet.connect("T", 2000, netc, "echo.example.invalid", 7))
      print("tx", libnet.tx("T", 2000, netc, "\\255\\0\\1"))
      print("wait", libnet.wait("T", 2000, netc))
      local ok, data = socket.read(netc)
      print("read", ok, (data:toHex()))
      libnet.close("T", 2000, netc)
      print("state", socket.state(netc))
      socket.release(netc)`, { map: [["echo.example.invalid:7", `tcp://127.0.0.1:${tcpPort}`]] });
    expect(c.stdout()).to.equal("connect\ttrue\ntx\ttrue\tfalse\nwait\ttrue\ttrue\nread\ttrue\tFF0001\nstate\t1\t离线\n");
    expect(Buffer.concat(received)).to.deep.equal(Buffer.from([0xff, 0x00, 0x01]));
  });

  it("UDP with a callback function: the datagram comes back with the sender's packed address and port", async () => {
    const c = await run(`
      local done = false
      local netc
      netc = socket.create(nil, function(ctrl, id, param)
        ev(id, param)
        if ctrl ~= netc then print("wrong ctrl") end
        if id == socket.EVENT then
          local buff = zbuff.create(8)
          local ok, len, ip, port = socket.rx(netc, buff)
          print("rx", ok, len, (ip:toHex()), port == ${udpPort}, (buff:toStr(0, buff:used()):toHex()))
          socket.close(netc)
          print("state", socket.state(netc))
          socket.release(netc)
          sys.publish("DONE")
        end
      end)
      print("config", socket.config(netc, nil, true))
      print("connect", socket.connect(netc, "127.0.0.1", ${udpPort}))
      sys.waitUntil("ONLINE", 200)
      print("tx", socket.tx(netc, "\\0\\255\\0"))
      sys.waitUntil("DONE", 2000)`);
    expect(c.stdout()).to.equal([
      "config\ttrue",
      "connect\ttrue\tfalse",
      "ev\tON_LINE\t0",
      "tx\ttrue\tfalse\tfalse",
      "ev\tTX_OK\t0",
      "ev\tEVENT\t0",
      "rx\ttrue\t3\t007F000001\ttrue\t00FF00",
      "state\t1\t离线",
      "",
    ].join("\n"));
    expect(Buffer.concat(received)).to.deep.equal(Buffer.from([0x00, 0xff, 0x00]));
  });

  it("TCP: the server's close after its data is EVENT 0 then EVENT -1; the data can still be read, then rx fails", async () => {
    const once = createServer((socket) => socket.end(Buffer.from([0x00, 0x68, 0xff])));
    await new Promise<void>((resolve) => once.listen(0, "127.0.0.1", resolve));
    const port = (once.address() as AddressInfo).port;
    try {
      const c = await run(`
        local netc = socket.create(nil, "T")
        socket.config(netc)
        socket.connect(netc, "127.0.0.1", ${port})
        msg("T")
        msg("T")
        msg("T")
        local buff = zbuff.create(8)
        print("rx", socket.rx(netc, buff))
        print("data", (buff:toStr(0, buff:used()):toHex()))
        print("rx", socket.rx(netc, buff))
        print("wait", socket.wait(netc))
        socket.release(netc)`);
      expect(c.stdout()).to.equal("ev\tON_LINE\t0\nev\tEVENT\t0\nev\tEVENT\t-1\nrx\ttrue\t3\tnil\tnil\ndata\t0068FF\nrx\tfalse\t0\nwait\tfalse\tfalse\n");
    } finally {
      await new Promise<void>((resolve) => once.close(() => resolve()));
    }
  });

  it("TLS: with server_cert the server's certificate is checked (another CA or a name it does not carry: ON_LINE -1); without it nothing is", async () => {
    const certs = await makeCerts();
    const server = createTlsServer({ cert: certs.serverCert, key: certs.serverKey }, (socket) => socket.on("data", (chunk: Buffer) => socket.write(chunk)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const c = await run(`
        for _, case in ipairs({{CA, "localhost"}, {OTHER, "localhost"}, {CA, "elsewhere.invalid"}, {false, "elsewhere.invalid"}}) do
          local cert, host = case[1], case[2]
          local netc = socket.create(nil, "T")
          print("config", socket.config(netc, nil, false, true, nil, nil, nil, cert or nil))
          socket.connect(netc, host, ${port})
          msg("T")
          if socket.state(netc) == 5 then
            socket.tx(netc, "\\0\\255")
            msg("T")
            msg("T")
            print("read", (select(2, socket.read(netc)):toHex()))
          end
          socket.release(netc)
        end`, { prelude: [`CA = ${JSON.stringify(certs.ca)}\nOTHER = ${JSON.stringify(certs.otherCa)}`], lookup: async () => ({ address: "127.0.0.1", family: 4 }) });
      expect(c.stdout()).to.equal("config\ttrue\nev\tON_LINE\t0\nev\tTX_OK\t0\nev\tEVENT\t0\nread\t00FF\nconfig\ttrue\nev\tON_LINE\t-1\nconfig\ttrue\nev\tON_LINE\t-1\nconfig\ttrue\nev\tON_LINE\t0\nev\tTX_OK\t0\nev\tEVENT\t0\nread\t00FF\n");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("socket.close_all(adapter) disconnects that adapter's sockets: CLOSED 0", async () => {
    const c = await run(`
      local netc = socket.create(socket.LWIP_GP, "T")
      socket.config(netc)
      socket.connect(netc, "127.0.0.1", ${tcpPort})
      msg("T")
      print("other", socket.close_all(socket.LWIP_STA), socket.state(netc))
      print("close_all", socket.close_all(socket.LWIP_GP), socket.state(netc))
      msg("T")
      print("state", socket.state(netc))
      socket.release(netc)`);
    expect(c.stdout()).to.equal("ev\tON_LINE\t0\nother\ttrue\t5\t在线\nclose_all\ttrue\t7\t正在离线\nev\tCLOSED\t0\nstate\t1\t离线\n");
  });

  it("a refused connection: ON_LINE -1, the socket is offline, libnet.connect is false", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const c = await run(`
      local libnet = require("libnet")
      local netc = socket.create(nil, "T")
      socket.config(netc)
      print("connect", socket.connect(netc, "127.0.0.1", ${port}))
      msg("T")
      print("state", socket.state(netc))
      print("wait", socket.wait(netc))
      print("rx", socket.rx(netc, zbuff.create(4)))
      print("libnet", libnet.connect("T", 2000, netc, "127.0.0.1", ${port}))
      socket.release(netc)`);
    expect(c.stdout()).to.equal("connect\ttrue\tfalse\nev\tON_LINE\t-1\nstate\t1\t离线\nwait\tfalse\tfalse\nrx\tfalse\t0\nlibnet\tfalse\n");
  });
});
