/**
 * Seeding: importing a Go module cache (`$GOMODCACHE/cache/download`) into
 * Astera's database, so that a Pi starts warm even with no internet at all.
 *
 * Everything goes through {@linkcode Store}, into the same tables the server
 * reads: `.info` and `.mod` files inline, zips as chunked blobs, a `list`
 * answer per module, and the checksum database's cached `lookup` and `tile`
 * bodies as `sumdb` answers.
 *
 * What is imported must be what the go command would accept, because a
 * stored `.mod` or `.zip` is served forever: every zip is checked against the
 * zip rules and its `.ziphash` (the go.sum hash the go command checked when it
 * downloaded it) before it is stored, and one that fails is reported and left
 * out. A zip without `.ziphash` is left out too: nothing vouches for it, and
 * the server fetches it when it is asked for. A missing `.info` is not made
 * up here, because what is stored is served forever and a made-up `.info` has
 * no `Time` (the server makes one up from the stored `.mod` only while
 * offline). Answers that may change (`list`, `@latest` of an untagged
 * module) are stored with fetchedAt 0, so that the server refreshes them
 * whenever it can.
 *
 * Idempotent and safe to interrupt: what is stored is skipped before its file
 * is read, small files are stored in short batched transactions, and a zip
 * becomes visible in one transaction after its last chunk, so an interrupted
 * run leaves nothing half-visible and the next run finishes the job. The
 * database may be served from at the same time (WAL; no write lock is held
 * while files are read).
 *
 * @module
 */
import { bytesEqual } from "../util/bytes.ts";
import { createHash } from "node:crypto";
import { checkGoMod, checkInfo, checkSumdb } from "../goproxy/answer_check.ts";
import { join } from "node:path";
import { hashGoMod, hashZip } from "../mod/dirhash.ts";
import {
  checkPath,
  checkPathMajor,
  splitPathVersion,
  unescapePath,
  unescapeVersion,
} from "../mod/module.ts";
import {
  etagFromDigest,
  type Store,
  type StoreBatch,
  StoreBusyError,
  strongEtag,
} from "../store/sqlite.ts";
import {
  canonicalModuleVersion,
  compare,
  isPseudoVersion,
  isValid,
  pseudoVersionTime,
  sortVersions,
} from "../mod/mod.ts";
import { checkModuleZip, MAX_GO_MOD } from "../mod/mod.ts";
import { fileAccess, openZipEntry, ZipError } from "../archive/mod.ts";

/**
 * The directory does not exist or holds no module cache; the message is the
 * one line to print.
 *
 * @example
 * ```ts
 * import { SeedError } from "./seed.ts";
 * console.log(new SeedError("no module cache").message);
 * ```
 */
export class SeedError extends Error {
  override name = "SeedError";
}

/**
 * Where the module cache was found, and why there.
 *
 * @example
 * ```ts
 * import type { ModuleCacheLocation } from "./seed.ts";
 * const where: ModuleCacheLocation = { dir: "/home/me/go/pkg/mod", from: "~/go/pkg/mod" };
 * console.log(where.dir);
 * ```
 */
export interface ModuleCacheLocation {
  dir: string;
  /** `--modcache`, `GOMODCACHE`, `go env GOMODCACHE`, `$GOPATH/pkg/mod` or `~/go/pkg/mod`. */
  from: string;
}

/**
 * Finds the module cache the way the issue orders it: the flag, then
 * `GOMODCACHE`, then `go env GOMODCACHE` when go runs, then the first
 * `$GOPATH` entry's `pkg/mod`, then `~/go/pkg/mod`. `goEnv` runs
 * `go env GOMODCACHE` and resolves to its output, or null when go is missing.
 *
 * @example
 * ```ts
 * import { locateModuleCache } from "./seed.ts";
 * const where = await locateModuleCache(undefined, { HOME: "/home/me" }, () => Promise.resolve(null));
 * console.log(where); // { dir: "/home/me/go/pkg/mod", from: "~/go/pkg/mod" }
 * ```
 */
export async function locateModuleCache(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  goEnv: () => Promise<string | null>,
): Promise<ModuleCacheLocation> {
  if (flag) return { dir: flag, from: "--modcache" };
  if (env.GOMODCACHE) return { dir: env.GOMODCACHE, from: "GOMODCACHE" };
  const fromGo = (await goEnv())?.trim();
  if (fromGo) return { dir: fromGo, from: "go env GOMODCACHE" };
  // GOPATH is a list; go keeps its module cache in the first entry.
  const gopath = env.GOPATH?.split(":").find((entry) => entry !== "");
  if (gopath) return { dir: join(gopath, "pkg", "mod"), from: "$GOPATH/pkg/mod" };
  const home = env.HOME ?? env.USERPROFILE ?? "";
  return { dir: join(home, "go", "pkg", "mod"), from: "~/go/pkg/mod" };
}

/**
 * Runs `go env GOMODCACHE`; null when go is not installed or fails.
 *
 * @example
 * ```ts ignore
 * import { goEnvModuleCache } from "./seed.ts";
 * console.log(await goEnvModuleCache());
 * ```
 */
export async function goEnvModuleCache(go = "go"): Promise<string | null> {
  try {
    const output = await new Deno.Command(go, {
      args: ["env", "GOMODCACHE"],
      stdin: "null",
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() || null : null;
  } catch {
    return null;
  }
}

/**
 * A file left out, and why.
 *
 * @example
 * ```ts
 * import type { SeedSkip } from "./seed.ts";
 * const skip: SeedSkip = { what: "example.com/m@v1.0.0.zip", reason: "damaged zip", detail: "h1 mismatch" };
 * console.log(skip.reason);
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
 * What a seed run did.
 *
 * @example
 * ```ts
 * import type { SeedSummary } from "./seed.ts";
 * function stored(summary: SeedSummary): number {
 *   return summary.stored.info + summary.stored.mod + summary.stored.zip;
 * }
 * console.log(stored);
 * ```
 */
export interface SeedSummary {
  /** Modules and module versions found in the cache. */
  modules: number;
  versions: number;
  /** Newly stored: artifacts by kind, `list` answers written, checksum-database files. */
  stored: { info: number; mod: number; zip: number; lists: number; sumdb: number };
  /** Bytes of the files newly stored. */
  bytes: number;
  /** Files found already stored and not read again. */
  alreadyStored: number;
  /** Files left out, counted by reason. */
  skipped: Record<string, number>;
  interrupted: boolean;
  elapsedMs: number;
}

/**
 * Options of {@linkcode seedModuleCache}.
 *
 * @example
 * ```ts
 * import type { SeedOptions } from "./seed.ts";
 * function options(store: SeedOptions["store"]): SeedOptions {
 *   return { store, modcache: "/home/me/go/pkg/mod" };
 * }
 * console.log(options);
 * ```
 */
export interface SeedOptions {
  store: Store;
  /** The module cache (GOMODCACHE), holding `cache/download`. */
  modcache: string;
  /** Called as work gets done, often; throttle it (see `progress.ts`). */
  onProgress?: (state: SeedProgress) => void;
  /** Called for every file left out for a reason worth telling. */
  onSkip?: (skip: SeedSkip) => void;
  /** Stops the run between files and between chunks; what is done stays stored. */
  signal?: AbortSignal;
  /** Longest time small files wait before their batch is committed (ms); 50 unless given. */
  batchMs?: number;
  now?: () => number;
}

/**
 * Progress of a seed run, in bytes and files of the cache.
 *
 * @example
 * ```ts
 * import type { SeedProgress } from "./seed.ts";
 * const p: SeedProgress = { doneBytes: 0, totalBytes: 10, doneItems: 0, totalItems: 1, label: "" };
 * console.log(p.totalBytes);
 * ```
 */
export interface SeedProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  label: string;
}

/** One importable file of the cache. */
interface CacheFile {
  path: string;
  size: number;
}

/** The files of one module version: escaped version → kind → file. */
interface VersionFiles {
  info?: CacheFile;
  mod?: CacheFile;
  zip?: CacheFile;
  ziphash?: CacheFile;
}

interface ModuleDir {
  /** The escaped module path, as the directory names it. */
  escaped: string;
  versions: Map<string, VersionFiles>;
}

interface SumdbFile extends CacheFile {
  name: string;
  key: string;
}

/** Largest `.info` accepted: the server accepts small answers up to this. */
const MAX_INFO = 4 * 1024 * 1024;
/** Largest checksum-database file accepted (a full data tile is far smaller). */
const MAX_SUMDB_FILE = 4 * 1024 * 1024;
/** A `.ziphash` holds one `h1:` hash, under 60 bytes; anything much bigger is not one. */
const MAX_ZIPHASH = 256;
/** Small files per batch at most, and their bytes at most. */
const BATCH_ITEMS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;

const KIND = /^(.+)\.(info|mod|zip|ziphash)$/;
const SUMDB_NAME = /^[a-z0-9][a-z0-9.-]*(?::[0-9]+)?$/;

/**
 * Imports the module cache at `options.modcache` into `options.store`.
 * Throws {@linkcode SeedError} when the directory does not exist or has no
 * `cache/download`; every other problem is a skipped file, reported.
 *
 * @example
 * ```ts ignore
 * import { seedModuleCache } from "./seed.ts";
 * import { Store } from "../store/sqlite.ts";
 * const store = Store.open("astera.db");
 * const summary = await seedModuleCache({ store, modcache: "/home/me/go/pkg/mod" });
 * console.log(summary.stored);
 * store.close();
 * ```
 */
export async function seedModuleCache(options: SeedOptions): Promise<SeedSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const download = await findDownloadDir(options.modcache);
  const scan = await scanDownloadDir(download);
  const seeder = new Seeder(options, scan, now);
  await seeder.run();
  return { ...seeder.summary, elapsedMs: now() - started };
}

/**
 * Checks that `modcache` is a module cache and returns its `cache/download`
 * directory; throws {@linkcode SeedError} with the one line to print when it
 * is not.
 *
 * @example
 * ```ts ignore
 * import { findDownloadDir } from "./seed.ts";
 * console.log(await findDownloadDir("/home/me/go/pkg/mod")); // /home/me/go/pkg/mod/cache/download
 * ```
 */
export async function findDownloadDir(modcache: string): Promise<string> {
  const info = await Deno.stat(modcache).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new SeedError(`module cache ${modcache} cannot be read: ${message(error)}`);
  });
  if (!info) throw new SeedError(`module cache ${modcache} does not exist`);
  if (!info.isDirectory) throw new SeedError(`module cache ${modcache} is not a directory`);
  const download = join(modcache, "cache", "download");
  const downloadInfo = await Deno.stat(download).catch(() => null);
  if (!downloadInfo?.isDirectory) {
    throw new SeedError(`${modcache} holds no module cache (no cache/download directory)`);
  }
  return download;
}

interface Scan {
  modules: ModuleDir[];
  sumdb: SumdbFile[];
  /** Files never imported whatever happens (locks, partial and temporary files), by reason. */
  ignored: Record<string, number>;
  /** Directories and files the scan could not read, reported as skipped when the seed runs. */
  unreadable: SeedSkip[];
  totalBytes: number;
  totalItems: number;
}

/** Lists the cache first, so that progress has a total and nothing is held open while walking. */
async function scanDownloadDir(download: string): Promise<Scan> {
  const scan: Scan = {
    modules: [],
    sumdb: [],
    ignored: {},
    unreadable: [],
    totalBytes: 0,
    totalItems: 0,
  };
  const ignore = (reason: string) => scan.ignored[reason] = (scan.ignored[reason] ?? 0) + 1;
  const visited = new Set<string>();
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    const entries = await listDir(dir, scan);
    for (const entry of entries) {
      if (!(await isDirectory(dir, entry, visited))) continue;
      if (rel.length === 0 && entry.name === "sumdb") {
        await scanSumdb(join(dir, entry.name), scan);
      } else if (entry.name === "@v") {
        const module = await scanVersionDir(join(dir, entry.name), rel.join("/"), ignore, scan);
        if (module.versions.size > 0) scan.modules.push(module);
        for (const files of module.versions.values()) {
          for (const file of [files.info, files.mod, files.zip]) {
            if (!file) continue;
            scan.totalBytes += file.size;
            scan.totalItems++;
          }
        }
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

async function scanVersionDir(
  dir: string,
  escaped: string,
  ignore: (reason: string) => void,
  scan: Scan,
): Promise<ModuleDir> {
  const module: ModuleDir = { escaped, versions: new Map() };
  for (const entry of await listDir(dir, scan)) {
    const name = entry.name;
    if (entry.isSymlink) {
      // Followed, as the go command follows it: a file elsewhere is read like one here.
      const target = await Deno.stat(join(dir, name)).catch(() => null);
      if (!target?.isFile) continue;
    } else if (!entry.isFile) continue;
    if (name === "list" || name === "list.lock") continue;
    if (name.endsWith(".lock")) {
      ignore("lock file");
      continue;
    }
    if (name.endsWith(".partial")) {
      ignore("partial download");
      continue;
    }
    const match = KIND.exec(name);
    if (!match) {
      // go writes through temporary files (`v1.0.0.zip123.tmp`) renamed when complete.
      ignore("temporary file");
      continue;
    }
    const [, version, kind] = match;
    const path = join(dir, name);
    const size = await Deno.stat(path).then((info) => info.size, (error) => {
      scan.unreadable.push({ what: path, reason: "unreadable", detail: message(error) });
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
            scan.ignored["temporary file"] = (scan.ignored["temporary file"] ?? 0) + 1;
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
    scan.unreadable.push({ what: dir, reason: "unreadable directory", detail: message(error) });
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

/** One small write waiting for its batch. */
type PendingWrite = (batch: StoreBatch) => void;

class Seeder {
  summary: Omit<SeedSummary, "elapsedMs">;
  #options: SeedOptions;
  #store: Store;
  #scan: Scan;
  #now: () => number;
  #pending: PendingWrite[] = [];
  #pendingBytes = 0;
  #batchStarted = 0;
  #doneBytes = 0;
  #doneItems = 0;
  /** The cache's checksum-database records by `<escaped path>@<escaped version>`. */
  #lookups = new Map<string, SumdbFile>();

  constructor(options: SeedOptions, scan: Scan, now: () => number) {
    this.#options = options;
    this.#store = options.store;
    this.#scan = scan;
    this.#now = now;
    for (const file of scan.sumdb) {
      if (file.key.startsWith("lookup/")) this.#lookups.set(file.key.slice("lookup/".length), file);
    }
    let versions = 0;
    for (const module of scan.modules) versions += module.versions.size;
    this.summary = {
      modules: scan.modules.length,
      versions,
      stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 },
      bytes: 0,
      alreadyStored: 0,
      skipped: { ...scan.ignored },
      interrupted: false,
    };
  }

  async run(): Promise<void> {
    for (const skip of this.#scan.unreadable) this.#skip(skip.what, skip.reason, skip.detail);
    try {
      for (const module of this.#scan.modules) {
        if (this.#aborted()) break;
        await this.#module(module);
      }
      const databases = new Set<string>();
      for (const file of this.#scan.sumdb) {
        if (this.#aborted()) break;
        if (await this.#sumdbFile(file)) databases.add(file.name);
      }
      for (const name of databases) this.#queueSupported(name);
    } finally {
      // What was read completely is worth keeping, also when interrupted.
      await this.#flush();
    }
    this.#report("", !this.summary.interrupted);
  }

  #aborted(): boolean {
    if (this.#options.signal?.aborted) this.summary.interrupted = true;
    return this.summary.interrupted;
  }

  async #module(dir: ModuleDir): Promise<void> {
    let module: string;
    try {
      module = unescapePath(dir.escaped);
      checkPath(module);
    } catch (error) {
      for (const files of dir.versions.values()) {
        for (const file of [files.info, files.mod, files.zip]) if (file) this.#done(file.size);
      }
      this.#skip(dir.escaped, "bad module path", message(error));
      return;
    }
    const listed: string[] = [];
    const pseudo: { version: string; info?: CacheFile }[] = [];
    const escapedVersions = [...dir.versions.keys()].sort();
    for (const escapedVersion of escapedVersions) {
      if (this.#aborted()) return;
      const files = dir.versions.get(escapedVersion)!;
      const version = this.#version(module, escapedVersion, files);
      if (version === null) continue;
      // The zip first: once verified, its go.mod vouches for the .mod.
      const needGoMod = files.mod !== undefined && !this.#store.artifact(module, version, "mod");
      const zipGoMod = files.zip
        ? await this.#zip(module, version, files.zip, files.ziphash, needGoMod)
        : undefined;
      if (this.#aborted()) return;
      const vouch = (data: Uint8Array) =>
        this.#goModProblem(module, version, `${dir.escaped}@${escapedVersion}`, data, zipGoMod);
      if (files.mod && (await this.#small(module, version, "mod", files.mod, vouch))) {
        if (isPseudoVersion(version)) pseudo.push({ version, info: files.info });
        else listed.push(version);
      }
      if (this.#aborted()) return;
      if (files.info) await this.#small(module, version, "info", files.info);
    }
    if (this.#aborted()) return;
    if (listed.length > 0) {
      this.#queueList(module, listed);
    } else if (pseudo.length > 0) {
      await this.#queueUntagged(module, pseudo);
    }
  }

  /** The version a file name stands for, or null (reported) when it is not one go would store. */
  #version(module: string, escaped: string, files: VersionFiles): string | null {
    let reason = "";
    let version = "";
    try {
      version = unescapeVersion(escaped);
      if (!isValid(version) || canonicalModuleVersion(version) !== version) {
        reason = "not a canonical version";
      } else {
        checkPathMajor(version, splitPathVersion(module).pathMajor);
      }
    } catch (error) {
      reason = message(error);
    }
    if (!reason) return version;
    for (const file of [files.info, files.mod, files.zip]) if (file) this.#done(file.size);
    this.#skip(`${module}@${escaped}`, "bad version", reason);
    return null;
  }

  /** Imports a `.mod` or `.info`; true when it is stored (now or before). */
  async #small(
    module: string,
    version: string,
    kind: "info" | "mod",
    file: CacheFile,
    vouch?: (data: Uint8Array) => Promise<string>,
  ): Promise<boolean> {
    const what = `${module}@${version}.${kind}`;
    try {
      if (this.#store.artifact(module, version, kind)) {
        this.summary.alreadyStored++;
        return true;
      }
      const limit = kind === "mod" ? MAX_GO_MOD : MAX_INFO;
      if (file.size > limit) {
        this.#skip(what, "too large", `${file.size} bytes; the limit is ${limit}`);
        return false;
      }
      const data = await Deno.readFile(file.path);
      // The server's checks on what an upstream answers: what the go command could not use.
      const problem = smallProblem(kind, data, version, what) || (await vouch?.(data)) || "";
      if (problem) {
        this.#skip(what, `bad .${kind}`, problem);
        return false;
      }
      const etag = await strongEtag(data);
      this.#queue((batch) => {
        if (batch.putInline(module, version, kind, data, etag)) {
          this.summary.stored[kind]++;
          this.summary.bytes += data.byteLength;
        } else {
          this.summary.alreadyStored++;
        }
      }, data.byteLength);
      await this.#maybeFlush();
      return true;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", message(error));
      return false;
    } finally {
      this.#done(file.size, what);
    }
  }

  /**
   * Imports a zip; returns its go.mod when the zip was verified against its
   * `.ziphash`. A zip already stored is verified again only when its go.mod
   * is wanted (`needGoMod`: the version's `.mod` is still to be imported).
   */
  async #zip(
    module: string,
    version: string,
    file: CacheFile,
    ziphash: CacheFile | undefined,
    needGoMod: boolean,
  ): Promise<Uint8Array | undefined> {
    const what = `${module}@${version}.zip`;
    try {
      const stored = this.#store.artifact(module, version, "zip") !== undefined;
      if (stored) {
        this.summary.alreadyStored++;
        if (!needGoMod) return undefined;
      }
      if (!ziphash) {
        this.#skip(what, "no .ziphash", "nothing vouches for this zip; it is fetched on demand");
        return undefined;
      }
      if (ziphash.size > MAX_ZIPHASH) {
        this.#skip(what, "bad .ziphash", `${ziphash.size} bytes: not a hash`);
        return undefined;
      }
      // Small files read so far go in first: a zip may take a while.
      await this.#flush();
      const expected = (await Deno.readTextFile(ziphash.path)).trim();
      using handle = await Deno.open(file.path);
      // One open file for checking and copying: go replaces cache files by
      // renaming, which cannot change what this descriptor reads.
      const size = (await handle.stat()).size;
      const src = fileAccess(handle, size);
      let goMod: Uint8Array | undefined;
      try {
        const entries = await checkModuleZip(src, module, version);
        const actual = await hashZip(src);
        if (actual !== expected) {
          throw new ZipError(`${what}: hash ${actual} does not match .ziphash ${expected}`);
        }
        const entry = entries.find((e) => e.name === `${module}@${version}/go.mod`);
        if (entry) {
          goMod = new Uint8Array(await new Response(openZipEntry(src, entry)).arrayBuffer());
        }
      } catch (error) {
        if (error instanceof ZipError || error instanceof Deno.errors.UnexpectedEof) {
          this.#skip(what, "damaged zip", message(error));
          return undefined;
        }
        throw error;
      }
      if (!stored && await this.#copyZip(module, version, handle, size, what)) {
        await this.#maybeFlush();
      }
      return goMod;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", message(error));
      return undefined;
    } finally {
      this.#done(file.size, what);
    }
  }

  /**
   * Why a cached `.mod` is not what go.sum would accept, or "": it must equal
   * the go.mod of the verified zip, and hash to the cache's checksum-database
   * record when there is one. A `.mod` nothing vouches for is taken as is.
   */
  async #goModProblem(
    module: string,
    version: string,
    escaped: string,
    data: Uint8Array,
    zipGoMod: Uint8Array | undefined,
  ): Promise<string> {
    if (zipGoMod && !bytesEqual(zipGoMod, data)) {
      return "differs from the go.mod in the verified zip";
    }
    const lookup = this.#lookups.get(escaped);
    if (!lookup || lookup.size > MAX_SUMDB_FILE) return "";
    const record = await Deno.readTextFile(lookup.path).catch(() => "");
    const line = record.split("\n").find((l) => l.startsWith(`${module} ${version}/go.mod h1:`));
    if (!line) return "";
    const want = line.split(" ")[2];
    const got = await hashGoMod(data);
    return got === want ? "" : `hash ${got} does not match the checksum database's ${want}`;
  }

  async #copyZip(
    module: string,
    version: string,
    handle: Deno.FsFile,
    size: number,
    what: string,
  ): Promise<boolean> {
    await handle.seek(0, Deno.SeekMode.Start);
    const chunkSize = this.#store.chunkSize;
    const hash = createHash("sha256");
    let blobId: number | undefined = await this.#store.createBlob();
    try {
      let total = 0;
      for (let seq = 0;; seq++) {
        if (this.#aborted()) return false;
        const chunk = new Uint8Array(chunkSize);
        let filled = 0;
        while (filled < chunkSize) {
          const n = await handle.read(chunk.subarray(filled));
          if (n === null) break;
          filled += n;
        }
        if (filled === 0) break;
        const data = filled === chunkSize ? chunk : chunk.subarray(0, filled);
        hash.update(data);
        total += filled;
        if (total > size) break;
        await this.#store.putChunk(blobId, seq, data);
        if (filled < chunkSize) break;
      }
      if (total !== size) {
        this.#skip(what, "changed while reading", `${total} bytes read, ${size} expected`);
        return false;
      }
      const meta = await this.#store.commitBlob(
        module,
        version,
        "zip",
        blobId,
        total,
        etagFromDigest(hash.digest()),
      );
      if (meta.blobId === blobId) {
        this.summary.stored.zip++;
        this.summary.bytes += total;
        blobId = undefined;
      } else {
        // Another process (the server) stored it meanwhile; ours is discarded below.
        this.summary.alreadyStored++;
      }
      return true;
    } finally {
      if (blobId !== undefined) await this.#store.discardBlob(blobId).catch(() => {});
    }
  }

  /**
   * Queues the module's `list` answer: the stored list merged with the
   * versions imported, written only when that adds a version, and with
   * fetchedAt 0 so that the server serves it offline but refreshes it first
   * chance it gets. Pseudo-versions are never listed (go ignores them there).
   */
  #queueList(module: string, versions: string[]): void {
    this.#queue((batch) => {
      const stored = batch.answer("list", module, "");
      const known = new Set<string>();
      if (stored?.status === 200) {
        for (const line of new TextDecoder().decode(stored.body).split("\n")) {
          const version = line.trim().split(/\s+/)[0];
          if (version) known.add(version);
        }
      }
      const missing = versions.filter((v) => !known.has(v));
      if (stored?.status === 200 && missing.length === 0) return;
      const merged = sortVersions([...known, ...missing]);
      batch.putAnswer({
        kind: "list",
        module,
        key: "",
        status: 200,
        body: new TextEncoder().encode(merged.map((v) => `${v}\n`).join("")),
        fetchedAt: 0,
      });
      this.summary.stored.lists++;
    }, 0);
  }

  /**
   * A module the cache knows only by pseudo-versions: the go command asks its
   * `list`, finds no tag, and asks `@latest`. Stored, when nothing is, are an
   * empty `list` (the module exists, no tags known) and a `latest` answer
   * naming the newest cached pseudo-version, both with fetchedAt 0: served
   * offline, refreshed first chance the server gets.
   */
  async #queueUntagged(
    module: string,
    versions: { version: string; info?: CacheFile }[],
  ): Promise<void> {
    const newest = versions.reduce((a, b) =>
      pseudoVersionTime(b.version) > pseudoVersionTime(a.version) ||
        (pseudoVersionTime(b.version) === pseudoVersionTime(a.version) &&
          compare(b.version, a.version) > 0)
        ? b
        : a
    );
    let body: Uint8Array | undefined;
    if (newest.info && newest.info.size <= MAX_INFO) {
      const data = await Deno.readFile(newest.info.path).catch(() => undefined);
      if (data && !smallProblem("info", data, newest.version, module)) body = data;
    }
    if (!body) {
      const t = pseudoVersionTime(newest.version);
      const time = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${
        t.slice(10, 12)
      }:${t.slice(12, 14)}Z`;
      body = new TextEncoder().encode(JSON.stringify({ Version: newest.version, Time: time }));
    }
    const latest = body;
    this.#queue((batch) => {
      // A remembered not-found gives way, as for a tagged module: the cache shows it exists.
      if (batch.answer("list", module, "")?.status !== 200) {
        batch.putAnswer({
          kind: "list",
          module,
          key: "",
          status: 200,
          body: new Uint8Array(),
          fetchedAt: 0,
        });
        this.summary.stored.lists++;
      }
      if (batch.answer("latest", module, "")?.status !== 200) {
        batch.putAnswer({
          kind: "latest",
          module,
          key: "",
          status: 200,
          body: latest,
          fetchedAt: 0,
        });
      }
    }, latest.byteLength);
    await this.#maybeFlush();
  }

  /** Imports a checksum-database file; true when it is stored (now or before). */
  async #sumdbFile(file: SumdbFile): Promise<boolean> {
    const what = `sumdb/${file.name}/${file.key}`;
    try {
      if (file.key.split("/").some((element) => element === "" || /^\.+$/.test(element))) {
        this.#skip(what, "bad checksum database path", file.key);
        return false;
      }
      const stored = this.#store.answer("sumdb", file.name, file.key);
      if (stored?.status === 200) {
        this.summary.alreadyStored++;
        return true;
      }
      if (file.size > MAX_SUMDB_FILE) {
        this.#skip(what, "too large", `${file.size} bytes`);
        return false;
      }
      const body = await Deno.readFile(file.path);
      try {
        // The server keeps these forever: one cut short by a crash must not get in.
        checkSumdb(file.key, body, what);
      } catch (error) {
        this.#skip(what, "bad checksum-database file", message(error));
        return false;
      }
      this.#queue((batch) => {
        // Re-checked inside the transaction: the server may have stored it meanwhile.
        if (batch.answer("sumdb", file.name, file.key)?.status === 200) {
          this.summary.alreadyStored++;
          return;
        }
        batch.putAnswer({
          kind: "sumdb",
          module: file.name,
          key: file.key,
          status: 200,
          body,
          fetchedAt: 0,
        });
        this.summary.stored.sumdb++;
        this.summary.bytes += body.byteLength;
      }, body.byteLength);
      await this.#maybeFlush();
      return true;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", message(error));
      return false;
    } finally {
      this.#done(file.size, what);
    }
  }

  /**
   * Stores that the checksum database `name` is proxied, unless a `200` is
   * stored: without it an offline go command asks the database itself and
   * never uses what was imported. Stamped 0, so the server asks its upstream
   * first chance it gets.
   */
  #queueSupported(name: string): void {
    this.#queue((batch) => {
      if (batch.answer("sumdb", name, "supported")?.status === 200) return;
      batch.putAnswer({
        kind: "sumdb",
        module: name,
        key: "supported",
        status: 200,
        body: new Uint8Array(),
        fetchedAt: 0,
      });
    }, 0);
  }

  #queue(write: PendingWrite, bytes: number): void {
    if (this.#pending.length === 0) this.#batchStarted = this.#now();
    this.#pending.push(write);
    this.#pendingBytes += bytes;
  }

  async #maybeFlush(): Promise<void> {
    if (
      this.#pending.length >= BATCH_ITEMS || this.#pendingBytes >= BATCH_BYTES ||
      this.#now() - this.#batchStarted >= (this.#options.batchMs ?? 50)
    ) {
      await this.#flush();
    }
  }

  /** Commits the queued small writes in one short transaction. */
  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const writes = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#store.batch((batch) => {
      for (const write of writes) write(batch);
    });
  }

  #skip(what: string, reason: string, detail: string): void {
    this.summary.skipped[reason] = (this.summary.skipped[reason] ?? 0) + 1;
    this.#options.onSkip?.({ what, reason, detail });
  }

  #done(bytes: number, label = ""): void {
    this.#doneBytes += bytes;
    this.#doneItems++;
    this.#report(label, false);
  }

  #report(label: string, final: boolean): void {
    this.#options.onProgress?.({
      doneBytes: final ? this.#scan.totalBytes : this.#doneBytes,
      totalBytes: this.#scan.totalBytes,
      doneItems: final ? this.#scan.totalItems : this.#doneItems,
      totalItems: this.#scan.totalItems,
      label,
    });
  }
}

/** Why an `.info` or `.mod` file cannot be served for `version`, or "" when it can. */
function smallProblem(
  kind: "info" | "mod",
  data: Uint8Array,
  version: string,
  what: string,
): string {
  try {
    if (kind === "info") checkInfo(data, what, version);
    else checkGoMod(data, what);
    return "";
  } catch (error) {
    return message(error);
  }
}

/**
 * A failure to write the database (locked past the deadline, disk full): the
 * seed stops there, as every later write would fail the same way, and what
 * was queued is not silently lost.
 */
function isStoreFailure(error: unknown): boolean {
  return error instanceof StoreBusyError ||
    (error instanceof Error && (error as Error & { code?: string }).code === "ERR_SQLITE_ERROR");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
