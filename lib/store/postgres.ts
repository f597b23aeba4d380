/**
 * The PostgreSQL store: the same {@linkcode StoreInterface | Store} as
 * SQLite's, on a database several Astera instances share. Zips are blobs of
 * chunks of the same size, each a `bytea` row with its SHA-256 beside it;
 * inline artifacts are checked against their ETag and answers against their
 * digest when read back, as in `sqlite.ts`. The tables are in
 * `postgres_schema.ts`; the client is `postgres` (npm), with its pool of
 * connections, which reconnects by itself after the database comes back.
 *
 * Errors leave as the store's typed errors (`postgres_errors.ts`): a
 * database that cannot be reached is {@linkcode StoreUnavailableError}, which
 * the proxy answers with a 503 and a reason.
 *
 * @module
 */
import postgres from "postgres";
import { bytesEqual } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { ChunkedBlobWriter } from "./blob_writer.ts";
import { readBlobRange } from "./blob_range.ts";
import { etagFromDigest, sha256, strongEtag } from "./digest.ts";
import { postgresStoreError } from "./postgres_errors.ts";
import {
  deleteBlobChunksIn,
  evictionCandidatesIn,
  evictZipIn,
  recordServedIn,
  smallBytesIn,
  usedBytesIn,
} from "./postgres_budget.ts";
import { PostgresLeases } from "./postgres_lease.ts";
import { migratePostgres } from "./postgres_schema.ts";
import { type PasswordSources, postgresTarget } from "./postgres_url.ts";
import { PostgresBatch } from "./postgres_batch.ts";
import { decodeBytea } from "./postgres_bytea.ts";
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
  type StoredAnswer,
  StoredDamageError,
  StoreFullError,
  type StoreOptions,
  type StoreSize,
  type StoreStats,
} from "./store.ts";

/**
 * Options of {@linkcode PostgresStore.open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PostgresStoreOptions } from "./postgres.ts";
 * const options: PostgresStoreOptions = { maxConnections: 4, chunkSize: 64 * 1024 };
 * assert(options.maxConnections === 4);
 * ```
 */
export interface PostgresStoreOptions extends StoreOptions {
  /** Connections in the pool (default 8). */
  maxConnections?: number;
  /** How long to wait for a connection before the store is unavailable (s, default 5). */
  connectTimeoutS?: number;
  /** How long an upstream-fetch lease outlives a crashed holder (ms, default 30 s). */
  leaseMs?: number;
  /** Where the password comes from when the URL has none (tests). */
  passwordSources?: PasswordSources;
  /**
   * Told, after each zip chunk read or written, about how many bytes of
   * buffers the client used for it and let go of: a `bytea` travels as hex
   * text (twice its bytes), which the client receives in socket reads and
   * joins into one message (or, writing, encodes, copies into a message and
   * a send buffer). The proxy counts them towards its next requested
   * collection (`lib/proxy/reclaim.ts`): uncounted, 40 clients pulling a
   * 20 MB zip peaked at 186–220 MB RSS, against 156 MB on SQLite; counted,
   * at 165 MB (the reproduction of issue 17).
   */
  released?: (bytes: number) => void;
}

type Row = postgres.Row;
type Sql = postgres.Sql | postgres.TransactionSql;

/** A `bytea` as the plain `Uint8Array` the interface promises (the client returns a Buffer). */
function bytes(value: unknown): Uint8Array | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function metaOf(row: Row): ArtifactMeta {
  return {
    module: String(row.module),
    version: String(row.version),
    kind: row.kind as ArtifactKind,
    size: Number(row.size),
    etag: String(row.etag),
    storedAt: Number(row.stored_at),
    blobId: row.blob_id === null ? null : Number(row.blob_id),
    chunkSize: row.chunk_size === null ? 0 : Number(row.chunk_size),
    chunkDigests: row.chunk_digests === null ? false : Boolean(row.chunk_digests),
  };
}

/**
 * A PostgreSQL database as a {@linkcode StoreInterface | Store}. Open one per
 * process; any number of processes and machines may share the database.
 *
 * @example
 * ```ts ignore
 * import { PostgresStore } from "./postgres.ts";
 * const store = await PostgresStore.open("postgres://astera@db.lan/astera");
 * console.log(await store.artifact("example.com/m", "v1.0.0", "mod"));
 * await store.end();
 * ```
 */
export class PostgresStore implements StoreInterface {
  readonly chunkSize: number;
  readonly sql: postgres.Sql;
  /** One upstream fetch at a time across the instances (see `postgres_lease.ts`). */
  readonly leases: PostgresLeases;
  #stats: StoreStats = { reads: 0, writes: 0, busyRetries: 0 };
  #maxBytes: number | undefined;
  #now: () => number;
  #elapsed: () => number;
  /** Blobs this store created and has not yet committed or discarded: never swept. */
  #writing = new Set<number>();
  /** Each pending blob's write stamp when a sweep last saw it, and when that was (monotonic). */
  #pendingSeen = new Map<number, { touchedAt: number; seenAt: number }>();
  #released: (bytes: number) => void;

  private constructor(sql: postgres.Sql, options: PostgresStoreOptions) {
    this.sql = sql;
    this.leases = new PostgresLeases(sql, { ttlMs: options.leaseMs });
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#maxBytes = options.maxBytes;
    this.#now = options.now ?? Date.now;
    this.#elapsed = options.elapsed ?? (() => performance.now());
    this.#released = options.released ?? (() => {});
  }

  /**
   * Connects to the database at `url` and migrates it. Throws
   * `ForeignDatabaseError` for a database that is not Astera's or of a newer
   * schema, `StoreUnavailableError` when it cannot be reached.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const target = postgresTarget(url, options.passwordSources);
    const sql = postgres({
      host: target.host,
      port: target.port,
      database: target.database,
      username: target.user,
      password: target.password,
      max: options.maxConnections ?? 8,
      connect_timeout: options.connectTimeoutS ?? 5,
      idle_timeout: 60,
      onnotice: () => {},
      // Chunks are decoded from hex text by `decodeBytea`, whatever the server's default.
      connection: { bytea_output: "hex" },
    });
    try {
      await migratePostgres(sql);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw postgresStoreError(error);
    }
    return new PostgresStore(sql, options);
  }

  /** Closes the pool, waiting for queries under way (at most a second). */
  async end(): Promise<void> {
    await this.sql.end({ timeout: 1 });
  }

  close(): void {
    void this.end();
  }

  artifact(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql`
        SELECT a.module, a.version, a.kind, a.size, a.etag, a.stored_at, a.blob_id,
               b.chunk_size, b.chunk_digests
        FROM artifacts a LEFT JOIN blobs b ON b.id = a.blob_id
        WHERE a.module = ${module} AND a.version = ${version} AND a.kind = ${kind}`;
      return row ? metaOf(row) : undefined;
    });
  }

  inlineData(module: string, version: string, kind: ArtifactKind): Promise<Uint8Array | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql`SELECT data, etag FROM artifacts
        WHERE module = ${module} AND version = ${version} AND kind = ${kind}`;
      const data = bytes(row?.data);
      if (!data) return undefined;
      if (etagFromDigest(sha256(data)) !== row.etag) {
        throw new StoredDamageError(`stored copy does not match its SHA-256 ${row.etag}`);
      }
      return data;
    });
  }

  chunk(blobId: number, seq: number): Promise<Uint8Array | undefined> {
    return this.#read(async (sql) => {
      // Raw: the columns as received, decoded here without the client's hex string (see
      // postgres_bytea.ts).
      const [row] = await sql`SELECT data, digest FROM chunks
        WHERE blob_id = ${blobId} AND seq = ${seq}`.raw();
      if (!row || row[0] === null) return undefined;
      // The hex text arrived in socket reads and was joined into one message: twice its length.
      this.#released(2 * row[0].byteLength);
      const data = decodeBytea(row[0]);
      const digest = row[1] === null ? undefined : decodeBytea(row[1]);
      if (digest && !bytesEqual(sha256(data), digest)) {
        throw new StoredDamageError(`chunk ${seq} of blob ${blobId} does not match its SHA-256`);
      }
      return data;
    });
  }

  readRange(blob: BlobRef, start: number, end: number): AsyncIterable<Uint8Array> {
    const blobId = blob.blobId!;
    return readBlobRange((seq) => this.chunk(blobId, seq), blob, start, end);
  }

  removeArtifact(meta: ArtifactMeta, why: string): Promise<boolean> {
    return this.#write(async (sql) => {
      const removed = await sql`DELETE FROM artifacts
        WHERE module = ${meta.module} AND version = ${meta.version} AND kind = ${meta.kind}
          AND etag = ${meta.etag} AND blob_id IS NOT DISTINCT FROM ${meta.blobId}::bigint`;
      if (removed.count !== 1) return false;
      if (meta.blobId !== null) await sql`DELETE FROM blobs WHERE id = ${meta.blobId}`;
      await putAnswerIn(sql, {
        kind: DAMAGED,
        module: meta.module,
        key: `${meta.version}.${meta.kind}`,
        status: 502,
        body: new TextEncoder().encode(why),
        fetchedAt: this.#now(),
      });
      return true;
    });
  }

  async recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void> {
    await this.#write(async (sql) => {
      for (const [seq, digest] of digests.entries()) {
        await sql`UPDATE chunks SET digest = ${digest}
          WHERE blob_id = ${blobId} AND seq = ${seq} AND digest IS NULL`;
      }
      await sql`UPDATE blobs SET chunk_digests = true WHERE id = ${blobId}`;
    });
  }

  storedVersions(module: string, kind: ArtifactKind): Promise<string[]> {
    return this.#read(async (sql) => {
      const rows = await sql`SELECT version FROM artifacts
        WHERE module = ${module} AND kind = ${kind}`;
      return rows.map((row) => String(row.version));
    });
  }

  answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    return this.#read((sql) => answerIn(sql, kind, module, key));
  }

  async putAnswer(answer: StoredAnswer): Promise<void> {
    await this.#write((sql) => putAnswerIn(sql, answer));
  }

  async deleteAnswer(kind: string, module: string, key: string): Promise<void> {
    await this.#write((sql) =>
      sql`DELETE FROM answers WHERE kind = ${kind} AND module = ${module} AND key = ${key}`
    );
  }

  async putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    const tag = etag ?? await strongEtag(data);
    await this.#write(async (sql) => {
      await this.#checkRoom(sql, data.byteLength);
      await putInlineIn(sql, module, version, kind, data, tag, this.#now());
    });
    return (await this.artifact(module, version, kind))!;
  }

  /**
   * See {@linkcode StoreInterface.batch}. `body` is synchronous, so what it
   * reads is fetched before it runs: it may run more than once (each time
   * on what the database holds), and what it wrote is stored in one
   * transaction after its last run. It must have no effect outside the batch.
   */
  batch<T>(body: (batch: StoreBatch) => T): Promise<T> {
    return new PostgresBatch<T>(body).run({
      answers: (keys) => this.#read((sql) => answersIn(sql, keys)),
      inlineStored: (keys) => this.#read((sql) => inlineStoredIn(sql, keys)),
      apply: (writes) =>
        this.#write(async (sql) => {
          let stored = 0;
          for (const write of writes) {
            if (write.type === "answer") await putAnswerIn(sql, write.answer);
            else {
              const { module, version, kind, data, etag } = write;
              if (await putInlineIn(sql, module, version, kind, data, etag, this.#now())) stored++;
            }
          }
          return stored;
        }),
    });
  }

  async writeBlob(): Promise<BlobWriter> {
    const id = await this.#write(async (sql) => {
      const [row] = await sql`INSERT INTO blobs (chunk_size, touched_at)
        VALUES (${this.chunkSize}, ${this.#now()}) RETURNING id`;
      return Number(row.id);
    });
    this.#writing.add(id);
    return new ChunkedBlobWriter(this, id, this.chunkSize);
  }

  /** A step of {@linkcode writeBlob}: writes chunk `seq` of a pending blob with its SHA-256. */
  async putChunk(blobId: number, seq: number, data: Uint8Array, digest: Uint8Array): Promise<void> {
    await this.#write(async (sql) => {
      await this.#checkRoom(sql, data.byteLength);
      await sql`INSERT INTO chunks (blob_id, seq, data, digest)
        VALUES (${blobId}, ${seq}, ${data}, ${digest})
        ON CONFLICT (blob_id, seq) DO UPDATE SET data = excluded.data, digest = excluded.digest`;
      await sql`UPDATE blobs SET touched_at = ${this.#now()} WHERE id = ${blobId}`;
    });
    // A copy, the hex text, the message holding it and the send buffer's copy of that.
    this.#released(7 * data.byteLength);
  }

  /**
   * A step of {@linkcode writeBlob}: makes a whole pending blob the content
   * of an artifact, unless one was stored meanwhile (by this or another
   * instance): then that one is kept and returned.
   */
  async commitBlob(
    module: string,
    version: string,
    kind: ArtifactKind,
    blobId: number,
    size: number,
    etag: string,
  ): Promise<ArtifactMeta> {
    await this.#write(async (sql) => {
      const inserted = await sql`
        INSERT INTO artifacts (module, version, kind, size, etag, stored_at, data, blob_id)
        VALUES (${module}, ${version}, ${kind}, ${size}, ${etag}, ${this.#now()}, NULL, ${blobId})
        ON CONFLICT DO NOTHING`;
      if (inserted.count === 1) {
        await sql`UPDATE blobs SET committed = true WHERE id = ${blobId}`;
        await forgetDamageIn(sql, module, version, kind);
      }
    });
    this.#writing.delete(blobId);
    return (await this.artifact(module, version, kind))!;
  }

  /** Leaves a pending blob to the sweep, for readers that may still be on it. */
  abandonBlob(blobId: number): void {
    this.#writing.delete(blobId);
  }

  /** Deletes a pending blob and its chunks. */
  async discardBlob(blobId: number): Promise<void> {
    try {
      await this.#write((sql) => sql`DELETE FROM blobs WHERE id = ${blobId} AND NOT committed`);
    } finally {
      this.#writing.delete(blobId);
    }
  }

  /**
   * See {@linkcode StoreInterface.sweepPendingBlobs}: as SQLite's, sparing
   * this store's own writers, and a blob another instance wrote to since the
   * sweep looked (each delete names the stamp it saw, so two instances
   * sweeping at once delete each blob once).
   */
  async sweepPendingBlobs(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    const seenAt = this.#elapsed();
    const pending = await this.#read(async (sql) =>
      (await sql`SELECT id, touched_at FROM blobs WHERE NOT committed`)
        .map((row) => ({ id: Number(row.id), touchedAt: Number(row.touched_at) }))
    );
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
      swept += await this.#write(async (sql) =>
        (await sql`DELETE FROM blobs
          WHERE id = ${id} AND NOT committed AND touched_at = ${touchedAt}`).count
      );
    }
    return swept;
  }

  /** Reads the first row of every table: what the database said, or undefined when all read. */
  async probe(): Promise<string | undefined> {
    for (const table of ["artifacts", "answers", "blobs", "chunks"]) {
      try {
        await this.sql.unsafe(`SELECT * FROM ${table} LIMIT 1`);
      } catch (error) {
        return errorText(postgresStoreError(error));
      }
    }
    return undefined;
  }

  listArtifacts(): Promise<ArtifactMeta[]> {
    return this.#read(async (sql) =>
      (await sql`
        SELECT a.module, a.version, a.kind, a.size, a.etag, a.stored_at, a.blob_id,
               b.chunk_size, b.chunk_digests
        FROM artifacts a LEFT JOIN blobs b ON b.id = a.blob_id
        ORDER BY a.module, a.version, a.kind`).map(metaOf)
    );
  }

  answerKeys(): Promise<AnswerKey[]> {
    return this.#read(async (sql) =>
      (await sql`SELECT kind, module, key FROM answers ORDER BY kind, module, key`)
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

  /** The database's size on disk; PostgreSQL reuses freed room itself (VACUUM), so none is told. */
  size(): Promise<StoreSize> {
    return this.#read(async (sql) => {
      const [row] = await sql`SELECT pg_database_size(current_database()) AS bytes`;
      return { bytes: Number(row.bytes), freeBytes: 0 };
    });
  }

  // ---- the disk budget (SQL in postgres_budget.ts) ----

  async recordServed(hits: readonly ServedHit[]): Promise<void> {
    if (hits.length > 0) await this.#write((sql) => recordServedIn(sql, hits));
  }

  usedBytes(): Promise<number> {
    return this.#read(usedBytesIn);
  }

  smallBytes(): Promise<number> {
    return this.#read(smallBytesIn);
  }

  evictionCandidates(limit: number, skip = 0, servedBefore = Infinity): Promise<ArtifactMeta[]> {
    return this.#read((sql) => evictionCandidatesIn(sql, limit, skip, servedBefore));
  }

  evictZip(meta: ArtifactMeta): Promise<boolean> {
    return this.#write((sql) => evictZipIn(sql, meta));
  }

  deleteBlobChunks(blobId: number, max: number): Promise<number> {
    return this.#write((sql) => deleteBlobChunksIn(sql, blobId, max));
  }

  /** Throws {@linkcode StoreFullError} when `adding` more bytes would pass `maxBytes`. */
  async #checkRoom(sql: Sql, adding: number): Promise<void> {
    if (this.#maxBytes === undefined) return;
    if (await usedBytesIn(sql) + adding > this.#maxBytes) {
      throw new StoreFullError(`the store's limit of ${this.#maxBytes} bytes is reached`);
    }
  }

  async #read<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    this.#stats.reads++;
    try {
      return await body(this.sql);
    } catch (error) {
      throw postgresStoreError(error);
    }
  }

  /** Runs `body` in one transaction. */
  async #write<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      const result = await this.sql.begin((tx) => body(tx)) as T;
      this.#stats.writes++;
      return result;
    } catch (error) {
      throw postgresStoreError(error);
    }
  }
}

async function answerIn(
  sql: Sql,
  kind: string,
  module: string,
  key: string,
): Promise<StoredAnswer | undefined> {
  const [row] = await sql`SELECT status, body, fetched_at, digest FROM answers
    WHERE kind = ${kind} AND module = ${module} AND key = ${key}`;
  const body = bytes(row?.body);
  if (!body) return undefined;
  const digest = bytes(row.digest);
  if (digest && !bytesEqual(sha256(body), digest)) {
    throw new StoredDamageError(`stored ${kind} answer does not match its SHA-256`);
  }
  return { kind, module, key, status: Number(row.status), body, fetchedAt: Number(row.fetched_at) };
}

/** Stored answers by key (`kind\0module\0key`), a damaged one as none (the batch replaces it). */
async function answersIn(sql: Sql, keys: AnswerKey[]): Promise<Map<string, StoredAnswer>> {
  const found = new Map<string, StoredAnswer>();
  for (const { kind, module, key } of keys) {
    try {
      const answer = await answerIn(sql, kind, module, key);
      if (answer) found.set(`${kind}\0${module}\0${key}`, answer);
    } catch (error) {
      if (!(error instanceof StoredDamageError)) throw error;
    }
  }
  return found;
}

/** Which of the inline artifacts (`module\0version\0kind`) are stored. */
async function inlineStoredIn(sql: Sql, keys: string[]): Promise<Set<string>> {
  const stored = new Set<string>();
  for (const id of keys) {
    const [module, version, kind] = id.split("\0");
    const [row] = await sql`SELECT 1 FROM artifacts
      WHERE module = ${module} AND version = ${version} AND kind = ${kind}`;
    if (row) stored.add(id);
  }
  return stored;
}

async function putAnswerIn(sql: Sql, answer: StoredAnswer): Promise<void> {
  await sql`INSERT INTO answers (kind, module, key, status, body, fetched_at, digest)
    VALUES (${answer.kind}, ${answer.module}, ${answer.key}, ${answer.status}, ${answer.body},
            ${answer.fetchedAt}, ${sha256(answer.body)})
    ON CONFLICT (kind, module, key) DO UPDATE SET status = excluded.status, body = excluded.body,
      fetched_at = excluded.fetched_at, digest = excluded.digest`;
}

/** Inserts an inline artifact unless one is stored; whether it was inserted. */
async function putInlineIn(
  sql: Sql,
  module: string,
  version: string,
  kind: ArtifactKind,
  data: Uint8Array,
  etag: string,
  now: number,
): Promise<boolean> {
  const inserted = await sql`
    INSERT INTO artifacts (module, version, kind, size, etag, stored_at, data, blob_id)
    VALUES (${module}, ${version}, ${kind}, ${data.byteLength}, ${etag}, ${now}, ${data}, NULL)
    ON CONFLICT DO NOTHING`;
  if (inserted.count !== 1) return false;
  await forgetDamageIn(sql, module, version, kind);
  return true;
}

/** Drops the note of a copy removed as damaged, once the artifact is stored again. */
async function forgetDamageIn(sql: Sql, module: string, version: string, kind: ArtifactKind) {
  await sql`DELETE FROM answers
    WHERE kind = ${DAMAGED} AND module = ${module} AND key = ${`${version}.${kind}`}`;
}
