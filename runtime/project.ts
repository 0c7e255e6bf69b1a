// The project directory as the device sees its flash after upload: flat. Uploaders drop
// folder names, so `require "mqtt_main"` finds mqtt/mqtt_main.lua; a name present twice is
// ambiguous and reported with both places rather than picking one silently.
import { readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join, normalize, relative, sep } from "node:path";

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

export class Project {
  private flat: Map<string, string[]> | undefined;

  constructor(
    readonly root: string,
    private readonly naming: ProjectNaming = PROJECT_NAMING,
  ) {}

  /**
   * Resolves a device path (`config.lua`, `/luadb/ca.crt` after the prefix is removed,
   * `lib/x.lua`) to an absolute file path inside the project, or undefined when absent.
   */
  resolve(devicePath: string): string | undefined {
    const relativePath = this.confine(devicePath);
    if (relativePath === "") return undefined;
    const direct = join(this.root, relativePath);
    if (isFile(direct)) return direct;
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
    return found[0];
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

  /** Every place a flat name stands, read afresh (an entry file may be in any folder). */
  placesOf(name: string): string[] {
    this.flat = undefined;
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
    const walk = (dir: string): void => {
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
        try {
          stats = statSync(path);
        } catch {
          continue;
        }
        if (stats.isDirectory()) {
          if (!name.startsWith(".") && !SKIPPED_DIRS.has(name)) walk(path);
        } else if (stats.isFile()) {
          budget--;
          const list = view.get(name);
          if (list) list.push(path);
          else view.set(name, [path]);
        }
      }
    };
    walk(this.root);
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
