// LuatOS `miniz`: zlib and raw deflate through node:zlib, with miniz's flag word mapped onto
// zlib's settings (the low 12 bits are miniz's match-probe count, 0 meaning Huffman coding
// only, which is what the default flags ask for), the firmware's 32 KiB input limit, its
// inflate buffer size, and its answer of nothing plus a log line on failure. The bytes
// differ from miniz's own encoder; any inflater reads both. miniz.unzip extracts a ZIP file
// into a device folder.
import { constants, deflateRawSync, deflateSync, inflateRawSync, inflateSync, type ZlibOptions } from "node:zlib";
import { lua, pushBytes, bytesOf, type LuaState } from "../../engine/lua.js";
import { checkBytes, optInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { timestamp } from "./log.js";
import { unzipInto } from "./unzip.js";

const WRITE_ZLIB_HEADER = 0x01000;
const COMPUTE_ADLER32 = 0x02000;
const GREEDY_PARSING_FLAG = 0x04000;
const NONDETERMINISTIC_PARSING_FLAG = 0x08000;
const RLE_MATCHES = 0x10000;
const FILTER_MATCHES = 0x20000;
const FORCE_ALL_STATIC_BLOCKS = 0x40000;
const FORCE_ALL_RAW_BLOCKS = 0x80000;
const PARSE_ZLIB_HEADER = 1;
const HAS_MORE_INPUT = 2;
const USING_NON_WRAPPING_OUTPUT_BUF = 4;
const MAX_PROBES_MASK = 0xfff;
const MAX_INPUT = 32 * 1024;
/** TDEFL_OUT_BUF_SIZE: the inflate output buffer, (64 KiB * 13) / 10. */
const INFLATE_BUFFER = Math.floor((64 * 1024 * 13) / 10);
/** miniz's probe counts for levels 0..10. */
const LEVEL_PROBES = [0, 1, 6, 32, 16, 32, 128, 256, 512, 768, 1500];

function logLine(board: Board, level: "E" | "W", message: string): void {
  board.write(bytesOf(`${timestamp()}${level}/miniz ${message}\n`));
}

export function zlibOptionsFor(flags: number): ZlibOptions {
  if (flags & FORCE_ALL_RAW_BLOCKS) return { level: 0 };
  const probes = flags & MAX_PROBES_MASK;
  if (probes === 0) return { strategy: constants.Z_HUFFMAN_ONLY };
  if (flags & RLE_MATCHES) return { strategy: constants.Z_RLE };
  let level = 1;
  for (let l = 1; l < 10; l++) if ((LEVEL_PROBES[l] as number) <= probes) level = l;
  return { level, strategy: flags & FORCE_ALL_STATIC_BLOCKS ? constants.Z_FIXED : constants.Z_DEFAULT_STRATEGY };
}

const compress = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const flags = optInteger(L, 2, WRITE_ZLIB_HEADER);
  const board = boardOf(L);
  if (data.length > MAX_INPUT) {
    logLine(board, "E", "only 32k data is allow");
    return 0;
  }
  const options = zlibOptionsFor(flags);
  pushBytes(L, flags & WRITE_ZLIB_HEADER ? deflateSync(data, options) : deflateRawSync(data, options));
  return 1;
};

const uncompress = (L: LuaState): number => {
  const data = checkBytes(L, 1);
  const flags = optInteger(L, 2, PARSE_ZLIB_HEADER);
  const board = boardOf(L);
  if (data.length > MAX_INPUT) {
    logLine(board, "E", "only 32k data is allow");
    return 0;
  }
  try {
    const options = { maxOutputLength: INFLATE_BUFFER };
    pushBytes(L, flags & PARSE_ZLIB_HEADER ? inflateSync(data, options) : inflateRawSync(data, options));
    return 1;
  } catch {
    logLine(board, "W", "decompress fail");
    return 0;
  }
};

const unzip = (L: LuaState): number => {
  const zipPath = checkBytes(L, 1);
  const targetDir = checkBytes(L, 2);
  const ok = unzipInto(L, Buffer.from(zipPath).toString(), Buffer.from(targetDir).toString(), (message) => logLine(boardOf(L), "E", message));
  lua.lua_pushboolean(L, ok);
  return 1;
};

export const miniz = defineModule("miniz", {
  functions: { compress, uncompress, unzip },
  constants: {
    WRITE_ZLIB_HEADER, COMPUTE_ADLER32, GREEDY_PARSING_FLAG, NONDETERMINISTIC_PARSING_FLAG, RLE_MATCHES, FILTER_MATCHES,
    FORCE_ALL_STATIC_BLOCKS, FORCE_ALL_RAW_BLOCKS, PARSE_ZLIB_HEADER, HAS_MORE_INPUT, USING_NON_WRAPPING_OUTPUT_BUF,
  },
});
