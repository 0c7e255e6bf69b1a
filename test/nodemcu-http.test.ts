// NodeMCU http against a raw TCP server on 127.0.0.1 that records the request bytes and
// answers with scripted bytes: the firmware's request format, its response parsing, its
// redirects, its single callback slot and its failures.
import { expect } from "chai";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

type Reply = Buffer | string | ((request: Buffer, socket: Socket) => void);

interface RawServer {
  server: Server;
  port: number;
  /** The bytes of each request, once the client stopped sending (after the body if any). */
  requests: Buffer[];
  replies: Map<string, Reply>;
}

/** Answers when the request (and its Content-Length body) is complete, then closes. */
function startRawServer(): Promise<RawServer> {
  const requests: Buffer[] = [];
  const replies = new Map<string, Reply>();
  const server = createServer((socket) => {
    let received = Buffer.alloc(0);
    let answered = false;
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd === -1 || answered) return;
      const length = Number(/\r\nContent-Length: (\d+)/i.exec(received.toString("latin1", 0, headEnd))?.[1] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      answered = true;
      requests.push(received);
      const path = received.toString("latin1").split(" ")[1] as string;
      const reply = replies.get(path) ?? "HTTP/1.1 404 Not Found\r\n\r\nnope";
      if (typeof reply === "function") return reply(received, socket);
      socket.end(typeof reply === "string" ? Buffer.from(reply, "latin1") : reply);
    });
    socket.on("error", () => undefined);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port, requests, replies }));
  });
}

/** Runs `script` (NodeMCU Lua) until it ends by itself. */
async function run(script: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "nodemcu", cwd: tempDir("nodemcu-http"), ...options, prelude: [script] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  await c.rt.close();
  return c;
}

/** A callback that prints the status, the body in hex and the named headers. */
const PRINT = (...names: string[]) =>
  `function(code, body, headers) print(code, body and body:gsub(".", function(c) return string.format("%02x", c:byte()) end) or "nil", headers and ${
    names.length ? names.map((n) => `tostring(headers[${JSON.stringify(n)}])`).join(' .. "|" .. ') : '"table"'
  } or "nil") end`;

describe("NodeMCU http", () => {
  let raw: RawServer;
  let base: string;

  before(async () => {
    raw = await startRawServer();
    base = `http://127.0.0.1:${raw.port}`;
  });

  after(() => raw.server.close());

  beforeEach(() => {
    raw.requests.length = 0;
    raw.replies.clear();
  });

  it("GET: the firmware's request bytes; status, binary body and lower-cased headers", async () => {
    raw.replies.set("/hello?x=1", Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nX-Test:  yes\r\nContent-Type: application/octet-stream\r\n\r\n"), Buffer.from([0x00, 0xff, 0x41, 0x0a])]));
    const c = await run(`http.get("${base}/hello?x=1", nil, ${PRINT("x-test", "content-type", "X-Test")})`);
    expect(raw.requests[0]?.toString("latin1")).to.equal(`GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\nConnection: close\r\nUser-Agent: ESP8266\r\n\r\n`);
    expect(c.stdout()).to.equal("200\t00ff410a\tyes|application/octet-stream|nil\n");
  });

  it("POST: the script's headers after Connection, then User-Agent and Content-Length, then the body", async () => {
    raw.replies.set("/echo", "HTTP/1.0 201 Created\r\nServer: raw\r\n\r\ncreated");
    const c = await run(`http.post("${base}/echo", "Content-Type: application/json\\r\\n", '{"hello":"world"}', ${PRINT("server")})`);
    expect(raw.requests[0]?.toString("latin1")).to.equal(
      `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\nConnection: close\r\nContent-Type: application/json\r\nUser-Agent: ESP8266\r\nContent-Length: 17\r\n\r\n{"hello":"world"}`,
    );
    expect(c.stdout()).to.equal(`201\t${Buffer.from("created").toString("hex")}\traw\n`);
  });

  it("request(): any method; a Host or User-Agent of the script's replaces the firmware's; strings end at a NUL", async () => {
    raw.replies.set("/x", "HTTP/1.1 204 No Content\r\n\r\n");
    const c = await run(`http.request("${base}/x", "PATCH", "host: device.local\\r\\nUser-Agent: mine\\r\\n", "ab\\0cd", ${PRINT()})`);
    expect(raw.requests[0]?.toString("latin1")).to.equal("PATCH /x HTTP/1.1\r\nConnection: close\r\nhost: device.local\r\nUser-Agent: mine\r\nContent-Length: 2\r\n\r\nab");
    expect(c.stdout()).to.equal("204\t\ttable\n");
  });

  it("goes where --map sends the host, with the script's host (no port at 80) in Host; put and delete send bodies", async () => {
    raw.replies.set("/v1/things", "HTTP/1.1 200 OK\r\n\r\nok");
    const c = await run(
      `http.put("http://api.example.com/v1/things", nil, "x", function(code) print("put", code)
         http.delete("http://api.example.com/v1/things", nil, "", function(code) print("delete", code) end)
       end)`,
      { map: [["api.example.com", `http://127.0.0.1:${raw.port}`]] },
    );
    expect(raw.requests.map((r) => r.toString("latin1"))).to.deep.equal([
      "PUT /v1/things HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\nUser-Agent: ESP8266\r\nContent-Length: 1\r\n\r\nx",
      "DELETE /v1/things HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\nUser-Agent: ESP8266\r\nContent-Length: 0\r\n\r\n",
    ]);
    expect(c.stdout()).to.equal("put\t200\ndelete\t200\n");
  });

  it("undoes chunked transfer coding", async () => {
    raw.replies.set("/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
    const c = await run(`http.get("${base}/chunked", nil, function(code, body) print(code, body) end)`);
    expect(c.stdout()).to.equal("200\thello, world\n");
  });

  it("follows redirects (relative to the folder, absolute path, full URL) without the script's headers and body", async () => {
    raw.replies.set("/a/b", "HTTP/1.1 302 Found\r\nLocation: next\r\n\r\n");
    raw.replies.set("/a/next", "HTTP/1.1 301 Moved\r\nlocation:   /top\r\n\r\n");
    raw.replies.set("/top", `HTTP/1.1 307 Temporary\r\nLocation: http://127.0.0.1:${raw.port}/end\r\n\r\n`);
    raw.replies.set("/end", "HTTP/1.1 200 OK\r\n\r\ndone");
    const c = await run(`http.post("${base}/a/b", "X-Secret: 1\\r\\n", "body", function(code, body) print(code, body) end)`);
    expect(raw.requests.map((r) => r.toString("latin1").split("\r\n")[0])).to.deep.equal(["POST /a/b HTTP/1.1", "POST /a/next HTTP/1.1", "POST /top HTTP/1.1", "POST /end HTTP/1.1"]);
    expect(raw.requests[1]?.toString("latin1")).to.equal(`POST /a/next HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\nConnection: close\r\nUser-Agent: ESP8266\r\n\r\n`);
    expect(c.stdout()).to.equal("200\tdone\n");
  });

  it("gives up after 20 redirects with -1", async () => {
    raw.replies.set("/loop", "HTTP/1.1 302 Found\r\nLocation: /loop\r\n\r\n");
    const c = await run(`http.get("${base}/loop", nil, ${PRINT()})`);
    expect(raw.requests).to.have.length(21);
    expect(c.stdout()).to.equal("-1\tnil\tnil\n");
  });

  it("fails with -1, nil, nil: refused, too long a response, not HTTP, no answer before the server closes, DNS", async () => {
    raw.replies.set("/long", `HTTP/1.1 200 OK\r\n\r\n${"x".repeat(8200)}`);
    raw.replies.set("/fits", `HTTP/1.1 200 OK\r\n\r\n${"x".repeat(8191 - 19)}`);
    raw.replies.set("/garbage", "SPDY/9 200 OK\r\n\r\nhi");
    raw.replies.set("/silent", (_request, socket) => socket.end());
    const closed = await startRawServer();
    const refusedPort = closed.port;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const c = await run(
      `local steps = {
         function(next) http.get("http://127.0.0.1:${refusedPort}/", nil, function(code, b, h) print("refused", code, b, h) next() end) end,
         function(next) http.get("${base}/long", nil, function(code, b, h) print("long", code, b, h) next() end) end,
         function(next) http.get("${base}/fits", nil, function(code, b) print("fits", code, #b) next() end) end,
         function(next) http.get("${base}/garbage", nil, function(code, b, h) print("garbage", code, b, h) next() end) end,
         function(next) http.get("${base}/silent", nil, function(code, b, h) print("silent", code, b, h) next() end) end,
         function(next) http.get("http://nowhere.invalid/", nil, function(code, b, h) print("dns", code, b, h) next() end) end,
       }
       local i = 0
       local function next() i = i + 1 if steps[i] then steps[i](next) end end
       next()`,
      { lookup: async (host: string) => { throw new Error(`no such host ${host}`); } },
    );
    expect(c.stdout()).to.equal("refused\t-1\tnil\tnil\nlong\t-1\tnil\tnil\nfits\t200\t8172\ngarbage\t-1\tnil\tnil\nsilent\t-1\tnil\tnil\ndns\t-1\tnil\tnil\n");
  });

  it("has one callback slot: the first response to arrive goes to the latest callback, the other gets none", async () => {
    raw.replies.set("/first", "HTTP/1.1 200 OK\r\n\r\nfirst");
    raw.replies.set("/second", (_request, socket) => setTimeout(() => socket.end("HTTP/1.1 200 OK\r\n\r\nsecond"), 200));
    const c = await run(
      `http.get("${base}/second", nil, function(code, body) print("A", body) end)
       http.get("${base}/first", nil, function(code, body) print("B", body) end)`,
    );
    expect(raw.requests).to.have.length(2);
    expect(c.stdout()).to.equal("B\tfirst\n");
  });

  it("drops a URL the firmware does not parse, without a callback; checks its arguments as the firmware does", async () => {
    const c = await run(
      `http.get("ftp://example.com/", nil, function() print("called") end)
       http.get("http://127.0.0.1:0/", nil, function() print("called") end)
       print(http.OK, http.ERROR)
       print(pcall(function() http.get() end))
       print(pcall(function() http.request("${base}/") end))
       print(pcall(function() http.post({}) end))`,
    );
    expect(c.stdout()).to.equal(
      "0\t-1\nfalse\t(command line):4: bad argument #1 to 'get' (string expected, got no value)\nfalse\t(command line):5: bad argument #2 to 'request' (string expected, got no value)\nfalse\t(command line):6: bad argument #1 to 'post' (string expected, got table)\n",
    );
    expect(c.stderr()).to.include("moonrig: http: ftp://example.com/ is not a URL the firmware accepts");
    expect(raw.requests).to.have.length(0);
  });
});
