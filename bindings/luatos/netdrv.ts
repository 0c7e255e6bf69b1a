// LuatOS `netdrv`: the network devices behind socket's adapters. It reports the board's
// own adapters (the cellular link, or Wi-Fi) from socket's network state; extra devices a
// script sets up (a CH390 Ethernet chip ...) come up with the device's address, as if a
// cable and a DHCP server were there.
import { lua, pushBytes, pushText, type LuaState } from "../../engine/lua.js";
import { checkBytes, checkInteger } from "../../engine/args.js";
import { boardOf, type Board, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { recorderOf } from "../common/recorder.js";
import { publishSys } from "./sysbus.js";
import { LWIP_GP, LWIP_STA, addressOf, deviceOf, networkOf } from "./socket.js";
import { boardSpecOf } from "./boards.js";

/** How long an Ethernet device set up by the script takes to get its address. */
const LINK_DELAY_MS = 100;

function macOf(board: Board, id: number): Uint8Array {
  const device = deviceOf(board);
  const configured = device.mac?.replace(/[^0-9a-f]/gi, "");
  if (configured && configured.length === 12 && (id === LWIP_STA || id === LWIP_GP)) return Uint8Array.from(Buffer.from(configured, "hex"));
  const chip = device.chipId ?? 0x00c0ffee;
  // Locally administered, one per adapter.
  return Uint8Array.from([0x02, 0x4c, id & 0xff, (chip >> 16) & 0xff, (chip >> 8) & 0xff, chip & 0xff]);
}

const setupOf = perBoard((): Set<number> => new Set());

function known(board: Board, id: number): boolean {
  return networkOf(board).registered.has(id) || setupOf(board).has(id);
}

/** netdrv.setup(id[, impl[, opts]]) → true; the device links up shortly and publishes IP_READY. */
const setup = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  const impl = lua.lua_isinteger(L, 2) ? lua.lua_tointeger(L, 2) : 0;
  recorderOf(board).record("netdrv", "setup", [id, impl]);
  if (!known(board, id)) {
    setupOf(board).add(id);
    const release = board.hold();
    const handle = setTimeout(() => {
      forget();
      release();
      const info = addressOf(board, id);
      networkOf(board).setUp(id, info);
      publishSys(board, "IP_READY", info.ip, id);
    }, LINK_DELAY_MS);
    const forget = board.own(() => clearTimeout(handle));
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

const dhcp = (L: LuaState): number => {
  lua.lua_pushboolean(L, known(boardOf(L), checkInteger(L, 1)));
  return 1;
};

/** netdrv.mac(id[, new_mac[, raw]]) → the MAC as hex text, or 6 raw bytes when raw is true. */
const mac = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  if (!known(board, id)) return 0;
  const bytes = macOf(board, id);
  if (lua.lua_toboolean(L, 3)) pushBytes(L, bytes);
  else pushText(L, Buffer.from(bytes).toString("hex").toUpperCase());
  return 1;
};

/** netdrv.ipv4(id[, ip, netmask, gateway]) → the adapter's ip, netmask, gateway (set first if given). */
const ipv4 = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  const network = networkOf(board);
  if (!known(board, id)) return 0;
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
    const text = (arg: number, fallback: string) => (lua.lua_type(L, arg) === lua.LUA_TSTRING ? new TextDecoder().decode(checkBytes(L, arg)) : fallback);
    network.setUp(id, { ip: text(2, "0.0.0.0"), netmask: text(3, "255.255.255.0"), gateway: text(4, "0.0.0.0") });
  }
  const info = network.info(id) ?? { ip: "0.0.0.0", netmask: "0.0.0.0", gateway: "0.0.0.0" };
  pushText(L, info.ip);
  pushText(L, info.netmask);
  pushText(L, info.gateway);
  return 3;
};

/** netdrv.link(id) / netdrv.ready(id) → whether the device is up; nil for a device the board lacks. */
const ready = (L: LuaState): number => {
  const board = boardOf(L);
  const id = checkInteger(L, 1);
  if (!known(board, id)) return 0;
  lua.lua_pushboolean(L, networkOf(board).isUp(id));
  return 1;
};

const napt = (L: LuaState): number => {
  recorderOf(boardOf(L)).record("netdrv", "napt", [checkInteger(L, 1)]);
  lua.lua_pushboolean(L, true);
  return 1;
};

const yes = (L: LuaState): number => {
  lua.lua_pushboolean(L, true);
  return 1;
};

const nothing = (): number => 0;

export const netdrv = defineModule("netdrv", {
  available: (board) => boardSpecOf(board).netdrv,
  functions: { setup, dhcp, mac, ipv4, ready, link: ready, napt, ctrl: yes, debug: nothing, on: nothing },
  // The firmware does not publish its implementation ids; scripts only pass them back to netdrv.
  constants: { CH390: 1, UART: 2, WHALE: 3, CTRL_RESET: 1, CTRL_UPDOWN: 2, RESET_HARD: 0x101, RESET_SOFT: 0x102 },
});
