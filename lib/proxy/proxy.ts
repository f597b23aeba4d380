/**
 * The caching proxy: answers each GOPROXY request from memory, the store or a
 * source, and stores what sources answer so the next request (or the next
 * start, or a day without internet) needs no source at all.
 *
 * - `.info` of a canonical version, `.mod` and `.zip` are immutable: stored
 *   once, served forever.
 * - `list`, `@latest` and query `.info` are stored with the time they were
 *   fetched: fresh ones are served, stale ones are served while a background
 *   refresh runs, and when the source fails the last stored answer is served.
 * - Not-found answers are remembered for a shorter time.
 * - Zips stream from the source into the store in chunks while any number of
 *   clients read the chunks already stored; memory stays bounded by the chunk
 *   size, whatever the zip size.
 *
 * Everything that touches the store or a source goes through single-flight.
 *
 * A stored copy found damaged (the store checks what it reads against what
 * was stored) is logged as `stored-damaged`, removed and fetched again, never
 * served; a database file SQLite reports as malformed is logged as
 * `store-damaged` and the source answers instead where it can.
 *
 * @module
 */
import { UpstreamWatch } from "./upstream_watch.ts";
import { checkInfo, checkList, checkSumdb, checkZipStart } from "../goproxy/answer_check.ts";
import { checkGoModYielding, MAX_INFO } from "../goproxy/answer_check.ts";
import { isYoung } from "../util/age.ts";
import { concatBytes } from "../util/bytes.ts";
import { createHash } from "node:crypto";
import { SingleFlight } from "./single_flight.ts";
import type { Logger } from "../log.ts";
import { matchPathMajor, matchPrefixPatterns, splitPathVersion } from "../mod/module.ts";
import { reclaimer } from "./reclaim.ts";
import {
  type ArtifactRequest,
  describeRequest,
  type ModuleSource,
  type RefusalStatus,
  RefusedError,
  type SourceAnswer,
  SourceError,
} from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import {
  type ArtifactKind,
  type ArtifactMeta,
  DAMAGED,
  etagFromDigest,
  isDatabaseCorrupt,
  sha256,
  type Store,
  type StoredAnswer,
  StoredDamageError,
  strongEtag,
} from "../store/sqlite.ts";
import {
  canonicalModuleVersion,
  isPseudoVersion,
  pseudoVersionDate,
  sortVersions,
} from "../mod/mod.ts";
import { WeakCache } from "./weak_cache.ts";
import { checkModuleZip, MAX_GO_MOD, MAX_ZIP_FILE } from "../mod/mod.ts";
import { checkZipContent, type RandomAccess, ZipError } from "../archive/mod.ts";

/** The most a `list` or checksum-database answer may be (an `.info`: `MAX_INFO`). */
export const MAX_SMALL_BYTES = 4 * 1024 * 1024;

/** What the proxy answers; `server.ts` turns it into HTTP. */
export type Reply =
  | { type: "bytes"; bytes: Uint8Array; contentType: string; immutable: boolean; etag?: string }
  | { type: "stored-zip"; meta: ArtifactMeta }
  | { type: "live-zip"; download: LiveDownload }
  | { type: "not-found"; status: 404 | 410; message: string }
  /** 502/503: the source or the store failed; a refusal's status: the upstream refused. */
  | { type: "error"; status: 502 | 503 | RefusalStatus; message: string }
  /** Only with `storedOnly`: nothing servable is stored; the primary must answer. */
  | { type: "miss" };

/** A reply that answers the request (anything but a replica's miss). */
export type Answer = Exclude<Reply, { type: "miss" }>;

/** Options of a {@linkcode ModuleProxy}. */
export interface ModuleProxyOptions {
  store: Store;
  upstream: Upstream;
  /** Modules matching `patterns` (GOPRIVATE syntax) come from `source`, never from the upstream. */
  privateModules?: { patterns: string; source: ModuleSource };
  /** How long a `list`/`@latest`/query answer stays fresh (ms). */
  freshMs: number;
  /** How long a not-found answer is trusted (ms). */
  negativeMs: number;
  /** Bytes of memory-cached content held strongly at most. */
  cacheBytes: number;
  /** How long memory-cached content stays strongly held after its last use (ms). */
  cacheTtlMs: number;
  log: Logger;
  /**
   * Serve only what is stored (and fresh), answering `miss` for anything that
   * would need a source: the mode of a replica isolate, which leaves fetching
   * to the primary so that single-flight spans every isolate.
   */
  storedOnly?: boolean;
  /**
   * With `storedOnly`: asks the primary isolate for a zip that is not stored.
   * `live` means the primary is downloading it and will call `onProgress`
   * (first before resolving, last when done); `stored` that it is stored now;
   * `answer` carries the primary's not-found or error, to be given as is (a
   * second request would ask the upstream again); `other` that the request
   * must be forwarded.
   */
  primaryZip?: (
    module: string,
    version: string,
    onProgress: (progress: DownloadProgress) => void,
  ) => Promise<PrimaryZip>;
  now?: () => number;
}

/** What the primary isolate says of a zip a replica asked for (see `sharedzip.ts`). */
export type PrimaryZip =
  | { type: "live" }
  | { type: "stored" }
  | { type: "answer"; reply: Extract<Answer, { type: "not-found" | "error" }> }
  | { type: "other" };

/** Where a download stands, as the primary tells a replica following it. */
export interface DownloadProgress {
  /** The blob the chunks are in (it may change once, when a seed stored the same zip). */
  blobId: number;
  chunkSize: number;
  size: number | null;
  /** Chunks that may be read. */
  readable: number;
  done: boolean;
  /** Why the download failed, when it did. */
  failure?: string;
}

/** Counters for `/_astera/stats` and the benchmark. */
export interface ProxyStats {
  sourceFetches: number;
  backgroundRefreshes: number;
  /** Background refreshes that failed (the stored answer went on being served). */
  refreshFailures: number;
  /** Answers made up while the source failed: a `list` from stored `.mod`s, a not-found, an `.info`. */
  offlineAnswers: number;
  /** Stored `200`s kept over a source's later not-found (`list`, `@latest`, checksum database). */
  keptAnswers: number;
  liveDownloads: number;
}

const TEXT = "text/plain; charset=utf-8";
/** What a log line about a malformed database file advises. */
export const REPAIR_ADVICE = "stop Astera and run `deno task verify --repair`";
const MISS: Reply = { type: "miss" };
const JSON_TYPE = "application/json";

type CachedItem =
  | { type: "artifact"; meta: ArtifactMeta; data: Uint8Array | null }
  | { type: "answer"; answer: StoredAnswer };

/**
 * The caching proxy core.
 *
 * @example
 * ```ts ignore
 * import { ModuleProxy } from "./proxy.ts";
 * const proxy = new ModuleProxy({ store, upstream, freshMs: 300_000, negativeMs: 60_000,
 *   cacheBytes: 64 << 20, cacheTtlMs: 60_000, log });
 * const reply = await proxy.list("golang.org/x/text");
 * ```
 */
export class ModuleProxy {
  #options: ModuleProxyOptions;
  #store: Store;
  #now: () => number;
  #items: WeakCache<CachedItem>;
  #chunks: WeakCache<Uint8Array>;
  #fetches = new SingleFlight<Reply>();
  #refreshes = new SingleFlight<StoredAnswer>();
  #live = new Map<string, LiveDownload>();
  #background = new Set<Promise<unknown>>();
  #stats: ProxyStats = {
    sourceFetches: 0,
    backgroundRefreshes: 0,
    refreshFailures: 0,
    offlineAnswers: 0,
    keptAnswers: 0,
    liveDownloads: 0,
  };
  #upstreamWatch: UpstreamWatch;
  /** Errors a log line has already told (so a refresh that failed with one adds none). */
  #told = new WeakSet<object>();

  constructor(options: ModuleProxyOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#upstreamWatch = new UpstreamWatch(options.log, this.#now);
    const strongTtlMs = options.cacheTtlMs;
    this.#items = new WeakCache<CachedItem>(
      { maxStrongBytes: Math.floor(options.cacheBytes / 4), strongTtlMs, now: this.#now },
      (item) =>
        256 + (item.type === "artifact" ? item.data?.byteLength ?? 0 : item.answer.body.byteLength),
    );
    this.#chunks = new WeakCache<Uint8Array>({
      maxStrongBytes: options.cacheBytes - Math.floor(options.cacheBytes / 4),
      strongTtlMs,
      now: this.#now,
    });
  }

  /**
   * The reply to a request that memory alone can answer, without waiting: a
   * cached `.info` or `.mod` of a canonical version, or a fresh cached `list`
   * or `@latest`. Undefined otherwise; then the async method of that name
   * answers (and counts the miss).
   */
  cachedReply(
    kind: "info" | "mod" | "list" | "latest",
    module: string,
    version: string,
  ): Answer | undefined {
    if (kind === "list" || kind === "latest") {
      const item = this.#items.peek(answerKey(kind, module, ""));
      return item?.type === "answer" && this.#isFresh(item.answer)
        ? answerReply(item.answer)
        : undefined;
    }
    // Only canonical versions are ever cached under an item key.
    const item = this.#items.peek(itemKey(kind, module, version));
    if (item?.type === "artifact" && item.data) return artifactReply(item.meta, item.data);
    const notFound = this.#rememberedNotFound(kind, module, version);
    return notFound ? notFoundReply(notFound) : undefined;
  }

  /**
   * A fresh not-found for an artifact, from memory only. While it is fresh no
   * artifact can have been stored by this proxy (storing one forgets it), so
   * the database need not be asked again on every request for a missing version.
   */
  #rememberedNotFound(kind: ArtifactKind, module: string, version: string) {
    const item = this.#items.peek(answerKey(kind, module, version));
    return item?.type === "answer" && item.answer.status !== 200 && this.#isFresh(item.answer)
      ? item.answer
      : undefined;
  }

  /** `GET <module>/@v/list` */
  list(module: string): Promise<Reply> {
    return this.#changeable("list", module, "", { kind: "list", module });
  }

  /** `GET <module>/@latest` */
  latest(module: string): Promise<Reply> {
    return this.#changeable("latest", module, "", { kind: "latest", module });
  }

  /**
   * `GET <module>/@v/<version>.info`, for a canonical version or any query.
   * A canonical version that does not fit the path's major version (`v2.0.0`
   * of a path without `/v2`) is a query too: its answer may name another
   * version (`v2.0.0+incompatible`), which the go command accepts then.
   */
  info(module: string, version: string): Promise<Reply> {
    if (canonicalModuleVersion(version) !== version || !fitsPath(module, version)) {
      return this.#changeable("query", module, version, { kind: "info", module, version });
    }
    return this.#small("info", module, version);
  }

  /** `GET <module>/@v/<version>.mod` */
  mod(module: string, version: string): Promise<Reply> {
    if (canonicalModuleVersion(version) !== version) {
      return Promise.resolve(nonCanonical(module, version));
    }
    return this.#small("mod", module, version);
  }

  /** `GET <module>/@v/<version>.zip` */
  async zip(module: string, version: string): Promise<Reply> {
    if (canonicalModuleVersion(version) !== version) return nonCanonical(module, version);
    const key = itemKey("zip", module, version);
    const notFound = this.#rememberedNotFound("zip", module, version);
    if (notFound) return notFoundReply(notFound);
    // #readSmall checked its first chunk: a stored zip is whole as far as anyone hears "200".
    const stored = await this.#artifact("zip", module, version);
    if (stored) return { type: "stored-zip", meta: stored.meta };
    const negative = await this.#freshestAnswer("zip", module, version);
    if (negative && this.#isFresh(negative)) return notFoundReply(negative);
    if (this.#options.storedOnly) return await this.#zipFromPrimary(module, version);

    let download = this.#live.get(key);
    if (!download) {
      // A download that finished while we looked has stored the zip (see #small).
      const meta = this.#store.artifact(module, version, "zip");
      if (meta) return { type: "stored-zip", meta };
      download = new LiveDownload((blobId, seq) => this.#readChunk(blobId, seq));
      this.#live.set(key, download);
      this.#stats.liveDownloads++;
      const run = this.#download(download, module, version).finally(() => this.#live.delete(key));
      this.#track(run);
    }
    const started = await download.started;
    if (started.type === "found") {
      if (download.size !== null) return { type: "live-zip", download };
      // Without a Content-Length we cannot promise one, so wait for the stored zip.
      const meta = await download.finished;
      if (meta) return { type: "stored-zip", meta };
      // Nobody has been told "200" yet, so a refusal found on the way is still a 410.
      return download.refusal ?? this.#failed(download.failure, negative, module, version);
    }
    if (started.type === "not-found") return started.reply;
    return this.#failed(started.error, negative, module, version);
  }

  /**
   * A stream of `[start, end)` of a stored zip, chunk by chunk through the
   * memory cache. A chunk found damaged breaks the stream (the client sees a
   * transfer cut short, never wrong bytes) and the zip is removed to be
   * fetched again. A zip stored before chunks had digests is checked against
   * its ETag when read whole, before its last bytes go out.
   */
  openStoredZip(meta: ArtifactMeta, start: number, end: number): ReadableStream<Uint8Array> {
    const blobId = meta.blobId!;
    const chunkSize = meta.chunkSize;
    let position = start;
    const whole = !meta.chunkDigests && start === 0 && end === meta.size
      ? new WholeCheck(meta)
      : undefined;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (position >= end) {
          controller.close();
          return;
        }
        const seq = Math.floor(position / chunkSize);
        let chunk: Uint8Array | undefined;
        try {
          chunk = await this.#readChunk(blobId, seq);
          if (chunk && whole) whole.add(chunk, seq * chunkSize + chunk.byteLength >= end);
        } catch (error) {
          controller.error(await this.#damagedRead(meta, error));
          return;
        }
        if (chunk && whole?.checked) this.#track(this.#recordDigests(meta, whole.digests));
        if (!chunk) {
          // Removed meanwhile (found damaged here, in another isolate or by `deno task verify`).
          this.#items.delete(itemKey("zip", meta.module, meta.version));
          controller.error(
            new Error(`chunk ${seq} of ${meta.module}@${meta.version}.zip is missing`),
          );
          return;
        }
        const from = position - seq * chunkSize;
        const to = Math.min(chunk.byteLength, end - seq * chunkSize);
        controller.enqueue(
          from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to),
        );
        position += to - from;
      },
    });
  }

  /**
   * `GET /sumdb/<name>/<key>`: the checksum database through the upstream,
   * `key` as `route.ts` parsed it. `lookup` and `tile` answers never change
   * and are kept forever; `supported` and `latest` follow the freshness TTL,
   * and once found they are kept over a later not-found (an upstream gone
   * `off` must not make the go command leave for a database it cannot reach).
   * When the upstream cannot be asked and nothing is stored, `supported`
   * answers 404 so that the go command talks to the database itself rather
   * than failing every lookup. A private module is never looked up upstream.
   */
  async sumdb(name: string, key: string, module?: string): Promise<Reply> {
    const privateModules = this.#options.privateModules;
    if (
      module !== undefined && privateModules && matchPrefixPatterns(privateModules.patterns, module)
    ) {
      return {
        type: "not-found",
        status: 404,
        message: `not found: ${module} is private (--private): not in the public checksum database`,
      };
    }
    const immutable = key.startsWith("lookup/") || key.startsWith("tile/");
    const stored = await this.#freshestAnswer("sumdb", name, key);
    if (stored && ((immutable && stored.status === 200) || this.#isFresh(stored))) {
      return sumdbReply(stored);
    }
    if (this.#options.storedOnly) return MISS;
    try {
      return sumdbReply(
        await this.#refreshes.do(answerKey("sumdb", name, key), () => this.#fetchSumdb(name, key)),
      );
    } catch (error) {
      if (stored) return sumdbReply(stored);
      if (key === "supported") {
        return {
          type: "not-found",
          status: 404,
          message: `not found: checksum database ${name} not reachable through the upstream: ${
            text(error)
          }`,
        };
      }
      return errorReply(error);
    }
  }

  /** Asks the upstream for a checksum-database answer and stores it (see {@linkcode sumdb}). */
  async #fetchSumdb(name: string, key: string): Promise<StoredAnswer> {
    this.#stats.sourceFetches++;
    const what = `sumdb ${name}/${key}`;
    const answer = await this.#watched(
      what,
      () => this.#options.upstream.fetchPath(`/sumdb/${name}/${key}`, what),
    );
    const now = this.#now();
    let fetched: StoredAnswer;
    if (answer.found) {
      const body = await this.#accept(
        what,
        async () => checkSumdb(key, await readAll(answer, MAX_SMALL_BYTES, what), what),
      );
      fetched = { kind: "sumdb", module: name, key, status: 200, body, fetchedAt: now };
    } else {
      const previous = this.#storedAnswer("sumdb", name, key);
      if (previous?.status === 200) {
        // As for lists: a database once served stays served, even from an upstream gone `off`.
        this.#stats.keptAnswers++;
        fetched = { ...previous, fetchedAt: now };
      } else {
        const body = encode(answer.message);
        fetched = { kind: "sumdb", module: name, key, status: answer.status, body, fetchedAt: now };
      }
    }
    await this.#putAnswerQuietly(fetched);
    return fetched;
  }

  /** One chunk of a blob, through the memory cache. Chunks never change once written. */
  #readChunk(blobId: number, seq: number): Promise<Uint8Array | undefined> {
    return this.#chunks.load(
      `${blobId}:${seq}`,
      () => {
        const chunk = this.#store.chunk(blobId, seq);
        // Held by the cache for a while, then garbage like every chunk read.
        reclaimer.released(chunk?.byteLength ?? 0);
        return Promise.resolve(chunk);
      },
    );
  }

  /**
   * A read of a stored artifact failed: a damaged copy is removed (to be
   * fetched again), a malformed database file is logged. Returns the error
   * to give the reader; rethrows anything else.
   */
  async #damagedRead(meta: ArtifactMeta, error: unknown): Promise<Error> {
    if (error instanceof StoredDamageError) {
      await this.#damaged(meta, error);
      return new Error(`${describeMeta(meta)}: the stored copy is damaged: ${error.message}`);
    }
    if (isDatabaseCorrupt(error)) {
      this.#storeDamaged(describeMeta(meta), error);
      return new Error(`${describeMeta(meta)}: the database is damaged: ${text(error)}`);
    }
    throw error;
  }

  /** Logs a damaged stored copy and removes it, so that it is fetched again. */
  async #damaged(meta: ArtifactMeta, error: unknown): Promise<void> {
    const key = itemKey(meta.kind, meta.module, meta.version);
    this.#options.log.warn("stored-damaged", {
      module: meta.module,
      version: meta.version,
      kind: meta.kind,
      error: text(error),
    });
    this.#items.delete(key);
    try {
      await this.#store.removeArtifact(meta, text(error));
    } catch (removeError) {
      this.#options.log.warn("store-failed", {
        module: meta.module,
        version: meta.version,
        kind: meta.kind,
        error: `removing the damaged copy: ${text(removeError)}`,
      });
    }
  }

  /**
   * Why a stored copy of an artifact that is not stored (now) was removed as
   * damaged, by any isolate or `deno task verify`; undefined if it never was.
   */
  #damageNote(kind: ArtifactKind, module: string, version: string): string | undefined {
    const note = this.#storedAnswer(DAMAGED, module, `${version}.${kind}`);
    return note && new TextDecoder().decode(note.body);
  }

  /** Logs that SQLite found the database file itself malformed, with what to do. */
  #storeDamaged(what: string, error: unknown): void {
    this.#options.log.error("store-damaged", {
      request: what,
      error: text(error),
      advice: REPAIR_ADVICE,
    });
  }

  /** Keeps the digests of an old zip's chunks, once its whole content matched its ETag. */
  async #recordDigests(meta: ArtifactMeta, digests: Uint8Array[]): Promise<void> {
    try {
      await this.#store.recordChunkDigests(meta.blobId!, digests);
      // Read again with its new flag: its chunks are checked one by one from now on.
      this.#items.delete(itemKey(meta.kind, meta.module, meta.version));
    } catch (error) {
      this.#options.log.warn("store-failed", {
        module: meta.module,
        version: meta.version,
        kind: meta.kind,
        error: `recording chunk digests: ${text(error)}`,
      });
    }
  }

  /** Counters, for `/_astera/stats`. */
  stats(): Record<string, unknown> {
    return {
      proxy: { ...this.#stats, fetchCoalesced: this.#fetches.stats().coalesced },
      upstream: this.#upstreamWatch.stats(),
      store: this.#store.stats(),
      cache: { items: this.#items.stats(), chunks: this.#chunks.stats() },
      reclaim: {
        active: reclaimer.active,
        collections: reclaimer.collections,
        ms: Math.round(reclaimer.spentMs),
      },
    };
  }

  /** The database's size (one file for every isolate, so not part of {@linkcode stats}). */
  databaseSize(): { bytes: number; freeBytes: number } {
    return this.#store.size();
  }

  /** Waits for background work (refreshes, downloads) to settle, for shutdown. */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // ---- answers that may change: list, @latest, query .info ----

  async #changeable(
    kind: "list" | "latest" | "query",
    module: string,
    key: string,
    request: ArtifactRequest,
  ): Promise<Reply> {
    const stored = await this.#freshestAnswer(kind, module, key);
    if (this.#options.storedOnly) {
      return stored && this.#isFresh(stored) ? answerReply(stored) : MISS;
    }
    if (stored) {
      if (!this.#isFresh(stored)) {
        this.#stats.backgroundRefreshes++;
        this.#track(
          this.#refresh(kind, module, key, request).catch((error) => {
            this.#stats.refreshFailures++;
            // Most failures were told where they happened (an unreachable upstream once per
            // outage, a refused answer, a git failure); only the rest get a line here.
            if (isObject(error) && this.#told.has(error)) return;
            this.#options.log.warn("refresh-failed", {
              request: describeRequest(request),
              error: text(error),
            });
          }),
        );
      }
      return answerReply(stored);
    }
    try {
      return answerReply(await this.#refresh(kind, module, key, request));
    } catch (error) {
      // A refusal is the upstream's answer, not an outage: the go command must see it as is.
      if (error instanceof RefusedError) return errorReply(error);
      if (kind === "list") {
        const versions = sortVersions(
          this.#store.storedVersions(module, "mod").filter((v) => !isPseudoVersion(v)),
        );
        if (versions.length > 0) {
          this.#stats.offlineAnswers++;
          return bytesReply(encode(versions.map((v) => `${v}\n`).join("")), TEXT, false);
        }
      }
      if (kind !== "query") {
        // The go command asks `list` of every prefix of an import path it cannot place
        // (`golang.org/x` for `golang.org/x/text/language`) and stops at anything but a
        // not-found. Offline, a path never seen is as good as not a module: saying so keeps
        // `go mod tidy` working on what is cached. Not stored: it is no real answer.
        this.#stats.offlineAnswers++;
        return {
          type: "not-found",
          status: 404,
          message: `not found: ${module}: nothing cached, and the source failed: ${text(error)}`,
        };
      }
      return errorReply(error);
    }
  }

  #refresh(
    kind: "list" | "latest" | "query",
    module: string,
    key: string,
    request: ArtifactRequest,
  ): Promise<StoredAnswer> {
    return this.#refreshes.do(itemKey(kind, module, key), async () => {
      const answer = await this.#ask(request);
      let body: Uint8Array;
      let status: number;
      if (answer.found) {
        const what = describeRequest(request);
        let version = "";
        body = await this.#accept(what, async () => {
          const read = await readAll(answer, kind === "list" ? MAX_SMALL_BYTES : MAX_INFO, request);
          if (kind === "list") checkList(read, what);
          else version = checkInfo(read, what, null);
          return read;
        });
        status = 200;
        if (kind !== "list" && canonicalModuleVersion(version) === version) {
          await this.#storeInfoQuietly(module, version, body);
        }
      } else {
        const previous = this.#storedAnswer(kind, module, key);
        if (previous?.status === 200) {
          // Versions, once published, stay fetchable; an upstream that forgot them (or `off`)
          // must not make us forget them too.
          this.#stats.keptAnswers++;
          const kept = { ...previous, fetchedAt: this.#now() };
          await this.#putAnswerQuietly(kept);
          return kept;
        }
        body = encode(answer.message);
        status = answer.status;
      }
      const stored: StoredAnswer = { kind, module, key, status, body, fetchedAt: this.#now() };
      await this.#putAnswerQuietly(stored);
      return stored;
    });
  }

  // ---- immutable artifacts: canonical .info and .mod ----

  async #small(kind: "info" | "mod", module: string, version: string): Promise<Reply> {
    const notFound = this.#rememberedNotFound(kind, module, version);
    if (notFound) return notFoundReply(notFound);
    const stored = await this.#artifact(kind, module, version);
    if (stored?.data) return artifactReply(stored.meta, stored.data);
    const negative = await this.#freshestAnswer(kind, module, version);
    if (negative && this.#isFresh(negative)) return notFoundReply(negative);
    if (this.#options.storedOnly) return MISS;
    const request: ArtifactRequest = { kind, module, version };
    try {
      return await this.#fetches.do(itemKey(kind, module, version), async () => {
        // A fetch that finished while we looked for the artifact has stored it: ask the store
        // itself (our lookups above may have joined a read from before it was written).
        const storedNow = await this.#readSmall(kind, module, version);
        if (storedNow?.data) return artifactReply(storedNow.meta, storedNow.data);
        const answer = await this.#ask(request);
        if (!answer.found) return this.#rememberNotFound(kind, module, version, answer);
        const what = describeRequest(request);
        const body = await this.#accept(what, async () => {
          const read = await readAll(
            answer,
            kind === "mod" ? MAX_GO_MOD : MAX_INFO,
            request,
          );
          if (kind === "info") checkInfo(read, what, version);
          // Up to 16 MiB to parse when unframed: other requests go on meanwhile.
          else await checkGoModYielding(read, what, answer.unframed === true);
          return read;
        });
        // Hashed once: the stored copy's ETag is compared with it below.
        const etag = await strongEtag(body);
        let meta: ArtifactMeta;
        try {
          meta = await this.#store.putInline(module, version, kind, body, etag);
        } catch (error) {
          // A full disk must not stop a build the source can serve: answer now, store next time.
          this.#options.log.warn("store-failed", { module, version, kind, error: text(error) });
          return bytesReply(body, kind === "info" ? JSON_TYPE : TEXT, true);
        }
        // The bytes just checked: the stored copy is the same content (or one stored meanwhile).
        const data = meta.etag === etag ? body : this.#store.inlineData(module, version, kind)!;
        this.#items.set(itemKey(kind, module, version), { type: "artifact", meta, data });
        if (negative) await this.#forgetAnswer(kind, module, version);
        return artifactReply(meta, data);
      });
    } catch (error) {
      if (error instanceof RefusedError) return errorReply(error);
      if (negative) return notFoundReply(negative);
      // An .info made up from an intact stored .mod serves, even where a damaged copy was.
      if (kind === "info") {
        const synthesized = this.#offlineInfo(module, version);
        if (synthesized) {
          this.#stats.offlineAnswers++;
          return synthesized;
        }
      }
      const damaged = this.#damageNote(kind, module, version);
      if (damaged) return damagedReply(`${module}@${version}.${kind}`, damaged, error);
      return errorReply(error);
    }
  }

  /** An `.info` made up from a stored `.mod` when the source is unreachable. */
  #offlineInfo(module: string, version: string): Reply | undefined {
    if (!this.#store.artifact(module, version, "mod")) return undefined;
    const info: { Version: string; Time?: string } = { Version: version };
    if (isPseudoVersion(version)) {
      info.Time = pseudoVersionDate(version).toISOString().replace(/\.\d+Z$/, "Z");
    }
    return bytesReply(encode(JSON.stringify(info)), JSON_TYPE, false);
  }

  // ---- zips ----

  async #download(download: LiveDownload, module: string, version: string): Promise<void> {
    const request: ArtifactRequest = { kind: "zip", module, version };
    let blobId: number | undefined;
    try {
      const answer = await this.#ask(request);
      if (!answer.found) {
        download.start({
          type: "not-found",
          reply: await this.#rememberNotFound("zip", module, version, answer),
        });
        return;
      }
      if (answer.size !== null && answer.size > MAX_ZIP_FILE) {
        await answer.body.cancel();
        throw new ZipError(
          `${module}@${version}: zip of ${answer.size} bytes exceeds the 500 MiB limit`,
        );
      }
      // The first bytes tell a zip from a login page before any client is told "200".
      const reader = answer.body.getReader();
      const head: Uint8Array[] = [];
      let headBytes = 0;
      while (headBytes < 2) {
        const read = await reader.read();
        if (read.done) break;
        head.push(read.value);
        headBytes += read.value.byteLength;
      }
      try {
        checkZipStart(concatBytes(head), describeRequest(request));
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw error;
      }
      const pieces = readOn(head, reader);
      blobId = await this.#store.createBlob();
      // Clients hear "200" once a first chunk is stored (they read none before the second), so
      // a database that cannot take the zip (disk full, locked) is a clear 502/503 instead of
      // a broken transfer; a zip under one chunk is checked before anyone hears of it.
      let begun = false;
      const begin = (id: number) => {
        if (!begun) download.begin(id, this.#store.chunkSize, answer.size);
        begun = true;
      };
      const limit = answer.size ?? MAX_ZIP_FILE;
      const hash = createHash("sha256");
      const chunkSize = this.#store.chunkSize;
      let pending = new Uint8Array(chunkSize);
      let filled = 0;
      let total = 0;
      let seq = 0;
      for await (const piece of pieces) {
        total += piece.byteLength;
        // The piece, and the chunk buffer it is copied into, are garbage once stored.
        reclaimer.released(2 * piece.byteLength);
        if (total > limit) {
          throw answer.size === null
            ? new ZipError(`${module}@${version}: zip exceeds the 500 MiB limit`)
            : new SourceError(
              `${describeRequest(request)}: more bytes than the Content-Length ${answer.size}`,
            );
        }
        hash.update(piece);
        let offset = 0;
        while (offset < piece.byteLength) {
          const take = Math.min(chunkSize - filled, piece.byteLength - offset);
          pending.set(piece.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === chunkSize) {
            await this.#store.putChunk(blobId, seq++, pending);
            begin(blobId);
            download.wrote(seq);
            pending = new Uint8Array(chunkSize);
            filled = 0;
          }
        }
      }
      if (filled > 0) await this.#store.putChunk(blobId, seq++, pending.subarray(0, filled));
      if (answer.size !== null && total !== answer.size) {
        throw new SourceError(
          `${describeRequest(request)}: truncated: ${total} of ${answer.size} bytes arrived`,
        );
      }
      const stored = blobAccess(this.#store, blobId, total, chunkSize);
      const files = await checkModuleZip(stored, module, version);
      try {
        await checkZipContent(stored, files, { released: (bytes) => reclaimer.released(bytes) });
      } catch (error) {
        // Damaged on the way, most likely: not remembered as gone, asked for again next time.
        if (error instanceof ZipError) {
          throw new SourceError(`${describeRequest(request)}: damaged: ${error.message}`);
        }
        throw error;
      }
      const etag = etagFromDigest(hash.digest());
      const meta = await this.#store.commitBlob(module, version, "zip", blobId, total, etag);
      begin(blobId);
      if (meta.blobId !== blobId) {
        // Another process (the seed task) stored it meanwhile. The same bytes in the same
        // chunking: readers move on to its blob. Otherwise they break.
        if (meta.size !== total || meta.etag !== etag || meta.chunkSize !== chunkSize) {
          throw new SourceError(
            `${module}@${version}.zip was stored by another process meanwhile; retry`,
          );
        }
        download.blobId = meta.blobId!;
        // A replica may read ours until it hears of the move: the sweep takes it later.
        this.#store.abandonBlob(blobId);
      }
      blobId = undefined;
      this.#items.set(itemKey("zip", module, version), { type: "artifact", meta, data: null });
      if (this.#storedAnswer("zip", module, version)) {
        await this.#forgetAnswer("zip", module, version);
      }
      download.finish(meta, seq);
      this.#options.log.info("stored", { module, version, kind: "zip", bytes: total });
    } catch (error) {
      if (blobId !== undefined) await this.#store.discardBlob(blobId).catch(() => {});
      if (error instanceof ZipError) {
        this.#options.log.warn("zip-refused", { module, version, error: error.message });
        const reply = await this.#rememberNotFound("zip", module, version, {
          status: 410,
          message: `not found: ${error.message}`,
        });
        download.refuse(reply);
        download.fail(error);
        return;
      }
      this.#options.log.warn("download-failed", { module, version, error: text(error) });
      download.start({ type: "error", error });
      download.fail(error);
    }
  }

  /**
   * A replica's zip that is not stored: the primary downloads it, and this
   * isolate streams it from the shared database as the chunks land, as the
   * primary's own clients get it; no zip bytes cross between isolates.
   */
  async #zipFromPrimary(module: string, version: string): Promise<Reply> {
    const primaryZip = this.#options.primaryZip;
    if (!primaryZip) return MISS;
    const key = itemKey("zip", module, version);
    let download = this.#live.get(key);
    if (!download) {
      const following = new LiveDownload((blobId, seq) => this.#readChunk(blobId, seq));
      download = following;
      this.#live.set(key, following);
      following.finished.finally(() => this.#live.delete(key));
      const onProgress = (progress: DownloadProgress) =>
        following.follow(
          progress,
          progress.done ? this.#store.artifact(module, version, "zip") : undefined,
        );
      const outcome: PrimaryZip = await primaryZip(module, version, onProgress)
        .catch(() => ({ type: "other" }));
      if (outcome.type !== "live") {
        const error = new Error(`${module}@${version}.zip: the primary did not download it`);
        following.start({ type: "error", error });
        following.fail(error);
        if (outcome.type === "answer") return outcome.reply;
        if (outcome.type === "stored") {
          const meta = this.#store.artifact(module, version, "zip");
          if (meta) return { type: "stored-zip", meta };
        }
        return MISS;
      }
    }
    const started = await download.started;
    return started.type === "found" && download.size !== null
      ? { type: "live-zip", download }
      : MISS;
  }

  /** A download failed: a remembered not-found (even stale) beats an error, not a refusal. */
  #failed(
    error: unknown,
    negative: StoredAnswer | undefined,
    module: string,
    version: string,
  ): Reply {
    if (negative && !(error instanceof RefusedError)) return notFoundReply(negative);
    const damaged = this.#damageNote("zip", module, version);
    if (damaged && !(error instanceof RefusedError)) {
      return damagedReply(`${module}@${version}.zip`, damaged, error);
    }
    return errorReply(error);
  }

  // ---- helpers ----

  #source(module: string): ModuleSource {
    const privateModules = this.#options.privateModules;
    if (privateModules && matchPrefixPatterns(privateModules.patterns, module)) {
      return privateModules.source;
    }
    return this.#options.upstream;
  }

  /** Reads and checks a found answer; one refused (cut short, not what was asked) is logged. */
  async #accept<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.#options.log.warn("answer-refused", { request: what, error: text(error) });
      if (isObject(error)) this.#told.add(error);
      throw error;
    }
  }

  /**
   * Asks the upstream, telling its outages once (see {@linkcode UpstreamWatch}) and a
   * refusal (400, 403, 451: a module blocked by a corporate proxy) once per request.
   */
  async #watched<T>(what: string, ask: () => Promise<T>): Promise<T> {
    try {
      const answer = await ask();
      this.#upstreamWatch.answered();
      return answer;
    } catch (error) {
      if (error instanceof RefusedError) {
        this.#upstreamWatch.answered();
        this.#options.log.warn("upstream-refused", { request: what, status: error.status });
      } else this.#upstreamWatch.failed(what, text(error));
      if (isObject(error)) this.#told.add(error);
      throw error;
    }
  }

  async #ask(request: ArtifactRequest): Promise<SourceAnswer> {
    this.#stats.sourceFetches++;
    const started = this.#now();
    const source = this.#source(request.module);
    const what = describeRequest(request);
    let answer: SourceAnswer;
    if (source === this.#options.upstream) {
      answer = await this.#watched(what, () => source.fetch(request));
    } else {
      try {
        answer = await source.fetch(request);
      } catch (error) {
        this.#options.log.warn("fetch-failed", { request: what, error: text(error) });
        if (isObject(error)) this.#told.add(error);
        throw error;
      }
    }
    this.#options.log.info("fetched", {
      request: what,
      status: answer.found ? 200 : answer.status,
      ms: this.#now() - started,
    });
    return answer;
  }

  async #artifact(
    kind: ArtifactKind,
    module: string,
    version: string,
  ): Promise<{ meta: ArtifactMeta; data: Uint8Array | null } | undefined> {
    const item = await this.#items.load(itemKey(kind, module, version), async () => {
      const stored = await this.#readSmall(kind, module, version);
      return stored && { type: "artifact", ...stored } as const;
    });
    return item?.type === "artifact" ? item : undefined;
  }

  /**
   * An artifact as stored, its content too when it is inline; undefined when
   * it is not stored, or was found damaged (and removed), or the database
   * cannot be read: then the source is asked instead.
   */
  async #readSmall(
    kind: ArtifactKind,
    module: string,
    version: string,
  ): Promise<{ meta: ArtifactMeta; data: Uint8Array | null } | undefined> {
    let meta: ArtifactMeta | undefined;
    try {
      meta = this.#store.artifact(module, version, kind);
      if (!meta) return undefined;
      if (meta.blobId !== null) {
        return this.#firstChunkRead(meta) ? { meta, data: null } : undefined;
      }
      return { meta, data: this.#store.inlineData(module, version, kind) ?? null };
    } catch (error) {
      if (meta) await this.#damagedRead(meta, error);
      else if (isDatabaseCorrupt(error)) this.#storeDamaged(`${module}@${version}.${kind}`, error);
      else throw error;
      return undefined;
    }
  }

  /**
   * Whether the first chunk of a stored zip is there (a damaged one throws
   * {@linkcode StoredDamageError}). Checked once, as its metadata is read from
   * the database, before anyone hears "200": that covers all of a zip of one
   * chunk; later chunks are checked as they are read. Read past the chunk cache:
   * a HEAD, a range or a 304 never sends it.
   */
  #firstChunkRead(meta: ArtifactMeta): boolean {
    const chunk = this.#store.chunk(meta.blobId!, 0);
    reclaimer.released(chunk?.byteLength ?? 0);
    // Removed meanwhile (by `deno task verify --repair`, or another isolate): not stored.
    return chunk !== undefined;
  }

  async #answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    const item = await this.#items.load(answerKey(kind, module, key), () => {
      const answer = this.#storedAnswer(kind, module, key);
      return Promise.resolve(answer ? { type: "answer", answer } as const : undefined);
    });
    return item?.type === "answer" ? item.answer : undefined;
  }

  /**
   * The stored answer, as cached in memory; in a replica, a stale one is read
   * again from the database, where the primary may have refreshed it.
   */
  async #freshestAnswer(
    kind: string,
    module: string,
    key: string,
  ): Promise<StoredAnswer | undefined> {
    const answer = await this.#answer(kind, module, key);
    if (!answer || !this.#options.storedOnly || this.#isFresh(answer)) return answer;
    const reread = this.#storedAnswer(kind, module, key);
    if (reread) this.#items.set(answerKey(kind, module, key), { type: "answer", answer: reread });
    return reread;
  }

  /**
   * A stored answer read from the database; one found damaged is logged and
   * removed (to be fetched again), as is an unreadable database file.
   */
  #storedAnswer(kind: string, module: string, key: string): StoredAnswer | undefined {
    try {
      return this.#store.answer(kind, module, key);
    } catch (error) {
      if (isDatabaseCorrupt(error)) {
        this.#storeDamaged(`${kind} ${module} ${key}`, error);
        return undefined;
      }
      if (!(error instanceof StoredDamageError)) throw error;
      this.#options.log.warn("stored-damaged", { module, kind, key, error: error.message });
      this.#items.delete(answerKey(kind, module, key));
      this.#track(this.#store.deleteAnswer(kind, module, key).catch(() => {}));
      return undefined;
    }
  }

  #isFresh(answer: StoredAnswer): boolean {
    const ttl = answer.status === 200 ? this.#options.freshMs : this.#options.negativeMs;
    return isYoung(answer.fetchedAt, ttl, this.#now());
  }

  async #rememberNotFound(
    kind: string,
    module: string,
    key: string,
    answer: { status: 404 | 410; message: string },
  ): Promise<Reply> {
    const stored: StoredAnswer = {
      kind,
      module,
      key,
      status: answer.status,
      body: encode(answer.message),
      fetchedAt: this.#now(),
    };
    await this.#putAnswerQuietly(stored);
    return notFoundReply(stored);
  }

  async #putAnswerQuietly(answer: StoredAnswer): Promise<void> {
    this.#items.set(answerKey(answer.kind, answer.module, answer.key), { type: "answer", answer });
    try {
      await this.#store.putAnswer(answer);
    } catch (error) {
      this.#options.log.warn("store-failed", {
        module: answer.module,
        kind: answer.kind,
        error: text(error),
      });
    }
  }

  async #storeInfoQuietly(module: string, version: string, body: Uint8Array): Promise<void> {
    try {
      // Inside the try: a database that cannot be read must not turn the upstream's 200 into an error.
      if (this.#store.artifact(module, version, "info")) return;
      await this.#store.putInline(module, version, "info", body);
    } catch (error) {
      this.#options.log.warn("store-failed", { module, version, kind: "info", error: text(error) });
    }
  }

  async #forgetAnswer(kind: string, module: string, key: string): Promise<void> {
    this.#items.delete(answerKey(kind, module, key));
    await this.#store.deleteAnswer(kind, module, key).catch(() => {});
  }

  #track(promise: Promise<unknown>): void {
    this.#background.add(promise);
    promise.finally(() => this.#background.delete(promise)).catch(() => {});
  }
}

/**
 * A zip being downloaded: the chunks stored so far can be read by any number
 * of clients while the rest arrives. The last chunk is held back until the
 * whole zip has been checked, so a client never receives the complete bytes
 * of a download that then turns out truncated or invalid.
 */
export class LiveDownload {
  /** Resolves once the source has answered. */
  readonly started: Promise<
    | { type: "found" }
    | { type: "not-found"; reply: Reply }
    | { type: "error"; error: unknown }
  >;
  /** Resolves with the stored artifact, or undefined if the download failed. */
  readonly finished: Promise<ArtifactMeta | undefined>;
  blobId = 0;
  chunkSize = 0;
  size: number | null = null;
  failure: unknown;
  /** The not-found answer of a zip refused by the zip rules, even after it began. */
  refusal: Reply | undefined;
  #readChunk: (blobId: number, seq: number) => Promise<Uint8Array | undefined>;
  #readable = 0;
  #done = false;
  #resolveStarted!: (value: Awaited<LiveDownload["started"]>) => void;
  #resolveFinished!: (meta: ArtifactMeta | undefined) => void;
  #waiters = new Set<() => void>();
  #watchers = new Set<() => void>();

  constructor(readChunk: (blobId: number, seq: number) => Promise<Uint8Array | undefined>) {
    this.#readChunk = readChunk;
    this.started = new Promise((resolve) => this.#resolveStarted = resolve);
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
  }

  /** The source answered 200 and a blob was created. */
  begin(blobId: number, chunkSize: number, size: number | null): void {
    this.blobId = blobId;
    this.chunkSize = chunkSize;
    this.size = size;
    this.#resolveStarted({ type: "found" });
  }

  /** Resolves `started` with an answer other than found (first call wins). */
  start(value: Awaited<LiveDownload["started"]>): void {
    this.#resolveStarted(value);
  }

  /**
   * The zip breaks the zip rules: clients still waiting for an answer get
   * `reply` (a 410), whether or not the download had begun.
   */
  refuse(reply: Reply): void {
    this.refusal = reply;
    this.start({ type: "not-found", reply });
  }

  /** Where the download stands, for a replica following it. */
  progress(): DownloadProgress {
    const progress: DownloadProgress = {
      blobId: this.blobId,
      chunkSize: this.chunkSize,
      size: this.size,
      readable: this.#readable,
      done: this.#done,
    };
    if (this.failure !== undefined) {
      progress.failure = this.failure instanceof Error
        ? this.failure.message
        : String(this.failure);
    }
    return progress;
  }

  /** Calls `listener` after each change until the download is done. */
  watch(listener: () => void): void {
    this.#watchers.add(listener);
  }

  /**
   * Follows a download another isolate runs, from its {@linkcode progress};
   * `meta` is the stored artifact once it is done.
   */
  follow(progress: DownloadProgress, meta?: ArtifactMeta): void {
    if (this.#done) return;
    if (this.size === null && progress.size !== null) {
      this.begin(progress.blobId, progress.chunkSize, progress.size);
    }
    this.blobId = progress.blobId;
    if (progress.failure !== undefined) {
      this.fail(new Error(progress.failure));
    } else if (progress.done && meta) {
      this.finish(meta, progress.readable);
    } else if (progress.done) {
      this.fail(new Error("the download ended but the zip is not stored"));
    } else {
      this.#readable = progress.readable;
      this.#wake();
    }
  }

  /** `written` chunks are stored; all but the last may be read. */
  wrote(written: number): void {
    this.#readable = Math.max(0, written - 1);
    this.#wake();
  }

  /** The zip is stored and checked: every chunk may be read. */
  finish(meta: ArtifactMeta, chunks: number): void {
    this.#readable = chunks;
    this.#done = true;
    this.#resolveFinished(meta);
    this.#wake();
  }

  /** The download failed: readers error out, and their clients see a broken transfer. */
  fail(error: unknown): void {
    this.failure = error;
    this.#done = true;
    this.#resolveFinished(undefined);
    this.#wake();
  }

  /** A stream of the whole zip that follows the download. */
  open(): ReadableStream<Uint8Array> {
    let seq = 0;
    let cancelled = false;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (!cancelled) {
          if (this.failure !== undefined) {
            controller.error(this.failure);
            return;
          }
          if (seq < this.#readable) {
            const chunk = await this.#readChunk(this.blobId, seq);
            if (!chunk) {
              controller.error(new Error(`chunk ${seq} vanished during download`));
              return;
            }
            seq++;
            controller.enqueue(chunk);
            return;
          }
          if (this.#done) {
            controller.close();
            return;
          }
          await new Promise<void>((resolve) => this.#waiters.add(resolve));
        }
      },
      cancel: () => {
        cancelled = true;
      },
    });
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
    for (const watcher of this.#watchers) watcher();
    if (this.#done) this.#watchers.clear();
  }
}

/**
 * The check of a zip stored before chunks had digests, read whole: its
 * SHA-256 against its ETag, done before the last chunk goes out. The chunks'
 * digests are collected on the way, to be kept once the whole matched.
 */
class WholeCheck {
  #meta: ArtifactMeta;
  #hash = createHash("sha256");
  readonly digests: Uint8Array[] = [];
  checked = false;

  constructor(meta: ArtifactMeta) {
    this.#meta = meta;
  }

  /** Adds the next chunk (in order); at the last, throws if the whole does not match. */
  add(chunk: Uint8Array, last: boolean): void {
    this.#hash.update(chunk);
    this.digests.push(sha256(chunk));
    if (!last) return;
    const etag = etagFromDigest(this.#hash.digest());
    if (etag !== this.#meta.etag) {
      throw new StoredDamageError(`stored copy hashes to ${etag}, not its ETag ${this.#meta.etag}`);
    }
    this.checked = true;
  }
}

/**
 * Random access over a stored (possibly still pending) blob, for zip checks.
 * The last chunk read is kept: reading a zip through asks for each chunk in
 * many small pieces.
 */
function blobAccess(store: Store, blobId: number, size: number, chunkSize: number): RandomAccess {
  let lastSeq = -1;
  let last: Uint8Array | undefined;
  const chunkAt = (seq: number): Uint8Array | undefined => {
    if (seq !== lastSeq) {
      last = store.chunk(blobId, seq);
      lastSeq = seq;
      if (last) reclaimer.released(last.byteLength);
    }
    return last;
  };
  return {
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      let position = offset;
      while (position < end) {
        const seq = Math.floor(position / chunkSize);
        const chunk = chunkAt(seq);
        if (!chunk) return Promise.reject(new ZipError(`chunk ${seq} missing while checking zip`));
        const from = position - seq * chunkSize;
        const to = Math.min(chunk.byteLength, end - seq * chunkSize);
        out.set(chunk.subarray(from, to), position - offset);
        position += to - from;
      }
      return Promise.resolve(out);
    },
  };
}

/** Reads a small body whole, refusing more than `limit` or fewer bytes than announced. */
async function readAll(
  answer: Extract<SourceAnswer, { found: true }>,
  limit: number,
  request: ArtifactRequest | string,
): Promise<Uint8Array> {
  const what = typeof request === "string" ? request : describeRequest(request);
  if (answer.size !== null && answer.size > limit) {
    await answer.body.cancel();
    throw new SourceError(
      `${what}: ${answer.size} bytes exceeds the limit of ${limit}`,
    );
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of answer.body) {
    total += part.byteLength;
    if (total > limit) {
      throw new SourceError(`${what}: body exceeds the limit of ${limit}`);
    }
    parts.push(part);
  }
  if (answer.size !== null && total !== answer.size) {
    throw new SourceError(
      `${what}: truncated: ${total} of ${answer.size} bytes arrived`,
    );
  }
  return concatBytes(parts);
}

/** Whether `version` fits the major version of `module`'s path, as x/mod's `module.Check` asks. */
function fitsPath(module: string, version: string): boolean {
  try {
    return matchPathMajor(version, splitPathVersion(module).pathMajor);
  } catch {
    return false;
  }
}

/** The pieces already read, then the rest of the stream; stopping early cancels it. */
async function* readOn(
  first: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let done = false;
  try {
    yield* first;
    for (;;) {
      const read = await reader.read();
      if (read.done) {
        done = true;
        return;
      }
      yield read.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}

function itemKey(kind: string, module: string, version: string): string {
  return `artifact\0${kind}\0${module}\0${version}`;
}

function answerKey(kind: string, module: string, key: string): string {
  return `answer\0${kind}\0${module}\0${key}`;
}

function answerReply(answer: StoredAnswer): Answer {
  if (answer.status !== 200) return notFoundReply(answer);
  return bytesReply(answer.body, answer.kind === "list" ? TEXT : JSON_TYPE, false);
}

function sumdbReply(answer: StoredAnswer): Reply {
  if (answer.status !== 200) return notFoundReply(answer);
  const immutable = answer.key.startsWith("lookup/") || answer.key.startsWith("tile/");
  const type = answer.key.startsWith("tile/") ? "application/octet-stream" : TEXT;
  return bytesReply(answer.body, type, immutable);
}

function artifactReply(meta: ArtifactMeta, data: Uint8Array): Answer {
  return {
    type: "bytes",
    bytes: data,
    contentType: meta.kind === "info" ? JSON_TYPE : TEXT,
    immutable: true,
    etag: meta.etag,
  };
}

function bytesReply(bytes: Uint8Array, contentType: string, immutable: boolean): Answer {
  return { type: "bytes", bytes, contentType, immutable };
}

function notFoundReply(answer: StoredAnswer): Answer {
  return {
    type: "not-found",
    status: answer.status === 410 ? 410 : 404,
    message: new TextDecoder().decode(answer.body),
  };
}

function nonCanonical(module: string, version: string): Reply {
  return {
    type: "not-found",
    status: 404,
    message:
      `not found: ${module}@${version}: .mod and .zip are served for canonical versions only`,
  };
}

function describeMeta(meta: ArtifactMeta): string {
  return `${meta.module}@${meta.version}.${meta.kind}`;
}

/** A stored copy was removed as damaged, and the source could not give it again. */
function damagedReply(what: string, damage: string, error: unknown): Reply {
  return {
    type: "error",
    status: 502,
    message: `${what}: the stored copy is damaged (${damage}) and was removed; ` +
      `fetching it again failed: ${text(error)}`,
  };
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function errorReply(error: unknown): Reply {
  if (error instanceof RefusedError) {
    return { type: "error", status: error.status, message: error.detail };
  }
  if (error instanceof SourceError) return { type: "error", status: 502, message: error.message };
  if (error instanceof Error && error.name === "StoreBusyError") {
    return { type: "error", status: 503, message: `database busy: ${error.message}` };
  }
  if (isDatabaseCorrupt(error)) {
    return {
      type: "error",
      status: 503,
      message: `database damaged: ${text(error)}; ${REPAIR_ADVICE}`,
    };
  }
  return { type: "error", status: 502, message: text(error) };
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
