/**
 * The disk budget's SQL (see `lib/proxy/budget.ts`): when zips were last
 * served, what is never evicted, which zips go first, and eviction in short
 * transactions. `sqlite.ts` runs these inside its own reads and writes; they
 * are apart so that the store's module keeps to the artifacts themselves.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { ArtifactMeta, ServedHit } from "./store.ts";

/**
 * Gives the prepared (cached) statement for `sql`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import type { Prepare } from "./sqlite_budget.ts";
 * const db = new DatabaseSync(":memory:");
 * const prepare: Prepare = (sql) => db.prepare(sql);
 * assert(prepare("SELECT 1 AS n").get()?.n === 1);
 * db.close();
 * ```
 */
export type Prepare = (sql: string) => StatementSync;

/**
 * Notes when each zip of `hits` was last served (a time never goes back).
 *
 * @example
 * ```ts ignore
 * recordServedNow(prepare, [{ module: "example.com/m", version: "v1.0.0", at: Date.now() }]);
 * ```
 */
export function recordServedNow(prepare: Prepare, hits: readonly ServedHit[]): void {
  const update = prepare(
    `UPDATE artifacts SET last_served = max(coalesce(last_served, 0), ?)
     WHERE module = ? AND version = ? AND kind = 'zip'`,
  );
  for (const hit of hits) update.run(hit.at, hit.module, hit.version);
}

/**
 * The bytes of everything but zips: inline artifacts and answers.
 *
 * @example
 * ```ts ignore
 * console.log(smallBytesNow(prepare)); // 0 for an empty database
 * ```
 */
export function smallBytesNow(prepare: Prepare): number {
  const artifacts = prepare(
    "SELECT coalesce(sum(size), 0) AS n FROM artifacts WHERE kind != 'zip'",
  ).get();
  const answers = prepare("SELECT coalesce(sum(length(body)), 0) AS n FROM answers").get();
  return Number(artifacts?.n ?? 0) + Number(answers?.n ?? 0);
}

/**
 * Stored zips, least recently served first (see `Store.evictionCandidates`);
 * the index of schema 3 gives them in that order without reading the table.
 *
 * @example
 * ```ts ignore
 * const [first] = evictionCandidatesNow(prepare, 1, 0, Infinity);
 * ```
 */
export function evictionCandidatesNow(
  prepare: Prepare,
  limit: number,
  skip: number,
  servedBefore: number,
): ArtifactMeta[] {
  const before = Number.isFinite(servedBefore) ? servedBefore : Number.MAX_SAFE_INTEGER;
  return prepare(
    `SELECT a.module, a.version, a.size, a.etag, a.stored_at, a.blob_id, b.chunk_size,
       b.chunk_digests
     FROM artifacts a JOIN blobs b ON b.id = a.blob_id
     WHERE a.kind = 'zip' AND coalesce(a.last_served, 0) < ?
     ORDER BY coalesce(a.last_served, a.stored_at), a.module, a.version
     LIMIT ? OFFSET ?`,
  ).all(before, limit, skip).map((row) => ({
    module: String(row.module),
    version: String(row.version),
    kind: "zip" as const,
    size: Number(row.size),
    etag: String(row.etag),
    storedAt: Number(row.stored_at),
    blobId: Number(row.blob_id),
    chunkSize: Number(row.chunk_size),
    chunkDigests: Number(row.chunk_digests) === 1,
  }));
}

/**
 * Removes the zip `meta` describes (only that copy) and leaves its blob
 * pending, with no write stamp, for its chunks to be deleted next. Whether
 * it was removed.
 *
 * @example
 * ```ts ignore
 * if (evictZipNow(prepare, meta)) while (deleteBlobChunksNow(prepare, meta.blobId!, 16) > 0);
 * ```
 */
export function evictZipNow(prepare: Prepare, meta: ArtifactMeta): boolean {
  if (meta.kind !== "zip") return false;
  const removed = Number(
    prepare(
      `DELETE FROM artifacts WHERE module = ? AND version = ? AND kind = 'zip' AND blob_id = ?`,
    ).run(meta.module, meta.version, meta.blobId).changes,
  ) === 1;
  if (removed) {
    prepare("UPDATE blobs SET committed = 0, touched_at = 0 WHERE id = ?").run(meta.blobId);
  }
  return removed;
}

/**
 * Deletes up to `max` chunks of a pending blob, and the blob once it has
 * none; how many chunks went (0 for a committed or gone blob).
 *
 * @example
 * ```ts ignore
 * while (deleteBlobChunksNow(prepare, blobId, 16) > 0);
 * ```
 */
export function deleteBlobChunksNow(prepare: Prepare, blobId: number, max: number): number {
  const deleted = Number(
    prepare(
      `DELETE FROM chunks WHERE blob_id = ?1 AND seq IN
         (SELECT seq FROM chunks WHERE blob_id = ?1 ORDER BY seq LIMIT ?2)
       AND EXISTS (SELECT 1 FROM blobs WHERE id = ?1 AND committed = 0)`,
    ).run(blobId, max).changes,
  );
  if (deleted === 0) prepare("DELETE FROM blobs WHERE id = ? AND committed = 0").run(blobId);
  return deleted;
}
