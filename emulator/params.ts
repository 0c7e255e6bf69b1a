// Splitting an AT command line into its name, form and parameters, the way ESP-AT reads
// them: quoted strings where a backslash takes the next byte literally (so \\, \" and \,
// are escapes), bare decimal integers, empty slots.
// Everything stays bytes: a client id or topic may hold any byte the line can carry.

export type CommandForm = "execute" | "query" | "set" | "test";

export interface ParsedCommand {
  /** `AT`, `ATE0`, `ATE1` or `AT+NAME` (upper case as sent). */
  name: string;
  form: CommandForm;
  /** The bytes after `=` for the set form. */
  args: Buffer;
}

const A = 0x41;
const T = 0x54;
const PLUS = 0x2b;
const EQUALS = 0x3d;
const QUESTION = 0x3f;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isNameByte(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f;
}

/** Reads a command line (without its CR LF); undefined when it is not an AT command at all. */
export function parseCommandLine(line: Buffer): ParsedCommand | undefined {
  // Firmware matches the prefix exactly: "at", "At" and "aT" are not commands.
  if (line.length < 2 || line[0] !== A || line[1] !== T) return undefined;
  if (line.length === 2) return { name: "AT", form: "execute", args: Buffer.alloc(0) };
  let i = 2;
  let name: string;
  if (line[i] === PLUS) {
    i++;
    const start = i;
    while (i < line.length && isNameByte(line[i] as number)) i++;
    if (i === start) return undefined;
    name = `AT+${line.toString("latin1", start, i)}`;
  } else {
    // Basic commands without "+": ATE0, ATE1 (and anything else that will be refused).
    const start = i;
    while (i < line.length && isNameByte(line[i] as number)) i++;
    if (i === start) return undefined;
    name = `AT${line.toString("latin1", start, i)}`;
    if (i !== line.length) return undefined;
    return { name, form: "execute", args: Buffer.alloc(0) };
  }
  if (i === line.length) return { name, form: "execute", args: Buffer.alloc(0) };
  if (line[i] === QUESTION && i + 1 === line.length) return { name, form: "query", args: Buffer.alloc(0) };
  if (line[i] === EQUALS) {
    if (i + 2 === line.length && line[i + 1] === QUESTION) return { name, form: "test", args: Buffer.alloc(0) };
    return { name, form: "set", args: line.subarray(i + 1) };
  }
  return undefined;
}

export type Param =
  | { kind: "int"; value: number }
  | { kind: "str"; value: Buffer }
  | { kind: "empty" }
  /** Present but neither a quoted string nor an integer. */
  | { kind: "bad" };

/** Splits set-form arguments; undefined when a quoted string is left open or garbage follows one. */
export function splitParams(args: Buffer): Param[] | undefined {
  const params: Param[] = [];
  let i = 0;
  for (;;) {
    if (args[i] === QUOTE) {
      const bytes: number[] = [];
      i++;
      let closed = false;
      while (i < args.length) {
        const byte = args[i] as number;
        // ESP-AT drops the backslash before any byte (AT_Command_Set/index.rst: `\<any>`),
        // which is what makes `\\`, `\"` and `\,` escapes.
        if (byte === BACKSLASH && i + 1 < args.length) {
          bytes.push(args[i + 1] as number);
          i += 2;
          continue;
        }
        if (byte === QUOTE) {
          closed = true;
          i++;
          break;
        }
        bytes.push(byte);
        i++;
      }
      if (!closed) return undefined;
      params.push({ kind: "str", value: Buffer.from(bytes) });
      if (i === args.length) return params;
      if (args[i] !== COMMA) return undefined;
      i++;
      continue;
    }
    let end = args.indexOf(COMMA, i);
    if (end < 0) end = args.length;
    const token = args.toString("latin1", i, end);
    if (token === "") params.push({ kind: "empty" });
    else if (/^-?\d{1,10}$/.test(token)) params.push({ kind: "int", value: Number(token) });
    else params.push({ kind: "bad" });
    if (end === args.length) return params;
    i = end + 1;
  }
}

/** Typed access to parameters; `undefined` means absent or of the wrong kind. */
export class Params {
  constructor(readonly list: readonly Param[]) {}

  get count(): number {
    return this.list.length;
  }

  int(index: number): number | undefined {
    const p = this.list[index];
    return p?.kind === "int" ? p.value : undefined;
  }

  str(index: number): Buffer | undefined {
    const p = this.list[index];
    return p?.kind === "str" ? p.value : undefined;
  }

  isEmpty(index: number): boolean {
    const p = this.list[index];
    return p === undefined || p.kind === "empty";
  }
}
