// Building AT command lines: string parameters are quoted with `\\`, `\"` and `\,` escaped
// (responses are never escaped, raw data after `>` neither). Everything is bytes, so a
// topic or payload with any UTF-8 or binary content goes through unchanged.

/** The longest command line the modem accepts, counting the closing CR LF. */
export const AT_MAX_COMMAND_BYTES = 256;

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** A parameter: numbers are written as decimal integers, strings and bytes quoted and escaped. */
export type AtParam = number | string | Uint8Array;

function bytesOf(value: string | Uint8Array): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Whether `value` can travel inside a quoted parameter at all: a CR or LF would end the
 * command line and the firmware cuts C strings at NUL. Such values need a raw-data command
 * (AT+MQTTPUBRAW, AT+MQTTLONG*).
 */
export function isAtStringSafe(value: string | Uint8Array): boolean {
  const bytes = bytesOf(value);
  return bytes.indexOf(0x00) < 0 && bytes.indexOf(0x0d) < 0 && bytes.indexOf(0x0a) < 0;
}

/** `value` with `\`, `"` and `,` escaped by a backslash (no surrounding quotes). */
export function escapeAtString(value: string | Uint8Array): Buffer {
  const bytes = bytesOf(value);
  let extra = 0;
  for (const b of bytes) if (b === BACKSLASH || b === QUOTE || b === COMMA) extra++;
  if (extra === 0) return Buffer.from(bytes);
  const out = Buffer.alloc(bytes.length + extra);
  let o = 0;
  for (const b of bytes) {
    if (b === BACKSLASH || b === QUOTE || b === COMMA) out[o++] = BACKSLASH;
    out[o++] = b;
  }
  return out;
}

/** The inverse of escapeAtString: a backslash takes the next byte literally. */
export function unescapeAtString(escaped: Uint8Array): Buffer {
  const out = Buffer.alloc(escaped.length);
  let o = 0;
  for (let i = 0; i < escaped.length; i++) {
    const b = escaped[i]!;
    if (b === BACKSLASH && i + 1 < escaped.length) {
      out[o++] = escaped[++i]!;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o);
}

/** `"value"` with the content escaped. */
export function quoteAtString(value: string | Uint8Array): Buffer {
  const escaped = escapeAtString(value);
  const out = Buffer.alloc(escaped.length + 2);
  out[0] = QUOTE;
  escaped.copy(out, 1);
  out[out.length - 1] = QUOTE;
  return out;
}

/** Thrown for a command that cannot be sent as one line; the message names the command. */
export class AtCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AtCommandError";
  }
}

/**
 * `name=p1,p2,...` as bytes (no CR LF), or just `name` without parameters. Throws
 * AtCommandError for a string parameter that cannot be quoted or a number that is not an
 * integer; the length limit is checked separately (checkAtCommand) so callers can fall
 * back to a raw-data command.
 */
export function buildAtCommand(name: string, params: readonly AtParam[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from(name, "latin1")];
  params.forEach((param, index) => {
    parts.push(Buffer.from(index === 0 ? "=" : ",", "latin1"));
    if (typeof param === "number") {
      if (!Number.isSafeInteger(param)) {
        throw new AtCommandError(`${name}: parameter ${index + 1} must be an integer, got ${param}`);
      }
      parts.push(Buffer.from(String(param), "latin1"));
    } else {
      if (!isAtStringSafe(param)) {
        throw new AtCommandError(`${name}: parameter ${index + 1} contains a NUL, CR or LF byte, which an AT command line cannot carry`);
      }
      parts.push(quoteAtString(param));
    }
  });
  return Buffer.concat(parts);
}

/** Bytes the command takes on the wire, CR LF included. */
export function atCommandLength(command: string | Uint8Array): number {
  return bytesOf(command).length + 2;
}

export function fitsAtCommand(command: string | Uint8Array): boolean {
  return atCommandLength(command) <= AT_MAX_COMMAND_BYTES;
}

/** The command's name for messages: `AT+MQTTPUB` for `AT+MQTTPUB=0,...`, `AT+MQTTCONN?` for the query. */
export function atCommandName(command: string | Uint8Array): string {
  const bytes = bytesOf(command);
  let end = 0;
  while (end < bytes.length && end < 64) {
    const b = bytes[end]!;
    if (b === 0x3d /* = */ || b === 0x0d || b === 0x0a || b === 0x20) break;
    end++;
    if (b === 0x3f /* ? */) break;
  }
  return bytes.toString("latin1", 0, end);
}

/** Throws AtCommandError when the command would not fit one modem command line or contains a line end. */
export function checkAtCommand(command: string | Uint8Array): void {
  const bytes = bytesOf(command);
  const name = atCommandName(bytes);
  if (bytes.indexOf(0x0d) >= 0 || bytes.indexOf(0x0a) >= 0) {
    throw new AtCommandError(`AT command ${name} contains a CR or LF byte; it would be cut into two commands`);
  }
  const length = bytes.length + 2;
  if (length > AT_MAX_COMMAND_BYTES) {
    throw new AtCommandError(
      `AT command ${name} is ${length} bytes with its line end; the modem accepts at most ${AT_MAX_COMMAND_BYTES}`,
    );
  }
}

/**
 * Splits the parameters of a command line (what follows `=`), undoing the escapes in
 * quoted ones. Used to read a command's own timeout parameter; the emulator may use it to
 * parse what the host sent.
 */
export function splitAtParams(command: Uint8Array): Array<{ quoted: boolean; bytes: Buffer }> {
  const bytes = bytesOf(command);
  const eq = bytes.indexOf(0x3d);
  if (eq < 0) return [];
  const out: Array<{ quoted: boolean; bytes: Buffer }> = [];
  let i = eq + 1;
  while (i <= bytes.length) {
    if (bytes[i] === QUOTE) {
      let j = i + 1;
      while (j < bytes.length && bytes[j] !== QUOTE) j += bytes[j] === BACKSLASH ? 2 : 1;
      out.push({ quoted: true, bytes: unescapeAtString(bytes.subarray(i + 1, Math.min(j, bytes.length))) });
      // skip the closing quote and anything up to the next separator
      let k = j + 1;
      while (k < bytes.length && bytes[k] !== COMMA) k++;
      i = k + 1;
    } else {
      let k = i;
      while (k < bytes.length && bytes[k] !== COMMA) k++;
      out.push({ quoted: false, bytes: Buffer.from(bytes.subarray(i, k)) });
      i = k + 1;
    }
  }
  return out;
}
