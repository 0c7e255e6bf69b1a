// LuatOS httpsrv through the real Runtime: a server on an OS-picked port of 127.0.0.1,
// asked by raw sockets (exact response bytes) and by node's HTTP client; static files from
// the project (/luadb/) before the Lua function, the function's answers as the firmware
// writes them, and start/stop/debug's answers.
import * as net from "node:net";
import * as http from "node:http";
import { expect } from "chai";
import { startedIn, type Captured } from "./support/capture.js";
import { run } from "./support/lua.js";
import { freePort } from "./support/ports.js";

const BIN = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x80]);

function raw(port: number, request: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.write(request));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? resolve(Buffer.from("RESET")) : reject(error)));
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

const HANDLER = `function(client, method, uri, headers, body)
  if uri == "/echo" then
    return 200, {["X-Echo"] = "yes"}, method .. "|" .. uri .. "|" .. tostring(headers["X-Test"]) .. "|" .. tostring(headers["x-test"]) .. "|" .. math.type(client) .. "|" .. body
  elseif uri == "/weird" then return 201, {}, "w"
  elseif uri == "/low" then return 42, nil, "low"
  elseif uri == "/boom" then error("handler failed")
  elseif uri:sub(1, 7) == "/trav/." then return 403, {}, "no"
  end
end`;

describe("LuatOS httpsrv", function () {
  this.timeout(10000);
  let c: Captured;
  let port: number;
  before(async () => {
    ({ c } = await startedIn({ "main.lua": "", "index.html": "<h1>hi</h1>", "data.bin": BIN, "app.js": "x=1" }, { flavor: "luatos" }));
    port = await freePort();
    expect(run(c, `return httpsrv.start(${port}, ${HANDLER})`)).to.deep.equal([true]);
  });
  after(async () => {
    await c.rt.close();
  });

  it("logs where it listens (the device's address) and refuses a second start on the port or one without a function", () => {
    expect(c.stdout()).to.match(new RegExp(`I/httpsrv http listen at \\d+\\.\\d+\\.\\d+\\.\\d+:${port}\\n`));
    const before = c.stdout().length;
    expect(run(c, `return select('#', httpsrv.start(${port}, function() end)), select('#', httpsrv.start(${port + 1}, "x"))`)).to.deep.equal([0, 0]);
    expect(c.stdout().slice(before).replace(/^.*?W\//gm, "W/")).to.equal(`W/httpsrv httpsrv port ${port} already in use\nW/httpsrv httpsrv need callback function!!!\n`);
  });

  it("passes method, uri, headers (first of repeats, case kept), a binary body and an integer client to the function", async () => {
    const body = Buffer.concat([Buffer.from("data:"), BIN]);
    const reply = await raw(port, Buffer.concat([
      Buffer.from(`POST /echo HTTP/1.1\r\nHost: x\r\nX-Test: one\r\nX-Test: two\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]));
    const expected = Buffer.concat([Buffer.from("POST|/echo|one|nil|integer|"), body]);
    expect(reply.toString("latin1")).to.equal(`HTTP/1.0 200 OK\r\nContent-Length: ${expected.length}\r\nConnection: close\r\nX-Echo: yes\r\n\r\n${expected.toString("latin1")}`);
  });

  it("answers nothing from the function as 404 with an empty body, maps unknown codes to 200 Ok (logged) and codes under 100 to 200 OK", async () => {
    expect((await raw(port, "GET /none?q=1 HTTP/1.0\r\n\r\n")).toString()).to.equal("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    const before = c.stdout().length;
    expect((await raw(port, "GET /weird HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.equal("HTTP/1.0 200 Ok\r\nContent-Length: 1\r\nConnection: close\r\n\r\nw");
    expect(c.stdout().slice(before)).to.match(/W\/httpsrv unkown http code 201, set as 200 Ok\n$/);
    expect((await raw(port, "GET /low HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.equal("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nlow");
  });

  it("serves project files before calling Lua: / is index.html, pages inline, other files as downloads", async () => {
    expect((await raw(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.equal(
      "HTTP/1.0 200 OK\r\nContent-Length: 11\r\nX-Powered-By: LuatOS\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>hi</h1>");
    expect((await raw(port, "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.equal(
      "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nX-Powered-By: LuatOS\r\nContent-Type: application/javascript; charset=utf-8\r\n\r\nx=1");
    const bin = await raw(port, "GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(bin.toString("latin1")).to.equal(`HTTP/1.0 200 OK\r\nContent-Length: 7\r\nX-Powered-By: LuatOS\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="data.bin"\r\n\r\n${BIN.toString("latin1")}`);
    const before = c.stdout().length;
    expect((await raw(port, "GET /trav/../data.bin HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.equal("HTTP/1.0 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
    expect(c.stdout().slice(before)).to.match(/W\/httpsrv path traversal attack detected: \/trav\/\.\.\/data\.bin\n$/);
  });

  it("talks to node's HTTP client", async () => {
    const result = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "PUT", path: "/echo", headers: { "X-Test": "node" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.end("abc");
    });
    expect(result).to.deep.equal({
      status: 200,
      headers: { "content-length": "30", connection: "close", "x-echo": "yes" },
      body: "PUT|/echo|node|nil|integer|abc",
    });
  });

  it("drops a connection whose request is malformed or whose function fails, without an answer", async () => {
    expect((await raw(port, "NONSENSE\r\n\r\n")).toString()).to.be.oneOf(["", "RESET"]);
    expect((await raw(port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")).toString()).to.be.oneOf(["", "RESET"]);
    expect(c.stderr()).to.contain("handler failed");
  });

  it("debug reports and sets its switch; stop answers true once, then the port is closed", async () => {
    expect(run(c, "return httpsrv.debug(), httpsrv.debug(true), httpsrv.debug(), httpsrv.debug(false)")).to.deep.equal([false, true, true, false]);
    expect(run(c, `return httpsrv.stop(${port}), httpsrv.stop(${port}), httpsrv.stop(${port}, nil, 99)`)).to.deep.equal([true, false, false]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await new Promise<string>((resolve) => {
      const socket = net.connect({ port, host: "127.0.0.1" }, () => resolve("connected"));
      socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(error).to.equal("ECONNREFUSED");
  });
});
