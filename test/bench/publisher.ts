// The MQTT receive benchmark's publisher, a raw mqtt.js client in a process of its own, so
// that the benchmark process's CPU time is the receiver's alone. Driven over IPC by
// test/bench/mqtt.ts: "connect", then per sample "run" and "allow" (publish up to N).
import mqtt from "mqtt";

export type PublisherCommand =
  | { type: "connect"; url: string }
  | { type: "run"; topic: string; qos: 0 | 1; size: number; count: number }
  | { type: "allow"; upTo: number }
  | { type: "end" };

export type PublisherReport = { type: "connected" } | { type: "running" };

/** Messages published between two yields to the socket. */
const STEP = 200;

let client: mqtt.MqttClient | undefined;
let run: { topic: string; qos: 0 | 1; payload: Buffer; count: number; sent: number; allowed: number; pumping: boolean } | undefined;

const send = (report: PublisherReport): void => void process.send?.(report);

/** Lets the socket write what was queued: mqtt.js waits for "drain" once per packet it could not write. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function pump(): Promise<void> {
  if (!run || run.pumping || !client) return;
  run.pumping = true;
  while (run.sent < Math.min(run.allowed, run.count)) {
    const stop = Math.min(run.allowed, run.count, run.sent + STEP);
    for (; run.sent < stop; run.sent++) client.publish(run.topic, run.payload, { qos: run.qos });
    await flush();
  }
  run.pumping = false;
}

process.on("message", (command: PublisherCommand) => {
  switch (command.type) {
    case "connect":
      void mqtt.connectAsync(command.url, { reconnectPeriod: 0 }).then((c) => {
        client = c;
        send({ type: "connected" });
      });
      break;
    case "run":
      run = { topic: command.topic, qos: command.qos, payload: Buffer.alloc(command.size, 0x5a), count: command.count, sent: 0, allowed: 0, pumping: false };
      send({ type: "running" });
      break;
    case "allow":
      if (run) run.allowed = Math.max(run.allowed, command.upTo);
      void pump();
      break;
    case "end":
      void client?.endAsync().then(() => process.exit(0));
      if (!client) process.exit(0);
      break;
  }
});
