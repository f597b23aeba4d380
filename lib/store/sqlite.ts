/**
 * The SQLite store: the only module that speaks SQL. One database file holds
 * every artifact Astera has served, so a restart (or a copy of the file) keeps
 * the whole cache.
 *
 * Immutable artifacts (`.info` of a canonical version, `.mod`, `.zip`) live in
 * `artifacts`: small ones inline, zips as a blob of fixed-size chunks so that
 * neither writing nor reading ever needs a whole zip in memory. Answers that
 * may change (`list`, `@latest`, query `.info`) and not-found answers live in
 * `answers` with the time they were fetched, for freshness decisions.
 *
 * What is read back is checked against what was stored: an inline artifact
 * against its ETag (a SHA-256 prefix), each chunk against the SHA-256 kept
 * beside it since schema 2. A mismatch raises {@linkcode StoredDamageError}:
 * an SD card that flips a bit never has its damage served.
 *
 * `node:sqlite` is synchronous, so every call blocks the event loop: calls are
 * kept small, the busy timeout is short, and writes that meet a lock held by
 * another process (the seed task) back off asynchronously instead of waiting
 * inside SQLite.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { bytesEqual } from "../util/bytes.ts";

/** The immutable artifact kinds. */
export type ArtifactKind = "info" | "mod" | "zip";

/** What is known about a stored artifact, without its content. */
export interface ArtifactMeta {
  module: string;
  version: string;
  kind: ArtifactKind;
  size: number;
  /** A strong ETag, quoted. */
  etag: string;
  storedAt: number;
  /** The chunked blob holding the content, or null when it is stored inline. */
  blobId: number | null;
  /** Bytes per chunk of the blob (every chunk but the last is this long). */
  chunkSize: number;
  /**
   * Whether every chunk of the blob has its own digest (blobs written since
   * schema 2, or checked whole by `deno task verify`). Without, only a read
   * of the whole zip can be checked, against the ETag.
   */
  chunkDigests: boolean;
}

/** A stored answer that may change: a list, a latest or query answer, or a not-found. */
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

/** Counters of database work, for the benchmark's "SQLite pressure" figure. */
export interface StoreStats {
  reads: number;
  writes: number;
  busyRetries: number;
}

/** Options of {@linkcode Store.open}. */
export interface StoreOptions {
  /** How long one SQLite call may wait for a lock before we back off (ms). */
  busyTimeoutMs?: number;
  /** How long a write keeps retrying a locked database before it fails (ms). */
  writeDeadlineMs?: number;
  /** Bytes per stored zip chunk. */
  chunkSize?: number;
  /** The wall clock, for the times stored in the database (ms). */
  now?: () => number;
  /** A monotonic clock, for how long something took or stayed unchanged (ms). */
  elapsed?: () => number;
}

/** The default chunk size: small enough that one read never stalls the event loop. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

const MIGRATIONS: string[] = [
  // AUTOINCREMENT: a blob id is never reused, so memory caches keyed by it can never go stale.
  `CREATE TABLE blobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     chunk_size INTEGER NOT NULL,
     committed INTEGER NOT NULL DEFAULT 0,
     touched_at INTEGER NOT NULL
   );
   CREATE INDEX blobs_pending ON blobs(touched_at) WHERE committed = 0;
   CREATE TABLE chunks (
     blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (blob_id, seq)
   );
   CREATE TABLE artifacts (
     module TEXT NOT NULL,
     version TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('info', 'mod', 'zip')),
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     stored_at INTEGER NOT NULL,
     data BLOB,
     blob_id INTEGER REFERENCES blobs(id),
     PRIMARY KEY (module, version, kind)
   );
   CREATE TABLE answers (
     kind TEXT NOT NULL,
     module TEXT NOT NULL,
     key TEXT NOT NULL,
     status INTEGER NOT NULL,
     body BLOB NOT NULL,
     fetched_at INTEGER NOT NULL,
     PRIMARY KEY (kind, module, key)
   );`,
  // Each chunk's SHA-256, so that a chunk read alone can be checked. Adding a column rewrites
  // nothing, so this is instant on any database: chunks stored before stay without a digest
  // (checked when their zip is read whole, and given one by `deno task verify`).
  `ALTER TABLE chunks ADD COLUMN digest BLOB;
   ALTER TABLE blobs ADD COLUMN chunk_digests INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE answers ADD COLUMN digest BLOB;`,
];

/**
 * The synchronous operations available inside {@linkcode Store.batch}: they
 * all run in its one transaction.
 */
export interface StoreBatch {
  /**
   * Stores a small immutable artifact inline unless it is stored already
   * (then it is kept as it is). `etag` is {@linkcode strongEtag} of `data`.
   * Returns true when it was stored now.
   */
  putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag: string,
  ): boolean;
  /** A stored answer, as this transaction sees it. */
  answer(kind: string, module: string, key: string): StoredAnswer | undefined;
  /** Stores (replacing) an answer. */
  putAnswer(answer: StoredAnswer): void;
}

/** The answer kind noting why an artifact was removed as damaged (see {@linkcode Store.removeArtifact}). */
export const DAMAGED = "damaged";

/** What was read from the store is not what was stored: the stored copy is damaged. */
export class StoredDamageError extends Error {
  override name = "StoredDamageError";
}

/**
 * Whether `error` is SQLite saying the file itself is damaged (a page of
 * garbage: SQLITE_CORRUPT or SQLITE_NOTADB), not that a row is.
 */
export function isDatabaseCorrupt(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { errcode?: number }).errcode;
  // Extended codes (SQLITE_CORRUPT_INDEX…) keep the primary code in their low byte.
  if (typeof code === "number" && ((code & 0xff) === 11 || (code & 0xff) === 26)) return true;
  return /database disk image is malformed|file is not a database/i.test(error.message);
}

/** The error a write raises when the database stayed locked past its deadline. */
export class StoreBusyError extends Error {
  override name = "StoreBusyError";
}

/**
 * The database. Open one per process.
 *
 * @example
 * ```ts
 * import { Store } from "./sqlite.ts";
 * const store = Store.open(":memory:");
 * await store.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module example.com/m\n"));
 * console.log(store.artifact("example.com/m", "v1.0.0", "mod")?.size); // 21
 * store.close();
 * ```
 */
export class Store {
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

  private constructor(db: DatabaseSync, options: StoreOptions) {
    this.#db = db;
    this.#writeDeadlineMs = options.writeDeadlineMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#elapsed = options.elapsed ?? (() => performance.now());
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** Opens (creating if needed) and migrates the database at `path`. Throws if it cannot. */
  static open(path: string, options: StoreOptions = {}): Store {
    const db = new DatabaseSync(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 50))}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new Store(db, options);
  }

  /** Closes the database. */
  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** The schema version the database is at. */
  schemaVersion(): number {
    return Number(this.#read("PRAGMA user_version", [])?.user_version ?? 0);
  }

  /** Metadata of a stored artifact, or undefined. */
  artifact(module: string, version: string, kind: ArtifactKind): ArtifactMeta | undefined {
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

  /**
   * The content of an artifact stored inline (`.info`, `.mod`), or undefined.
   * Throws {@linkcode StoredDamageError} when it does not match its ETag.
   */
  inlineData(module: string, version: string, kind: ArtifactKind): Uint8Array | undefined {
    const row = this.#read(
      "SELECT data, etag FROM artifacts WHERE module = ? AND version = ? AND kind = ?",
      [module, version, kind],
    );
    if (!(row?.data instanceof Uint8Array)) return undefined;
    if (etagFromDigest(sha256(row.data)) !== row.etag) {
      throw new StoredDamageError(
        `stored copy does not match its SHA-256 ${row.etag}`,
      );
    }
    return row.data;
  }

  /**
   * One chunk of a blob, or undefined. Throws {@linkcode StoredDamageError}
   * when it does not match its digest (chunks stored before schema 2 have none).
   */
  chunk(blobId: number, seq: number): Uint8Array | undefined {
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

  /**
   * Removes a stored artifact found damaged (and its blob), so that it is
   * fetched again, and notes `why` as the answer of kind {@linkcode DAMAGED}
   * (key `<version>.<kind>`), for the error given while it cannot be. Only
   * the copy `meta` describes goes: one stored anew meanwhile stays. Returns
   * whether it was removed now.
   */
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

  /**
   * Records the digests of a blob's chunks, once its whole content was found
   * to match its ETag (a blob stored before schema 2). Chunks that have a
   * digest keep it.
   */
  async recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void> {
    await this.#write(() => {
      for (const [seq, digest] of digests.entries()) {
        this.#statement(
          "UPDATE chunks SET digest = ? WHERE blob_id = ? AND seq = ? AND digest IS NULL",
        )
          .run(digest, blobId, seq);
      }
      this.#statement("UPDATE blobs SET chunk_digests = 1 WHERE id = ?").run(blobId);
    });
  }

  /** The versions of `module` whose artifact of `kind` is stored, in no particular order. */
  storedVersions(module: string, kind: ArtifactKind): string[] {
    this.#stats.reads++;
    return this.#statement("SELECT version FROM artifacts WHERE module = ? AND kind = ?")
      .all(module, kind).map((row) => String(row.version));
  }

  /**
   * A stored answer, or undefined. Throws {@linkcode StoredDamageError} when
   * its body does not match its digest (answers stored before schema 2 have none).
   */
  answer(kind: string, module: string, key: string): StoredAnswer | undefined {
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

  /** Stores (replacing) an answer. */
  async putAnswer(answer: StoredAnswer): Promise<void> {
    await this.#write(() => this.#putAnswerNow(answer));
  }

  /** Forgets an answer (used when an artifact turns up after a remembered not-found). */
  async deleteAnswer(kind: string, module: string, key: string): Promise<void> {
    await this.#write(() =>
      this.#statement("DELETE FROM answers WHERE kind = ? AND module = ? AND key = ?")
        .run(kind, module, key)
    );
  }

  /**
   * Stores a small immutable artifact inline. An artifact already stored is
   * kept as it is: what was served once never changes. Returns the stored
   * artifact's metadata. `etag` is `data`'s {@linkcode strongEtag}, when the
   * caller has it already.
   */
  async putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    etag ??= await strongEtag(data);
    await this.#write(() => this.#putInlineNow(module, version, kind, data, etag));
    return this.artifact(module, version, kind)!;
  }

  /**
   * Runs `body` in one short write transaction, for importing many small
   * things at once (the seed task) without one transaction per row. `body`
   * must be synchronous and quick: other processes' writes wait while it runs.
   * Everything it did is rolled back if it throws.
   *
   * @example
   * ```ts
   * import { Store, strongEtag } from "./sqlite.ts";
   * const store = Store.open(":memory:");
   * const data = new TextEncoder().encode("module example.com/m\n");
   * const etag = await strongEtag(data);
   * const stored = await store.batch((batch) => batch.putInline("example.com/m", "v1.0.0", "mod", data, etag));
   * console.log(stored); // true
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
          return this.answer(kind, module, key);
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

  /** Starts a chunked blob. It stays invisible until {@linkcode Store.commitBlob}. */
  async createBlob(): Promise<number> {
    let id = 0;
    await this.#write(() => {
      id = Number(
        this.#statement(
          "INSERT INTO blobs (chunk_size, touched_at, chunk_digests) VALUES (?, ?, 1)",
        )
          .run(this.chunkSize, this.#now()).lastInsertRowid,
      );
    });
    this.#writing.add(id);
    return id;
  }

  /**
   * Writes chunk `seq` of a pending blob with its SHA-256 (checked when it is
   * read back), and marks the blob as in use.
   */
  async putChunk(blobId: number, seq: number, data: Uint8Array): Promise<void> {
    const digest = sha256(data);
    await this.#write(() => {
      this.#statement(
        "INSERT OR REPLACE INTO chunks (blob_id, seq, data, digest) VALUES (?, ?, ?, ?)",
      ).run(blobId, seq, data, digest);
      this.#statement("UPDATE blobs SET touched_at = ? WHERE id = ?").run(this.#now(), blobId);
    });
  }

  /**
   * Makes a fully written blob the content of an artifact, in one transaction.
   * If the artifact was stored meanwhile (by another process), the stored one
   * is kept and returned, and the blob stays pending for the caller to
   * discard (once nothing reads it any more). Returns the stored artifact.
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
    return this.artifact(module, version, kind)!;
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
      await this.#write(() => this.#deleteBlobNow(blobId));
    } finally {
      // Not deleted after all (a full disk): the sweep may have it then.
      this.#writing.delete(blobId);
    }
  }

  /**
   * Deletes blobs left pending by a crash or an abandoned download: those
   * not written to for `olderThanMs`, so that a download under way (here or
   * in another process) is left alone; this store's own downloads are never
   * swept, however slow. A blob written to or committed after the sweep
   * looked at it is kept. Returns how many went.
   *
   * A blob stamped later than the clock reads (the clock went back since)
   * goes once an earlier sweep, at least `olderThanMs` ago by the monotonic
   * clock, saw the same stamp: nothing wrote to it in between.
   */
  async sweepPendingBlobs(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    const seenAt = this.#elapsed();
    this.#stats.reads++;
    const pending = this.#statement("SELECT id, touched_at FROM blobs WHERE committed = 0").all()
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
      return [`integrity check failed: ${error instanceof Error ? error.message : String(error)}`];
    }
  }

  /**
   * Reads the first rows of every table and index (a few pages, well under
   * a millisecond): a malformed page where every lookup starts shows here.
   * Returns what SQLite said, or undefined when all read.
   */
  probe(): string | undefined {
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
        return error instanceof Error ? error.message : String(error);
      }
    }
    return undefined;
  }

  /** Every stored artifact, for a check of the whole store. */
  allArtifacts(): ArtifactMeta[] {
    this.#stats.reads++;
    return this.#statement(
      `SELECT a.module, a.version, a.kind FROM artifacts a ORDER BY a.module, a.version, a.kind`,
    ).all().flatMap((row) =>
      this.artifact(String(row.module), String(row.version), row.kind as ArtifactKind) ?? []
    );
  }

  /** The keys of every stored answer (lists, not-founds, checksum-database files). */
  answerKeys(): { kind: string; module: string; key: string }[] {
    this.#stats.reads++;
    return this.#statement("SELECT kind, module, key FROM answers ORDER BY kind, module, key").all()
      .map((row) => ({ kind: String(row.kind), module: String(row.module), key: String(row.key) }));
  }

  /** A snapshot of the counters. */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  /**
   * How big the database file is, and how much of it is free pages that new
   * data reuses (the file never shrinks by itself).
   */
  size(): { bytes: number; freeBytes: number } {
    const pragma = (name: string) => Number(this.#db.prepare(`PRAGMA ${name}`).get()?.[name] ?? 0);
    const pageSize = pragma("page_size");
    return {
      bytes: pragma("page_count") * pageSize,
      freeBytes: pragma("freelist_count") * pageSize,
    };
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

  #deleteBlobNow(blobId: number): void {
    this.#statement("DELETE FROM chunks WHERE blob_id = ?").run(blobId);
    this.#statement("DELETE FROM blobs WHERE id = ? AND committed = 0").run(blobId);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #read(sql: string, params: SQLInputValue[]): Record<string, SQLInputValue> | undefined {
    this.#stats.reads++;
    return this.#statement(sql).get(...params) as Record<string, SQLInputValue> | undefined;
  }

  /** Runs `body` in one IMMEDIATE transaction, backing off asynchronously while locked. */
  async #write(body: () => void): Promise<void> {
    const deadline = this.#elapsed() + this.#writeDeadlineMs;
    for (let attempt = 0;; attempt++) {
      try {
        this.#db.exec("BEGIN IMMEDIATE");
      } catch (error) {
        if (!isBusy(error) || this.#elapsed() > deadline) {
          throw isBusy(error)
            ? new StoreBusyError(`database stayed locked for ${this.#writeDeadlineMs} ms`)
            : error;
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
        throw error;
      }
    }
  }
}

function isBusy(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { errcode?: number }).errcode;
  return code === 5 || code === 6 || /database is locked|busy/i.test(error.message);
}

function migrate(db: DatabaseSync): void {
  const current = Number(
    (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
  );
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this Astera knows (${MIGRATIONS.length})`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated while we waited for the lock.
      const now = Number(
        (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      );
      if (now === version) {
        db.exec(MIGRATIONS[version]);
        db.exec(`PRAGMA user_version = ${version + 1}`);
      }
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }
}

/**
 * A strong ETag for content: the quoted hex of a SHA-256 prefix.
 *
 * @example
 * ```ts
 * import { strongEtag } from "./sqlite.ts";
 * console.log(await strongEtag(new Uint8Array())); // "e3b0c44298fc1c149afbf4c8996fb924"
 * ```
 */
export async function strongEtag(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return etagFromDigest(digest);
}

/** The SHA-256 of `data`, synchronously (a 256 KiB chunk takes well under a millisecond). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** The ETag for a SHA-256 digest computed elsewhere (e.g. incrementally over a stream). */
export function etagFromDigest(digest: Uint8Array): string {
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `"${hex}"`;
}
