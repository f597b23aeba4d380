/**
 * A seed run: importing a Go module cache (`$GOMODCACHE/cache/download`)
 * into Astera's database, so that a Pi starts warm even with no internet at
 * all. The cache is listed first (`scan.ts`), then each module's versions
 * are checked (`verify.ts`) and written (`import.ts`) in order: a version's
 * zip first, as once verified its go.mod vouches for the `.mod`, then the
 * `.mod` and `.info`, then the module's `list`; the checksum database's
 * files last.
 *
 * What is imported must be what the go command would accept, because a
 * stored `.mod` or `.zip` is served forever; a file that fails a check is
 * reported and left out. A zip without `.ziphash` is left out too: nothing
 * vouches for it, and the server fetches it when it is asked for. A missing
 * `.info` is not made up here, because what is stored is served forever and
 * a made-up `.info` has no `Time` (the server makes one up from the stored
 * `.mod` only while offline).
 *
 * Idempotent and safe to interrupt: what is stored is skipped before its
 * file is read, and the next run finishes what an interrupted one left.
 *
 * @module
 */
import { errorText } from "../util/errors.ts";
import { checkPath, unescapePath } from "../mod/module.ts";
import { isPseudoVersion } from "../mod/pseudo.ts";
import { MAX_SMALL_ANSWER } from "../goproxy/answer_check.ts";
import { MAX_GO_MOD } from "../mod/zip.ts";
import { type ImportCounts, isStoreFailure, type SeedStore, SeedWriter } from "./import.ts";
import { findDownloadDir } from "./locate.ts";
import {
  type CacheFile,
  type ModuleDir,
  type Scan,
  scanDownloadDir,
  type SeedSkip,
  type SumdbFile,
  type VersionFiles,
} from "./scan.ts";
import {
  badSumdbKey,
  goModProblem,
  MAX_ZIPHASH,
  smallProblem,
  sumdbProblem,
  untaggedLatest,
  verifyZip,
  versionOf,
} from "./verify.ts";

/**
 * What a seed run did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedSummary } from "./seed.ts";
 * function stored(summary: SeedSummary): number {
 *   return summary.stored.info + summary.stored.mod + summary.stored.zip;
 * }
 * assert(typeof stored === "function");
 * ```
 */
export interface SeedSummary extends ImportCounts {
  /** Modules and module versions found in the cache. */
  modules: number;
  versions: number;
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
 * import assert from "node:assert/strict";
 * import type { SeedOptions } from "./seed.ts";
 * function options(store: SeedOptions["store"]): SeedOptions {
 *   return { store, modcache: "/home/me/go/pkg/mod" };
 * }
 * assert(typeof options === "function");
 * ```
 */
export interface SeedOptions {
  store: SeedStore;
  /** The module cache (GOMODCACHE), holding `cache/download`. */
  modcache: string;
  /** Called as work gets done, often; throttle it (see `scripts/progress.ts`). */
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
 * import assert from "node:assert/strict";
 * import type { SeedProgress } from "./seed.ts";
 * const p: SeedProgress = { doneBytes: 0, totalBytes: 10, doneItems: 0, totalItems: 1, label: "" };
 * assert(p.totalBytes === 10);
 * ```
 */
export interface SeedProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  label: string;
}

/**
 * Imports the module cache at `options.modcache` into `options.store`.
 * Throws {@linkcode SeedError} when the directory does not exist or has no
 * `cache/download`; every other problem is a skipped file, reported, except
 * a failure to write the database, which stops the run and is thrown.
 *
 * @example
 * ```ts ignore
 * import { seedModuleCache } from "./seed.ts";
 * import { SqliteStore } from "../store/mod.ts";
 * const store = SqliteStore.open("astera.db");
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

/** One run over a scanned cache: what to import, in which order, and what to report. */
class Seeder {
  summary: Omit<SeedSummary, "elapsedMs">;
  #options: SeedOptions;
  #writer: SeedWriter;
  #scan: Scan;
  #doneBytes = 0;
  #doneItems = 0;
  /** The cache's checksum-database records by `<escaped path>@<escaped version>`. */
  #lookups = new Map<string, SumdbFile>();

  constructor(options: SeedOptions, scan: Scan, now: () => number) {
    this.#options = options;
    this.#scan = scan;
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
    this.#writer = new SeedWriter(options.store, {
      counts: this.summary,
      skip: (what, reason, detail) => this.#skip(what, reason, detail),
      aborted: () => this.#aborted(),
      now,
      batchMs: options.batchMs ?? 50,
    });
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
      for (const name of databases) this.#writer.queueSupported(name);
    } finally {
      // What was read completely is worth keeping, also when interrupted.
      await this.#writer.flush();
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
      for (const files of dir.versions.values()) this.#doneAll(files);
      this.#skip(dir.escaped, "bad module path", errorText(error));
      return;
    }
    const listed: string[] = [];
    const pseudo: { version: string; info?: CacheFile }[] = [];
    for (const escapedVersion of [...dir.versions.keys()].sort()) {
      if (this.#aborted()) return;
      const files = dir.versions.get(escapedVersion)!;
      const { version, problem } = versionOf(module, escapedVersion);
      if (problem) {
        this.#doneAll(files);
        this.#skip(`${module}@${escapedVersion}`, "bad version", problem);
        continue;
      }
      const lookup = this.#lookups.get(`${dir.escaped}@${escapedVersion}`);
      if (!(await this.#version(module, version, files, lookup))) continue;
      if (isPseudoVersion(version)) pseudo.push({ version, info: files.info });
      else listed.push(version);
    }
    if (this.#aborted()) return;
    if (listed.length > 0) {
      this.#writer.queueList(module, listed);
    } else if (pseudo.length > 0) {
      await this.#writer.putUntagged(module, await untaggedLatest(module, pseudo));
    }
  }

  /**
   * Imports one version's files; true when its `.mod` is stored (now or
   * before), which is what makes the version worth listing.
   */
  async #version(
    module: string,
    version: string,
    files: VersionFiles,
    lookup: SumdbFile | undefined,
  ): Promise<boolean> {
    // The zip first: once verified, its go.mod vouches for the .mod.
    const needGoMod = files.mod !== undefined &&
      !(await this.#writer.has(module, version, "mod"));
    const zipGoMod = files.zip
      ? await this.#zip(module, version, files.zip, files.ziphash, needGoMod)
      : undefined;
    if (this.#aborted()) return false;
    const vouch = (data: Uint8Array) => goModProblem(module, version, data, zipGoMod, lookup);
    const listed = files.mod !== undefined &&
      (await this.#small(module, version, "mod", files.mod, vouch));
    if (this.#aborted()) return false;
    if (files.info) await this.#small(module, version, "info", files.info);
    return listed;
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
      if (await this.#writer.has(module, version, kind)) {
        this.summary.alreadyStored++;
        return true;
      }
      const limit = kind === "mod" ? MAX_GO_MOD : MAX_SMALL_ANSWER;
      if (file.size > limit) {
        this.#skip(what, "too large", `${file.size} bytes; the limit is ${limit}`);
        return false;
      }
      const data = await Deno.readFile(file.path);
      const problem = smallProblem(kind, data, version, what) || (await vouch?.(data)) || "";
      if (problem) {
        this.#skip(what, `bad .${kind}`, problem);
        return false;
      }
      await this.#writer.putInline(module, version, kind, data);
      return true;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", errorText(error));
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
      const stored = await this.#writer.has(module, version, "zip");
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
      await this.#writer.flush();
      const expected = (await Deno.readTextFile(ziphash.path)).trim();
      // One open file for checking and copying: go replaces cache files by
      // renaming, which cannot change what this descriptor reads.
      using handle = await Deno.open(file.path);
      const size = (await handle.stat()).size;
      const check = await verifyZip(handle, size, module, version, expected, what);
      if (check.problem) {
        this.#skip(what, "damaged zip", check.problem);
        return undefined;
      }
      if (!stored) await this.#writer.putZip(module, version, handle, size, what);
      return check.goMod;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", errorText(error));
      return undefined;
    } finally {
      this.#done(file.size, what);
    }
  }

  /** Imports a checksum-database file; true when it is stored (now or before). */
  async #sumdbFile(file: SumdbFile): Promise<boolean> {
    const what = `sumdb/${file.name}/${file.key}`;
    try {
      if (badSumdbKey(file.key)) {
        this.#skip(what, "bad checksum database path", file.key);
        return false;
      }
      if (await this.#writer.hasSumdb(file.name, file.key)) {
        this.summary.alreadyStored++;
        return true;
      }
      if (file.size > MAX_SMALL_ANSWER) {
        this.#skip(what, "too large", `${file.size} bytes`);
        return false;
      }
      const body = await Deno.readFile(file.path);
      const problem = sumdbProblem(file.key, body, what);
      if (problem) {
        this.#skip(what, "bad checksum-database file", problem);
        return false;
      }
      await this.#writer.putSumdb(file.name, file.key, body);
      return true;
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      this.#skip(what, "unreadable", errorText(error));
      return false;
    } finally {
      this.#done(file.size, what);
    }
  }

  #skip(what: string, reason: string, detail: string): void {
    this.summary.skipped[reason] = (this.summary.skipped[reason] ?? 0) + 1;
    this.#options.onSkip?.({ what, reason, detail });
  }

  /** Counts a version's files as done, without reading them. */
  #doneAll(files: VersionFiles): void {
    for (const file of [files.info, files.mod, files.zip]) if (file) this.#done(file.size);
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
