/**
 * The one place that turns `--db` into a store: a PostgreSQL URL
 * (`postgres://` or `postgresql://`) opens a {@linkcode PostgresStore},
 * anything else is an SQLite file (the zero-configuration default).
 * `leaseMs` is how long a PostgreSQL fetch lease outlives a crashed holder;
 * `released` is told the bytes of the PostgreSQL client's short-lived
 * buffers (see `PostgresStoreOptions.released`).
 *
 * @module
 */
import { PostgresStore } from "./postgres.ts";
import { isPostgresUrl, shownUrl } from "./postgres_url.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";

/**
 * Opens the store `db` names (see the module's comment). Throws before
 * anything is served when it cannot: a PostgreSQL database that is
 * unreachable, another program's or of a newer schema; an SQLite file that
 * is not a database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "./open.ts";
 * const store = await openStore(":memory:");
 * assert((await store.answer("list", "example.com/m", "")) === undefined);
 * store.close();
 * ```
 */
export function openStore(
  db: string,
  options: { leaseMs?: number; released?: (bytes: number) => void } = {},
): Promise<Store> {
  if (isPostgresUrl(db)) {
    return PostgresStore.open(db, { leaseMs: options.leaseMs, released: options.released });
  }
  try {
    return Promise.resolve(SqliteStore.open(db));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `db` as Astera shows it in logs, stats and the status page: a URL without its password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shownDb } from "./open.ts";
 * assert(shownDb("postgres://me:s3cret@db.lan/astera") === "postgres://db.lan/astera");
 * assert(shownDb("./astera.db") === "./astera.db");
 * ```
 */
export function shownDb(db: string): string {
  return isPostgresUrl(db) ? shownUrl(db) : db;
}
