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
