// `moonrig broker` with nothing else of the CLI around it. test/broker.test.ts runs it
// beside dist/cli.js because it only ever sets process.exitCode: if brokerCommand left
// a socket or timer behind, this process would not exit and the test would see it,
// whereas a CLI that calls process.exit() would hide the leak.
import { brokerCommand } from "../../runtime/broker.js";

if (process.argv[2] === "broker") {
  process.exitCode = await brokerCommand(process.argv.slice(3), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
} else {
  process.stderr.write("usage: node broker-main.js broker [OPTIONS]\n");
  process.exitCode = 2;
}
