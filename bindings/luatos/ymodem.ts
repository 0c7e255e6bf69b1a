// LuatOS `ymodem`: the receiving side of YMODEM, fed whatever bytes the script read (usually
// from a UART into a zbuff) and answering the byte to send back. It follows the firmware's
// state machine: 'C' while idle, the header block (name, decimal size) opens the file in
// the save folder (or the forced path), data blocks (128 or 1024 bytes, CRC-16/XMODEM,
// sequence numbers) are written up to the announced size, EOT is NAKed once then ACKed
// with 'C', and an empty header ends the batch. Like the firmware's binding, a string
// argument is read from the wrong stack slot and counts as no data: only a zbuff delivers.
import { closeSync, openSync, writeSync } from "node:fs";
import { lua, bytesOf, checkUserdata, type LuaState } from "../../engine/lua.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { timestamp } from "./log.js";
import { ZBUFF_METATABLE, type Zbuff } from "./zbuff.js";
import { resolveDevicePath, ensureFlashRoot } from "./device-files.js";

const FLAG = 0x43;
const SOH = 0x01;
const STX = 0x02;
const EOT = 0x04;
const ACK = 0x06;
const NAK = 0x15;
const CAN = 0x18;
const SHORT = 128;
const LONG = 1024;

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

interface Reply { ok: boolean; ack: number; flag: number; fileDone: boolean; allDone: boolean }

class Receiver {
  private state = 0;
  private nextSn = 0;
  private fileSize = 0;
  private written = 0;
  private fd: number | undefined;
  private packet = new Uint8Array(LONG + 8);
  private pos = 0;
  private max = 0;

  constructor(private readonly board: Board, private readonly saveDir: string, private readonly forcedPath: string | undefined) {}

  private debug(message: string): void {
    this.board.write(bytesOf(`${timestamp()}D/ymodem ${message}\n`));
  }

  reset(): void {
    this.state = 0;
    this.nextSn = 0;
    this.fileSize = 0;
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** luat_fs_fopen(path, "w"): a failed open leaves no file, and the data goes nowhere. */
  private openFile(devicePath: string): void {
    try {
      const target = resolveDevicePath(this.board, devicePath);
      if (target.kind !== "flash" || target.rest === "") return;
      ensureFlashRoot(this.board);
      this.fd = openSync(target.path, "w");
    } catch {
      this.fd = undefined;
    }
  }

  receive(data: Uint8Array): Reply {
    const reply: Reply = { ok: true, ack: 0, flag: 0, fileDone: false, allDone: false };
    const fail = (): Reply => {
      this.pos = 0;
      return { ok: false, ack: NAK, flag: 0, fileDone: false, allDone: false };
    };
    const cancel = (): Reply => {
      this.reset();
      return { ...reply, ack: ACK, allDone: true };
    };
    const accepted = (): Reply => {
      this.pos = 0;
      this.nextSn = (this.nextSn + 1) & 0xff;
      reply.ack = ACK;
      if (this.fileSize && this.written >= this.fileSize) {
        this.closeFile();
        this.state = 2;
        reply.fileDone = true;
      }
      return reply;
    };
    const blockCrcOk = (length: number): boolean => {
      const expected = ((this.packet[length + 3] as number) << 8) | (this.packet[length + 4] as number);
      const actual = crc16(this.packet.subarray(3, 3 + length));
      if (actual !== expected) this.debug(`crc16 ${actual.toString(16)} ${expected.toString(16)} `);
      return actual === expected;
    };
    const head = (): string => `head ${[0, 1, 2].map((i) => (this.packet[i] as number).toString(16)).join(" ")}`;

    switch (this.state) {
      case 0: {
        if (data.length === 0) return { ...reply, ack: FLAG };
        if (this.pos === 0) {
          if (data[0] === STX) this.max = LONG;
          else if (data[0] === SOH) this.max = SHORT;
          else if (data[0] === CAN) return cancel();
          else return fail();
        }
        if (this.pos + data.length < this.max + 5) {
          this.packet.set(data, this.pos);
          this.pos += data.length;
          return reply;
        }
        this.packet.set(data.subarray(0, this.max + 5 - this.pos), this.pos);
        if (this.packet[1] !== 0x00 || this.packet[2] !== 0xff) {
          this.debug(head());
          return fail();
        }
        if (!blockCrcOk(this.max)) return fail();
        if (this.packet[3] === 0) {
          // An empty name: the sender has no more files.
          this.reset();
          return { ...reply, ack: ACK, allDone: true };
        }
        const body = this.packet.subarray(3, this.max + 5);
        const nameEnd = body.indexOf(0);
        const sizeEnd = nameEnd < 0 ? -1 : body.indexOf(0, nameEnd + 1);
        if (nameEnd < 0) return this.debug("name end"), fail();
        if (sizeEnd < 0) return this.debug("len end"), fail();
        // strtol: leading blanks and a sign, then the decimal digits up to the first other byte.
        const sizeText = /^\s*([+-]?\d+)/.exec(Buffer.from(body.subarray(nameEnd + 1, sizeEnd)).toString("latin1"));
        this.fileSize = sizeText ? Number(sizeText[1]) >>> 0 : 0;
        this.written = 0;
        const path = this.forcedPath ?? `${this.saveDir}${Buffer.from(body.subarray(0, nameEnd)).toString("latin1")}`;
        this.openFile(path);
        this.debug(`${path},${this.fileSize},${this.fd === undefined ? 0 : this.fd.toString(16)}`);
        this.state = 1;
        this.nextSn = 0;
        this.max = LONG + 5;
        reply.flag = FLAG;
        return accepted();
      }
      case 1: {
        if (data.length === 0) return reply;
        let chunk = data;
        if (this.pos === 0) {
          if (data[0] === STX) this.max = LONG + 5;
          else if (data[0] === SOH) this.max = SHORT + 5;
          else if (data[0] === CAN) return cancel();
          else {
            this.debug((data[0] as number).toString(16));
            return fail();
          }
          chunk = data.subarray(0, LONG + 8);
          this.packet.set(chunk, 0);
          this.pos = chunk.length;
          if (chunk.length < this.max) return reply;
        } else if (this.pos + data.length >= this.max) {
          this.packet.set(data.subarray(0, this.max - this.pos), this.pos);
        } else {
          this.packet.set(data, this.pos);
          this.pos += data.length;
          return reply;
        }
        const length = this.packet[0] === SOH ? SHORT : LONG;
        if (this.packet[1] !== this.nextSn || this.packet[2] !== 255 - this.nextSn) {
          this.debug(this.packet[0] === SOH ? `${head()},${this.nextSn}` : head());
          return fail();
        }
        if (!blockCrcOk(length)) return fail();
        const count = Math.min(length, this.fileSize - this.written);
        if (this.fd !== undefined) writeSync(this.fd, this.packet, 3, count);
        this.written += count;
        return accepted();
      }
      case 2:
        if (data.length === 0) return reply;
        if (data[0] === EOT) {
          this.state = 3;
          this.pos = 0;
          this.closeFile();
          return { ...reply, ack: NAK };
        }
        if (data[0] === CAN) return cancel();
        return fail();
      case 3:
        if (data[0] === EOT) {
          this.state = 0;
          return { ...reply, ack: ACK, flag: FLAG };
        }
        return fail();
      default:
        return { ...reply, ok: false };
    }
  }
}

/** The handle create returns: a light userdata, emptied by release. */
class Handle {
  receiver: Receiver | undefined;
  constructor(receiver: Receiver) {
    this.receiver = receiver;
  }
}

function handleAt(L: LuaState): Handle | undefined {
  if (lua.lua_type(L, 1) !== lua.LUA_TLIGHTUSERDATA) return undefined;
  const value: unknown = lua.lua_touserdata(L, 1);
  return value instanceof Handle ? value : undefined;
}

const textAt = (L: LuaState, arg: number): string | undefined =>
  lua.lua_isstring(L, arg) ? Buffer.from(lua.lua_tolstring(L, arg) as Uint8Array).toString("latin1") : undefined;

const create = (L: LuaState): number => {
  const dir = textAt(L, 1) ?? "/";
  const forced = textAt(L, 2);
  const receiver = new Receiver(boardOf(L), dir.endsWith("/") ? dir : `${dir}/`, forced);
  lua.lua_pushlightuserdata(L, new Handle(receiver));
  return 1;
};

const receive = (L: LuaState): number => {
  const handle = handleAt(L);
  if (!handle?.receiver) {
    boardOf(L).write(bytesOf(`${timestamp()}E/ymodem ${handle ? "handler->ctrl is nil!!!" : "handler is nil!!!"}\n`));
    lua.lua_pushboolean(L, false);
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    lua.lua_pushboolean(L, false);
    lua.lua_pushboolean(L, false);
    return 5;
  }
  let data: Uint8Array = new Uint8Array(0);
  const kind = lua.lua_type(L, 2);
  if (kind === lua.LUA_TUSERDATA || kind === lua.LUA_TLIGHTUSERDATA) data = checkUserdata<Zbuff>(L, 2, ZBUFF_METATABLE).used();
  const reply = handle.receiver.receive(data);
  lua.lua_pushboolean(L, reply.ok);
  lua.lua_pushinteger(L, reply.ack);
  if (reply.flag) lua.lua_pushinteger(L, reply.flag);
  else lua.lua_pushnil(L);
  lua.lua_pushboolean(L, reply.fileDone);
  lua.lua_pushboolean(L, reply.allDone);
  return 5;
};

const reset = (L: LuaState): number => {
  handleAt(L)?.receiver?.reset();
  return 0;
};

const release = (L: LuaState): number => {
  const handle = handleAt(L);
  handle?.receiver?.reset();
  if (handle) handle.receiver = undefined;
  return 0;
};

export const ymodem = defineModule("ymodem", {
  functions: { create, receive, reset, release },
});
