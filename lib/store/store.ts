/**
 * The store, in the cache policy's own terms: what the proxy, the seed and
 * `deno task verify` may ask of whatever keeps Astera's artifacts. No SQL
 * here: `sqlite.ts` is the one backend that speaks it, `memory.ts` a second
 * one for tests, and a networked backend (PostgreSQL) fits the same shape.
 *
 * - Immutable artifacts (`.info` of a canonical version, `.mod`, `.zip`):
 *   small ones inline, zips as a blob of fixed-size chunks, written through a
 *   {@linkcode BlobWriter} and read by range, so that no zip is ever whole in
 *   memory.
 * - Answers that may change (`list`, `@latest`, query `.info`, checksum
 *   database files) and not-found answers, with the time they were fetched.
 *
 * Reads that a networked backend would answer over a round trip are
 * asynchronous. The hot path does not pay for it: the proxy's memory layer
 * answers repeated requests without asking the store at all.
 *
 * What goes wrong is told by type, never by a backend's error names:
 * {@linkcode StoreBusyError}, {@linkcode StoreFullError},
 * {@linkcode StoreCorruptError} (the store itself cannot be read) and
 * {@linkcode StoredDamageError} (one stored copy is not what was stored).
 *
 * @module
 */

/**
 * The immutable artifact kinds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ArtifactKind } from "./store.ts";
 * const kinds: ArtifactKind[] = ["info", "mod", "zip"];
 * assert(kinds.length === 3);
 * ```
 */
export type ArtifactKind = "info" | "mod" | "zip";

/**
 * Where a blob's chunks are and how they are cut: enough to read any range
 * of it (an {@linkcode ArtifactMeta} of a zip is one; so is a blob being
 * written, described by its {@linkcode BlobWriter}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BlobRef } from "./store.ts";
 * const blob: BlobRef = { blobId: 7, chunkSize: 4, size: 10 }; // chunks of 4, 4 and 2 bytes
 * assert(Math.ceil(blob.size / blob.chunkSize) === 3);
 * ```
 */
export interface BlobRef {
  /** The chunked blob holding the content, or null when it is stored inline. */
  blobId: number | null;
  /** Bytes per chunk of the blob (every chunk but the last is this long). */
  chunkSize: number;
  size: number;
}

/**
 * What is known about a stored artifact, without its content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * const meta = await store.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module m\n"));
 * assert(meta.blobId === null && meta.size === 9);
 * ```
 */
export interface ArtifactMeta extends BlobRef {
  module: string;
  version: string;
  kind: ArtifactKind;
  /** A strong ETag, quoted. */
  etag: string;
  storedAt: number;
  /**
   * Whether every chunk of the blob has its own digest (blobs written since
   * schema 2, or checked whole by `deno task verify`). Without, only a read
   * of the whole zip can be checked, against the ETag.
   */
  chunkDigests: boolean;
}

/**
 * A stored answer that may change: a list, a latest or query answer, or a not-found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StoredAnswer } from "./store.ts";
 * const list: StoredAnswer = {
 *   kind: "list", module: "example.com/m", key: "", status: 200,
 *   body: new TextEncoder().encode("v1.0.0\n"), fetchedAt: Date.now(),
 * };
 * assert(list.status === 200);
 * ```
 */
export interface StoredAnswer {
  /** `list`, `latest`, `query` (non-canonical `.info`), or an artifact kind for not-found answers. */
  kind: string;
  module: string;
  /** The query or version; empty for `list` and `latest`. */
  key: string;
  /** 200, or 404/410 for a remembered not-found. */
  status: number;
  body: Uint8Array;
  fetchedAt: number;
}

/**
 * The key of a stored answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AnswerKey } from "./store.ts";
 * const key: AnswerKey = { kind: "sumdb", module: "sum.golang.org", key: "supported" };
 * assert(key.kind === "sumdb");
 * ```
 */
export interface AnswerKey {
  kind: string;
  module: string;
  key: string;
}

/**
 * Counters of store work, for `/_astera/stats` and the benchmark's "SQLite pressure" figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * await store.answer("list", "example.com/m", "");
 * assert(store.stats().reads === 1);
 * ```
 */
export interface StoreStats {
  reads: number;
  writes: number;
  busyRetries: number;
}

/**
 * How much room the store takes, and how much of it is free space new data reuses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * assert((await new MemoryStore().size()).bytes === 0);
 * ```
 */
export interface StoreSize {
  bytes: number;
  freeBytes: number;
}

/**
 * A zip served at `at` (ms since the epoch), for {@linkcode Store.recordServed}:
 * the disk budget removes the least recently served zips first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ServedHit } from "./store.ts";
 * const hit: ServedHit = { module: "example.com/m", version: "v1.0.0", at: Date.now() };
 * assert(hit.at > 0);
 * ```
 */
export interface ServedHit {
  module: string;
  version: string;
  at: number;
}

/**
 * The default chunk size: small enough that one read never stalls the event loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CHUNK_SIZE } from "./store.ts";
 * assert(DEFAULT_CHUNK_SIZE === 262144);
 * ```
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/**
 * The answer kind noting why an artifact was removed as damaged (see {@linkcode Store.removeArtifact}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DAMAGED } from "./store.ts";
 * // The note of a removed `.zip`: await store.answer(DAMAGED, module, `${version}.zip`)
 * assert(DAMAGED === "damaged");
 * ```
 */
export const DAMAGED = "damaged";

/**
 * The synchronous operations available inside {@linkcode Store.batch}: they
 * all run in its one transaction.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * const kept = await store.batch((batch) => batch.answer("list", "example.com/m", ""));
 * assert(kept === undefined);
 * ```
 */
export interface StoreBatch {
  /**
   * Stores a small immutable artifact inline unless it is stored already
   * (then it is kept as it is). `etag` is `strongEtag` of `data`.
   * Returns true when it was stored now.
   */
  putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag: string,
  ): boolean;
  /** A stored answer, as this transaction sees it (a damaged one as none). */
  answer(kind: string, module: string, key: string): StoredAnswer | undefined;
  /** Stores (replacing) an answer. */
  putAnswer(answer: StoredAnswer): void;
}

/**
 * Writes one chunked blob: takes bytes of any size, cuts them into the
 * store's chunks, keeps each chunk's SHA-256 beside it and the whole's as the
 * ETag, and makes the blob an artifact ({@linkcode commit}) or throws it away
 * ({@linkcode abort}). Until committed nothing of it is visible as an
 * artifact, though its stored chunks can be read by blob id (a download is
 * streamed to clients while it is written).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore({ chunkSize: 4 });
 * const writer = await store.writeBlob();
 * await writer.write(new TextEncoder().encode("hello, world"));
 * const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
 * assert(meta.size === 12 && writer.chunks === 3);
 * ```
 */
export interface BlobWriter {
  /** The blob being written. */
  readonly blobId: number;
  readonly chunkSize: number;
  /** Bytes written so far. */
  readonly size: number;
  /** Chunks stored so far (each readable by blob id and sequence number). */
  readonly chunks: number;
  /** The blob's ETag, once {@linkcode finish} stored its last chunk. */
  readonly etag: string | undefined;
  /** Appends `bytes`, storing every chunk they complete. */
  write(bytes: Uint8Array): Promise<void>;
  /** Stores the last, partial chunk: the blob is whole (and still not an artifact). */
  finish(): Promise<void>;
  /**
   * Makes the whole blob the artifact `module@version.kind` and returns the
   * stored artifact. When one was stored meanwhile (by another writer or
   * process), that one is kept and returned; this blob is then left to the
   * sweep for readers that may still be on it, or discarded by
   * {@linkcode abort}.
   */
  commit(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta>;
  /** Deletes the blob unless it was committed as the artifact. */
  abort(): Promise<void>;
}

/**
 * The options every backend takes. What `maxBytes` counts is the backend's
 * own (SQLite: the file; PostgreSQL and memory: the bytes stored).
 *
 * @example
 * ```ts
 * import type { StoreOptions } from "./store.ts";
 * const options: StoreOptions = { chunkSize: 64 * 1024, maxBytes: 1 << 30, now: Date.now };
 * ```
 */
export interface StoreOptions {
  /** Bytes per stored zip chunk. */
  chunkSize?: number;
  /** The most the store may hold (bytes), as if the disk were that small; unlimited if unset. */
  maxBytes?: number;
  /** The wall clock, for the times stored (ms). */
  now?: () => number;
  /** A monotonic clock, for how long something took or stayed unchanged (ms). */
  elapsed?: () => number;
}

/**
 * What the cache policy needs of a store. One per process; several
 * processes (isolates, the seed) may share one backing store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Store } from "./store.ts";
 * import { MemoryStore } from "./memory.ts";
 * const store: Store = new MemoryStore();
 * await store.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module example.com/m\n"));
 * assert((await store.artifact("example.com/m", "v1.0.0", "mod"))?.size === 21);
 * store.close();
 * ```
 */
export interface Store {
  /** Bytes per chunk of the blobs this store writes. */
  readonly chunkSize: number;
  /**
   * Present on a store several instances share (PostgreSQL): leases that
   * let one instance at a time fetch a given thing from upstream.
   */
  readonly leases?: Leases;

  /** Metadata of a stored artifact, or undefined. */
  artifact(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta | undefined>;
  /**
   * The content of an artifact stored inline (`.info`, `.mod`), or undefined.
   * Throws {@linkcode StoredDamageError} when it does not match its ETag.
   */
  inlineData(module: string, version: string, kind: ArtifactKind): Promise<Uint8Array | undefined>;
  /**
   * Stores a small immutable artifact inline. One already stored is kept as
   * it is: what was served once never changes. Returns the stored artifact's
   * metadata. `etag` is `data`'s `strongEtag`, when the caller has it.
   */
  putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta>;
  /** The versions of `module` whose artifact of `kind` is stored, in no particular order. */
  storedVersions(module: string, kind: ArtifactKind): Promise<string[]>;
  /** Every stored artifact, for a check of the whole store. */
  listArtifacts(): Promise<ArtifactMeta[]>;
  /**
   * Removes a stored artifact found damaged (and its blob), so that it is
   * fetched again, and notes `why` as the answer of kind {@linkcode DAMAGED}
   * (key `<version>.<kind>`), dropped once it is stored again. Only the copy
   * `meta` describes goes: one stored anew meanwhile stays. Returns whether
   * it was removed now.
   */
  removeArtifact(meta: ArtifactMeta, why: string): Promise<boolean>;

  /** Starts writing a chunked blob (see {@linkcode BlobWriter}). */
  writeBlob(): Promise<BlobWriter>;
  /**
   * One chunk of a blob (committed or still being written), or undefined.
   * Throws {@linkcode StoredDamageError} when it does not match its digest.
   */
  chunk(blobId: number, seq: number): Promise<Uint8Array | undefined>;
  /**
   * `[start, end)` of a blob, in pieces of at most a chunk. Throws
   * {@linkcode StoredDamageError} for a damaged chunk and
   * {@linkcode MissingChunkError} for one that is not there (removed meanwhile).
   */
  readRange(blob: BlobRef, start: number, end: number): AsyncIterable<Uint8Array>;
  /**
   * Records the digests of a blob's chunks, once its whole content was found
   * to match its ETag (a blob stored before chunk digests). Chunks that have
   * a digest keep it.
   */
  recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void>;
  /**
   * Deletes blobs left pending by a crash or an abandoned write: those not
   * written to for `olderThanMs`. This store's own writers are never swept,
   * however slow. Returns how many went.
   */
  sweepPendingBlobs(olderThanMs: number): Promise<number>;

  /**
   * A stored answer, or undefined. Throws {@linkcode StoredDamageError} when
   * its body does not match its digest.
   */
  answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined>;
  /** Stores (replacing) an answer. */
  putAnswer(answer: StoredAnswer): Promise<void>;
  /** Forgets an answer (used when an artifact turns up after a remembered not-found). */
  deleteAnswer(kind: string, module: string, key: string): Promise<void>;
  /** The keys of every stored answer (lists, not-founds, checksum-database files). */
  answerKeys(): Promise<AnswerKey[]>;

  /**
   * Runs `body` in one short write transaction, for importing many small
   * things at once (the seed) without one transaction per row. `body` must be
   * synchronous and quick; everything it did is undone if it throws.
   */
  batch<T>(body: (batch: StoreBatch) => T): Promise<T>;

  // ---- the disk budget (`lib/proxy/budget.ts`): only zips are ever evicted ----

  /**
   * Notes when zips were last served, in one write (a batch that
   * `lib/proxy/recency.ts` gathered). A time never goes back; zips not
   * stored are skipped.
   */
  recordServed(hits: readonly ServedHit[]): Promise<void>;
  /**
   * The bytes the store's content takes, as the budget counts them: for
   * SQLite its pages less its free pages (new data reuses free pages, so
   * this falls as zips are evicted while the file keeps its size).
   */
  usedBytes(): Promise<number>;
  /**
   * The content bytes of everything but zips (`.info`, `.mod`, answers),
   * which is never evicted. It may read every row's size: for a periodic
   * check, not for a request.
   */
  smallBytes(): Promise<number>;
  /**
   * Up to `limit` stored zips, least recently served first (one never served
   * counts from when it was stored; ties by module, then version), skipping
   * the first `skip`. With `servedBefore` (ms), only zips not served since.
   */
  evictionCandidates(limit: number, skip?: number, servedBefore?: number): Promise<ArtifactMeta[]>;
  /**
   * Removes a stored zip to keep within the budget, in one short write: the
   * artifact goes at once and its blob becomes pending, its chunks then
   * deleted by {@linkcode deleteBlobChunks} (or by the sweep after a crash).
   * Unlike {@linkcode removeArtifact} no note is kept: the zip is simply not
   * stored, as if never fetched. Only the copy `meta` describes goes.
   * Returns whether it was removed now.
   */
  evictZip(meta: ArtifactMeta): Promise<boolean>;
  /**
   * Deletes up to `max` chunks (the first ones) of a pending blob in one
   * short write, and the blob itself once none are left. Returns how many
   * chunks went: 0 once the blob is gone. A committed blob is left alone.
   */
  deleteBlobChunks(blobId: number, max: number): Promise<number>;

  /**
   * A quick look for damage where every lookup starts (a few reads): what
   * the store said, or undefined when all read.
   */
  probe(): Promise<string | undefined>;
  /** How big the store is. */
  size(): Promise<StoreSize>;
  /** A snapshot of the counters. */
  stats(): StoreStats;
  close(): void;
}

/**
 * A write met a store locked by someone else (another process) for longer
 * than its deadline; worth retrying later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreBusyError } from "./store.ts";
 * assert(new StoreBusyError("locked") instanceof Error);
 * ```
 */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
}

/**
 * The store has no room left (a full disk, or its size limit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreFullError } from "./store.ts";
 * assert(new StoreFullError("disk full").name === "StoreFullError");
 * ```
 */
export class StoreFullError extends Error {
  override name = "StoreFullError";
}

/**
 * The store itself cannot be read (a page of an SQLite file is garbage):
 * not one copy, everything behind the damage. Repair is for an operator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreCorruptError } from "./store.ts";
 * assert(new StoreCorruptError("database disk image is malformed") instanceof Error);
 * ```
 */
export class StoreCorruptError extends Error {
  override name = "StoreCorruptError";
}

/**
 * What was read from the store is not what was stored: that stored copy is
 * damaged (and is removed, to be fetched again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoredDamageError } from "./store.ts";
 * assert(new StoredDamageError("chunk 0 does not match").name === "StoredDamageError");
 * ```
 */
export class StoredDamageError extends Error {
  override name = "StoredDamageError";
}

/**
 * A chunk a read needs is not there: its blob was removed (found damaged,
 * swept) since its metadata was read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MissingChunkError } from "./store.ts";
 * assert(new MissingChunkError(3).seq === 3);
 * ```
 */
export class MissingChunkError extends Error {
  override name = "MissingChunkError";
  /** The chunk's sequence number. */
  readonly seq: number;

  constructor(seq: number) {
    super(`chunk ${seq} is missing`);
    this.seq = seq;
  }
}

/**
 * The store cannot be reached now (a networked database restarted, or the
 * network to it is down): the request gets a 503 with this reason, and the
 * store reconnects by itself once the database answers again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StoreUnavailableError } from "./store.ts";
 * assert(new StoreUnavailableError("connection refused").name === "StoreUnavailableError");
 * ```
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * A held lease (see {@linkcode Leases}).
 *
 * @example
 * ```ts
 * import type { Lease } from "./store.ts";
 * const none: Lease = { release: () => Promise.resolve(), publish: () => Promise.resolve() };
 * await none.release();
 * ```
 */
export interface Lease {
  /** Gives the lease up (at once; a lease never released expires by itself). */
  release(): Promise<void>;
  /** Tells the other instances which blob the download under this lease writes. */
  publish(download: LeasedDownload): Promise<void>;
}

/**
 * A zip download another instance runs under its lease: its blob, and how
 * many of its chunks are stored so far (see {@linkcode Leases.download}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LeasedDownload } from "./store.ts";
 * const download: LeasedDownload = { blobId: 3, chunkSize: 262144, size: 1000000, chunks: 2 };
 * assert(download.chunks! < Math.ceil(download.size / download.chunkSize));
 * ```
 */
export interface LeasedDownload {
  blobId: number;
  chunkSize: number;
  size: number;
  /** Chunks stored so far (when read back by {@linkcode Leases.download}). */
  chunks?: number;
}

/**
 * Named leases across the instances sharing a store: one holder per name at
 * a time. A holder keeps its lease alive while it works; one that crashed
 * stops doing so, and its lease passes on once it expires.
 *
 * @example
 * ```ts
 * import type { Lease, Leases } from "./store.ts";
 * const lease: Lease = { release: () => Promise.resolve(), publish: () => Promise.resolve() };
 * const solo: Leases = {
 *   acquire: () => Promise.resolve(lease),
 *   tryAcquire: () => Promise.resolve(lease),
 *   download: () => Promise.resolve(undefined),
 * };
 * await solo.acquire("zip example.com/m v1.0.0");
 * await lease.release();
 * ```
 */
export interface Leases {
  /** Waits until this instance holds `name`, and keeps it until released. */
  acquire(name: string): Promise<Lease>;
  /** Takes `name` if nobody holds it (or its lease expired); undefined when another does. */
  tryAcquire(name: string): Promise<Lease | undefined>;
  /**
   * The download another instance published under its live lease on `name`,
   * with the chunks stored so far; undefined when there is none.
   */
  download(name: string): Promise<LeasedDownload | undefined>;
}
