// Placeholder replaced by the REPL implementation.
import type { Runtime } from "./runtime.js";

export class Repl {
  constructor(private readonly runtime: Runtime) {}
  output(bytes: Uint8Array): void {
    process.stdout.write(bytes);
  }
  async run(): Promise<void> {
    void this.runtime;
  }
}
