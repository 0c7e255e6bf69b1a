// The ZIP reader behind LuatOS miniz.unzip: the central directory, stored and deflated
// entries, CRC-checked, written into a flash folder of the device. Entries whose names
// are absolute or climb with ".." are refused (the call then answers false) while the
// others are still extracted, as the firmware does.
import { crc32, inflateRawSync } from "node:zlib";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { LuaState } from "../../engine/lua.js";
import { boardOf } from "../../runtime/board.js";
import { deviceTarget, ensureFlashRoot, readDeviceFile } from "./device-files.js";

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

export interface ZipEntry {
  name: string;
  isDirectory: boolean;
  /** undefined when the entry cannot be read (unknown method, bad CRC, truncated). */
  data: Uint8Array | undefined;
}

/** The entries of a ZIP archive, or a reason it is not one. */
export function readZip(zip: Uint8Array): ZipEntry[] | string {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65535); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) return "not a ZIP archive";
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== DIRECTORY_ENTRY) return "broken central directory";
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localAt = view.getUint32(at + 42, true);
    const name = Buffer.from(zip.subarray(at + 46, at + 46 + nameLength)).toString("utf8");
    at += 46 + nameLength + extraLength + commentLength;
    const isDirectory = name.endsWith("/");
    entries.push({ name, isDirectory, data: isDirectory ? new Uint8Array() : entryData(zip, view, localAt, method, compressedSize, size, crc) });
  }
  return entries;
}

function entryData(zip: Uint8Array, view: DataView, localAt: number, method: number, compressedSize: number, size: number, crc: number): Uint8Array | undefined {
  if (localAt + 30 > zip.length || view.getUint32(localAt, true) !== LOCAL_HEADER) return undefined;
  const start = localAt + 30 + view.getUint16(localAt + 26, true) + view.getUint16(localAt + 28, true);
  const raw = zip.subarray(start, start + compressedSize);
  if (raw.length !== compressedSize) return undefined;
  let data: Uint8Array;
  try {
    if (method === STORED) data = raw;
    else if (method === DEFLATED) data = inflateRawSync(raw);
    else return undefined;
  } catch {
    return undefined;
  }
  return data.length === size && crc32(data) === crc ? data : undefined;
}

/** Absolute names, drive letters and ".." segments would write outside the target. */
export function isUnsafeEntryName(name: string): boolean {
  if (name === "" || name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) return true;
  return name.split(/[/\\]/).includes("..");
}

/** miniz.unzip's work: true when every entry was written. `log` gets the firmware's error lines. */
export function unzipInto(L: LuaState, zipPath: string, targetDir: string, log: (message: string) => void): boolean {
  const zip = readDeviceFile(L, zipPath);
  if (!zip || zip.length === 0) {
    log(`ZIP file is empty: ${zipPath}`);
    return false;
  }
  if (!targetDir.endsWith("/")) {
    log(`target_dir must end with '/': ${targetDir}`);
    return false;
  }
  const entries = readZip(zip);
  if (typeof entries === "string") {
    log(`Failed to initialize ZIP reader: ${entries}`);
    return false;
  }
  ensureFlashRoot(boardOf(L));
  let success = true;
  for (const entry of entries) {
    if (isUnsafeEntryName(entry.name)) {
      log(`Unsafe ZIP entry path: ${entry.name}`);
      success = false;
      continue;
    }
    const devicePath = targetDir + entry.name.replaceAll("\\", "/");
    const target = deviceTarget(L, devicePath);
    if (target.kind !== "flash") {
      log(`Failed to create output file: ${devicePath}`);
      success = false;
      continue;
    }
    try {
      if (entry.isDirectory) {
        mkdirSync(target.path, { recursive: true });
        continue;
      }
      if (!entry.data) {
        log(`Failed to extract file: ${entry.name}`);
        success = false;
        continue;
      }
      mkdirSync(dirname(target.path), { recursive: true });
      writeFileSync(target.path, entry.data);
    } catch {
      log(`Failed to create output file: ${devicePath}`);
      success = false;
    }
  }
  return success;
}
