// The ESP8266 firmware's client TLS settings (tls.cert.verify, tls.cert.auth), which every
// secure connection a NodeMCU script makes uses: tls sockets, https requests, wss websockets
// and mqtt with `secure` true. PEM given to them is kept in "flash" (one 4 KiB sector each,
// for the run, surviving reboots); whether they are used starts off at every boot, as on the
// board, and a callback given instead of PEM supplies them at each connection until another
// form is called. mbedTLS on the ESP8266 checks the chain, never the host name.
import type { ConnectionOptions } from "node:tls";
import { lua, toBytes, type LuaState } from "../../engine/lua.js";
import { raise } from "../../engine/args.js";
import { perBoard, type Board } from "../../runtime/board.js";
import type { Runtime } from "../../runtime/runtime.js";
import type { TlsSettings } from "../../runtime/mqtt.js";
import { deprecationNote } from "./deprecation.js";

const SECTOR_SIZE = 0x1000;
/** Each stored blob: a 32-byte name and a 2-byte length before its DER bytes. */
const BLOB_HEADER = 34;
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

interface Flash {
  /** DER certificates tls.cert.verify stored. */
  ca: Buffer[];
  /** DER client certificate and key tls.cert.auth stored. */
  auth: Buffer[];
}

interface BootSettings {
  verify: boolean;
  auth: boolean;
  verifyCallback: number | undefined;
  authCallback: number | undefined;
}

const flashes = new WeakMap<Runtime, Flash>();
const settingsOf = perBoard((): BootSettings => ({ verify: false, auth: false, verifyCallback: undefined, authCallback: undefined }));

function flashOf(board: Board): Flash {
  let flash = flashes.get(board.host.runtime);
  if (!flash) {
    flash = { ca: [], auth: [] };
    flashes.set(board.host.runtime, flash);
  }
  return flash;
}

/** One PEM blob of `type` decoded the firmware's way; a string is its error message. */
function decodePem(pem: string, type: string): Buffer | string {
  const header = pem.indexOf("-----BEGIN ");
  if (header === -1) return "No PEM header";
  if (!pem.startsWith(type, header + 11)) return "Wrong PEM type";
  const lineEnd = pem.indexOf("\n", header);
  if (lineEnd === -1) return "Incorrect PEM format";
  const bytes: number[] = [];
  let bits = 0;
  let accumulator = 0;
  let at = lineEnd;
  for (; at < pem.length; at++) {
    const c = pem[at] as string;
    const value = BASE64.indexOf(c);
    if (value === -1) {
      if (/\s/.test(c)) continue;
      if (c === "=") {
        bits = 0;
        continue;
      }
      if (c === "-") break;
      return "Invalid character in PEM";
    }
    bits += 6;
    accumulator = ((accumulator << 6) | value) & 0xffffff;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((accumulator >> bits) & 0xff);
    }
  }
  if (!pem.startsWith("-----END ", at) || !pem.startsWith(type, at + 9) || bits !== 0) return "Invalid PEM format data";
  return Buffer.from(bytes);
}

/** The PEM arguments, each of its type, as the sector would hold them; raises the firmware's error. */
function readPemArguments(L: LuaState, types: readonly string[]): Buffer[] {
  const blobs: Buffer[] = [];
  let used = 0;
  for (let arg = 1; arg <= lua.lua_gettop(L) && arg <= types.length; arg++) {
    const bytes = toBytes(L, arg);
    if (!bytes) raise(L, "No PEM blob");
    const decoded = decodePem(Buffer.from(bytes).toString("latin1"), types[arg - 1] as string);
    if (typeof decoded === "string") raise(L, decoded);
    used += BLOB_HEADER + decoded.length;
    if (used >= SECTOR_SIZE) raise(L, "Invalid PEM format data");
    blobs.push(decoded);
  }
  return blobs;
}

/** tls.cert.verify and tls.cert.auth share their shape; `which` picks the settings. */
function certCall(L: LuaState, board: Board, which: "verify" | "auth"): number {
  const settings = settingsOf(board);
  const callbackKey = which === "verify" ? "verifyCallback" : "authCallback";
  const old = settings[callbackKey];
  if (old !== undefined) board.unref(old);
  settings[callbackKey] = undefined;
  if (lua.lua_type(L, 1) === lua.LUA_TFUNCTION) {
    settings[callbackKey] = board.ref(L, 1);
    lua.lua_pushboolean(L, true);
    return 1;
  }
  if (lua.lua_type(L, 1) !== lua.LUA_TNIL) board.write(deprecationNote(`tls.cert.${which}'s old interface`, "soon"));
  const flash = flashOf(board);
  let enable: boolean;
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    const blobs = readPemArguments(L, which === "verify" ? ["CERTIFICATE"] : ["CERTIFICATE", "RSA PRIVATE KEY"]);
    if (which === "verify") flash.ca = blobs;
    else flash.auth = blobs;
    enable = true;
  } else enable = lua.lua_toboolean(L, 1);
  if (enable && (which === "verify" ? flash.ca : flash.auth).length === 0) raise(L, "no certificates found");
  settings[which] = enable;
  lua.lua_pushboolean(L, true);
  return 1;
}

export const verify = (L: LuaState, board: Board): number => certCall(L, board, "verify");
export const auth = (L: LuaState, board: Board): number => certCall(L, board, "auth");

/** Calls a tls.cert callback with `k`; its string result as DER or PEM bytes, or undefined. */
function fromCallback(board: Board, ref: number, k: number): Buffer | undefined {
  const L = board.L;
  const top = lua.lua_gettop(L);
  try {
    board.pushRef(L, ref);
    lua.lua_pushinteger(L, k);
    board.protectedCall(1, 1);
    const bytes = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toBytes(L, -1) : null;
    return bytes ? Buffer.from(bytes) : undefined;
  } catch {
    return undefined;
  } finally {
    lua.lua_settop(L, top);
  }
}

/** PEM text for node of a DER or PEM certificate or key. */
function pem(bytes: Buffer, type: string): string {
  return bytes.includes("-----BEGIN ") ? bytes.toString("latin1") : `-----BEGIN ${type}-----\n${bytes.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END ${type}-----\n`;
}

/** node TLS options for a connection the script opens now, by the board's tls.cert settings. */
export function clientTlsOptions(board: Board): Pick<ConnectionOptions, "ca" | "cert" | "key" | "rejectUnauthorized" | "checkServerIdentity"> {
  const settings = settingsOf(board);
  const flash = flashOf(board);
  let cas: Buffer[] = [];
  if (settings.verifyCallback !== undefined) {
    for (let k = 1; ; k++) {
      const ca = fromCallback(board, settings.verifyCallback, k);
      if (!ca) break;
      cas.push(ca);
    }
  } else if (settings.verify) cas = flash.ca;
  let chain: Buffer[] = [];
  let key: Buffer | undefined;
  if (settings.authCallback !== undefined) {
    key = fromCallback(board, settings.authCallback, 0);
    for (let k = 1; key; k++) {
      const cert = fromCallback(board, settings.authCallback, k);
      if (!cert) break;
      chain.push(cert);
    }
  } else if (settings.auth) {
    chain = flash.auth.slice(0, 1);
    key = flash.auth[1];
  }
  const options: ReturnType<typeof clientTlsOptions> = { rejectUnauthorized: cas.length > 0, checkServerIdentity: () => undefined };
  if (cas.length > 0) options.ca = cas.map((ca) => pem(ca, "CERTIFICATE"));
  if (key && chain.length > 0) {
    options.cert = chain.map((cert) => pem(cert, "CERTIFICATE")).join("");
    options.key = pem(key, "RSA PRIVATE KEY");
  }
  return options;
}

/** The same settings for an MQTT connection with `secure` set and no certificate table. */
export function mqttTlsSettings(board: Board): TlsSettings {
  const options = clientTlsOptions(board);
  const text = (value: unknown): Uint8Array | undefined => (value === undefined ? undefined : Buffer.from(([] as unknown[]).concat(value).join(""), "latin1"));
  return { verify: options.rejectUnauthorized === true, checkName: false, ca: text(options.ca), cert: text(options.cert), key: text(options.key) };
}
