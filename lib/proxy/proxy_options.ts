/**
 * The options of a `ModuleProxy` (`proxy.ts`): its store and sources, how long
 * answers stay fresh, its memory cache, and how a replica isolate, a shared
 * database, prefetching and a disk budget change its work.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ModuleSource } from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import type { Store } from "../store/mod.ts";
import type { ServingBudget } from "./budget.ts";
import type { DownloadProgress, PrimaryZip } from "./live_download.ts";
import type { FlightGroup } from "./single_flight.ts";

/**
 * Options of a `ModuleProxy` (`proxy.ts`).
 *
 * @example
 * ```ts ignore
 * import type { ModuleProxyOptions } from "./proxy_options.ts";
 * const options: ModuleProxyOptions = { store, upstream, freshMs: 300_000, negativeMs: 60_000,
 *   cacheBytes: 64 << 20, cacheTtlMs: 60_000, log };
 * ```
 */
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
  /**
   * Makes the policy's single-flights; by default `SingleFlight`,
   * within this process. A backend shared by several processes can give ones
   * that coordinate across them.
   */
  flightGroup?: <T>() => FlightGroup<T>;
  /**
   * Prefetch along the module graph (see `prefetch.ts`), at most `concurrency`
   * at once below client fetches. Only where fetching happens: ignored with
   * `storedOnly`.
   */
  prefetch?: { concurrency: number };
  /**
   * With `storedOnly`: told of each client ask for a canonical `.info`,
   * `.mod` or zip, or a `list` or `@latest` (kind `list`), this isolate
   * answered itself, for the primary's prefetching (see `ask_report.ts`);
   * `cached` is the memory entry that answered. What it forwards, the
   * primary hears anyway.
   */
  reportAsk?: (
    kind: "mod" | "info" | "zip" | "list",
    module: string,
    version: string,
    cached?: object,
  ) => void;
  /**
   * The disk budget's hook: while it returns true, no prefetch starts (the
   * queue is kept). Clients are never held back by it.
   */
  shouldPausePrefetch?: () => boolean;
  /** Under a disk budget (`--max-bytes`): zips served are pinned while sent, and their hits counted. */
  budget?: ServingBudget;
}
