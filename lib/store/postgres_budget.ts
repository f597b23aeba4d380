/**
 * The disk budget's SQL on PostgreSQL (see `lib/proxy/budget.ts` and
 * `sqlite_budget.ts`, whose rules these keep): when zips were last served,
 * what is never evicted, which zips go first, eviction in short
 * transactions. Several instances may evict at once: each delete names the
 * copy it means, so a zip is evicted by one of them, and chunks deleted by
 * two are deleted once.
 *
 * @module
 */
import type postgres from "postgres";
import type { ArtifactMeta, ServedHit } from "./store.ts";

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * Notes when each zip of `hits` was last served (a time never goes back).
 *
 * @example
 * ```ts ignore
 * await recordServedIn(sql, [{ module: "example.com/m", version: "v1.0.0", at: Date.now() }]);
 * ```
 */
export async function recordServedIn(sql: Sql, hits: readonly ServedHit[]): Promise<void> {
  for (const hit of hits) {
    await sql`UPDATE artifacts SET last_served = greatest(coalesce(last_served, 0), ${hit.at})
      WHERE module = ${hit.module} AND version = ${hit.version} AND kind = 'zip'`;
  }
}

/**
 * The content bytes stored: chunks (of zips, and of blobs being written or
 * evicted), inline artifacts and answers. PostgreSQL reuses the room of
 * deleted rows itself (autovacuum), so this falls as zips are evicted.
 *
 * @example
 * ```ts ignore
 * console.log(await usedBytesIn(sql)); // 0 for an empty database
 * ```
 */
export async function usedBytesIn(sql: Sql): Promise<number> {
  const [row] = await sql`SELECT
    (SELECT coalesce(sum(octet_length(data)), 0) FROM chunks) +
    (SELECT coalesce(sum(octet_length(data)), 0) FROM artifacts) +
    (SELECT coalesce(sum(octet_length(body)), 0) FROM answers) AS n`;
  return Number(row.n);
}

/**
 * The bytes of everything but zips: inline artifacts and answers.
 *
 * @example
 * ```ts ignore
 * console.log(await smallBytesIn(sql)); // 0 for an empty database
 * ```
 */
export async function smallBytesIn(sql: Sql): Promise<number> {
  const [row] = await sql`SELECT
    (SELECT coalesce(sum(size), 0) FROM artifacts WHERE kind <> 'zip') +
    (SELECT coalesce(sum(octet_length(body)), 0) FROM answers) AS n`;
  return Number(row.n);
}

/**
 * Stored zips, least recently served first (see `Store.evictionCandidates`).
 *
 * @example
 * ```ts ignore
 * const [first] = await evictionCandidatesIn(sql, 1, 0, Infinity);
 * ```
 */
export async function evictionCandidatesIn(
  sql: Sql,
  limit: number,
  skip: number,
  servedBefore: number,
): Promise<ArtifactMeta[]> {
  const before = Number.isFinite(servedBefore) ? servedBefore : Number.MAX_SAFE_INTEGER;
  const rows = await sql`
    SELECT a.module, a.version, a.size, a.etag, a.stored_at, a.blob_id, b.chunk_size,
      b.chunk_digests
    FROM artifacts a JOIN blobs b ON b.id = a.blob_id
    WHERE a.kind = 'zip' AND coalesce(a.last_served, 0) < ${before}
    ORDER BY coalesce(a.last_served, a.stored_at), a.module, a.version
    LIMIT ${limit} OFFSET ${skip}`;
  return rows.map((row) => ({
    module: String(row.module),
    version: String(row.version),
    kind: "zip" as const,
    size: Number(row.size),
    etag: String(row.etag),
    storedAt: Number(row.stored_at),
    blobId: Number(row.blob_id),
    chunkSize: Number(row.chunk_size),
    chunkDigests: Boolean(row.chunk_digests),
  }));
}

/**
 * Removes the zip `meta` describes (only that copy) and leaves its blob
 * pending, with no write stamp, for its chunks to be deleted next. Whether
 * it was removed.
 *
 * @example
 * ```ts ignore
 * if (await evictZipIn(sql, meta)) while (await deleteBlobChunksIn(sql, meta.blobId!, 16) > 0);
 * ```
 */
export async function evictZipIn(sql: Sql, meta: ArtifactMeta): Promise<boolean> {
  if (meta.kind !== "zip" || meta.blobId === null) return false;
  const removed = await sql`DELETE FROM artifacts
    WHERE module = ${meta.module} AND version = ${meta.version} AND kind = 'zip'
      AND blob_id = ${meta.blobId}`;
  if (removed.count !== 1) return false;
  await sql`UPDATE blobs SET committed = false, touched_at = 0 WHERE id = ${meta.blobId}`;
  return true;
}

/**
 * Deletes up to `max` chunks of a pending blob, and the blob once it has
 * none; how many chunks went (0 for a committed or gone blob).
 *
 * @example
 * ```ts ignore
 * while (await deleteBlobChunksIn(sql, blobId, 16) > 0);
 * ```
 */
export async function deleteBlobChunksIn(sql: Sql, blobId: number, max: number): Promise<number> {
  const deleted = await sql`DELETE FROM chunks
    WHERE blob_id = ${blobId} AND seq IN
      (SELECT seq FROM chunks WHERE blob_id = ${blobId} ORDER BY seq LIMIT ${max})
    AND EXISTS (SELECT 1 FROM blobs WHERE id = ${blobId} AND NOT committed)`;
  if (deleted.count === 0) await sql`DELETE FROM blobs WHERE id = ${blobId} AND NOT committed`;
  return deleted.count;
}
