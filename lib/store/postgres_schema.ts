/**
 * The PostgreSQL store's schema and its migrations, one step per schema
 * version, as SQLite's (`sqlite_schema.ts`). The version lives in the table
 * `astera_meta`, which also marks the database as Astera's: a database with
 * other tables and no such mark belongs to another program and is refused,
 * as is a schema newer than this code knows. Instances starting together
 * migrate one at a time (a transaction-scoped advisory lock).
 *
 * @module
 */
import type postgres from "postgres";

/**
 * The schema, as the steps from version 0: step `i` takes version `i` to `i + 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { POSTGRES_MIGRATIONS } from "./postgres_schema.ts";
 * assert(POSTGRES_MIGRATIONS.length === 3); // schema 3: downloads published in leases
 * ```
 */
export const POSTGRES_MIGRATIONS: string[] = [
  // Identity ids are never reused (memory caches keyed by blob id never go stale). Chunk digests
  // from the start: there are no PostgreSQL stores from before them. `leases` holds who fetches
  // what from upstream now, across instances (see postgres_flight.ts).
  `CREATE TABLE blobs (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     chunk_size INTEGER NOT NULL,
     committed BOOLEAN NOT NULL DEFAULT false,
     touched_at BIGINT NOT NULL,
     chunk_digests BOOLEAN NOT NULL DEFAULT true
   );
   CREATE INDEX blobs_pending ON blobs (touched_at) WHERE NOT committed;
   CREATE TABLE chunks (
     blob_id BIGINT NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     data BYTEA NOT NULL,
     digest BYTEA,
     PRIMARY KEY (blob_id, seq)
   );
   CREATE TABLE artifacts (
     module TEXT COLLATE "C" NOT NULL,
     version TEXT COLLATE "C" NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('info', 'mod', 'zip')),
     size BIGINT NOT NULL,
     etag TEXT NOT NULL,
     stored_at BIGINT NOT NULL,
     data BYTEA,
     blob_id BIGINT REFERENCES blobs (id),
     PRIMARY KEY (module, version, kind)
   );
   CREATE TABLE answers (
     kind TEXT COLLATE "C" NOT NULL,
     module TEXT COLLATE "C" NOT NULL,
     key TEXT COLLATE "C" NOT NULL,
     status INTEGER NOT NULL,
     body BYTEA NOT NULL,
     fetched_at BIGINT NOT NULL,
     digest BYTEA,
     PRIMARY KEY (kind, module, key)
   );
   CREATE TABLE leases (
     name TEXT COLLATE "C" PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL
   );`,
  // The disk budget (lib/proxy/budget.ts): when a zip was last served, written in batches; the
  // index gives the least recently served zips first without reading the table.
  `ALTER TABLE artifacts ADD COLUMN last_served BIGINT;
   CREATE INDEX artifacts_zip_recency ON artifacts ((coalesce(last_served, stored_at)), module, version)
     WHERE kind = 'zip';`,
  // The blob a zip download under a lease writes, so that other instances stream it meanwhile.
  `ALTER TABLE leases ADD COLUMN blob_id BIGINT, ADD COLUMN chunk_size INTEGER,
     ADD COLUMN size BIGINT;`,
];

/** The advisory lock key migrations take (any constant; "astera" in ASCII). */
const MIGRATION_LOCK = 0x617374657261;

/**
 * A database that is not Astera's, or of a schema newer than this code:
 * refused before Astera listens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ForeignDatabaseError } from "./postgres_schema.ts";
 * assert(new ForeignDatabaseError("not ours") instanceof Error);
 * ```
 */
export class ForeignDatabaseError extends Error {
  override name = "ForeignDatabaseError";
}

/**
 * Brings the database to the latest schema, one step per transaction, and
 * returns the version it is at. Throws {@linkcode ForeignDatabaseError} for a
 * database another program uses or a newer schema.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { migratePostgres } from "./postgres_schema.ts";
 * const sql = postgres("postgres://astera@127.0.0.1/astera");
 * console.log(await migratePostgres(sql));
 * ```
 */
export async function migratePostgres(sql: postgres.Sql): Promise<number> {
  for (;;) {
    const version = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      const current = await schemaVersion(tx);
      if (current > POSTGRES_MIGRATIONS.length) {
        throw new ForeignDatabaseError(
          `database schema version ${current} is newer than this Astera knows (${POSTGRES_MIGRATIONS.length})`,
        );
      }
      if (current === POSTGRES_MIGRATIONS.length) return current;
      await tx.unsafe(POSTGRES_MIGRATIONS[current]);
      await tx`UPDATE astera_meta SET value = ${String(current + 1)} WHERE key = 'schema_version'`;
      return -1;
    });
    if (version >= 0) return version;
  }
}

/** The schema version, marking an empty database as Astera's (version 0) first. */
async function schemaVersion(tx: postgres.TransactionSql): Promise<number> {
  const [marked] = await tx`SELECT to_regclass('astera_meta') IS NOT NULL AS yes`;
  if (!marked.yes) {
    const others = await tx`SELECT tablename FROM pg_tables
      WHERE schemaname = current_schema() ORDER BY tablename LIMIT 3`;
    if (others.length > 0) {
      throw new ForeignDatabaseError(
        `the database belongs to another program (it has tables ${
          others.map((row) => row.tablename).join(", ")
        } and no astera_meta): give Astera a database of its own`,
      );
    }
    await tx`CREATE TABLE astera_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
    await tx`INSERT INTO astera_meta (key, value) VALUES ('owner', 'astera'), ('schema_version', '0')`;
    return 0;
  }
  const rows = await tx`SELECT key, value FROM astera_meta`;
  const meta = new Map(rows.map((row) => [String(row.key), String(row.value)]));
  if (meta.get("owner") !== "astera") {
    throw new ForeignDatabaseError("the database's astera_meta does not name Astera as its owner");
  }
  return Number(meta.get("schema_version") ?? 0);
}
