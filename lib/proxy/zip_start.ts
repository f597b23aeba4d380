/**
 * Starting a zip's download in this instance: the download is registered as
 * live (so later clients join it instead of starting another), counted, and
 * tracked until it ends. Under a store's leases (several instances sharing
 * one database) the start waits for the zip's lease (see `leased_zip.ts`).
 *
 * @module
 */
import type { ArtifactMeta } from "../store/mod.ts";
import { counters } from "../observe/counters.ts";
import { leasedZip } from "./leased_zip.ts";
import { LiveDownload } from "./live_download.ts";
import { itemKey } from "./memory.ts";
import { downloadZip, type ZipDownloadParts } from "./zip_download.ts";

/**
 * What starting a zip download needs of the cache policy.
 *
 * @example
 * ```ts ignore
 * const parts: ZipStartParts = { zipParts, live, counts: { liveDownloads: 0 }, track };
 * ```
 */
export interface ZipStartParts {
  /** What the download itself needs (the store, the memory layer, the fetcher). */
  zipParts: ZipDownloadParts;
  /** The downloads under way in this instance, by item key. */
  live: Map<string, LiveDownload>;
  /** The proxy's counters: each download started counts one. */
  counts: { liveDownloads: number };
  track: (promise: Promise<unknown>) => void;
  /** Told of each download started (the prefetcher counts it). */
  started?: (module: string, version: string, finished: Promise<ArtifactMeta | undefined>) => void;
}

/**
 * Starts downloading the zip from its source, as a live download clients
 * can follow; `done` runs once the download ended.
 *
 * @example
 * ```ts ignore
 * const download = startZipDownload(parts, "example.com/m", "v1.0.0");
 * const started = await download.started;
 * ```
 */
export function startZipDownload(
  parts: ZipStartParts,
  module: string,
  version: string,
  done?: () => Promise<void>,
): LiveDownload {
  const key = itemKey("zip", module, version);
  const { memory } = parts.zipParts;
  const download = new LiveDownload((blobId, seq) => memory.readChunk(blobId, seq));
  parts.live.set(key, download);
  parts.counts.liveDownloads++;
  counters.zipsDownloading++;
  const run = downloadZip(parts.zipParts, download, module, version)
    .finally(() => {
      parts.live.delete(key);
      counters.zipsDownloading--;
      return done?.();
    });
  parts.track(run);
  parts.started?.(module, version, download.finished);
  return download;
}

/**
 * The zip's download across instances sharing the store (see
 * `leased_zip.ts`): started here under its lease, or following another
 * instance's, or the zip that instance stored.
 *
 * @example
 * ```ts ignore
 * const started = await leasedZipDownload(parts, "example.com/m", "v1.0.0");
 * ```
 */
export function leasedZipDownload(
  parts: ZipStartParts,
  module: string,
  version: string,
): Promise<LiveDownload | ArtifactMeta> {
  const { store, memory } = parts.zipParts;
  return leasedZip(
    {
      store,
      leases: store.leases!,
      live: parts.live,
      readChunk: (blobId, seq) => memory.readChunk(blobId, seq),
      track: parts.track,
      start: (done) => startZipDownload(parts, module, version, done),
    },
    module,
    version,
  );
}
