// Which LuatOS board the simulated device is, and so which network modules its firmware
// build has. The vendor's module table (LuatOS app_engine/factory/config/template.lua, the
// module/ folders, the wlan demos) says:
//   Air780E, Air780EG, Air700E, Air600E (EC618)   cellular; `wlan` can only scan (Wi-Fi
//                                                 positioning: init, scan, scanResult)
//   other Air7xx (Air780EP/EPM/EHM/EHV/EGH ...)   the same, on EC718 chips
//   Air8000 (A/D/G/T)                             cellular and Wi-Fi; Air8000W the same
//   Air8101 (A/B)                                 Wi-Fi and built-in Ethernet, no cellular
//   ESP32C3, ESP32S3, ESP32 ...                   Wi-Fi only; their (older) builds have no netdrv
// `--device` picks the board with `model`; `network` ("cellular" | "wifi") overrides the
// radios the model implies. Naming neither is `auto`: an Air780E, unless the project
// configures wlan (calls beyond scanning) without checking that those calls exist, which
// only a Wi-Fi board runs: then an ESP32C3, or an Air8000 when it also uses mobile unguarded.
import { readFileSync } from "node:fs";
import type { Board } from "../../runtime/board.js";
import type { DeviceConfig } from "../../runtime/device.js";
import { Project } from "../../runtime/project.js";

/** What `wlan` is on a board: the full station/AP module, the scan-only one, or none. */
export type WlanKind = "station" | "scan" | "none";

export interface BoardSpec {
  model: string;
  hwver: string;
  chip: string;
  cellular: boolean;
  wlan: WlanKind;
  netdrv: boolean;
}

type Radios = Pick<BoardSpec, "cellular" | "wlan" | "netdrv">;

const DEFAULT_MODEL = "Air780E";
const AUTO_WIFI_MODEL = "ESP32C3";
const AUTO_BOTH_MODEL = "Air8000";
const DEFAULT_HWVER = "A11";

const CELLULAR: Radios = { cellular: true, wlan: "scan", netdrv: true };
const CELLULAR_WIFI: Radios = { cellular: true, wlan: "station", netdrv: true };
const WIFI_ETHERNET: Radios = { cellular: false, wlan: "station", netdrv: true };
const WIFI_ONLY: Radios = { cellular: false, wlan: "station", netdrv: false };

/** The board families, matched on the model name in order; the first that fits wins. */
const FAMILIES: ReadonlyArray<{ pattern: RegExp; chip: (model: string) => string; radios: Radios }> = [
  { pattern: /^Air8000/i, chip: () => "EC718HM", radios: CELLULAR_WIFI },
  { pattern: /^Air8101/i, chip: () => "BK7258", radios: WIFI_ETHERNET },
  { pattern: /^ESP32/i, chip: (model) => model.toUpperCase(), radios: WIFI_ONLY },
  { pattern: /^Air(780E|780EG|780EX|700E|600E)$/i, chip: () => "EC618", radios: CELLULAR },
  { pattern: /^Air7\d\dE(P|PV|PS)$/i, chip: () => "EC718P", radios: CELLULAR },
  { pattern: /^Air7\d\dEH/i, chip: () => "EC718HM", radios: CELLULAR },
  { pattern: /^Air7\d\d/i, chip: () => "EC718PM", radios: CELLULAR },
];

/** A model no family knows keeps the default board's radios (and says nothing about its chip). */
function familyOf(model: string): { chip: string; radios: Radios } {
  for (const family of FAMILIES) if (family.pattern.test(model)) return { chip: family.chip(model), radios: family.radios };
  return { chip: "", radios: CELLULAR };
}

// ---- auto: what the project's own code needs ----

/** wlan calls a cellular board's scan-only wlan has: using only these needs no Wi-Fi. */
const WLAN_SCAN_CALLS = new Set(["init", "scan", "scanResult"]);
const MAX_SCANNED_FILES = 200;
const MAX_SCANNED_BYTES = 512 * 1024;

/** Lua source without its comments (long and short): commented-out code must not count. */
function withoutComments(source: string): string {
  return source.replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, " ").replace(/--[^\n]*/g, " ");
}

/** Whether the code checks that global `name` exists before it relies on it. */
function guards(code: string, name: string): boolean {
  const n = name;
  const patterns = [
    new RegExp(`\\b(?:if|elseif|while|and|or|not|return)\\s+(?:not\\s+)?${n}\\b(?!\\s*[.:\\[(])`),
    new RegExp(`(?<![.\\w])${n}\\s*(?:~=|==)\\s*nil\\b`),
    new RegExp(`(?<![.\\w])${n}\\s+(?:and|or)\\b`),
    new RegExp(`\\btype\\s*\\(\\s*${n}\\s*\\)`),
    new RegExp(`\\b_G\\s*(?:\\.\\s*${n}\\b|\\[\\s*["']${n}["']\\s*\\])`),
    new RegExp(`\\brawget\\s*\\(\\s*_G\\s*,\\s*["']${n}["']`),
  ];
  return patterns.some((pattern) => pattern.test(code));
}

/** The functions the code calls on global `name` (`wlan.connect(...)`, `wlan:x`). */
function callsOn(code: string, name: string): Set<string> {
  const calls = new Set<string>();
  for (const match of code.matchAll(new RegExp(`(?<![.\\w])${name}\\s*[.:]\\s*([A-Za-z_]\\w*)`, "g"))) calls.add(match[1] as string);
  return calls;
}

/** The project's Lua sources as the device would hold them (/luadb/ seen flat), and the prelude. */
function projectSources(board: Board): string {
  const runtime = board.host.runtime;
  const parts = [...(runtime.options.prelude ?? [])];
  let budget = MAX_SCANNED_BYTES;
  const files = new Project(runtime.projectDirectory).entries().filter((entry) => entry.name.endsWith(".lua")).slice(0, MAX_SCANNED_FILES);
  for (const { path } of files) {
    if (budget <= 0) break;
    try {
      const text = readFileSync(path, "latin1").slice(0, budget);
      budget -= text.length;
      parts.push(text);
    } catch {
      // An unreadable file tells nothing about the board.
    }
  }
  return withoutComments(parts.join("\n"));
}

/**
 * Whether the code sees for itself if `wlan.NAME` exists before calling it (`if wlan and
 * wlan.connect then`): the vendor's scripts do, because a cellular board's wlan only scans.
 */
function checksWlanCall(code: string): boolean {
  for (const match of code.matchAll(/(?<![.\w])wlan\s*\.\s*([A-Za-z_]\w*)(?=\s*(?:then\b|and\b|or\b|~=|==|\)))/g)) {
    if (!WLAN_SCAN_CALLS.has(match[1] as string)) return true;
  }
  return false;
}

/**
 * The model `auto` picks for this project: Wi-Fi when it configures wlan (calls beyond
 * scanning, which a cellular board's wlan lacks) without checking those calls exist.
 */
export function autoModel(code: string): string {
  const configuresWlan = [...callsOn(code, "wlan")].some((call) => !WLAN_SCAN_CALLS.has(call)) && !checksWlanCall(code);
  if (!configuresWlan) return DEFAULT_MODEL;
  const usesMobile = !guards(code, "mobile") && callsOn(code, "mobile").size > 0;
  return usesMobile ? AUTO_BOTH_MODEL : AUTO_WIFI_MODEL;
}

export function resolveBoard(device: DeviceConfig, projectCode: () => string): BoardSpec {
  let model = device.model;
  if (model === undefined || model === "") {
    if (device.network === "wifi") model = AUTO_WIFI_MODEL;
    else if (device.network === "cellular") model = DEFAULT_MODEL;
    else model = autoModel(projectCode());
  }
  const family = familyOf(model);
  let radios = family.radios;
  // `network` keeps its old meaning whatever the model: a cellular board, or a Wi-Fi one.
  if (device.network === "cellular") radios = { ...radios, cellular: true, wlan: "scan" };
  if (device.network === "wifi") radios = { ...radios, cellular: false, wlan: "station" };
  return {
    // hmeta answers nil for a name the device file gives as "".
    model: device.model ?? model,
    hwver: device.hwver ?? DEFAULT_HWVER,
    chip: device.chip ?? family.chip,
    ...radios,
  };
}

const specs = new WeakMap<object, BoardSpec>();

/** The board of this run: chosen once, so a reboot comes back as the same hardware. */
export function boardSpecOf(board: Board): BoardSpec {
  const runtime = board.host.runtime;
  let spec = specs.get(runtime);
  if (!spec) {
    spec = resolveBoard(runtime.options.device ?? {}, () => projectSources(board));
    specs.set(runtime, spec);
  }
  return spec;
}
