// LuatOS http.request through the real Runtime against a local server on 127.0.0.1: the
// wait() object used from sys tasks, headers and bytes both ways, the firmware's negative
// failure codes, downloads into the flash folder and the embedder's DNS.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

const BINARY = Buffer.from([0x00, 0xff, 0x41, 0x0a, 0x80]);

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

function startServer(seen: Seen[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url === "/hello") {
        res.writeHead(200, { "X-Test": "yes", "Content-Type": "application/octet-stream" });
        res.end(BINARY);
      } else if (req.url === "/echo") {
        res.writeHead(201, { "Content-Type": "text/plain" });
        res.end(Buffer.concat([Buffer.from(`${req.method} ${req.headers["content-type"] ?? "-"} `), body]));
      } else if (req.url === "/file") {
        res.writeHead(200);
        res.end(Buffer.alloc(1000, 0x5a));
      } else if (req.url === "/slow") {
        // Never answers: the client's timeout decides.
      } else {
        res.writeHead(404);
        res.end("nope");
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

/** Runs `body` (Lua) inside a sys task and waits for the script to end. */
async function task(body: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "luatos", cwd: tempDir("http"), ...options, prelude: [`sys = require("sys")\nsys.taskInit(function()\n${body}\nend)`] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

describe("LuatOS http.request", () => {
  const seen: Seen[] = [];
  let server: Server;
  let port: number;
  before(async () => {
    ({ server, port } = await startServer(seen));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
  });

  it("GET: wait() in a task gives the code, the headers as the server named them, and the body bytes", async () => {
    const c = await task(`
      local code, headers, body = http.request("GET", "http://127.0.0.1:${port}/hello", {["X-Req"] = "1"}).wait()
      print(code, headers["X-Test"], headers["Content-Type"], (body:toHex()))`);
    expect(c.stdout()).to.equal(`200\tyes\tapplication/octet-stream\t${BINARY.toString("hex").toUpperCase()}\n`);
    expect(seen).to.have.length(1);
    expect(seen[0]?.method).to.equal("GET");
    expect(seen[0]?.headers["x-req"]).to.equal("1");
  });

  it("POST: the body goes out byte-exact with its Content-Length (a script's own is ignored)", async () => {
    const c = await task(`
      local code, headers, body = http.request("POST", "http://127.0.0.1:${port}/echo", {["Content-Type"] = "application/json", ["Content-Length"] = "999"}, "a\\0\\255").wait()
      print(code, (body:toHex()))`);
    expect(c.stdout()).to.equal(`201\t${Buffer.concat([Buffer.from("POST application/json "), Buffer.from([0x61, 0, 0xff])]).toString("hex").toUpperCase()}\n`);
    expect(seen[0]?.headers["content-length"]).to.equal("3");
    expect([...(seen[0]?.body ?? [])]).to.deep.equal([0x61, 0, 0xff]);
  });

  it("a zbuff body sends its used bytes; 404 is an ordinary answer", async () => {
    const c = await task(`
      local b = zbuff.create(16)
      b:write("zb")
      local code, _, body = http.request("PUT", "http://127.0.0.1:${port}/echo", nil, b).wait()
      local code2, _, body2 = http.request("GET", "http://127.0.0.1:${port}/missing").wait()
      print(code, body, code2, body2)`);
    expect(c.stdout()).to.equal("201\tPUT - zb\t404\tnope\n");
  });

  it("failures come back as the firmware's negative codes, alone", async () => {
    const closed = await startServer([]);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const c = await task(`
      print(http.request("GET", "http://127.0.0.1:${closed.port}/").wait())
      print(http.request("GET", "http://127.0.0.1:${port}/slow", nil, nil, {timeout = 100}).wait())
      print(http.request("GET", "not a url").wait())
      print(http.request("GET", "ftp://127.0.0.1/").wait())`);
    expect(c.stdout()).to.equal("-4\n-8\n-4\n-4\n");
  });

  it("opts.dst downloads into the flash folder; body is then the size", async () => {
    const fs = tempDir("flash");
    const c = await task(`
      local code, headers, size = http.request("GET", "http://127.0.0.1:${port}/file", {}, "", {dst = "/dl.bin"}).wait()
      print(code, size, io.fileSize("/dl.bin"))`, { fs });
    expect(c.stdout()).to.equal("200\t1000\t1000\n");
    expect(readFileSync(join(fs, "dl.bin"))).to.deep.equal(Buffer.alloc(1000, 0x5a));
  });

  it("host names go through the embedder's lookup; a failed lookup is -4", async () => {
    const lookup = async (host: string) => {
      if (host === "api.example.com") return { address: "127.0.0.1", family: 4 as const };
      throw new Error(`no such host ${host}`);
    };
    const c = await task(`
      local code, _, body = http.request("GET", "http://api.example.com:${port}/echo").wait()
      print(code, body)
      print(http.request("GET", "http://nowhere.invalid:${port}/").wait())`, { lookup });
    expect(c.stdout()).to.equal("201\tGET - \n-4\n");
    expect(seen[0]?.headers.host).to.equal(`api.example.com:${port}`);
  });

  it("--map sends an HTTP host to the developer's server (path and query kept, announced once); MQTT maps do not apply", async () => {
    const asked: string[] = [];
    const lookup = async (host: string): Promise<{ address: string; family: 4 | 6 }> => {
      asked.push(host);
      throw new Error(`no DNS in tests (${host})`);
    };
    const c = await task(`
      local code, _, body = http.request("GET", "https://api.example.com/echo").wait()
      print(code, body)
      code, _, body = http.request("POST", "https://api.example.com/echo", nil, "b").wait()
      print(code, body)
      code, _, body = http.request("GET", "http://files.example.com:8080/file?y=2").wait()
      print(code, body)
      print(http.request("GET", "http://broker.example.com/hello").wait())`, {
      lookup,
      map: [["api.example.com", `http://127.0.0.1:${port}`], ["files.example.com:8080", `http://127.0.0.1:${port}/mirror/`], ["broker.example.com", "mqtt://127.0.0.1:1"]],
    });
    expect(c.stdout()).to.equal("201\tGET - \n201\tPOST - b\n404\tnope\n-4\n");
    expect(seen.map((s) => s.url)).to.deep.equal(["/echo", "/echo", "/mirror/file?y=2"]);
    expect(asked).to.deep.equal(["broker.example.com"]);
    expect(c.stderr()).to.equal(`moonrig: api.example.com:443 -> http://127.0.0.1:${port}\nmoonrig: files.example.com:8080 -> http://127.0.0.1:${port}/mirror\n`);
  });

  it("cb(fn) runs fn with the results in a task; wait() outside a task is a Lua error", async () => {
    const c = captured({ flavor: "luatos", prelude: [`sys = require("sys")\nhttp.request("GET", "http://127.0.0.1:${port}/missing").cb(function(code, headers, body) print("cb", code, body) end)`] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("cb\t404\tnope\n");
    const d = captured({ flavor: "luatos" });
    await d.rt.run();
    const [ok, message] = d.rt.exec(`sys = require("sys") return pcall(function() return http.request("GET", "http://127.0.0.1:${port}/hello").wait() end)`);
    expect(ok).to.equal(false);
    expect(String(message)).to.match(/attempt to yield from outside a coroutine/);
    await d.rt.close();
  });

  it("keeps the script alive while a request is in flight, and stops it when the run is closed", async () => {
    const c = captured({ flavor: "luatos", prelude: [`sys = require("sys")\nsys.taskInit(function() print("got", http.request("GET", "http://127.0.0.1:${port}/slow").wait()) end)`] });
    await c.rt.run();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(c.rt.exited).to.equal(false);
    await c.rt.close();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("");
  });
});
