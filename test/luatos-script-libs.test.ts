// The LuatOS standard script libraries moonrig ships in lua/ for projects that require them
// without carrying a copy: httpdns, httpplus, udpsrv, dhcpsrv, exnetif, air153C_wtd and
// xmodem, each against a real peer the test runs on 127.0.0.1 (an HTTP server, a UDP
// client, an XMODEM receiver on the simulated UART) or the hardware recorder.
import { expect } from "chai";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";

/** Starts a project's main.lua; `finished` resolves with the exit status. */
async function start(files: Record<string, string | Uint8Array>, options: RuntimeOptions = {}): Promise<Captured> {
  const dir = makeProject(files);
  const c = captured({ flavor: "luatos", ...options });
  await c.rt.run(join(dir, "main.lua"));
  return c;
}

/** Runs a project to its end and returns the captured run. */
async function project(files: Record<string, string | Uint8Array>, options: RuntimeOptions = {}): Promise<Captured> {
  const c = await start(files, options);
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  return c;
}

/** The lines the script printed (log lines and moonrig notices left out). */
const printed = (c: Captured): string[] =>
  c.stdout().split("\n").filter((line) => line !== "" && !/^\[[^\]]+\] [DIWE]\//.test(line));

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  body: Buffer;
}

/** An HTTP server on 127.0.0.1 that records each request and answers with `answer`. */
async function httpServer(answer: (req: Recorded, res: ServerResponse) => void): Promise<{ server: Server; port: number; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

/** A UDP port that was free on 127.0.0.1 a moment ago. */
async function freeUdpPort(): Promise<number> {
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(resolve));
  return port;
}

/** Sends `data` from `client` to 127.0.0.1:port and resolves with the next datagram back. */
function exchange(client: UdpSocket, port: number, data: Buffer): Promise<{ bytes: Buffer; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no UDP answer")), 3000);
    client.once("message", (bytes, from) => {
      clearTimeout(timer);
      resolve({ bytes, port: from.port });
    });
    client.send(data, port, "127.0.0.1");
  });
}

/** CRC-16/XMODEM, written out here so the test does not trust the code under test. */
function crc16Xmodem(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

interface ReceiverPlan {
  /** The start byte: "C" (CRC), NAK (checksum) or anything else. */
  start: number;
  /** Answers to the blocks, in order (ACK when the list runs out). */
  answers?: number[];
}

/**
 * An XMODEM receiver on UART `id` of the simulated board: it watches the bytes the script
 * writes (the hardware record) and answers through feedUart. Resolves with every frame
 * it saw (blocks and the EOT) once EOT arrives.
 */
function xmodemReceiver(c: Captured, id: number, plan: ReceiverPlan): { frames: Buffer[]; done: Promise<Buffer[]> } {
  const frames: Buffer[] = [];
  const done = new Promise<Buffer[]>((resolve, reject) => {
    let seen = 0;
    let started = false;
    let pending = Buffer.alloc(0);
    const answers = [...(plan.answers ?? [])];
    const deadline = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`receiver: no EOT; frames ${frames.length}`));
    }, 8000);
    const poll = setInterval(() => {
      const writes = c.rt.hardware.filter("uart", "write").filter((e) => e.args[0] === id);
      const setup = c.rt.hardware.filter("uart", "setup").some((e) => e.args[0] === id);
      if (!started && setup) {
        started = true;
        c.rt.hardware.feedUart(id, Uint8Array.of(plan.start));
      }
      for (; seen < writes.length; seen++) {
        const bytes = Buffer.from(writes[seen]?.args[1] as Uint8Array);
        if (bytes.toString("latin1") === "wait C") continue;
        pending = Buffer.concat([pending, bytes]);
      }
      if (pending.length === 0) return;
      if (pending[0] === 0x04) {
        frames.push(pending);
        clearInterval(poll);
        clearTimeout(deadline);
        c.rt.hardware.feedUart(id, Uint8Array.of(0x06));
        resolve(frames);
        return;
      }
      const size = pending[0] === 0x01 ? 128 : 1024;
      const length = 3 + size + (plan.start === 0x43 ? 2 : 1);
      if (pending.length < length) return;
      frames.push(pending.subarray(0, length));
      pending = pending.subarray(length);
      c.rt.hardware.feedUart(id, Uint8Array.of(answers.shift() ?? 0x06));
    }, 2);
  });
  return { frames, done };
}

/** A DHCP client message (BOOTREQUEST) of `type` from `mac`, with a parameter request list. */
function dhcpRequest(type: number, mac: number[], xid: number): Buffer {
  const fixed = Buffer.alloc(236);
  fixed.writeUInt8(1, 0);
  fixed.writeUInt8(1, 1);
  fixed.writeUInt8(6, 2);
  fixed.writeUInt32BE(xid, 4);
  fixed.writeUInt16BE(3, 8);
  fixed.writeUInt16BE(0x8000, 10);
  Buffer.from(mac).copy(fixed, 28);
  const options = Buffer.from([0x63, 0x82, 0x53, 0x63, 53, 1, type, 61, 7, 1, ...mac, 55, 3, 1, 3, 6, 0, 255]);
  return Buffer.concat([fixed, options]);
}

/** The reply the firmware's server sends for `request`: what a DHCP client on the LAN receives. */
function dhcpReply(request: Buffer, type: number, yiaddr: number[]): Buffer {
  const fixed = Buffer.alloc(236);
  request.copy(fixed, 0, 0, 236);
  fixed.writeUInt8(2, 0);
  fixed.writeUInt16BE(0, 8);
  Buffer.from(yiaddr).copy(fixed, 16);
  Buffer.from([192, 168, 4, 1]).copy(fixed, 20);
  const gw = [192, 168, 4, 1];
  const options = [
    0x63, 0x82, 0x53, 0x63, 53, 1, type, 1, 4, 255, 255, 255, 0, 3, 4, ...gw, 51, 4, 0, 0, 0x1e, 0, 54, 4, ...gw,
    6, 4, 223, 5, 5, 5, 6, 4, 119, 29, 29, 29, 6, 4, ...gw, 0xff, 0,
  ];
  return Buffer.concat([fixed, Buffer.from(options)]);
}

/**
 * A raw HTTP server on 127.0.0.1: records each request's exact bytes (head and
 * Content-Length body), writes `answer` for it and closes the connection.
 */
async function rawHttpServer(answer: (request: Buffer) => Buffer): Promise<{ port: number; requests: Buffer[]; close(): Promise<void> }> {
  const requests: Buffer[] = [];
  const server = createTcpServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data.subarray(0, end).toString("latin1"))?.[1] ?? 0);
      if (data.length < end + 4 + length) return;
      const request = data.subarray(0, end + 4 + length);
      requests.push(request);
      socket.end(answer(request));
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const closeServer = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe("LuatOS standard script libraries", function () {
  this.timeout(20000);

  describe("httpdns", () => {
    it("asks Alibaba's and Tencent's HTTP DNS (mapped to a local server) and returns the first address", async () => {
      const { server, port, requests } = await httpServer((req, res) => {
        if (req.url === "/resolve?short=1&name=luatos.com") res.end('["47.96.229.157","47.96.229.158"]');
        else if (req.url === "/d?dn=luatos.com") res.end("121.40.170.41;121.40.170.42,600");
        else if (req.url === "/resolve?short=1&name=empty.example") res.end("[]");
        else {
          res.statusCode = 404;
          res.end('["10.0.0.1"]');
        }
      });
      try {
        const target = `http://127.0.0.1:${port}`;
        const c = await project({
          "main.lua": `
            sys = require("sys")
            local httpdns = require("httpdns")
            sys.taskInit(function()
              print("ali", httpdns.ali("luatos.com"))
              print("tx", httpdns.tx("luatos.com", {timeout = 2000}))
              print("empty", httpdns.ali("empty.example"))
              print("404", httpdns.tx("missing.example"))
              print("nil", httpdns.ali(nil), httpdns.tx())
              print("version", httpdns.version())
            end)`,
        }, { map: [["223.5.5.5", target], ["119.29.29.29", target]] });
        expect(printed(c)).to.deep.equal([
          "ali\t47.96.229.157",
          "tx\t121.40.170.41;121.40.170.42",
          "empty\tnil",
          "404\tnil",
          "nil\tnil\tnil",
          "version\t202607021200",
        ]);
        expect(requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal([
          "GET /resolve?short=1&name=luatos.com",
          "GET /d?dn=luatos.com",
          "GET /resolve?short=1&name=empty.example",
          "GET /d?dn=missing.example",
        ]);
      } finally {
        await closeServer(server);
      }
    });
  });

  describe("udpsrv", () => {
    it("publishes each datagram with the sender's address and answers through send; close stops it", async () => {
      const port = await freeUdpPort();
      const c = await start({
        "main.lua": `
          sys = require("sys")
          local udpsrv = require("udpsrv")
          local srv = udpsrv.create(${port}, "UDP_IN")
          print("created", type(srv), type(srv.send), type(srv.close), srv.rxbuff ~= nil)
          sys.subscribe("UDP_IN", function(data, ip, port)
            print("rx", data:toHex(), ip, port > 0)
            if data == "bye" then
              srv:close()
              print("closed", srv.sc, srv:send("late", ip, port))
            else
              print("tx", srv:send("echo:" .. data, ip, port))
            end
          end)
          sys.timerStart(function() print("ready") end, 300)`,
      });
      const client = createSocket("udp4");
      await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
      try {
        await c.waitFor("ready");
        const first = await exchange(client, port, Buffer.from([0x00, 0x70, 0xff]));
        expect(first.bytes).to.deep.equal(Buffer.concat([Buffer.from("echo:"), Buffer.from([0x00, 0x70, 0xff])]));
        expect(first.port).to.equal(port);
        const second = await exchange(client, port, Buffer.from("hello"));
        expect(second.bytes.toString("latin1")).to.equal("echo:hello");
        client.send("bye", port, "127.0.0.1");
        expect(await c.rt.finished, c.stderr()).to.equal(0);
      } finally {
        client.close();
      }
      expect(printed(c)).to.deep.equal([
        "created\ttable\tfunction\tfunction\ttrue",
        "ready",
        "rx\t0070FF\t127.0.0.1\ttrue",
        "tx\ttrue\tfalse\tfalse",
        "rx\t68656C6C6F\t127.0.0.1\ttrue",
        "tx\ttrue\tfalse\tfalse",
        "rx\t627965\t127.0.0.1\ttrue",
        "closed\tnil",
      ]);
    });
  });

  describe("air153C_wtd", () => {
    it("feeds with a 400 ms high pulse and switches off with a 700 ms one, on the recorded pin", async () => {
      const c = await project({
        "main.lua": `
          sys = require("sys")
          local wtd = require("air153C_wtd")
          print("global", air153C_wtd == wtd, wtd.version())
          sys.taskInit(function()
            wtd.init(28)
            wtd.feed_dog(28)
            sys.wait(1000)
            wtd.close_watch_dog(28)
          end)`,
      });
      expect(printed(c)).to.deep.equal(["global\ttrue\t202607011722"]);
      const events = c.rt.hardware.filter("gpio");
      expect(events.map((e) => [e.call, ...e.args])).to.deep.equal([
        ["setup", 28, 0, 2, 0],
        ["set", 28, 0],
        ["set", 28, 1],
        ["set", 28, 0],
        ["set", 28, 1],
        ["set", 28, 0],
      ]);
      const at = events.map((e) => e.at);
      const feed = (at[3] as number) - (at[2] as number);
      const stop = (at[5] as number) - (at[4] as number);
      // Timers never fire early; a busy machine may fire them late.
      expect(feed).to.be.within(395, 800);
      expect(stop).to.be.within(695, 1100);
    });
  });

  it("a project's own httpdns.lua wins over moonrig's", async () => {
    const c = await project({
      "main.lua": 'local h = require("httpdns") print(h.mine, h.ali, require("udpsrv").create ~= nil)',
      "httpdns.lua": "return {mine = 'project copy'}",
    });
    expect(printed(c)).to.deep.equal(["project copy\tnil\ttrue"]);
  });

  describe("xmodem", () => {
    // 300 bytes: two full 128-byte blocks and one of 44 bytes padded with 0x1A.
    const file = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);
    const script = (small: boolean) => `
      sys = require("sys")
      local xmodem = require("xmodem")
      sys.taskInit(function()
        local result = xmodem.send(1, 115200, "/luadb/send.bin", ${small}, "wait C")
        xmodem.close(1)
        print("result", result)
      end)`;

    it("sends 128-byte CRC blocks after 'C', resends a NAKed block, ends with EOT and true", async () => {
      const c = await start({ "main.lua": script(true), "send.bin": file });
      const receiver = xmodemReceiver(c, 1, { start: 0x43, answers: [0x06, 0x15, 0x06, 0x06] });
      const frames = await receiver.done;
      expect(await c.rt.finished, c.stderr()).to.equal(0);
      expect(printed(c)).to.deep.equal(["result\ttrue"]);
      expect(frames.map((f) => f.length)).to.deep.equal([133, 133, 133, 133, 1]);
      expect(frames[1]).to.deep.equal(frames[2]);
      const blocks = [frames[0], frames[2], frames[3]] as Buffer[];
      blocks.forEach((frame, i) => {
        expect([...frame.subarray(0, 3)]).to.deep.equal([0x01, i + 1, 0xfe - i]);
        const data = frame.subarray(3, 131);
        expect(frame.readUInt16BE(131)).to.equal(crc16Xmodem(data));
      });
      const data = Buffer.concat(blocks.map((f) => f.subarray(3, 131)));
      expect(data.subarray(0, 300)).to.deep.equal(Buffer.from(file));
      expect([...data.subarray(300)]).to.deep.equal(Array(84).fill(0x1a));
      expect([...(frames[4] as Buffer)]).to.deep.equal([0x04]);
      expect(c.rt.hardware.filter("uart").map((e) => e.call === "write" ? `write ${Buffer.from(e.args[1] as Uint8Array).length}` : `${e.call} ${e.args.slice(0, 2).join(" ")}`)).to.deep.equal([
        "setup 1 115200", "write 6", "write 133", "write 133", "write 133", "write 133", "write 1", "close 1",
      ]);
    });

    it("sends one 1 KiB block with the 8-bit checksum after NAK", async () => {
      const c = await start({ "main.lua": script(false), "send.bin": file });
      const frames = await xmodemReceiver(c, 1, { start: 0x15 }).done;
      expect(await c.rt.finished, c.stderr()).to.equal(0);
      expect(printed(c)).to.deep.equal(["result\ttrue"]);
      expect(frames.map((f) => f.length)).to.deep.equal([1028, 1]);
      const frame = frames[0] as Buffer;
      expect([...frame.subarray(0, 3)]).to.deep.equal([0x02, 1, 0xfe]);
      expect(frame.subarray(3, 303)).to.deep.equal(Buffer.from(file));
      const sum = [...frame.subarray(3, 1027)].reduce((a, b) => a + b, 0) & 0xff;
      expect(frame[1027]).to.equal(sum);
    });

    it("gives up with EOT and false when the receiver cancels, and false for a missing file or a wrong start byte", async () => {
      const c = await start({
        "main.lua": `
          sys = require("sys")
          local xmodem = require("xmodem")
          sys.taskInit(function()
            print("missing", xmodem.send(2, 9600, "/luadb/nothing.bin", true))
            print("cancelled", xmodem.send(1, 115200, "/luadb/send.bin", true, "wait C"))
            xmodem.close(1)
          end)`,
        "send.bin": file,
      });
      const frames = await xmodemReceiver(c, 1, { start: 0x43, answers: [0x06, 0x18] }).done;
      expect(await c.rt.finished, c.stderr()).to.equal(0);
      expect(printed(c)).to.deep.equal(["missing\tfalse", "cancelled\tfalse"]);
      expect(frames.map((f) => f.length)).to.deep.equal([133, 133, 1]);
      expect(c.rt.hardware.filter("uart", "setup").map((e) => e.args[0])).to.deep.equal([1]);

      const wrong = await start({
        "main.lua": `
          sys = require("sys")
          local xmodem = require("xmodem")
          sys.taskInit(function() print("wrong start", xmodem.send(1, 115200, "/luadb/send.bin", true)) xmodem.close(1) end)`,
        "send.bin": file,
      });
      const poll = setInterval(() => {
        if (wrong.rt.hardware.filter("uart", "setup").length > 0) {
          clearInterval(poll);
          wrong.rt.hardware.feedUart(1, "x");
        }
      }, 2);
      expect(await wrong.rt.finished, wrong.stderr()).to.equal(0);
      expect(printed(wrong)).to.deep.equal(["wrong start\tfalse"]);
      expect(wrong.rt.hardware.filter("uart", "write")).to.deep.equal([]);
    });
  });

  describe("dhcpsrv", () => {
    const mac1 = [0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc];
    const mac2 = [0x02, 0x00, 0x00, 0x11, 0x22, 0x33];
    const packets: Record<string, Buffer> = {
      "discover1.bin": dhcpRequest(1, mac1, 0x12345678),
      "discover2.bin": dhcpRequest(1, mac2, 0x0badf00d),
      "request1.bin": dhcpRequest(3, mac1, 0x12345679),
      "request3.bin": dhcpRequest(3, [0x02, 0, 0, 0, 0, 0x99], 0x42),
      "inform1.bin": dhcpRequest(8, mac1, 0x43),
    };

    it("offers, re-offers and acknowledges leases with the firmware's reply bytes; NAKs strangers; stop ends it", async () => {
      const c = await project({
        ...packets,
        "main.lua": `
          sys = require("sys")
          local dhcpsrv = require("dhcpsrv")
          local srv = dhcpsrv.create({adapter = socket.LWIP_AP, ack_cb = function(ip, mac) print("ack_cb", ip, mac) end})
          print("opts", table.concat(srv.opts.gw, "."), table.concat(srv.opts.mark, "."), srv.opts.ip_start, srv.opts.ip_end, srv.udp_topic, type(srv.task))
          -- On a PC port 67 is not ours: the test stands in for the socket to see the replies.
          srv.udp:close()
          srv.udp = {send = function(self, data, ip, port) print("send", ip, port, (data:toHex())) end, close = function() print("closed") end}
          sys.taskInit(function()
            for _, name in ipairs({"discover1", "discover2", "discover1", "request1", "request3", "inform1"}) do
              print("in", name)
              sys.publish("dhcpd_inc", io.readFile("/luadb/" .. name .. ".bin"), "0.0.0.0", 68)
              sys.wait(20)
            end
            for ip = 100, 101 do print("lease", ip, srv.clients[ip].mac:toHex(), srv.clients[ip].stat) end
            dhcpsrv.stop(srv)
            print("stopped", srv.stop, srv.udp)
          end)`,
      });
      const hex = (b: Buffer) => b.toString("hex").toUpperCase();
      const reply = (name: string, type: number, yiaddr: number[]) => `send\t255.255.255.255\t68\t${hex(dhcpReply(packets[name] as Buffer, type, yiaddr))}`;
      expect(printed(c)).to.deep.equal([
        "opts\t192.168.4.1\t255.255.255.0\t100\t200\tdhcpd_inc\tthread",
        "in\tdiscover1",
        reply("discover1.bin", 2, [192, 168, 4, 100]),
        "in\tdiscover2",
        reply("discover2.bin", 2, [192, 168, 4, 101]),
        "in\tdiscover1",
        reply("discover1.bin", 2, [192, 168, 4, 100]),
        "in\trequest1",
        reply("request1.bin", 5, [192, 168, 4, 100]),
        "ack_cb\t192.168.4.100\t020000AABBCC",
        "in\trequest3",
        reply("request3.bin", 6, [192, 168, 4, 0]),
        "in\tinform1",
        "lease\t100\t020000AABBCC\t1",
        "lease\t101\t020000112233\t1",
        "closed",
        "stopped\ttrue\tnil",
      ]);
      expect(dhcpReply(packets["discover1.bin"] as Buffer, 2, [0, 0, 0, 0]).length).to.equal(287);
    });

    it("on a PC the server object and its task exist without port 67; stop ends the run cleanly", async () => {
      const c = await project({
        "main.lua": `
          sys = require("sys")
          local dhcpsrv = require("dhcpsrv")
          local srv = dhcpsrv.create()
          print("created", type(srv.udp), type(srv.task), next(srv.clients), dhcpsrv.version())
          sys.timerStart(function() dhcpsrv.stop(srv) print("stopped", srv.udp, coroutine.status(srv.task)) end, 200)`,
      });
      expect(printed(c)).to.deep.equal(["created\ttable\tthread\tnil\t202607021200", "stopped\tnil\tsuspended"]);
      expect(c.stderr()).to.equal("");
    });
  });

  describe("httpplus", () => {
    const ok = (body: Buffer, extra = "") => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n`, "latin1"), body]);

    it("GET: credentials from the URL, Host with the port, the script's headers, exact request bytes; status, headers and a binary body back", async () => {
      const server = await rawHttpServer(() => ok(Buffer.from([0x68, 0x00, 0xff, 0x0d, 0x0a]), "X-Reply:  spaced value \r\n"));
      try {
        const c = await project({
          "main.lua": `
            sys = require("sys")
            local httpplus = require("httpplus")
            sys.taskInit(function()
              local code, resp = httpplus.request({url = "http://user:pass@127.0.0.1:${server.port}/api/v1?x=1&y=2", headers = {["X-Token"] = "abc"}})
              print("code", code, resp.headers["Content-Type"], "[" .. resp.headers["X-Reply"] .. "]", resp.body:used(), (resp.body:query():toHex()))
            end)`,
        });
        expect(printed(c)).to.deep.equal(["code\t200\ttext/plain\t[spaced value]\t5\t6800FF0D0A"]);
        expect(server.requests.map((r) => r.toString("latin1"))).to.deep.equal([
          `GET /api/v1?x=1&y=2 HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\nConnection: Close\r\nContent-Length: 0\r\nHost: 127.0.0.1:${server.port}\r\nX-Token: abc\r\n\r\n`,
        ]);
      } finally {
        await server.close();
      }
    });

    it("POST multipart: form fields, a file from the project and a streamed part, with exact Content-Length and parts", async () => {
      const server = await rawHttpServer(() => ok(Buffer.from("done")));
      const file = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x41]);
      try {
        const c = await project({
          "hello.bin": file,
          "main.lua": `
            sys = require("sys")
            local httpplus = require("httpplus")
            sys.taskInit(function()
              local code, resp = httpplus.request({
                url = "http://127.0.0.1:${server.port}/upload",
                forms = {name = "moon rig", n = 7},
                files = {
                  bin = "/luadb/hello.bin",
                  log = {size = 6, filename = "log.txt", fill_data_func = function(sent, count) return count == 1 and "abc" or "def" end},
                },
              })
              print("code", code, resp.body:query())
            end)`,
        });
        expect(printed(c)).to.deep.equal(["code\t200\tdone"]);
        const request = server.requests[0] as Buffer;
        const text = request.toString("latin1");
        const boundary = /boundary=(----WebKitFormBoundary\d+)\r\n/.exec(text)?.[1] as string;
        expect(boundary).to.be.a("string");
        const body = Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="n"\r\n\r\n7\r\n`),
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nmoon rig\r\n`),
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="bin"; filename="hello.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
          file,
          Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="log"; filename="log.txt"\r\nContent-Type: text/plain\r\n\r\nabcdef\r\n`),
          Buffer.from(`--${boundary}--\r\n`),
        ]);
        const head = `POST /upload HTTP/1.1\r\nConnection: Close\r\nContent-Length: ${body.length}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
        expect(request).to.deep.equal(Buffer.concat([Buffer.from(head, "latin1"), body]));
      } finally {
        await server.close();
      }
    });

    it("urlencoded forms, a JSON body from a table, a zbuff body and a method in lower case", async () => {
      const server = await rawHttpServer(() => ok(Buffer.from("ok")));
      try {
        await project({
          "main.lua": `
            sys = require("sys")
            local httpplus = require("httpplus")
            sys.taskInit(function()
              local url = "http://127.0.0.1:${server.port}/f"
              print(httpplus.request({url = url, forms = {q = "a b&c", z = "1"}}))
              print(httpplus.request({url = url, body = {k = 1}}))
              local zb = zbuff.create(8)
              zb:write(string.char(0, 1, 2))
              print(httpplus.request({url = url, method = "put", body = zb}))
            end)`,
        });
        const port = server.port;
        expect(server.requests.map((r) => r.toString("latin1"))).to.deep.equal([
          `POST /f HTTP/1.1\r\nConnection: Close\r\nContent-Length: 13\r\nContent-Type: application/x-www-form-urlencoded;charset=UTF-8\r\nHost: 127.0.0.1:${port}\r\n\r\nq=a+b%26c&z=1`,
          `POST /f HTTP/1.1\r\nConnection: Close\r\nContent-Length: 7\r\nContent-Type: application/json;charset=UTF-8\r\nHost: 127.0.0.1:${port}\r\n\r\n{"k":1}`,
          `PUT /f HTTP/1.1\r\nConnection: Close\r\nContent-Length: 3\r\nHost: 127.0.0.1:${port}\r\n\r\n\x00\x01\x02`,
        ]);
      } finally {
        await server.close();
      }
    });

    it("a chunked answer goes to the callback piece by piece with userdata; dst writes the body to a file; errors are negative codes", async () => {
      const chunked = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\nd\x00fg\r\n0\r\n\r\n", "latin1");
      const server = await rawHttpServer((request) =>
        request.includes("/chunked") ? chunked : request.includes("/missing") ? Buffer.from("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!") : ok(Buffer.from("file body")));
      const closed = await rawHttpServer(() => Buffer.alloc(0));
      const refusedPort = closed.port;
      await closed.close();
      try {
        const c = await project({
          "main.lua": `
            sys = require("sys")
            local httpplus = require("httpplus")
            sys.taskInit(function()
              local base = "http://127.0.0.1:${server.port}"
              local code, resp = httpplus.request({url = base .. "/chunked", userdata = "ud", callback = function(total, len, data, ud) print("cb", total, len, (data:toHex()), ud) end})
              print("chunked", code, resp.headers["Transfer-Encoding"], (resp.body:query():toHex()))
              code, resp = httpplus.request({url = base .. "/file", dst = "/data.txt", callback = function(total, len) print("progress", total, len) end})
              print("dst", code, resp.body, io.readFile("/data.txt"))
              code, resp = httpplus.request({url = base .. "/missing"})
              print("missing", code, resp.body:used())
              print("big", httpplus.request({url = base, is_big_file = true}))
              print("nourl", httpplus.request({}))
              print("refused", httpplus.request({url = "http://127.0.0.1:${refusedPort}/"}))
            end)`,
        });
        expect(printed(c)).to.deep.equal([
          "cb\t0\t3\t616263\tud",
          "cb\t0\t4\t64006667\tud",
          "chunked\t200\tchunked\t61626364006667",
          "progress\t9\t9",
          "dst\t200\tnil\tfile body",
          "missing\t404\t0",
          "big\t-105\tis_big_file needs a callback",
          "nourl\t-100\tno url, or a url too short",
          "refused\t-104\tcould not connect",
        ]);
      } finally {
        await server.close();
      }
    });
  });

  describe("exnetif", () => {
    const watchers = `
      sys = require("sys")
      local exnetif = require("exnetif")
      exnetif.notify_status(function(name, adapter) print("notify", name, adapter, socket.dft()) end)
      sys.subscribe("EXLIB_NETDRV_NETWORK_STATUS", function(name, adapter) print("status", name, adapter) end)`;

    it("Ethernet before 4G without reachability checks: Ethernet wins once up, 4G takes over when Ethernet is closed", async () => {
      const c = await project({
        "main.lua": `${watchers}
          sys.taskInit(function()
            print("order", exnetif.set_priority_order({{ETHERNET = {pwrpin = 140, need_ping = false, ping_time = 50}}, {LWIP_GP = true}}))
            print("dft", socket.dft())
            sys.wait(1500)
            print("close", exnetif.close(false, socket.LWIP_ETH))
            sys.wait(100)
            print("dft", socket.dft())
            os.exit(0)
          end)`,
      });
      expect(printed(c)).to.deep.equal([
        "order\ttrue",
        "dft\t4\t1",
        "notify\tEthernet\t4\t4\t1",
        "status\tEthernet\t4",
        "notify\t4G\t1\t4\t1",
        "close\ttrue",
        "status\t4G\t1",
        "dft\t1\t1",
      ]);
      expect(c.rt.hardware.filter("gpio").map((e) => [e.call, ...e.args])).to.deep.equal([
        ["setup", 140, 0, 1, 1],
        ["set", 140, 0],
        ["close", 140],
      ]);
      expect(c.rt.hardware.filter("netdrv").map((e) => [e.call, ...e.args])).to.deep.equal([["setup", 4, 0]]);
    });

    it("checks reachability by HTTP DNS (mapped to a local server) and reports no network when the checks fail", async () => {
      let answer = '["110.242.68.66"]';
      const { server, requests } = await httpServer((req, res) => res.end(req.url === "/resolve?short=1&name=baidu.com" ? answer : "[]"));
      const port = (server.address() as AddressInfo).port;
      try {
        const c = await start({
          "main.lua": `${watchers}
            sys.taskInit(function()
              print("order", exnetif.set_priority_order({{ETHERNET = {ping_time = 50}}, {LWIP_GP = true}}))
              sys.waitUntil("EXLIB_NETDRV_NETWORK_STATUS")
              sys.wait(300)
              print("recheck")
              exnetif.check_network_status()
              sys.waitUntil("EXLIB_NETDRV_NETWORK_STATUS")
              -- 4G's own check follows Ethernet's after ping_time: it fails too, no news.
              sys.wait(500)
              os.exit(0)
            end)`,
        }, { map: [["223.5.5.5", `http://127.0.0.1:${port}`]] });
        await c.waitFor("recheck");
        answer = "[]";
        expect(await c.rt.finished, c.stderr()).to.equal(0);
        expect(printed(c)).to.deep.equal([
          "order\ttrue",
          "notify\tEthernet\t4\t4\t1",
          "status\tEthernet\t4",
          "recheck",
          "notify\tnil\t-1\t4\t1",
          "status\tnil\t-1",
        ]);
        expect(requests.map((r) => r.url)).to.deep.equal(Array(4).fill("/resolve?short=1&name=baidu.com"));
      } finally {
        await closeServer(server);
      }
    });

    it("refuses what the board lacks (Wi-Fi on a cellular module) and bad calls; setproxy brings up a LAN with NAPT and close(true) ends it", async () => {
      const c = await project({
        "main.lua": `${watchers}
          sys.taskInit(function()
            print("wifi", exnetif.set_priority_order({{WIFI = {ssid = "a", password = "b"}}, {LWIP_GP = true}}))
            print("empty", exnetif.set_priority_order({}))
            print("close nil", exnetif.close(false))
            exnetif.notify_status("not a function")
            print("proxy", exnetif.setproxy(socket.LWIP_ETH, socket.LWIP_GP, {adapter_addr = "192.168.5.1"}))
            print("again", exnetif.setproxy(socket.LWIP_ETH, socket.LWIP_GP, {}))
            print("eth ip", netdrv.ipv4(socket.LWIP_ETH))
            print("ap", exnetif.setproxy(socket.LWIP_AP, socket.LWIP_GP, {ssid = "x", password = "12345678"}))
            print("close all", exnetif.close(true))
            print("version", exnetif.version())
            os.exit(0)
          end)`,
      });
      expect(printed(c)).to.deep.equal([
        "wifi\tfalse",
        "empty\tfalse",
        "close nil\tfalse",
        "proxy\ttrue",
        "again\ttrue",
        "eth ip\t192.168.5.1\t255.255.255.0\t0.0.0.0",
        "ap\tfalse",
        "close all\ttrue",
        "version\t202607211200",
      ]);
      expect(c.stdout()).to.match(/E\/user\.exnetif this board has no wlan/);
      expect(c.rt.hardware.filter("netdrv").map((e) => [e.call, ...e.args])).to.deep.equal([["setup", 4, 0], ["napt", 1], ["napt", -1]]);
    });

    it("on a Wi-Fi board: Wi-Fi alone joins the network and becomes the default adapter; asking for 4G there is refused", async () => {
      const c = await project({
        "main.lua": `${watchers}
          sys.subscribe("IP_READY", function(ip, adapter) print("IP_READY", adapter) end)
          sys.taskInit(function()
            print("4g", exnetif.set_priority_order({{LWIP_GP = true}}))
            print("wifi", exnetif.set_priority_order({{WIFI = {ssid = "greenhouse", password = "tomatoes"}}}))
            print("dft", socket.dft())
            sys.waitUntil("IP_READY", 5000)
            print("ready", socket.adapter(socket.LWIP_STA))
          end)`,
      }, { device: { network: "wifi", wifi: { networks: [{ ssid: "greenhouse", pwd: "tomatoes" }] } } });
      expect(printed(c)).to.deep.equal(["4g\tfalse", "wifi\ttrue", "dft\t2\t2", "IP_READY\t2", "ready\ttrue\t2"]);
      expect(c.stdout()).to.match(/E\/user\.exnetif this board has no mobile/);
    });
  });
});
