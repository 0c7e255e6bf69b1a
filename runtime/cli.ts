// The `moonrig` command: a thin layer that turns arguments into Runtime options.
import { readFileSync, writeFileSync } from "node:fs";
import { Runtime, ScriptError, type RuntimeOptions } from "./runtime.js";
import { LuaFailure } from "./board.js";
import { FLAVORS, type FlavorChoice } from "./flavors.js";
import { parseBrokerUrl, parseMapping, RouteError } from "../mqtt/routing.js";
import { readDeviceFile, readPemFile, DeviceFileError } from "./device.js";
import { outputTo, standardDescriptor, type Output } from "./stdio.js";
import { parseUartLink, parseUartOption, UartLinkError } from "./uart-links.js";

const USAGE = `usage: moonrig [options] [SCRIPT.lua | PROJECT_DIR] [-- ARGS...]
       moonrig broker [--port N] [--ws-port N] [--host ADDR] [--user NAME --password PW] [--password-file FILE] [--ws-origin ORIGIN]... [--verbose]
       moonrig init [--flavor nodemcu|luatos] [DIR]
       moonrig at-modem [--port PATH | --pty] [--dialect esp-at|w800] [--baud N] [--broker URL|embedded] [--map HOST[:PORT]=URL] [--ca FILE] [--cert FILE] [--key FILE] [--verbose]
options:
  -e CHUNK                 run CHUNK before the script (repeatable)
  -i                       enter the REPL after the script's main chunk
  --flavor nodemcu|luatos|auto
  --broker URL|embedded    send every MQTT connection to URL
  --map HOST[:PORT]=URL    redirect one host (repeatable)
  --at PATH|emulator       route MQTT through an AT modem
  --baud N                 serial speed for --at (default 115200)
  --at-dialect esp-at|w800 modem dialect (default esp-at)
  --at-ca FILE, --at-cert FILE, --at-key FILE
                           PEM files flashed into the --at emulator (TLS)
  --entry PATH             the project's entry file (default: init.lua or main.lua, at the top or the one in a subfolder)
  --run-for SECONDS        stop after SECONDS and exit 0 (even in a loop that never ends)
  --keep-going             report errors in callbacks and carry on
  --trace                  print every MQTT packet on stderr
  --device FILE            JSON describing the simulated device
  --fs DIR                 the device's flash file system
  --lfs DIR                NodeMCU: the Lua Flash Store image, one module per .lua file (default: the project's lfs/)
  --screenshot FILE        when the run ends, write what the display shows as a PNG
  --uart ID=pty|pty:PATH|tcp:PORT
                           join the script's UART ID to a new pty (needs socat) or to 127.0.0.1:PORT (repeatable)
  --console pty|pty:PATH|tcp:PORT
                           UART 0 as the board's serial console there (NodeMCU: Lua prompt,
                           echo, print output, with no script boots init.lua from --fs;
                           LuatOS: the REPL)
  -h, --help               show this help
  -v, --version            show the version
`;

class UsageError extends Error {}

interface CliCommand {
  options: RuntimeOptions;
  script: string | undefined;
  /** --screenshot: where the display's last picture goes when the run ends. */
  screenshot: string | undefined;
  interactive: boolean;
  help: boolean;
  version: boolean;
}

const VALUE_OPTIONS = new Set(["-e", "--flavor", "--broker", "--map", "--at", "--baud", "--at-dialect", "--at-ca", "--at-cert", "--at-key", "--entry", "--run-for", "--device", "--fs", "--lfs", "--uart", "--console", "--screenshot"]);
const CERTIFICATE_OPTIONS = { "--at-ca": "ca", "--at-cert": "cert", "--at-key": "key" } as const;

export function parseArguments(argv: readonly string[]): CliCommand {
  const prelude: string[] = [];
  const map: Array<[string, string]> = [];
  const options: RuntimeOptions = {};
  const command: CliCommand = { options, script: undefined, screenshot: undefined, interactive: false, help: false, version: false };
  let i = 0;
  const valueOf = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`option '${name}' needs an argument`);
    return value;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      command.script = arg;
      i++;
      break;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (inline !== undefined && !VALUE_OPTIONS.has(name)) throw new UsageError(`option '${name}' takes no argument`);
    switch (name) {
      case "-e": prelude.push(valueOf(name, inline)); break;
      case "-i": command.interactive = true; break;
      case "-h": case "--help": command.help = true; break;
      case "-v": case "--version": command.version = true; break;
      case "--keep-going": options.keepGoing = true; break;
      case "--trace": options.trace = true; break;
      case "--flavor": {
        const flavor = valueOf(name, inline);
        if (!(FLAVORS as readonly string[]).includes(flavor)) throw new UsageError(`--flavor must be nodemcu, luatos or auto, got '${flavor}'`);
        options.flavor = flavor as FlavorChoice;
        break;
      }
      case "--broker": {
        const broker = valueOf(name, inline);
        if (broker !== "embedded") parseBrokerUrl(broker);
        options.broker = broker;
        break;
      }
      case "--map": map.push(parseMapping(valueOf(name, inline))); break;
      case "--at": options.at = valueOf(name, inline); break;
      case "--baud": options.baud = positiveNumber(name, valueOf(name, inline), true); break;
      case "--at-dialect": {
        const dialect = valueOf(name, inline);
        if (dialect !== "esp-at" && dialect !== "w800") throw new UsageError(`--at-dialect must be esp-at or w800, got '${dialect}'`);
        options.atDialect = dialect;
        break;
      }
      case "--at-ca": case "--at-cert": case "--at-key":
        options.atCertificates = { ...options.atCertificates, [CERTIFICATE_OPTIONS[name]]: readPemFile(name, valueOf(name, inline)) };
        break;
      case "--entry": options.entry = valueOf(name, inline); break;
      case "--run-for": options.runFor = positiveNumber(name, valueOf(name, inline), false); break;
      case "--device": options.device = readDeviceFile(valueOf(name, inline)); break;
      case "--fs": options.fs = valueOf(name, inline); break;
      case "--lfs": options.lfs = valueOf(name, inline); break;
      case "--screenshot": command.screenshot = valueOf(name, inline); break;
      case "--uart": {
        const text = valueOf(name, inline);
        let id: number;
        try {
          [id] = parseUartOption(text);
        } catch (error) {
          if (error instanceof UartLinkError) throw new UsageError(error.message);
          throw error;
        }
        if (options.uart?.[id] !== undefined) throw new UsageError(`--uart ${id} is given twice`);
        options.uart = { ...options.uart, [id]: text.slice(text.indexOf("=") + 1) };
        break;
      }
      case "--console": {
        const text = valueOf(name, inline);
        try {
          parseUartLink(0, text);
        } catch (error) {
          if (error instanceof UartLinkError) throw new UsageError(`--console: ${error.message.replace(/^uart 0: /, "")}`);
          throw error;
        }
        options.console = text;
        break;
      }
      default: throw new UsageError(`unknown option '${name}'`);
    }
  }
  // --entry names a file of a project folder: the current one when none is given.
  if (options.entry !== undefined && command.script === undefined) command.script = ".";
  // A real modem verifies with what is flashed into it; only the emulator can be told.
  if (options.atCertificates && options.at !== "emulator") throw new UsageError("--at-ca, --at-cert and --at-key need --at emulator");
  options.args = argv.slice(i);
  if (prelude.length > 0) options.prelude = prelude;
  if (map.length > 0) options.map = map;
  return command;
}

function positiveNumber(name: string, text: string, integer: boolean): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name} expects a ${integer ? "whole " : ""}number, got '${text}'`);
  }
  return value;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Runs the command line `argv` (without node and the script) to its exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  if (argv[0] === "broker") {
    const { brokerCommand } = await import("./broker.js");
    return brokerCommand(argv.slice(1), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
  }
  if (argv[0] === "init") {
    const { initCommand } = await import("./init.js");
    return initCommand(argv.slice(1), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
  }
  if (argv[0] === "at-modem") {
    const { atModemCommand } = await import("./at-modem.js");
    return atModemCommand(argv.slice(1), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
  }
  let command: CliCommand;
  try {
    command = parseArguments(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RouteError || error instanceof DeviceFileError) {
      process.stderr.write(`moonrig: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (command.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.version) {
    process.stdout.write(`moonrig ${version()}\n`);
    return 0;
  }
  const { options } = command;
  // A console is the session: without a script the board boots from its flash and waits there.
  const bare = command.script === undefined && !options.prelude && options.console === undefined;
  const stdinScript = command.script === "-" || (bare && !command.interactive && !process.stdin.isTTY);
  const interactive = command.interactive || (bare && !stdinScript);
  type Repl = import("./repl.js").Repl;
  let repl: Repl | undefined;
  // The REPL's readline writes through process.stdout: in a session everything does.
  // Output nobody reads any more ends the run quietly (exit 0), like SIGPIPE ends a Unix tool.
  const readerGone = (): never => process.exit(0);
  const out: Output = interactive ? (data) => void process.stdout.write(data) : outputTo(standardDescriptor(1, readerGone));
  const err: Output = interactive ? (data) => void process.stderr.write(data) : outputTo(standardDescriptor(2, readerGone));
  options.stdout = (bytes) => (repl ? repl.output(bytes) : out(bytes));
  options.stderr = (text) => (repl ? repl.output(Buffer.from(text)) : err(text));
  // Such a board sees its flash and nothing else, as a real one does.
  if (options.console !== undefined && command.script === undefined && options.fs !== undefined) options.cwd = options.fs;
  if (stdinScript) options.prelude = [...(options.prelude ?? []), readFileSync(0, "latin1")];
  const runtime = new Runtime(options);
  // The REPL module loads asynchronously: keep an idle script from ending the run meanwhile.
  const releaseStart = interactive ? runtime.loop.hold() : undefined;
  try {
    await runtime.run(stdinScript ? undefined : command.script);
  } catch (error) {
    if (error instanceof ScriptError) {
      err(`moonrig: ${error.message}\n`);
      await runtime.close();
      return 2;
    }
    if (!(error instanceof LuaFailure)) throw error;
  }
  if (interactive && !runtime.exited) {
    const { Repl } = await import("./repl.js");
    repl = new Repl(runtime);
    releaseStart?.();
    await repl.run();
    repl = undefined;
    await runtime.close();
  }
  releaseStart?.();
  const code = await runtime.finished;
  saveScreenshot(runtime, command.screenshot, err);
  await runtime.close();
  return code;
}

/** --screenshot FILE: what the display shows as the run ends, as a PNG (each pixel 4 × 4). */
function saveScreenshot(runtime: Runtime, file: string | undefined, err: Output): void {
  if (file === undefined) return;
  const png = runtime.device.screenshot(4);
  if (!png) return err(`moonrig: --screenshot: the device has no display (place one with --device, e.g. {"i2c": [{"chip": "ssd1306"}]})\n`);
  try {
    writeFileSync(file, png);
  } catch (error) {
    err(`moonrig: --screenshot: cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
  }
}
