// A Runtime wired to in-memory stdout/stderr.
import { Runtime, type RuntimeOptions } from "../../main/index.js";
import { makeProject } from "./project.js";

export interface Captured {
  rt: Runtime;
  stdout(): string;
  stdoutBytes(): Buffer;
  stderr(): string;
  /** Resolves once stdout contains `text` (or rejects after timeoutMs). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * A LuatOS cellular board registers 2 s after boot; tests run with the link up from the
 * start unless they give a delay (netDelayMs: undefined asks for the board's own).
 */
export const TEST_NET_DELAY_MS = 0;

export function captured(options: RuntimeOptions = {}): Captured {
  const out: Uint8Array[] = [];
  let err = "";
  const waiters: Array<() => void> = [];
  const rt = new Runtime({
    ...options,
    device: { netDelayMs: TEST_NET_DELAY_MS, ...options.device },
    stdout: (bytes) => {
      out.push(Uint8Array.from(bytes));
      for (const w of [...waiters]) w();
    },
    stderr: (text) => {
      err += text;
    },
  });
  const stdoutBytes = () => Buffer.concat(out);
  return {
    rt,
    stdoutBytes,
    stdout: () => stdoutBytes().toString(),
    stderr: () => err,
    waitFor(text, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (stdoutBytes().toString().includes(text)) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; stdout so far: ${JSON.stringify(stdoutBytes().toString())}; stderr: ${err}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
}

/** A captured runtime that has run its start-up (the prelude, if any) and takes exec. */
export async function started(options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured(options);
  await c.rt.run();
  return c;
}

/** started() with a fresh project directory holding `files` as the working directory. */
export async function startedIn(files: Record<string, string | Uint8Array>, options: RuntimeOptions = {}): Promise<{ c: Captured; dir: string }> {
  const dir = makeProject(files);
  return { c: await started({ cwd: dir, ...options }), dir };
}
