import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { connectAsync, type IPublishPacket, type MqttClient } from "mqtt";
import { brokerCommand, isLoopbackHost, startBroker, type RunningBroker } from "../runtime/broker.js";
import { delay, waitUntil } from "./support/wait.js";

// Tests run from build/test/, two levels below the repository root.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HOST = "127.0.0.1";
const WAIT_MS = 5000;
const USAGE = "usage: moonrig broker [--port N] [--ws-port N] [--host ADDR] [--user NAME --password PW] [--password-file FILE] [--ws-origin ORIGIN]... [--verbose]\n";
// Every byte value, so a text decoding or a stripped NUL anywhere on the way shows up.
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The HTTP status a WebSocket upgrade gets with this Origin header (101 when it opens). */
function upgradeStatus(url: string, origin: string | undefined): Promise<number> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url, ["mqtt"], origin === undefined ? {} : { origin });
      socket.once("open", () => {
        socket.close();
        resolve(101);
      });
      socket.once("unexpected-response", (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      socket.once("error", reject);
    }),
    `the upgrade with Origin ${origin}`,
  );
}

interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

function nextMessage(client: MqttClient): Promise<Received> {
  return withTimeout(
    new Promise((resolve) => {
      client.once("message", (topic, payload, packet) => resolve({ topic, payload, packet }));
    }),
    `a message for ${client.options.clientId}`,
  );
}

/** Listens on an OS-picked loopback port so a test can find that port taken. */
async function occupyPort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve());
  });
  return server;
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

describe("embedded broker", function () {
  let broker: RunningBroker | undefined;
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];

  async function client(url: string, clientId: string): Promise<MqttClient> {
    const c = await withTimeout(
      connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: WAIT_MS }, false),
      `${clientId} to connect to ${url}`,
    );
    clients.push(c);
    return c;
  }

  afterEach(async function () {
    for (const c of clients.splice(0)) c.end(true);
    for (const s of sockets.splice(0)) s.destroy();
    await broker?.close();
    broker = undefined;
  });

  describe("startBroker", function () {
    it("listens on loopback ports the OS picks and reports them as URLs", async function () {
      broker = await startBroker();
      expect(broker.tcpPort).to.be.above(0);
      expect(broker.wsPort).to.be.above(0);
      expect(broker.tcpPort).to.not.equal(broker.wsPort);
      expect(broker.tcpUrl).to.equal(`mqtt://127.0.0.1:${broker.tcpPort}`);
      expect(broker.wsUrl).to.equal(`ws://127.0.0.1:${broker.wsPort}/mqtt`);
    });

    for (const transport of ["tcp", "ws"] as const) {
      for (const qos of [0, 1] as const) {
        it(`relays all 256 byte values at QoS ${qos} over ${transport}`, async function () {
          broker = await startBroker();
          const url = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
          const sub = await client(url, "sub");
          await sub.subscribeAsync("bin/#", { qos: 1 });
          const pub = await client(url, "pub");
          const received = nextMessage(sub);
          await pub.publishAsync("bin/all", ALL_BYTES, { qos });
          const message = await received;
          expect(message.topic).to.equal("bin/all");
          expect(message.payload.equals(ALL_BYTES)).to.equal(true, `payload was ${message.payload.toString("hex")}`);
          expect(message.packet.qos).to.equal(qos);
          expect(message.packet.retain).to.equal(false);
        });
      }
    }

    it("relays between a TCP client and a WebSocket client both ways", async function () {
      broker = await startBroker();
      const overTcp = await client(broker.tcpUrl, "over-tcp");
      const overWs = await client(broker.wsUrl, "over-ws");
      await overTcp.subscribeAsync("to/tcp", { qos: 1 });
      await overWs.subscribeAsync("to/ws", { qos: 1 });

      const atTcp = nextMessage(overTcp);
      await overWs.publishAsync("to/tcp", ALL_BYTES, { qos: 1 });
      expect((await atTcp).payload.equals(ALL_BYTES)).to.equal(true);

      const reversed = Buffer.from(ALL_BYTES).reverse();
      const atWs = nextMessage(overWs);
      await overTcp.publishAsync("to/ws", reversed, { qos: 0 });
      expect((await atWs).payload.equals(reversed)).to.equal(true);
    });

    for (const transport of ["tcp", "ws"] as const) {
      it(`delivers a retained message to a subscriber that arrives later over ${transport}`, async function () {
        broker = await startBroker();
        const url = transport === "tcp" ? broker.tcpUrl : broker.wsUrl;
        const pub = await client(url, "early");
        await pub.publishAsync("state/lamp", ALL_BYTES, { qos: 1, retain: true });
        await pub.endAsync();

        const late = await client(url, "late");
        const received = nextMessage(late);
        await late.subscribeAsync("state/+", { qos: 1 });
        const message = await received;
        expect(message.topic).to.equal("state/lamp");
        expect(message.payload.equals(ALL_BYTES)).to.equal(true);
        expect(message.packet.retain).to.equal(true);
        expect(message.packet.qos).to.equal(1);
      });
    }

    it("logs connects, subscribes, publishes and disconnects, one stable line each", async function () {
      const lines: string[] = [];
      broker = await startBroker({ verbose: true, log: (line) => lines.push(line) });
      // Each step waits for its line so the order is the order of events, not of races.
      const upTo = (count: number): Promise<void> => waitUntil(() => lines.length >= count, `${count} log lines, have ${JSON.stringify(lines)}`);

      const alice = await client(broker.tcpUrl, "alice");
      await upTo(1);
      await alice.subscribeAsync("sensors/#", { qos: 1 });
      await upTo(2);
      await alice.subscribeAsync({ "a/+": { qos: 0 }, b: { qos: 2 } });
      await upTo(4);
      const bob = await client(broker.wsUrl, "bob");
      await upTo(5);
      const received = nextMessage(alice);
      await bob.publishAsync("sensors/t", "21.5 C, 40 %", { qos: 0 });
      await received;
      await upTo(6);
      await bob.publishAsync("sensors/h", Buffer.from([0, 1, 2]), { qos: 1, retain: true });
      await upTo(7);
      await bob.endAsync();
      await upTo(8);
      await alice.endAsync();
      await upTo(9);
      // Give a stray extra line (a $SYS announcement, say) the chance to show up.
      await delay(50);

      expect(lines).to.deep.equal([
        "connect alice",
        "subscribe alice sensors/# qos 1",
        "subscribe alice a/+ qos 0",
        "subscribe alice b qos 2",
        "connect bob",
        "publish bob sensors/t 12 bytes qos 0 retain 0",
        "publish bob sensors/h 3 bytes qos 1 retain 1",
        "disconnect bob",
        "disconnect alice",
      ]);
    });

    it("logs nothing without verbose", async function () {
      const lines: string[] = [];
      broker = await startBroker({ log: (line) => lines.push(line) });
      const c = await client(broker.tcpUrl, "quiet");
      await c.subscribeAsync("q", { qos: 1 });
      await c.publishAsync("q", "x", { qos: 1 });
      await c.endAsync();
      expect(lines).to.deep.equal([]);
    });

    it("close() disconnects clients, including ones that never sent CONNECT, and releases the ports", async function () {
      const before = process.getActiveResourcesInfo();
      const lines: string[] = [];
      const running = await startBroker({ verbose: true, log: (line) => lines.push(line) });
      const overTcp = await client(running.tcpUrl, "stays-tcp");
      const overWs = await client(running.wsUrl, "stays-ws");
      const silent = connectTcp(running.tcpPort, HOST);
      sockets.push(silent);
      silent.on("error", () => {});
      await withTimeout(new Promise((resolve) => silent.once("connect", resolve)), "a raw socket to connect");

      const closes = [overTcp, overWs].map((c) => withTimeout(new Promise<void>((resolve) => c.once("close", () => resolve())), `${c.options.clientId} to see the close`));
      const silentClosed = withTimeout(new Promise((resolve) => silent.once("close", resolve)), "the raw socket to be closed");
      await withTimeout(running.close(), "close()");
      await Promise.all([...closes, silentClosed]);
      expect(lines.filter((line) => line.startsWith("disconnect")).sort()).to.deep.equal(["disconnect stays-tcp", "disconnect stays-ws"]);
      // Calling it again is harmless.
      await withTimeout(running.close(), "a second close()");

      // libuv drops closed handles on the next loop turn.
      await delay(20);
      const count = (list: string[], kind: string): number => list.filter((name) => name === kind).length;
      const after = process.getActiveResourcesInfo();
      expect(count(after, "TCPServerWrap")).to.equal(count(before, "TCPServerWrap"));
      expect(count(after, "TCPSocketWrap")).to.equal(count(before, "TCPSocketWrap"));

      // The ports are really free again.
      for (const port of [running.tcpPort, running.wsPort]) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, HOST, () => resolve());
        });
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it("with accounts, refuses anonymous clients and wrong passwords with CONNACK 5 and lets the right ones in", async function () {
      broker = await startBroker({ users: new Map([["alice", Buffer.from("wonder\0land")]]) });
      const refusal = async (options: { username?: string; password?: Buffer }): Promise<unknown> => {
        try {
          const c = await connectAsync(broker!.tcpUrl, { clientId: "x", reconnectPeriod: 0, connectTimeout: WAIT_MS, ...options }, false);
          clients.push(c);
          return "connected";
        } catch (error) {
          return (error as { code?: number }).code;
        }
      };
      expect(await refusal({})).to.equal(5);
      expect(await refusal({ username: "alice" })).to.equal(5);
      expect(await refusal({ username: "alice", password: Buffer.from("wonder") })).to.equal(5);
      expect(await refusal({ username: "bob", password: Buffer.from("wonder\0land") })).to.equal(5);
      expect(await refusal({ username: "alice", password: Buffer.from("wonder\0land") })).to.equal("connected");
    });

    it("lets browsers in over WebSocket only from loopback pages by default; a client without Origin always", async function () {
      broker = await startBroker();
      for (const origin of ["http://localhost:3000", "https://127.0.0.1", "http://[::1]:8080", "HTTP://LOCALHOST"]) {
        expect(await upgradeStatus(broker.wsUrl, origin), origin).to.equal(101);
      }
      for (const origin of ["https://evil.example", "http://localhost.evil.example", "null", "file://", "chrome-extension://abc", "http://127.0.0.2"]) {
        expect(await upgradeStatus(broker.wsUrl, origin), origin).to.equal(403);
      }
      expect(await upgradeStatus(broker.wsUrl, undefined)).to.equal(101);
    });

    it("lets browsers in only from the wsOrigins given, compared as origins", async function () {
      broker = await startBroker({ wsOrigins: ["https://app.example.com:8443/", "http://lab.example"] });
      expect(await upgradeStatus(broker.wsUrl, "https://app.example.com:8443")).to.equal(101);
      expect(await upgradeStatus(broker.wsUrl, "http://lab.example")).to.equal(101);
      expect(await upgradeStatus(broker.wsUrl, "http://lab.example:80")).to.equal(101);
      expect(await upgradeStatus(broker.wsUrl, "https://app.example.com")).to.equal(403);
      expect(await upgradeStatus(broker.wsUrl, "http://localhost:3000")).to.equal(403);
      expect(await upgradeStatus(broker.wsUrl, undefined)).to.equal(101);
    });

    it("counts only loopback addresses and localhost as private", function () {
      expect(["127.0.0.1", "127.8.9.10", "::1", "localhost"].map(isLoopbackHost)).to.deep.equal([true, true, true, true]);
      expect(["0.0.0.0", "::", "192.168.1.2", "example.com", "::ffff:10.0.0.1"].map(isLoopbackHost)).to.deep.equal([false, false, false, false, false]);
    });

    it("answers plain HTTP on the WebSocket port with 426", async function () {
      broker = await startBroker();
      const response = await withTimeout(fetch(`http://127.0.0.1:${broker.wsPort}/mqtt`), "an HTTP response");
      expect(response.status).to.equal(426);
      await response.text();
    });

    it("rejects with the address and reason when a port is taken, leaving nothing open", async function () {
      const taken = await occupyPort();
      try {
        const port = portOf(taken);
        const before = process.getActiveResourcesInfo().length;
        for (const options of [{ port }, { wsPort: port }]) {
          let error: unknown;
          try {
            broker = await startBroker(options);
          } catch (err) {
            error = err;
          }
          expect(error).to.be.instanceOf(Error);
          expect((error as Error).message).to.equal(`cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
        }
        await delay(20);
        expect(process.getActiveResourcesInfo().length).to.be.at.most(before);
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });
  });

  describe("brokerCommand", function () {
    function capture(): { io: { stdout: (text: string) => void; stderr: (text: string) => void }; out: string[]; err: string[] } {
      const out: string[] = [];
      const err: string[] = [];
      return { io: { stdout: (text) => out.push(text), stderr: (text) => err.push(text) }, out, err };
    }

    const usageErrors: Array<[string[], string]> = [
      [["--bogus"], "unknown option '--bogus'"],
      [["-p", "1"], "unknown option '-p'"],
      [["extra"], "unexpected argument 'extra'"],
      [["--port"], "--port needs a value"],
      [["--ws-port", "--verbose"], "--ws-port needs a value"],
      [["--host"], "--host needs a value"],
      [["--host="], "--host needs a value"],
      [["--port", "abc"], "--port must be a port number 0..65535, got 'abc'"],
      [["--port", "65536"], "--port must be a port number 0..65535, got '65536'"],
      [["--port", "-1"], "--port must be a port number 0..65535, got '-1'"],
      [["--port", "1.5"], "--port must be a port number 0..65535, got '1.5'"],
      [["--port="], "--port must be a port number 0..65535, got ''"],
      [["--ws-port=0x10"], "--ws-port must be a port number 0..65535, got '0x10'"],
      [["--verbose=yes"], "--verbose takes no value"],
      [["--user", "alice"], "--user and --password go together"],
      [["--password", "pw"], "--user and --password go together"],
      [["--user", "a:b", "--password", "pw"], "--user needs a name without ':', got 'a:b'"],
      [["--password-file"], "--password-file needs a value"],
      [["--ws-origin", "example.com"], "--ws-origin needs an origin such as https://example.com:8443, got 'example.com'"],
      [["--password-file", "/nonexistent/moonrig-passwd"], "cannot read /nonexistent/moonrig-passwd: ENOENT"],
    ];
    for (const [argv, message] of usageErrors) {
      it(`exits 2 with a usage message for ${JSON.stringify(argv)}`, async function () {
        const { io, out, err } = capture();
        expect(await brokerCommand(argv, io)).to.equal(2);
        expect(err.join("")).to.equal(`moonrig broker: ${message}\n${USAGE}`);
        expect(out).to.deep.equal([]);
      });
    }

    it("prints the usage on stdout for --help and starts nothing", async function () {
      const { io, out, err } = capture();
      expect(await brokerCommand(["--port", "0", "--help"], io)).to.equal(0);
      expect(out.join("")).to.equal(USAGE);
      expect(err).to.deep.equal([]);
    });

    it("prints the bound URLs, relays, and resolves 0 on SIGTERM", async function () {
      const { io, out, err } = capture();
      const sigtermListeners = process.listenerCount("SIGTERM");
      const exit = brokerCommand(["--port=0", "--ws-port", "0"], io);
      await waitUntil(() => out.length > 0, "the banner");
      const match = /^moonrig broker: mqtt:\/\/127\.0\.0\.1:(\d+) ws:\/\/127\.0\.0\.1:(\d+)\/mqtt\n$/.exec(out[0] ?? "");
      expect(match, out[0]).to.not.equal(null);
      const [, tcpPort, wsPort] = match as RegExpExecArray;
      expect(Number(tcpPort)).to.be.above(0);
      expect(Number(wsPort)).to.be.above(0);

      const sub = await client(`ws://127.0.0.1:${wsPort}/mqtt`, "cmd-sub");
      await sub.subscribeAsync("c/1", { qos: 1 });
      const pub = await client(`mqtt://127.0.0.1:${tcpPort}`, "cmd-pub");
      const received = nextMessage(sub);
      await pub.publishAsync("c/1", ALL_BYTES, { qos: 1 });
      expect((await received).payload.equals(ALL_BYTES)).to.equal(true);

      // Emitting the event runs the handler without delivering a real signal to mocha.
      process.emit("SIGTERM", "SIGTERM");
      expect(await withTimeout(exit, "brokerCommand to resolve")).to.equal(0);
      expect(out.length).to.equal(1, "no verbose lines without --verbose");
      expect(err).to.deep.equal([]);
      expect(process.listenerCount("SIGTERM")).to.equal(sigtermListeners);
    });

    it("exits 1 naming the address when the port is taken", async function () {
      const taken = await occupyPort();
      try {
        const port = portOf(taken);
        const { io, out, err } = capture();
        const sigintListeners = process.listenerCount("SIGINT");
        expect(await brokerCommand(["--port", "0", "--ws-port", String(port)], io)).to.equal(1);
        expect(err.join("")).to.equal(`moonrig broker: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
        expect(out).to.deep.equal([]);
        expect(process.listenerCount("SIGINT")).to.equal(sigintListeners);
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });
  });
});

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

function run(command: string, args: string[]): Spawned {
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

// The real CLI, plus brokerCommand alone in a process that never calls process.exit(),
// so a leaked handle shows up as a process that does not end.
const entryPoints = [
  { name: "dist/cli.js", path: "dist/cli.js" },
  // Per process, so two test runs at once never execute each other's half-written bundle.
  { name: "brokerCommand in its own process", path: `build/test/support/broker-main-${process.pid}.js` },
];

for (const entry of entryPoints) {
  describe(`moonrig broker via ${entry.name}`, function () {
    const occupied: Server[] = [];

    before(async function () {
      if (entry.path.startsWith("build/")) {
        // scripts/build.mjs bundles only *.test.ts, so the stand-in entry point is built here.
        await build({
          entryPoints: [`${ROOT}test/support/broker-main.ts`],
          outfile: `${ROOT}${entry.path}`,
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          packages: "external",
          logLevel: "warning",
        });
      }
      if (!existsSync(`${ROOT}${entry.path}`)) throw new Error(`${entry.path} is missing: run npm run build`);
    });

    after(function () {
      if (entry.path.startsWith("build/")) rmSync(`${ROOT}${entry.path}`, { force: true });
    });

    afterEach(async function () {
      for (const child of children.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      for (const server of occupied.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    function broker(...args: string[]): Spawned {
      return run(process.execPath, [entry.path, "broker", ...args]);
    }

    async function startVerbose(...options: string[]): Promise<{ proc: Spawned; tcpPort: number; wsPort: number; lines: () => string[] }> {
      const proc = broker("--port", "0", "--ws-port", "0", "--verbose", ...options);
      await waitUntil(() => proc.stdout().includes("\n") || proc.child.exitCode !== null, `the banner, stderr: ${proc.stderr()}`);
      expect(proc.child.exitCode, `exited early, stderr ${JSON.stringify(proc.stderr())}`).to.equal(null);
      const [banner = ""] = proc.stdout().split("\n");
      const match = /^moonrig broker: mqtt:\/\/127\.0\.0\.1:(\d+) ws:\/\/127\.0\.0\.1:(\d+)\/mqtt$/.exec(banner);
      expect(match, `banner ${JSON.stringify(banner)}, stderr ${JSON.stringify(proc.stderr())}`).to.not.equal(null);
      const [, tcp, ws] = match as RegExpExecArray;
      const lines = (): string[] => proc.stdout().split("\n").slice(1).filter((line) => line !== "");
      return { proc, tcpPort: Number(tcp), wsPort: Number(ws), lines };
    }

    it("relays between mosquitto_sub and mosquitto_pub, logs each step, and exits 0 on SIGTERM", async function () {
      const { proc, tcpPort, lines } = await startVerbose();
      const port = String(tcpPort);
      const sub = run("mosquitto_sub", ["-h", HOST, "-p", port, "-i", "sub1", "-t", "t/x", "-C", "1", "-W", "10"]);
      await waitUntil(() => lines().includes("subscribe sub1 t/x qos 0"), `mosquitto_sub to subscribe, log ${JSON.stringify(lines())}`);
      const pub = run("mosquitto_pub", ["-h", HOST, "-p", port, "-i", "pub1", "-t", "t/x", "-m", "hello"]);

      expect(await withTimeout(pub.exit, "mosquitto_pub to exit")).to.deep.equal({ code: 0, signal: null });
      expect(await withTimeout(sub.exit, "mosquitto_sub to exit")).to.deep.equal({ code: 0, signal: null });
      expect(sub.stdout()).to.equal("hello\n");
      await waitUntil(() => lines().length >= 6, `six log lines, have ${JSON.stringify(lines())}`);

      const log = lines();
      // Everything up to the publish happened one step at a time; the two disconnects
      // and the publish notice race each other, so only their set is fixed.
      expect(log.slice(0, 3)).to.deep.equal(["connect sub1", "subscribe sub1 t/x qos 0", "connect pub1"]);
      expect(log.slice(3).sort()).to.deep.equal(["disconnect pub1", "disconnect sub1", "publish pub1 t/x 5 bytes qos 0 retain 0"]);

      proc.child.kill("SIGTERM");
      expect(await withTimeout(proc.exit, "the broker to exit after SIGTERM")).to.deep.equal({ code: 0, signal: null });
      expect(proc.stderr()).to.equal("");
      expect(lines()).to.have.length(6);
    });

    it("exits 0 on SIGINT with clients still connected and one that never sent CONNECT", async function () {
      const { proc, tcpPort, wsPort, lines } = await startVerbose();
      // Killed by afterEach: without -C it would wait (and reconnect) forever.
      run("mosquitto_sub", ["-h", HOST, "-p", String(tcpPort), "-i", "lingerer", "-t", "never/#"]);
      const overWs = await connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: "ws-client", reconnectPeriod: 0 }, false);
      overWs.on("error", () => {});
      const silent = connectTcp(tcpPort, HOST);
      silent.on("error", () => {});
      try {
        await waitUntil(() => lines().includes("subscribe lingerer never/# qos 0") && lines().includes("connect ws-client"), `both clients, log ${JSON.stringify(lines())}`);
        proc.child.kill("SIGINT");
        expect(await withTimeout(proc.exit, "the broker to exit after SIGINT")).to.deep.equal({ code: 0, signal: null });
        expect(lines().sort()).to.deep.equal([
          "connect lingerer",
          "connect ws-client",
          "disconnect lingerer",
          "disconnect ws-client",
          "subscribe lingerer never/# qos 0",
        ]);
        expect(proc.stderr()).to.equal("");
      } finally {
        overWs.end(true);
        silent.destroy();
      }
    });

    it("with --password-file and --user, refuses mosquitto clients without or with a wrong password and relays for the right ones", async function () {
      const dir = mkdtempSync(join(tmpdir(), "moonrig-passwd-"));
      try {
        const file = join(dir, "passwd");
        writeFileSync(file, "# accounts\nalice:wonder:land\r\n\nbob:builder\n");
        const { proc, tcpPort, lines } = await startVerbose("--password-file", file, "--user", "carol", "--password", "c4");
        const port = String(tcpPort);
        const refused = "Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n";
        for (const credentials of [[], ["-u", "alice"], ["-u", "alice", "-P", "wonder"], ["-u", "mallory", "-P", "builder"], ["-u", "carol", "-P", "builder"]]) {
          const pub = run("mosquitto_pub", ["-h", HOST, "-p", port, "-i", "intruder", "-t", "t/x", "-m", "x", ...credentials]);
          expect(await withTimeout(pub.exit, "mosquitto_pub to be refused"), credentials.join(" ")).to.deep.equal({ code: 5, signal: null });
          expect(pub.stderr()).to.equal(refused);
        }
        const sub = run("mosquitto_sub", ["-h", HOST, "-p", port, "-i", "sub1", "-u", "bob", "-P", "builder", "-t", "t/x", "-C", "1", "-W", "10"]);
        await waitUntil(() => lines().includes("subscribe sub1 t/x qos 0"), `mosquitto_sub to subscribe, log ${JSON.stringify(lines())}`);
        for (const [user, password] of [["alice", "wonder:land"], ["carol", "c4"]]) {
          const pub = run("mosquitto_pub", ["-h", HOST, "-p", port, "-i", `pub-${user}`, "-u", user as string, "-P", password as string, "-t", "t/x", "-m", `from ${user}`]);
          expect(await withTimeout(pub.exit, "mosquitto_pub to exit")).to.deep.equal({ code: 0, signal: null });
        }
        expect(await withTimeout(sub.exit, "mosquitto_sub to exit")).to.deep.equal({ code: 0, signal: null });
        expect(sub.stdout()).to.equal("from alice\n");
        expect(lines().filter((line) => line.startsWith("connect "))).to.deep.equal(["connect sub1", "connect pub-alice", "connect pub-carol"]);
        proc.child.kill("SIGTERM");
        expect(await withTimeout(proc.exit, "the broker to exit")).to.deep.equal({ code: 0, signal: null });
        expect(proc.stderr()).to.equal("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("refuses a page from another origin over WebSocket with 403 and lets a --ws-origin page in", async function () {
      const { proc, wsPort } = await startVerbose("--ws-origin", "https://dashboard.example");
      const status = (origin: string): Promise<number> => upgradeStatus(`ws://${HOST}:${wsPort}/mqtt`, origin);
      expect(await status("https://evil.example")).to.equal(403);
      expect(await status("http://localhost:8080")).to.equal(403);
      expect(await status("https://dashboard.example")).to.equal(101);
      proc.child.kill("SIGTERM");
      expect(await withTimeout(proc.exit, "the broker to exit")).to.deep.equal({ code: 0, signal: null });
    });

    it("warns on stderr when it would listen on a non-loopback address without accounts", async function () {
      // 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails after the warning,
      // so nothing is ever exposed.
      const proc = broker("--host", "192.0.2.1", "--port", "0", "--ws-port", "0");
      expect(await withTimeout(proc.exit, "exit")).to.deep.equal({ code: 1, signal: null });
      expect(proc.stderr()).to.equal(
        "moonrig broker: warning: listening on 192.0.2.1 without authentication: anyone who can reach it may publish and subscribe (give --user and --password, or --password-file)\n" +
          "moonrig broker: cannot listen on 192.0.2.1:0: address not available (EADDRNOTAVAIL)\n",
      );
      const quiet = broker("--host", "192.0.2.1", "--port", "0", "--ws-port", "0", "--user", "u", "--password", "p");
      expect(await withTimeout(quiet.exit, "exit")).to.deep.equal({ code: 1, signal: null });
      expect(quiet.stderr()).to.equal("moonrig broker: cannot listen on 192.0.2.1:0: address not available (EADDRNOTAVAIL)\n");
    });

    it("exits 2 with a usage message for a bad port, without starting", async function () {
      const proc = broker("--port", "70000");
      expect(await withTimeout(proc.exit, "exit")).to.deep.equal({ code: 2, signal: null });
      expect(proc.stderr()).to.equal(`moonrig broker: --port must be a port number 0..65535, got '70000'\n${USAGE}`);
      expect(proc.stdout()).to.equal("");
    });

    it("exits 2 for an unknown option", async function () {
      const proc = broker("--port", "0", "--wsport", "0");
      expect(await withTimeout(proc.exit, "exit")).to.deep.equal({ code: 2, signal: null });
      expect(proc.stderr()).to.equal(`moonrig broker: unknown option '--wsport'\n${USAGE}`);
      expect(proc.stdout()).to.equal("");
    });

    for (const which of ["--port", "--ws-port"] as const) {
      it(`exits 1 naming the address when ${which} is already in use`, async function () {
        const taken = await occupyPort();
        occupied.push(taken);
        const port = String(portOf(taken));
        const args = which === "--port" ? ["--port", port, "--ws-port", "0"] : ["--port", "0", "--ws-port", port];
        const proc = broker(...args);
        expect(await withTimeout(proc.exit, "exit")).to.deep.equal({ code: 1, signal: null });
        expect(proc.stderr()).to.equal(`moonrig broker: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
        expect(proc.stdout()).to.equal("");
      });
    }
  });
}
