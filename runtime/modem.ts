// The AT modem a run talks to (--at PATH or --at emulator): opened on first use, shared by
// every client of the run, closed with the runtime. A real modem keeps running across the
// device's simulated reboots, so it belongs to the runtime, not to a boot.
import type { Duplex } from "node:stream";
import type { Runtime } from "./runtime.js";
import { AtDriver, type AtDialect, type AtDriverOptions } from "../modem/driver.js";
import type { AtModemAccess } from "../mqtt/at.js";

export interface AtModem {
  readonly driver: AtDriver;
  readonly dialect: AtDialect;
  close(): Promise<void>;
}

/** How the run talks to its modem, where the defaults (ESP-AT's documented timings) do not fit. */
export interface AtModemSettings {
  driver?: Omit<AtDriverOptions, "dialect">;
  /** `AT` attempts at start-up before the modem counts as silent (default 10). */
  handshakeAttempts?: number;
  /** How long each start-up `AT` waits (default 1000 ms). */
  handshakeAttemptMs?: number;
}

const modems = new WeakMap<Runtime, Promise<AtModem>>();
const settings = new WeakMap<Runtime, AtModemSettings>();
/** A lost modem's port being let go: the next open waits for it (a serial port is locked until then). */
const releasing = new WeakMap<Runtime, Promise<void>>();
/** The last reason a modem could not be opened, per run: told once, not at every retry. */
const lastFailure = new WeakMap<Runtime, string>();
const closedWithRun = new WeakSet<Runtime>();

/** Printable form of modem traffic for --trace: one line per line on the wire. */
function traceText(bytes: Buffer): string[] {
  return bytes.toString("latin1").split(/(?<=\n)/).map((part) => part.replace(/[^\x20-\x7e]/g, (c) => (c === "\r" ? "\\r" : c === "\n" ? "\\n" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)));
}

/** Settings for the run's modem, used the next time it is opened (for embedders and tests). */
export function configureAtModem(runtime: Runtime, value: AtModemSettings): void {
  settings.set(runtime, value);
}

/** Tells the developer why the modem cannot be used: once, not at every retry. */
function tell(runtime: Runtime, reason: string): void {
  const message = `moonrig: AT modem ${runtime.options.at}: ${reason}\n`;
  if (lastFailure.get(runtime) === message) return;
  lastFailure.set(runtime, message);
  runtime.stderr(message);
}

async function open(runtime: Runtime): Promise<AtModem> {
  await releasing.get(runtime);
  const own = settings.get(runtime) ?? {};
  const target = runtime.options.at as string;
  const dialect: AtDialect = runtime.options.atDialect ?? "esp-at";
  const baud = runtime.options.baud ?? 115200;
  let stream: Duplex;
  let emulator: { close(): Promise<void> } | undefined;
  if (target === "emulator") {
    const [{ createLinkPair }, { AtModemEmulator }] = await Promise.all([import("../modem/link.js"), import("../emulator/index.js")]);
    const [host, device] = createLinkPair(runtime.options.baud ? { baud } : {});
    // The host side already routed the script's host; the emulator connects where told.
    const modem = new AtModemEmulator(device, { dialect, route: (url) => url, lookup: runtime.options.lookup, tls: runtime.options.atCertificates });
    modem.start();
    emulator = modem;
    stream = host;
  } else {
    const { openSerialPort } = await import("../modem/serial.js");
    stream = await openSerialPort(target, baud);
  }
  const driver = new AtDriver(stream, { ...own.driver, dialect });
  if (runtime.options.trace) {
    driver.onTrace((direction, bytes) => {
      for (const line of traceText(bytes)) runtime.stderr(`moonrig: at ${direction === "out" ? "->" : "<-"} ${line}\n`);
    });
  }
  try {
    await driver.handshake({ attempts: own.handshakeAttempts, attemptTimeoutMs: own.handshakeAttemptMs });
  } catch (error) {
    // Let go of the port, so that the next attempt can open it again.
    await driver.close();
    await emulator?.close();
    throw error;
  }
  driver.onUrc((urc) => {
    // A modem that rebooted has echo on and SYSLOG off again.
    if (urc.type === "ready") driver.handshake().catch(() => undefined);
  });
  return {
    driver,
    dialect,
    async close() {
      await driver.close();
      await emulator?.close();
    },
  };
}

/** The run's modem, opened (and handshaken) on the first call. */
export function modemFor(runtime: Runtime): Promise<AtModem> {
  let modem = modems.get(runtime);
  if (!modem) {
    modem = open(runtime);
    modems.set(runtime, modem);
    // The script only sees a failed connect (-5, error("connect")); its developer is told
    // why on stderr. The next connect tries again: the port may be plugged in meanwhile.
    const opened = modem;
    opened.then(
      (m) => {
        // A port that goes away or a modem that stops answering mid-run: the clients hear
        // it from the driver; the run lets the port go and opens it afresh on the next
        // connect, as it does after a failed start.
        m.driver.onClose((error) => {
          if (modems.get(runtime) !== opened) return;
          modems.delete(runtime);
          tell(runtime, error.message);
          releasing.set(runtime, m.close().catch(() => undefined));
        });
      },
      (error: unknown) => {
        if (modems.get(runtime) === opened) modems.delete(runtime);
        tell(runtime, error instanceof Error ? error.message : String(error));
      },
    );
    if (!closedWithRun.has(runtime)) {
      closedWithRun.add(runtime);
      runtime.onClose(async () => {
        const open = modems.get(runtime);
        modems.delete(runtime);
        await (await open?.catch(() => undefined))?.close();
        await releasing.get(runtime);
      });
    }
  }
  return modem;
}

const accesses = new WeakMap<Runtime, AtModemAccess>();

/** The run's modem as the AT MQTT transport uses it: one per run, so its clients share the link. */
export function atModemAccess(runtime: Runtime): AtModemAccess {
  let access = accesses.get(runtime);
  if (!access) {
    access = {
      open: () => modemFor(runtime),
      fallbackClientId: `moonrig_${(runtime.options.device?.chipId ?? 0xc0ffee).toString(16)}`,
      warn: (text) => runtime.stderr(text),
    };
    accesses.set(runtime, access);
  }
  return access;
}
