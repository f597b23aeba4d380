/**
 * The SQLite store: the only module that speaks SQL and imports
 * `node:sqlite`. One database file holds every artifact Astera has served, so
 * a restart (or a copy of the file) keeps the whole cache. Its tables are in
 * `sqlite_schema.ts`.
 *
 * What is read back is checked against what was stored: an inline artifact
 * against its ETag (a SHA-256 prefix), each chunk and answer against the
 * SHA-256 kept beside it since schema 2. A mismatch raises
 * {@linkcode StoredDamageError}: an SD card that flips a bit never has its
 * damage served. SQLite's own errors leave this module as the store's typed
 * errors (busy, full, corrupt), never by name.
 *
 * `node:sqlite` is synchronous, so every call blocks the event loop: calls are
 * kept small, the busy timeout is short, and writes that meet a lock held by
 * another process (the seed task) back off asynchronously instead of waiting
 * inside SQLite.
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { bytesEqual } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { ChunkedBlobWriter } from "./blob_writer.ts";
import { readBlobRange } from "./blob_range.ts";
import { etagFromDigest, sha256, strongEtag } from "./digest.ts";
import { isBusy, storeError } from "./sqlite_errors.ts";
import { migrate } from "./sqlite_schema.ts";
import {
  deleteBlobChunksNow,
  evictionCandidatesNow,
  evictZipNow,
  recordServedNow,
  smallBytesNow,
} from "./sqlite_budget.ts";
import {
  type AnswerKey,
  type ArtifactKind,
  type ArtifactMeta,
  type BlobRef,
  type BlobWriter,
  DAMAGED,
  DEFAULT_CHUNK_SIZE,
  type ServedHit,
  type Store as StoreInterface,
  type StoreBatch,
  StoreBusyError,
  type StoredAnswer,
  StoredDamageError,
  type StoreOptions,
  type StoreSize,
  type StoreStats,
} from "./store.ts";

/**
 * Options of {@linkcode SqliteStore.open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteStore } from "./sqlite.ts";
 * const store = SqliteStore.open(":memory:", { chunkSize: 64 * 1024, writeDeadlineMs: 5_000 });
 * assert(store.chunkSize === 65536);
 * store.close();
 * ```
 */
export interface SqliteStoreOptions extends StoreOptions {
  /** How long one SQLite call may wait for a lock before we back off (ms). */
  busyTimeoutMs?: number;
  /** How long a write keeps retrying a locked database before it fails (ms). */
  writeDeadlineMs?: number;
}

/**
 * The SQLite database as a {@linkcode StoreInterface | Store}. Open one per process. Beside
 * the interface it has SQLite's own tools (`integrityCheck`, `schemaVersion`)
 * and the blob steps its {@linkcode BlobWriter} takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteStore } from "./sqlite.ts";
 * const store = SqliteStore.open(":memory:");
 * await store.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module example.com/m\n"));
 * assert((await store.artifact("example.com/m", "v1.0.0", "mod"))?.size === 21);
 * store.close();
 * ```
 */
export class SqliteStore implements StoreInterface {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #stats: StoreStats = { reads: 0, writes: 0, busyRetries: 0 };
  #writeDeadlineMs: number;
  #now: () => number;
  #elapsed: () => number;
  /** Blobs this store created and has not yet committed or discarded: never swept. */
  #writing = new Set<number>();
  /** Each pending blob's write stamp when a sweep last saw it, and when that was (monotonic). */
  #pendingSeen = new Map<number, { touchedAt: number; seenAt: number }>();
  /** Bytes per chunk for new blobs. */
  readonly chunkSize: number;

  private constructor(db: DatabaseSync, options: SqliteStoreOptions) {
    this.#db = db;
    this.#writeDeadlineMs = options.writeDeadlineMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#elapsed = options.elapsed ?? (() => performance.now());
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /**
   * Opens (creating if needed) and migrates the database at `path`. Throws
   * if it cannot (`StoreCorruptError` when the file is not a database).
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (error) {
      throw storeError(error);
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 50))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
      migrate(db);
      if (options.maxBytes !== undefined) {
        const pageSize = Number(db.prepare("PRAGMA page_size").get()?.page_size ?? 4096);
        db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
      }
    } catch (error) {
      db.close();
      throw storeError(error);
    }
    return new SqliteStore(db, options);
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** The schema version the database is at. */
  schemaVersion(): number {
    return Number(this.#read("PRAGMA user_version", [])?.user_version ?? 0);
  }

  artifact(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta | undefined> {
    return settle(() => this.#artifactNow(module, version, kind));
  }

  /** {@linkcode artifact}, synchronously (SQLite answers without a round trip). */
  #artifactNow(module: string, version: string, kind: ArtifactKind): ArtifactMeta | undefined {
    const row = this.#read(
      `SELECT a.size, a.etag, a.stored_at, a.blob_id, b.chunk_size, b.chunk_digests
       FROM artifacts a LEFT JOIN blobs b ON b.id = a.blob_id
       WHERE a.module = ? AND a.version = ? AND a.kind = ?`,
      [module, version, kind],
    );
    if (!row) return undefined;
    return {
      module,
      version,
      kind,
      size: Number(row.size),
      etag: String(row.etag),
      storedAt: Number(row.stored_at),
      blobId: row.blob_id === null ? null : Number(row.blob_id),
      chunkSize: row.chunk_size === null ? 0 : Number(row.chunk_size),
      chunkDigests: Number(row.chunk_digests ?? 0) === 1,
    };
  }

  inlineData(module: string, version: string, kind: ArtifactKind): Promise<Uint8Array | undefined> {
    return settle(() => this.#inlineData(module, version, kind));
  }

  #inlineData(module: string, version: string, kind: ArtifactKind): Uint8Array | undefined {
    const row = this.#read(
      "SELECT data, etag FROM artifacts WHERE module = ? AND version = ? AND kind = ?",
      [module, version, kind],
    );
    if (!(row?.data instanceof Uint8Array)) return undefined;
    if (etagFromDigest(sha256(row.data)) !== row.etag) {
      throw new StoredDamageError(`stored copy does not match its SHA-256 ${row.etag}`);
    }
    return row.data;
  }

  chunk(blobId: number, seq: number): Promise<Uint8Array | undefined> {
    return settle(() => this.#chunk(blobId, seq));
  }

  #chunk(blobId: number, seq: number): Uint8Array | undefined {
    const row = this.#read("SELECT data, digest FROM chunks WHERE blob_id = ? AND seq = ?", [
      blobId,
      seq,
    ]);
    if (!(row?.data instanceof Uint8Array)) return undefined;
    if (row.digest instanceof Uint8Array && !bytesEqual(sha256(row.data), row.digest)) {
      throw new StoredDamageError(`chunk ${seq} of blob ${blobId} does not match its SHA-256`);
    }
    return row.data;
  }

  readRange(blob: BlobRef, start: number, end: number): AsyncIterable<Uint8Array> {
    const blobId = blob.blobId!;
    return readBlobRange((seq) => this.chunk(blobId, seq), blob, start, end);
  }

  async removeArtifact(meta: ArtifactMeta, why: string): Promise<boolean> {
    let removed = false;
    await this.#write(() => {
      removed = Number(
        this.#statement(
          `DELETE FROM artifacts
           WHERE module = ? AND version = ? AND kind = ? AND etag = ? AND blob_id IS ?`,
        ).run(meta.module, meta.version, meta.kind, meta.etag, meta.blobId).changes,
      ) === 1;
      if (!removed) return;
      if (meta.blobId !== null) {
        this.#statement("DELETE FROM chunks WHERE blob_id = ?").run(meta.blobId);
        this.#statement("DELETE FROM blobs WHERE id = ?").run(meta.blobId);
      }
      // Read only when the artifact cannot be had; dropped once it is stored again.
      this.#putAnswerNow({
        kind: DAMAGED,
        module: meta.module,
        key: `${meta.version}.${meta.kind}`,
        status: 502,
        body: new TextEncoder().encode(why),
        fetchedAt: this.#now(),
      });
    });
    return removed;
  }

  async recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void> {
    await this.#write(() => {
      for (const [seq, digest] of digests.entries()) {
        this.#statement(
          "UPDATE chunks SET digest = ? WHERE blob_id = ? AND seq = ? AND digest IS NULL",
        ).run(digest, blobId, seq);
      }
      this.#statement("UPDATE blobs SET chunk_digests = 1 WHERE id = ?").run(blobId);
    });
  }

  storedVersions(module: string, kind: ArtifactKind): Promise<string[]> {
    return settle(() => this.#storedVersionsNow(module, kind));
  }

  /** {@linkcode storedVersions}, synchronously. */
  #storedVersionsNow(module: string, kind: ArtifactKind): string[] {
    return this.#all("SELECT version FROM artifacts WHERE module = ? AND kind = ?", [module, kind])
      .map((row) => String(row.version));
  }

  answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    return settle(() => this.#answerNow(kind, module, key));
  }

  /** {@linkcode answer}, synchronously. */
  #answerNow(kind: string, module: string, key: string): StoredAnswer | undefined {
    const row = this.#read(
      "SELECT status, body, fetched_at, digest FROM answers WHERE kind = ? AND module = ? AND key = ?",
      [kind, module, key],
    );
    if (!row || !(row.body instanceof Uint8Array)) return undefined;
    if (row.digest instanceof Uint8Array && !bytesEqual(sha256(row.body), row.digest)) {
      throw new StoredDamageError(`stored ${kind} answer does not match its SHA-256`);
    }
    return {
      kind,
      module,
      key,
      status: Number(row.status),
      body: row.body,
      fetchedAt: Number(row.fetched_at),
    };
  }

  async putAnswer(answer: StoredAnswer): Promise<void> {
    await this.#write(() => this.#putAnswerNow(answer));
  }

  async deleteAnswer(kind: string, module: string, key: string): Promise<void> {
    await this.#write(() =>
      this.#statement("DELETE FROM answers WHERE kind = ? AND module = ? AND key = ?")
        .run(kind, module, key)
    );
  }

  async putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    etag ??= await strongEtag(data);
    await this.#write(() => this.#putInlineNow(module, version, kind, data, etag));
    return this.#artifactNow(module, version, kind)!;
  }

  /**
   * See {@linkcode StoreInterface.batch}: other processes' writes wait while `body` runs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SqliteStore } from "./sqlite.ts";
   * import { strongEtag } from "./digest.ts";
   * const store = SqliteStore.open(":memory:");
   * const data = new TextEncoder().encode("module example.com/m\n");
   * const etag = await strongEtag(data);
   * const stored = await store.batch((batch) => batch.putInline("example.com/m", "v1.0.0", "mod", data, etag));
   * assert(stored === true);
   * store.close();
   * ```
   */
  async batch<T>(body: (batch: StoreBatch) => T): Promise<T> {
    const batch: StoreBatch = {
      putInline: (module, version, kind, data, etag) =>
        this.#putInlineNow(module, version, kind, data, etag),
      // A damaged answer is as good as none here: what the batch stores replaces it.
      answer: (kind, module, key) => {
        try {
          return this.#answerNow(kind, module, key);
        } catch (error) {
          if (error instanceof StoredDamageError) return undefined;
          throw error;
        }
      },
      putAnswer: (answer) => this.#putAnswerNow(answer),
    };
    let result: T | undefined;
    await this.#write(() => {
      result = body(batch);
    });
    return result as T;
  }

  async writeBlob(): Promise<BlobWriter> {
    return new ChunkedBlobWriter(this, await this.createBlob(), this.chunkSize);
  }

  /** A step of {@linkcode writeBlob}: starts a pending blob, invisible until committed. */
  async createBlob(): Promise<number> {
    let id = 0;
    await this.#write(() => {
      id = Number(
        this.#statement(
          "INSERT INTO blobs (chunk_size, touched_at, chunk_digests) VALUES (?, ?, 1)",
        ).run(this.chunkSize, this.#now()).lastInsertRowid,
      );
    });
    this.#writing.add(id);
    return id;
  }

  /**
   * A step of {@linkcode writeBlob}: writes chunk `seq` of a pending blob with
   * its SHA-256 (checked when it is read back), and marks the blob as in use.
   */
  async putChunk(
    blobId: number,
    seq: number,
    data: Uint8Array,
    digest: Uint8Array = sha256(data),
  ): Promise<void> {
    await this.#write(() => {
      this.#statement(
        "INSERT OR REPLACE INTO chunks (blob_id, seq, data, digest) VALUES (?, ?, ?, ?)",
      ).run(blobId, seq, data, digest);
      this.#statement("UPDATE blobs SET touched_at = ? WHERE id = ?").run(this.#now(), blobId);
    });
  }

  /**
   * A step of {@linkcode writeBlob}: makes a whole pending blob the content
   * of an artifact, in one transaction. If the artifact was stored meanwhile
   * (by another process), the stored one is kept and returned, and the blob
   * stays pending for the caller to discard or abandon.
   */
  async commitBlob(
    module: string,
    version: string,
    kind: ArtifactKind,
    blobId: number,
    size: number,
    etag: string,
  ): Promise<ArtifactMeta> {
    await this.#write(() => {
      const inserted = this.#statement(
        `INSERT INTO artifacts (module, version, kind, size, etag, stored_at, data, blob_id)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING`,
      ).run(module, version, kind, size, etag, this.#now(), blobId);
      if (Number(inserted.changes) === 1) {
        this.#statement("UPDATE blobs SET committed = 1 WHERE id = ?").run(blobId);
        this.#forgetDamageNow(module, version, kind);
      }
    });
    this.#writing.delete(blobId);
    return this.#artifactNow(module, version, kind)!;
  }

  /**
   * Leaves a pending blob this store wrote to the sweep, for readers that may
   * still be on it (another isolate following a download it learns of late).
   */
  abandonBlob(blobId: number): void {
    this.#writing.delete(blobId);
  }

  /** Deletes a pending blob and its chunks. */
  async discardBlob(blobId: number): Promise<void> {
    try {
      await this.#write(() => {
        this.#statement("DELETE FROM chunks WHERE blob_id = ?").run(blobId);
        this.#statement("DELETE FROM blobs WHERE id = ? AND committed = 0").run(blobId);
      });
    } finally {
      // Not deleted after all (a full disk): the sweep may have it then.
      this.#writing.delete(blobId);
    }
  }

  /**
   * See {@linkcode StoreInterface.sweepPendingBlobs}; this also spares a blob another
   * process writes to. A blob written to or committed after the sweep looked
   * at it is kept. One stamped later than the clock reads (the clock went
   * back since) goes once an earlier sweep, at least `olderThanMs` ago by the
   * monotonic clock, saw the same stamp: nothing wrote to it in between.
   */
  async sweepPendingBlobs(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    const seenAt = this.#elapsed();
    const pending = this.#all("SELECT id, touched_at FROM blobs WHERE committed = 0", [])
      .map((row) => ({ id: Number(row.id), touchedAt: Number(row.touched_at) }));
    const seen = new Map<number, { touchedAt: number; seenAt: number }>();
    const abandoned: { id: number; touchedAt: number }[] = [];
    for (const { id, touchedAt } of pending) {
      if (this.#writing.has(id)) continue;
      const before = this.#pendingSeen.get(id);
      const unchanged = before?.touchedAt === touchedAt && seenAt - before.seenAt >= olderThanMs;
      if (touchedAt < cutoff || unchanged) abandoned.push({ id, touchedAt });
      else seen.set(id, before?.touchedAt === touchedAt ? before : { touchedAt, seenAt });
    }
    this.#pendingSeen = seen;
    let swept = 0;
    for (const { id, touchedAt } of abandoned) {
      await this.#write(() => {
        // Only as the sweep saw it: still pending, and not written to since.
        const still = "SELECT 1 FROM blobs WHERE id = ? AND committed = 0 AND touched_at = ?";
        this.#statement(`DELETE FROM chunks WHERE blob_id = ? AND EXISTS (${still})`)
          .run(id, id, touchedAt);
        swept += Number(
          this.#statement("DELETE FROM blobs WHERE id = ? AND committed = 0 AND touched_at = ?")
            .run(id, touchedAt).changes,
        );
      });
    }
    return swept;
  }

  /**
   * SQLite's own check of the file (`PRAGMA integrity_check`): `["ok"]`, or
   * up to `max` problems it found. It reads every page: minutes for a big
   * database on an SD card, so only `deno task verify` runs it.
   */
  integrityCheck(max = 100): string[] {
    try {
      return this.#db.prepare(`PRAGMA integrity_check(${Math.max(1, Math.trunc(max))})`).all()
        .map((row) => String(Object.values(row)[0]));
    } catch (error) {
      return [`integrity check failed: ${errorText(error)}`];
    }
  }

  /**
   * Reads the first rows of every table and index (a few pages, well under
   * a millisecond): a malformed page where every lookup starts shows here.
   */
  probe(): Promise<string | undefined> {
    return settle(() => this.#probe());
  }

  #probe(): string | undefined {
    const probes = [
      "SELECT * FROM artifacts LIMIT 1",
      "SELECT module, version, kind FROM artifacts ORDER BY module, version, kind LIMIT 1",
      "SELECT * FROM answers ORDER BY kind, module, key LIMIT 1",
      "SELECT * FROM blobs LIMIT 1",
      "SELECT blob_id, seq FROM chunks ORDER BY blob_id, seq LIMIT 1",
    ];
    for (const sql of probes) {
      try {
        this.#db.prepare(sql).all();
      } catch (error) {
        return errorText(error);
      }
    }
    return undefined;
  }

  listArtifacts(): Promise<ArtifactMeta[]> {
    return settle(() =>
      this.#all(
        "SELECT module, version, kind FROM artifacts ORDER BY module, version, kind",
        [],
      ).flatMap((row) =>
        this.#artifactNow(String(row.module), String(row.version), row.kind as ArtifactKind) ?? []
      )
    );
  }

  answerKeys(): Promise<AnswerKey[]> {
    return settle(() =>
      this.#all("SELECT kind, module, key FROM answers ORDER BY kind, module, key", [])
        .map((row) => ({
          kind: String(row.kind),
          module: String(row.module),
          key: String(row.key),
        }))
    );
  }

  stats(): StoreStats {
    return { ...this.#stats };
  }

  /**
   * How big the database file is, and how much of it is free pages that new
   * data reuses (the file never shrinks by itself).
   */
  size(): Promise<StoreSize> {
    return settle(() => this.#size());
  }

  #size(): StoreSize {
    const pragma = (name: string) => Number(this.#db.prepare(`PRAGMA ${name}`).get()?.[name] ?? 0);
    const pageSize = pragma("page_size");
    return {
      bytes: pragma("page_count") * pageSize,
      freeBytes: pragma("freelist_count") * pageSize,
    };
  }

  // ---- the disk budget (SQL in sqlite_budget.ts) ----

  recordServed(hits: readonly ServedHit[]): Promise<void> {
    if (hits.length === 0) return Promise.resolve();
    return this.#write(() => recordServedNow(this.#prepare, hits));
  }

  usedBytes(): Promise<number> {
    return settle(() => {
      const { bytes, freeBytes } = this.#size();
      return bytes - freeBytes;
    });
  }

  smallBytes(): Promise<number> {
    return settle(() => this.#reading(() => smallBytesNow(this.#prepare)));
  }

  evictionCandidates(limit: number, skip = 0, servedBefore = Infinity): Promise<ArtifactMeta[]> {
    return settle(() =>
      this.#reading(() => evictionCandidatesNow(this.#prepare, limit, skip, servedBefore))
    );
  }

  async evictZip(meta: ArtifactMeta): Promise<boolean> {
    let removed = false;
    await this.#write(() => removed = evictZipNow(this.#prepare, meta));
    return removed;
  }

  async deleteBlobChunks(blobId: number, max: number): Promise<number> {
    let deleted = 0;
    await this.#write(() => deleted = deleteBlobChunksNow(this.#prepare, blobId, max));
    return deleted;
  }

  /** Inserts an inline artifact unless one is stored; whether it was inserted. */
  #putInlineNow(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag: string,
  ): boolean {
    const inserted = this.#statement(
      `INSERT INTO artifacts (module, version, kind, size, etag, stored_at, data, blob_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
    ).run(module, version, kind, data.byteLength, etag, this.#now(), data);
    if (Number(inserted.changes) !== 1) return false;
    this.#forgetDamageNow(module, version, kind);
    return true;
  }

  /** Drops the note of a copy removed as damaged, once the artifact is stored again. */
  #forgetDamageNow(module: string, version: string, kind: ArtifactKind): void {
    this.#statement("DELETE FROM answers WHERE kind = ? AND module = ? AND key = ?")
      .run(DAMAGED, module, `${version}.${kind}`);
  }

  #putAnswerNow(answer: StoredAnswer): void {
    this.#statement(
      `INSERT INTO answers (kind, module, key, status, body, fetched_at, digest)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, module, key) DO UPDATE SET status = excluded.status,
         body = excluded.body, fetched_at = excluded.fetched_at, digest = excluded.digest`,
    ).run(
      answer.kind,
      answer.module,
      answer.key,
      answer.status,
      answer.body,
      answer.fetchedAt,
      sha256(answer.body),
    );
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #prepare = (sql: string): StatementSync => this.#statement(sql);

  /** A read of several statements, counted once, with SQLite's errors as the store's. */
  #reading<T>(read: () => T): T {
    this.#stats.reads++;
    try {
      return read();
    } catch (error) {
      throw storeError(error);
    }
  }

  #read(sql: string, params: SQLInputValue[]): Record<string, SQLInputValue> | undefined {
    this.#stats.reads++;
    try {
      return this.#statement(sql).get(...params) as Record<string, SQLInputValue> | undefined;
    } catch (error) {
      throw storeError(error);
    }
  }

  #all(sql: string, params: SQLInputValue[]): Record<string, SQLInputValue>[] {
    this.#stats.reads++;
    try {
      return this.#statement(sql).all(...params) as Record<string, SQLInputValue>[];
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Runs `body` in one IMMEDIATE transaction, backing off asynchronously while locked. */
  async #write(body: () => void): Promise<void> {
    const deadline = this.#elapsed() + this.#writeDeadlineMs;
    for (let attempt = 0;; attempt++) {
      try {
        this.#db.exec("BEGIN IMMEDIATE");
      } catch (error) {
        if (!isBusy(error)) throw storeError(error);
        if (this.#elapsed() > deadline) {
          throw new StoreBusyError(`database stayed locked for ${this.#writeDeadlineMs} ms`);
        }
        this.#stats.busyRetries++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 200)));
        continue;
      }
      try {
        body();
        this.#db.exec("COMMIT");
        this.#stats.writes++;
        return;
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw storeError(error);
      }
    }
  }
}

/** Runs a synchronous read as the promise the interface asks for (a throw becomes a rejection). */
function settle<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error);
  }
}
