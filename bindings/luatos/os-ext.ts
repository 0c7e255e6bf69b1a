// The LuatOS firmware's `os.remove` and `os.rename`, confined to the device's flash.
import { renameSync, rmdirSync, unlinkSync } from "node:fs";
import { lua, textOf, type LuaJsFunction, type LuaState } from "../../engine/lua.js";
import { checkBytes } from "../../engine/args.js";
import { isDirectory } from "../../runtime/project.js";
import { deviceTarget } from "./device-files.js";
import { EINVAL, ENOENT, EROFS, pushFailure } from "./io.js";

function osFailure(L: LuaState, name: string, code: string | undefined): number {
  if (code === "ENOENT") return pushFailure(L, `${name}: No such file or directory`, ENOENT);
  if (code === "EROFS") return pushFailure(L, `${name}: Read-only file system`, EROFS);
  return pushFailure(L, `${name}: ${code ?? "I/O error"}`, EINVAL);
}

export const osRemove: LuaJsFunction = (L) => {
  const name = textOf(checkBytes(L, 1));
  const target = deviceTarget(L, name);
  if (target.kind === "luadb") return osFailure(L, name, target.path ? "EROFS" : "ENOENT");
  if (target.kind === "outside") return osFailure(L, name, "ENOENT");
  if (target.rest === "") return osFailure(L, name, "EBUSY");
  try {
    if (isDirectory(target.path)) rmdirSync(target.path);
    else unlinkSync(target.path);
  } catch (error) {
    return osFailure(L, name, (error as NodeJS.ErrnoException).code);
  }
  lua.lua_pushboolean(L, true);
  return 1;
};

export const osRename: LuaJsFunction = (L) => {
  const from = textOf(checkBytes(L, 1));
  const to = textOf(checkBytes(L, 2));
  const source = deviceTarget(L, from);
  const destination = deviceTarget(L, to);
  if (source.kind === "luadb" || destination.kind === "luadb") return osFailure(L, from, "EROFS");
  if (source.kind === "outside" || destination.kind === "outside") return osFailure(L, from, "ENOENT");
  try {
    renameSync(source.path, destination.path);
  } catch (error) {
    return osFailure(L, from, (error as NodeJS.ErrnoException).code);
  }
  lua.lua_pushboolean(L, true);
  return 1;
};
