// The project directory as the device sees its flash after upload: flat. Uploaders drop
// folder names, so `require "mqtt_main"` finds mqtt/mqtt_main.lua; a name present twice is
// ambiguous and reported with both places rather than picking one silently.
//
// A script reaches nothing outside its root: besides refusing `..` escapes, every host
// path is checked where a file is opened, created or listed with symbolic links followed,
// since a link in the project (or the --fs folder) may lead anywhere on the PC. A path that
// leads out is answered as a missing file, which is what the device would find.
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve as resolvePath, sep } from "node:path";

const SKIPPED_DIRS = new Set(["node_modules", ".git", ".svn", ".hg", "dist", "build"]);
const MAX_FILES = 20000;

export class ProjectError extends Error {}

/** How a folder seen flat is named in errors, and the volume prefix its device paths may carry. */
export interface ProjectNaming {
  /** "path 'x' is outside {place}" */
  place: string;
  /** "'x' is ambiguous in the flat {view} view" */
  view: string;
  /** Dropped from the front of a device path before it is confined. */
  volume?: RegExp;
}

const PROJECT_NAMING: ProjectNaming = { place: "the project directory", view: "project" };

/** Symbolic links followed at most this many times along one path, as Linux allows. */
const MAX_LINKS = 40;

/**
 * Where a host path really leads, symbolic links followed, also when it does not exist
 * (yet): the real path of its nearest existing ancestor with the rest appended, and a
 * dangling link followed to where it points (writing through it would create the target).
 * undefined for a link loop.
 */
export function realLocation(path: string): string | undefined {
  let current = resolvePath(path);
  const rest: string[] = [];
  let links = 0;
  for (;;) {
    try {
      return join(realpathSync(current), ...rest);
    } catch {
      // Missing, a dangling link, or a loop: looked at piece by piece below.
    }
    let target: string | undefined;
    try {
      target = readlinkSync(current);
    } catch {
      target = undefined;
    }
    if (target !== undefined) {
      if (++links > MAX_LINKS) return undefined;
      current = resolvePath(dirname(current), target);
      continue;
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    rest.unshift(basename(current));
    current = parent;
  }
}

/** Whether a real path is the real root or lies below it. */
export function isWithin(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : `${realRoot}${sep}`);
}

/** A device path as C sees the Lua string: up to its first NUL byte. */
export function cString(text: string): string {
  const end = text.indexOf("\0");
  return end < 0 ? text : text.slice(0, end);
}

export class Project {
  private flat: Map<string, string[]> | undefined;
  private readonly reported = new Set<string>();
  /** Where "leads outside" notices go (the runtime's stderr); silent when unset. */
  notice: ((line: string) => void) | undefined;

  constructor(
    readonly root: string,
    private readonly naming: ProjectNaming = PROJECT_NAMING,
    /** Folders (host paths) left out of the flat view: the LFS image folder. */
    private readonly excluded: readonly string[] = [],
  ) {}

  /**
   * Resolves a device path (`config.lua`, `/luadb/ca.crt` after the prefix is removed,
   * `lib/x.lua`) to the real path of a file inside the project, or undefined when absent
   * or when links lead it outside.
   */
  resolve(devicePath: string): string | undefined {
    const relativePath = this.confine(devicePath);
    if (relativePath === "") return undefined;
    const direct = join(this.root, relativePath);
    if (isFile(direct)) return this.contain(direct);
    let found = this.flatView().get(basename(relativePath));
    // Scripts create, rename and delete files (file.*, node.compile): a miss or a vanished
    // file means the view is stale, so look once more.
    if (!found || !found.every(isFile)) {
      this.flat = undefined;
      found = this.flatView().get(basename(relativePath));
    }
    if (!found) return undefined;
    if (found.length > 1) {
      throw new ProjectError(`'${basename(relativePath)}' is ambiguous in the flat ${this.naming.view} view: ${found.map((p) => relative(this.root, p)).join(" and ")}`);
    }
    // A link may have been put in place of the file since the view was made.
    return this.contain(found[0] as string);
  }

  /**
   * The real location of a host path under the root (which need not exist yet), or
   * undefined, with one notice per path, when symbolic links lead it outside.
   */
  contain(path: string): string | undefined {
    const real = realLocation(path);
    const realRoot = realLocation(this.root);
    if (real !== undefined && realRoot !== undefined && isWithin(realRoot, real)) return real;
    if (this.notice && !this.reported.has(path)) {
      this.reported.add(path);
      const where = real === undefined ? "a loop of symbolic links" : real;
      this.notice(`moonrig: ${relative(this.root, path)} leads outside ${this.naming.place} (${where}): treated as missing\n`);
    }
    return undefined;
  }

  /** The project-relative form of a device path; refuses paths that climb out of the root. */
  confine(devicePath: string): string {
    const unprefixed = this.naming.volume ? devicePath.replace(this.naming.volume, "") : devicePath;
    const trimmed = unprefixed.replace(/^\/+/, "");
    const normalized = normalize(trimmed === "" ? "." : trimmed);
    if (isAbsolute(normalized) || normalized === ".." || normalized.startsWith(`..${sep}`)) {
      throw new ProjectError(`path '${devicePath}' is outside ${this.naming.place}`);
    }
    return normalized === "." ? "" : normalized;
  }

  /** Every file by its flat name, sorted, read afresh; a name present twice is listed once, at its first place. */
  entries(): Array<{ name: string; path: string }> {
    this.flat = undefined;
    const view = this.flatView();
    return [...view.keys()].sort().map((name) => ({ name, path: (view.get(name) as string[])[0] as string }));
  }

  /** Every place a flat name stands (an entry file may be in any folder). */
  placesOf(name: string): string[] {
    return this.flatView().get(name) ?? [];
  }

  /** Forgets the flat view after the caller changed the folder. */
  changed(): void {
    this.flat = undefined;
  }

  private flatView(): Map<string, string[]> {
    if (this.flat) return this.flat;
    const view = new Map<string, string[]>();
    let budget = MAX_FILES;
    const realRoot = realLocation(this.root);
    // Links are followed only where they stay inside the root, and each real folder is
    // walked once, so a link to /etc adds nothing and a link to a parent cannot loop.
    const walked = new Set<string>();
    const walk = (dir: string, realDir: string): void => {
      if (walked.has(realDir)) return;
      walked.add(realDir);
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        return;
      }
      for (const name of names) {
        if (budget <= 0) return;
        const path = join(dir, name);
        let stats;
        let real = join(realDir, name);
        try {
          if (lstatSync(path).isSymbolicLink()) {
            const target = realLocation(path);
            if (target === undefined || realRoot === undefined || !isWithin(realRoot, target)) continue;
            real = target;
          }
          stats = statSync(path);
        } catch {
          continue;
        }
        if (stats.isDirectory()) {
          if (!name.startsWith(".") && !SKIPPED_DIRS.has(name) && !this.excluded.includes(path)) walk(path, real);
        } else if (stats.isFile()) {
          budget--;
          const list = view.get(name);
          if (list) list.push(path);
          else view.set(name, [path]);
        }
      }
    };
    if (realRoot !== undefined) walk(this.root, realRoot);
    this.flat = view;
    return view;
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
