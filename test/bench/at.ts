// AT modem throughput through the emulator paced at 115200 baud: AT+MQTTPUBRAW payload
// bytes/s against the serial line rate, and +MQTTSUBRECV payload bytes/s received.
import mqtt from "mqtt";
import { startBroker } from "../../runtime/broker.js";
import { createLinkPair } from "../../modem/link.js";
import { AtModemEmulator } from "../../emulator/index.js";
import { AtDriver } from "../../modem/driver.js";
import { buildAtCommand } from "../../modem/escape.js";
import type { Benchmark } from "./bench.js";

const BAUD = 115200;
/** 8N1: ten bits on the line per byte. */
const LINE_BYTES_PER_SECOND = BAUD / 10;
const PAYLOAD = 4096;
const MESSAGES = 12;

export const atBenchmark: Benchmark = async () => {
  const broker = await startBroker({});
  const [host, device] = createLinkPair({ baud: BAUD });
  const modem = new AtModemEmulator(device, { dialect: "esp-at", route: (url) => url });
  modem.start();
  const driver = new AtDriver(host, { dialect: "esp-at" });
  const watcher = await mqtt.connectAsync(broker.tcpUrl, { reconnectPeriod: 0 });
  try {
    await driver.handshake();
    await driver.send(buildAtCommand("AT+MQTTUSERCFG", [0, 1, "bench", "", "", 0, 0, ""]));
    await driver.send(buildAtCommand("AT+MQTTCONN", [0, "127.0.0.1", broker.tcpPort, 0]));
    const payload = Buffer.alloc(PAYLOAD, 0xa5);

    const started = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      await driver.send(buildAtCommand("AT+MQTTPUBRAW", [0, "bench/up", PAYLOAD, 0, 0]), { data: payload });
    }
    const publishRate = (MESSAGES * PAYLOAD) / ((performance.now() - started) / 1000);

    await driver.send(buildAtCommand("AT+MQTTSUB", [0, "bench/down", 0]));
    let received = 0;
    const all = new Promise<void>((resolve) => driver.onUrc((urc) => {
      if (urc.type === "subrecv" && (received += urc.payload.length) >= MESSAGES * PAYLOAD) resolve();
    }));
    const receiveStarted = performance.now();
    for (let i = 0; i < MESSAGES; i++) watcher.publish("bench/down", payload, { qos: 0 });
    await all;
    const receiveRate = received / ((performance.now() - receiveStarted) / 1000);
    const kib = (bytesPerSecond: number) => `${(bytesPerSecond / 1024).toFixed(2)} KiB/s`;
    return [
      { name: "AT+MQTTPUBRAW publish, 4 KiB payloads, 115200 baud", moonrig: kib(publishRate), baseline: `${kib(LINE_BYTES_PER_SECOND)} line rate`, ratio: publishRate / LINE_BYTES_PER_SECOND, target: { op: ">=", value: 0.9 } },
      { name: "+MQTTSUBRECV receive, 4 KiB payloads, 115200 baud", moonrig: kib(receiveRate), baseline: `${kib(LINE_BYTES_PER_SECOND)} line rate`, ratio: receiveRate / LINE_BYTES_PER_SECOND },
    ];
  } finally {
    await watcher.endAsync();
    await driver.close();
    await modem.close();
    await broker.close();
  }
};
