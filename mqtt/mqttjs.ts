// The MQTT session over mqtt.js. moonrig opens the socket itself (routing, injectable DNS,
// TLS material from the script) so that every way a connection can fail maps to the
// firmware's reasons; mqtt.js then speaks the protocol on that stream.
import net from "node:net";
import tls from "node:tls";
import { lookup as dnsLookup } from "node:dns/promises";
import type { Duplex } from "node:stream";
import { MqttClient, type IClientOptions, type IPublishPacket, type Packet } from "mqtt";
import WebSocket, { createWebSocketStream } from "ws";
import {
  PacketIds,
  type ConnectFailure, type MqttSession, type SessionEnvironment, type SessionFactory, type SessionListener, type SessionOptions, type SessionState,
} from "./session.js";
import { formatPacket, formatRaw } from "./trace.js";

const DEFAULT_PORTS: Record<string, number> = { "mqtt:": 1883, "tcp:": 1883, "mqtts:": 8883, "ssl:": 8883, "tls:": 8883, "ws:": 80, "wss:": 443 };

/** The client's packet ids in the shape mqtt.js asks for. */
class SequentialIds {
  private last = 0;
  constructor(private readonly ids: PacketIds) {}
  allocate(): number {
    this.last = this.ids.allocate();
    return this.last;
  }
  getLastAllocated(): number {
    return this.last;
  }
  /** The id the next allocate() will return. */
  peek(): number {
    return this.ids.peek();
  }
  register(): boolean {
    return true;
  }
  deallocate(): void {}
  clear(): void {}
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

const TOPIC_CACHE_SIZE = 64;

class MqttJsSession implements MqttSession {
  private client: MqttClient | undefined;
  private stateValue: SessionState = "idle";
  private connackTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly ids: SequentialIds;
  /**
   * SUBSCRIBE and UNSUBSCRIBE ids awaiting their ack. The acks are taken as they are parsed:
   * mqtt.js calls a subscribe callback a few promise turns later, after the messages that
   * followed the SUBACK, and the firmwares report everything in arrival order.
   */
  private readonly awaitingAck = new Set<number>();
  private readonly label: string;
  /**
   * The bytes of topics seen lately: a device subscribes to a few, each message names one.
   * Plain Uint8Arrays, which Lua strings take as they are (a Buffer needs a view each time).
   */
  private readonly topics = new Map<string, Uint8Array>();

  constructor(private readonly options: SessionOptions, private readonly listener: SessionListener, private readonly env: SessionEnvironment) {
    this.label = options.clientId === "" ? "(no id)" : options.clientId;
    this.ids = new SequentialIds(options.packetIds ?? new PacketIds());
  }

  get state(): SessionState {
    return this.stateValue;
  }

  connect(): void {
    if (this.stateValue !== "idle") return;
    this.stateValue = "connecting";
    const attempt = ++this.attempt;
    void this.open(attempt);
  }

  private async open(attempt: number): Promise<void> {
    const o = this.options;
    const fields = [textEncoder.encode(o.clientId), o.username, o.password, o.will?.topic, o.will?.payload];
    if (fields.some(tooLongForMqtt)) {
      // Failures are reported after connect() has returned, as every other one is.
      await Promise.resolve();
      this.failAttempt(attempt, { kind: "unreachable", message: "a CONNECT field is longer than MQTT's 65535 bytes" });
      return;
    }
    const target = this.env.route(this.options.url);
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const port = target.port ? Number(target.port) : (DEFAULT_PORTS[target.protocol] ?? 1883);
    let address = host;
    if (net.isIP(host) === 0 && target.protocol !== "ws:" && target.protocol !== "wss:") {
      try {
        address = (await (this.env.lookup ?? defaultLookup)(host)).address;
      } catch (error) {
        this.failAttempt(attempt, { kind: "dns", message: `cannot resolve ${host}: ${errorText(error)}` });
        return;
      }
    }
    if (attempt !== this.attempt) return;
    let stream: Duplex;
    try {
      stream = this.openStream(target, address, port);
    } catch (error) {
      this.failAttempt(attempt, { kind: "unreachable", message: errorText(error) });
      return;
    }
    this.attach(attempt, stream);
  }

  /** A topic's bytes, shared between messages (listeners must not change them). */
  private topicBytes(topic: string): Uint8Array {
    let bytes = this.topics.get(topic);
    if (bytes === undefined) {
      if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
      bytes = textEncoder.encode(topic);
      this.topics.set(topic, bytes);
    }
    return bytes;
  }

  private openStream(target: URL, address: string, port: number): Duplex {
    const tlsOptions = this.options.tls;
    switch (target.protocol) {
      case "ws:":
      case "wss:": {
        const lookup = this.env.lookup;
        const socket = new WebSocket(target.href, "mqtt", {
          ca: tlsOptions?.ca ? Buffer.from(tlsOptions.ca) : undefined,
          cert: tlsOptions?.cert ? Buffer.from(tlsOptions.cert) : undefined,
          key: tlsOptions?.key ? Buffer.from(tlsOptions.key) : undefined,
          ...(target.protocol === "wss:" ? this.serverIdentity() : {}),
          lookup: lookup ? (hostname: string, _options: unknown, callback: (error: Error | null, address: string, family: number) => void) => {
            lookup(hostname).then((r) => callback(null, r.address, r.family), (error: Error) => callback(Object.assign(error, { code: "ENOTFOUND" }), "", 4));
          } : undefined,
        } as WebSocket.ClientOptions);
        socket.once("open", () => this.transportUp(stream));
        const stream = createWebSocketStream(socket);
        return stream;
      }
      case "mqtts:":
      case "ssl:":
      case "tls:": {
        const socket = tls.connect({
          host: address,
          port,
          ca: tlsOptions?.ca ? Buffer.from(tlsOptions.ca) : undefined,
          cert: tlsOptions?.cert ? Buffer.from(tlsOptions.cert) : undefined,
          key: tlsOptions?.key ? Buffer.from(tlsOptions.key) : undefined,
          passphrase: tlsOptions?.passphrase,
          ...this.serverIdentity(),
        });
        socket.once("secureConnect", () => this.transportUp(socket));
        return socket;
      }
      default: {
        const socket = net.connect({ host: address, port });
        socket.once("connect", () => this.transportUp(socket));
        return socket;
      }
    }
  }

  /**
   * How the server's certificate is judged, the same for mqtts:// and wss://. The device
   * checks the name the script gave (SNI and host name), wherever --broker/--map send the
   * connection: a redirected broker needs a certificate for the script's name.
   */
  private serverIdentity(): Pick<tls.ConnectionOptions, "servername" | "rejectUnauthorized" | "checkServerIdentity"> {
    const name = this.options.tls?.serverName ?? this.options.url.hostname.replace(/^\[|\]$/g, "");
    return {
      // ws fills in the connected address when this is missing; "" sends no SNI.
      servername: net.isIP(name) ? "" : name,
      rejectUnauthorized: this.options.tls?.verify ?? false,
      checkServerIdentity: this.options.tls?.checkName === false ? () => undefined : (_host, cert) => tls.checkServerIdentity(name, cert),
    };
  }

  private transportUp(stream: Duplex): void {
    if (this.client?.stream === stream && this.stateValue === "connecting") this.listener.transportUp?.();
  }

  private attach(attempt: number, stream: Duplex): void {
    const o = this.options;
    let sawPacket = false;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      username: o.username ? textDecoder.decode(o.username) : undefined,
      password: o.password ? Buffer.from(o.password) : undefined,
      keepalive: o.keepalive,
      clean: o.clean,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 0x7fffffff,
      resubscribe: false,
      queueQoSZero: false,
      messageIdProvider: this.ids,
      // Listeners (trace, first-packet check) must be in place before CONNECT goes out.
      manualConnect: true,
      // mqtt.js's own debug logging (DEBUG=mqttjs*) costs a few per cent of every message
      // even when off; --trace and LuatOS debug() show the packets instead.
      log: () => undefined,
      will: o.will ? { topic: textDecoder.decode(o.will.topic), payload: Buffer.from(o.will.payload), qos: o.will.qos, retain: o.will.retain } : undefined,
    };
    const client = new MqttClient(() => stream, clientOptions);
    this.client = client;
    const current = () => this.client === client && attempt === this.attempt;
    this.connackTimer = setTimeout(() => {
      if (current() && this.stateValue === "connecting") this.failAttempt(attempt, { kind: "timeout", message: "no CONNACK within the connect timeout" });
    }, o.connackTimeoutMs);

    const trace = this.env.trace;
    const tracing = this.env.tracing ?? (() => trace !== undefined);
    client.on("packetsend", (packet: Packet) => {
      if (tracing()) trace?.(`moonrig: mqtt ${this.label} -> ${formatPacket(packet)}`);
    });
    client.on("packetreceive", (packet: Packet) => {
      if (!current()) return;
      if (tracing()) trace?.(`moonrig: mqtt ${this.label} <- ${formatPacket(packet)}`);
      if (!sawPacket) {
        sawPacket = true;
        if (packet.cmd !== "connack") {
          this.failAttempt(attempt, { kind: "not-connack", message: `the broker answered CONNECT with ${packet.cmd.toUpperCase()}` });
          return;
        }
      }
      const size = (packet.length ?? 0) + 2;
      if (o.maxIncomingPacket !== undefined && size > o.maxIncomingPacket && this.stateValue === "connected") {
        this.drop({ kind: "oversize", size });
        return;
      }
      if (packet.cmd === "pingresp") this.listener.pong();
      else if (packet.cmd === "disconnect") this.drop({ kind: "server-disconnect" });
      else if (packet.cmd === "suback" || packet.cmd === "unsuback") {
        const id = packet.messageId ?? 0;
        if (!this.awaitingAck.delete(id)) return;
        if (packet.cmd === "suback") this.listener.subscribed(id, packet.granted.map(Number));
        else this.listener.unsubscribed(id);
      }
    });
    client.on("connect", (connack) => {
      if (!current() || this.stateValue !== "connecting") return;
      clearTimeout(this.connackTimer);
      this.stateValue = "connected";
      this.listener.connected(connack.sessionPresent);
    });
    // mqtt.js emits "message" before it acknowledges: the message is taken here instead,
    // where the acknowledgement is ours to send first. For QoS 0, `acknowledged` moves on to
    // the next packet, which may be parsed at once: the message goes first. (No closure or
    // object per message here: every one of a million messages would make garbage.)
    client.handleMessage = (packet, acknowledged) => {
      if (packet.qos === 0) {
        if (current()) this.received(packet);
        acknowledged();
      } else {
        acknowledged();
        if (current()) this.received(packet);
      }
    };
    client.on("error", (error: Error & { code?: number | string }) => {
      if (!current()) return;
      if (this.stateValue === "connecting") {
        if (typeof error.code === "number") this.failAttempt(attempt, { kind: "refused", code: error.code, message: error.message });
        else this.failAttempt(attempt, { kind: "unreachable", message: error.message });
      } else if (this.stateValue === "connected") {
        this.drop({ kind: "network", message: error.message });
      }
    });
    client.on("close", () => {
      if (!current()) return;
      if (this.stateValue === "connecting") this.failAttempt(attempt, { kind: "unreachable", message: "connection closed before CONNACK" });
      else if (this.stateValue === "connected") this.drop({ kind: "network", message: "connection closed" });
      else if (this.stateValue === "closing") this.finishLocalClose();
    });
    client.connect();
  }

  /** The packet carries qos, retain, dup and messageId itself: it serves as the MessageMeta. */
  private received(packet: IPublishPacket): void {
    if (this.stateValue === "connected") this.listener.message(this.topicBytes(packet.topic), packet.payload as Buffer, packet);
  }

  publish(topic: Uint8Array, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): number | undefined {
    const client = this.client;
    if (!client || this.stateValue !== "connected" || tooLongForMqtt(topic)) return undefined;
    // mqtt.js may call back synchronously (QoS 0 written at once), so the id must be known
    // before the call: ids come from our own sequential provider.
    const messageId = qos === 0 ? 0 : this.ids.peek();
    client.publish(textDecoder.decode(topic), Buffer.from(payload.buffer, payload.byteOffset, payload.length), { qos, retain }, (error) => {
      if (!error && this.client === client && this.stateValue === "connected") this.listener.published(messageId, qos);
    });
    return messageId;
  }

  subscribe(subscriptions: ReadonlyArray<{ topic: Uint8Array; qos: 0 | 1 | 2 }>): number | undefined {
    const client = this.client;
    if (!client || this.stateValue !== "connected" || subscriptions.some((s) => tooLongForMqtt(s.topic))) return undefined;
    const map: Record<string, { qos: 0 | 1 | 2 }> = {};
    for (const s of subscriptions) map[textDecoder.decode(s.topic)] = { qos: s.qos };
    const messageId = this.ids.peek();
    this.awaitingAck.add(messageId);
    client.subscribe(map, ignoreOutcome);
    return messageId;
  }

  unsubscribe(topics: readonly Uint8Array[]): number | undefined {
    const client = this.client;
    if (!client || this.stateValue !== "connected" || topics.some(tooLongForMqtt)) return undefined;
    const messageId = this.ids.peek();
    this.awaitingAck.add(messageId);
    client.unsubscribe(topics.map((t) => textDecoder.decode(t)), ignoreOutcome);
    return messageId;
  }

  sendRaw(build: (allocateId: () => number) => Uint8Array): boolean {
    const client = this.client;
    if (!client || this.stateValue !== "connected") return false;
    const packet = build(() => this.ids.allocate());
    if (this.env.tracing?.() ?? this.env.trace !== undefined) this.env.trace?.(`moonrig: mqtt ${this.label} -> ${formatRaw(packet)}`);
    // Packets mqtt.js writes are whole by the time this runs, so the bytes go in between them.
    (client.stream as Duplex).write(packet);
    return true;
  }

  disconnect(): void {
    const client = this.client;
    if (!client) return;
    if (this.stateValue === "connecting") {
      this.teardown();
      this.stateValue = "idle";
      this.listener.closed({ kind: "local" });
      return;
    }
    if (this.stateValue !== "connected") return;
    this.stateValue = "closing";
    client.end(false, () => {
      if (this.client === client && this.stateValue === "closing") this.finishLocalClose();
    });
  }

  destroy(): void {
    this.teardown();
    this.stateValue = "idle";
  }

  private finishLocalClose(): void {
    this.teardown();
    this.stateValue = "idle";
    this.listener.closed({ kind: "local" });
  }

  private failAttempt(attempt: number, failure: ConnectFailure): void {
    if (attempt !== this.attempt || this.stateValue !== "connecting") return;
    this.teardown();
    this.stateValue = "idle";
    this.listener.connectFailed(failure);
  }

  private drop(cause: Parameters<SessionListener["closed"]>[0]): void {
    if (this.stateValue !== "connected") return;
    this.teardown();
    this.stateValue = "idle";
    this.listener.closed(cause);
  }

  private teardown(): void {
    clearTimeout(this.connackTimer);
    const client = this.client;
    this.client = undefined;
    this.attempt++;
    this.awaitingAck.clear();
    if (client) {
      client.removeAllListeners("connect");
      client.on("error", () => undefined);
      client.end(true);
      (client.stream as Duplex | undefined)?.destroy();
    }
  }
}

/** MQTT strings carry a 16-bit length: longer ones cannot be sent (mqtt.js would throw). */
function tooLongForMqtt(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && bytes.length > 0xffff;
}

/** The acks are taken from the packets themselves (see awaitingAck). */
const ignoreOutcome = (): void => undefined;

async function defaultLookup(hostname: string): Promise<{ address: string; family: 4 | 6 }> {
  const result = await dnsLookup(hostname);
  return { address: result.address, family: result.family === 6 ? 6 : 4 };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

export const createMqttJsSession: SessionFactory = (options, listener, env) => new MqttJsSession(options, listener, env);
