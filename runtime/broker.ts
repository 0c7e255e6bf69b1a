// The embedded MQTT broker: Aedes served over plain TCP and over WebSocket, used in
// process by `--broker embedded` and on its own by `moonrig broker`.
//
// A broker on the user's PC is reachable by more than the user: any web page their browser
// shows can open a WebSocket to it, and --host can put it on the network. So browsers get
// in only from the pages allowed (loopback ones by default), and accounts, when given, are
// required of every client.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, isIP, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { Aedes, type AedesPublishPacket, type Client, type Subscription } from "aedes";
import { WebSocketServer, createWebSocketStream } from "ws";

export interface BrokerOptions {
  host?: string;
  port?: number;
  wsPort?: number;
  verbose?: boolean;
  log?: (line: string) => void;
  /** Accounts (user name → password bytes); when given, every client must present one. */
  users?: ReadonlyMap<string, Uint8Array>;
  /**
   * The page origins (`https://app.example.com:8443`) whose browsers may connect over
   * WebSocket; by default http(s) pages on localhost, 127.0.0.1 and [::1], any port.
   * A connection without an Origin header is not a browser and is always let through.
   */
  wsOrigins?: readonly string[];
}

export interface RunningBroker {
  tcpUrl: string;
  wsUrl: string;
  tcpPort: number;
  wsPort: number;
  close(): Promise<void>;
}

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const DEFAULT_HOST = "127.0.0.1";
const USAGE = "usage: moonrig broker [--port N] [--ws-port N] [--host ADDR] [--user NAME --password PW] [--password-file FILE] [--ws-origin ORIGIN]... [--verbose]";
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An origin as browsers send it: scheme, host and port only, lower case. */
function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.origin === "null" ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

function isLoopbackPage(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK_NAMES.has(url.hostname);
  } catch {
    return false;
  }
}

/** Whether a WebSocket upgrade may proceed; `allowed` holds normalized origins. */
function originAccepted(request: IncomingMessage, allowed: ReadonlySet<string> | undefined): boolean {
  const header = request.headers.origin;
  if (header === undefined) return true;
  if (allowed === undefined) return isLoopbackPage(header);
  const origin = originOf(header);
  return origin !== undefined && allowed.has(origin);
}

function digest(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** Whether an address only this machine can reach: the loopback ones, or localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

// An IPv6 literal needs brackets before a port can follow it.
function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

// Node words listen errors as "listen EADDRINUSE: address already in use 127.0.0.1:1883"
// (or "... not available 192.0.2.1" without a port); the address is already in our own
// message, so keep the human part and the code.
function describeListenError(err: NodeJS.ErrnoException, host: string): string {
  const match = /^\S+ ([A-Z0-9_]+): (.*)$/.exec(err.message);
  if (!match || match[1] !== err.code) return err.message;
  let text = match[2] as string;
  const space = text.lastIndexOf(" ");
  const tail = text.slice(space + 1);
  if (space >= 0 && (tail === host || tail.startsWith(`${host}:`))) text = text.slice(0, space);
  return `${text} (${err.code})`;
}

function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off("listening", onListening);
      reject(new Error(`cannot listen on ${urlHost(host)}:${port}: ${describeListenError(err, host)}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  // The callback gets ERR_SERVER_NOT_RUNNING when listen never succeeded; that is
  // exactly the state close() wants, so it is not an error here.
  return new Promise((resolve) => server.close(() => resolve()));
}

function payloadLength(payload: AedesPublishPacket["payload"]): number {
  return typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
}

function attachLog(aedes: Aedes, log: (line: string) => void): void {
  // "client"/"clientDisconnect" are Aedes' register/unregister pair, so every logged
  // connect gets exactly one disconnect; "client" also fires before the CONNACK is
  // written, so the line is there by the time the client sees itself connected.
  aedes.on("client", (client: Client) => log(`connect ${client.id}`));
  aedes.on("clientDisconnect", (client: Client) => log(`disconnect ${client.id}`));
  aedes.on("subscribe", (subscriptions: Subscription[], client: Client) => {
    for (const sub of subscriptions) log(`subscribe ${client.id} ${sub.topic} qos ${sub.qos}`);
  });
  aedes.on("publish", (packet: AedesPublishPacket, client: Client | null) => {
    // Aedes announces heartbeats, new clients and subscriptions on $SYS; clients may
    // not publish there, so the prefix alone identifies the broker's own chatter.
    if (packet.topic.startsWith("$SYS/")) return;
    const who = client ? client.id : "-";
    const bytes = payloadLength(packet.payload);
    log(`publish ${who} ${packet.topic} ${bytes} bytes qos ${packet.qos} retain ${packet.retain ? 1 : 0}`);
  });
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const host = options.host ?? DEFAULT_HOST;
  const users = options.users;
  // Compared as digests, so neither the length nor the bytes of a password leak in timing.
  const accounts = users && new Map([...users].map(([user, password]) => [user, digest(password)]));
  const aedes = await Aedes.createBroker(
    accounts
      ? {
          authenticate: (_client, username, password, done) => {
            const expected = username === undefined ? undefined : accounts.get(username);
            const ok = expected !== undefined && password !== undefined && timingSafeEqual(expected, digest(password));
            // Refused without an error, Aedes answers CONNACK 5 "not authorized" (as Mosquitto
            // does for a missing and for a wrong password alike) and closes the connection.
            done(null, ok);
          },
        }
      : {},
  );
  if (options.verbose) {
    // stderr by default because an in-process broker shares stdout with the script's print().
    attachLog(aedes, options.log ?? ((line) => process.stderr.write(`${line}\n`)));
  }

  // Aedes only closes clients that finished CONNECT, and upgraded WebSocket sockets are
  // no longer tracked by the HTTP server, so every raw socket is tracked here to make
  // close() complete.
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  const tcpServer = createNetServer((socket) => {
    track(socket);
    aedes.handle(socket);
  });
  const httpServer = createHttpServer((_request, response) => {
    response.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
    response.end("MQTT over WebSocket only\n");
  });
  httpServer.on("connection", track);
  let wss: WebSocketServer | undefined;

  const shutdown = async (): Promise<void> => {
    const serversClosed = Promise.all([closeServer(tcpServer), closeServer(httpServer)]);
    // Closing through Aedes first lets it unregister clients (and log the disconnects)
    // before their sockets vanish underneath it.
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    if (wss) {
      const server = wss;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await serversClosed;
  };

  let tcpPort: number;
  let wsPort: number;
  try {
    tcpPort = await listen(tcpServer, host, options.port ?? 0);
    wsPort = await listen(httpServer, host, options.wsPort ?? 0);
  } catch (err) {
    await shutdown();
    throw err;
  }

  // Created only after listening: the WebSocketServer re-emits the HTTP server's errors,
  // and a listen failure would otherwise surface as an unhandled "error" event.
  const allowedOrigins = options.wsOrigins && new Set(options.wsOrigins.map((origin) => originOf(origin) ?? origin));
  // A refused page gets 403 before the upgrade, so it never talks MQTT at all.
  wss = new WebSocketServer({
    server: httpServer,
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      if (originAccepted(req, allowedOrigins)) done(true);
      else done(false, 403, "Forbidden");
    },
  });
  wss.on("connection", (socket, request) => {
    aedes.handle(createWebSocketStream(socket), request);
  });
  // Accept errors (EMFILE and the like) are transient and must not crash the process;
  // the listening socket stays usable.
  wss.on("error", () => {});
  tcpServer.on("error", () => {});

  let closing: Promise<void> | undefined;
  const hostPart = urlHost(host);
  return {
    tcpUrl: `mqtt://${hostPart}:${tcpPort}`,
    wsUrl: `ws://${hostPart}:${wsPort}/mqtt`,
    tcpPort,
    wsPort,
    close: () => (closing ??= shutdown()),
  };
}

interface BrokerArgs {
  host: string;
  port: number;
  wsPort: number;
  verbose: boolean;
  help: boolean;
  user?: string;
  password?: string;
  passwordFiles: string[];
  wsOrigins: string[];
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseBrokerArgs(argv: string[]): BrokerArgs | { error: string } {
  const args: BrokerArgs = { host: DEFAULT_HOST, port: 1883, wsPort: 8083, verbose: false, help: false, passwordFiles: [], wsOrigins: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    switch (name) {
      case "--verbose":
        if (inline !== undefined) return { error: "--verbose takes no value" };
        args.verbose = true;
        break;
      case "-h":
      case "--help":
        args.help = true;
        break;
      case "--host":
      case "--user":
      case "--password":
      case "--password-file":
      case "--ws-origin":
      case "--port":
      case "--ws-port": {
        let value = inline;
        if (value === undefined) {
          const next = argv[i + 1];
          // A following option means the value was forgotten, not that it is the value.
          if (next === undefined || next.startsWith("--")) return { error: `${name} needs a value` };
          value = next;
          i++;
        }
        if (name === "--host") {
          if (value === "") return { error: "--host needs a value" };
          args.host = value;
          break;
        }
        if (name === "--user") {
          if (value === "" || value.includes(":")) return { error: `--user needs a name without ':', got '${value}'` };
          args.user = value;
          break;
        }
        if (name === "--password") {
          args.password = value;
          break;
        }
        if (name === "--password-file") {
          args.passwordFiles.push(value);
          break;
        }
        if (name === "--ws-origin") {
          if (originOf(value) === undefined) return { error: `--ws-origin needs an origin such as https://example.com:8443, got '${value}'` };
          args.wsOrigins.push(value);
          break;
        }
        const port = parsePort(value);
        if (port === undefined) return { error: `${name} must be a port number 0..65535, got '${value}'` };
        if (name === "--port") args.port = port;
        else args.wsPort = port;
        break;
      }
      default:
        return { error: arg.startsWith("-") ? `unknown option '${arg}'` : `unexpected argument '${arg}'` };
    }
  }
  if ((args.user === undefined) !== (args.password === undefined)) return { error: "--user and --password go together" };
  return args;
}

/**
 * The accounts a password file holds: one `user:password` per line (the password is the
 * rest of the line, bytes as they are); blank lines and lines starting with # are skipped.
 */
export function readPasswordFile(path: string, into: Map<string, Uint8Array>): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let start = 0;
  for (let number = 1; start < bytes.length; number++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let line = bytes.subarray(start, end);
    start = end + 1;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length === 0 || line[0] === 0x23 /* # */) continue;
    const colon = line.indexOf(0x3a);
    if (colon <= 0) throw new Error(`${path}:${number}: expected user:password`);
    addAccount(into, line.subarray(0, colon).toString("utf8"), line.subarray(colon + 1), `${path}:${number}`);
  }
}

function addAccount(accounts: Map<string, Uint8Array>, user: string, password: Uint8Array, where: string): void {
  if (accounts.has(user)) throw new Error(`${where}: user '${user}' is given twice`);
  accounts.set(user, password);
}

export async function brokerCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseBrokerArgs(argv);
  if ("error" in args) {
    io.stderr(`moonrig broker: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  let users: Map<string, Uint8Array> | undefined;
  if (args.user !== undefined || args.passwordFiles.length > 0) {
    users = new Map();
    try {
      if (args.user !== undefined) addAccount(users, args.user, Buffer.from(args.password ?? ""), "--user");
      for (const file of args.passwordFiles) readPasswordFile(file, users);
    } catch (err) {
      io.stderr(`moonrig broker: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
  }
  if (!users && !isLoopbackHost(args.host)) {
    io.stderr(`moonrig broker: warning: listening on ${args.host} without authentication: anyone who can reach it may publish and subscribe (give --user and --password, or --password-file)\n`);
  }

  // Handlers go in before listening so a signal during start-up still shuts down
  // cleanly, and come out on the first signal so a second one kills a stuck shutdown.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (): void => {
    removeHandlers();
    stop();
  };
  const removeHandlers = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let broker: RunningBroker;
  try {
    broker = await startBroker({
      host: args.host,
      port: args.port,
      wsPort: args.wsPort,
      verbose: args.verbose,
      log: (line) => io.stdout(`${line}\n`),
      users,
      wsOrigins: args.wsOrigins.length > 0 ? args.wsOrigins : undefined,
    });
  } catch (err) {
    removeHandlers();
    io.stderr(`moonrig broker: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  io.stdout(`moonrig broker: ${broker.tcpUrl} ${broker.wsUrl}\n`);
  await stopped;
  await broker.close();
  return 0;
}
