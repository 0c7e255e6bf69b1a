// The MQTT session over an AT modem (ESP-AT / W800 MQTT commands), so every mqtt.Client
// and mqtt.create call runs unchanged with --at. The modem has no packet ids and no
// per-message acknowledgements beyond OK, so ids are numbered here and "published" means
// the modem answered OK.
import { isIP } from "node:net";
import type { MqttSession, SessionEnvironment, SessionListener, SessionOptions, SessionState } from "./session.js";
import { buildAtCommand, fitsAtCommand, isAtStringSafe, type AtParam } from "../modem/escape.js";
import type { AtDialect, AtDriver, AtError, AtUrc } from "../modem/driver.js";

const LINK = 0;
const MAX_SUBSCRIPTIONS = 10;
const MAX_TOPIC_BYTES = 128;
const MAX_CLIENT_ID_BYTES = 1024;
/** USERCFG fields longer than this go through AT+MQTTLONG* (the modem's own limits). */
const USERCFG_LIMITS = { id: 256, user: 64, pass: 64 };

/** The AT modem a run's clients share, as this transport needs it. */
export interface AtModemAccess {
  /** The modem, opened and handshaken on first use; a lost one is opened afresh. */
  open(): Promise<{ readonly driver: AtDriver; readonly dialect: AtDialect }>;
  /** The client id sent when the script has none: the modem refuses an empty one. */
  readonly fallbackClientId: string;
  /** Tells the developer something the script cannot see (a line on stderr). */
  warn(text: string): void;
}

/** Which client holds the modem's single MQTT link, per modem. */
const linkHolders = new WeakMap<AtModemAccess, AtSession>();

function schemeFor(options: SessionOptions, url: URL): number {
  if (url.protocol === "ws:") return 6;
  const tls = options.tls;
  if (!tls && url.protocol !== "mqtts:" && url.protocol !== "ssl:" && url.protocol !== "tls:" && url.protocol !== "wss:") return 1;
  const verify = tls?.verify === true && tls.ca !== undefined;
  const clientCert = tls?.cert !== undefined && tls.key !== undefined;
  const kind = clientCert ? (verify ? 5 : 4) : verify ? 3 : 2;
  // WebSocket Secure has the same four kinds, five numbers up (7-10).
  return url.protocol === "wss:" ? kind + 5 : kind;
}

const encoder = new TextEncoder();

/**
 * AT+MQTTSNI with the script's host name when routing sent a TLS connection elsewhere: ESP-AT
 * then checks the certificate against the name the script used, as the device would, while
 * connecting to the mapped address. W800 has no such command.
 */
function serverNameFor(original: URL, target: URL, dialect: AtDialect): Buffer | undefined {
  const name = original.hostname.replace(/^\[|\]$/g, "");
  const tls = target.protocol !== "mqtt:" && target.protocol !== "tcp:" && target.protocol !== "ws:";
  if (!tls || dialect !== "esp-at" || isIP(name) !== 0 || name === target.hostname.replace(/^\[|\]$/g, "")) return undefined;
  const command = buildAtCommand("AT+MQTTSNI", [LINK, name]);
  return fitsAtCommand(command) && isAtStringSafe(name) ? command : undefined;
}


class AtSession implements MqttSession {
  private stateValue: SessionState = "idle";
  private driver: AtDriver | undefined;
  /** Stops listening to the driver this session last used. */
  private detach: (() => void) | undefined;
  private foreignLinkTold = false;
  private nextId = 1;
  private readonly subscriptions = new Set<string>();
  private attempt = 0;

  constructor(
    private readonly modem: AtModemAccess,
    private readonly options: SessionOptions,
    private readonly listener: SessionListener,
    private readonly env: SessionEnvironment,
  ) {}

  get state(): SessionState {
    return this.stateValue;
  }

  connect(): void {
    if (this.stateValue !== "idle") return;
    const holder = linkHolders.get(this.modem);
    // A client that is closing has queued its AT+MQTTCLEAN: the link is free after it.
    if (holder && holder !== this && holder.state !== "idle" && holder.state !== "closing") {
      throw new Error("the AT modem has a single MQTT link and another client is using it");
    }
    if (encoder.encode(this.options.clientId).length > MAX_CLIENT_ID_BYTES) {
      throw new Error(`client id longer than ${MAX_CLIENT_ID_BYTES} bytes: the AT modem refuses it`);
    }
    linkHolders.set(this.modem, this);
    this.stateValue = "connecting";
    const attempt = ++this.attempt;
    this.open(attempt).catch((error: unknown) => {
      if (attempt !== this.attempt || this.stateValue !== "connecting") return;
      this.stateValue = "idle";
      const message = error instanceof Error ? error.message : String(error);
      const kind = (error as { kind?: string }).kind === "timeout" && /MQTTCONN/.test(message) ? "timeout" : "unreachable";
      this.env.trace?.(`moonrig: mqtt ${this.options.clientId} over AT: ${message}`);
      this.listener.connectFailed({ kind, message });
    });
  }

  private async open(attempt: number): Promise<void> {
    const modem = await this.modem.open();
    if (attempt !== this.attempt) return;
    const driver = modem.driver;
    // A modem that was lost is replaced by a new driver on the next connect.
    if (driver !== this.driver || !this.detach) {
      this.detach?.();
      const offUrc = driver.onUrc((urc) => this.onUrc(urc));
      const offClose = driver.onClose((error) => this.onModemLost(error));
      this.detach = () => {
        offUrc();
        offClose();
      };
    }
    this.driver = driver;
    const o = this.options;
    const target = this.env.route(o.url);
    await driver.send(`AT+MQTTCLEAN=${LINK}`, { acceptError: true });
    // LuatOS scripts that never call auth have an empty client id.
    const id = encoder.encode(o.clientId === "" ? this.modem.fallbackClientId : o.clientId);
    const user = o.username ?? new Uint8Array(0);
    const pass = o.password ?? new Uint8Array(0);
    const path = target.protocol === "ws:" || target.protocol === "wss:" ? target.pathname || "/" : "";
    const long = { id: id.length > USERCFG_LIMITS.id, user: user.length > USERCFG_LIMITS.user, pass: pass.length > USERCFG_LIMITS.pass };
    let userCfg = buildAtCommand("AT+MQTTUSERCFG", [LINK, schemeFor(o, target), long.id ? "" : id, long.user ? "" : user, long.pass ? "" : pass, 0, 0, path]);
    if (!fitsAtCommand(userCfg) || !isAtStringSafe(id) || !isAtStringSafe(user) || !isAtStringSafe(pass)) {
      long.id ||= id.length > 0;
      long.user ||= user.length > 0;
      long.pass ||= pass.length > 0;
      userCfg = buildAtCommand("AT+MQTTUSERCFG", [LINK, schemeFor(o, target), "", "", "", 0, 0, path]);
    }
    await driver.send(userCfg);
    if (long.id) await driver.send(`AT+MQTTLONGCLIENTID=${LINK},${id.length}`, { data: id });
    if (long.user) await driver.send(`AT+MQTTLONGUSERNAME=${LINK},${user.length}`, { data: user });
    if (long.pass) await driver.send(`AT+MQTTLONGPASSWORD=${LINK},${pass.length}`, { data: pass });
    const sni = serverNameFor(o.url, target, modem.dialect);
    if (sni) await driver.send(sni);
    const will = o.will;
    const connCfg: AtParam[] = [LINK, Math.min(7200, o.keepalive), o.clean ? 0 : 1, will?.topic ?? "", will?.payload ?? "", will?.qos ?? 0, will?.retain ? 1 : 0];
    await driver.send(buildAtCommand("AT+MQTTCONNCFG", connCfg));
    if (attempt !== this.attempt) return;
    this.listener.transportUp?.();
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const port = target.port ? Number(target.port) : { "ws:": 80, "wss:": 443, "mqtts:": 8883 }[target.protocol] ?? 1883;
    await driver.send(buildAtCommand("AT+MQTTCONN", [LINK, host, port, 0]), { timeoutMs: o.connackTimeoutMs + 1000 });
    if (attempt !== this.attempt || this.stateValue !== "connecting") return;
    this.stateValue = "connected";
    this.subscriptions.clear();
    this.listener.connected(false);
  }

  private onUrc(urc: AtUrc): void {
    if (this.stateValue !== "connected") return;
    if ((urc.type === "subrecv" || urc.type === "mqtt-disconnected" || urc.type === "mqtt-connected") && urc.linkId !== LINK) {
      // ESP-AT and W800 have LinkID 0 only, the one this host opens: anything else is a
      // garbled line or another firmware, not news about this client.
      if (!this.foreignLinkTold) {
        this.foreignLinkTold = true;
        const name = { subrecv: "+MQTTSUBRECV", "mqtt-disconnected": "+MQTTDISCONNECTED", "mqtt-connected": "+MQTTCONNECTED" }[urc.type];
        this.modem.warn(`moonrig: AT modem sent ${name} for link ${urc.linkId}, which this host never opened (it uses link ${LINK}); ignored\n`);
      }
      return;
    }
    switch (urc.type) {
      case "subrecv": {
        // The PUBLISH it came in, counted as the mqtt.js transport counts (QoS 0: the
        // modem does not say), against the script's limit (LuatOS rxSize).
        const size = 2 + 2 + urc.topic.length + urc.payload.length;
        const max = this.options.maxIncomingPacket;
        if (max !== undefined && size > max) {
          this.stateValue = "idle";
          this.driver?.send(`AT+MQTTCLEAN=${LINK}`, { acceptError: true }).catch(() => undefined);
          this.listener.closed({ kind: "oversize", size });
          return;
        }
        this.listener.message(urc.topic, urc.payload, { qos: 0, retain: false, dup: false, messageId: 0 });
        return;
      }
      case "mqtt-disconnected":
      case "ready":
        this.stateValue = "idle";
        this.listener.closed({ kind: "network", message: urc.type === "ready" ? "the AT modem restarted" : "the AT modem reported +MQTTDISCONNECTED" });
        return;
      default:
        return;
    }
  }

  /** The port went away or the modem stopped answering: the MQTT link is gone with it. */
  private onModemLost(error: AtError): void {
    this.detach?.();
    this.detach = undefined;
    this.driver = undefined;
    if (this.stateValue !== "connected") return;
    this.stateValue = "idle";
    this.listener.closed({ kind: "network", message: error.message });
  }

  private checkTopic(topic: Uint8Array): void {
    if (topic.length > MAX_TOPIC_BYTES) throw new Error(`topic longer than ${MAX_TOPIC_BYTES} bytes: the AT modem refuses it`);
  }

  private command(line: Buffer | string, done: (ok: boolean) => void, data?: Uint8Array): void {
    const driver = this.driver;
    if (!driver) return;
    driver.send(line, { acceptError: true, ...(data ? { data } : {}) }).then(
      (response) => done(response.ok),
      (error: unknown) => {
        this.env.trace?.(`moonrig: mqtt ${this.options.clientId} over AT: ${error instanceof Error ? error.message : String(error)}`);
        done(false);
      },
    );
  }

  publish(topic: Uint8Array, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean): number | undefined {
    if (this.stateValue !== "connected") return undefined;
    this.checkTopic(topic);
    const messageId = qos === 0 ? 0 : this.allocateId();
    const whenDone = (ok: boolean) => {
      if (ok && this.stateValue === "connected") this.listener.published(messageId, qos);
    };
    // The plain command carries the payload in the line: only for text that fits.
    const plain = isAtStringSafe(payload) ? buildAtCommand("AT+MQTTPUB", [LINK, topic, payload, qos, retain ? 1 : 0]) : undefined;
    if (plain && fitsAtCommand(plain)) this.command(plain, whenDone);
    else this.command(buildAtCommand("AT+MQTTPUBRAW", [LINK, topic, payload.length, qos, retain ? 1 : 0]), whenDone, payload);
    return messageId;
  }

  subscribe(subscriptions: ReadonlyArray<{ topic: Uint8Array; qos: 0 | 1 | 2 }>): number | undefined {
    if (this.stateValue !== "connected") return undefined;
    const fresh = subscriptions.filter((s) => !this.subscriptions.has(Buffer.from(s.topic).toString("latin1")));
    if (this.subscriptions.size + fresh.length > MAX_SUBSCRIPTIONS) {
      throw new Error(`the AT modem holds at most ${MAX_SUBSCRIPTIONS} subscriptions`);
    }
    for (const s of subscriptions) this.checkTopic(s.topic);
    const messageId = this.allocateId();
    const granted: number[] = [];
    let pending = subscriptions.length;
    for (const s of subscriptions) {
      this.subscriptions.add(Buffer.from(s.topic).toString("latin1"));
      this.command(buildAtCommand("AT+MQTTSUB", [LINK, s.topic, s.qos]), (ok) => {
        granted.push(ok ? s.qos : 0x80);
        if (!ok) this.subscriptions.delete(Buffer.from(s.topic).toString("latin1"));
        if (--pending === 0 && this.stateValue === "connected") this.listener.subscribed(messageId, granted);
      });
    }
    return messageId;
  }

  unsubscribe(topics: readonly Uint8Array[]): number | undefined {
    if (this.stateValue !== "connected") return undefined;
    const messageId = this.allocateId();
    let pending = topics.length;
    for (const topic of topics) {
      this.checkTopic(topic);
      this.subscriptions.delete(Buffer.from(topic).toString("latin1"));
      this.command(buildAtCommand("AT+MQTTUNSUB", [LINK, topic]), () => {
        if (--pending === 0 && this.stateValue === "connected") this.listener.unsubscribed(messageId);
      });
    }
    return messageId;
  }

  disconnect(): void {
    if (this.stateValue === "connecting") {
      this.attempt++;
      this.stateValue = "idle";
      this.driver?.send(`AT+MQTTCLEAN=${LINK}`, { acceptError: true }).catch(() => undefined);
      this.listener.closed({ kind: "local" });
      return;
    }
    if (this.stateValue !== "connected") return;
    this.stateValue = "closing";
    this.command(`AT+MQTTCLEAN=${LINK}`, () => {
      this.stateValue = "idle";
      this.listener.closed({ kind: "local" });
    });
  }

  // The host stops using the link (a reboot, the run ending) without a word to the modem,
  // as a halted MCU would: the modem keeps its connection, which the next connect's
  // AT+MQTTCLEAN ends, or drops it without DISCONNECT when it powers off too (the
  // in-process emulator closes with the run), so the broker publishes the will.
  destroy(): void {
    this.attempt++;
    this.stateValue = "idle";
    this.detach?.();
    this.detach = undefined;
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id === 65535 ? 1 : id + 1;
    return id;
  }
}

export function createAtSession(modem: AtModemAccess, options: SessionOptions, listener: SessionListener, env: SessionEnvironment): MqttSession {
  return new AtSession(modem, options, listener, env);
}
