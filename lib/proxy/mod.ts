/**
 * The cache policy's front door: the {@linkcode ModuleProxy} that answers
 * GOPROXY requests from memory, the store or a source, the replies it gives,
 * and the live downloads a replica isolate follows.
 *
 * - `proxy.ts`: the policy (what is fresh, what is fetched, what is served offline);
 *   `fetch_start.ts`: where a fetch would start, the one place a replica differs
 * - `reply.ts`: replies and their constructors
 * - `memory.ts`: the memory layer over the store (artifacts, answers, chunks)
 * - `fetcher.ts`: asking sources; `sumdb.ts`: the checksum-database pass-through
 * - `zip_download.ts`: a zip from its source into the store; `live_download.ts`:
 *   downloads shared by clients and replicas; `stored_zip.ts`, `chunks.ts`:
 *   stored zips and chunk arithmetic
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
export { ModuleProxy, type ModuleProxyOptions, type ProxyStats } from "./proxy.ts";
export { type Answer, REPAIR_ADVICE, type Reply } from "./reply.ts";
export { type DownloadProgress, LiveDownload, type PrimaryZip } from "./live_download.ts";
export { type FlightGroup, SingleFlight } from "./single_flight.ts";
