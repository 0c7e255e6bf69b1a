// Streaming parser for what an AT modem (ESP-AT or W800) sends to the host.
//
// It works on bytes, one state machine step per byte, so the events for a stream never
// depend on how the stream was chunked. A line reader is not enough for this protocol:
// the raw-data prompt `>` has no line end, and +MQTTSUBRECV carries a length-counted
// payload that may itself contain line ends, quotes, `OK` or `>`.

/** Final result lines that end a command. */
export type AtResult = "OK" | "ERROR" | "FAIL" | "SEND OK" | "SEND FAIL" | "+MQTTPUB:OK" | "+MQTTPUB:FAIL";

export type AtEvent =
  /** A final result line. */
  | { type: "result"; result: AtResult; line: Buffer }
  /** `busy p...` (ESP-AT) or `busy ...` (W800): the modem dropped the input it just got. */
  | { type: "busy"; line: Buffer }
  /** `ERR CODE:0x...` printed before ERROR when AT+SYSLOG=1. */
  | { type: "err-code"; code: number; line: Buffer }
  /** The modem (re)booted. */
  | { type: "ready"; line: Buffer }
  /** The raw-data prompt `>`; only reported while `expectPrompt` is set. */
  | { type: "prompt" }
  /** A known unsolicited line (`+MQTTCONNECTED:...`, `WIFI GOT IP`, `+TIME_UPDATED`, ...). */
  | { type: "urc"; name: string; line: Buffer }
  /** One +MQTTSUBRECV message (or one fragment of a long one). */
  | { type: "subrecv"; linkId: number; topic: Buffer; payload: Buffer; line: Buffer }
  /** Any other line: information responses (`+MQTTCONN:...`), command echo, notices. */
  | { type: "line"; line: Buffer }
  /** Bytes thrown away to resynchronise (a line or payload over the bounds). */
  | { type: "discard"; bytes: number; reason: "line-too-long" | "payload-too-long" | "payload-incomplete" };

export interface AtParserOptions {
  /** Longest line kept; longer ones are dropped up to the next line end. */
  maxLineBytes?: number;
  /** Largest +MQTTSUBRECV payload accepted; a bigger length is treated as a garbled line. */
  maxPayloadBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const PROMPT = 0x3e; // '>'
const COMMA = 0x2c;
const QUOTE = 0x22;
const SUBRECV = Buffer.from("+MQTTSUBRECV:", "latin1");
// A decimal length longer than this cannot be a real payload length.
const MAX_LENGTH_DIGITS = 10;

/** Unsolicited `+NAME` lines: never part of a command's response. */
const URC_NAMES = new Set([
  "+MQTTCONNECTED",
  "+MQTTDISCONNECTED",
  "+TIME_UPDATED",
  "+STA_CONNECTED",
  "+STA_DISCONNECTED",
  "+DIST_STA_IP",
  "+ETH_CONNECTED",
  "+ETH_DISCONNECTED",
  "+ETH_GOT_IP",
]);

const RESULTS = new Map<string, AtResult>([
  ["OK", "OK"],
  ["ERROR", "ERROR"],
  ["FAIL", "FAIL"],
  ["SEND OK", "SEND OK"],
  ["SEND FAIL", "SEND FAIL"],
  ["+MQTTPUB:OK", "+MQTTPUB:OK"],
  ["+MQTTPUB:FAIL", "+MQTTPUB:FAIL"],
]);

const enum State {
  Line,
  Discard,
  Payload,
  PayloadEnd,
}

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === CR;
}

function printable(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

/** Classifies one complete line (without its line end). Exported for the tests and the emulator. */
export function classifyLine(line: Buffer): AtEvent | undefined {
  let start = 0;
  let end = line.length;
  while (start < end && isBlank(line[start]!)) start++;
  while (end > start && isBlank(line[end - 1]!)) end--;
  if (start === end) return undefined;
  const text = line.toString("latin1", start, end);
  const result = RESULTS.get(text);
  if (result !== undefined) return { type: "result", result, line };
  if (text.startsWith("busy ")) return { type: "busy", line };
  const errCode = /^ERR CODE:0x([0-9a-fA-F]{1,8})$/.exec(text);
  if (errCode) return { type: "err-code", code: Number.parseInt(errCode[1]!, 16), line };
  // A boot banner is usually preceded by ROM noise at another baud rate with no line end
  // in between, so "ready" after unprintable bytes is still a reboot.
  if (text === "ready" || (text.endsWith("ready") && !printable(line.subarray(start, end - 5)))) {
    return { type: "ready", line };
  }
  if (text.startsWith("WIFI ")) return { type: "urc", name: text, line };
  if (text.startsWith("+")) {
    const colon = text.indexOf(":");
    const name = colon < 0 ? text : text.slice(0, colon);
    if (URC_NAMES.has(name)) return { type: "urc", name, line };
  }
  return { type: "line", line };
}

/**
 * Recognises a complete +MQTTSUBRECV header `+MQTTSUBRECV:<id>,"<topic>",<len>,` in `buf`
 * (which ends at the last comma). The topic is not escaped on the wire, so the first
 * `",<digits>,` after the opening quote ends it.
 */
function subrecvHeader(
  buf: Buffer,
  start: number,
  len: number,
): { linkId: number; topic: Buffer; length: number } | undefined {
  const head = start + SUBRECV.length;
  if (len < head + 6 || buf.compare(SUBRECV, 0, SUBRECV.length, start, head) !== 0) return undefined;
  // <len> digits before the final comma
  let i = len - 2;
  let digits = 0;
  while (i >= 0 && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    i--;
    digits++;
  }
  if (digits === 0 || digits > MAX_LENGTH_DIGITS || i < 1 || buf[i] !== COMMA || buf[i - 1] !== QUOTE) return undefined;
  const closeQuote = i - 1;
  // <id> digits, then ,"
  let j = head;
  let idDigits = 0;
  while (j < closeQuote && buf[j]! >= 0x30 && buf[j]! <= 0x39) {
    j++;
    idDigits++;
  }
  if (idDigits === 0 || idDigits > 3 || buf[j] !== COMMA || buf[j + 1] !== QUOTE) return undefined;
  const topicStart = j + 2;
  if (topicStart > closeQuote) return undefined;
  return {
    linkId: Number(buf.toString("latin1", head, head + idDigits)),
    topic: Buffer.from(buf.subarray(topicStart, closeQuote)),
    length: Number(buf.toString("latin1", i + 1, len - 1)),
  };
}

export class AtParser {
  /**
   * Set by the driver right before it sends a command that answers with the raw-data
   * prompt; a `>` at the start of a line is a prompt only then, so the same byte in other
   * output is never taken for one. Cleared when the prompt is seen.
   */
  expectPrompt = false;

  private readonly maxLine: number;
  private readonly maxPayload: number;
  private readonly lineBuf: Buffer;
  private lineLen = 0;
  // Index of the first byte that is not a blank: W800 follows its prompt with a space, and
  // whatever comes next must still be recognised.
  private lineStart = 0;
  private state = State.Line;
  private discarded = 0;
  private payloadParts: Buffer[] = [];
  private payloadLeft = 0;
  private pending: { linkId: number; topic: Buffer; header: Buffer } | undefined;

  constructor(
    private readonly onEvent: (event: AtEvent) => void,
    options: AtParserOptions = {},
  ) {
    this.maxLine = options.maxLineBytes ?? 4096;
    this.maxPayload = options.maxPayloadBytes ?? 1024 * 1024;
    this.lineBuf = Buffer.alloc(this.maxLine);
  }

  /** Forgets any partial line or payload (e.g. after the port was reopened). */
  reset(): void {
    this.lineLen = 0;
    this.lineStart = 0;
    this.state = State.Line;
    this.discarded = 0;
    this.payloadParts = [];
    this.payloadLeft = 0;
    this.pending = undefined;
    this.expectPrompt = false;
  }

  /** True while the bytes of a +MQTTSUBRECV payload are still being counted. */
  get inPayload(): boolean {
    return this.state === State.Payload;
  }

  /**
   * Drops a +MQTTSUBRECV whose payload stopped short of its length (bytes lost on the
   * line), so that what comes next is read as lines again rather than as payload.
   */
  abandonPayload(): void {
    if (this.state !== State.Payload) return;
    let got = 0;
    for (const part of this.payloadParts) got += part.length;
    const header = this.pending?.header.length ?? 0;
    this.payloadParts = [];
    this.payloadLeft = 0;
    this.pending = undefined;
    this.state = State.Line;
    this.onEvent({ type: "discard", bytes: header + 1 + got, reason: "payload-incomplete" });
  }

  push(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (i < bytes.length) {
      switch (this.state) {
        case State.Payload: {
          // Payload bytes are taken in bulk: they are opaque and may be large.
          const take = Math.min(this.payloadLeft, bytes.length - i);
          this.payloadParts.push(Buffer.from(bytes.subarray(i, i + take)));
          this.payloadLeft -= take;
          i += take;
          if (this.payloadLeft === 0) this.finishPayload();
          break;
        }
        case State.PayloadEnd: {
          const b = bytes[i]!;
          if (b === CR) {
            i++;
          } else if (b === LF) {
            i++;
            this.state = State.Line;
          } else {
            // No line end after the payload: tolerate it and read on as a new line.
            this.state = State.Line;
          }
          break;
        }
        case State.Discard: {
          const lf = bytes.indexOf(LF, i);
          if (lf < 0) {
            this.discarded += bytes.length - i;
            i = bytes.length;
          } else {
            this.discarded += lf + 1 - i;
            i = lf + 1;
            this.state = State.Line;
            const dropped = this.discarded;
            this.discarded = 0;
            this.onEvent({ type: "discard", bytes: dropped, reason: "line-too-long" });
          }
          break;
        }
        case State.Line:
          this.lineByte(bytes[i]!);
          i++;
          break;
      }
    }
  }

  private lineByte(b: number): void {
    if (b === LF) {
      const line = Buffer.from(this.lineBuf.subarray(0, this.lineLen));
      this.lineLen = 0;
      this.lineStart = 0;
      let end = line.length;
      while (end > 0 && line[end - 1] === CR) end--;
      const event = classifyLine(end === line.length ? line : line.subarray(0, end));
      if (event) this.onEvent(event);
      return;
    }
    if (b === PROMPT && this.expectPrompt && this.lineStart === this.lineLen) {
      this.lineLen = 0;
      this.lineStart = 0;
      this.expectPrompt = false;
      this.onEvent({ type: "prompt" });
      return;
    }
    if (this.lineLen === this.maxLine) {
      this.discarded = this.lineLen + 1;
      this.lineLen = 0;
      this.lineStart = 0;
      this.state = State.Discard;
      return;
    }
    if (this.lineStart === this.lineLen && isBlank(b)) this.lineStart++;
    this.lineBuf[this.lineLen++] = b;
    if (b === COMMA && this.lineBuf[this.lineStart] === 0x2b) this.maybeStartPayload();
  }

  private maybeStartPayload(): void {
    const header = subrecvHeader(this.lineBuf, this.lineStart, this.lineLen);
    if (!header) return;
    if (header.length > this.maxPayload) {
      // Most likely a garbled length: let the rest be read as an ordinary line, which
      // resynchronises at the next line end.
      this.onEvent({ type: "discard", bytes: 0, reason: "payload-too-long" });
      return;
    }
    this.pending = {
      linkId: header.linkId,
      topic: header.topic,
      header: Buffer.from(this.lineBuf.subarray(this.lineStart, this.lineLen - 1)),
    };
    this.lineLen = 0;
    this.lineStart = 0;
    this.payloadParts = [];
    this.payloadLeft = header.length;
    if (header.length === 0) this.finishPayload();
    else this.state = State.Payload;
  }

  private finishPayload(): void {
    const pending = this.pending!;
    this.pending = undefined;
    const payload = this.payloadParts.length === 1 ? this.payloadParts[0]! : Buffer.concat(this.payloadParts);
    this.payloadParts = [];
    this.state = State.PayloadEnd;
    this.onEvent({ type: "subrecv", linkId: pending.linkId, topic: pending.topic, payload, line: pending.header });
  }
}

/** One comma-separated field of a response line. Responses are not escaped. */
export interface AtField {
  quoted: boolean;
  bytes: Buffer;
}

/**
 * Splits the parameters of a response line such as `+MQTTCONN:0,4,1,"host","1883","",1`
 * (everything after the first colon). A quoted field ends at a quote followed by a comma
 * or the end of the line, since quotes inside are not escaped.
 */
export function parseResponseFields(line: Buffer): AtField[] {
  const colon = line.indexOf(0x3a);
  let i = colon < 0 ? 0 : colon + 1;
  const fields: AtField[] = [];
  while (i <= line.length) {
    if (line[i] === QUOTE) {
      let close = i + 1;
      for (;;) {
        close = line.indexOf(QUOTE, close);
        if (close < 0 || close === line.length - 1 || line[close + 1] === COMMA) break;
        close++;
      }
      if (close < 0) {
        fields.push({ quoted: true, bytes: line.subarray(i + 1) });
        break;
      }
      fields.push({ quoted: true, bytes: line.subarray(i + 1, close) });
      i = close + 2;
    } else {
      let comma = line.indexOf(COMMA, i);
      if (comma < 0) comma = line.length;
      fields.push({ quoted: false, bytes: line.subarray(i, comma) });
      i = comma + 1;
    }
  }
  return fields;
}
