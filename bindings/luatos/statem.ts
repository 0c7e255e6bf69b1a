// LuatOS `statem`: a recorded list of GPIO steps (set a pin, read a pin, wait some µs) that
// `exec` runs in one go, as luat_statem.c does. Arguments are stored in bytes as there
// (pin 300 is pin 44, usleep(300) waits 44 µs); read levels collect in 256 bits that
// `result()` gives as eight 32-bit words. `clear()` zeroes the whole record, its step count
// too, so a cleared machine runs nothing afterwards, as on the device.
import { lua, pushUserdata, checkUserdata, type LuaState } from "../../engine/lua.js";
import { checkInteger, optInteger } from "../../engine/args.js";
import { boardOf, type Board } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";
import { readPin, writePin } from "./gpio.js";

const METATABLE = "SM*";
const OP_END = 0x00;
const OP_USLEEP = 0x08;
const OP_GPIO_SET = 0x80;
const OP_GPIO_GET = 0x81;
const INPUT_BITS = 256;

interface Op {
  type: number;
  arg1: number;
  arg2: number;
}

interface Machine {
  opCount: number;
  ops: Op[];
  /** Where the next added step goes. */
  pc: number;
  inputOffset: number;
  inputs: Uint32Array;
}

const create = (L: LuaState): number => {
  const count = optInteger(L, 1, 32);
  if (count < 1) return 0;
  const repeats = optInteger(L, 2, 0);
  if (repeats < 0) return 0;
  pushUserdata<Machine>(L, { opCount: count, ops: [], pc: 0, inputOffset: 0, inputs: new Uint32Array(8) }, METATABLE);
  return 1;
};

const machineArg = (L: LuaState): Machine => checkUserdata<Machine>(L, 1, METATABLE);

/** Steps past the reserved count would overwrite memory on the device; here they are dropped. */
function addStep(L: LuaState, machine: Machine, type: number, arg1: number, arg2: number): number {
  if (machine.pc < machine.opCount) machine.ops[machine.pc] = { type, arg1: arg1 & 0xff, arg2: arg2 & 0xff };
  machine.pc++;
  lua.lua_settop(L, 1);
  return 1;
}

const gpioSet = (L: LuaState): number => {
  const machine = machineArg(L);
  return addStep(L, machine, OP_GPIO_SET, checkInteger(L, 2), checkInteger(L, 3));
};

const gpioGet = (L: LuaState): number => {
  const machine = machineArg(L);
  return addStep(L, machine, OP_GPIO_GET, checkInteger(L, 2), 0);
};

const usleep = (L: LuaState): number => {
  const machine = machineArg(L);
  return addStep(L, machine, OP_USLEEP, checkInteger(L, 2), 0);
};

const finish = (L: LuaState): number => addStep(L, machineArg(L), OP_END, 0, 0);

function busyWaitMicros(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {
    // a few microseconds: the device spins too
  }
}

function run(machine: Machine, board: Board): void {
  for (let pc = 0; pc < machine.opCount; pc++) {
    const op = machine.ops[pc];
    if (!op || op.type === OP_END) break;
    if (op.type === OP_USLEEP) busyWaitMicros(op.arg1);
    else if (op.type === OP_GPIO_SET) writePin(board, op.arg1, op.arg2);
    else if (op.type === OP_GPIO_GET) {
      const word = machine.inputOffset >> 5;
      if (readPin(board, op.arg1)) machine.inputs[word] = (machine.inputs[word] ?? 0) | (1 << (machine.inputOffset & 31));
      machine.inputOffset = (machine.inputOffset + 1) % INPUT_BITS;
    }
  }
}

/** exec([background]): background runs are not supported by the firmware and do nothing. */
const exec = (L: LuaState): number => {
  const machine = machineArg(L);
  if (optInteger(L, 2, 0) !== 0) return 0;
  run(machine, boardOf(L));
  // The firmware returns whatever is on top of the stack: the machine, or the argument after it.
  return 1;
};

const clear = (L: LuaState): number => {
  const machine = machineArg(L);
  machine.opCount = 0;
  machine.ops = [];
  machine.pc = 0;
  machine.inputOffset = 0;
  machine.inputs.fill(0);
  lua.lua_settop(L, 1);
  return 1;
};

const result = (L: LuaState): number => {
  const machine = machineArg(L);
  lua.lua_createtable(L, 8, 0);
  machine.inputs.forEach((word, i) => {
    if (word > 0x7fffffff) lua.lua_pushnumber(L, word);
    else lua.lua_pushinteger(L, word);
    lua.lua_rawseti(L, -2, i + 1);
  });
  return 1;
};

export const statem = defineModule("statem", {
  functions: { create },
  metatables: { [METATABLE]: { methods: { gpio_set: gpioSet, gpio_get: gpioGet, usleep, finish, exec, clear, result } } },
});
