// Drives the built CLI inside a real pseudo-terminal: a private tmux server per session,
// keys sent with send-keys, the screen read back with capture-pane.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI } from "./cli.js";

export const REPO_ROOT = join(dirname(CLI), "..");

let counter = 0;

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface TmuxOptions {
  /** Variables for the CLI process; `undefined` removes one from the environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  width?: number;
  height?: number;
}

export class TmuxSession {
  private readonly socket: string;
  private alive = true;
  private readonly socketPath: string;

  /**
   * Starts `moonrig ARGS` (the bin launcher) in a fresh tmux server. When the CLI ends, the pane shows
   * `exit=STATUS` and stays open so the status can be read.
   */
  constructor(args: readonly string[], options: TmuxOptions = {}) {
    this.socket = `moonrig-repl-${process.pid}-${++counter}`;
    const env = options.env ?? {};
    const unset = Object.entries(env).filter(([, value]) => value === undefined).flatMap(([name]) => ["-u", name]);
    const set = Object.entries(env).filter(([, value]) => value !== undefined).map(([name, value]) => `${name}=${value as string}`);
    const cli = ["env", ...unset, ...set, process.execPath, CLI, ...args].map(quote).join(" ");
    const command = `${cli}; echo "exit=$?"; sleep 60`;
    this.tmux(["new-session", "-d", "-x", String(options.width ?? 120), "-y", String(options.height ?? 40), "-c", options.cwd ?? REPO_ROOT, command]);
    this.socketPath = this.tmux(["display-message", "-p", "#{socket_path}"]).trim();
  }

  private tmux(args: readonly string[]): string {
    return execFileSync("tmux", ["-f", "/dev/null", "-L", this.socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Types text literally (no key-name interpretation). */
  type(text: string): void {
    this.tmux(["send-keys", "-l", text]);
  }

  /** Sends named keys: Enter, Up, C-c, C-d, ... */
  keys(...keys: string[]): void {
    this.tmux(["send-keys", ...keys]);
  }

  /** The screen, one string per row, trailing spaces kept, empty rows at the bottom dropped. */
  screen(): string[] {
    const lines = this.tmux(["capture-pane", "-p", "-N"]).split("\n");
    while (lines.length > 0 && (lines[lines.length - 1] as string).trim() === "") lines.pop();
    return lines.map((line) => line.replace(/ +$/, (spaces) => (line.trim() === "" ? "" : spaces)));
  }

  /** Polls until the screen satisfies `check`; fails with the last screen after `timeoutMs`. */
  async waitFor(check: (lines: string[]) => boolean, what: string, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let lines = this.screen();
    while (!check(lines)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; screen was:\n${lines.map((line) => `|${line}|`).join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      lines = this.screen();
    }
    return lines;
  }

  /** Waits until the whole screen is exactly `expected` (rows, trailing spaces included). */
  async expectScreen(expected: readonly string[], timeoutMs = 5000): Promise<void> {
    const want = JSON.stringify(expected);
    await this.waitFor((lines) => JSON.stringify(lines) === want, `the screen:\n${expected.map((line) => `|${line}|`).join("\n")}`, timeoutMs);
  }

  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    try {
      this.tmux(["kill-server"]);
    } catch {
      // already gone
    }
    // tmux leaves its socket file behind.
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }
}
