// `moonrig at-modem`: the AT modem emulator on a serial line, so that a host program (moonrig
// --at PATH, or any MCU-side code under test) can drive MQTT through ESP-AT / W800 commands
// with no module attached. The line is a serial device or pty (--port) or a pty pair this
// command makes itself with socat (--pty); MQTT goes to the embedded broker unless --broker
// says otherwise.
import { spawn, type ChildProcess } from "node:child_process";
import type { Duplex } from "node:stream";
import { startBroker, type RunningBroker } from "./broker.js";
import { parseBrokerUrl, parseMapping, RouteError } from "../mqtt/routing.js";
import { DeviceFileError, readPemFile, type ModemCertificates } from "./device.js";
import { AtModemEmulator } from "../emulator/emulator.js";
import type { AtDialectName } from "../emulator/dialect.js";

export interface AtModemCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface AtModemCommandControl {
  /** Stops the command as SIGINT/SIGTERM would (for embedding and tests). */
  signal?: AbortSignal;
}

const PREFIX = "moonrig at-modem";
const USAGE = "usage: moonrig at-modem [--port PATH | --pty] [--dialect esp-at|w800] [--baud N] [--broker URL|embedded] [--map HOST[:PORT]=URL] [--ca FILE] [--cert FILE] [--key FILE] [--verbose]";
const DEFAULT_BAUD = 115200;
const PTY_TIMEOUT_MS = 5000;

interface AtModemArgs {
  port: string | undefined;
  pty: boolean;
  dialect: AtDialectName;
  baud: number | undefined;
  broker: string | undefined;
  map: Array<[string, string]>;
  certificates: ModemCertificates | undefined;
  verbose: boolean;
  help: boolean;
}

const VALUE_OPTIONS = new Set(["--port", "--dialect", "--baud", "--broker", "--map", "--ca", "--cert", "--key"]);

function parseArgs(argv: readonly string[]): AtModemArgs | { error: string } {
  const args: AtModemArgs = { port: undefined, pty: false, dialect: "esp-at", baud: undefined, broker: undefined, map: [], certificates: undefined, verbose: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (VALUE_OPTIONS.has(name)) {
      if (value === undefined) {
        const next = argv[i + 1];
        // A following option means the value was forgotten, not that it is the value.
        if (next === undefined || next.startsWith("--")) return { error: `${name} needs a value` };
        value = next;
        i++;
      }
    } else if (value !== undefined) {
      return { error: `${name} takes no value` };
    }
    switch (name) {
      case "-h":
      case "--help":
        args.help = true;
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--pty":
        args.pty = true;
        break;
      case "--port":
        if (value === "") return { error: "--port needs a value" };
        args.port = value;
        break;
      case "--dialect":
        if (value !== "esp-at" && value !== "w800") return { error: `--dialect must be esp-at or w800, got '${value}'` };
        args.dialect = value;
        break;
      case "--baud": {
        const text = value as string;
        const baud = Number(text);
        if (!/^\d+$/.test(text) || !Number.isSafeInteger(baud) || baud < 50 || baud > 16000000) return { error: `--baud must be a whole number of baud (50..16000000), got '${text}'` };
        args.baud = baud;
        break;
      }
      case "--broker":
        try {
          if (value !== "embedded") parseBrokerUrl(value as string);
        } catch (error) {
          return { error: (error as Error).message };
        }
        args.broker = value;
        break;
      case "--map":
        try {
          args.map.push(parseMapping(value as string));
        } catch (error) {
          if (error instanceof RouteError) return { error: error.message };
          throw error;
        }
        break;
      // The certificates flashed into the modem: TLS schemes 3-5 and 8-10 use them.
      case "--ca":
      case "--cert":
      case "--key":
        try {
          args.certificates = { ...args.certificates, [name.slice(2)]: readPemFile(name, value as string) };
        } catch (error) {
          if (error instanceof DeviceFileError) return { error: error.message };
          throw error;
        }
        break;
      default:
        return { error: arg.startsWith("-") ? `unknown option '${arg}'` : `unexpected argument '${arg}'` };
    }
  }
  if (args.port !== undefined && args.pty) return { error: "--port and --pty exclude each other" };
  return args;
}

class StartError extends Error {}

/** Runs `socat` to make a pty pair; resolves with both slave paths once it reports them. */
function startSocat(): Promise<{ child: ChildProcess; ours: string; theirs: string }> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      reject(new StartError(`cannot run socat: ${(error as Error).message}`));
      return;
    }
    let text = "";
    let settled = false;
    const finish = (error?: Error, paths?: string[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        child.kill("SIGTERM");
        reject(error);
      } else {
        const [ours, theirs] = paths as [string, string];
        resolve({ child, ours, theirs });
      }
    };
    const timer = setTimeout(() => finish(new StartError(`socat did not report its ptys within ${PTY_TIMEOUT_MS} ms`)), PTY_TIMEOUT_MS);
    child.once("error", (error: NodeJS.ErrnoException) => {
      finish(new StartError(error.code === "ENOENT" ? "--pty needs socat, which is not installed (or not on PATH)" : `cannot run socat: ${error.message}`));
    });
    child.once("exit", (code, signal) => finish(new StartError(`socat exited (${signal ?? `code ${code}`}) before making the ptys: ${text.trim()}`)));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      if (settled) return;
      text += chunk;
      // socat -d -d announces each end as "... N PTY is /dev/pts/7".
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
      if (paths.length >= 2) finish(undefined, paths);
    });
  });
}

async function openSerial(path: string, baudRate: number): Promise<Duplex> {
  let module: typeof import("serialport");
  try {
    module = await import("serialport");
  } catch (error) {
    throw new StartError(`serial ports need the optional 'serialport' package: ${(error as Error).message}`);
  }
  const port = new module.SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((error) => (error ? reject(new StartError(`cannot open ${path}: ${error.message}`)) : resolve()));
  });
  return port;
}

function closeSerial(port: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const closable = port as Duplex & { isOpen?: boolean; close?: (callback: (error?: Error | null) => void) => void };
    if (closable.close && closable.isOpen) closable.close(() => resolve());
    else {
      port.destroy();
      resolve();
    }
  });
}

export async function atModemCommand(argv: string[], io: AtModemCommandIo, control: AtModemCommandControl = {}): Promise<number> {
  const args = parseArgs(argv);
  if ("error" in args) {
    io.stderr(`${PREFIX}: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }

  // Handlers go in before anything starts so a signal during start-up still shuts down
  // cleanly, and come out on the first signal so a second one kills a stuck shutdown.
  let stop!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (stop = resolve));
  const onSignal = (): void => {
    removeHandlers();
    stop(0);
  };
  const removeHandlers = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    control.signal?.removeEventListener("abort", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  if (control.signal?.aborted) onSignal();
  else control.signal?.addEventListener("abort", onSignal);

  let broker: RunningBroker | undefined;
  let socat: ChildProcess | undefined;
  let port: Duplex | undefined;
  let emulator: AtModemEmulator | undefined;
  const log = (line: string): void => io.stderr(`${PREFIX}: ${line}\n`);
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    stopping = true;
    removeHandlers();
    await emulator?.close();
    if (port) await closeSerial(port);
    if (socat && socat.exitCode === null && socat.signalCode === null) socat.kill("SIGTERM");
    await broker?.close();
  };

  try {
    let brokerUrl = args.broker;
    if (brokerUrl === undefined || brokerUrl === "embedded") {
      broker = await startBroker({ verbose: args.verbose, log });
      brokerUrl = broker.tcpUrl;
      log(`embedded broker ${broker.tcpUrl} ${broker.wsUrl}`);
    }
    let path = args.port;
    let announce: string | undefined;
    if (path === undefined) {
      const pair = await startSocat();
      socat = pair.child;
      path = pair.ours;
      announce = pair.theirs;
    }
    port = await openSerial(path, args.baud ?? DEFAULT_BAUD);
    emulator = new AtModemEmulator(port, {
      dialect: args.dialect,
      broker: brokerUrl,
      map: args.map,
      baud: args.baud,
      notice: (line) => io.stderr(`${line}\n`),
      log: args.verbose ? log : undefined,
      tls: args.certificates,
    });
    // A vanished line (device unplugged, socat killed) ends the command with an error.
    const lost = (what: string): void => {
      if (stopping) return;
      log(what);
      stop(1);
    };
    port.once("close", () => lost(`${path} closed`));
    port.on("error", (error: Error) => lost(`${path}: ${error.message}`));
    socat?.once("exit", (code, signal) => lost(`socat exited (${signal ?? `code ${code}`})`));
    emulator.start();
    if (announce !== undefined) io.stdout(`${PREFIX}: ${announce}\n`);
    if (args.verbose) log(`${args.dialect} modem on ${path}${args.baud ? ` at ${args.baud} baud` : ""}`);
  } catch (error) {
    await cleanup();
    io.stderr(`${PREFIX}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  const code = await stopped;
  await cleanup();
  return code;
}
