// LuatOS `http`: http.request(method, url[, headers[, body[, opts[, ca[, cert[, key[,
// password]]]]]]]) starts a request and returns at once what the firmware's asynchronous
// C APIs return: the object lua/sys.lua's sys_cw(id) builds, whose wait() suspends the
// calling sys task until this module publishes `id` with (code, headers, body) and whose
// cb(fn) runs fn with them in a new task. Failures never raise: they come back as the
// firmware's negative codes, alone (-4 connect/DNS, -5 closed early, -6 receive error,
// -7 download file, -8 timeout, -2/-3 bad response). With opts.dst the body goes to that
// file in the flash folder and `body` is its size. A --map entry with an http(s) target
// redirects the request's host (runtime/routing.ts); other host names go through the
// embedder's `lookup` when there is one. A request in flight keeps the script alive.
import { createWriteStream, rmSync, type WriteStream } from "node:fs";
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction as NetLookup } from "node:net";
import { lua, pushBytes, pushText, setFunctions, textOf, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes, raise } from "../../engine/args.js";
import { boardOf, type Board, type ModuleDef } from "../../runtime/board.js";
import { publishSystemMessage } from "./rtos.js";
import { deviceTarget } from "./device-files.js";
import { toZbuff } from "./zbuff.js";

export const HTTP_ERROR_STATE = -1;
export const HTTP_ERROR_HEADER = -2;
export const HTTP_ERROR_BODY = -3;
export const HTTP_ERROR_CONNECT = -4;
export const HTTP_ERROR_CLOSE = -5;
export const HTTP_ERROR_RX = -6;
export const HTTP_ERROR_DOWNLOAD = -7;
export const HTTP_ERROR_TIMEOUT = -8;

/** The firmware's default: ten minutes; 0 means wait forever. */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const METHOD_MAX = 11;

let requestCounter = 0;

interface RequestSpec {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
  timeoutMs: number;
  /** Host path of the download target (opts.dst), or null when it cannot be written. */
  download: string | null | undefined;
  ipv6: boolean;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; passphrase?: string };
}

type Outcome =
  | { code: number; headers: Array<[string, string]>; body: Uint8Array | number }
  | { code: number; headers?: undefined; body?: undefined };

/**
 * Pushes sys_cw(id[, code]): the wait object. Loads sys first when the script has not
 * (the firmware's sys is always there).
 */
export function pushWaitObject(L: LuaState, id: string, readyCode?: number): void {
  lua.lua_getglobal(L, "sys_cw");
  if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
    lua.lua_pop(L, 1);
    lua.lua_getglobal(L, "require");
    pushText(L, "sys");
    lua.lua_call(L, 1, 0);
    lua.lua_getglobal(L, "sys_cw");
    if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) {
      lua.lua_pop(L, 1);
      raise(L, "http.request: sys has no sys_cw (the runtime's lua/sys.lua provides it)");
    }
  }
  pushText(L, id);
  if (readyCode === undefined) {
    lua.lua_call(L, 1, 1);
  } else {
    lua.lua_pushinteger(L, readyCode);
    lua.lua_call(L, 2, 1);
  }
}

function optionalBytes(L: LuaState, idx: number): Buffer | undefined {
  return lua.lua_type(L, idx) === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, idx) as Uint8Array) : undefined;
}

function readHeaders(L: LuaState, idx: number): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  if (lua.lua_type(L, idx) !== lua.LUA_TTABLE) return headers;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    const name = lua.lua_type(L, -2) === lua.LUA_TSTRING || lua.lua_type(L, -2) === lua.LUA_TNUMBER ? lua.lua_tolstring(L, -2) : null;
    const t = lua.lua_type(L, -1);
    const value = t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? textOf(lua.lua_tolstring(L, -1) as Uint8Array) : t === lua.LUA_TBOOLEAN ? String(lua.lua_toboolean(L, -1)) : null;
    // Content-Length is always computed from the body, as on the firmware.
    if (name && value !== null && textOf(name).toLowerCase() !== "content-length") headers.push([textOf(name), value]);
    lua.lua_pop(L, 1);
  }
  return headers;
}

function tableField(L: LuaState, table: number, key: string): number {
  lua.lua_getfield(L, table, key);
  return lua.lua_type(L, -1);
}

/** Reads the request from the Lua arguments; a number is an immediate failure code. */
function readSpec(L: LuaState): RequestSpec | number {
  const method = lua.lua_isnoneornil(L, 1) ? "GET" : textOf(checkBytes(L, 1));
  const urlText = textOf(checkBytes(L, 2));
  if (method.length === 0 || method.length > METHOD_MAX || !/^[A-Za-z-]+$/.test(method)) return HTTP_ERROR_CONNECT;
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return HTTP_ERROR_CONNECT;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return HTTP_ERROR_CONNECT;
  const headers = readHeaders(L, 3);
  let body: Uint8Array | undefined;
  const buff = toZbuff(L, 4);
  if (buff) body = Uint8Array.from(buff.used());
  else if (lua.lua_type(L, 4) === lua.LUA_TSTRING || lua.lua_type(L, 4) === lua.LUA_TNUMBER) body = Uint8Array.from(lua.lua_tolstring(L, 4) as Uint8Array);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let download: string | null | undefined;
  let ipv6 = false;
  if (lua.lua_type(L, 5) === lua.LUA_TTABLE) {
    const opts = lua.lua_absindex(L, 5);
    if (tableField(L, opts, "timeout") === lua.LUA_TNUMBER) timeoutMs = Math.trunc(lua.lua_tonumber(L, -1));
    lua.lua_pop(L, 1);
    if (tableField(L, opts, "dst") === lua.LUA_TSTRING) {
      const target = deviceTarget(L, textOf(lua.lua_tolstring(L, -1) as Uint8Array));
      download = target.kind === "flash" && target.rest !== "" ? target.path : null;
    }
    lua.lua_pop(L, 1);
    if (tableField(L, opts, "ipv6") === lua.LUA_TBOOLEAN) ipv6 = lua.lua_toboolean(L, -1);
    lua.lua_pop(L, 1);
  }
  const passphrase = optionalBytes(L, 9);
  const tls = { ca: optionalBytes(L, 6), cert: optionalBytes(L, 7), key: optionalBytes(L, 8), passphrase: passphrase?.toString() };
  return { method, url, headers, body, timeoutMs, download, ipv6, tls };
}

const CONNECT_ERRORS = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ECONNABORTED"]);

function failureCode(error: NodeJS.ErrnoException, responded: boolean, connected: boolean): number {
  const code = error.code ?? "";
  if (code.startsWith("HPE_")) return responded ? HTTP_ERROR_BODY : HTTP_ERROR_HEADER;
  if (!connected || CONNECT_ERRORS.has(code)) return HTTP_ERROR_CONNECT;
  return responded ? HTTP_ERROR_RX : HTTP_ERROR_CLOSE;
}

/** node's lookup option over the embedder's promise-based lookup. */
function adaptLookup(lookup: (host: string) => Promise<{ address: string; family: 4 | 6 }>): NetLookup {
  return ((hostname: string, options: { all?: boolean }, callback: (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void) => {
    lookup(hostname).then(
      (found) => {
        if (options.all) callback(null, [{ address: found.address, family: found.family }]);
        else callback(null, found.address, found.family);
      },
      (error: unknown) => {
        const failure = Object.assign(error instanceof Error ? error : new Error(String(error)), { code: "ENOTFOUND" });
        callback(failure, "", 4);
      },
    );
  }) as unknown as NetLookup;
}

function perform(board: Board, spec: RequestSpec): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    let responded = false;
    let connected = false;
    let file: WriteStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    let request: ClientRequest | undefined;
    const forget = board.own(() => {
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      file?.destroy();
    });
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      forget();
      resolve(outcome);
    };
    const fail = (code: number) => {
      request?.destroy();
      if (file) {
        const path = spec.download as string;
        file.destroy();
        file.once("close", () => rmSync(path, { force: true }));
      }
      finish({ code });
    };
    if (spec.download === null) {
      finish({ code: HTTP_ERROR_DOWNLOAD });
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of spec.headers) headers[name] = value;
    if (spec.body !== undefined) headers["Content-Length"] = String(spec.body.length);
    const lookup = board.host.runtime.options.lookup;
    const url = board.host.runtime.router.routeHttp(spec.url).url;
    const secure = url.protocol === "https:";
    const options: RequestOptions & { rejectUnauthorized?: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer; passphrase?: string } = {
      method: spec.method,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      family: spec.ipv6 ? 6 : undefined,
      lookup: lookup ? adaptLookup(lookup) : undefined,
      agent: false,
    };
    if (secure) {
      // Without a server certificate the firmware does not verify the server.
      options.rejectUnauthorized = spec.tls.ca !== undefined;
      if (spec.tls.ca) options.ca = spec.tls.ca;
      if (spec.tls.cert) options.cert = spec.tls.cert;
      if (spec.tls.key) options.key = spec.tls.key;
      if (spec.tls.passphrase) options.passphrase = spec.tls.passphrase;
    }
    try {
      request = (secure ? httpsRequest : httpRequest)(options);
    } catch {
      finish({ code: HTTP_ERROR_CONNECT });
      return;
    }
    // node's timers overflow past 2^31 - 1 ms (about 24 days) and would fire at once.
    if (spec.timeoutMs > 0) timer = setTimeout(() => fail(HTTP_ERROR_TIMEOUT), Math.min(spec.timeoutMs, 0x7fffffff));
    request.on("socket", (socket) => {
      socket.once(secure ? "secureConnect" : "connect", () => {
        connected = true;
      });
    });
    request.on("error", (error: NodeJS.ErrnoException) => fail(failureCode(error, responded, connected)));
    request.on("response", (response: IncomingMessage) => {
      responded = true;
      connected = true;
      const status = response.statusCode ?? 0;
      const received: Array<[string, string]> = [];
      for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) received.push([response.rawHeaders[i] as string, response.rawHeaders[i + 1] as string]);
      const chunks: Buffer[] = [];
      let size = 0;
      if (spec.download) {
        file = createWriteStream(spec.download);
        file.on("error", () => fail(HTTP_ERROR_DOWNLOAD));
      }
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (file) file.write(chunk);
        else chunks.push(chunk);
      });
      response.on("aborted", () => fail(HTTP_ERROR_CLOSE));
      response.on("error", (error: NodeJS.ErrnoException) => fail(failureCode(error, true, true)));
      response.on("end", () => {
        if (!file) {
          finish({ code: status, headers: received, body: Buffer.concat(chunks, size) });
          return;
        }
        file.end(() => finish({ code: status, headers: received, body: size }));
      });
    });
    request.end(spec.body === undefined ? undefined : Buffer.from(spec.body));
  });
}

function pushOutcome(L: LuaState, outcome: Outcome): number {
  lua.lua_pushinteger(L, outcome.code);
  if (outcome.headers === undefined) return 1;
  lua.lua_createtable(L, 0, outcome.headers.length);
  for (const [name, value] of outcome.headers) {
    pushText(L, name);
    pushText(L, value);
    lua.lua_rawset(L, -3);
  }
  if (typeof outcome.body === "number") lua.lua_pushinteger(L, outcome.body);
  else pushBytes(L, outcome.body);
  return 3;
}

const request: LuaJsFunction = (L) => {
  const board = boardOf(L);
  const id = `moonrig.http.${++requestCounter}`;
  const spec = readSpec(L);
  if (typeof spec === "number") {
    pushWaitObject(L, id, spec);
    return 1;
  }
  pushWaitObject(L, id);
  const release = board.hold();
  void perform(board, spec).then((outcome) => {
    if (!board.disposed) publishSystemMessage(board, id, (L1) => pushOutcome(L1, outcome));
    // Released after the message is queued, so the run cannot end before it is delivered.
    release();
  });
  return 1;
};

export const http: ModuleDef = {
  name: "http",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 1);
    setFunctions(L, -1, { request });
    // The firmware registers the same table as `http2` too.
    lua.lua_pushvalue(L, -1);
    lua.lua_setglobal(L, "http2");
  },
};
