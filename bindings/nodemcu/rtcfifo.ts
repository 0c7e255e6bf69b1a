// NodeMCU `rtcfifo`: the sensor-sample FIFO kept in RTC user memory (rtcmem's slots), in
// the firmware's own layout: control block in slots 10..20, sensor names then packed
// 32-bit entries (16-bit value, 3-bit decimals, 9-bit time delta, 4-bit name index) in
// 32..127 by default. rtcmem.read32 sees the same words, and the FIFO survives restarts
// and deep sleep within a run as the memory does.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, raise } from "../../engine/args.js";
import { boardOf } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { rtcMemoryOf, readSlot, writeSlot } from "./rtcmem.js";
import { rtcClockOf } from "./rtctime.js";

const BASE = 10;
const MAGIC = 0x44695553;
const MAGIC_POS = BASE;
const ALIGNMENT_POS = BASE + 1;
const SAMPLES_TO_TAKE_POS = BASE + 3;
const SAMPLES_PER_BOOT_POS = BASE + 4;
const LOC_POS = BASE + 5;
const COUNT_POS = BASE + 6;
const TAIL_POS = BASE + 7;
const HEAD_POS = BASE + 8;
const TAIL_T_POS = BASE + 9;
const HEAD_T_POS = BASE + 10;
const DEFAULT_START = 32;
const DEFAULT_END = 128;
const DEFAULT_TAGS = 5;
const MAX_DELTA = 0x1ff;

interface Sample {
  timestamp: number;
  value: number;
  decimals: number;
  tag: number;
}

/** The FIFO's operations over one memory, word for word as rtcfifo.h keeps them. */
class Fifo {
  constructor(private readonly memory: Uint32Array) {}

  private get(idx: number): number {
    return readSlot(this.memory, idx);
  }

  private put(idx: number, value: number): void {
    writeSlot(this.memory, idx, value);
  }

  get ready(): boolean {
    return this.get(MAGIC_POS) === MAGIC;
  }

  get count(): number {
    return this.get(COUNT_POS);
  }

  get alignment(): number {
    return this.get(ALIGNMENT_POS);
  }

  private get tagPos(): number {
    return this.get(LOC_POS) & 0xff;
  }

  private get tagCount(): number {
    return (this.get(LOC_POS) >>> 16) & 0xff;
  }

  private get first(): number {
    return this.tagPos + this.tagCount;
  }

  private get last(): number {
    return (this.get(LOC_POS) >>> 8) & 0xff;
  }

  private normalise(idx: number): number {
    return idx >= this.last ? this.first : idx;
  }

  setLocation(first: number, last: number, tagCount: number): void {
    this.put(LOC_POS, first + (last << 8) + (tagCount << 16));
  }

  prepare(intervalUs: number, tagCount: number): void {
    this.put(SAMPLES_PER_BOOT_POS, 0);
    this.put(ALIGNMENT_POS, intervalUs);
    this.put(SAMPLES_TO_TAKE_POS, 0);
    this.setLocation(DEFAULT_START, DEFAULT_END, tagCount === 0 ? DEFAULT_TAGS : tagCount);
    this.clear();
    this.put(MAGIC_POS, MAGIC);
  }

  private clear(): void {
    const first = this.first;
    this.put(TAIL_POS, first);
    this.put(HEAD_POS, first);
    this.put(COUNT_POS, 0);
    this.put(TAIL_T_POS, 0);
    this.put(HEAD_T_POS, 0);
    for (let i = 0, at = this.tagPos; i < this.tagCount; i++) this.put(at + i, 0);
  }

  private sampleOf(entry: number, timestamp: number): Sample {
    return { timestamp, value: entry & 0xffff, decimals: (entry >>> 25) & 7, tag: this.get(this.tagPos + ((entry >>> 28) & 0xf)) };
  }

  pop(): Sample | undefined {
    if (this.count === 0) return undefined;
    let head = this.get(HEAD_POS);
    const entry = this.get(head);
    const timestamp = (this.get(HEAD_T_POS) + ((entry >>> 16) & MAX_DELTA)) >>> 0;
    const sample = this.sampleOf(entry, timestamp);
    head = this.normalise(head + 1);
    this.put(HEAD_POS, head);
    this.put(HEAD_T_POS, timestamp);
    this.put(COUNT_POS, this.count - 1);
    return sample;
  }

  peek(offset: number): Sample | undefined {
    if (this.count <= offset) return undefined;
    let head = this.get(HEAD_POS);
    let entry = this.get(head);
    let timestamp = this.get(HEAD_T_POS) + ((entry >>> 16) & MAX_DELTA);
    for (let i = 0; i < offset; i++) {
      head = this.normalise(head + 1);
      entry = this.get(head);
      timestamp += (entry >>> 16) & MAX_DELTA;
    }
    return this.sampleOf(entry, timestamp >>> 0);
  }

  drop(n: number): void {
    const count = this.count;
    let left = Math.min(n, count);
    let head = this.get(HEAD_POS);
    let headT = this.get(HEAD_T_POS);
    while (left-- > 0) {
      headT += (this.get(head) >>> 16) & MAX_DELTA;
      head = this.normalise(head + 1);
      this.put(COUNT_POS, this.count - 1);
    }
    this.put(HEAD_POS, head);
    this.put(HEAD_T_POS, headT);
  }

  /** The name's slot, claiming a free one; -1 when all are taken by other names. */
  private tagIndex(tag: number): number {
    const at = this.tagPos;
    for (let i = 0; i < this.tagCount; i++) {
      const stored = this.get(at + i);
      if (stored === tag) return i;
      if (stored === 0) {
        this.put(at + i, tag);
        return i;
      }
    }
    return -1;
  }

  store(sample: Sample): void {
    let head = this.get(HEAD_POS);
    let tail = this.get(TAIL_POS);
    let count = this.count;
    let tagIndex = this.tagIndex(sample.tag);
    if (count === 0) {
      this.put(HEAD_T_POS, sample.timestamp);
      this.put(TAIL_T_POS, sample.timestamp);
    }
    const gap = (sample.timestamp - this.get(TAIL_T_POS)) >>> 0;
    const delta = gap > MAX_DELTA ? -1 : gap;
    if (tagIndex < 0 || delta < 0) {
      // A gap too long for the delta field, or one name too many: the firmware starts over.
      this.clear();
      this.put(HEAD_T_POS, sample.timestamp);
      this.put(TAIL_T_POS, sample.timestamp);
      head = this.get(HEAD_POS);
      tail = this.get(TAIL_POS);
      count = this.count;
      // The entry keeps the delta computed before starting over (all ones after a long
      // gap), so the firmware reads this sample back that many seconds late.
      tagIndex = this.tagIndex(sample.tag);
      if (tagIndex < 0) return;
    }
    if (head === tail && count > 0) this.pop();
    const entry = ((sample.value & 0xffff) + ((delta & MAX_DELTA) << 16) + ((sample.decimals & 7) << 25) + ((tagIndex & 0xf) << 28)) >>> 0;
    this.put(tail, entry);
    this.put(TAIL_POS, this.normalise(tail + 1));
    this.put(TAIL_T_POS, sample.timestamp);
    this.put(COUNT_POS, this.count + 1);
  }
}

function fifoOf(L: LuaState): Fifo {
  return new Fifo(rtcMemoryOf(boardOf(L)));
}

function preparedFifo(L: LuaState): Fifo {
  const fifo = fifoOf(L);
  if (!fifo.ready) raise(L, "rtcfifo not prepared!");
  return fifo;
}

function numberField(L: LuaState, name: string): number | undefined {
  lua.lua_getfield(L, 1, name);
  const value = lua.lua_isnumber(L, -1) ? lua.lua_tointegerx(L, -1) : false;
  lua.lua_pop(L, 1);
  return value === false ? undefined : value;
}

const prepare = (L: LuaState): number => {
  let tagCount = DEFAULT_TAGS;
  let interval = 0;
  let first: number | undefined;
  let last: number | undefined;
  if (lua.lua_istable(L, 1)) {
    interval = numberField(L, "interval_us") ?? 0;
    tagCount = numberField(L, "sensor_count") ?? DEFAULT_TAGS;
    first = numberField(L, "storage_begin");
    last = numberField(L, "storage_end");
  } else if (lua.lua_type(L, 1) !== lua.LUA_TNONE) {
    raise(L, "expected table as arg #1");
  }
  const fifo = fifoOf(L);
  fifo.prepare(interval >>> 0, tagCount >>> 0);
  // Like the firmware, the storage range is set after the FIFO was cleared at its default place.
  if (first !== undefined && last !== undefined && first !== -1 && last !== -1) fifo.setLocation(first, last, tagCount);
  return 0;
};

const ready = (L: LuaState): number => {
  lua.lua_pushinteger(L, fifoOf(L).ready ? 1 : 0);
  return 1;
};

/** Up to four bytes of the name, stopping at a NUL, little-endian in one word. */
function tagOf(name: Uint8Array): number {
  let tag = 0;
  for (let i = 0; i < 4 && i < name.length && name[i] !== 0; i++) tag += (name[i] as number) * 2 ** (8 * i);
  return tag;
}

function nameOf(tag: number): Uint8Array {
  const bytes = Uint8Array.of(tag & 0xff, (tag >>> 8) & 0xff, (tag >>> 16) & 0xff, (tag >>> 24) & 0xff);
  const end = bytes[3] === 0 ? bytes.indexOf(0) : 4;
  return bytes.subarray(0, end);
}

const put = (L: LuaState): number => {
  const fifo = preparedFifo(L);
  const timestamp = checkInteger(L, 1) >>> 0;
  const value = checkInteger(L, 2) >>> 0;
  const decimals = checkInteger(L, 3) >>> 0;
  const tag = tagOf(checkBytes(L, 4));
  fifo.store({ timestamp, value, decimals, tag });
  return 0;
};

function pushSample(L: LuaState, sample: Sample | undefined): number {
  if (!sample) return 0;
  lua.lua_pushinteger(L, sample.timestamp | 0);
  lua.lua_pushinteger(L, sample.value);
  lua.lua_pushinteger(L, sample.decimals);
  pushBytes(L, nameOf(sample.tag));
  return 4;
}

const pop = (L: LuaState): number => pushSample(L, preparedFifo(L).pop());

const peek = (L: LuaState): number => {
  const fifo = preparedFifo(L);
  const offset = lua.lua_isnumber(L, 1) ? (lua.lua_tointegerx(L, 1) || 0) >>> 0 : 0;
  return pushSample(L, fifo.peek(offset));
};

const drop = (L: LuaState): number => {
  const fifo = preparedFifo(L);
  fifo.drop(checkInteger(L, 1) >>> 0);
  return 0;
};

const count = (L: LuaState): number => {
  lua.lua_pushinteger(L, preparedFifo(L).count | 0);
  return 1;
};

/** rtctime.dsleep_aligned with the prepared interval, without its check for a set clock. */
const dsleepUntilSample = (L: LuaState): number => {
  const fifo = preparedFifo(L);
  const min = checkInteger(L, 1) >>> 0;
  const board = boardOf(L);
  const [sec, usec] = rtcClockOf(board).now();
  const now = sec * 1e6 + usec;
  const align = fifo.alignment;
  let then = now + min;
  if (align) then = Math.ceil(then / align) * align;
  board.host.requestReboot(Math.floor((then - now) / 1000));
  return 0;
};

export const rtcfifo = defineModule("rtcfifo", {
  functions: { prepare, ready, put, pop, peek, drop, count, dsleep_until_sample: dsleepUntilSample },
});
