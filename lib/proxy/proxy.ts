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
 *   clients read the chunks already stored (`zip_download.ts`,
 *   `live_download.ts`); memory stays bounded by the chunk size, whatever the
 *   zip size.
 *
 * Everything that touches the store or a source goes through single-flight.
 * The memory layer (`memory.ts`) stands between this policy and the store; a
 * stored copy found damaged is removed there and fetched again, never served.
 *
 * @module
 */
import { checkGoModYielding, checkInfo, MAX_INFO } from "../goproxy/answer_check.ts";
import { matchPathMajor, splitPathVersion } from "../mod/module.ts";
import { canonicalModuleVersion } from "../mod/semver.ts";
import { MAX_GO_MOD } from "../mod/zip.ts";
import { type ArtifactRequest, describeRequest, RefusedError } from "../sources/source.ts";
import {
  type ArtifactMeta,
  type Store,
  type StoredAnswer,
  type StoreSize,
  strongEtag,
} from "../store/mod.ts";
import { errorText } from "../util/errors.ts";
import { holdServedZip } from "./budget.ts";
import { type FetchStart, fetchStart } from "./fetch_start.ts";
import { Fetcher, readAll } from "./fetcher.ts";
import { LeasedFlight } from "./leased_flight.ts";
import { type FollowParts, followPrimary, LiveDownload } from "./live_download.ts";
import { itemKey, ProxyMemory } from "./memory.ts";
import { offlineChangeable, offlineInfo } from "./offline.ts";
import type { Ask } from "./ask_report.ts";
import { Prefetcher } from "./prefetch.ts";
import type { ModuleProxyOptions } from "./proxy_options.ts";
import { assembleStats, newProxyStats, type ProxyStats } from "./proxy_stats.ts";
import { type ChangeableKind, refreshAnswer, type RefreshParts } from "./refresh.ts";
import {
  type Answer,
  answerReply,
  artifactReply,
  bytesReply,
  damagedReply,
  errorReply,
  JSON_TYPE,
  nonCanonical,
  notFoundReply,
  type Reply,
  TEXT,
} from "./reply.ts";
import { type FlightGroup, SingleFlight } from "./single_flight.ts";
import { openStoredZip } from "./stored_zip.ts";
import { SumdbPassThrough } from "./sumdb.ts";
import { leasedZipDownload, startZipDownload, type ZipStartParts } from "./zip_start.ts";

// Kept importable from here, where they were first defined.
export type { ModuleProxyOptions } from "./proxy_options.ts";
export type { ProxyStats } from "./proxy_stats.ts";

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
  #memory: ProxyMemory;
  #fetcher: Fetcher;
  #sumdb: SumdbPassThrough;
  #zipStart: ZipStartParts;
  #refreshParts: RefreshParts;
  #followParts: FollowParts;
  #start: FetchStart;
  /** Fetches of `.info` and `.mod`. */
  #fetches: FlightGroup<Reply>;
  /** Refreshes of stored answers (`list`, `@latest`, queries, checksum database). */
  #refreshes: FlightGroup<StoredAnswer>;
  #live = new Map<string, LiveDownload>();
  /** Zip downloads waiting for their lease across instances, one per zip. */
  #zipLeases = new SingleFlight<LiveDownload | ArtifactMeta>();
  /** Prefetching along the module graph; hooks marked `prefetch:` below. */
  #prefetch: Prefetcher | undefined;
  #background = new Set<Promise<unknown>>();
  #stats: ProxyStats = newProxyStats();

  constructor(options: ModuleProxyOptions) {
    this.#options = options;
    this.#store = options.store;
    const now = this.#now = options.now ?? Date.now;
    const { store, log, upstream, privateModules, storedOnly } = options;
    // A store shared by several instances leases each fetch, so that one instance fetches it.
    const leases = store.leases;
    const flightGroup = options.flightGroup ??
      (leases ? <T>() => new LeasedFlight<T>(leases) : <T>() => new SingleFlight<T>());
    this.#fetches = flightGroup<Reply>();
    this.#refreshes = flightGroup<StoredAnswer>();
    this.#memory = new ProxyMemory({
      store,
      log,
      cacheBytes: options.cacheBytes,
      cacheTtlMs: options.cacheTtlMs,
      freshMs: options.freshMs,
      negativeMs: options.negativeMs,
      now,
      track: (promise) => this.#track(promise),
    });
    // The one decision between a primary and a replica (see fetch_start.ts).
    this.#start = fetchStart(storedOnly ?? false, this.#memory);
    this.#fetcher = new Fetcher({ upstream, privateModules, log, now, counts: this.#stats });
    this.#sumdb = new SumdbPassThrough({
      upstream,
      privateModules,
      memory: this.#memory,
      fetcher: this.#fetcher,
      refreshes: this.#refreshes,
      start: this.#start,
      now,
      counts: this.#stats,
    });
    this.#zipStart = {
      zipParts: { store, memory: this.#memory, fetcher: this.#fetcher, log },
      live: this.#live,
      counts: this.#stats,
      track: (promise) => this.#track(promise),
      // prefetch: counted
      started: (module, version, finished) =>
        this.#prefetch?.zipDownload(module, version, finished),
    };
    this.#refreshParts = {
      store,
      memory: this.#memory,
      fetcher: this.#fetcher,
      refreshes: this.#refreshes,
      now,
      counts: this.#stats,
    };
    this.#prefetch = this.#prefetcher(options);
    this.#followParts = {
      store,
      memory: this.#memory,
      live: this.#live,
      primaryZip: options.primaryZip,
    };
  }

  /** Prefetching, only where fetching happens (a replica forwards what it has not stored). */
  #prefetcher(options: ModuleProxyOptions): Prefetcher | undefined {
    if (!options.prefetch || options.storedOnly) return undefined;
    const fetcher = this.#fetcher;
    return new Prefetcher({
      // A prefetch is not a client: it neither pins the zip nor counts as served.
      target: {
        info: (module, version) => this.info(module, version),
        mod: (module, version) => this.mod(module, version),
        zip: (module, version) => this.#zip(module, version),
      },
      concurrency: options.prefetch.concurrency,
      now: this.#now,
      log: options.log,
      clientFetches: () => fetcher.clientAsks,
      upstreamDown: () => fetcher.upstreamDown,
      shouldPausePrefetch: options.shouldPausePrefetch,
      track: (promise) => this.#track(promise),
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
      const answer = this.#memory.peekAnswer(kind, module, "");
      if (!answer || !this.#memory.isFresh(answer)) return undefined;
      this.#prefetch?.clientListed(module); // prefetch: a version check, not the graph
      this.#options.reportAsk?.("list", module, "", answer);
      return answerReply(answer);
    }
    // Only canonical versions are ever cached under an item key.
    const stored = this.#memory.peekArtifact(kind, module, version);
    if (stored?.data) {
      this.#prefetch?.clientAsked(kind, module, version, stored); // prefetch: a hit, or the walk goes on
      this.#options.reportAsk?.(kind, module, version, stored);
      return artifactReply(stored.meta, stored.data);
    }
    const notFound = this.#memory.rememberedNotFound(kind, module, version);
    return notFound ? notFoundReply(notFound) : undefined;
  }

  /**
   * A replica isolate's clients asked these, and it answered them itself:
   * prefetching hears them as it hears asks here (see `ask_report.ts`).
   */
  replicaAsked(asks: readonly Ask[]): void {
    this.#prefetch?.replicaAsked(asks);
  }

  /** `GET <module>/@v/list` */
  list(module: string): Promise<Reply> {
    return this.#versionCheck("list", module);
  }

  /** `GET <module>/@latest` */
  latest(module: string): Promise<Reply> {
    return this.#versionCheck("latest", module);
  }

  /** `list` or `@latest`: told to prefetching (here, or by a replica that answered it itself). */
  async #versionCheck(kind: "list" | "latest", module: string): Promise<Reply> {
    this.#prefetch?.clientListed(module); // prefetch: a version check, not the graph
    const reply = await this.#changeable(kind, module, "", { kind, module });
    if (reply.type !== "miss") this.#options.reportAsk?.("list", module, "");
    return reply;
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
    this.#prefetch?.clientAsked("info", module, version); // prefetch: the zip follows
    return this.#small("info", module, version);
  }

  /** `GET <module>/@v/<version>.mod` */
  mod(module: string, version: string): Promise<Reply> {
    if (canonicalModuleVersion(version) !== version) {
      return Promise.resolve(nonCanonical(module, version));
    }
    this.#prefetch?.clientAsked("mod", module, version); // prefetch: the walk goes on
    return this.#small("mod", module, version);
  }

  /**
   * `GET <module>/@v/<version>.zip`. Under a disk budget the zip stays
   * pinned until the reply's `release` (once sent), and its hit is counted.
   */
  async zip(module: string, version: string): Promise<Reply> {
    const reply = await this.#zip(module, version);
    const budget = this.#options.budget;
    if (!budget || (reply.type !== "stored-zip" && reply.type !== "live-zip")) return reply;
    const stored = () => this.#store.artifact(module, version, "zip").then((meta) => meta?.blobId);
    const held = await holdServedZip(budget, module, version, reply, stored);
    if (held) return held;
    // Evicted between the lookup and the pin: fetched again, as if never stored.
    this.#memory.dropArtifact("zip", module, version);
    return this.zip(module, version);
  }

  /**
   * The zip as {@linkcode zip} gives it, without the disk budget's pin and
   * hit: for a replica's question (`shared_zip.ts`), since the replica pins
   * and counts the zip it serves itself.
   */
  zipForReplica(module: string, version: string): Promise<Reply> {
    return this.#zip(module, version);
  }

  async #zip(module: string, version: string): Promise<Reply> {
    if (canonicalModuleVersion(version) !== version) return nonCanonical(module, version);
    this.#prefetch?.clientAsked("zip", module, version); // prefetch: the build has begun
    const notFound = this.#memory.rememberedNotFound("zip", module, version);
    if (notFound) return notFoundReply(notFound);
    // readSmall checked its first chunk: a stored zip is whole as far as anyone hears "200".
    const stored = await this.#memory.artifact("zip", module, version);
    if (stored) {
      this.#options.reportAsk?.("zip", module, version, stored);
      return { type: "stored-zip", meta: stored.meta };
    }
    const negative = await this.#memory.answer("zip", module, version);
    if (negative && this.#memory.isFresh(negative)) return notFoundReply(negative);
    return this.#start(
      { kind: "zip", module, key: version, stale: negative, serve: this.#freshNotFound },
      () => this.#download(module, version, negative),
      () => followPrimary(this.#followParts, module, version),
    );
  }

  /** The zip from its source, or joining its download under way. */
  async #download(
    module: string,
    version: string,
    negative: StoredAnswer | undefined,
  ): Promise<Reply> {
    const key = itemKey("zip", module, version);
    let download = this.#live.get(key);
    if (!download) {
      // A download that finished while we looked has stored the zip (see #fetchSmall).
      const meta = await this.#store.artifact(module, version, "zip");
      if (meta) return { type: "stored-zip", meta };
      // One may have started while we asked the store.
      download = this.#live.get(key);
    }
    if (!download && this.#store.leases) {
      const started = await this.#zipLeases.do(
        key,
        () => leasedZipDownload(this.#zipStart, module, version),
      );
      if (started instanceof LiveDownload) download = started;
      else return { type: "stored-zip", meta: started };
    }
    download ??= startZipDownload(this.#zipStart, module, version);
    const started = await download.started;
    if (started.type === "found") {
      if (download.size !== null) return { type: "live-zip", download };
      // Without a Content-Length we cannot promise one, so wait for the stored zip.
      const meta = await download.finished;
      if (meta) return { type: "stored-zip", meta };
      // Nobody has been told "200" yet, so a refusal found on the way is still a 410.
      return download.refusal ?? await this.#failed(download.failure, negative, module, version);
    }
    if (started.type === "not-found") return started.reply;
    return await this.#failed(started.error, negative, module, version);
  }

  /**
   * A stream of `[start, end)` of a stored zip, chunk by chunk through the
   * memory cache (see `stored_zip.ts`).
   */
  openStoredZip(meta: ArtifactMeta, start: number, end: number): ReadableStream<Uint8Array> {
    return openStoredZip(this.#memory, (promise) => this.#track(promise), meta, start, end);
  }

  /**
   * `GET /sumdb/<name>/<key>`: the checksum database through the upstream,
   * `key` as `route.ts` parsed it (see `sumdb.ts`).
   */
  sumdb(name: string, key: string, module?: string): Promise<Reply> {
    return this.#sumdb.answer(name, key, module);
  }

  /** Counters, for `/_astera/stats`. */
  stats(): Record<string, unknown> {
    return assembleStats({
      counts: this.#stats,
      coalesced: this.#fetches.stats().coalesced,
      prefetch: this.#prefetch?.stats(),
      fetcher: this.#fetcher,
      store: this.#store,
      memory: this.#memory,
      budget: this.#options.budget?.stats?.(),
    });
  }

  /** The database's size (one file for every isolate, so not part of {@linkcode stats}). */
  databaseSize(): Promise<StoreSize> {
    return this.#store.size();
  }

  /** Stops prefetching for good (shutdown): what is queued is dropped. */
  stopPrefetching(): void {
    this.#prefetch?.stop();
  }

  /** Waits for background work (refreshes, downloads, prefetches) to settle, for shutdown. */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // ---- answers that may change: list, @latest, query .info ----

  async #changeable(
    kind: ChangeableKind,
    module: string,
    key: string,
    request: ArtifactRequest,
  ): Promise<Reply> {
    const stored = await this.#memory.answer(kind, module, key);
    if (stored && this.#memory.isFresh(stored)) return answerReply(stored);
    const serve = (answer: StoredAnswer) =>
      this.#memory.isFresh(answer) ? answerReply(answer) : undefined;
    return this.#start(
      { kind, module, key, stale: stored, serve },
      () => this.#refreshOrStale(kind, module, key, request, stored),
    );
  }

  /**
   * A stale stored answer serves while a background refresh runs; without
   * one, the source answers now (or, when it fails, what is cached offline).
   */
  async #refreshOrStale(
    kind: ChangeableKind,
    module: string,
    key: string,
    request: ArtifactRequest,
    stale: StoredAnswer | undefined,
  ): Promise<Reply> {
    if (stale) {
      this.#stats.backgroundRefreshes++;
      this.#track(
        this.#refresh(kind, module, key, request).catch((error) => {
          this.#stats.refreshFailures++;
          // Most failures were told where they happened (an unreachable upstream once per
          // outage, a refused answer, a git failure); only the rest get a line here.
          if (this.#fetcher.told(error)) return;
          this.#options.log.warn("refresh-failed", {
            request: describeRequest(request),
            error: errorText(error),
          });
        }),
      );
      return answerReply(stale);
    }
    try {
      return answerReply(await this.#refresh(kind, module, key, request));
    } catch (error) {
      return await offlineChangeable(this.#store, this.#stats, kind, module, error);
    }
  }

  #refresh(
    kind: ChangeableKind,
    module: string,
    key: string,
    request: ArtifactRequest,
  ): Promise<StoredAnswer> {
    return refreshAnswer(this.#refreshParts, kind, module, key, request);
  }

  // ---- immutable artifacts: canonical .info and .mod ----

  async #small(kind: "info" | "mod", module: string, version: string): Promise<Reply> {
    const notFound = this.#memory.rememberedNotFound(kind, module, version);
    if (notFound) return notFoundReply(notFound);
    const stored = await this.#memory.artifact(kind, module, version);
    if (stored?.data) {
      this.#options.reportAsk?.(kind, module, version, stored);
      return artifactReply(stored.meta, stored.data);
    }
    const negative = await this.#memory.answer(kind, module, version);
    if (negative && this.#memory.isFresh(negative)) return notFoundReply(negative);
    return this.#start(
      { kind, module, key: version, stale: negative, serve: this.#freshNotFound },
      () => this.#fetchSmallOr(kind, module, version, negative),
    );
  }

  /** Fetches an `.info` or `.mod`; when that fails, what can be served offline. */
  async #fetchSmallOr(
    kind: "info" | "mod",
    module: string,
    version: string,
    negative: StoredAnswer | undefined,
  ): Promise<Reply> {
    try {
      return await this.#fetches.do(
        itemKey(kind, module, version),
        () => this.#fetchSmall(kind, module, version, negative),
      );
    } catch (error) {
      if (error instanceof RefusedError) return errorReply(error);
      if (negative) return notFoundReply(negative);
      // An .info made up from an intact stored .mod serves, even where a damaged copy was.
      if (kind === "info") {
        const synthesized = await offlineInfo(this.#store, module, version);
        if (synthesized) {
          this.#stats.offlineAnswers++;
          return synthesized;
        }
      }
      const damaged = await this.#memory.damageNote(kind, module, version);
      if (damaged) return damagedReply(`${module}@${version}.${kind}`, damaged, error);
      return errorReply(error);
    }
  }

  /** Fetches an `.info` or `.mod`, checks it and stores it (`negative`: a stale not-found). */
  async #fetchSmall(
    kind: "info" | "mod",
    module: string,
    version: string,
    negative: StoredAnswer | undefined,
  ): Promise<Reply> {
    // A fetch that finished while we looked for the artifact has stored it: ask the store
    // itself (our lookups above may have joined a read from before it was written).
    const storedNow = await this.#memory.readSmall(kind, module, version);
    if (storedNow?.data) return artifactReply(storedNow.meta, storedNow.data);
    const request: ArtifactRequest = { kind, module, version };
    const answer = await this.#fetcher.ask(request);
    if (!answer.found) return this.#memory.rememberNotFound(kind, module, version, answer);
    const what = describeRequest(request);
    const body = await this.#fetcher.accept(what, async () => {
      const read = await readAll(answer, kind === "mod" ? MAX_GO_MOD : MAX_INFO, request);
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
      this.#options.log.warn("store-failed", { module, version, kind, error: errorText(error) });
      return bytesReply(body, kind === "info" ? JSON_TYPE : TEXT, true);
    }
    // The bytes just checked: the stored copy is the same content (or one stored meanwhile).
    const data = meta.etag === etag ? body : (await this.#store.inlineData(module, version, kind))!;
    this.#memory.keepArtifact(kind, module, version, { meta, data });
    this.#prefetch?.fetched(kind, module, version, body); // prefetch: counted; requirements follow
    if (negative) await this.#memory.forgetAnswer(kind, module, version);
    return artifactReply(meta, data);
  }

  // ---- zips ----

  /** A stored not-found that is still fresh serves; a stale one does not. */
  #freshNotFound = (answer: StoredAnswer): Reply | undefined =>
    this.#memory.isFresh(answer) ? notFoundReply(answer) : undefined;

  /** A download failed: a remembered not-found (even stale) beats an error, not a refusal. */
  async #failed(
    error: unknown,
    negative: StoredAnswer | undefined,
    module: string,
    version: string,
  ): Promise<Reply> {
    if (negative && !(error instanceof RefusedError)) return notFoundReply(negative);
    const damaged = await this.#memory.damageNote("zip", module, version);
    if (damaged && !(error instanceof RefusedError)) {
      return damagedReply(`${module}@${version}.zip`, damaged, error);
    }
    return errorReply(error);
  }

  #track(promise: Promise<unknown>): void {
    this.#background.add(promise);
    promise.finally(() => this.#background.delete(promise)).catch(() => {});
  }
}

/** Whether `version` fits the major version of `module`'s path, as x/mod's `module.Check` asks. */
function fitsPath(module: string, version: string): boolean {
  try {
    return matchPathMajor(version, splitPathVersion(module).pathMajor);
  } catch {
    return false;
  }
}
