/**
 * Zips being downloaded, shared by every client that asks meanwhile: the
 * chunks already stored are read by any number of clients (in this isolate
 * or, through {@linkcode DownloadProgress}, in a replica isolate) while the
 * rest arrives. `zip_download.ts` fills one from the source.
 *
 * @module
 */
import type { ArtifactMeta, Store } from "../store/mod.ts";
import { errorText } from "../util/errors.ts";
import { itemKey, type ProxyMemory } from "./memory.ts";
import { type Answer, MISS, type Reply } from "./reply.ts";

/**
 * What the primary isolate says of a zip a replica asked for (see
 * `lib/isolates/shared_zip.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PrimaryZip } from "./live_download.ts";
 * const outcome: PrimaryZip = { type: "live" };
 * assert(outcome.type === "live");
 * ```
 */
export type PrimaryZip =
  | { type: "live" }
  | { type: "stored" }
  | { type: "answer"; reply: Extract<Answer, { type: "not-found" | "error" }> }
  | { type: "other" };

/**
 * Where a download stands, as the primary tells a replica following it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DownloadProgress } from "./live_download.ts";
 * const progress: DownloadProgress = { blobId: 1, chunkSize: 4, size: 8, readable: 1, done: false };
 * assert(!progress.done);
 * ```
 */
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

/** How a live download reads a stored chunk (through the memory cache). */
type ReadChunk = (blobId: number, seq: number) => Promise<Uint8Array | undefined>;

/**
 * A zip being downloaded: the chunks stored so far can be read by any number
 * of clients while the rest arrives. The last chunk is held back until the
 * whole zip has been checked, so a client never receives the complete bytes
 * of a download that then turns out truncated or invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LiveDownload } from "./live_download.ts";
 * const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
 * const download = new LiveDownload((_blob, seq) => Promise.resolve(chunks[seq]));
 * download.begin(7, 2, 3);
 * download.wrote(2);
 * download.finish({} as never, 2);
 * const bytes = await new Response(download.open()).bytes();
 * assert(bytes.byteLength === 3);
 * ```
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
  #readChunk: ReadChunk;
  #readable = 0;
  #done = false;
  #resolveStarted!: (value: Awaited<LiveDownload["started"]>) => void;
  #resolveFinished!: (meta: ArtifactMeta | undefined) => void;
  #waiters = new Set<() => void>();
  #watchers = new Set<() => void>();

  constructor(readChunk: ReadChunk) {
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
    if (this.failure !== undefined) progress.failure = errorText(this.failure);
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
 * What a replica works with to follow the primary's download of a zip.
 *
 * @example
 * ```ts ignore
 * import type { FollowParts } from "./live_download.ts";
 * const parts: FollowParts = { store, memory, live: new Map(), primaryZip };
 * ```
 */
export interface FollowParts {
  store: Store;
  memory: ProxyMemory;
  /** This isolate's live downloads, by item key (shared with the cache policy). */
  live: Map<string, LiveDownload>;
  /** Asks the primary isolate for a zip (see `ModuleProxyOptions.primaryZip`). */
  primaryZip?: (
    module: string,
    version: string,
    onProgress: (progress: DownloadProgress) => void,
  ) => Promise<PrimaryZip>;
}

/**
 * A replica's zip that is not stored: the primary downloads it, and this
 * isolate streams it from the shared database as the chunks land, as the
 * primary's own clients get it; no zip bytes cross between isolates.
 *
 * @example
 * ```ts ignore
 * import { followPrimary } from "./live_download.ts";
 * const reply = await followPrimary(parts, "golang.org/x/text", "v0.3.0");
 * ```
 */
export async function followPrimary(
  parts: FollowParts,
  module: string,
  version: string,
): Promise<Reply> {
  const { primaryZip, live, store, memory } = parts;
  if (!primaryZip) return MISS;
  const key = itemKey("zip", module, version);
  let download = live.get(key);
  if (!download) {
    const following = new LiveDownload((blobId, seq) => memory.readChunk(blobId, seq));
    download = following;
    live.set(key, following);
    following.finished.finally(() => live.delete(key));
    const onProgress = (progress: DownloadProgress) => {
      if (!progress.done) return following.follow(progress);
      // The last word: nothing follows it, so the stored artifact may be looked up meanwhile.
      store.artifact(module, version, "zip").then(
        (meta) => following.follow(progress, meta),
        () => following.follow(progress),
      );
    };
    const outcome: PrimaryZip = await primaryZip(module, version, onProgress)
      .catch(() => ({ type: "other" }));
    if (outcome.type !== "live") {
      const error = new Error(`${module}@${version}.zip: the primary did not download it`);
      following.start({ type: "error", error });
      following.fail(error);
      if (outcome.type === "answer") return outcome.reply;
      if (outcome.type === "stored") {
        const meta = await store.artifact(module, version, "zip");
        if (meta) return { type: "stored-zip", meta };
      }
      return MISS;
    }
  }
  const started = await download.started;
  return started.type === "found" && download.size !== null ? { type: "live-zip", download } : MISS;
}
