// One MQTT session interface for every flavor and transport. NodeMCU's mqtt.Client and
// LuatOS's mqtt.create are thin shells over it; mqtt.js and the AT modem implement it.
// Topics and payloads are bytes end to end.

export interface TlsSettings {
  /** PEM of the CAs that may have signed the server certificate; empty trusts none (not even node's own). */
  ca?: Uint8Array;
  cert?: Uint8Array;
  key?: Uint8Array;
  passphrase?: string;
  verify: boolean;
  /** false: a verified chain is enough, whatever name the certificate is for (ESP8266 mbedTLS). */
  checkName?: boolean;
  /**
   * The name sent as SNI and checked against the server's certificate when not the URL's
   * host (ESP-AT's AT+MQTTSNI, which esp-mqtt uses as the certificate's expected name).
   */
  serverName?: string;
}

export interface Will {
  topic: Uint8Array;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface SessionOptions {
  /** Where the script asked to connect (scheme, host, port, path); routing may change it. */
  url: URL;
  clientId: string;
  username?: Uint8Array;
  password?: Uint8Array;
  /** Seconds; 0 disables keepalive. */
  keepalive: number;
  clean: boolean;
  will?: Will;
  tls?: TlsSettings;
  /** How long to wait for CONNACK once the transport is up. */
  connackTimeoutMs: number;
  /** Largest incoming packet accepted; a bigger one closes the connection (LuatOS rxSize). */
  maxIncomingPacket?: number;
  /** The client's packet id counter, which outlives its connections as the firmwares' does. */
  packetIds?: PacketIds;
}

/** Packet ids as the firmwares hand them out: from 1, wrapping at 65535, per client. */
export class PacketIds {
  private next = 1;
  allocate(): number {
    const id = this.next;
    this.next = id === 65535 ? 1 : id + 1;
    return id;
  }
  /** The id the next allocate() will return. */
  peek(): number {
    return this.next;
  }
}

/** Why a connection attempt ended before CONNACK accepted it. */
export type ConnectFailure =
  | { kind: "dns"; message: string }
  | { kind: "unreachable"; message: string }
  | { kind: "timeout"; message: string }
  | { kind: "send-timeout"; message: string }
  | { kind: "not-connack"; message: string }
  | { kind: "refused"; code: number; message: string };

/** Why an established connection ended. */
export type CloseCause =
  | { kind: "local" }
  | { kind: "server-disconnect" }
  | { kind: "network"; message: string }
  | { kind: "oversize"; size: number };

export interface MessageMeta {
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly dup: boolean;
  /** Absent (or 0) for QoS 0. */
  readonly messageId?: number;
}

export interface SessionListener {
  /** The transport (TCP, TLS, WebSocket) is up and CONNECT is on its way. */
  transportUp?(): void;
  connected(sessionPresent: boolean): void;
  connectFailed(failure: ConnectFailure): void;
  closed(cause: CloseCause): void;
  /**
   * A received message, handed over last: the transport has acknowledged it (QoS 1 and 2,
   * as the firmware queues its PUBACK before the callback) and does nothing more with it,
   * so the listener may run the script's callback at once. Nobody changes the bytes of
   * the topic or the payload afterwards (a topic's may serve several messages), so Lua
   * strings may share them; the listener must not change them either.
   */
  message(topic: Uint8Array, payload: Uint8Array, meta: MessageMeta): void;
  /** QoS 0: written; QoS 1: PUBACK; QoS 2: PUBCOMP. */
  published(messageId: number, qos: number): void;
  subscribed(messageId: number, granted: number[]): void;
  unsubscribed(messageId: number): void;
  pong(): void;
}

export type SessionState = "idle" | "connecting" | "connected" | "closing";

export interface MqttSession {
  readonly state: SessionState;
  /** Starts one connection attempt; the listener hears connected or connectFailed. */
  connect(): void;
  /** Returns the packet id (0 for QoS 0), or undefined when not connected. */
  publish(topic: Uint8Array, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): number | undefined;
  subscribe(subscriptions: ReadonlyArray<{ topic: Uint8Array; qos: 0 | 1 | 2 }>): number | undefined;
  unsubscribe(topics: readonly Uint8Array[]): number | undefined;
  /** Sends DISCONNECT and closes; the listener hears closed({kind: "local"}). */
  disconnect(): void;
  /** Drops the connection without DISCONNECT and without any further listener calls. */
  destroy(): void;
  /**
   * Writes a packet a firmware builds itself, past the MQTT library's checks: the way a
   * firmware sends an out-of-range QoS (the broker then decides, usually by hanging up).
   * `build` may take packet ids from `allocateId`. False when not connected. Left out by
   * transports that cannot send bytes of their own (an AT modem).
   */
  sendRaw?(build: (allocateId: () => number) => Uint8Array): boolean;
}

export type LookupFunction = (hostname: string) => Promise<{ address: string; family: 4 | 6 }>;

/** What a transport needs from the runtime. */
export interface SessionEnvironment {
  route(url: URL): URL;
  lookup?: LookupFunction;
  /** Set with --trace: one line per packet. */
  trace?: (line: string) => void;
  /** Whether trace lines are wanted now (LuatOS debug() toggles it): skips formatting them. */
  tracing?: () => boolean;
}

export type SessionFactory = (options: SessionOptions, listener: SessionListener, env: SessionEnvironment) => MqttSession;

export function clampQos(qos: number): 0 | 1 | 2 {
  return qos === 1 || qos === 2 ? qos : 0;
}
