// LuatOS ftp through the real Runtime against a small FTP server written here (control
// connection plus passive data connections on 127.0.0.1): the exact commands the client
// sends, the values wait() returns, files pulled into and pushed from the flash folder,
// and the firmware's immediate refusals.
import * as net from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";
import { makeProject } from "./support/project.js";
import { plain } from "./support/lua.js";

const BLOB = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13 + 7) & 0xff));

interface FtpServer { port: number; commands: string[]; files: Map<string, Buffer>; close(): void }

function startFtpServer(): Promise<FtpServer> {
  const commands: string[] = [];
  const files = new Map<string, Buffer>([["/blob.bin", BLOB], ["/a.txt", Buffer.from("hello")]]);
  const servers: net.Server[] = [];
  const control = net.createServer((socket) => {
    let pending = "";
    let data: Promise<net.Socket> | undefined;
    const say = (line: string) => socket.write(`${line}\r\n`);
    say("220 moonrig test server");
    const transfer = (send: (conn: net.Socket) => Promise<void>) => {
      const ready = data;
      data = undefined;
      if (!ready) return say("425 no data connection");
      say("150 opening data connection");
      void ready.then(send).then(() => say("226 transfer complete"));
    };
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      let at: number;
      while ((at = pending.indexOf("\r\n")) >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 2);
        commands.push(line);
        const [verb, ...rest] = line.split(" ");
        const arg = rest.join(" ");
        switch (verb) {
          case "USER": say("331 password please"); break;
          case "PASS": say(arg === "secret" ? "230 logged in" : "530 login incorrect"); break;
          case "NOOP": say("200 NOOP ok"); break;
          case "SYST": say("215 UNIX Type: L8"); break;
          case "PWD": say('257 "/" is the current directory'); break;
          case "SIZE": say(files.has(arg) ? `213 ${files.get(arg)!.length}` : "550 no such file"); break;
          case "DELE": say(files.delete(arg) ? "250 deleted" : "550 no such file"); break;
          case "PASV": {
            const listener = net.createServer();
            servers.push(listener);
            data = new Promise((resolve) => listener.once("connection", (conn) => { listener.close(); resolve(conn); }));
            listener.listen(0, "127.0.0.1", () => {
              const port = (listener.address() as net.AddressInfo).port;
              say(`227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 0xff})`);
            });
            break;
          }
          case "LIST":
            transfer((conn) => new Promise((resolve) => conn.end([...files.keys()].sort().map((n) => `-rw-r--r-- 1 ftp ftp ${files.get(n)!.length} Jan 01 00:00 ${n.slice(1)}`).join("\r\n") + "\r\n", () => resolve())));
            break;
          case "RETR":
            transfer((conn) => new Promise((resolve) => conn.end(files.get(arg) ?? Buffer.alloc(0), () => resolve())));
            break;
          case "STOR":
            transfer((conn) => new Promise((resolve) => {
              const parts: Buffer[] = [];
              conn.on("data", (part: Buffer) => parts.push(part));
              conn.on("end", () => { files.set(arg, Buffer.concat(parts)); resolve(); });
            }));
            break;
          case "QUIT": say("221 Goodbye."); socket.end(); break;
          default: say("502 not implemented");
        }
      }
    });
    socket.on("error", () => undefined);
  });
  servers.push(control);
  return new Promise((resolve) => control.listen(0, "127.0.0.1", () => resolve({
    port: (control.address() as net.AddressInfo).port, commands, files,
    close: () => servers.forEach((s) => s.close()),
  })));
}

describe("LuatOS ftp", function () {
  this.timeout(20000);
  let c: Captured;
  let dir: string;
  let server: FtpServer;
  before(async () => {
    server = await startFtpServer();
    dir = makeProject({ "main.lua": "", "up.bin": Buffer.from([0, 1, 2, 255, 13, 10]) });
  });
  after(() => {
    server.close();
  });

  /** Runs `body` in a sys task until the script ends; its `r` table comes back, strings as latin1. */
  async function inTask(body: string): Promise<unknown[]> {
    c = captured({ flavor: "luatos", cwd: dir, prelude: [`sys = require("sys")\nsys.taskInit(function() local r = {} ${body}\nresults = r end)`] });
    await c.rt.run();
    expect(await c.rt.finished, c.stderr()).to.equal(0);
    const [t] = c.rt.exec("return results").map(plain);
    await c.rt.close();
    return Object.values(t as Record<string, unknown>);
  }

  it("logs in, runs commands (their reply as a string), lists, pulls, pushes and quits with the firmware's command sequence", async () => {
    const results = await inTask(`
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}, "user", "secret").wait()
      r[#r+1] = ftp.command("NOOP").wait()
      r[#r+1] = ftp.command("SYST").wait()
      r[#r+1] = ftp.command("PWD").wait()
      r[#r+1] = ftp.command("LIST").wait()
      r[#r+1] = ftp.pull("/got.bin", "/blob.bin").wait()
      r[#r+1] = ftp.push("/up.bin", "/up.bin").wait()
      r[#r+1] = ftp.command("DELE /a.txt").wait()
      r[#r+1] = ftp.close().wait()`);
    expect(results).to.deep.equal([
      true,
      "200 NOOP ok\r\n",
      "215 UNIX Type: L8\r\n",
      '257 "/" is the current directory\r\n',
      "-rw-r--r-- 1 ftp ftp 5 Jan 01 00:00 a.txt\r\n-rw-r--r-- 1 ftp ftp 5000 Jan 01 00:00 blob.bin\r\n",
      true,
      true,
      "250 deleted\r\n",
      "221 Goodbye.\r\n",
    ]);
    expect(server.commands).to.deep.equal([
      "USER user", "PASS secret", "NOOP", "SYST", "PWD", "PASV", "LIST", "SIZE /blob.bin", "PASV", "RETR /blob.bin",
      "PASV", "STOR /up.bin", "DELE /a.txt", "QUIT",
    ]);
    expect(readFileSync(join(dir, "got.bin")).equals(BLOB)).to.equal(true);
    expect(server.files.get("/up.bin")).to.deep.equal(Buffer.from([0, 1, 2, 255, 13, 10]));
    // The server's 127.0.0.1 is one of the addresses the firmware replaces by the server's name.
    expect(c.stdout()).to.contain("W/ftp 服务器回应不可路由的地址(127.0.0.1)。使用服务器地址代替 127.0.0.1\n");
  });

  it("answers false for a refused password, and the firmware's codes at once for refused calls", async () => {
    server.commands.length = 0;
    writeFileSync(join(dir, "x.txt"), "x");
    const results = await inTask(`
      r[#r+1] = ftp.command("NOOP").wait()
      r[#r+1] = ftp.push("/x.txt", "/x.txt").wait()
      r[#r+1] = ftp.close().wait()
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}).wait()
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}, "user", "wrong").wait()
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}, "user", "secret", true).wait()
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}, "user", "secret").wait()
      r[#r+1] = ftp.command("STAT").wait()
      r[#r+1] = ftp.pull("/luadb/no.bin", "/a.txt").wait()
      r[#r+1] = ftp.push("/missing.bin", "/m.bin").wait()
      r[#r+1] = ftp.login(nil, "127.0.0.1", ${server.port}, "user", "secret").wait()
      r[#r+1] = ftp.command("NOOP").wait()
      ftp.close().wait()`);
    expect(results).to.deep.equal([-8, -4, -4, -21, false, -24, true, -8, -8, -4, -1, -8]);
    expect(server.commands).to.deep.equal(["USER user", "PASS wrong", "USER user", "PASS secret"]);
    const errors = c.stdout().split("\n").filter((l) => /E\/ftp (invalid|ftp tls|not support|ftp already|ftp login wrong)/.test(l)).map((l) => l.replace(/^.*?E\//, "E/"));
    expect(errors).to.deep.equal([
      "E/ftp invalid username length 0",
      "E/ftp ftp login wrong",
      "E/ftp ftp tls not support yet",
      "E/ftp not support cmd:STAT",
      "E/ftp ftp already login, please close first",
    ]);
  });
});
