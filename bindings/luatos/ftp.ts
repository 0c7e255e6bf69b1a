// LuatOS `ftp`: the firmware's single FTP client session over real sockets. Each call
// returns the wait object of the firmware's asynchronous APIs (`ftp.login(...).wait()` in a
// sys task); the operations run one after another as the firmware's ftp task runs them:
// login (220, USER 331, PASS 230), commands (the server's reply as a string; LIST the
// listing from a passive data connection), pull (SIZE, PASV, RETR into a flash file), push
// (PASV, STOR from a file) and close (QUIT, its reply). Failures answer false, or the
// firmware's negative code at once for a call it refuses. A --map entry with a tcp:// target
// moves the control connection, and the data connection follows it.
import * as nodeNet from "node:net";
import { openSync, closeSync, writeSync, readFileSync, rmSync } from "node:fs";
import { lua, bytesOf, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defaultPort } from "../../mqtt/routing.js";
import { defineModule } from "../common/module.js";
import { timestamp } from "./log.js";
import { networkOf } from "./socket.js";
import { pushWaitObject } from "./http.js";
import { publishSystemMessage } from "./rtos.js";
import { resolveDevicePath, ensureFlashRoot } from "./device-files.js";

const FTP_ERROR_STATE = -1;
const FTP_ERROR_CONNECT = -4;
const FTP_ERROR_FILE = -8;
const ADAPTER_COUNT = 21;
const SOCKET_TIMEOUT_MS = 30000;
const DATA_CONNECT_TIMEOUT_MS = 10000;
const RECV_MAX = 1024;
const COMMANDS = ["NOOP", "SYST", "MKD", "CWD", "CDUP", "RMD", "PWD", "DELE", "TYPE", "SIZE", "LIST"];
const UNROUTABLE = ["172.", "192.", "10.", "127.0.0.1", "169.254.0.0", "169.254.0.16", "0."];

/** What an operation hands the waiting task: false, true, or the bytes it collected. */
type Result = boolean | Uint8Array;

function logLine(board: Board, level: "D" | "W" | "E", message: string): void {
  board.write(bytesOf(`${timestamp()}${level}/ftp ${message}\n`));
}

class Failed extends Error {}

/** A TCP connection read the way the firmware's network_rx reads: whatever has arrived, up to 1 KiB. */
class Channel {
  private pending: Buffer[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(readonly socket: nodeNet.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.pending.push(chunk);
      this.wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on("error", () => undefined);
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Channel> {
    return new Promise((resolve, reject) => {
      const socket = nodeNet.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Failed("connect timeout"));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new Channel(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(new Failed(error.message));
      });
    });
  }

  /** Undefined on timeout; a Failed error once the peer has closed and nothing is left. */
  async recv(timeoutMs: number): Promise<Buffer | undefined> {
    if (this.pending.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (this.pending.length === 0) {
      if (this.closed) throw new Failed("closed");
      return undefined;
    }
    const all = Buffer.concat(this.pending);
    this.pending = all.length > RECV_MAX ? [all.subarray(RECV_MAX)] : [];
    return all.subarray(0, RECV_MAX);
  }

  /** Every byte until the peer closes (a data connection). */
  drained(): Promise<Buffer> {
    return new Promise((resolve) => {
      const done = () => resolve(Buffer.concat(this.pending));
      if (this.closed) return done();
      this.socket.once("close", done);
    });
  }

  send(text: string): void {
    this.socket.write(Buffer.from(text, "latin1"));
  }
}

const startsWith = (reply: Buffer | undefined, code: string): boolean => reply !== undefined && reply.subarray(0, 3).toString("latin1") === code;

class Session {
  private queue: Promise<void> = Promise.resolve();
  private control: Channel | undefined;
  private release: () => void;
  private forget: () => void;
  fd: number | undefined;
  /** The wait id of the latest call; the firmware keeps only one. */
  waiting: string | undefined;
  active = true;

  constructor(readonly board: Board, readonly host: string, readonly port: number, private readonly user: string, private readonly password: string) {
    this.release = board.hold();
    this.forget = board.own(() => this.teardown());
  }

  /** Runs `op` after the earlier ones; its result goes to whichever task waits last. */
  run(op: () => Promise<Result>): void {
    this.queue = this.queue.then(async () => {
      let result: Result;
      try {
        result = await op();
      } catch {
        logLine(this.board, "E", "ftp operation failed");
        this.closeFile();
        result = false;
      }
      this.deliver(result);
    });
  }

  private deliver(result: Result): void {
    const id = this.waiting;
    this.waiting = undefined;
    if (id === undefined || this.board.disposed) return;
    publishSystemMessage(this.board, id, (L) => {
      if (typeof result === "boolean") lua.lua_pushboolean(L, result);
      else pushBytes(L, result);
      return 1;
    });
  }

  closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private get ctrl(): Channel {
    if (!this.control) throw new Failed("not connected");
    return this.control;
  }

  /** A reply within the firmware's 30 s, or failure. */
  private async reply(): Promise<Buffer> {
    const reply = await this.ctrl.recv(SOCKET_TIMEOUT_MS);
    if (!reply) throw new Failed("timeout");
    return reply;
  }

  async login(): Promise<Result> {
    try {
      const route = routeOf(this.board, this.host, this.port);
      this.control = await Channel.open(route.host, route.port, SOCKET_TIMEOUT_MS);
      if (!startsWith(await this.reply(), "220")) throw new Failed("ftp connect error");
      this.ctrl.send(`USER ${this.user}\r\n`);
      if (!startsWith(await this.reply(), "331")) throw new Failed("ftp username wrong");
      this.ctrl.send(`PASS ${this.password}\r\n`);
      if (!startsWith(await this.reply(), "230")) throw new Failed("ftp login wrong");
      return true;
    } catch (error) {
      logLine(this.board, "E", error instanceof Failed && error.message.startsWith("ftp ") ? error.message : "ftp login fail");
      this.teardown();
      return false;
    }
  }

  /** PASV: the data connection, to the server's address unless it names a private one. */
  private async passive(): Promise<Channel> {
    this.ctrl.send("PASV\r\n");
    const reply = await this.reply();
    if (!startsWith(reply, "227")) {
      logLine(this.board, "W", `ftp pasv_connect wrong ${reply.toString("latin1")}`);
      throw new Failed("pasv");
    }
    const fields = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.toString("latin1"));
    if (!fields) throw new Failed("pasv");
    const n = fields.slice(1).map(Number) as [number, number, number, number, number, number];
    let host = n.slice(0, 4).join(".");
    const port = (n[4] & 0xff) * 256 + (n[5] & 0xff);
    if (UNROUTABLE.some((prefix) => host.startsWith(prefix))) {
      logLine(this.board, "W", `服务器回应不可路由的地址(${host})。使用服务器地址代替 ${this.host}`);
      host = this.host;
    }
    // The server's own name reaches it where the control connection went (--map).
    if (host === this.host) host = this.ctrl.socket.remoteAddress ?? host;
    return Channel.open(host, port, DATA_CONNECT_TIMEOUT_MS);
  }

  /** After RETR/LIST: 150 or 125, then 226 (maybe in the same read), and the data connection's bytes. */
  private async transfer(data: Channel): Promise<Buffer> {
    const first = await this.reply();
    if (!startsWith(first, "150") && !startsWith(first, "125")) throw new Failed("transfer");
    const newline = first.findIndex((b) => b === 0x0d || b === 0x0a);
    let finished = newline >= 0 && first.subarray(newline).includes("226");
    while (!finished) {
      const next = await this.ctrl.recv(SOCKET_TIMEOUT_MS / 10);
      if (next === undefined) continue;
      if (!startsWith(next, "226")) throw new Failed("transfer");
      finished = true;
    }
    return data.drained();
  }

  async command(line: string): Promise<Result> {
    if (line.startsWith("LIST")) {
      const data = await this.passive();
      this.ctrl.send(line);
      return this.transfer(data);
    }
    this.ctrl.send(line);
    return this.reply();
  }

  async pull(remote: string): Promise<Result> {
    this.ctrl.send(`SIZE ${remote}\r\n`);
    const size = await this.ctrl.recv(SOCKET_TIMEOUT_MS);
    const remoteSize = startsWith(size, "213") ? parseInt((size as Buffer).subarray(4).toString("latin1"), 10) || 0 : 0;
    const data = await this.passive();
    this.ctrl.send(`RETR ${remote}\r\n`);
    const bytes = await this.transfer(data);
    if (remoteSize && bytes.length !== remoteSize) throw new Failed("short download");
    if (this.fd !== undefined) writeSync(this.fd, bytes);
    this.closeFile();
    return true;
  }

  async push(remote: string, bytes: Buffer): Promise<Result> {
    const data = await this.passive();
    this.ctrl.send(`STOR ${remote}\r\n`);
    const reply = await this.reply();
    if (!startsWith(reply, "150") && !startsWith(reply, "125")) throw new Failed("ftp STOR wrong");
    await new Promise<void>((resolve) => data.socket.end(bytes, () => resolve()));
    await this.reply();
    this.closeFile();
    return true;
  }

  async quit(): Promise<Result> {
    this.active = false;
    let result: Result = false;
    try {
      this.ctrl.send("QUIT\r\n");
      const reply = await this.reply();
      if (startsWith(reply, "221")) result = reply;
      else logLine(this.board, "E", "ftp QUIT wrong");
    } catch {
      result = false;
    }
    this.teardown();
    return result;
  }

  teardown(): void {
    this.active = false;
    this.control?.socket.destroy();
    this.control = undefined;
    this.closeFile();
    this.forget();
    this.release();
  }
}

/** Where the control connection goes: a --map entry with a tcp:// target moves it. */
function routeOf(board: Board, host: string, port: number): { host: string; port: number } {
  let original: URL;
  try {
    original = new URL(`tcp://${nodeNet.isIP(host) === 6 ? `[${host}]` : host}:${port}`);
  } catch {
    return { host, port };
  }
  const route = board.host.runtime.router.route(original);
  if (!route.redirected || route.url.protocol !== "tcp:") return { host, port };
  return { host: route.url.hostname.replace(/^\[|\]$/g, ""), port: defaultPort(route.url) };
}

const sessionOf = perBoard((): { session: Session | undefined } => ({ session: undefined }));
let waitCounter = 0;

/** The firmware's luat_pushcwait_error: a wait object whose wait() answers `code` at once. */
function refuse(L: LuaState, code: number): number {
  pushWaitObject(L, `moonrig.ftp.${++waitCounter}`, code);
  return 1;
}

function accept(L: LuaState, session: Session, op: () => Promise<Result>): number {
  const id = `moonrig.ftp.${++waitCounter}`;
  session.waiting = id;
  pushWaitObject(L, id);
  session.run(op);
  return 1;
}

const optText = (L: LuaState, arg: number): string => (lua.lua_isnoneornil(L, arg) ? "" : Buffer.from(checkBytes(L, arg)).toString("latin1"));

/** The live session, or the firmware's "please login first". */
function current(L: LuaState): Session | undefined {
  const state = sessionOf(boardOf(L));
  if (state.session?.active) return state.session;
  logLine(boardOf(L), "E", "please login first");
  return undefined;
}

const login = (L: LuaState): number => {
  const board = boardOf(L);
  const state = sessionOf(board);
  const network = networkOf(board);
  const adapter = optInteger(L, 1, network.defaultAdapter) & 0xff;
  const host = Buffer.from(checkBytes(L, 2)).toString("latin1");
  const port = optInteger(L, 3, 21) & 0xffff;
  const user = optText(L, 4);
  const password = optText(L, 5);
  const tls = lua.lua_type(L, 6) === lua.LUA_TTABLE || (lua.lua_type(L, 6) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 6));
  const failWith = (code: number, message: string): number => {
    logLine(board, "E", message);
    logLine(board, "E", "ftp login fail");
    // The binding releases the session even when the refusal was "already logged in".
    state.session?.teardown();
    state.session = undefined;
    return refuse(L, code);
  };
  if (state.session?.active) return failWith(FTP_ERROR_STATE, "ftp already login, please close first");
  if (adapter >= ADAPTER_COUNT) return failWith(FTP_ERROR_STATE, `bad network adapter index ${adapter}`);
  if (host.length === 0 || host.length >= 64) return failWith(-20, `invalid ip address length ${host.length}`);
  if (user.length === 0 || user.length >= 64) return failWith(-21, `invalid username length ${user.length}`);
  if (password.length === 0 || password.length >= 64) return failWith(-22, `invalid password length ${password.length}`);
  if (tls) return failWith(-24, "ftp tls not support yet");
  const session = new Session(board, host, port, user, password);
  state.session = session;
  return accept(L, session, () => (network.isUp(adapter) ? session.login() : Promise.resolve(session.teardown()).then(() => false)));
};

const command = (L: LuaState): number => {
  const text = optText(L, 1);
  const session = current(L);
  if (!session) return logLine(boardOf(L), "E", "ftp command fail"), refuse(L, FTP_ERROR_FILE);
  if (!COMMANDS.some((c) => text.startsWith(c))) {
    logLine(boardOf(L), "E", `not support cmd:${text}`);
    logLine(boardOf(L), "E", "ftp command fail");
    return refuse(L, FTP_ERROR_FILE);
  }
  // The firmware's 128-byte command buffer.
  const line = `${text}\r\n`.slice(0, 127);
  return accept(L, session, () => session.command(line));
};

const pull = (L: LuaState): number => {
  const local = optText(L, 1);
  const remote = optText(L, 2);
  const session = current(L);
  const board = boardOf(L);
  if (!session) return logLine(board, "E", "ftp pull fail"), refuse(L, FTP_ERROR_FILE);
  session.closeFile();
  try {
    const target = resolveDevicePath(board, local);
    if (target.kind !== "flash" || target.rest === "") throw new Failed("read-only");
    ensureFlashRoot(board);
    rmSync(target.path, { force: true });
    session.fd = openSync(target.path, "w+");
  } catch {
    logLine(board, "E", `open download file fail ${local}`);
    logLine(board, "E", "ftp pull fail");
    return refuse(L, FTP_ERROR_FILE);
  }
  return accept(L, session, () => session.pull(remote));
};

const push = (L: LuaState): number => {
  const local = optText(L, 1);
  const remote = optText(L, 2);
  const session = current(L);
  const board = boardOf(L);
  if (!session) return logLine(board, "E", "ftp push fail"), refuse(L, FTP_ERROR_CONNECT);
  let bytes: Buffer;
  try {
    const target = resolveDevicePath(board, local);
    if (target.path === undefined) throw new Failed("missing");
    bytes = readFileSync(target.path);
  } catch {
    logLine(board, "E", `open download file fail ${local}`);
    logLine(board, "E", "ftp push fail");
    return refuse(L, FTP_ERROR_CONNECT);
  }
  return accept(L, session, () => session.push(remote, bytes));
};

const close = (L: LuaState): number => {
  const session = current(L);
  if (!session) return refuse(L, FTP_ERROR_CONNECT);
  const id = `moonrig.ftp.${++waitCounter}`;
  session.waiting = id;
  pushWaitObject(L, id);
  session.active = false;
  session.run(() => session.quit());
  return 1;
};

// Switches the firmware's debug lines, which moonrig does not print.
const debug = (): number => 0;

export const ftp = defineModule("ftp", {
  functions: { login, command, pull, push, close, debug },
});
