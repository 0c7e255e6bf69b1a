// UARTs reachable from outside (--uart ID=pty | ID=tcp:PORT): NodeMCU and LuatOS scripts
// echoing and transforming bytes over a real pty (driven by socat, as a user's program
// would) and over a loopback TCP port, every byte value both ways, reconnects, the run's
// end closing everything, and the option's errors.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { openPty } from "./support/socat.js";
import { existsSync, lstatSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { captured, started, type Captured } from "./support/capture.js";
import { CLI, runCli } from "./support/cli.js";
import { tempDir } from "./support/temp.js";
import { delay, waitUntil } from "./support/wait.js";
import type { RuntimeOptions } from "../main/index.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const complement = (bytes: Buffer): Buffer => Buffer.from(bytes.map((b) => 255 - b));

/** Lua: every byte b becomes 255 - b. */
const COMPLEMENT = `local function complement(s) return (s:gsub(".", function(c) return string.char(255 - c:byte()) end)) end`;

/** A program on the other end of the line: bytes it has received, and a way to send. */
interface Peer {
  received(): Buffer;
  send(bytes: Uint8Array): void;
  waitFor(length: number, timeoutMs?: number): Promise<Buffer>;
  close(): Promise<void>;
}

function collector(): { chunks: Buffer[]; received(): Buffer; waitFor(length: number, timeoutMs?: number): Promise<Buffer> } {
  const chunks: Buffer[] = [];
  const received = () => Buffer.concat(chunks);
  return {
    chunks,
    received,
    async waitFor(length, timeoutMs = 5000) {
      await waitUntil(() => received().length >= length, `${length} bytes (got ${received().length}: ${received().toString("hex")})`, timeoutMs);
      return received();
    },
  };
}

async function tcpPeer(port: number): Promise<Peer & { socket: Socket }> {
  const socket = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const sink = collector();
  socket.on("data", (chunk: Buffer) => sink.chunks.push(chunk));
  return {
    socket,
    ...sink,
    send: (bytes) => void socket.write(bytes),
    close: () =>
      new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.end();
      }),
  };
}

/** socat opening the pty in raw mode, its stdin and stdout standing for the program's I/O. */
async function ptyPeer(path: string): Promise<Peer & { proc: ChildProcess }> {
  const proc = await openPty(path);
  const sink = collector();
  proc.stdout!.on("data", (chunk: Buffer) => sink.chunks.push(chunk));
  return {
    proc,
    ...sink,
    send: (bytes) => void proc.stdin!.write(bytes),
    close: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

function hasSocat(): boolean {
  return existsSync("/usr/bin/socat") || existsSync("/usr/local/bin/socat");
}

async function linked(flavor: "nodemcu" | "luatos", uart: Record<number, string>, source: string, options: RuntimeOptions = {}): Promise<Captured> {
  return started({ flavor, uart, prelude: [source], ...options });
}

function tcpPort(c: Captured, id: number): number {
  const endpoint = c.rt.uartEndpoint(id);
  if (endpoint?.kind !== "tcp") throw new Error(`uart ${id} is not on tcp: ${JSON.stringify(endpoint)}`);
  return endpoint.port;
}

function ptyPath(c: Captured, id: number): string {
  const endpoint = c.rt.uartEndpoint(id);
  if (endpoint?.kind !== "pty") throw new Error(`uart ${id} is not on a pty: ${JSON.stringify(endpoint)}`);
  return endpoint.path;
}

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

describe("UART links over TCP (--uart ID=tcp:PORT)", () => {
  it("NodeMCU: uart.on('data') gets all 256 byte values from a TCP client and uart.write(0) sends them back transformed, not to stdout", async () => {
    const c = await linked("nodemcu", { 0: "tcp:0" }, `${COMPLEMENT}
      uart.on("data", 0, function(data) uart.write(0, complement(data)) end, 0)
      print("ready")`);
    expect(c.stderr()).to.equal(`moonrig: uart 0 is on tcp 127.0.0.1:${tcpPort(c, 0)}\n`);
    const peer = await tcpPeer(tcpPort(c, 0));
    peer.send(ALL_BYTES);
    expect(await peer.waitFor(256)).to.deep.equal(complement(ALL_BYTES));
    await delay(50);
    expect(peer.received().length).to.equal(256);
    expect(c.stdout()).to.equal("ready\n");
    await peer.close();
    await c.rt.close();
  });

  it("NodeMCU: a data handler on a linked UART 0 keeps the run alive until it is removed", async () => {
    const c = await linked("nodemcu", { 0: "tcp:0" }, `uart.on("data", "\\n", function(line) uart.write(0, "[", line, "]") end, 0)`);
    const peer = await tcpPeer(tcpPort(c, 0));
    peer.send(Buffer.from("ab\ncd"));
    await delay(100);
    peer.send(Buffer.from("\n"));
    expect((await peer.waitFor(10)).toString("latin1")).to.equal("[ab\n][cd\n]");
    expect(c.rt.exited).to.equal(false);
    c.rt.exec(`uart.on("data")`);
    expect(await c.rt.finished).to.equal(0);
    await peer.close();
    await c.rt.close();
  });

  it("a peer can disconnect and another connect; a second peer at once is refused; bytes written with nobody connected are lost", async () => {
    const c = await linked("luatos", { 2: "tcp:0" }, `
      uart.setup(2, 9600)
      uart.on(2, "receive", function(id, len) local s = uart.read(id, len) uart.write(id, s:upper()) end)`);
    const port = tcpPort(c, 2);
    const first = await tcpPeer(port);
    first.send(Buffer.from("one"));
    expect((await first.waitFor(3)).toString()).to.equal("ONE");
    const second = await tcpPeer(port);
    await new Promise((resolve) => second.socket.once("close", resolve));
    expect(second.received().length).to.equal(0);
    expect(c.stderr()).to.match(/uart 2: refused a second connection from 127\.0\.0\.1:\d+ \(one peer at a time\)\n$/);
    await first.close();
    await delay(200);
    c.rt.exec(`uart.write(2, "lost")`);
    const third = await tcpPeer(port);
    third.send(Buffer.from("two\0\xff", "latin1"));
    expect((await third.waitFor(5)).toString("latin1")).to.equal("TWO\0\xff");
    await delay(50);
    expect(third.received().toString("latin1")).to.equal("TWO\0\xff");
    await third.close();
    await c.rt.close();
  });

  it("LuatOS: uart.rx into a zbuff and uart.tx back move every byte value exactly; 'sent' follows each write", async () => {
    const c = await linked("luatos", { 1: "tcp:0" }, `
      local buff = zbuff.create(16)
      total = 0
      assert(uart.setup(1, 115200, 8, 1, uart.NONE) == 0)
      uart.on(1, "sent", function(id) print("sent", id) end)
      uart.on(1, "receive", function(id, len)
        buff:seek(0)
        local n = uart.rx(id, buff)
        total = total + n
        uart.tx(id, buff, 0, n)
      end)`);
    const peer = await tcpPeer(tcpPort(c, 1));
    peer.send(ALL_BYTES);
    expect(await peer.waitFor(256)).to.deep.equal(ALL_BYTES);
    expect(c.rt.exec("return total")).to.deep.equal([256]);
    expect(c.stdout()).to.match(/^(sent\t1\n)+$/);
    await peer.close();
    await c.rt.close();
  });

  it("LuatOS: uart.read reads 1024 bytes by default, everything for a negative count, and into a zbuff at its cursor; zbuff writes and uart.tx send the firmware's ranges", async () => {
    const c = await linked("luatos", { 3: "tcp:0" }, `uart.setup(3) uart.on(3, "receive", function() end)`);
    const peer = await tcpPeer(tcpPort(c, 3));
    peer.send(Buffer.alloc(1500, 0x41));
    await waitUntil(() => c.rt.exec("return uart.rxSize(3)")[0] === 1500, "1500 buffered bytes");
    expect(c.rt.exec("return #uart.read(3), uart.rxSize(3)")).to.deep.equal([1024, 476]);
    expect(c.rt.exec(`local b = zbuff.create(8) b:write("xy") return uart.read(3, 100, b), b:used(), b:toStr(0, 8), uart.rxSize(3)`).map(String)).to.deep.equal(["6", "8", "xyAAAAAA", "470"]);
    expect(c.rt.exec("return #uart.read(3, -1), uart.rxSize(3), uart.read(3)")).to.deep.equal([470, 0, Buffer.alloc(0)]);
    c.rt.exec(`b = zbuff.create(6) b:write("skip") b[4] = 0 b[5] = 255`);
    expect(c.rt.exec("return uart.write(3, b), uart.write(3, b, 1), uart.write(3, b, -1), uart.tx(3, b, 4, 100), uart.tx(3, b), uart.tx(3, b, 6), uart.tx(3, 'str')")).to.deep.equal([2, 1, 2, 2, 4, 0, 0]);
    expect((await peer.waitFor(11)).toString("hex")).to.equal("00ff0000ff00ff736b6970");
    await peer.close();
    await c.rt.close();
  });

  it("the run's end closes the port: nothing listens after close()", async () => {
    const c = await linked("nodemcu", { 1: "tcp:0" }, `uart.write(1, "x")`);
    const port = tcpPort(c, 1);
    expect(await c.rt.finished).to.equal(0);
    expect(await refused(port)).to.equal(false);
    await c.rt.close();
    expect(await refused(port)).to.equal(true);
  });

  it("bad values and ports the firmware does not have are clear errors from run(); a port in use too", async () => {
    const bad = async (flavor: "nodemcu" | "luatos", uart: Record<number, string>): Promise<string> => {
      const c = captured({ flavor, uart, prelude: ["x = 1"] });
      try {
        await c.rt.run();
        return "no error";
      } catch (error) {
        return `${(error as Error).constructor.name}: ${(error as Error).message}`;
      } finally {
        await c.rt.close();
      }
    };
    expect(await bad("nodemcu", { 2: "pty" })).to.equal("ScriptError: uart 2: NodeMCU has no such UART (it has 0, 1)");
    expect(await bad("luatos", { 4: "tcp:0" })).to.equal("ScriptError: uart 4: LuatOS has no such UART (it has 0, 1, 2, 3, 32)");
    expect(await bad("luatos", { 1: "serial" })).to.equal("ScriptError: uart 1: expected pty, pty:PATH or tcp:PORT, got 'serial'");
    expect(await bad("luatos", { 1: "tcp:65536" })).to.equal("ScriptError: uart 1: tcp port must be 0..65535 (0: any free port), got 65536");
    const holder = await linked("nodemcu", { 1: "tcp:0" }, "x = 1");
    const port = tcpPort(holder, 1);
    expect(await bad("luatos", { 0: "tcp:0", 1: `tcp:${port}` })).to.equal(`ScriptError: uart 1: cannot listen on 127.0.0.1:${port}: the port is in use`);
    await holder.rt.close();
  });
});

describe("UART links over a pty (--uart ID=pty, driven by socat)", function () {
  before(function () {
    if (!hasSocat()) this.skip();
  });

  it("NodeMCU: a program on the pty sends all 256 byte values and reads them back transformed", async () => {
    const c = await linked("nodemcu", { 0: "pty" }, `${COMPLEMENT}
      uart.setup(0, 9600, 8, uart.PARITY_NONE, uart.STOPBITS_1, 0)
      uart.on("data", 0, function(data) uart.write(0, complement(data)) end, 0)`);
    const path = ptyPath(c, 0);
    expect(path).to.match(/^\/dev\/pts\/\d+$/);
    expect(c.stderr()).to.equal(`moonrig: uart 0 is on pty ${path}\n`);
    const peer = await ptyPeer(path);
    peer.send(ALL_BYTES);
    expect(await peer.waitFor(256)).to.deep.equal(complement(ALL_BYTES));
    expect(c.stdout()).to.equal("");
    await peer.close();
    await c.rt.close();
  });

  it("NodeMCU: fixed-length chunks reach uart.on('data', 4, ...) from the pty", async () => {
    const c = await linked("nodemcu", { 0: "pty" }, `uart.on("data", 4, function(data) uart.write(0, "<", data, ">") end, 0)`);
    const peer = await ptyPeer(ptyPath(c, 0));
    peer.send(Buffer.from("abcdefgh\0\r\n\x03", "latin1"));
    expect((await peer.waitFor(18)).toString("latin1")).to.equal("<abcd><efgh><\0\r\n\x03>");
    await peer.close();
    await c.rt.close();
  });

  it("LuatOS: uart.read/uart.write echo every byte value; the pty survives the program closing it and opening it again", async () => {
    const c = await linked("luatos", { 1: "pty" }, `
      uart.setup(1, 115200)
      uart.on(1, "receive", function(id, len)
        while true do
          local s = uart.read(id, 100)
          if #s == 0 then break end
          uart.write(id, s)
        end
      end)`);
    const path = ptyPath(c, 1);
    const first = await ptyPeer(path);
    first.send(ALL_BYTES);
    expect(await first.waitFor(256)).to.deep.equal(ALL_BYTES);
    await first.close();
    const second = await ptyPeer(path);
    second.send(Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x11, 0x13]));
    expect((await second.waitFor(6)).toString("hex")).to.equal("ff000d0a1113");
    await second.close();
    await c.rt.close();
    await waitUntil(() => !existsSync(path), `${path} to go away`);
  });

  it("pty:PATH makes a symlink to the pty that a program can open by that name; close() removes it", async () => {
    const dir = tempDir("moonrig-uart-");
    const link = join(dir, "ttyDTU");
    const c = await linked("luatos", { 0x20: `pty:${link}` }, `uart.on(uart.VUART_0, "receive", function(id, len) uart.write(id, "got " .. uart.read(id, len)) end)`);
    expect(lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(c.stderr()).to.equal(`moonrig: uart 32 is on pty ${link} (${ptyPath(c, 0x20)})\n`);
    const peer = await ptyPeer(link);
    peer.send(Buffer.from("hi"));
    expect((await peer.waitFor(6)).toString()).to.equal("got hi");
    await peer.close();
    await c.rt.close();
    await waitUntil(() => !existsSync(link), `${link} to go away`);
  });
});

describe("moonrig --uart", () => {
  it("prints the TCP address on stderr, and a client talks to the script through it", async () => {
    const dir = tempDir("moonrig-uart-");
    const script = join(dir, "echo.lua");
    writeFileSync(script, `uart.on("data", "\\r", function(line) uart.write(0, "> ", line) end, 0)\nprint("up")\n`);
    const child = spawn(process.execPath, [CLI, "--uart", "0=tcp:0", "--run-for", "20", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await waitUntil(() => /uart 0 is on tcp 127\.0\.0\.1:\d+\n/.test(stderr), "the address on stderr", 10000);
      expect(stderr).to.match(/^moonrig: uart 0 is on tcp 127\.0\.0\.1:\d+\n$/);
      const port = Number(/:(\d+)\n/.exec(stderr)![1]);
      const peer = await tcpPeer(port);
      peer.send(Buffer.from("ping\r"));
      expect((await peer.waitFor(7)).toString()).to.equal("> ping\r");
      expect(stdout).to.equal("up\n");
      await peer.close();
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("prints the pty path on stderr", async function () {
    if (!hasSocat()) this.skip();
    const result = await runCli(["--flavor", "luatos", "--uart", "1=pty", "-e", "uart.setup(1)"]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stderr).to.match(/^moonrig: uart 1 is on pty \/dev\/pts\/\d+\n$/);
  });

  it("rejects bad --uart values with a usage error (exit 2)", async () => {
    const cases: Array<[string[], string]> = [
      [["--uart", "x=pty"], "moonrig: --uart expects ID=pty, ID=pty:PATH or ID=tcp:PORT with a UART number as ID, got 'x=pty'"],
      [["--uart", "1"], "moonrig: --uart 1: missing '=pty' or '=tcp:PORT'"],
      [["--uart", "1=serial"], "moonrig: uart 1: expected pty, pty:PATH or tcp:PORT, got 'serial'"],
      [["--uart=1=tcp:99999"], "moonrig: uart 1: tcp port must be 0..65535 (0: any free port), got 99999"],
      [["--uart", "1=pty:/tmp/a,b"], "moonrig: uart 1: pty:PATH needs a path without commas, quotes, '!', '\\' or spaces, got '/tmp/a,b'"],
      [["--uart", "1=pty", "--uart", "1=tcp:0"], "moonrig: --uart 1 is given twice"],
      [["--uart"], "moonrig: option '--uart' needs an argument"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(["-e", "x = 1", ...args]);
      expect(result.code, args.join(" ")).to.equal(2);
      expect(result.stderr.split("\n")[0]).to.equal(message);
    }
  });

  it("a UART the flavor does not have, and a pty without socat, fail with exit 2 and a clear message", async () => {
    const missing = await runCli(["--flavor", "nodemcu", "--uart", "3=tcp:0", "-e", "x = 1"]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.equal("moonrig: uart 3: NodeMCU has no such UART (it has 0, 1)\n");
    const noSocat = await runCli(["--flavor", "luatos", "--uart", "1=pty", "-e", "x = 1"], { env: { PATH: tempDir("moonrig-uart-") } });
    expect(noSocat.code).to.equal(2);
    expect(noSocat.stderr).to.equal("moonrig: uart 1: a pty link needs socat, which is not installed (or not on PATH); install it (apt install socat, brew install socat) or use tcp:PORT\n");
  });
});
