/**
 * The SQLite store's schema and its migrations, one step per schema version
 * (`PRAGMA user_version`). Kept apart from `sqlite.ts` so that the tables can
 * be read in one place; it takes the database as the little it needs of it.
 *
 * @module
 */

/**
 * The part of an SQLite database connection the migrations use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrate, type MigratableDatabase } from "./sqlite_schema.ts";
 * // A `DatabaseSync` is one; so is anything with these three members.
 * const use = (db: MigratableDatabase) => migrate(db);
 * assert(typeof use === "function");
 * ```
 */
export interface MigratableDatabase {
  exec(sql: string): void;
  prepare(sql: string): { get(): unknown };
  readonly isTransaction: boolean;
}

/**
 * The schema, as the steps from version 0: step `i` takes version `i` to `i + 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIGRATIONS } from "./sqlite_schema.ts";
 * assert(MIGRATIONS.length === 3); // schema 3: when zips were last served
 * ```
 */
export const MIGRATIONS: string[] = [
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
  // The disk budget (lib/proxy/budget.ts): when a zip was last served, written in batches; the
  // index gives the least recently served zips first without reading the table.
  `ALTER TABLE artifacts ADD COLUMN last_served INTEGER;
   CREATE INDEX artifacts_zip_recency ON artifacts(coalesce(last_served, stored_at))
     WHERE kind = 'zip';`,
];

/**
 * Brings `db` to the latest schema, one step per transaction. Throws for a
 * database of a newer schema than this Astera knows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIGRATIONS } from "./sqlite_schema.ts";
 * import { SqliteStore } from "./sqlite.ts";
 * const store = SqliteStore.open(":memory:"); // migrates
 * assert(store.schemaVersion() === MIGRATIONS.length);
 * store.close();
 * ```
 */
export function migrate(db: MigratableDatabase): void {
  const current = userVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this Astera knows (${MIGRATIONS.length})`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated while we waited for the lock.
      if (userVersion(db) === version) {
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

function userVersion(db: MigratableDatabase): number {
  return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
}
