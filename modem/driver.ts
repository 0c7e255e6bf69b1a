// Host-side AT command driver: one command at a time over any byte stream (a serial
// port, a pty, or the in-process emulator link), with timeouts, busy retries, the
// raw-data prompt, and unsolicited results delivered apart from command responses.
//
// Every failure is an AtError whose message names the command and what went wrong, since
// these messages end up in front of Lua script authors.

import type { Duplex } from "node:stream";
import { atCommandName, checkAtCommand, splitAtParams } from "./escape.js";
import { AtParser, parseResponseFields, type AtEvent, type AtResult } from "./parser.js";

export type AtDialect = "esp-at" | "w800";

export interface AtDriverOptions {
  dialect?: AtDialect;
  /** Per-command timeout (default 10000 ms, what the ESP-AT documentation promises). */
  timeoutMs?: number;
  /** Timeout for AT+MQTTCONN=..., which waits for the broker's CONNACK (default 30000 ms). */
  connectTimeoutMs?: number;
  /**
   * Timeout for AT+MQTTPUB, AT+MQTTPUBRAW, AT+MQTTSUB and AT+MQTTUNSUB, which wait for the
   * broker (default: timeoutMs when given, else 20000 ms. ESP-AT gives up by itself after
   * its timeout_ms, 15000 ms by default, so a slow broker ends in the modem's own ERROR or
   * +MQTTPUB:FAIL, and only a modem that has stopped answering reaches this).
   */
  mqttTimeoutMs?: number;
  /** Timeouts by command name (`AT+CWJAP`), overriding the defaults above. */
  commandTimeouts?: Readonly<Record<string, number>>;
  /** How often a command answered with `busy` is sent again (default 20). */
  busyRetries?: number;
  /** Pause before sending a command again after `busy` (default 250 ms). */
  busyRetryDelayMs?: number;
  maxLineBytes?: number;
  maxPayloadBytes?: number;
  /** Destroy the stream in close() (default true). */
  closeStream?: boolean;
  /**
   * The modem splits a long MQTT message into +MQTTSUBRECV pieces of this many bytes
   * (default 1024; 0 turns joining off). A piece of exactly this size is held and joined
   * with the pieces for the same topic that follow it at once.
   */
  subrecvFragmentBytes?: number;
  /** How long a full-size piece waits for its continuation when the line goes quiet (default 100 ms). */
  subrecvFragmentWaitMs?: number;
  /**
   * A +MQTTSUBRECV payload that stops arriving for this long (default 1000 ms) is dropped:
   * the modem sends one in a single write, so a gap means bytes were lost on the line.
   */
  subrecvStallMs?: number;
}

export interface AtSendOptions {
  timeoutMs?: number;
  /** Bytes to send after the `>` prompt (AT+MQTTPUBRAW, AT+MQTTLONG*). Never escaped. */
  data?: Uint8Array;
  /** Resolve with `ok: false` on ERROR, FAIL or +MQTTPUB:FAIL instead of rejecting. */
  acceptError?: boolean;
  busyRetries?: number;
}

export interface AtResponse {
  /** The command's name, e.g. `AT+MQTTPUB`. */
  command: string;
  result: AtResult;
  ok: boolean;
  /** Information lines of the response, without echo, URCs and the result line. */
  lines: Buffer[];
  /** ERR CODE values printed before the result (with AT+SYSLOG=1). */
  errCodes: number[];
}

export type AtUrc =
  | { type: "subrecv"; linkId: number; topic: Buffer; payload: Buffer; line: Buffer }
  | {
      type: "mqtt-connected";
      linkId: number;
      scheme: number;
      host: string;
      port: number;
      path: string;
      reconnect: boolean;
      line: Buffer;
    }
  | { type: "mqtt-disconnected"; linkId: number; line: Buffer }
  /** The modem booted: every setting (echo, SYSLOG, MQTT) is back to its default. */
  | { type: "ready"; line: Buffer }
  /** Any other unsolicited line (`WIFI GOT IP`, `+TIME_UPDATED`, a line while idle). */
  | { type: "line"; name: string; line: Buffer };

export type AtErrorKind =
  | "timeout"
  | "error"
  | "busy"
  | "closed"
  | "reboot"
  | "invalid"
  | "no-answer";

export class AtError extends Error {
  constructor(
    readonly kind: AtErrorKind,
    /** The command's name, e.g. `AT+MQTTSUB`. */
    readonly command: string,
    message: string,
    readonly response?: AtResponse,
  ) {
    super(message);
    this.name = "AtError";
  }

  get errCodes(): number[] {
    return this.response?.errCodes ?? [];
  }
}

/** MQTT error names for the low 16 bits 0x6001.. of an ERR CODE (seed table, in order). */
const MQTT_ERROR_NAMES = (
  "NO_CONFIGURED NOT_IN_CONFIGURED_STATE UNINITIATED_OR_ALREADY_CLEAN ALREADY_CONNECTED MALLOC_FAILED " +
  "NULL_LINK NULL_PARAMTER PARAMETER_COUNTS_IS_WRONG TLS_CONFIG_ERROR PARAM_PREPARE_ERROR CLIENT_START_FAILED " +
  "CLIENT_PUBLISH_FAILED CLIENT_SUBSCRIBE_FAILED CLIENT_UNSUBSCRIBE_FAILED CLIENT_DISCONNECT_FAILED " +
  "LINK_ID_READ_FAILED LINK_ID_VALUE_IS_WRONG SCHEME_READ_FAILED SCHEME_VALUE_IS_WRONG CLIENT_ID_READ_FAILED " +
  "CLIENT_ID_IS_NULL CLIENT_ID_IS_OVERLENGTH USERNAME_READ_FAILED USERNAME_IS_NULL USERNAME_IS_OVERLENGTH " +
  "PASSWORD_READ_FAILED PASSWORD_IS_NULL PASSWORD_IS_OVERLENGTH CERT_KEY_ID_READ_FAILED CERT_KEY_ID_VALUE_IS_WRONG " +
  "CA_ID_READ_FAILED CA_ID_VALUE_IS_WRONG CA_LENGTH_ERROR CA_READ_FAILED CERT_LENGTH_ERROR CERT_READ_FAILED " +
  "KEY_LENGTH_ERROR KEY_READ_FAILED PATH_READ_FAILED PATH_IS_NULL PATH_IS_OVERLENGTH VERSION_READ_FAILED " +
  "KEEPALIVE_READ_FAILED KEEPALIVE_IS_NULL KEEPALIVE_VALUE_IS_WRONG DISABLE_CLEAN_SESSION_READ_FAILED " +
  "DISABLE_CLEAN_SESSION_VALUE_IS_WRONG LWT_TOPIC_READ_FAILED LWT_TOPIC_IS_NULL LWT_TOPIC_IS_OVERLENGTH " +
  "LWT_MSG_READ_FAILED LWT_MSG_IS_NULL LWT_MSG_IS_OVERLENGTH LWT_QOS_READ_FAILED LWT_QOS_VALUE_IS_WRONG " +
  "LWT_RETAIN_READ_FAILED LWT_RETAIN_VALUE_IS_WRONG HOST_READ_FAILED HOST_IS_NULL HOST_IS_OVERLENGTH " +
  "PORT_READ_FAILED PORT_VALUE_IS_WRONG RECONNECT_READ_FAILED RECONNECT_VALUE_IS_WRONG TOPIC_READ_FAILED " +
  "TOPIC_IS_NULL TOPIC_IS_OVERLENGTH DATA_READ_FAILED DATA_IS_NULL DATA_IS_OVERLENGTH QOS_READ_FAILED " +
  "QOS_VALUE_IS_WRONG RETAIN_READ_FAILED RETAIN_VALUE_IS_WRONG PUBLISH_LENGTH_READ_FAILED " +
  "PUBLISH_LENGTH_VALUE_IS_WRONG RECV_LENGTH_IS_WRONG CREATE_SEMA_FAILED CREATE_EVENT_GROUP_FAILED " +
  "URI_PARSE_FAILED IN_DISCONNECTED_STATE HOSTNAME_VERIFY_FAILED"
).split(" ");

/** `0x010a6043 AT_MQTT_TOPIC_IS_OVERLENGTH`, or just the hex value for other codes. */
export function describeErrCode(code: number): string {
  const hex = `0x${(code >>> 0).toString(16).padStart(8, "0")}`;
  const ext = code & 0xffff;
  const name = ext >= 0x6001 ? MQTT_ERROR_NAMES[ext - 0x6001] : undefined;
  return name ? `${hex} AT_MQTT_${name}` : hex;
}

const FAILURES = new Set<AtResult>(["ERROR", "FAIL", "SEND FAIL", "+MQTTPUB:FAIL"]);

type Phase = "command" | "prompt" | "data" | "retry";

interface Job {
  command: Buffer;
  name: string;
  data: Buffer | undefined;
  timeoutMs: number;
  acceptError: boolean;
  busyRetriesLeft: number;
  phase: Phase;
  lines: Buffer[];
  errCodes: number[];
  echoSeen: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (response: AtResponse) => void;
  reject: (error: AtError) => void;
}

type Listener<T> = (value: T) => void;

function call<T>(listeners: Set<Listener<T>>, value: T): void {
  for (const fn of [...listeners]) {
    try {
      fn(value);
    } catch (err) {
      // A listener's bug must not leave the parser half way through a chunk; surface it
      // outside the data handler instead.
      setImmediate(() => {
        throw err;
      });
    }
  }
}

function trimEnd(line: Buffer): Buffer {
  let end = line.length;
  while (end > 0 && (line[end - 1] === 0x0d || line[end - 1] === 0x20)) end--;
  return line.subarray(0, end);
}

function showLine(line: Buffer): string {
  const text = line.toString("utf8").trim();
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export class AtDriver {
  readonly dialect: AtDialect;
  private readonly parser: AtParser;
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private closedReason: string | undefined;
  private readonly urcListeners = new Set<Listener<AtUrc>>();
  private readonly closeListeners = new Set<Listener<AtError>>();
  private readonly traceListeners = new Set<(direction: "in" | "out", bytes: Buffer) => void>();
  private readonly timeoutMs: number;
  private readonly commandTimeouts: Record<string, number>;
  private readonly busyRetries: number;
  private readonly busyRetryDelayMs: number;
  private readonly closeStream: boolean;
  private readonly fragmentBytes: number;
  private readonly fragmentWaitMs: number;
  private readonly stallMs: number;
  private stallTimer: NodeJS.Timeout | undefined;
  /** True while a chunk is being parsed (listeners run inside it). */
  private parsing = false;
  private held: { linkId: number; topic: Buffer; parts: Buffer[]; line: Buffer; timer: NodeJS.Timeout } | undefined;
  private readonly detach: () => void;

  constructor(
    private readonly stream: Duplex,
    options: AtDriverOptions = {},
  ) {
    this.dialect = options.dialect ?? "esp-at";
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const connect = options.connectTimeoutMs ?? 30_000;
    const mqtt = options.mqttTimeoutMs ?? options.timeoutMs ?? 20_000;
    this.commandTimeouts = {
      "AT+MQTTCONN": connect,
      "AT+CWJAP": Math.max(connect, 20_000),
      "AT+MQTTPUB": mqtt,
      "AT+MQTTPUBRAW": mqtt,
      "AT+MQTTSUB": mqtt,
      "AT+MQTTUNSUB": mqtt,
      ...options.commandTimeouts,
    };
    this.busyRetries = options.busyRetries ?? 20;
    this.busyRetryDelayMs = options.busyRetryDelayMs ?? 250;
    this.closeStream = options.closeStream ?? true;
    this.fragmentBytes = options.subrecvFragmentBytes ?? 1024;
    this.fragmentWaitMs = options.subrecvFragmentWaitMs ?? 100;
    this.stallMs = options.subrecvStallMs ?? 1000;
    this.parser = new AtParser((event) => this.onEvent(event), {
      ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
      ...(options.maxPayloadBytes !== undefined ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });

    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
      if (this.traceListeners.size > 0) for (const fn of this.traceListeners) fn("in", bytes);
      this.parsing = true;
      try {
        this.parser.push(bytes);
      } finally {
        this.parsing = false;
      }
      this.watchPayload();
    };
    const onError = (err: Error) => this.shutdown(`port failed (${err.message})`);
    const onClose = () => this.shutdown("port closed");
    stream.on("data", onData);
    stream.on("error", onError);
    stream.on("close", onClose);
    stream.on("end", onClose);
    this.detach = () => {
      stream.off("data", onData);
      stream.off("end", onClose);
      stream.off("close", onClose);
      // Keep an error listener: a destroyed port may still report an error later, and an
      // unhandled 'error' event would crash the process.
      stream.off("error", onError);
      stream.on("error", () => {});
    };
    if (stream.destroyed) this.shutdown("port closed");
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Unsolicited results: MQTT messages, connection changes, reboots, other notices. */
  onUrc(fn: Listener<AtUrc>): () => void {
    this.urcListeners.add(fn);
    return () => this.urcListeners.delete(fn);
  }

  /** Called once when the port closes or fails, or close() is called. */
  onClose(fn: Listener<AtError>): () => void {
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** Every byte read ("in") and written ("out"), for --trace style logging. */
  onTrace(fn: (direction: "in" | "out", bytes: Buffer) => void): () => void {
    this.traceListeners.add(fn);
    return () => this.traceListeners.delete(fn);
  }

  /**
   * Sends one command line (CR LF is added) once every earlier command has finished, and
   * resolves with its response. With `data`, the bytes are sent after the `>` prompt.
   */
  send(command: string | Uint8Array, options: AtSendOptions = {}): Promise<AtResponse> {
    const bytes = typeof command === "string" ? Buffer.from(command, "utf8") : Buffer.from(command);
    const name = atCommandName(bytes);
    if (this.closedReason !== undefined) {
      return Promise.reject(new AtError("closed", name, `cannot send ${name}: AT modem ${this.closedReason}`));
    }
    try {
      checkAtCommand(bytes);
    } catch (err) {
      return Promise.reject(new AtError("invalid", name, (err as Error).message));
    }
    return new Promise<AtResponse>((resolve, reject) => {
      this.queue.push({
        command: bytes,
        name,
        // A copy: the caller may reuse its buffer before the prompt comes.
        data: options.data === undefined ? undefined : Buffer.from(options.data),
        timeoutMs: options.timeoutMs ?? this.defaultTimeout(bytes, name),
        acceptError: options.acceptError ?? false,
        busyRetriesLeft: options.busyRetries ?? this.busyRetries,
        phase: "command",
        lines: [],
        errCodes: [],
        echoSeen: false,
        timer: undefined,
        resolve,
        reject,
      });
      // Called from a URC listener, the rest of the chunk being parsed still belongs to
      // what came before: do not start a command (and expect its prompt) in the middle of it.
      if (this.parsing) queueMicrotask(() => this.pump());
      else this.pump();
    });
  }

  /** Writes bytes straight to the port, outside the command queue (the Lua `at.raw`). */
  writeRaw(bytes: Uint8Array): void {
    if (this.closedReason !== undefined) throw new AtError("closed", "raw", `cannot write: AT modem ${this.closedReason}`);
    this.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /**
   * Start-up: `AT` until the modem answers (it may still be booting or hold half a line of
   * junk), echo off, and error codes on where the firmware has AT+SYSLOG.
   */
  async handshake(options: { attempts?: number; attemptTimeoutMs?: number; syslog?: boolean } = {}): Promise<{ syslog: boolean }> {
    const attempts = options.attempts ?? 10;
    const attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    let answered = false;
    for (let i = 0; i < attempts && !answered; i++) {
      try {
        await this.send("AT", { timeoutMs: attemptTimeoutMs, busyRetries: 0 });
        answered = true;
      } catch (err) {
        if (!(err instanceof AtError) || err.kind === "closed" || err.kind === "invalid") throw err;
      }
    }
    if (!answered) {
      throw new AtError(
        "no-answer",
        "AT",
        `AT modem did not answer AT after ${attempts} attempts (${attemptTimeoutMs} ms each); check the port, baud rate and wiring`,
      );
    }
    await this.send("ATE0");
    let syslog = false;
    if (this.dialect === "esp-at" && options.syslog !== false) {
      syslog = (await this.send("AT+SYSLOG=1", { acceptError: true })).ok;
    }
    return { syslog };
  }

  /** Resolves at the next `ready` (boot) from the modem. */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        offClose();
        reject(new AtError("timeout", "ready", `AT modem did not print ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onUrc((urc) => {
        if (urc.type !== "ready") return;
        clearTimeout(timer);
        off();
        offClose();
        resolve();
      });
      const offClose = this.onClose((err) => {
        clearTimeout(timer);
        off();
        offClose();
        reject(err);
      });
    });
  }

  /** AT+RST, wait for the boot, then the start-up handshake again. */
  async restart(options: { readyTimeoutMs?: number } = {}): Promise<{ syslog: boolean }> {
    const ready = this.waitForReady(options.readyTimeoutMs ?? 10_000);
    ready.catch(() => {});
    await this.send("AT+RST");
    await ready;
    return this.handshake();
  }

  /** Rejects every pending command and releases the port. */
  async close(): Promise<void> {
    if (this.closedReason === undefined) this.shutdown("driver closed");
    if (this.closeStream && !this.stream.destroyed) {
      await new Promise<void>((resolve) => {
        this.stream.once("close", () => resolve());
        this.stream.destroy();
        // Some streams never emit 'close' (emitClose: false): do not wait forever.
        setTimeout(resolve, 1000).unref();
      });
    }
  }

  private defaultTimeout(command: Buffer, name: string): number {
    const configured = this.commandTimeouts[name];
    if (configured === undefined) return this.timeoutMs;
    // The long timeouts are for the set commands that wait on the network, not for queries.
    if (command.indexOf(0x3d) < 0) return this.timeoutMs;
    if (name === "AT+MQTTCONN") {
      // AT+MQTTCONN=0,"host",port,reconnect,timeout_ms: never give up before the modem does.
      const own = splitAtParams(command)[4];
      const ms = own && !own.quoted ? Number(own.bytes.toString("latin1")) : Number.NaN;
      if (Number.isFinite(ms) && ms > 0) return Math.max(configured, ms + 5000);
    }
    return configured;
  }

  /** Keeps a stalled +MQTTSUBRECV payload from swallowing every answer that follows it. */
  private watchPayload(): void {
    if (!this.parser.inPayload) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.pump();
      return;
    }
    if (this.stallTimer) this.stallTimer.refresh();
    else {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = undefined;
        this.parser.abandonPayload();
        this.pump();
      }, this.stallMs);
    }
  }

  private pump(): void {
    // A command sent while a payload is still arriving would have its answer counted as payload.
    if (this.current !== undefined || this.closedReason !== undefined || this.parser.inPayload) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    this.start(job);
  }

  private start(job: Job): void {
    job.lines = [];
    job.errCodes = [];
    job.echoSeen = false;
    job.phase = job.data ? "prompt" : "command";
    this.parser.expectPrompt = job.data !== undefined;
    this.arm(job);
    this.write(Buffer.concat([job.command, Buffer.from("\r\n", "latin1")]));
  }

  private arm(job: Job): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(() => {
      if (this.current !== job) return;
      if (job.phase === "data") {
        // The modem took the prompt and then fell silent: it may still be counting data
        // bytes that were lost on the line, and would swallow the next command as data.
        // Nothing said on this line can be trusted any more: the modem is lost.
        this.finish(job, new AtError("timeout", job.name, `AT modem stopped answering after the > prompt for ${job.name} (nothing within ${job.timeoutMs} ms)`));
        this.shutdown(`stopped answering after the > prompt for ${job.name}`);
        return;
      }
      const what =
        job.phase === "prompt"
          ? `did not send the > prompt for ${job.name} within ${job.timeoutMs} ms`
          : `did not answer ${job.name} within ${job.timeoutMs} ms`;
      this.finish(job, new AtError("timeout", job.name, `AT modem ${what}`));
    }, job.timeoutMs);
  }

  private write(bytes: Buffer): void {
    if (this.traceListeners.size > 0) for (const fn of this.traceListeners) fn("out", bytes);
    this.stream.write(bytes, (err) => {
      if (err) this.shutdown(`port failed (${err.message})`);
    });
  }

  private finish(job: Job, outcome: AtResponse | AtError): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    if (this.current === job) {
      this.current = undefined;
      this.parser.expectPrompt = false;
    }
    if (outcome instanceof AtError) job.reject(outcome);
    else job.resolve(outcome);
    // Not synchronously: the rest of the chunk being parsed belongs to this command's
    // aftermath, and the next command's prompt expectation must not apply to it.
    queueMicrotask(() => this.pump());
  }

  private complete(job: Job, result: AtResult): void {
    const response: AtResponse = {
      command: job.name,
      result,
      ok: !FAILURES.has(result),
      lines: job.lines,
      errCodes: job.errCodes,
    };
    if (response.ok || job.acceptError) {
      this.finish(job, response);
      return;
    }
    const details = [...job.errCodes.map((code) => `ERR CODE ${describeErrCode(code)}`), ...job.lines.map(showLine)];
    const suffix = details.length > 0 ? ` (${details.join("; ")})` : "";
    this.finish(job, new AtError("error", job.name, `AT modem answered ${result} to ${job.name}${suffix}`, response));
  }

  private retryBusy(job: Job): void {
    if (job.busyRetriesLeft <= 0) {
      this.finish(job, new AtError("busy", job.name, `AT modem stayed busy and did not accept ${job.name}`));
      return;
    }
    job.busyRetriesLeft--;
    job.phase = "retry";
    this.parser.expectPrompt = false;
    clearTimeout(job.timer);
    job.timer = setTimeout(() => {
      if (this.current === job) this.start(job);
    }, this.busyRetryDelayMs);
  }

  /**
   * Joins the pieces of a long message. The wire does not mark pieces, so the rule is the
   * firmware's own behaviour: pieces of one message are full-size and follow each other
   * with nothing in between; the last one is shorter (or the line goes quiet).
   */
  private subrecv(event: Extract<AtEvent, { type: "subrecv" }>): void {
    const held = this.held;
    if (held) {
      held.parts.push(event.payload);
      if (event.payload.length === this.fragmentBytes) {
        held.timer.refresh();
      } else {
        this.flushHeld();
      }
      return;
    }
    if (this.fragmentBytes > 0 && event.payload.length === this.fragmentBytes) {
      this.held = {
        linkId: event.linkId,
        topic: event.topic,
        parts: [event.payload],
        line: event.line,
        timer: setTimeout(() => this.flushHeld(), this.fragmentWaitMs),
      };
      return;
    }
    call(this.urcListeners, { type: "subrecv", linkId: event.linkId, topic: event.topic, payload: event.payload, line: event.line });
  }

  private flushHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    clearTimeout(held.timer);
    const payload = held.parts.length === 1 ? held.parts[0]! : Buffer.concat(held.parts);
    call(this.urcListeners, { type: "subrecv", linkId: held.linkId, topic: held.topic, payload, line: held.line });
  }

  private onEvent(event: AtEvent): void {
    const job = this.current;
    const held = this.held;
    // Anything but the next piece of the same message ends the held one, so URCs keep their order.
    if (held && !(event.type === "subrecv" && event.linkId === held.linkId && event.topic.equals(held.topic))) {
      this.flushHeld();
    }
    switch (event.type) {
      case "subrecv":
        this.subrecv(event);
        return;
      case "urc":
        call(this.urcListeners, this.parseUrc(event.name, event.line));
        return;
      case "ready":
        if (job) {
          if (job.name === "AT+RST") this.complete(job, "OK");
          else this.finish(job, new AtError("reboot", job.name, `AT modem restarted (printed ready) while running ${job.name}`));
        }
        this.parser.expectPrompt = false;
        call(this.urcListeners, { type: "ready", line: event.line });
        return;
      case "prompt":
        if (job && job.phase === "prompt" && job.data) {
          job.phase = "data";
          this.arm(job);
          this.write(job.data);
        }
        return;
      case "busy":
        // After the data went out, the modem is counting bytes, not parsing commands.
        if (job && (job.phase === "command" || job.phase === "prompt")) this.retryBusy(job);
        return;
      case "err-code":
        if (job && job.phase !== "retry") job.errCodes.push(event.code);
        return;
      case "result":
        if (!job) {
          // Nobody asked: the answer to bytes a script wrote itself (Lua at.raw).
          call(this.urcListeners, { type: "line", name: "", line: Buffer.from(event.result, "latin1") });
          return;
        }
        if (job.phase === "retry") return;
        // The OK in `OK\r\n\r\n>` only says the command was accepted.
        if (job.phase === "prompt" && event.result === "OK") return;
        this.complete(job, event.result);
        return;
      case "line":
        if (!job) {
          const text = event.line.toString("latin1").trim();
          const colon = text.indexOf(":");
          call(this.urcListeners, { type: "line", name: text.startsWith("+") && colon > 0 ? text.slice(0, colon) : "", line: event.line });
          return;
        }
        if (job.phase === "retry") return;
        if (!job.echoSeen && trimEnd(event.line).equals(job.command)) {
          job.echoSeen = true;
          return;
        }
        job.lines.push(event.line);
        return;
      case "discard":
        return;
    }
  }

  private parseUrc(name: string, line: Buffer): AtUrc {
    const fields = parseResponseFields(line);
    const num = (i: number) => {
      const field = fields[i];
      return field ? Number(field.bytes.toString("latin1")) : Number.NaN;
    };
    if (name === "+MQTTDISCONNECTED" && Number.isInteger(num(0))) {
      return { type: "mqtt-disconnected", linkId: num(0), line };
    }
    if (name === "+MQTTCONNECTED" && fields.length >= 6 && Number.isInteger(num(0)) && Number.isInteger(num(3))) {
      return {
        type: "mqtt-connected",
        linkId: num(0),
        scheme: num(1),
        host: fields[2]!.bytes.toString("utf8"),
        port: num(3),
        path: fields[4]!.bytes.toString("utf8"),
        reconnect: num(5) === 1,
        line,
      };
    }
    return { type: "line", name, line };
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.flushHeld();
    this.closedReason = reason;
    this.parser.expectPrompt = false;
    const job = this.current;
    this.current = undefined;
    if (job) {
      clearTimeout(job.timer);
      job.reject(new AtError("closed", job.name, `AT modem ${reason} while waiting for ${job.name}`));
    }
    for (const queued of this.queue.splice(0)) {
      queued.reject(new AtError("closed", queued.name, `AT modem ${reason} before ${queued.name} was sent`));
    }
    this.detach();
    call(this.closeListeners, new AtError("closed", job?.name ?? "", `AT modem ${reason}`));
  }
}
