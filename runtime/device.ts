// The simulated device: everything a script can read about its hardware, deterministic and
// configurable from --device FILE or the embedding API.
import { readFileSync } from "node:fs";
import { DeviceError, checkI2cList, checkOneWireList, type I2cChipConfig, type OneWireChipConfig } from "../device/device.js";

export interface WifiNetwork {
  ssid: string;
  pwd?: string;
  rssi?: number;
  bssid?: string;
  channel?: number;
}

/** The station configuration saved in the device's flash (what wifi.sta.config saves). */
export interface WifiStation {
  ssid: string;
  pwd?: string;
  bssid?: string;
  /** Connect at boot (the SDK's auto-connect flag); default true. */
  auto?: boolean;
}

export interface DeviceConfig {
  chipId?: number;
  flashId?: number;
  imei?: string;
  /** LuatOS mcu.unique_id(), as hex. */
  uniqueId?: string;
  imsi?: string;
  iccid?: string;
  mac?: string;
  ip?: string;
  netmask?: string;
  gateway?: string;
  /** LuatOS: "cellular" (mobile present, wlan only scans) or "wifi" (wlan present, no mobile). */
  network?: "cellular" | "wifi";
  /**
   * NodeMCU: `mode` is the Wi-Fi mode saved in flash (default 1, STATION); `station` the saved
   * station configuration (default: the first listed network, or an open network "moonrig";
   * false for a board with none saved).
   */
  wifi?: { networks?: WifiNetwork[]; connectDelayMs?: number; mode?: number; station?: WifiStation | false };
  /** Input pin levels by pin number: what gpio.read returns. */
  pins?: Record<string, number>;
  /** Sensor readings by name (adc, vdd33, temperature, humidity, ...). */
  sensors?: Record<string, number>;
  heap?: number;
  /**
   * LuatOS: the board (`Air780E`, `Air8000`, `ESP32C3`, `Air8101` ...), which decides which of
   * mobile, wlan and netdrv exist and what hmeta names; absent, `auto` picks one from the
   * project (bindings/luatos/boards.ts). `network` overrides the radios the model implies.
   * hwver and chip override hmeta's answers. netDelayMs: how long after boot the cellular
   * link registers and publishes IP_READY (default 2000; Wi-Fi takes 2 x wifi.connectDelayMs
   * after wlan.connect).
   */
  model?: string;
  hwver?: string;
  chip?: string;
  netDelayMs?: number;
  /** Chips on the I2C buses (see README, "The simulated device"). */
  i2c?: I2cChipConfig[];
  /** Devices on 1-Wire buses, by pin (see README, "The simulated device"). */
  onewire?: OneWireChipConfig[];
}

export class DeviceFileError extends Error {}

/** TLS material flashed into an emulated AT modem (ESP-AT keeps it in its mqtt_ca/cert/key partitions). */
export interface ModemCertificates {
  ca?: Uint8Array;
  cert?: Uint8Array;
  key?: Uint8Array;
}

/** Reads one PEM file named by `option` (for its error message). */
export function readPemFile(option: string, path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DeviceFileError(`cannot read ${option} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!bytes.includes("-----BEGIN ")) throw new DeviceFileError(`${option} ${path} is not a PEM file`);
  return bytes;
}

export function readDeviceFile(path: string): DeviceConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new DeviceFileError(`cannot read device file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DeviceFileError(`device file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DeviceFileError(`device file ${path} must hold a JSON object`);
  }
  const device = parsed as Record<string, unknown>;
  for (const key of ["chipId", "flashId", "heap"]) {
    const value = device[key];
    if (typeof value === "string" && /^0x[0-9a-f]+$/i.test(value)) device[key] = Number.parseInt(value, 16);
  }
  checkWifi(path, device.wifi);
  const { network, netDelayMs } = device;
  if (network !== undefined && network !== "cellular" && network !== "wifi") throw new DeviceFileError(`device file ${path}: network must be "cellular" or "wifi"`);
  if (netDelayMs !== undefined && !(typeof netDelayMs === "number" && netDelayMs >= 0)) throw new DeviceFileError(`device file ${path}: netDelayMs must be a number of milliseconds`);
  try {
    checkI2cList(device.i2c);
    checkOneWireList(device.onewire);
  } catch (error) {
    if (error instanceof DeviceError) throw new DeviceFileError(`device file ${path}: ${error.message}`);
    throw error;
  }
  return device as DeviceConfig;
}

function checkWifi(path: string, wifi: unknown): void {
  if (wifi === undefined) return;
  const bad = (what: string): never => {
    throw new DeviceFileError(`device file ${path}: ${what}`);
  };
  if (typeof wifi !== "object" || wifi === null || Array.isArray(wifi)) bad("wifi must be an object");
  const { mode, station } = wifi as Record<string, unknown>;
  if (mode !== undefined && !(typeof mode === "number" && Number.isInteger(mode) && mode >= 0 && mode <= 3)) bad("wifi.mode must be 0, 1, 2 or 3");
  if (station === undefined || station === false) return;
  if (typeof station !== "object" || station === null || Array.isArray(station)) bad("wifi.station must be an object or false");
  const { ssid, pwd, bssid, auto } = station as Record<string, unknown>;
  if (typeof ssid !== "string" || ssid === "") bad("wifi.station.ssid must be a non-empty string");
  if (pwd !== undefined && typeof pwd !== "string") bad("wifi.station.pwd must be a string");
  if (bssid !== undefined && !(typeof bssid === "string" && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(bssid))) bad("wifi.station.bssid must look like AA:BB:CC:DD:EE:FF");
  if (auto !== undefined && typeof auto !== "boolean") bad("wifi.station.auto must be true or false");
}
