/**
 * The cache policy's counters and the figures of `/_astera/stats`, gathered
 * from each part of the proxy (prefetching, the upstream, the store, the
 * memory cache, the disk budget, memory reclaiming).
 *
 * @module
 */
import type { StoreStats } from "../store/mod.ts";
import type { Fetcher } from "./fetcher.ts";
import type { ProxyMemory } from "./memory.ts";
import type { PrefetchStats } from "./prefetch.ts";
import { reclaimer } from "./reclaim.ts";

/**
 * Counters for `/_astera/stats` and the benchmark.
 *
 * @example
 * ```ts ignore
 * import type { ProxyStats } from "./proxy_stats.ts";
 * const { proxy } = moduleProxy.stats() as { proxy: ProxyStats };
 * ```
 */
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

/**
 * Counters all at zero.
 *
 * @example
 * ```ts
 * import { newProxyStats } from "./proxy_stats.ts";
 * import assert from "node:assert";
 * assert.equal(newProxyStats().sourceFetches, 0);
 * ```
 */
export function newProxyStats(): ProxyStats {
  return {
    sourceFetches: 0,
    backgroundRefreshes: 0,
    refreshFailures: 0,
    offlineAnswers: 0,
    keptAnswers: 0,
    liveDownloads: 0,
  };
}

/**
 * The parts of the proxy whose figures `/_astera/stats` shows.
 *
 * @example
 * ```ts ignore
 * const sources: StatsSources = { counts, coalesced: 0, fetcher, store, memory };
 * ```
 */
export interface StatsSources {
  counts: ProxyStats;
  /** Fetches of `.info` and `.mod` that joined one under way. */
  coalesced: number;
  prefetch?: PrefetchStats;
  fetcher: Fetcher;
  store: { stats(): StoreStats };
  memory: ProxyMemory;
  /** The disk budget's figures (the primary's; a replica has none). */
  budget?: unknown;
}

/**
 * The figures of `/_astera/stats`, one object per part.
 *
 * @example
 * ```ts ignore
 * const stats = assembleStats({ counts, coalesced: 0, fetcher, store, memory });
 * ```
 */
export function assembleStats(sources: StatsSources): Record<string, unknown> {
  const { prefetch, budget } = sources;
  return {
    proxy: { ...sources.counts, fetchCoalesced: sources.coalesced },
    ...(prefetch ? { prefetch } : {}),
    upstream: sources.fetcher.upstreamStats(),
    store: sources.store.stats(),
    cache: sources.memory.stats(),
    ...(budget !== undefined ? { budget } : {}),
    reclaim: {
      active: reclaimer.active,
      collections: reclaimer.collections,
      ms: Math.round(reclaimer.spentMs),
    },
  };
}
