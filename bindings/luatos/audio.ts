// LuatOS `audio` on a module with no codec or speaker wired: the library is there, every
// playback or setup call reports failure, and queries answer "idle".
import { lua, type LuaState } from "../../engine/lua.js";
import { defineModule } from "../common/module.js";

const fail = (L: LuaState): number => {
  lua.lua_pushboolean(L, false);
  return 1;
};

const nothing = (): number => 0;

/** audio.isEnd(id): nothing is playing, so it has always ended. */
const isEnd = (L: LuaState): number => {
  lua.lua_pushboolean(L, true);
  return 1;
};

export const audio = defineModule("audio", {
  functions: {
    start: fail, write: fail, play: fail, playStop: fail, pause: fail, stop: fail, vol: fail, micVol: fail,
    config: nothing, setBus: fail, on: nothing, record: fail, recordStop: fail, pm: fail, isEnd, getError: isEnd,
    tts: fail, debug: nothing,
  },
  constants: { PA_ON: 1, POWER_ON: 0, POWER_OFF: 2, POWER_SLEEP: 1, MORE_DATA: 1, DONE: 2, BUS_I2S: 1, BUS_DAC: 0, BUS_SOFT_DAC: 2, AMR_NB: 0, AMR_WB: 1, PCM: 2, MP3: 3, WAV: 4, RECORD_MONO: 0, RECORD_STEREO: 1, VOLTAGE_1800: 0, VOLTAGE_3300: 1 },
});
