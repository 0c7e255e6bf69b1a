// A pair of connected pseudo-terminals from socat, for tests of serial ports.
import { spawn, type ChildProcess } from "node:child_process";

/** Starts socat and waits for its two pty paths, read from its -d -d log. */
export async function startSocat(): Promise<{ proc: ChildProcess; paths: [string, string] }> {
  const proc = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const paths = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat printed no pty paths: ${log}`)), 5000);
    proc.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const found = [...log.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!);
      if (found.length >= 2 && /starting data transfer loop/.test(log)) {
        clearTimeout(timer);
        resolve([found[0]!, found[1]!]);
      }
    });
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`socat exited with ${code}: ${log}`)));
  });
  return { proc, paths };
}

/**
 * socat opening an existing pty (`path`) in raw mode, its stdin and stdout standing for a
 * program's serial I/O; resolves once socat has the pty open.
 */
export async function openPty(path: string): Promise<ChildProcess> {
  const proc = spawn("socat", ["-d", "-d", "STDIO", `${path},raw,echo=0`], { stdio: ["pipe", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat did not open ${path}: ${log}`)), 5000);
    proc.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("starting data transfer loop")) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once("exit", (code) => reject(new Error(`socat exited with ${code}: ${log}`)));
  });
  return proc;
}
