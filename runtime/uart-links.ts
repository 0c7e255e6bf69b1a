// UARTs reachable from outside the process (--uart ID=pty | ID=tcp:PORT): a script's serial
// port joined to a real pseudo-terminal or a loopback TCP port, so that a real program can
// sit on the other end of the line. Bytes pass through untouched in both directions; the
// baud rate and framing the script sets up do not matter on either kind of link.
//
// Node has no pty API, and the maintained pty packages are native addons, so a pty is made
// by socat (`pty,raw,echo=0` joined to socat's stdin/stdout pipes): no compiled dependency,
// and socat is already what the AT modem's --pty uses. `ignoreeof` keeps the pty alive
// when the program on it closes it, so another program (or the same one again) can open it.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import type { Board } from "./board.js";
import type { Flavor } from "./flavors.js";

export type UartLinkSpec = { kind: "pty"; link?: string } | { kind: "tcp"; port: number };

/** Where a linked UART can be reached, once it is open. */
export type UartEndpoint = { kind: "pty"; path: string; link?: string } | { kind: "tcp"; host: string; port: number };

/** A --uart value (or a RuntimeOptions.uart entry) that cannot work; the text says why. */
export class UartLinkError extends Error {}

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 2000;

/** The UART ids each firmware has: ESP8266 UART 0 and 1; LuatOS hardware ports 0-3 and the USB virtual UART. */
const PORTS: Record<Flavor, readonly number[]> = { nodemcu: [0, 1], luatos: [0, 1, 2, 3, 0x20] };

/** Parses the text after `ID=`: `pty`, `pty:PATH` (a stable symlink to the pty) or `tcp:PORT`. */
export function parseUartLink(id: number, text: string): UartLinkSpec {
  if (text === "pty") return { kind: "pty" };
  if (text.startsWith("pty:")) {
    const link = text.slice(4);
    // socat reads its address as a comma-separated option list.
    if (link === "" || /[,!"'\\\s]/.test(link)) throw new UartLinkError(`uart ${id}: pty:PATH needs a path without commas, quotes, '!', '\\' or spaces, got '${link}'`);
    return { kind: "pty", link };
  }
  const tcp = /^tcp:(\d+)$/.exec(text);
  if (tcp) {
    const port = Number(tcp[1]);
    if (port > 65535) throw new UartLinkError(`uart ${id}: tcp port must be 0..65535 (0: any free port), got ${port}`);
    return { kind: "tcp", port };
  }
  throw new UartLinkError(`uart ${id}: expected pty, pty:PATH or tcp:PORT, got '${text}'`);
}

/** Parses a whole --uart argument, `ID=pty` or `ID=tcp:PORT`. */
export function parseUartOption(text: string): [number, UartLinkSpec] {
  const eq = text.indexOf("=");
  const idText = eq < 0 ? text : text.slice(0, eq);
  if (!/^\d+$/.test(idText) || Number(idText) > 255) throw new UartLinkError(`--uart expects ID=pty, ID=pty:PATH or ID=tcp:PORT with a UART number as ID, got '${text}'`);
  if (eq < 0) throw new UartLinkError(`--uart ${idText}: missing '=pty' or '=tcp:PORT'`);
  const id = Number(idText);
  return [id, parseUartLink(id, text.slice(eq + 1))];
}

interface Link {
  readonly endpoint: UartEndpoint;
  send(bytes: Uint8Array): void;
  close(): Promise<void>;
}

/**
 * The links of one Runtime: opened before the first boot, kept across simulated reboots
 * (the cable stays plugged in), closed with the Runtime.
 */
export class UartLinks {
  private readonly links = new Map<number, Link>();
  private closed = false;

  constructor(
    /** Bytes that arrived from outside for UART `id`. */
    private readonly deliver: (id: number, bytes: Uint8Array) => void,
    private readonly notice: (line: string) => void,
  ) {}

  /** Checks every entry against the flavor's ports, then opens them all (or none). */
  async open(entries: Readonly<Record<number, string>>, flavor: Flavor): Promise<void> {
    const specs: Array<[number, UartLinkSpec]> = [];
    for (const [key, text] of Object.entries(entries)) {
      const id = Number(key);
      if (!/^\d+$/.test(key)) throw new UartLinkError(`uart '${key}': the id must be a UART number`);
      if (typeof text !== "string") throw new UartLinkError(`uart ${id}: expected pty, pty:PATH or tcp:PORT, got ${typeof text}`);
      const ports = PORTS[flavor];
      if (!ports.includes(id)) throw new UartLinkError(`uart ${id}: ${flavor === "nodemcu" ? "NodeMCU" : "LuatOS"} has no such UART (it has ${ports.join(", ")})`);
      specs.push([id, parseUartLink(id, text)]);
    }
    try {
      for (const [id, spec] of specs) {
        const link = spec.kind === "pty" ? await openPty(id, spec.link, this.deliver, this.notice) : await openTcp(id, spec.port, this.deliver, this.notice);
        if (this.closed) {
          await link.close();
          return;
        }
        this.links.set(id, link);
        const where = link.endpoint.kind === "pty" ? `pty ${link.endpoint.link ?? link.endpoint.path}${link.endpoint.link ? ` (${link.endpoint.path})` : ""}` : `tcp ${link.endpoint.host}:${link.endpoint.port}`;
        this.notice(`moonrig: uart ${id} is on ${where}`);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Whether UART `id` is joined to the outside. */
  has(id: number): boolean {
    return this.links.has(id);
  }

  endpoint(id: number): UartEndpoint | undefined {
    return this.links.get(id)?.endpoint;
  }

  /** Sends the script's bytes out on UART `id`; false when that UART has no link. */
  send(id: number, bytes: Uint8Array): boolean {
    const link = this.links.get(id);
    if (!link) return false;
    if (bytes.length > 0) link.send(Uint8Array.from(bytes));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((link) => link.close()));
  }
}

function openPty(id: number, link: string | undefined, deliver: (id: number, bytes: Uint8Array) => void, notice: (line: string) => void): Promise<Link> {
  const address = ["pty", "raw", "echo=0", "ignoreeof", ...(link ? [`link=${link}`] : [])].join(",");
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn("socat", ["-d", "-d", address, "STDIO"], { stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      reject(new UartLinkError(`uart ${id}: cannot run socat: ${(error as Error).message}`));
      return;
    }
    let log = "";
    let path: string | undefined;
    let started = false;
    let stopping = false;
    const timer = setTimeout(() => fail(`socat did not report its pty within ${START_TIMEOUT_MS} ms: ${log.trim()}`), START_TIMEOUT_MS);
    const fail = (message: string): void => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      child.kill("SIGTERM");
      reject(new UartLinkError(`uart ${id}: ${message}`));
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      fail(error.code === "ENOENT" ? "a pty link needs socat, which is not installed (or not on PATH); install it (apt install socat, brew install socat) or use tcp:PORT" : `cannot run socat: ${error.message}`);
    });
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.once("exit", (code, signal) => {
      if (!started) fail(`socat exited (${signal ?? `code ${code}`}) before making the pty: ${log.trim()}`);
      else if (!stopping) notice(`moonrig: uart ${id}: socat exited (${signal ?? `code ${code}`}); the pty is gone`);
    });
    // A script writing to a pty nobody reads must not take the process down with EPIPE.
    child.stdin?.on("error", () => undefined);
    child.stdout?.on("data", (chunk: Buffer) => deliver(id, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      if (started) return;
      log += text;
      path ??= /PTY is (\S+)/.exec(log)?.[1];
      if (path === undefined || !log.includes("starting data transfer loop")) return;
      started = true;
      clearTimeout(timer);
      resolve({
        endpoint: link ? { kind: "pty", path, link } : { kind: "pty", path },
        send: (bytes) => void child.stdin?.write(bytes),
        close: async () => {
          stopping = true;
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/**
 * One peer at a time, like a serial port that is in use: a second connection is closed at
 * once. Bytes the script writes while nobody is connected are lost, as on an unplugged line.
 */
function openTcp(id: number, port: number, deliver: (id: number, bytes: Uint8Array) => void, notice: (line: string) => void): Promise<Link> {
  let peer: Socket | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      if (peer === socket) peer = undefined;
    });
    socket.on("error", () => undefined);
    if (peer) {
      notice(`moonrig: uart ${id}: refused a second connection from ${socket.remoteAddress}:${socket.remotePort} (one peer at a time)`);
      socket.destroy();
      return;
    }
    peer = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => deliver(id, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      const why = error.code === "EADDRINUSE" ? "the port is in use" : error.code === "EACCES" ? "permission denied" : error.message;
      reject(new UartLinkError(`uart ${id}: cannot listen on ${HOST}:${port}: ${why}`));
    });
    server.listen({ host: HOST, port }, () => {
      const address = server.address();
      const actual = typeof address === "object" && address ? address.port : port;
      resolve({
        endpoint: { kind: "tcp", host: HOST, port: actual },
        send: (bytes) => void peer?.write(bytes),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The links of the Runtime a board belongs to. */
export function uartLinksOf(board: Board): UartLinks {
  return board.host.runtime.uartLinks;
}
