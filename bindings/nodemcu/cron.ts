// NodeMCU `cron`: crontab masks (minute hour day-of-month month day-of-week, UTC; lists
// and */n steps, no ranges) matched against the RTC clock (rtctime), which stays unset
// until rtctime.set or sntp.sync. As in cron.c, a timer starts a second after the module
// opens, runs the entries of the minute it lands in, then re-arms for each following minute
// boundary; a day must match both its day-of-month and its day-of-week fields.
import { checkUserdata, pushUserdata, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkFunction, raise } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { rtcClockOf } from "./rtctime.js";

const METATABLE = "cron.entry";
const WAIT_FOR_TIME_MS = 1000;

export interface CronMask {
  /** Bit i set: minute i (0..59). */
  min: bigint;
  hour: number;
  /** Bit i: day i + 1. */
  dom: number;
  /** Bit i: month i + 1. */
  mon: number;
  /** Bit 0: Sunday. */
  dow: number;
}

/** strtol on a 32-bit long: leading white space, a sign, digits; the end where it stopped. */
function strtol(text: string, at: number): { value: number; end: number } {
  let i = at;
  while (i < text.length && " \t\n\v\f\r".includes(text[i] as string)) i++;
  let sign = 1;
  if (text[i] === "+" || text[i] === "-") {
    if (text[i] === "-") sign = -1;
    i++;
  }
  const digitsAt = i;
  let value = 0;
  while (i < text.length && text[i]! >= "0" && text[i]! <= "9") value = Math.min(value * 10 + Number(text[i++]), 2 ** 31);
  if (i === digitsAt) return { value: 0, end: at };
  return { value: sign > 0 ? Math.min(value, 2 ** 31 - 1) : -value, end: i };
}

// A field: a star, a star with a /n step, or a comma list; throws cron.c's message for a bad value.
function parseField(text: string, at: number, min: number, max: number): { bits: bigint; end: number } {
  let i = at;
  while (text[i] === " " || text[i] === "\t") i++;
  let bits = 0n;
  if (text[i] === "*") {
    let each = 1;
    let end = i + 1;
    if (text[i + 1] === "/") {
      const step = strtol(text, i + 2);
      each = step.value >>> 0;
      end = step.end;
      if (each === 0 || each >= max - min) throw new Error(`invalid spec (each ${each | 0})`);
    }
    for (let k = 0; k <= max - min; k++) if (k % each === 0) bits |= 1n << BigInt(k);
    return { bits, end };
  }
  for (;;) {
    const { value, end } = strtol(text, i);
    const unsigned = value >>> 0;
    if (unsigned < min || unsigned > max) throw new Error(`invalid spec (val ${value | 0} out of range ${min}..${max})`);
    bits |= 1n << BigInt(unsigned - min);
    if (text[end] !== ",") return { bits, end };
    i = end + 1;
  }
}

export function parseCronMask(text: string): CronMask {
  const fields: bigint[] = [];
  const ranges: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];
  let at = 0;
  for (const [index, [min, max]] of ranges.entries()) {
    const { bits, end } = parseField(text, index === 0 ? at : at + 1, min, max);
    fields.push(bits);
    at = end;
    if (index < ranges.length - 1 && text[at] !== " " && text[at] !== "\t") throw new Error(`invalid spec (separator @${at})`);
  }
  while (text[at] === " " || text[at] === "\t") at++;
  if (at < text.length) throw new Error(`invalid spec (trailing @${at})`);
  const [min, hour, dom, mon, dow] = fields as [bigint, bigint, bigint, bigint, bigint];
  return { min, hour: Number(hour), dom: Number(dom), mon: Number(mon), dow: Number(dow) };
}

export function maskMatches(mask: CronMask, date: Date): boolean {
  return (mask.mon & (1 << date.getUTCMonth())) !== 0
    && (mask.dom & (1 << (date.getUTCDate() - 1))) !== 0
    && (mask.dow & (1 << date.getUTCDay())) !== 0
    && (mask.hour & (1 << date.getUTCHours())) !== 0
    && (mask.min & (1n << BigInt(date.getUTCMinutes()))) !== 0n;
}

/**
 * cron.c's timer step at RTC time sec.usec: the minute whose entries run now and the delay
 * to the next step. A step that lands in second 59 (a timer a little early) runs the next
 * minute and skips to the boundary after it.
 */
export function cronStep(sec: number, usec: number): { minute: Date; delayMs: number } {
  let t = sec;
  const seconds = ((t % 60) + 60) % 60;
  let delayMs = 60000 - seconds * 1000 - Math.floor(usec / 1000);
  if (seconds === 59) {
    t++;
    delayMs += 60000;
  }
  return { minute: new Date(t * 1000), delayMs };
}

function maskOf(L: LuaState, bytes: Uint8Array): CronMask {
  // Bytes as latin1, so error positions count bytes; a C string ends at the first NUL.
  const text = Buffer.from(bytes).toString("latin1");
  try {
    return parseCronMask(text.split("\0", 1)[0] as string);
  } catch (error) {
    return raise(L, (error as Error).message);
  }
}

interface Entry {
  mask: CronMask;
  callbackRef: number;
}

class Cron {
  /** Scheduled entries with the registry reference that keeps each entry object alive. */
  readonly scheduled: Array<{ entry: Entry; selfRef: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private release: (() => void) | undefined;

  constructor(private readonly board: Board) {
    board.own(() => clearTimeout(this.timer));
    this.arm(WAIT_FOR_TIME_MS);
  }

  /** Scheduled entries keep the script running, as timers do; without any the run may end. */
  changed(): void {
    if (this.scheduled.length > 0 && !this.release) this.release = this.board.hold();
    if (this.scheduled.length === 0 && this.release) {
      this.release();
      this.release = undefined;
    }
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.board.post(() => this.tick()), delayMs);
  }

  private tick(): void {
    const [sec, usec] = rtcClockOf(this.board).now();
    if (sec === 0) {
      this.arm(WAIT_FOR_TIME_MS);
      return;
    }
    const { minute, delayMs } = cronStep(sec, usec);
    this.arm(delayMs);
    // Indexed like cron.c's loop: an entry unscheduling itself shifts the next one into its place.
    for (let i = 0; i < this.scheduled.length; i++) {
      const { entry, selfRef } = this.scheduled[i]!;
      if (!maskMatches(entry.mask, minute)) continue;
      this.board.callRef(entry.callbackRef, (L) => {
        this.board.pushRef(L, selfRef);
        return 1;
      });
    }
  }
}

const cronOf = perBoard((board) => new Cron(board));

const schedule = (L: LuaState): number => {
  const text = checkBytes(L, 1);
  checkFunction(L, 2);
  const mask = maskOf(L, text);
  const board = boardOf(L);
  const cron = cronOf(board);
  const entry: Entry = { mask, callbackRef: board.ref(L, 2) };
  pushUserdata(L, entry, METATABLE);
  cron.scheduled.push({ entry, selfRef: board.ref(L, -1) });
  cron.changed();
  return 1;
};

const reset = (L: LuaState): number => {
  const board = boardOf(L);
  const cron = cronOf(board);
  for (const { selfRef } of cron.scheduled) board.unref(selfRef);
  cron.scheduled.length = 0;
  cron.changed();
  return 0;
};

const entrySchedule = (L: LuaState): number => {
  const entry = checkUserdata<Entry>(L, 1, METATABLE);
  entry.mask = maskOf(L, checkBytes(L, 2));
  const board = boardOf(L);
  const cron = cronOf(board);
  if (!cron.scheduled.some((s) => s.entry === entry)) {
    cron.scheduled.push({ entry, selfRef: board.ref(L, 1) });
    cron.changed();
  }
  return 0;
};

const entryHandler = (L: LuaState): number => {
  const entry = checkUserdata<Entry>(L, 1, METATABLE);
  checkFunction(L, 2);
  const board = boardOf(L);
  board.unref(entry.callbackRef);
  entry.callbackRef = board.ref(L, 2);
  return 0;
};

const entryUnschedule = (L: LuaState): number => {
  const entry = checkUserdata<Entry>(L, 1, METATABLE);
  const board = boardOf(L);
  const cron = cronOf(board);
  const index = cron.scheduled.findIndex((s) => s.entry === entry);
  if (index >= 0) {
    board.unref(cron.scheduled[index]!.selfRef);
    cron.scheduled.splice(index, 1);
    cron.changed();
  }
  return 0;
};

export const cron = defineModule("cron", {
  functions: { schedule, reset },
  metatables: { [METATABLE]: { methods: { schedule: entrySchedule, handler: entryHandler, unschedule: entryUnschedule } } },
  setup: (_L, board) => {
    cronOf(board);
  },
});
