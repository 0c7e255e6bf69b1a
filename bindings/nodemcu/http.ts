// NodeMCU `http`, the ESP8266 firmware's small HTTP client (app/http/httpclient.c), with its
// quirks, because scripts are written against them:
// - one callback slot for the whole module: a request started while another is in flight
//   takes the slot, and the first response to arrive is handed to it (the other gets none);
// - the request is built byte for byte as the firmware builds it (Host unless given,
//   Connection: close, the script's headers, User-Agent: ESP8266 unless given,
//   Content-Length when there is a body), with URL, headers and body cut at a NUL byte as C
//   strings are;
// - the response is read until the server closes, at most 8191 bytes (more is a failure);
//   redirects (300-308 with a Location) are followed up to 20 times without the script's
//   headers and body, which the firmware has freed by then;
// - status -1 and no body or headers for every failure (DNS, refused, too long, not HTTP,
//   60 s without the server closing); a URL that is not http(s), with port 0 or a host name
//   of 128 bytes or more is dropped without a callback.
// The request goes where --map sends the URL's host (an http(s) target), else to the host
// itself, resolved by the embedder's `lookup` or the system. A request in flight keeps the
// script alive.
import * as nodeNet from "node:net";
import * as nodeTls from "node:tls";
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { resolveHost } from "../common/dns.js";
import { clientTlsOptions } from "./tls-cert.js";

const OK = 0;
const ERROR = -1;
const BUFFER_SIZE_MAX = 0x2000;
const REQUEST_TIMEOUT_MS = 60000;
const REDIRECTION_FOLLOW_MAX = 20;
const HOSTNAME_MAX = 128;

interface Request {
  hostname: string;
  port: number;
  secure: boolean;
  method: Buffer;
  path: Buffer;
  headers: Buffer | undefined;
  body: Buffer | undefined;
  redirects: number;
}

/** The module's single callback, as the firmware keeps one registry reference. */
const callbackSlot = perBoard((): { ref: number | undefined } => ({ ref: undefined }));

/** A Lua string argument read as the firmware's C code reads it: up to the first NUL. */
function cString(bytes: Uint8Array): Buffer {
  const buffer = Buffer.from(bytes);
  const end = buffer.indexOf(0);
  return end === -1 ? buffer : buffer.subarray(0, end);
}

function optionalString(L: LuaState, arg: number): Buffer | undefined {
  return lua.lua_isstring(L, arg) ? cString(checkBytes(L, arg)) : undefined;
}

/** C's atoi: leading blanks, a sign, then digits; 0 when there are none. */
function atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match ? Number.parseInt(match[1] as string, 10) | 0 : 0;
}

/** The firmware's URL parser; undefined for what it drops (not http(s), port 0, long host). */
function parseUrl(url: Buffer): Pick<Request, "hostname" | "port" | "secure" | "path"> | undefined {
  const text = url.toString("latin1");
  let rest: string;
  let port = 80;
  let secure = false;
  if (text.startsWith("http://")) rest = text.slice(7);
  else if (text.startsWith("https://")) {
    rest = text.slice(8);
    port = 443;
    secure = true;
  } else return undefined;
  const slash = rest.indexOf("/");
  const pathStart = slash === -1 ? rest.length : slash;
  const colon = rest.indexOf(":");
  if (pathStart >= HOSTNAME_MAX) return undefined;
  let hostname: string;
  if (colon === -1 || colon > pathStart) hostname = rest.slice(0, pathStart);
  else {
    port = atoi(rest.slice(colon + 1));
    if (port === 0) return undefined;
    hostname = rest.slice(0, colon);
  }
  const path = rest.slice(pathStart) || "/";
  return { hostname, port, secure, path: Buffer.from(path, "latin1") };
}

function hasHeader(headers: Buffer | undefined, name: string): boolean {
  return headers !== undefined && headers.toString("latin1").toLowerCase().includes(name.toLowerCase());
}

/** The request line and headers, as http_connect_callback writes them. */
function requestHead(request: Request): Buffer {
  const port = request.port;
  const host = hasHeader(request.headers, "Host:")
    ? ""
    : port === 80 || (port === 443 && request.secure)
      ? `Host: ${request.hostname}\r\n`
      : `Host: ${request.hostname}:${port}\r\n`;
  const userAgent = hasHeader(request.headers, "User-Agent:") ? "" : "User-Agent: ESP8266\r\n";
  const contentLength = request.body !== undefined ? `Content-Length: ${request.body.length}\r\n` : "";
  return Buffer.concat([
    request.method,
    Buffer.from(" "),
    request.path,
    Buffer.from(` HTTP/1.1\r\n${host}Connection: close\r\n`, "latin1"),
    request.headers ?? Buffer.alloc(0),
    Buffer.from(`${userAgent}${contentLength}\r\n`, "latin1"),
  ]);
}

/** Chunked transfer coding undone the firmware's way: chunks until a size of 0 or none. */
function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const size = Number.parseInt(/^[ \t]*([0-9a-fA-F]+)/.exec(body.toString("latin1", at, at + 16))?.[1] ?? "0", 16);
    if (!(size > 0)) break;
    const lineEnd = body.indexOf("\r\n", at, "latin1");
    if (lineEnd === -1) break;
    at = lineEnd + 2;
    parts.push(body.subarray(at, at + size));
    at += size + 2;
  }
  return Buffer.concat(parts);
}

/** Response headers as the Lua callback gets them: names lower-cased, the last of a name wins. */
function responseHeaders(response: Buffer): Array<[Buffer, Buffer]> {
  const headers: Array<[Buffer, Buffer]> = [];
  let at = response.indexOf(0x0a);
  at = at === -1 ? response.length : at + 1;
  while (at < response.length && response[at] !== 0x0d && response[at] !== 0x0a) {
    let eol = response.indexOf(0x0d, at);
    if (eol === -1) eol = response.length;
    const colon = response.indexOf(0x3a, at);
    if (colon === -1 || colon >= eol) break;
    let value = colon + 1;
    while (response[value] === 0x20) value++;
    headers.push([Buffer.from(response.toString("latin1", at, colon).toLowerCase(), "latin1"), response.subarray(value, Math.max(value, eol))]);
    at = eol + 1;
    if (response[at] === 0x0a) at++;
  }
  return headers;
}

function deliver(board: Board, status: number, body: Buffer | undefined, response: Buffer | undefined): void {
  const slot = callbackSlot(board);
  const ref = slot.ref;
  if (ref === undefined) return;
  slot.ref = undefined;
  board.callRef(ref, (L) => {
    lua.lua_pushinteger(L, status);
    if (status !== ERROR && body !== undefined && response !== undefined) {
      pushBytes(L, body);
      lua.lua_createtable(L, 0, 8);
      for (const [name, value] of responseHeaders(response)) {
        pushBytes(L, name);
        pushBytes(L, value);
        lua.lua_settable(L, -3);
      }
    } else {
      lua.lua_pushnil(L);
      lua.lua_pushnil(L);
    }
    return 3;
  });
  board.unref(ref);
}

/** The end of a connection: what http_disconnect_callback does with what arrived. */
function finish(board: Board, request: Request, response: Buffer): void {
  if (response.length === 0) return deliver(board, ERROR, undefined, undefined);
  const text = response.toString("latin1");
  if (!text.startsWith("HTTP/1.0 ") && !text.startsWith("HTTP/1.1 ")) return deliver(board, ERROR, undefined, undefined);
  const status = atoi(text.slice(9));
  const location = text.toLowerCase().indexOf("location:");
  if (location !== -1 && status >= 300 && status <= 308) {
    if (request.redirects >= REDIRECTION_FOLLOW_MAX) return deliver(board, ERROR, undefined, undefined);
    let valueAt = location + "location:".length;
    while (text[valueAt] === " ") valueAt++;
    const valueEnd = text.indexOf("\r\n", valueAt);
    if (valueEnd === -1) return deliver(board, ERROR, undefined, undefined);
    const target = response.subarray(valueAt, valueEnd);
    // By now the firmware has freed the script's headers and body: the next request has neither.
    const next = { method: request.method, headers: undefined, body: undefined, redirects: request.redirects + 1 };
    const targetText = target.toString("latin1");
    if (targetText.startsWith("http://") || targetText.startsWith("https://")) {
      const parsed = parseUrl(target);
      if (parsed) start(board, { ...parsed, ...next });
      return;
    }
    const folder = request.path.subarray(0, request.path.lastIndexOf(0x2f) + 1);
    const path = targetText.startsWith("/") ? target : Buffer.concat([folder, target]);
    return start(board, { hostname: request.hostname, port: request.port, secure: request.secure, path, ...next });
  }
  const split = response.indexOf("\r\n\r\n", 0, "latin1");
  let body = split === -1 ? Buffer.alloc(0) : response.subarray(split + 4);
  if (text.toLowerCase().includes("transfer-encoding: chunked")) body = decodeChunked(body);
  deliver(board, status, body, response);
}

function start(board: Board, request: Request): void {
  const release = board.hold();
  let socket: nodeNet.Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const forget = board.own(() => {
    done = true;
    clearTimeout(timer);
    socket?.destroy();
  });
  const end = (response: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    forget();
    board.post(() => {
      release();
      finish(board, request, response);
    });
  };
  const scheme = request.secure ? "https" : "http";
  const original = new URL(`${scheme}://${request.hostname.includes(":") ? `[${request.hostname}]` : request.hostname}:${request.port}/`);
  const target = board.host.runtime.router.routeHttp(original).url;
  const targetHost = target.hostname.replace(/^\[|\]$/g, "");
  const targetPort = target.port === "" ? (target.protocol === "https:" ? 443 : 80) : Number(target.port);
  void resolveHost(board, targetHost).then((address) => {
    if (done) return;
    if (address === undefined) return end(Buffer.alloc(0));
    timer = setTimeout(() => socket?.destroy(), REQUEST_TIMEOUT_MS);
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLong = false;
    socket = target.protocol === "https:"
      ? nodeTls.connect({ host: address, port: targetPort, servername: nodeNet.isIP(request.hostname) ? undefined : request.hostname, ...clientTlsOptions(board) })
      : nodeNet.connect({ host: address, port: targetPort });
    const live = socket;
    live.once(target.protocol === "https:" ? "secureConnect" : "connect", () => {
      live.write(requestHead(request));
      if (request.body !== undefined) live.write(request.body);
    });
    live.on("data", (data: Buffer) => {
      if (tooLong) return;
      if (received + data.length + 1 > BUFFER_SIZE_MAX) {
        tooLong = true;
        chunks.length = 0;
        live.end();
        return;
      }
      received += data.length;
      chunks.push(data);
    });
    live.on("error", () => undefined);
    live.on("close", () => end(tooLong ? Buffer.alloc(0) : Buffer.concat(chunks)));
  });
}

/** Takes the callback slot when `arg` is a function, as the firmware's functions do. */
function takeCallback(L: LuaState, arg: number): void {
  if (lua.lua_type(L, arg) !== lua.LUA_TFUNCTION) return;
  const board = boardOf(L);
  const slot = callbackSlot(board);
  if (slot.ref !== undefined) board.unref(slot.ref);
  slot.ref = board.ref(L, arg);
}

function begin(L: LuaState, url: Buffer, method: string | Buffer, headers: Buffer | undefined, body: Buffer | undefined): number {
  const board = boardOf(L);
  const parsed = parseUrl(url);
  if (!parsed) {
    board.host.stderr(`moonrig: http: ${url.toString("latin1")} is not a URL the firmware accepts (http:// or https://, a port other than 0, a host name under ${HOSTNAME_MAX} bytes): no request, no callback\n`);
    return 0;
  }
  start(board, { ...parsed, method: typeof method === "string" ? Buffer.from(method) : method, headers, body, redirects: 0 });
  return 0;
}

/** http.request(url, method, headers, body, callback) */
const request = (L: LuaState): number => {
  const url = cString(checkBytes(L, 1));
  const method = cString(checkBytes(L, 2));
  const headers = optionalString(L, 3);
  const body = optionalString(L, 4);
  takeCallback(L, 5);
  return begin(L, url, method, headers, body);
};

/** http.post/put/delete(url, headers, body, callback) */
const withBody = (method: string) => (L: LuaState): number => {
  const url = cString(checkBytes(L, 1));
  const headers = optionalString(L, 2);
  const body = optionalString(L, 3);
  takeCallback(L, 4);
  return begin(L, url, method, headers, body);
};

/** http.get(url, headers, callback) */
const get = (L: LuaState): number => {
  const url = cString(checkBytes(L, 1));
  const headers = optionalString(L, 2);
  takeCallback(L, 3);
  return begin(L, url, "GET", headers, undefined);
};

export const http = defineModule("http", {
  functions: { request, post: withBody("POST"), put: withBody("PUT"), delete: withBody("DELETE"), get },
  constants: { OK, ERROR },
});
