// NodeMCU websocket against a real WebSocket server (ws) and a raw TCP server on 127.0.0.1:
// the firmware's handshake bytes and checks, frames both ways (all byte values), pings,
// closes from either side and the firmware's close codes.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const HEX = `local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end\n`;

async function run(script: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "nodemcu", cwd: tempDir("nodemcu-ws"), ...options, prelude: [HEX + script] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  await c.rt.close();
  return c;
}

function listen<T extends Server | WebSocketServer>(server: T, start: (port: number) => void): Promise<number> {
  return new Promise((resolve) => {
    const done = (port: number) => {
      start(port);
      resolve(port);
    };
    if (server instanceof WebSocketServer) server.on("listening", () => done((server.address() as AddressInfo).port));
    else server.listen(0, "127.0.0.1", () => done((server.address() as AddressInfo).port));
  });
}

/** A raw server: records what arrives, answers the handshake with `answer(request)`. */
async function rawServer(answer: (request: string, socket: Socket) => void): Promise<{ server: Server; port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    let head = "";
    let answered = false;
    socket.on("data", (data: Buffer) => {
      received.push(data);
      if (answered) return;
      head += data.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      answered = true;
      answer(head, socket);
    });
    socket.on("error", () => undefined);
  });
  const port = await listen(server, () => undefined);
  return { server, port, received };
}

const acceptFor = (request: string): string => {
  const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(request)?.[1] ?? "";
  return createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
};

const switching = (request: string) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(request)}\r\n\r\n`;

describe("NodeMCU websocket", () => {
  let wss: WebSocketServer;
  let port: number;
  const serverSaw: string[] = [];

  before(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    port = await listen(wss, () => undefined);
    wss.on("connection", (socket: WebSocket, request) => {
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        serverSaw.push(`${isBinary ? "binary" : "text"} ${data.toString("hex")}`);
        if (data.toString() === "close me") socket.close(1000, "bye");
        else if (data.toString() === "ping me") socket.ping(Buffer.from("abc"));
        else socket.send(data, { binary: isBinary });
      });
      socket.on("pong", (data: Buffer) => serverSaw.push(`pong ${data.toString()}`));
      socket.on("close", (code: number) => serverSaw.push(`close ${code}`));
      serverSaw.push(`open ${request.headers["user-agent"]} ${request.headers["sec-websocket-protocol"]}`);
    });
  });

  after(() => wss.close());
  beforeEach(() => (serverSaw.length = 0));

  it("connects, sends text and all 256 byte values, receives them back with their opcodes, closes with -6", async () => {
    const c = await run(`
      local ws = websocket.createClient()
      local n = 0
      ws:on("connection", function(w) print("connected", w == ws) w:send("hello") end)
      ws:on("receive", function(w, msg, opcode)
        n = n + 1
        print("receive", opcode, hex(msg))
        local all = {}
        for i = 0, 255 do all[#all + 1] = string.char(i) end
        if n == 1 then w:send(table.concat(all), 2) else w:close() end
      end)
      ws:on("close", function(w, status) print("close", status) end)
      ws:connect("ws://127.0.0.1:${port}/path")`);
    expect(c.stdout()).to.equal(`connected\ttrue\nreceive\t1\t${Buffer.from("hello").toString("hex")}\nreceive\t2\t${ALL_BYTES.toString("hex")}\nclose\t-6\n`);
    expect(serverSaw.slice(0, 3)).to.deep.equal(["open ESP8266 chat", `text ${Buffer.from("hello").toString("hex")}`, `binary ${ALL_BYTES.toString("hex")}`]);
  });

  it("answers the server's ping with its payload, and echoes the server's close frame (-6)", async () => {
    const c = await run(`
      local ws = websocket.createClient()
      ws:on("connection", function(w) w:send("ping me") tmr.create():alarm(200, tmr.ALARM_SINGLE, function() w:send("close me") end) end)
      ws:on("close", function(_, status) print("close", status) end)
      ws:connect("ws://127.0.0.1:${port}")`);
    expect(c.stdout()).to.equal("close\t-6\n");
    for (let i = 0; i < 50 && !serverSaw.includes("close 1000"); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(serverSaw).to.include("pong abc");
    expect(serverSaw).to.include("close 1000");
  });

  it("sends the firmware's handshake: Host with the port, protocol headers first, config headers before the defaults", async () => {
    const raw = await rawServer((request, socket) => socket.end(switching(request)));
    try {
      const c = await run(
        `local ws = websocket.createClient()
         ws:config({ headers = { ["user-agent"] = "NodeMCU" } })
         ws:on("connection", function() print("connected") end)
         ws:on("close", function(_, status) print("close", status) end)
         ws:connect("ws://echo.example.com/chat?room=1")`,
        { map: [["echo.example.com", `ws://127.0.0.1:${raw.port}`]] },
      );
      const request = Buffer.concat(raw.received).toString("latin1");
      expect(request.replace(/Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==\r\n/, "Sec-WebSocket-Key: KEY\r\n")).to.equal(
        "GET /chat?room=1 HTTP/1.1\r\nHost: echo.example.com:80\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: KEY\r\nSec-WebSocket-Version: 13\r\nuser-agent: NodeMCU\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
      );
      // The server closed the connection without a close frame: nothing else is known.
      expect(c.stdout()).to.equal("connected\nclose\t-99\n");
    } finally {
      raw.server.close();
    }
  });

  it("refuses a handshake answer without 101 (-17) or with the wrong accept key (-7)", async () => {
    const notSwitching = await rawServer((_request, socket) => socket.write("HTTP/1.1 200 OK\r\n\r\n"));
    const wrongKey = await rawServer((_request, socket) => socket.write("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"));
    try {
      const c = await run(`
        local a, b = websocket.createClient(), websocket.createClient()
        a:on("close", function(_, status) print("200", status) b:connect("ws://127.0.0.1:${wrongKey.port}/") end)
        b:on("connection", function() print("connected?") end)
        b:on("close", function(_, status) print("bad key", status) end)
        a:connect("ws://127.0.0.1:${notSwitching.port}/")`);
      expect(c.stdout()).to.equal("200\t-17\nbad key\t-7\n");
    } finally {
      notSwitching.server.close();
      wrongKey.server.close();
    }
  });

  it("delivers a fragmented message whole, with the first fragment's opcode; a stray continuation ends the link (-15)", async () => {
    const frame = (fin: boolean, opcode: number, text: string) => Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, text.length]), Buffer.from(text)]);
    const raw = await rawServer((request, socket) => {
      socket.write(switching(request));
      socket.write(Buffer.concat([frame(false, 1, "hel"), frame(false, 0, "lo, "), frame(true, 0, "world"), frame(true, 0, "stray")]));
    });
    try {
      const c = await run(`
        local ws = websocket.createClient()
        ws:on("receive", function(_, msg, opcode) print(opcode, msg) end)
        ws:on("close", function(_, status) print("close", status) end)
        ws:connect("ws://127.0.0.1:${raw.port}")`);
      expect(c.stdout()).to.equal("1\thello, world\nclose\t-15\n");
    } finally {
      raw.server.close();
    }
  });

  it("reports URL and DNS failures with the firmware's codes, the URL ones during connect()", async () => {
    const closed = await rawServer(() => undefined);
    const refused = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const c = await run(
      `local ws = websocket.createClient()
       local urls = { "http://x/", "ws://${"h".repeat(256)}/", "ws://host:0/", "ws://:80/", "ws://nowhere.invalid/", "ws://127.0.0.1:${refused}/" }
       local i = 0
       local function next()
         i = i + 1
         if not urls[i] then return end
         ws:connect(urls[i])
         print("called", i)
       end
       ws:on("close", function(_, status) print("close", i, status) node.task.post(next) end)
       next()`,
      { lookup: async (host: string) => { throw new Error(`no such host ${host}`); } },
    );
    expect(c.stdout()).to.equal("close\t1\t-1\ncalled\t1\nclose\t2\t-2\ncalled\t2\nclose\t3\t-3\ncalled\t3\nclose\t4\t-4\ncalled\t4\ncalled\t5\nclose\t5\t-5\ncalled\t6\nclose\t6\t-109\n");
  });

  it("raises the firmware's errors", async () => {
    const c = await run(`
      local ws = websocket.createClient()
      print(pcall(ws.send, ws, "x"))
      print(pcall(function() ws:on("bogus", print) end))
      print(pcall(function() ws:on("close") end))
      print(pcall(function() ws:config("x") end))
      ws:connect("ws://127.0.0.1:${port}/")
      print(pcall(ws.connect, ws, "ws://127.0.0.1:${port}/"))
      ws:close()
      ws:close()`);
    expect(c.stdout()).to.equal(
      "false\tWebsocket isn't connected.\n\n" +
        "false\t(command line):5: bad argument #1 to 'on' (invalid option 'bogus')\n" +
        "false\t(command line):6: bad argument #2 to 'on' (function or nil)\n" +
        "false\t(command line):7: bad argument #1 to 'config' (table expected, got string)\n" +
        "false\tWebsocket already connecting or connected.\n\n",
    );
  });
});
