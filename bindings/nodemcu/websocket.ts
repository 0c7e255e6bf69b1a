// NodeMCU `websocket`: the firmware's RFC 6455 client (app/websocket/websocketclient.c) over
// a real TCP or TLS connection, with its handshake bytes (Host always with the port, the
// script's config headers between the protocol's and the defaults User-Agent: ESP8266 and
// Sec-WebSocket-Protocol: chat, the first of a name winning), masked frames, pings after 30 s
// of silence (two unanswered end the link with -19), a 10 s limit for DNS, connect and
// handshake together (-18), and its close codes: never 0 (the code reports -99 when nothing
// else is known), -6 once the server answered a close frame (so also after ws:close()),
// -1 to -5 for a URL or DNS it rejects (the first four during connect() itself), -7/-17 for a
// handshake it refuses, -15 for a continuation without a start, ESPCONN errors - 100 for a
// broken connection (-109 refused or reset, -108 otherwise). Two deliberate differences: a
// fragmented message arrives whole (the firmware's reassembly loses the first fragment) and
// frames with a 64-bit length are read as RFC 6455 says (the firmware reads 32 bits).
// A --map entry for the URL's host and port (a ws://, wss://, http:// or https:// target)
// moves the connection; the handshake still names the script's host.
import { createHash, randomBytes } from "node:crypto";
import * as nodeNet from "node:net";
import * as nodeTls from "node:tls";
import { checkUserdata, lua, pushBytes, pushUserdata, toBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkInteger, checkOption, checkTable, raise } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defaultPort } from "../../mqtt/routing.js";
import { defineModule } from "../common/module.js";
import { callWithSelf } from "../common/callbacks.js";
import { resolveHost } from "../common/dns.js";
import { clientTlsOptions } from "./tls-cert.js";

const CLIENT = "websocket.client";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const CONNECT_TIMEOUT_MS = 10000;
const PING_INTERVAL_MS = 30000;
const FORCE_CLOSE_TIMEOUT_MS = 5000;
const UNHEALTHY_THRESHOLD = 2;
const HOSTNAME_MAX = 256;

const OPCODE_CONTINUATION = 0x0;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

const IDLE = 0;
const RESOLVING = 1;
const CONNECTING = 2;
const CONNECTED = 3;
const CLOSED = 4;

const EVENTS = ["connection", "receive", "close"] as const;
type WsEvent = (typeof EVENTS)[number];

const DEFAULT_HEADERS: ReadonlyArray<[string, string]> = [
  ["User-Agent", "ESP8266"],
  ["Sec-WebSocket-Protocol", "chat"],
];

/** C's atoi over the port text. */
function atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match ? Number.parseInt(match[1] as string, 10) : 0;
}

/** The firmware's URL parser: the target, or the close code it reports at once. */
function parseUrl(url: string): { secure: boolean; hostname: string; port: number; path: string } | number {
  const secure = url.slice(0, 6).toLowerCase() === "wss://";
  if (!secure && url.slice(0, 5).toLowerCase() !== "ws://") return -1;
  const rest = url.slice(secure ? 6 : 5);
  const slash = rest.indexOf("/");
  if (slash !== -1 && slash >= HOSTNAME_MAX) return -2;
  let hostname = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "/" : rest.slice(slash);
  let port = secure ? 443 : 80;
  const colon = hostname.indexOf(":");
  if (colon !== -1) {
    port = atoi(hostname.slice(colon + 1));
    if (port <= 0 || port > 65535) return -3;
    hostname = hostname.slice(0, colon);
  }
  if (hostname === "") return -4;
  return { secure, hostname, port, path };
}

class WsClient {
  state = IDLE;
  selfRef: number | undefined;
  readonly refs = new Map<WsEvent, number>();
  extraHeaders: Array<[string, string]> = [];
  private socket: nodeNet.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure = 0;
  private expectedKey = "";
  private handshake: Buffer | undefined;
  private frames: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] | undefined;
  private fragmentOpcode = 0;
  private unhealthy = 0;
  private release: (() => void) | undefined;
  private forget: (() => void) | undefined;

  constructor(readonly board: Board) {}

  connect(url: string): void {
    const parsed = parseUrl(url);
    if (typeof parsed === "number") return this.report(parsed);
    this.state = RESOLVING;
    this.failure = 0;
    this.frames = Buffer.alloc(0);
    this.fragments = undefined;
    this.unhealthy = 0;
    this.release = this.board.hold();
    this.forget = this.board.own(() => this.teardown());
    const board = this.board;
    const original = new URL(`${parsed.secure ? "wss" : "ws"}://${parsed.hostname.includes(":") ? `[${parsed.hostname}]` : parsed.hostname}:${parsed.port}/`);
    const route = board.host.runtime.router.mapped(original);
    const target = route?.url;
    const secure = target ? target.protocol === "wss:" || target.protocol === "https:" : parsed.secure;
    const host = target ? target.hostname.replace(/^\[|\]$/g, "") : parsed.hostname;
    const port = target ? defaultPort(target) : parsed.port;
    this.timer = setTimeout(() => board.post(() => this.failed(-18)), CONNECT_TIMEOUT_MS);
    void resolveHost(board, host).then((address) => {
      board.post(() => {
        if (this.state !== RESOLVING) return;
        if (address === undefined) return this.failed(-5);
        this.state = CONNECTING;
        this.open(secure, address, port, parsed);
      });
    });
  }

  private open(secure: boolean, address: string, port: number, url: { hostname: string; port: number; path: string }): void {
    const socket = secure
      ? nodeTls.connect({ host: address, port, servername: nodeNet.isIP(url.hostname) ? undefined : url.hostname, ...clientTlsOptions(this.board) })
      : nodeNet.connect({ host: address, port });
    this.socket = socket;
    let error: NodeJS.ErrnoException | undefined;
    socket.once(secure ? "secureConnect" : "connect", () => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        this.state = CONNECTED;
        this.handshake = Buffer.alloc(0);
        socket.write(this.handshakeRequest(url));
      });
    });
    socket.on("data", (data: Buffer) => {
      this.board.post(() => {
        if (this.socket === socket) this.received(data);
      });
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e;
    });
    socket.on("close", () => {
      this.board.post(() => {
        if (this.socket !== socket) return;
        if (error && this.failure === 0) this.failure = error.code === "ECONNREFUSED" || error.code === "ECONNRESET" ? -109 : -108;
        this.failed(this.failure);
      });
    });
  }

  private handshakeRequest(url: { hostname: string; port: number; path: string }): Buffer {
    const key = randomBytes(16).toString("base64");
    this.expectedKey = createHash("sha1").update(key + GUID).digest("base64");
    const protocol: Array<[string, string]> = [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Key", key],
      ["Sec-WebSocket-Version", "13"],
    ];
    const seen = new Set<string>();
    let text = `GET ${url.path} HTTP/1.1\r\nHost: ${url.hostname}:${url.port}\r\n`;
    for (const [name, value] of [...protocol, ...this.extraHeaders, ...DEFAULT_HEADERS]) {
      if (seen.has(name.toLowerCase())) continue;
      seen.add(name.toLowerCase());
      text += `${name}: ${value}\r\n`;
    }
    return Buffer.from(`${text}\r\n`, "latin1");
  }

  private received(data: Buffer): void {
    if (this.handshake !== undefined) {
      this.handshake = Buffer.concat([this.handshake, data]);
      const end = this.handshake.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = this.handshake.toString("latin1", 0, end + 4);
      const rest = this.handshake.subarray(end + 4);
      this.handshake = undefined;
      if (!head.includes("HTTP/1.1 101")) return this.disconnect(-17);
      if (!head.includes(this.expectedKey)) return this.disconnect(-7);
      clearTimeout(this.timer);
      this.armPing();
      this.emit("connection");
      if (rest.length > 0 && this.state === CONNECTED) this.frameData(rest);
      return;
    }
    this.frameData(data);
  }

  private frameData(data: Buffer): void {
    this.unhealthy = 0;
    this.armPing();
    this.frames = this.frames.length === 0 ? data : Buffer.concat([this.frames, data]);
    while (this.frames.length >= 2 && this.socket) {
      const b = this.frames;
      const fin = (b[0] as number) & 0x80;
      const opcode = (b[0] as number) & 0x0f;
      const masked = (b[1] as number) & 0x80;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (b[maskAt + (i % 4)] as number);
      this.frames = b.subarray(offset + length);
      this.frame(fin !== 0, opcode, payload);
    }
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (!fin) {
      if (this.fragments === undefined) {
        this.fragments = [payload];
        this.fragmentOpcode = opcode;
      } else this.fragments.push(payload);
      return;
    }
    if (opcode === OPCODE_CONTINUATION) {
      if (this.fragments === undefined) return this.disconnect(-15);
      const whole = Buffer.concat([...this.fragments, payload]);
      this.fragments = undefined;
      return this.deliver(whole, this.fragmentOpcode);
    }
    if (opcode === OPCODE_CLOSE) {
      // The close frame goes back as it came; once it is sent the firmware hangs up.
      this.sendFrame(OPCODE_CLOSE, payload, () => this.disconnect(-6));
      this.state = CLOSED;
      return;
    }
    if (opcode === OPCODE_PING) return this.sendFrame(OPCODE_PONG, payload);
    if (opcode === OPCODE_PONG) return;
    this.deliver(payload, opcode);
  }

  private deliver(payload: Buffer, opcode: number): void {
    this.emit("receive", (L) => {
      pushBytes(L, payload);
      lua.lua_pushinteger(L, opcode);
      return 2;
    });
  }

  private armPing(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.board.post(() => {
        if (this.state !== CONNECTED) return;
        if (this.unhealthy === UNHEALTHY_THRESHOLD) return this.disconnect(-19);
        this.sendFrame(OPCODE_PING, Buffer.alloc(0));
        this.unhealthy += 1;
      });
    }, PING_INTERVAL_MS);
  }

  /** A frame as the firmware builds it: FIN, the opcode, masked with a random key. */
  sendFrame(opcode: number, payload: Uint8Array, sent?: () => void): void {
    if (this.state !== CONNECTED || !this.socket) return;
    const length = payload.length & 0xffff;
    const head = length < 126 ? Buffer.from([(0x80 + opcode) & 0xff, 0x80 | length]) : Buffer.from([(0x80 + opcode) & 0xff, 0x80 | 126, length >> 8, length & 0xff]);
    const mask = randomBytes(4);
    const body = Buffer.from(payload.subarray(0, length));
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i % 4] as number);
    this.socket.write(Buffer.concat([head, mask, body]), sent ? () => this.board.post(sent) : undefined);
  }

  close(): void {
    if (this.state === IDLE || this.state === CLOSED) return;
    this.failure = 0;
    if (this.state === RESOLVING) return this.failed(0);
    this.sendFrame(OPCODE_CLOSE, Buffer.alloc(0));
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = setTimeout(() => this.board.post(() => this.disconnect(this.failure)), FORCE_CLOSE_TIMEOUT_MS);
  }

  /** Hangs up; the close callback follows when the connection is down. */
  private disconnect(code: number): void {
    this.failure = code;
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
    else this.failed(code);
  }

  /** The firmware's disconnect_callback: the link is gone, the script hears the code. */
  private failed(code: number): void {
    if (this.state === CLOSED && !this.socket && this.release === undefined) return;
    this.teardown();
    this.release?.();
    this.forget?.();
    this.release = undefined;
    this.forget = undefined;
    this.report(code);
  }

  private teardown(): void {
    this.state = CLOSED;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.removeAllListeners("data");
    socket?.on("error", () => undefined);
    socket?.destroy();
  }

  /** The close callback with `code` (-99 when none is known); then the client may be collected. */
  private report(code: number): void {
    this.emit("close", (L) => {
      lua.lua_pushinteger(L, code === 0 ? -99 : code);
      return 1;
    });
    if (this.selfRef !== undefined) this.board.unref(this.selfRef);
    this.selfRef = undefined;
  }

  emit(event: WsEvent, more?: (L: LuaState) => number): void {
    const ref = this.refs.get(event);
    const selfRef = this.selfRef;
    if (ref === undefined) return;
    callWithSelf(this.board, ref, selfRef, more);
  }
}

const createClient = (L: LuaState): number => {
  pushUserdata(L, new WsClient(boardOf(L)), CLIENT);
  return 1;
};

/** ws:on(event, fn|nil) */
const on = (L: LuaState): number => {
  const client = checkUserdata<WsClient>(L, 1, CLIENT);
  const event = checkOption(L, 2, EVENTS);
  const type = lua.lua_type(L, 3);
  if (type !== lua.LUA_TNIL && type !== lua.LUA_TFUNCTION) argError(L, 3, "function or nil");
  const old = client.refs.get(event);
  if (old !== undefined) client.board.unref(old);
  client.refs.delete(event);
  if (type === lua.LUA_TFUNCTION) client.refs.set(event, client.board.ref(L, 3));
  return 0;
};

/** ws:config({headers = {...}}): replaces the extra headers of every later handshake. */
const config = (L: LuaState): number => {
  const client = checkUserdata<WsClient>(L, 1, CLIENT);
  checkTable(L, 2);
  if (lua.lua_getfield(L, 2, "headers") === lua.LUA_TTABLE) {
    const headers: Array<[string, string]> = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2)) {
      const value = toBytes(L, -1);
      lua.lua_pushvalue(L, -2);
      const name = toBytes(L, -1);
      lua.lua_pop(L, 2);
      if (name && value) headers.push([Buffer.from(name).toString("latin1"), Buffer.from(value).toString("latin1")]);
    }
    client.extraHeaders = headers;
  }
  lua.lua_pop(L, 1);
  return 0;
};

/** ws:connect(url) */
const connect = (L: LuaState): number => {
  const client = checkUserdata<WsClient>(L, 1, CLIENT);
  if (client.state !== IDLE && client.state !== CLOSED) raise(L, "Websocket already connecting or connected.\n");
  client.state = IDLE;
  if (client.selfRef === undefined) client.selfRef = client.board.ref(L, 1);
  const url = Buffer.from(checkBytes(L, 2)).toString("latin1");
  client.connect(url);
  return 0;
};

/** ws:send(message[, opcode]) */
const send = (L: LuaState): number => {
  const client = checkUserdata<WsClient>(L, 1, CLIENT);
  if (client.state !== CONNECTED) raise(L, "Websocket isn't connected.\n");
  const message = checkBytes(L, 2);
  const opcode = lua.lua_gettop(L) === 3 ? checkInteger(L, 3) : 1;
  client.sendFrame(opcode, message);
  return 0;
};

const close = (L: LuaState): number => {
  checkUserdata<WsClient>(L, 1, CLIENT).close();
  return 0;
};

export const websocket = defineModule("websocket", {
  functions: { createClient },
  metatables: { [CLIENT]: { methods: { on, config, connect, send, close } } },
});
