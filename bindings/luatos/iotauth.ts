// LuatOS `iotauth`: the MQTT (client id, user name, password) triples the cloud platforms
// document, computed as the firmware computes them. Every function returns three strings;
// an unsupported signing method leaves the parts the firmware would not fill empty.
import { createHash, createHmac, randomInt } from "node:crypto";
import { lua, bytesOf, pushBytes, setFunctions, textOf, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { boardOf, type ModuleDef } from "../../runtime/board.js";
import { timezoneOf } from "./rtc.js";
import { bytesFromBase64 } from "./encodings.js";

/** 2999-01-01 00:00:00 UTC+8: the firmware's "never expires" default. */
const FAR_FUTURE = 32472115200;
/** 2200-01-01 00:00:00 UTC+8: iotauth.tuya's default. */
const TUYA_FAR_FUTURE = 7258089600;

type Digest = "md5" | "sha1" | "sha256";

/** The firmware compares method names against an all-lower or all-upper spelling. */
function methodOf(name: string, allowed: readonly Digest[], prefix = ""): Digest | undefined {
  for (const digest of allowed) {
    const spelled = `${prefix}${digest}`;
    if (name === spelled || name === spelled.toUpperCase()) return digest;
  }
  return undefined;
}

const concat = (...parts: Array<Uint8Array | string>): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

/**
 * A timestamp argument: any number (Lua integers are 32-bit here and the firmware's
 * defaults do not fit), written without a fractional part.
 */
function timestampArg(L: LuaState, idx: number, fallback: number): number {
  return lua.lua_type(L, idx) === lua.LUA_TNUMBER ? Math.trunc(lua.lua_tonumber(L, idx)) : fallback;
}

function optString(L: LuaState, idx: number, fallback: string): Uint8Array {
  return lua.lua_isnoneornil(L, idx) ? bytesOf(fallback) : checkBytes(L, idx);
}

function pushTriple(L: LuaState, clientId: Uint8Array | string, user: Uint8Array | string, password: Uint8Array | string): number {
  for (const part of [clientId, user, password]) pushBytes(L, typeof part === "string" ? bytesOf(part) : part);
  return 3;
}

/**
 * iotauth.aliyun(productKey, deviceName, deviceSecret[, method = "hmacmd5"[, timestamp[,
 * tls]]]): Alibaba Cloud's direct-connection signature; securemode 2 over TLS, else 3.
 */
const aliyun: LuaJsFunction = (L) => {
  const productKey = checkBytes(L, 1);
  const deviceName = checkBytes(L, 2);
  const deviceSecret = checkBytes(L, 3);
  const methodName = textOf(optString(L, 4, "hmacmd5"));
  const ts = String(timestampArg(L, 5, FAR_FUTURE));
  const tls = lua.lua_type(L, 6) === lua.LUA_TBOOLEAN && lua.lua_toboolean(L, 6);
  const digest = methodOf(methodName, ["md5", "sha1", "sha256"], "hmac");
  if (!digest) return pushTriple(L, "", "", "");
  const deviceId = concat(productKey, ".", deviceName);
  const clientId = concat(deviceId, `|securemode=${tls ? 2 : 3},signmethod=hmac${digest},timestamp=${ts}|`);
  const user = concat(deviceName, "&", productKey);
  const content = concat("clientId", deviceId, "deviceName", deviceName, "productKey", productKey, "timestamp", ts);
  const password = createHmac(digest, deviceSecret).update(content).digest("hex").toUpperCase();
  return pushTriple(L, clientId, user, password);
};

/** OneNET's token escaping: only these eight characters, in res and sign. */
function onenetEscape(text: string): string {
  const table: Record<string, string> = { "+": "%2B", " ": "%20", "/": "%2F", "?": "%3F", "%": "%25", "#": "%23", "&": "%26", "=": "%3D" };
  return [...text].map((c) => table[c] ?? c).join("");
}

/**
 * iotauth.onenet(productId, deviceName, key[, method = "md5"[, et[, version =
 * "2018-10-31"[, res]]]]) → deviceName, productId, token. The key is the base64 device
 * key (or an access key with res "products/<id>"); et defaults to the far future.
 */
const onenet: LuaJsFunction = (L) => {
  const productId = textOf(checkBytes(L, 1));
  const deviceName = textOf(checkBytes(L, 2));
  const key = bytesFromBase64(checkBytes(L, 3));
  const method = textOf(optString(L, 4, "md5"));
  const et = String(timestampArg(L, 5, FAR_FUTURE));
  const version = textOf(optString(L, 6, "2018-10-31"));
  const res = lua.lua_type(L, 7) === lua.LUA_TSTRING ? textOf(checkBytes(L, 7)) : `products/${productId}/devices/${deviceName}`;
  const digest = methodOf(method, ["md5", "sha1", "sha256"]);
  // The firmware gives up before writing any part.
  if (!digest) return pushTriple(L, "", "", "");
  const sign = createHmac(digest, key).update(`${et}\n${method}\n${res}\n${version}`).digest("base64");
  const token = `version=${version}&res=${onenetEscape(res)}&et=${et}&method=${method}&sign=${onenetEscape(sign)}`;
  return pushTriple(L, deviceName, productId, token);
};

/** YYYYMMDDHH in local time (the rtc time zone's whole hours), the hour Huawei's signature is bound to. */
function iotdaHour(seconds: number, timezone: number): string {
  const d = new Date((seconds + Math.trunc(timezone / 4) * 3600) * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}`;
}

/**
 * iotauth.iotda(deviceId, secret[, timestamp]): Huawei IoTDA. Without a timestamp the
 * signature type is 0 (the platform does not check the time) and the time is the far future.
 */
const iotda: LuaJsFunction = (L) => {
  const deviceId = checkBytes(L, 1);
  const secret = checkBytes(L, 2);
  const checked = lua.lua_type(L, 3) === lua.LUA_TNUMBER;
  const hour = iotdaHour(checked ? Math.trunc(lua.lua_tonumber(L, 3)) : FAR_FUTURE, timezoneOf(boardOf(L)));
  const clientId = concat(deviceId, `_0_${checked ? 1 : 0}_${hour}`);
  const password = createHmac("sha256", hour).update(secret).digest("hex");
  return pushTriple(L, clientId, deviceId, password);
};

/** Five random lowercase letters, as the firmware draws them for each qcloud call. */
function connectionId(): string {
  let id = "";
  for (let i = 0; i < 5; i++) id += String.fromCharCode(0x61 + randomInt(26));
  return id;
}

/**
 * iotauth.qcloud(productId, deviceName, deviceSecret[, method = "sha256"[, timestamp[,
 * sdkAppId = "12010126"]]]): Tencent Cloud IoT Hub; the user name carries a random
 * connection id, so two calls differ.
 */
const qcloud: LuaJsFunction = (L) => {
  const productId = checkBytes(L, 1);
  const deviceName = checkBytes(L, 2);
  const psk = bytesFromBase64(checkBytes(L, 3)).subarray(0, 48);
  const method = textOf(optString(L, 4, "sha256"));
  const ts = String(timestampArg(L, 5, FAR_FUTURE));
  const appId = optString(L, 6, "12010126");
  const clientId = concat(productId, deviceName);
  const user = concat(productId, deviceName, ";", appId, `;${connectionId()};${ts}`);
  const digest = methodOf(method, ["sha1", "sha256"]);
  if (!digest) return pushTriple(L, clientId, user, "");
  const password = `${createHmac(digest, psk).update(user).digest("hex")};hmac${digest}`;
  return pushTriple(L, clientId, user, password);
};

/** iotauth.tuya(deviceId, secret[, timestamp]): Tuya's tuyalink MQTT credentials. */
const tuya: LuaJsFunction = (L) => {
  const deviceId = textOf(checkBytes(L, 1));
  const secret = checkBytes(L, 2);
  const ts = String(timestampArg(L, 3, TUYA_FAR_FUTURE));
  const content = `deviceId=${deviceId},timestamp=${ts},secureMode=1,accessType=1`;
  const password = createHmac("sha256", secret).update(content).digest("hex");
  return pushTriple(L, `tuyalink_${deviceId}`, `${deviceId}|signMethod=hmacSha256,timestamp=${ts},secureMode=1,accessType=1`, password);
};

/** iotauth.baidu(iotCoreId, deviceKey, deviceSecret[, method = "MD5"[, timestamp]]). */
const baidu: LuaJsFunction = (L) => {
  const coreId = textOf(checkBytes(L, 1));
  const deviceKey = textOf(checkBytes(L, 2));
  const secret = textOf(checkBytes(L, 3));
  const method = textOf(optString(L, 4, "MD5"));
  const ts = timestampArg(L, 5, 0);
  const digest = methodOf(method, ["md5", "sha256"]);
  if (!digest) return pushTriple(L, coreId, "", "");
  const name = digest.toUpperCase();
  const user = ts ? `thingidp@${coreId}|${deviceKey}|${ts}|${name}` : `thingidp@${coreId}|${deviceKey}|${name}`;
  const password = createHash(digest).update(`${deviceKey}&${ts}&${name}${secret}`).digest("hex");
  return pushTriple(L, coreId, user, password);
};

export const iotauth: ModuleDef = {
  name: "iotauth",
  open(L: LuaState): void {
    lua.lua_createtable(L, 0, 6);
    setFunctions(L, -1, { aliyun, onenet, iotda, qcloud, tuya, baidu });
  },
};
