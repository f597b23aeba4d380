/**
 * The cache policy's front door: the {@linkcode ModuleProxy} that answers
 * GOPROXY requests from memory, the store or a source, the replies it gives,
 * and the live downloads a replica isolate follows.
 *
 * - `proxy.ts`: the policy (what is fresh, what is fetched, what is served offline);
 *   `proxy_options.ts` its options, `proxy_stats.ts` its counters and stats;
 *   `fetch_start.ts`: where a fetch would start, the one place a replica differs
 * - `refresh.ts`: answers that may change, fetched afresh; `offline.ts`: answers
 *   made up from what is stored when the source fails
 * - `reply.ts`: replies and their constructors
 * - `memory.ts`: the memory layer over the store (artifacts, answers, chunks)
 * - `fetcher.ts`: asking sources; `sumdb.ts`: the checksum-database pass-through
 * - `zip_start.ts`: a zip's download started (under its lease with a shared database,
 *   `leased_zip.ts`); `zip_download.ts`: a zip from its source into the store; `live_download.ts`:
 *   downloads shared by clients and replicas; `stored_zip.ts`, `chunks.ts`:
 *   stored zips and chunk arithmetic
 * - `prefetch_policy.ts`: what the go command will ask next, from the go.mods
 *   fetched and what clients ask; `prefetch.ts`: the queue that fetches it below
 *   client requests, and its counters; `ask_report.ts`: a replica's asks, told to the primary
 * - `budget.ts`: the disk budget (`--max-bytes`), evicting the least recently served
 *   zips; `pins.ts`: zips being sent, never evicted; `recency.ts`: served hits in batches
 * - `single_flight.ts`, `weak_cache.ts`, `reclaim.ts`, `upstream_watch.ts`: the parts
 *
 * @example
 * ```ts ignore
 * import { ModuleProxy } from "./mod.ts";
 * const proxy = new ModuleProxy({ store, upstream, freshMs: 300_000, negativeMs: 60_000,
 *   cacheBytes: 64 << 20, cacheTtlMs: 60_000, log });
 * const reply = await proxy.list("golang.org/x/text");
 * ```
 *
 * @module
 */
export { ModuleProxy } from "./proxy.ts";
export type { ModuleProxyOptions } from "./proxy_options.ts";
export type { ProxyStats } from "./proxy_stats.ts";
export { type Answer, REPAIR_ADVICE, type Reply } from "./reply.ts";
export { type DownloadProgress, LiveDownload, type PrimaryZip } from "./live_download.ts";
export { type FlightGroup, SingleFlight } from "./single_flight.ts";
export { type PrefetchStats, WASTE_MS } from "./prefetch.ts";
export { type Ask, AskReport } from "./ask_report.ts";
export { type PrefetchTask, WALK_MS } from "./prefetch_policy.ts";
export {
  type BudgetStats,
  Evictor,
  MIN_BUDGET_BYTES,
  type RunningBudget,
  type ServingBudget,
  startBudget,
} from "./budget.ts";
export { pinServedZip, releaseWhenSent, ZipPins } from "./pins.ts";
export { type BatchedHit, ServedLog } from "./recency.ts";
