/**
 * The seed's synchronous view of the SQLite store, as it was before the
 * store had an interface: reads without `await`, blobs written step by step,
 * and SQLite's own errors for a full or malformed file (the seed stops on
 * `ERR_SQLITE_ERROR`). It goes once the seed writes through the `Store`
 * interface and its blob writer.
 *
 * @module
 */
import type { SqliteStore } from "./sqlite.ts";
import {
  type ArtifactKind,
  type ArtifactMeta,
  type StoreBatch,
  StoreCorruptError,
  type StoredAnswer,
  StoreFullError,
  type StoreSize,
  type StoreStats,
} from "./store.ts";

/**
 * A {@linkcode SqliteStore} seen as the seed knows it.
 *
 * @deprecated Use {@linkcode SqliteStore} through the `Store` interface.
 * @example
 * ```ts
 * import { Store } from "./sqlite.ts";
 * const store = Store.open(":memory:"); // a SyncSqliteStore
 * console.assert(store.answer("list", "example.com/m", "") === undefined);
 * store.close();
 * ```
 */
export class SyncSqliteStore {
  /** The store itself. */
  readonly store: SqliteStore;

  constructor(store: SqliteStore) {
    this.store = store;
  }

  /** Bytes per chunk of new blobs. */
  get chunkSize(): number {
    return this.store.chunkSize;
  }

  /** Metadata of a stored artifact, or undefined. */
  artifact(module: string, version: string, kind: ArtifactKind): ArtifactMeta | undefined {
    return now(() => this.store.artifactNow(module, version, kind));
  }

  /** A stored answer, or undefined. */
  answer(kind: string, module: string, key: string): StoredAnswer | undefined {
    return now(() => this.store.answerNow(kind, module, key));
  }

  /** The versions of `module` whose artifact of `kind` is stored. */
  storedVersions(module: string, kind: ArtifactKind): string[] {
    return now(() => this.store.storedVersionsNow(module, kind));
  }

  /** Stores (replacing) an answer. */
  putAnswer(answer: StoredAnswer): Promise<void> {
    return this.store.putAnswer(answer).catch(unwrap);
  }

  /** Runs `body` in one write transaction. */
  batch<T>(body: (batch: StoreBatch) => T): Promise<T> {
    return this.store.batch(body).catch(unwrap);
  }

  /** Starts a pending blob. */
  createBlob(): Promise<number> {
    return this.store.createBlob().catch(unwrap);
  }

  /** Writes chunk `seq` of a pending blob. */
  putChunk(blobId: number, seq: number, data: Uint8Array): Promise<void> {
    return this.store.putChunk(blobId, seq, data).catch(unwrap);
  }

  /** Makes a whole pending blob an artifact, unless one is stored (then that one is returned). */
  commitBlob(
    module: string,
    version: string,
    kind: ArtifactKind,
    blobId: number,
    size: number,
    etag: string,
  ): Promise<ArtifactMeta> {
    return this.store.commitBlob(module, version, kind, blobId, size, etag).catch(unwrap);
  }

  /** Deletes a pending blob. */
  discardBlob(blobId: number): Promise<void> {
    return this.store.discardBlob(blobId).catch(unwrap);
  }

  close(): void {
    this.store.close();
  }

  // ---- what the proxy still calls, until it moves to the Store interface ----

  /** The content of an inline artifact. */
  inlineData(module: string, version: string, kind: ArtifactKind): Uint8Array | undefined {
    return now(() => this.store.inlineDataNow(module, version, kind));
  }

  /** One chunk of a blob. */
  chunk(blobId: number, seq: number): Uint8Array | undefined {
    return now(() => this.store.chunkNow(blobId, seq));
  }

  /** Removes a damaged artifact. */
  removeArtifact(meta: ArtifactMeta, why: string): Promise<boolean> {
    return this.store.removeArtifact(meta, why).catch(unwrap);
  }

  /** Records the digests of an old blob's chunks. */
  recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void> {
    return this.store.recordChunkDigests(blobId, digests).catch(unwrap);
  }

  /** Forgets an answer. */
  deleteAnswer(kind: string, module: string, key: string): Promise<void> {
    return this.store.deleteAnswer(kind, module, key).catch(unwrap);
  }

  /** Stores a small artifact inline. */
  putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    return this.store.putInline(module, version, kind, data, etag).catch(unwrap);
  }

  /** Leaves a pending blob to the sweep. */
  abandonBlob(blobId: number): void {
    this.store.abandonBlob(blobId);
  }

  /** Deletes abandoned pending blobs. */
  sweepPendingBlobs(olderThanMs: number): Promise<number> {
    return this.store.sweepPendingBlobs(olderThanMs).catch(unwrap);
  }

  /** A quick look for damage. */
  probe(): string | undefined {
    return this.store.probeNow();
  }

  /** The counters. */
  stats(): StoreStats {
    return this.store.stats();
  }

  /** The file's size. */
  size(): StoreSize {
    return now(() => this.store.sizeNow());
  }
}

/**
 * Whether `error` is SQLite saying the file itself is damaged (a page of
 * garbage: SQLITE_CORRUPT or SQLITE_NOTADB), not that a row is.
 *
 * @deprecated Catch `StoreCorruptError` from the `Store` interface instead.
 * @example
 * ```ts
 * import { isDatabaseCorrupt } from "./sqlite_legacy.ts";
 * console.assert(!isDatabaseCorrupt(new Error("disk full")));
 * ```
 */
export function isDatabaseCorrupt(error: unknown): boolean {
  if (error instanceof StoreCorruptError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { errcode?: number }).errcode;
  if (typeof code === "number" && ((code & 0xff) === 11 || (code & 0xff) === 26)) return true;
  return /database disk image is malformed|file is not a database/i.test(error.message);
}

function now<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    return unwrap(error);
  }
}

/** SQLite's own error again, where the store typed it as full or malformed. */
function unwrap(error: unknown): never {
  if ((error instanceof StoreFullError || error instanceof StoreCorruptError) && error.cause) {
    throw error.cause;
  }
  throw error;
}
