#!/usr/bin/env node
// The `moonrig` command, with both firmwares installed.
import "./flavors.js";
import { runCli } from "../runtime/cli.js";

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`moonrig: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  },
);
