/**
 * Zip downloads across instances sharing one database (PostgreSQL): one
 * instance downloads a zip, under the store's lease for it, and publishes
 * the blob it writes; another instance whose client asks meanwhile follows
 * that download from the database, chunk by chunk as they are stored
 * (bounded polling), as a replica isolate follows its primary's. Until the
 * holder published its blob (the upstream has not answered yet), the others
 * wait for the lease or the stored zip. The last chunk is held back until
 * the zip is committed, so no client receives the whole of a download that
 * then fails.
 *
 * @module
 */
import type { ArtifactMeta, Lease, LeasedDownload, Leases, Store } from "../store/mod.ts";
import { type DownloadProgress, LiveDownload } from "./live_download.ts";
import { itemKey } from "./memory.ts";

/**
 * What {@linkcode leasedZip} needs of the cache policy.
 *
 * @example
 * ```ts ignore
 * const parts: LeasedZipParts = { store, leases: store.leases!, live, readChunk, track, start };
 * ```
 */
export interface LeasedZipParts {
  store: Store;
  leases: Leases;
  /** The downloads under way in this instance, by item key. */
  live: Map<string, LiveDownload>;
  readChunk: (blobId: number, seq: number) => Promise<Uint8Array | undefined>;
  track: (promise: Promise<unknown>) => void;
  /** Starts downloading the zip from its source; `done` runs once the download ended. */
  start: (done: () => Promise<void>) => LiveDownload;
}

/** The longest wait between two looks at another instance's download (ms). */
const MAX_POLL_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The zip's download in this instance (started under its lease, or following
 * another instance's), or the zip stored meanwhile.
 *
 * @example
 * ```ts ignore
 * const started = await leasedZip(parts, "example.com/m", "v1.0.0");
 * ```
 */
export async function leasedZip(
  parts: LeasedZipParts,
  module: string,
  version: string,
): Promise<LiveDownload | ArtifactMeta> {
  const key = itemKey("zip", module, version);
  for (let wait = 10;; wait = Math.min(wait * 2, MAX_POLL_MS)) {
    const lease = await parts.leases.tryAcquire(key);
    if (lease) return await downloadUnder(parts, lease, module, version);
    const meta = await parts.store.artifact(module, version, "zip");
    if (meta) return meta;
    const other = await parts.leases.download(key);
    if (other) return followInstance(parts, key, module, version, other);
    await sleep(wait);
  }
}

/** Downloads under `lease` (unless another instance stored the zip before we took it). */
async function downloadUnder(
  parts: LeasedZipParts,
  lease: Lease,
  module: string,
  version: string,
): Promise<LiveDownload | ArtifactMeta> {
  let meta: ArtifactMeta | undefined;
  try {
    meta = await parts.store.artifact(module, version, "zip");
  } catch (error) {
    await lease.release();
    throw error;
  }
  if (meta) {
    await lease.release();
    return meta;
  }
  const download = parts.start(() => lease.release());
  // Once the blob exists and its size is known, the other instances may follow it.
  parts.track(download.started.then(async (started) => {
    if (started.type === "found" && download.size !== null) {
      await lease.publish({
        blobId: download.blobId,
        chunkSize: download.chunkSize,
        size: download.size,
      });
    }
  }));
  return download;
}

/**
 * Follows another instance's download of the zip, polling the database. When
 * that instance stops without storing the zip (it crashed: its lease
 * expired), this instance takes the download over under the lease, and the
 * clients following go on from the new blob (the same zip, cut the same way).
 */
function followInstance(
  parts: LeasedZipParts,
  key: string,
  module: string,
  version: string,
  first: LeasedDownload,
): LiveDownload {
  const following = new LiveDownload(parts.readChunk);
  parts.live.set(key, following);
  following.finished.finally(() => {
    if (parts.live.get(key) === following) parts.live.delete(key);
  });
  let current = first;
  const total = Math.ceil(first.size / first.chunkSize);
  const sameCut = (other: { size: number | null; chunkSize: number }) =>
    other.size === first.size && other.chunkSize === first.chunkSize;
  const at = (chunks: number, failure?: string): DownloadProgress => ({
    blobId: current.blobId,
    chunkSize: first.chunkSize,
    size: first.size,
    readable: Math.max(0, Math.min(chunks, total) - 1),
    done: failure !== undefined,
    failure,
  });
  const differently = `${module}@${version}.zip was stored differently meanwhile`;
  // The zip as stored: every chunk readable (in another copy's blob, if one of the same cut).
  const stored = (meta: ArtifactMeta) => {
    if (!sameCut(meta)) return following.follow(at(0, differently));
    following.follow({ ...at(total), blobId: meta.blobId!, readable: total, done: true }, meta);
  };
  following.follow(at(first.chunks ?? 0));
  parts.track((async () => {
    let seen = first.chunks ?? 0;
    for (let wait = 10;;) {
      await sleep(wait);
      try {
        const meta = await parts.store.artifact(module, version, "zip");
        if (meta) return stored(meta);
        const now = await parts.leases.download(key);
        if (now && now.blobId !== current.blobId) {
          // Another instance took the download over: the same zip, written again from the start.
          if (!sameCut(now)) return following.follow(at(0, differently));
          current = now;
          seen = Math.min(seen, now.chunks ?? 0);
        }
        if (now) {
          if ((now.chunks ?? 0) !== seen) {
            seen = now.chunks ?? 0;
            following.follow(at(seen));
            wait = 10;
          } else wait = Math.min(wait * 2, MAX_POLL_MS);
          continue;
        }
        // Nobody publishes a download: released just now (the zip is stored), or its holder
        // stopped and its lease expired (or a new holder has not published yet).
        const lease = await parts.leases.tryAcquire(key);
        if (!lease) continue;
        const mine = await downloadUnder(parts, lease, module, version);
        if (mine instanceof LiveDownload) return mirror(mine, following, sameCut, differently);
        return stored(mine);
      } catch (error) {
        following.fail(error);
        return;
      }
    }
  })());
  return following;
}

/** Makes `following` follow this instance's own download `mine` (a takeover). */
function mirror(
  mine: LiveDownload,
  following: LiveDownload,
  sameCut: (other: { size: number | null; chunkSize: number }) => boolean,
  differently: string,
): void {
  const sync = () => {
    if (mine.size === null) return;
    const progress = mine.progress();
    if (!sameCut(mine)) following.follow({ ...progress, done: true, failure: differently });
    else if (!progress.done || progress.failure !== undefined) following.follow(progress);
  };
  mine.watch(sync);
  mine.started.then(sync);
  mine.finished.then((meta) => {
    if (meta) following.follow({ ...mine.progress(), done: true }, meta);
    else following.fail(mine.failure ?? new Error("the download taken over failed"));
  });
}
