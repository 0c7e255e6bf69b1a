import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeCerts, type TestCerts } from "./certs.js";
import { freePorts } from "./ports.js";
import { removeTempDir, tempDir } from "./temp.js";

const run = promisify(execFile);

const HOST = "127.0.0.1";
const MOSQUITTO = process.env.MOSQUITTO_BIN ?? "/usr/sbin/mosquitto";
const MOSQUITTO_PASSWD = process.env.MOSQUITTO_PASSWD_BIN ?? "mosquitto_passwd";
// setpriv makes the kernel SIGKILL mosquitto when this process dies, which also
// covers deaths no "exit" handler sees (SIGKILL, OOM, a crashed worker).
const SETPRIV = "/usr/bin/setpriv";
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;
// TCP listeners report EADDRINUSE as text; libwebsockets only says it failed.
const BIND_FAILURE = /Address already in use|Unable to create websockets listener/i;

export interface MosquittoOptions {
  /** Accounts on the `auth` listener; defaults to `{ user: "secret" }`. */
  users?: Record<string, string>;
  /** Make the mTLS listener use the client certificate's CN as the username. */
  mtlsIdentityAsUsername?: boolean;
  /** How long to wait for every listener to accept connections. */
  startTimeoutMs?: number;
  /**
   * For throughput runs: no per-packet debug log (which costs the broker time per message)
   * and no limit on the messages queued for a slow subscriber.
   */
  throughput?: boolean;
}

export interface MosquittoPorts {
  /** Plain MQTT, anonymous. */
  tcp: number;
  /** MQTT over TLS with the test server certificate, no client certificate. */
  tls: number;
  /** MQTT over TLS requiring a client certificate signed by the test CA. */
  mtls: number;
  /** MQTT over WebSocket, anonymous. */
  ws: number;
  /** Plain MQTT, username/password required. */
  auth: number;
}

export type MosquittoUrls = { readonly [K in keyof MosquittoPorts]: string };

export interface Mosquitto {
  readonly host: string;
  readonly ports: Readonly<MosquittoPorts>;
  readonly urls: MosquittoUrls;
  readonly certs: TestCerts;
  readonly users: Readonly<Record<string, string>>;
  /** Temp directory holding the config, password file and nothing else. */
  readonly dir: string;
  readonly configPath: string;
  /** Pid of the current mosquitto process, undefined while stopped. */
  pid(): number | undefined;
  running(): boolean;
  /** SIGTERM and wait for exit (SIGKILL if it lingers). Safe to call twice. */
  stop(): Promise<void>;
  /** Stop, then start again on the same ports and wait until it accepts again. */
  restart(): Promise<void>;
  /**
   * Everything mosquitto logged so far, across restarts, interleaved with
   * "[moonrig harness]" lines (start, ready, exit). Take `log().length` before
   * an action and pass it as `from` to waitForLog to look only at what follows.
   */
  log(): string;
  /** Resolves with the first log line at or after `from` (a log() length) that matches. */
  waitForLog(pattern: RegExp | string, options?: { timeoutMs?: number; from?: number }): Promise<string>;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // "exit" handlers must be synchronous, so there is no graceful SIGTERM here.
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function accepts(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function checkPath(path: string): string {
  // mosquitto splits option values on whitespace.
  if (/\s/.test(path)) throw new Error(`mosquitto cannot use a path containing whitespace: ${path}`);
  return path;
}

function configText(ports: MosquittoPorts, certs: TestCerts, passwordFile: string, identityAsUsername: boolean, throughput: boolean): string {
  const tls = [
    `certfile ${checkPath(certs.paths.serverCert)}`,
    `keyfile ${checkPath(certs.paths.serverKey)}`,
  ];
  // cafile only serves to verify client certificates, so the plain TLS listener
  // goes without one, exactly like a typical device-facing broker.
  const lines = [
    "# Written by test/support/mosquitto.ts; one throw-away broker per test run.",
    "per_listener_settings true",
    // Run as root, mosquitto drops to user 'mosquitto', which cannot read our
    // 0700 temp dirs; naming the current user keeps it as is (and is a no-op
    // when not root). It also keeps setpriv's parent-death signal, which the
    // kernel clears on a uid change.
    `user ${userInfo().username}`,
    "persistence false",
    "log_dest stderr",
    ...(throughput ? ["log_type error", "log_type warning", "log_type notice", "log_type information", "max_queued_messages 0"] : ["log_type all"]),
    "log_timestamp_format %H:%M:%S",
    "connection_messages true",
    "",
    `listener ${ports.tcp} ${HOST}`,
    "socket_domain ipv4",
    "allow_anonymous true",
    "",
    `listener ${ports.tls} ${HOST}`,
    "socket_domain ipv4",
    "allow_anonymous true",
    ...tls,
    "",
    `listener ${ports.mtls} ${HOST}`,
    "socket_domain ipv4",
    "allow_anonymous true",
    ...tls,
    `cafile ${checkPath(certs.paths.ca)}`,
    "require_certificate true",
    `use_identity_as_username ${identityAsUsername ? "true" : "false"}`,
    "",
    `listener ${ports.ws} ${HOST}`,
    "protocol websockets",
    "socket_domain ipv4",
    "allow_anonymous true",
    "",
    `listener ${ports.auth} ${HOST}`,
    "socket_domain ipv4",
    "allow_anonymous false",
    `password_file ${checkPath(passwordFile)}`,
    "",
  ];
  return lines.join("\n");
}

async function writePasswordFile(path: string, users: Record<string, string>): Promise<void> {
  const entries = Object.entries(users);
  if (entries.length === 0) {
    // An empty file is valid and means nobody can log in.
    await writeFile(path, "");
    return;
  }
  let first = true;
  for (const [user, password] of entries) {
    const args = first ? ["-b", "-c", path, user, password] : ["-b", path, user, password];
    first = false;
    try {
      await run(MOSQUITTO_PASSWD, args);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? "";
      throw new Error(`mosquitto_passwd failed for user ${JSON.stringify(user)}: ${stderr || String(err)}`);
    }
  }
}

class StartError extends Error {
  constructor(message: string, readonly bindFailed: boolean) {
    super(message);
  }
}

class MosquittoProcess implements Mosquitto {
  readonly host = HOST;
  readonly urls: MosquittoUrls;
  private child: ChildProcess | undefined;
  private output = "";
  private readonly logListeners = new Set<() => void>();

  constructor(
    readonly ports: Readonly<MosquittoPorts>,
    readonly certs: TestCerts,
    readonly users: Readonly<Record<string, string>>,
    readonly dir: string,
    readonly configPath: string,
    private readonly startTimeoutMs: number,
  ) {
    this.urls = {
      tcp: `mqtt://${HOST}:${ports.tcp}`,
      tls: `mqtts://${HOST}:${ports.tls}`,
      mtls: `mqtts://${HOST}:${ports.mtls}`,
      ws: `ws://${HOST}:${ports.ws}`,
      auth: `mqtt://${HOST}:${ports.auth}`,
    };
  }

  pid(): number | undefined {
    return this.child !== undefined && !hasExited(this.child) ? this.child.pid : undefined;
  }

  running(): boolean {
    return this.pid() !== undefined;
  }

  log(): string {
    return this.output;
  }

  private append(text: string): void {
    this.output += text;
    for (const listener of this.logListeners) listener();
  }

  private note(text: string): void {
    this.append(`[moonrig harness] ${text}\n`);
  }

  waitForLog(pattern: RegExp | string, options: { timeoutMs?: number; from?: number } = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const from = options.from ?? 0;
    const matches = (line: string) => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
    const find = () => this.output.slice(from).split("\n").find(matches);
    return new Promise((resolve, reject) => {
      const found = find();
      if (found !== undefined) return resolve(found);
      const check = () => {
        const line = find();
        if (line === undefined) return;
        cleanup();
        resolve(line);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`mosquitto log did not show ${String(pattern)} within ${timeoutMs} ms\n--- mosquitto log ---\n${this.output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.logListeners.delete(check);
      };
      this.logListeners.add(check);
    });
  }

  /** One launch attempt; rejects with StartError if mosquitto dies or never accepts. */
  async launch(): Promise<void> {
    installExitHook();
    const [command, args] = existsSync(SETPRIV)
      ? [SETPRIV, ["--pdeathsig", "KILL", MOSQUITTO, "-c", this.configPath]]
      : [MOSQUITTO, ["-c", this.configPath]];
    const logStart = this.output.length;
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    children.add(child);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => this.append(chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => this.append(chunk));
    let spawnError: Error | undefined;
    child.once("error", (err) => {
      spawnError = err;
      this.note(`cannot start ${command}: ${err.message}`);
    });
    child.once("exit", (code, signal) => {
      children.delete(child);
      this.note(`mosquitto pid ${child.pid ?? "?"} exited (code ${code ?? "-"}, signal ${signal ?? "-"})`);
    });

    const deadline = Date.now() + this.startTimeoutMs;
    const ports = Object.values(this.ports);
    for (;;) {
      if (spawnError !== undefined || hasExited(child)) {
        // Give the pipes a moment to deliver mosquitto's last words.
        await delay(20);
        const output = this.output.slice(logStart);
        throw new StartError(
          `mosquitto exited during start-up\n--- mosquitto log ---\n${output}`,
          BIND_FAILURE.test(output),
        );
      }
      // "running" is printed after every listener is bound, so a probe that
      // reaches some other process which grabbed the port first cannot fool us.
      if (this.output.slice(logStart).match(/mosquitto version \S+ running/)) {
        const results = await Promise.all(ports.map((port) => accepts(port, 250)));
        if (results.every(Boolean) && !hasExited(child)) {
          // The probes leave "New connection"/OpenSSL lines behind; this marks where they end.
          this.note(`ready: ${ports.join(", ")} accept connections`);
          return;
        }
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await waitForExit(child);
        throw new StartError(
          `mosquitto did not accept connections on ${ports.join(", ")} within ${this.startTimeoutMs} ms` +
            `\n--- mosquitto log ---\n${this.output.slice(logStart)}`,
          false,
        );
      }
      await delay(25);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || hasExited(child)) return;
    const exited = waitForExit(child);
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.note("restarting on the same ports");
    // mosquitto sets SO_REUSEADDR, so TIME_WAIT should not block the rebind; the
    // retry covers anything else briefly holding a port (e.g. a slow exit).
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (!(err instanceof StartError && err.bindFailed) || Date.now() > deadline) throw err;
        await delay(100);
      }
    }
  }
}

/**
 * Starts a private mosquitto on free 127.0.0.1 ports with five listeners
 * (tcp, tls, mtls, ws, auth) and resolves once every one accepts connections.
 * Always pair with `stop()` (e.g. in `after`); a forgotten broker is still
 * killed when the test process exits.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const users = { ...(options.users ?? { user: "secret" }) };
  const certs = await makeCerts();
  const dir = tempDir("mosquitto");
  const passwordFile = join(dir, "passwd");
  await writePasswordFile(passwordFile, users);
  const configPath = join(dir, "mosquitto.conf");

  // Ports are only reserved while probed, so another process can take one before
  // mosquitto binds it; a fresh set of ports fixes that.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [tcp, tls, mtls, ws, auth] = (await freePorts(5, HOST)) as [number, number, number, number, number];
    const ports: MosquittoPorts = { tcp, tls, mtls, ws, auth };
    await writeFile(configPath, configText(ports, certs, passwordFile, options.mtlsIdentityAsUsername ?? false, options.throughput ?? false));
    const broker = new MosquittoProcess(ports, certs, users, dir, configPath, options.startTimeoutMs ?? START_TIMEOUT_MS);
    try {
      await broker.launch();
      return broker;
    } catch (err) {
      lastError = err;
      if (!(err instanceof StartError && err.bindFailed)) break;
    }
  }
  removeTempDir(dir);
  throw lastError;
}
