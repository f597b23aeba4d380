/**
 * Prefetching along the module graph: the queue of what
 * {@linkcode PrefetchPolicy} decided, drained by a small pool below client
 * requests, and the counters of what it brought (prefetches, hits, waste).
 *
 * Each prefetch is an ordinary request to the proxy's own `mod`, `info` or
 * `zip`, made within a marked async context ({@linkcode isPrefetching}): it
 * goes through the same single-flight as a client's, stores what a client's
 * would, remembers a not-found as a client's would, and a client asking
 * meanwhile joins it. The mark only tells the counters and the policy who
 * asked.
 *
 * Clients always win: a prefetch starts only while the prefetches running
 * plus the client fetches waiting for a source stay below the concurrency,
 * so a burst of clients fetching pauses prefetching; while the upstream is
 * failing the queue is dropped and nothing starts; and a disk budget can
 * pause it through `shouldPausePrefetch`.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "../log.ts";
import { BoundedMap } from "../util/bounded_map.ts";
import { errorText } from "../util/errors.ts";
import { type Ask, RepeatedAsks } from "./ask_report.ts";
import { PrefetchPolicy, type PrefetchTask, WALK_MS } from "./prefetch_policy.ts";
import type { Reply } from "./reply.ts";

/**
 * A prefetched artifact no client asked for within this long is waste (ms).
 *
 * @example
 * ```ts
 * import { WASTE_MS } from "./prefetch.ts";
 * console.log(WASTE_MS / 3_600_000); // 1
 * ```
 */
export const WASTE_MS = 60 * 60_000;

/** Prefetched artifacts remembered at most, for hits and waste. */
const REMEMBERED = 100_000;

/** While client fetches hold every slot, look again this often (ms): no event may come. */
const RETRY_MS = 50;

const origin = new AsyncLocalStorage<true>();

/**
 * Whether the code running now runs for a prefetch (not for a client).
 *
 * @example
 * ```ts
 * import { isPrefetching } from "./prefetch.ts";
 * console.log(isPrefetching()); // false
 * ```
 */
export function isPrefetching(): boolean {
  return origin.getStore() === true;
}

/**
 * The proxy's entry points a prefetch asks, as a client would.
 *
 * @example
 * ```ts ignore
 * import type { PrefetchTarget } from "./prefetch.ts";
 * const target: PrefetchTarget = moduleProxy;
 * ```
 */
export interface PrefetchTarget {
  mod(module: string, version: string): Promise<Reply>;
  info(module: string, version: string): Promise<Reply>;
  zip(module: string, version: string): Promise<Reply>;
}

/**
 * Options of a {@linkcode Prefetcher}.
 *
 * @example
 * ```ts ignore
 * import type { PrefetcherOptions } from "./prefetch.ts";
 * const options: PrefetcherOptions = { target: proxy, concurrency: 8, now: Date.now, log,
 *   clientFetches: () => 0, upstreamDown: () => false };
 * ```
 */
export interface PrefetcherOptions {
  target: PrefetchTarget;
  /** Prefetches plus client source fetches at once, at most, for a prefetch to start. */
  concurrency: number;
  now: () => number;
  log: Logger;
  /** Client fetches from a source under way now. */
  clientFetches: () => number;
  /** Whether the upstream is failing now: the queue is dropped, nothing starts. */
  upstreamDown: () => boolean;
  /** Holds a running prefetch as background work (the proxy's `settle` waits for it). */
  track?: (promise: Promise<unknown>) => void;
  /**
   * The disk budget's hook: true while prefetching must wait (the queue is
   * kept, nothing starts until it turns false and some event comes).
   */
  shouldPausePrefetch?: () => boolean;
}

/**
 * What `/_astera/stats` shows of prefetching (`prefetch`).
 *
 * @example
 * ```ts ignore
 * import type { PrefetchStats } from "./prefetch.ts";
 * const { prefetch } = moduleProxy.stats() as { prefetch: PrefetchStats };
 * ```
 */
export interface PrefetchStats {
  /** Waiting to start. */
  queued: number;
  /** Under way. */
  running: number;
  /** Artifacts a prefetch fetched from a source (and stored). */
  prefetches: number;
  prefetchedBytes: number;
  /** Client requests for an artifact a prefetch had fetched (each artifact counts once). */
  hits: number;
  /** Prefetched artifacts no client asked for within an hour. */
  waste: number;
  wastedBytes: number;
  /** Prefetched artifacts no client has asked for yet (less than an hour ago). */
  unasked: number;
  unaskedBytes: number;
  /** Queued prefetches dropped because the upstream was failing. */
  dropped: number;
  /** Queued zips and `.info` not fetched: the walk named a higher version meanwhile. */
  superseded: number;
  /** Prefetches that failed (the upstream's error; nothing is stored). */
  failures: number;
}

/**
 * The prefetch queue and its pool.
 *
 * @example
 * ```ts ignore
 * import { Prefetcher } from "./prefetch.ts";
 * const prefetcher = new Prefetcher({ target: proxy, concurrency: 8, now: Date.now, log,
 *   clientFetches: () => 0, upstreamDown: () => false });
 * prefetcher.clientAsked("info", "golang.org/x/text", "v0.14.0"); // the zip follows
 * ```
 */
export class Prefetcher {
  #options: PrefetcherOptions;
  #policy: PrefetchPolicy;
  /** go.mods and .infos first: the walk's next level is what the client waits for. */
  #small: PrefetchTask[] = [];
  #zips: PrefetchTask[] = [];
  /** Tasks queued or run in this walk (not queued again): key → when. */
  #tried = new BoundedMap<string, number>(REMEMBERED);
  /**
   * What clients asked in this walk: key → when. Their own fetch (done, under
   * way or failed), so never prefetched, not even once queued.
   */
  #asked = new BoundedMap<string, number>(REMEMBERED);
  /** Artifacts prefetched and not yet asked for: key → when, and bytes. */
  #prefetched = new BoundedMap<string, { at: number; bytes: number }>(REMEMBERED);
  #running = 0;
  /** go.mod prefetches under way (zips wait for them: see #pump). */
  #modsRunning = 0;
  /**
   * When a source last gave an artifact. A walk with none for a while (warm,
   * hot) needs no prefetch: its tasks wait here, and are queued only if a
   * source gives something after all (a cold part of the walk).
   */
  #lastFetchAt = -Infinity;
  #deferred = new BoundedMap<string, { task: PrefetchTask; at: number }>(REMEMBERED);
  /** Prefetches under way, and those of them a client asked for meanwhile (joining it). */
  #runningKeys = new Set<string>();
  #joined = new Set<string>();
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Asks answered from memory that repeat one of the last minute. */
  #repeats: RepeatedAsks;
  #stopped = false;
  #stats: PrefetchStats = {
    queued: 0,
    running: 0,
    prefetches: 0,
    prefetchedBytes: 0,
    hits: 0,
    waste: 0,
    wastedBytes: 0,
    unasked: 0,
    unaskedBytes: 0,
    dropped: 0,
    superseded: 0,
    failures: 0,
  };

  constructor(options: PrefetcherOptions) {
    this.#options = options;
    this.#policy = new PrefetchPolicy(options.now);
    this.#repeats = new RepeatedAsks(options.now);
  }

  /**
   * A client asked for an artifact of a canonical version (ignored within a
   * prefetch). `cached` is the memory cache's entry when memory answered: the
   * hot path, where forty clients ask the same artifacts again and again. The
   * policy has seen such an ask already, so within a minute of it (`REASK_MS`)
   * a repeat costs a clock read and a WeakMap lookup, not the policy's work.
   */
  clientAsked(
    kind: "mod" | "info" | "zip",
    module: string,
    version: string,
    cached?: object,
  ): void {
    if (this.#stopped) return;
    if (cached && this.#repeats.isRepeat(cached)) return;
    if (isPrefetching()) return;
    const key = taskKey({ kind, module, version });
    if (this.#prefetched.delete(key)) this.#stats.hits++;
    else if (this.#runningKeys.has(key)) this.#joined.add(key);
    this.#asked.set(key, this.#options.now());
    const tasks = this.#policy.clientAsked(kind, module, version);
    if (this.#cold()) this.#enqueue(tasks);
    else {for (const task of tasks) {
        this.#deferred.set(taskKey(task), { task, at: this.#options.now() });
      }}
  }

  /** A client asked a module's `list` or `@latest` (see `PrefetchPolicy.clientListed`). */
  clientListed(module: string): void {
    if (!this.#stopped && !isPrefetching()) this.#policy.clientListed(module);
  }

  /**
   * Clients of a replica isolate asked these, and the replica answered them
   * itself (see `ask_report.ts`): hits, version checks, and the walk goes on,
   * as for asks here.
   */
  replicaAsked(asks: readonly Ask[]): void {
    for (const [kind, module, version] of asks) {
      if (kind === "list") this.clientListed(module);
      else this.clientAsked(kind, module, version);
    }
  }

  /**
   * An `.info` or `.mod` came from a source and was stored (for a client or
   * a prefetch): counted if a prefetch fetched it; a go.mod's requirements
   * may follow.
   */
  fetched(kind: "info" | "mod", module: string, version: string, body: Uint8Array): void {
    if (this.#stopped) return;
    this.#fromSource();
    if (isPrefetching()) this.#count(taskKey({ kind, module, version }), body.byteLength);
    if (kind === "mod") this.#enqueue(this.#policy.modFetched(module, version, body));
  }

  /** A zip download from a source began: counted, once stored, if a prefetch began it. */
  zipDownload(
    module: string,
    version: string,
    stored: Promise<{ size: number } | undefined>,
  ): void {
    this.#fromSource();
    if (!isPrefetching()) return;
    const key = taskKey({ kind: "zip", module, version });
    stored.then((meta) => meta && this.#count(key, meta.size));
  }

  /** Stops prefetching for good (shutdown): the queue is dropped, nothing starts. */
  stop(): void {
    this.#stopped = true;
    this.#small = [];
    this.#zips = [];
    clearTimeout(this.#retry);
  }

  /** Counters for `/_astera/stats`. */
  stats(): PrefetchStats {
    this.#sweepWaste();
    let unaskedBytes = 0;
    for (const [, { bytes }] of this.#prefetched.entries()) unaskedBytes += bytes;
    return {
      ...this.#stats,
      queued: this.#small.length + this.#zips.length,
      running: this.#running,
      unasked: this.#prefetched.size,
      unaskedBytes,
    };
  }

  /** Whether a source gave something within the walk (else prefetching waits). */
  #cold(): boolean {
    return this.#options.now() - this.#lastFetchAt < WALK_MS;
  }

  /** A source gives an artifact: the walk is cold, and what waited for that is queued. */
  #fromSource(): void {
    const now = this.#options.now();
    const wasCold = this.#cold();
    this.#lastFetchAt = now;
    if (wasCold || this.#deferred.size === 0) return;
    const tasks: PrefetchTask[] = [];
    for (const [, { task, at }] of this.#deferred.entries()) {
      if (now - at < WALK_MS) tasks.push(task);
    }
    this.#deferred.clear();
    this.#enqueue(tasks);
  }

  #count(key: string, bytes: number): void {
    this.#stats.prefetches++;
    this.#stats.prefetchedBytes += bytes;
    // A client that joined the prefetch under way has asked for it already.
    if (this.#joined.delete(key)) this.#stats.hits++;
    else this.#prefetched.set(key, { at: this.#options.now(), bytes });
    this.#sweepWaste();
  }

  /** Prefetched artifacts older than {@linkcode WASTE_MS} are waste (oldest first). */
  #sweepWaste(): void {
    const limit = this.#options.now() - WASTE_MS;
    for (const [key, { at, bytes }] of this.#prefetched.entries()) {
      if (at > limit) break;
      this.#prefetched.delete(key);
      this.#stats.waste++;
      this.#stats.wastedBytes += bytes;
    }
  }

  #enqueue(tasks: PrefetchTask[]): void {
    const now = this.#options.now();
    for (const task of tasks) {
      const key = taskKey(task);
      if (this.#inWalk(this.#asked, key) || this.#inWalk(this.#tried, key)) continue;
      this.#tried.set(key, now);
      (task.kind === "zip" ? this.#zips : this.#small).push(task);
    }
    this.#pump();
  }

  #pump(): void {
    const options = this.#options;
    while (!this.#stopped && this.#small.length + this.#zips.length > 0) {
      if (options.upstreamDown()) {
        // Stop at once: each queued prefetch would fail (or wait out a timeout) for nothing.
        this.#stats.dropped += this.#small.length + this.#zips.length;
        this.#small = [];
        this.#zips = [];
        this.#tried.clear();
        return;
      }
      if (options.shouldPausePrefetch?.()) return;
      if (this.#running + options.clientFetches() >= options.concurrency) {
        if (this.#running === 0) this.#retryLater();
        return;
      }
      // A go.mod being read may name a higher version of a queued zip's module: zips wait.
      if (this.#small.length === 0 && this.#modsRunning > 0) return;
      const task = (this.#small.length > 0 ? this.#small : this.#zips).shift()!;
      if (!this.#policy.wanted(task)) {
        this.#stats.superseded++;
        continue;
      }
      if (this.#inWalk(this.#asked, taskKey(task))) continue;
      const mod = task.kind === "mod";
      this.#running++;
      if (mod) this.#modsRunning++;
      const run = origin.run(true, () => this.#run(task)).finally(() => {
        this.#running--;
        if (mod) this.#modsRunning--;
        this.#pump();
      });
      options.track?.(run);
    }
  }

  /** Whether `key` was noted in `map` within the walk. */
  #inWalk(map: BoundedMap<string, number>, key: string): boolean {
    const at = map.get(key);
    return at !== undefined && this.#options.now() - at < WALK_MS;
  }

  /** Clients hold every slot and no prefetch runs to pump when it ends: look again soon. */
  #retryLater(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#pump();
    }, RETRY_MS);
    Deno.unrefTimer(this.#retry);
  }

  async #run(task: PrefetchTask): Promise<void> {
    const { target } = this.#options;
    const key = taskKey(task);
    this.#runningKeys.add(key);
    try {
      const reply = await target[task.kind](task.module, task.version);
      // The slot is held until the zip is stored: a pool of 8 is 8 downloads, not 8 starts.
      if (reply.type === "live-zip") await reply.download.finished;
      if (reply.type === "error") this.#stats.failures++;
    } catch (error) {
      this.#stats.failures++;
      this.#options.log.warn("prefetch-failed", {
        request: `${task.kind} ${task.module}@${task.version}`,
        error: errorText(error),
      });
    } finally {
      this.#runningKeys.delete(key);
      this.#joined.delete(key);
    }
  }
}

function taskKey(task: PrefetchTask): string {
  return `${task.kind} ${task.module}@${task.version}`;
}
