// NodeMCU's older `cjson` module (lua-cjson): any value encodes, empty tables are `{}`,
// errors read `Expected value but found invalid token at character 1`. It shares sjson's
// number format and null value, so cjson.null == sjson.NULL.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, raise } from "../../engine/args.js";
import { defineModule } from "../common/module.js";
import { CjsonError, decodeCjson, encodeCjson, type CjsonDialect } from "../common/cjson-codec.js";
import { formatG14, pushJsonNull } from "./sjson.js";

const DIALECT: CjsonDialect = {
  // Every light userdata is null here, not only cjson.null.
  isNull: () => true,
  formatNumber: formatG14,
  nonFiniteReason: "must not be NaN or Infinity",
  infiniteIndex: true,
};

/** lua-cjson raises its errors here. */
function raiseCjson(L: LuaState, error: unknown): never {
  if (error instanceof CjsonError) raise(L, error.message);
  throw error;
}

const encode = (L: LuaState): number => {
  if (lua.lua_gettop(L) !== 1) argError(L, 1, "expected 1 argument");
  let text: Uint8Array;
  try {
    text = encodeCjson(L, 1, DIALECT);
  } catch (error) {
    raiseCjson(L, error);
  }
  pushBytes(L, text);
  return 1;
};

const decode = (L: LuaState): number => {
  if (lua.lua_gettop(L) !== 1) argError(L, 1, "expected 1 argument");
  const data = checkBytes(L, 1);
  try {
    decodeCjson(L, data, pushJsonNull);
  } catch (error) {
    raiseCjson(L, error);
  }
  return 1;
};

export const cjson = defineModule("cjson", {
  functions: { encode, decode },
  setup: (L) => {
    pushJsonNull(L);
    lua.lua_setfield(L, -2, "null");
  },
});
