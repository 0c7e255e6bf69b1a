import { expect } from "chai";
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";

// Every client here fails fast instead of retrying, so a refused connection
// shows up as one error rather than a reconnect loop that hits the timeout.
const NO_RETRY: IClientOptions = { reconnectPeriod: 0, connectTimeout: 3000 };

type ConnectError = Error & { code?: string | number };

function open(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { ...NO_RETRY, ...options });
    client.once("connect", () => resolve(client));
    client.once("error", (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Resolves with the error (or a synthetic one on a bare close) of a connection that must not succeed. */
function refusal(url: string, options: IClientOptions = {}): Promise<ConnectError> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { ...NO_RETRY, ...options });
    client.once("connect", () => {
      client.end(true);
      reject(new Error(`${url} accepted a connection that should have been refused`));
    });
    client.once("error", (err: ConnectError) => {
      client.end(true);
      resolve(err);
    });
    client.once("close", () => {
      // Give a pending "error" (e.g. a TLS alert) the chance to arrive first.
      setTimeout(() => resolve(Object.assign(new Error("closed without CONNACK"), { code: "CLOSED" })), 50);
    });
  });
}

function close(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}

let topicCounter = 0;

/** Subscribes, publishes to itself and checks the message comes back intact. */
async function roundTrip(client: MqttClient): Promise<void> {
  const topic = `moonrig/harness/${process.pid}/${++topicCounter}`;
  const payload = `hello ${topicCounter}`;
  const received = new Promise<string>((resolve) => {
    client.on("message", (t, message) => {
      if (t === topic) resolve(message.toString());
    });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  await client.publishAsync(topic, payload, { qos: 1 });
  expect(await received).to.equal(payload);
}

describe("mosquitto test harness", function () {
  let broker: Mosquitto;

  before(async function () {
    broker = await startMosquitto({ users: { alice: "wonderland", user: "secret" } });
  });

  after(async function () {
    await broker?.stop();
  });

  it("listens on five distinct 127.0.0.1 ports, none of them 1883", function () {
    const ports = Object.values(broker.ports);
    expect(new Set(ports).size).to.equal(5);
    expect(ports).to.not.include(1883);
    expect(broker.urls.tcp).to.equal(`mqtt://127.0.0.1:${broker.ports.tcp}`);
    expect(broker.urls.tls).to.equal(`mqtts://127.0.0.1:${broker.ports.tls}`);
    expect(broker.urls.ws).to.equal(`ws://127.0.0.1:${broker.ports.ws}`);
  });

  it("plain TCP: publish/subscribe anonymously", async function () {
    const client = await open(broker.urls.tcp);
    try {
      await roundTrip(client);
    } finally {
      await close(client);
    }
    expect(broker.log()).to.match(/New client connected from 127\.0\.0\.1/);
  });

  it("TLS: publish/subscribe with the server certificate verified against the test CA", async function () {
    const client = await open(broker.urls.tls, { ca: broker.certs.ca, rejectUnauthorized: true });
    try {
      await roundTrip(client);
    } finally {
      await close(client);
    }
  });

  it("TLS: verification fails against an unrelated CA", async function () {
    const err = await refusal(broker.urls.tls, { ca: broker.certs.otherCa, rejectUnauthorized: true });
    expect(err.code).to.be.oneOf(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN"]);
  });

  it("mTLS: publish/subscribe with a client certificate", async function () {
    const client = await open(broker.urls.mtls, {
      ca: broker.certs.ca,
      cert: broker.certs.clientCert,
      key: broker.certs.clientKey,
    });
    try {
      await roundTrip(client);
    } finally {
      await close(client);
    }
  });

  it("mTLS: a client without a certificate is refused", async function () {
    const err = await refusal(broker.urls.mtls, { ca: broker.certs.ca });
    // TLS 1.3 finishes the client side of the handshake before the server checks
    // for a certificate, so the refusal arrives as an alert or a reset.
    expect(String(err.code)).to.match(/CERTIFICATE_REQUIRED|ECONNRESET|EPIPE/);
  });

  it("WebSocket: publish/subscribe anonymously", async function () {
    const client = await open(broker.urls.ws);
    try {
      await roundTrip(client);
    } finally {
      await close(client);
    }
  });

  it("auth: publish/subscribe with the right password", async function () {
    const client = await open(broker.urls.auth, { username: "alice", password: "wonderland" });
    try {
      await roundTrip(client);
    } finally {
      await close(client);
    }
  });

  it("auth: a wrong password gets CONNACK code 5", async function () {
    const err = await refusal(broker.urls.auth, { username: "alice", password: "wrong" });
    expect(err.code).to.equal(5);
  });

  it("auth: anonymous clients get CONNACK code 5", async function () {
    const err = await refusal(broker.urls.auth);
    expect(err.code).to.equal(5);
  });

  it("restart(): same ports, new process, accepting again", async function () {
    const before = { ports: { ...broker.ports }, pid: broker.pid() };
    const client = await open(broker.urls.tcp);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));

    await broker.restart();
    await closed;
    client.end(true);

    expect(broker.ports).to.deep.equal(before.ports);
    expect(broker.pid()).to.be.a("number").and.not.equal(before.pid);
    const again = await open(broker.urls.tcp);
    try {
      await roundTrip(again);
    } finally {
      await close(again);
    }
    const ws = await open(broker.urls.ws);
    await close(ws);
  });

  it("stop() ends the process and frees the ports", async function () {
    const other = await startMosquitto();
    const pid = other.pid();
    expect(pid).to.be.a("number");
    await other.stop();
    expect(other.running()).to.equal(false);
    expect(() => process.kill(pid as number, 0)).to.throw();
    const err = await refusal(other.urls.tcp);
    expect(err.code).to.equal("ECONNREFUSED");
    await other.stop();
  });
});
