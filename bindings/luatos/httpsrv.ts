// LuatOS `httpsrv`: an HTTP server whose requests go to a Lua function. It listens on
// 127.0.0.1 only, at the port the script names (a script never opens a port to the PC's
// network). As the firmware does: a file under /luadb/ (or the flash folder) matching the
// URI is served first ("/" is /index.html) without calling Lua; otherwise the function gets
// (client, method, uri, headers, body) and returns code, headers, body (nothing: 404, {}, "").
// Responses are HTTP/1.0 with Content-Length and the connection closes after each one; a
// request the parser refuses is dropped without an answer.
import * as http from "node:http";
import type { Socket } from "node:net";
import { readFileSync, statSync } from "node:fs";
import { lua, bytesOf, pushBytes, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger, optInteger } from "../../engine/args.js";
import { boardOf, perBoard, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { timestamp } from "./log.js";
import { networkOf } from "./socket.js";
import { resolveDevicePath } from "./device-files.js";

const MAX_SERVERS = 16;
const MAX_BODY = 64 * 1024;
const MAX_URL = 1024;
const ERR_USE = -8;
const ERR_VAL = -6;

const STATUS: Record<number, string> = {
  200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
  403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
};

/** The firmware's suffix table, tried in order on the file's path (no dot required). */
const CONTENT_TYPES: Array<[string, string]> = [
  ["html", "text/html; charset=utf-8"], ["txt", "text/txt; charset=utf-8"], ["xml", "text/xml; charset=utf-8"],
  ["jpg", "image/jpeg"], ["png", "image/png"], ["gif", "image/gif"], ["svg", "svg+xml"],
  ["json", "application/json; charset=utf-8"], ["js", "application/javascript; charset=utf-8"], ["css", "text/css"],
  ["wav", "audio/wave"], ["ogg", "audio/ogg"], ["webm", "video/webm"], ["mp4", "video/mpeg4"], ["bin", "application/octet-stream"],
];

interface Server {
  port: number;
  adapter: number;
  ref: number | undefined;
  http: http.Server;
  release: () => void;
  forget: () => void;
}

const serversOf = perBoard((): Server[] => []);
const debugOf = perBoard(() => ({ on: false }));

function logLine(board: Board, level: "D" | "I" | "W" | "E", message: string): void {
  board.write(bytesOf(`${timestamp()}${level}/httpsrv ${message}\n`));
}

/** luat_fs_fsize of a device path: 0 for anything that is not a readable file. */
function deviceFile(board: Board, devicePath: string): { path: string; size: number } | undefined {
  try {
    const target = resolveDevicePath(board, devicePath);
    if (target.path === undefined) return undefined;
    const size = statSync(target.path).isFile() ? statSync(target.path).size : 0;
    return size > 0 ? { path: target.path, size } : undefined;
  } catch {
    return undefined;
  }
}

/** The static file for a URI, as the firmware looks for it; undefined hands the request to Lua. */
function staticFile(board: Board, uri: string): { devicePath: string; path: string; size: number } | undefined {
  if (uri.length < 1 || uri.length > 200) return undefined;
  if (uri.includes("..")) {
    logLine(board, "W", `path traversal attack detected: ${uri}`);
    return undefined;
  }
  const wanted = uri.length === 1 ? "/index.html" : uri;
  for (const devicePath of [`/luadb${wanted}`, wanted]) {
    const file = deviceFile(board, devicePath);
    if (file) return { devicePath, ...file };
  }
  return undefined;
}

function sendStatic(board: Board, socket: Socket, file: { devicePath: string; path: string; size: number }): void {
  const name = file.devicePath;
  const type = CONTENT_TYPES.find(([suffix]) => name.length > suffix.length + 2 && name.endsWith(suffix));
  let head = `HTTP/1.0 200 OK\r\nContent-Length: ${file.size}\r\nX-Powered-By: LuatOS\r\nContent-Type: ${type ? type[1] : "application/octet-stream"}\r\n`;
  // Pages, styles and scripts are shown; anything else is offered as a download.
  if (!/\.(html|htm|css|js)$/.test(name)) head += `Content-Disposition: attachment; filename="${name.slice(name.lastIndexOf("/") + 1)}"\r\n`;
  let body: Buffer;
  try {
    body = readFileSync(file.path);
  } catch {
    logLine(board, "E", `open ${name} FAIL!!`);
    socket.end(Buffer.from(`${head}\r\n`, "latin1"));
    return;
  }
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), body]));
}

interface Answer { code: number; headers: string; body: Uint8Array }

/** Reads the handler's three results the way the firmware's callback does. */
function answerFrom(L: LuaState): Answer {
  let code = optInteger(L, -3, 404);
  if (code < 100) code = 200;
  const body = lua.lua_isnoneornil(L, -1) ? new Uint8Array(0) : checkBytes(L, -1);
  let headers = "";
  if (lua.lua_type(L, -2) === lua.LUA_TTABLE) {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -3)) {
      lua.lua_pushvalue(L, -2);
      const key = lua.lua_tolstring(L, -1);
      const value = lua.lua_tolstring(L, -2);
      if (key && value) headers += `${Buffer.from(key).toString("latin1")}: ${Buffer.from(value).toString("latin1")}\r\n`;
      lua.lua_pop(L, 2);
    }
  }
  return { code, headers, body: Uint8Array.from(body) };
}

function respond(board: Board, socket: Socket, answer: Answer): void {
  let { code } = answer;
  let message = STATUS[code];
  if (message === undefined) {
    logLine(board, "W", `unkown http code ${code}, set as 200 Ok`);
    code = 200;
    message = "Ok";
  }
  const head = `HTTP/1.0 ${code} ${message}\r\nContent-Length: ${answer.body.length}\r\nConnection: close\r\n${answer.headers}\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), answer.body]));
}

let nextClient = 0x20000000;

function handle(board: Board, server: Server, req: http.IncomingMessage, body: Buffer): void {
  const socket = req.socket;
  const uri = req.url ?? "";
  const file = staticFile(board, uri);
  if (file) return sendStatic(board, socket, file);
  board.post(() => {
    // stop() dropped the function: the firmware closes the connection.
    if (server.ref === undefined) return void socket.resetAndDestroy();
    const L = board.L;
    let answer: Answer | undefined;
    lua.lua_pushjsfunction(L, (L1: LuaState) => {
      lua.lua_call(L1, 5, 3);
      answer = answerFrom(L1);
      return 0;
    });
    board.pushRef(L, server.ref);
    // The firmware passes its connection's address as an integer.
    lua.lua_pushinteger(L, (nextClient += 0x40) & 0x7fffffff);
    lua.lua_pushstring(L, bytesOf(req.method ?? "GET"));
    lua.lua_pushstring(L, Buffer.from(uri, "latin1"));
    lua.lua_createtable(L, 0, req.rawHeaders.length / 2);
    // The first of repeated headers wins, as the firmware's list is filled newest first.
    for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
      lua.lua_pushstring(L, Buffer.from(req.rawHeaders[i] as string, "latin1"));
      lua.lua_pushstring(L, Buffer.from(req.rawHeaders[i + 1] as string, "latin1"));
      lua.lua_settable(L, -3);
    }
    pushBytes(L, body);
    if (board.callTop(6) && answer) respond(board, socket, answer);
    else socket.resetAndDestroy();
  });
}

function listen(board: Board, server: Server): void {
  server.http.on("request", (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(req.headers["content-length"] ?? 0);
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        logLine(board, "W", `body too large, limit ${MAX_BODY}`);
        req.socket.resetAndDestroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (declared > 0 && size < declared) {
        logLine(board, "W", `body size not match expect ${size}/${declared}`);
        return void req.socket.resetAndDestroy();
      }
      if ((req.url ?? "").length > MAX_URL) {
        logLine(board, "W", `request URL is too long!!! ${(req.url ?? "").length}`);
        return void req.socket.resetAndDestroy();
      }
      handle(board, server, req, Buffer.concat(chunks));
    });
  });
  // The firmware's parser aborts the connection on malformed input: no 400 page.
  server.http.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (debugOf(board).on) logLine(board, "W", `parser errno ${error.code ?? error.message} != HPE_OK`);
    socket.resetAndDestroy();
  });
  server.http.on("error", (error: NodeJS.ErrnoException) => {
    board.post(() => {
      logLine(board, "E", `httpsrv bind port ${server.port} ret ${error.code === "EADDRINUSE" ? ERR_USE : ERR_VAL}`);
      stopServer(board, server);
    });
  });
  server.http.listen({ port: server.port, host: "127.0.0.1", exclusive: true });
}

function stopServer(board: Board, server: Server): void {
  const servers = serversOf(board);
  const at = servers.indexOf(server);
  if (at >= 0) servers.splice(at, 1);
  if (server.ref !== undefined) board.unref(server.ref);
  server.ref = undefined;
  server.http.close();
  server.forget();
  server.release();
}

const start = (L: LuaState): number => {
  const board = boardOf(L);
  const port = checkInteger(L, 1);
  if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) return logLine(board, "W", "httpsrv need callback function!!!"), 0;
  const network = networkOf(board);
  const adapter = optInteger(L, 3, network.defaultAdapter) & 0xff;
  if (!network.registered.has(adapter) && !network.isUp(adapter)) return logLine(board, "W", `该网络还没准备好 ${adapter}`), 0;
  const servers = serversOf(board);
  if (servers.some((s) => s.port === port && s.adapter === adapter)) return logLine(board, "W", `httpsrv port ${port} already in use`), 0;
  if (servers.length >= MAX_SERVERS) return logLine(board, "W", `httpsrv no free slot, max ${MAX_SERVERS}`), 0;
  const server: Server = {
    port: port & 0xffff, adapter, ref: board.ref(L, 2), http: http.createServer(), release: board.hold(), forget: () => undefined,
  };
  server.forget = board.own(() => {
    server.http.close();
    server.http.closeAllConnections();
  });
  servers.push(server);
  listen(board, server);
  logLine(board, "I", `http listen at ${network.info(adapter)?.ip ?? "0.0.0.0"}:${server.port}`);
  lua.lua_pushboolean(L, true);
  return 1;
};

const stop = (L: LuaState): number => {
  const board = boardOf(L);
  const port = checkInteger(L, 1);
  const adapter = optInteger(L, 3, networkOf(board).defaultAdapter) & 0xff;
  const server = serversOf(board).find((s) => s.port === port && s.adapter === adapter);
  if (server) stopServer(board, server);
  lua.lua_pushboolean(L, server !== undefined);
  return 1;
};

const debug = (L: LuaState): number => {
  const state = debugOf(boardOf(L));
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) state.on = lua.lua_toboolean(L, 1);
  lua.lua_pushboolean(L, state.on);
  return 1;
};

export const httpsrv = defineModule("httpsrv", {
  functions: { start, stop, debug },
});
