// LuatOS websocket against a real WebSocket server (ws) and raw TCP servers on 127.0.0.1:
// the firmware's handshake and frame bytes, its events through the one callback, the
// WEBSOCKET_CONNACK system message, its errors and autoreconn.
import { expect } from "chai";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

const EVENTS = `local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function show(w, event, data, fin, opcode)
  if event == "recv" then print(event, fin, opcode, hex(data)) else print(event, data, fin) end
end
`;

async function task(body: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "luatos", cwd: tempDir("luatos-ws"), ...options, prelude: [`sys = require("sys")\n${EVENTS}sys.taskInit(function()\n${body}\nend)`] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  await c.rt.close();
  return c;
}

async function rawServer(onConnection: (socket: Socket, received: () => Buffer) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => (received = Buffer.concat([received, data])));
    socket.on("error", () => undefined);
    onConnection(socket, () => received);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe("LuatOS websocket", () => {
  let wss: WebSocketServer;
  let port: number;

  before(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => wss.on("listening", () => resolve()));
    port = (wss.address() as AddressInfo).port;
    wss.on("connection", (socket: WebSocket) => {
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        if (data.toString() === "bye") socket.close(1000);
        else socket.send(data, { binary: isBinary });
      });
    });
  });

  after(() => wss.close());

  it("conack and WEBSOCKET_CONNACK, sent per send(), recv with FIN and opcode for text and all 256 byte values", async () => {
    const c = await task(`
      local wsc = websocket.create(nil, "ws://127.0.0.1:${port}/echo")
      print("ready before", wsc:ready())
      wsc:on(show)
      print("connect", wsc:connect())
      local ok, client = sys.waitUntil("WEBSOCKET_CONNACK", 5000)
      print("WEBSOCKET_CONNACK", ok, client == wsc, wsc:ready())
      print("send", wsc:send("hello"))
      sys.wait(200)
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      print("send", wsc:send(table.concat(all), 1))
      sys.wait(200)
      wsc:close()
      print("closed", wsc:ready())`);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex");
    expect(c.stdout()).to.equal(
      "ready before\tfalse\nconnect\ttrue\nconack\tnil\tnil\nWEBSOCKET_CONNACK\ttrue\ttrue\ttrue\nsend\ttrue\nsent\tnil\tnil\n" +
        `recv\t1\t1\t${Buffer.from("hello").toString("hex")}\nsend\ttrue\nsent\tnil\tnil\nrecv\t1\t2\t${all}\nclosed\tfalse\n`,
    );
  });

  it("sends the firmware's handshake and masked frames byte for byte; table headers are percent-escaped", async () => {
    let seen: Buffer = Buffer.alloc(0);
    const raw = await rawServer((socket, received) => {
      socket.on("data", () => {
        seen = received();
        if (seen.includes("\r\n\r\n") && !socket.readableEnded) socket.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
      });
    });
    try {
      const c = await task(`
        local wsc = websocket.create(nil, "ws://device.example.com/path?q=1")
        print(wsc:headers({ Auth = "Basic a.b" }))
        wsc:on(show)
        wsc:connect()
        sys.waitUntil("WEBSOCKET_CONNACK", 5000)
        wsc:send("hi")
        sys.wait(200)
        wsc:close()`, { map: [["device.example.com", `ws://127.0.0.1:${raw.port}`]] });
      await until(() => seen.length > 0 && seen.subarray(seen.indexOf("\r\n\r\n") + 4).length >= 8);
      const split = seen.indexOf("\r\n\r\n") + 4;
      expect(seen.subarray(0, split).toString("latin1")).to.equal(
        "GET /path?q=1 HTTP/1.1\r\nHost: device.example.com:80\r\nAuth:Basic%20a%2Eb\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: w4v7O6xFTi36lq3RNcgctw==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      expect(seen.subarray(split, split + 8).toString("hex")).to.equal("818200010203" + Buffer.from([0x68 ^ 0, 0x69 ^ 1]).toString("hex"));
      expect(c.stdout()).to.equal("true\nconack\tnil\tnil\nsent\tnil\tnil\n");
    } finally {
      raw.server.close();
    }
  });

  it("a close frame from the server is an rx error, then disconnect; autoreconn connects again after its period", async () => {
    const c = await task(`
      local wsc = websocket.create(nil, "ws://127.0.0.1:${port}/")
      wsc:on(show)
      wsc:autoreconn(true, 1000)
      wsc:connect()
      sys.waitUntil("WEBSOCKET_CONNACK", 5000)
      wsc:send("bye")
      print("again", (sys.waitUntil("WEBSOCKET_CONNACK", 5000)))
      wsc:close()`);
    expect(c.stdout()).to.equal("conack\tnil\tnil\nsent\tnil\tnil\nerror\trx\t0\ndisconnect\tnil\tnil\nconack\tnil\tnil\nagain\ttrue\n");
  });

  it("an answer other than 101 is an rx error; a refused connection a connect error; send before conack is false", async () => {
    const notWs = await rawServer((socket) => socket.on("data", () => socket.write("HTTP/1.1 200 OK\r\n\r\n")));
    const closed = await rawServer(() => undefined);
    const refused = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    try {
      const c = await task(`
        print("bad adapter", websocket.create(99, "ws://127.0.0.1/"))
        local a = websocket.create(nil, "ws://127.0.0.1:${notWs.port}/")
        a:on(show)
        a:connect()
        print("send early", a:send("x"))
        sys.wait(500)
        a:close()
        local b = websocket.create(nil, "ws://127.0.0.1:${refused}/")
        b:on(show)
        b:connect()
        sys.wait(500)
        b:close()`);
      expect(c.stdout()).to.equal("bad adapter\nsend early\tfalse\nerror\trx\t0\ndisconnect\tnil\tnil\nerror\tconnect\t0\ndisconnect\tnil\tnil\n");
    } finally {
      notWs.server.close();
    }
  });
});
