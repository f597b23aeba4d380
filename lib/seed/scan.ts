/**
 * Walking a module cache's `cache/download` directory into what there is to
 * import: modules with their versions and files (`.info`, `.mod`, `.zip`,
 * `.ziphash`), and the checksum database's cached `lookup` and `tile` files.
 *
 * The whole cache is listed before anything is imported, so that progress
 * has a total and no directory is held open while importing. Nothing is read
 * here but directory entries and sizes; what cannot be listed is noted and
 * reported as skipped when the seed runs.
 *
 * @module
 */
import { join } from "node:path";
import { errorText } from "../util/errors.ts";

/**
 * A file left out, and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedSkip } from "./scan.ts";
 * const skip: SeedSkip = { what: "example.com/m@v1.0.0.zip", reason: "damaged zip", detail: "h1 mismatch" };
 * assert(skip.reason === "damaged zip");
 * ```
 */
export interface SeedSkip {
  /** `module@version.kind`, or a path below `cache/download`. */
  what: string;
  /** A short reason, the key of the summary's counts. */
  reason: string;
  detail: string;
}

/**
 * One importable file of the cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CacheFile } from "./scan.ts";
 * const file: CacheFile = { path: "/m/cache/download/example.com/m/@v/v1.0.0.mod", size: 21 };
 * assert(file.size === 21);
 * ```
 */
export interface CacheFile {
  path: string;
  size: number;
}

/**
 * The files of one module version, by kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { VersionFiles } from "./scan.ts";
 * const files: VersionFiles = { mod: { path: "v1.0.0.mod", size: 21 } };
 * assert(files.zip === undefined);
 * ```
 */
export interface VersionFiles {
  info?: CacheFile;
  mod?: CacheFile;
  zip?: CacheFile;
  ziphash?: CacheFile;
}

/**
 * One module's `@v` directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ModuleDir } from "./scan.ts";
 * const dir: ModuleDir = { escaped: "github.com/!burnt!sushi/toml", versions: new Map() };
 * assert(dir.versions.size === 0);
 * ```
 */
export interface ModuleDir {
  /** The escaped module path, as the directory names it. */
  escaped: string;
  /** Escaped version → its files. */
  versions: Map<string, VersionFiles>;
}

/**
 * A checksum-database file of the cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SumdbFile } from "./scan.ts";
 * const file: SumdbFile = { name: "sum.golang.org", key: "tile/8/0/000", path: "000", size: 8192 };
 * assert(file.key.startsWith("tile/"));
 * ```
 */
export interface SumdbFile extends CacheFile {
  /** The database's name, `sum.golang.org` for example. */
  name: string;
  /** The path below the database: `lookup/…` or `tile/…`. */
  key: string;
}

/**
 * What a module cache holds to import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Scan } from "./scan.ts";
 * function files(scan: Scan): number {
 *   return scan.totalItems;
 * }
 * assert(typeof files === "function");
 * ```
 */
export interface Scan {
  modules: ModuleDir[];
  sumdb: SumdbFile[];
  /** Files never imported whatever happens (locks, partial and temporary files), by reason. */
  ignored: Record<string, number>;
  /** Directories and files the scan could not read, reported as skipped when the seed runs. */
  unreadable: SeedSkip[];
  /** Bytes and files to import: `.info`, `.mod`, `.zip` and checksum-database files. */
  totalBytes: number;
  totalItems: number;
}

const KIND = /^(.+)\.(info|mod|zip|ziphash)$/;
const SUMDB_NAME = /^[a-z0-9][a-z0-9.-]*(?::[0-9]+)?$/;

/**
 * Lists the cache's `cache/download` directory. Symbolic links are followed
 * (once per real directory), as the go command follows them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { scanDownloadDir } from "./scan.ts";
 * const download = await Deno.makeTempDir();
 * await Deno.mkdir(join(download, "example.com", "m", "@v"), { recursive: true });
 * await Deno.writeTextFile(join(download, "example.com", "m", "@v", "v1.0.0.mod"), "module example.com/m\n");
 * const scan = await scanDownloadDir(download);
 * assert(scan.modules[0].escaped === "example.com/m" && scan.totalItems === 1);
 * await Deno.remove(download, { recursive: true });
 * ```
 */
export async function scanDownloadDir(download: string): Promise<Scan> {
  const scan: Scan = {
    modules: [],
    sumdb: [],
    ignored: {},
    unreadable: [],
    totalBytes: 0,
    totalItems: 0,
  };
  const visited = new Set<string>();
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    const entries = await listDir(dir, scan);
    for (const entry of entries) {
      if (!(await isDirectory(dir, entry, visited))) continue;
      if (rel.length === 0 && entry.name === "sumdb") {
        await scanSumdb(join(dir, entry.name), scan);
      } else if (entry.name === "@v") {
        const module = await scanVersionDir(join(dir, entry.name), rel.join("/"), scan);
        if (module.versions.size > 0) scan.modules.push(module);
        countVersions(module, scan);
      } else {
        await walk(join(dir, entry.name), [...rel, entry.name]);
      }
    }
  };
  visited.add(await Deno.realPath(download));
  await walk(download, []);
  for (const file of scan.sumdb) {
    scan.totalBytes += file.size;
    scan.totalItems++;
  }
  return scan;
}

/** Adds the files of `module` that get imported to the scan's totals. */
function countVersions(module: ModuleDir, scan: Scan): void {
  for (const files of module.versions.values()) {
    for (const file of [files.info, files.mod, files.zip]) {
      if (!file) continue;
      scan.totalBytes += file.size;
      scan.totalItems++;
    }
  }
}

function ignore(scan: Scan, reason: string): void {
  scan.ignored[reason] = (scan.ignored[reason] ?? 0) + 1;
}

async function scanVersionDir(dir: string, escaped: string, scan: Scan): Promise<ModuleDir> {
  const module: ModuleDir = { escaped, versions: new Map() };
  for (const entry of await listDir(dir, scan)) {
    const name = entry.name;
    if (!(await isFile(dir, entry))) continue;
    if (name === "list" || name === "list.lock") continue;
    if (name.endsWith(".lock")) {
      ignore(scan, "lock file");
      continue;
    }
    if (name.endsWith(".partial")) {
      ignore(scan, "partial download");
      continue;
    }
    const match = KIND.exec(name);
    if (!match) {
      // go writes through temporary files (`v1.0.0.zip123.tmp`) renamed when complete.
      ignore(scan, "temporary file");
      continue;
    }
    const [, version, kind] = match;
    const path = join(dir, name);
    const size = await Deno.stat(path).then((info) => info.size, (error) => {
      scan.unreadable.push({ what: path, reason: "unreadable", detail: errorText(error) });
      return -1;
    });
    if (size < 0) continue;
    let files = module.versions.get(version);
    if (!files) module.versions.set(version, files = {});
    files[kind as keyof VersionFiles] = { path, size };
  }
  // A lone .ziphash is no version to import.
  for (const [version, files] of module.versions) {
    if (!files.info && !files.mod && !files.zip) module.versions.delete(version);
  }
  return module;
}

/** Whether `entry` is a file, or a symbolic link to one. */
async function isFile(dir: string, entry: Deno.DirEntry): Promise<boolean> {
  if (!entry.isSymlink) return entry.isFile;
  // Followed, as the go command follows it: a file elsewhere is read like one here.
  const target = await Deno.stat(join(dir, entry.name)).catch(() => null);
  return target?.isFile ?? false;
}

async function scanSumdb(dir: string, scan: Scan): Promise<void> {
  for (const db of await listDir(dir, scan)) {
    if (!db.isDirectory || !SUMDB_NAME.test(db.name)) continue;
    const walk = async (path: string, rel: string[]): Promise<void> => {
      for (const entry of await listDir(path, scan)) {
        const child = join(path, entry.name);
        if (entry.isDirectory) {
          await walk(child, [...rel, entry.name]);
        } else if (entry.isFile) {
          const key = [...rel, entry.name].join("/");
          if (/\.(lock|partial)$|\.tmp/.test(entry.name)) {
            ignore(scan, "temporary file");
            continue;
          }
          if (!/^(lookup|tile)\//.test(key)) continue;
          const size = await Deno.stat(child).then((info) => info.size, () => -1);
          if (size >= 0) scan.sumdb.push({ name: db.name, key, path: child, size });
        }
      }
    };
    await walk(join(dir, db.name), []);
  }
  scan.sumdb.sort((a, b) =>
    a.name + "\0" + a.key < b.name + "\0" + b.key
      ? -1
      : a.name === b.name && a.key === b.key
      ? 0
      : 1
  );
}

/** A directory's entries by name; one that cannot be read is noted and counts as empty. */
async function listDir(dir: string, scan: Scan): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
  } catch (error) {
    scan.unreadable.push({ what: dir, reason: "unreadable directory", detail: errorText(error) });
    return [];
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether `entry` is a directory to walk: a symbolic link is followed once per real directory. */
async function isDirectory(
  dir: string,
  entry: Deno.DirEntry,
  visited: Set<string>,
): Promise<boolean> {
  if (entry.isDirectory) return true;
  if (!entry.isSymlink) return false;
  const path = join(dir, entry.name);
  const real = await Deno.realPath(path).catch(() => null);
  if (real === null || visited.has(real)) return false;
  const info = await Deno.stat(real).catch(() => null);
  if (!info?.isDirectory) return false;
  visited.add(real);
  return true;
}
