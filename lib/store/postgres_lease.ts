/**
 * Leases across the instances sharing one PostgreSQL database, as rows of
 * the `leases` table: a name, its holder (a random id per process) and when
 * it expires, by the database's clock (instances' clocks may disagree). A
 * holder renews its lease a few times per lifetime while it works; one that
 * crashed stops renewing, and the next instance takes the name once it
 * expired. Waiters poll, backing off to a few times a second.
 *
 * @module
 */
import type postgres from "postgres";
import { postgresStoreError } from "./postgres_errors.ts";
import type { Lease, LeasedDownload, Leases } from "./store.ts";

/** Text columns cannot hold NUL, which the proxy's keys use as a separator. */
function leaseName(key: string): string {
  return key.replaceAll("\0", "\u001f");
}

/**
 * Options of {@linkcode PostgresLeases}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PostgresLeaseOptions } from "./postgres_lease.ts";
 * const options: PostgresLeaseOptions = { ttlMs: 30_000, maxPollMs: 250 };
 * assert(options.ttlMs === 30_000);
 * ```
 */
export interface PostgresLeaseOptions {
  /** How long a lease lives without renewal: how long a crashed holder keeps others waiting (ms). */
  ttlMs?: number;
  /** The longest wait between two looks at a lease held by another instance (ms). */
  maxPollMs?: number;
}

/**
 * {@linkcode Leases} on the `leases` table.
 *
 * @example
 * ```ts ignore
 * import { PostgresLeases } from "./postgres_lease.ts";
 * const leases = new PostgresLeases(sql);
 * const lease = await leases.acquire("zip example.com/m v1.0.0");
 * await lease.release();
 * ```
 */
export class PostgresLeases implements Leases {
  /** This process, as the holder of its leases. */
  readonly holder: string = crypto.randomUUID();
  #sql: postgres.Sql;
  #ttlMs: number;
  #maxPollMs: number;

  constructor(sql: postgres.Sql, options: PostgresLeaseOptions = {}) {
    this.#sql = sql;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#maxPollMs = options.maxPollMs ?? 250;
  }

  async acquire(key: string): Promise<Lease> {
    for (let wait = 10;; wait = Math.min(wait * 2, this.#maxPollMs)) {
      const lease = await this.tryAcquire(key);
      if (lease) return lease;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async tryAcquire(key: string): Promise<Lease | undefined> {
    const name = leaseName(key);
    if (!await this.#take(name)) return undefined;
    // Renewed three times a lifetime: a slow query or two does not lose it.
    const renew = setInterval(() => {
      this.#sql`UPDATE leases SET expires_at = now() + ${this.#ttlMs} * interval '1 millisecond'
        WHERE name = ${name} AND holder = ${this.holder}`.catch(() => {});
    }, Math.max(1, Math.floor(this.#ttlMs / 3)));
    Deno.unrefTimer(renew);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        try {
          await this.#sql`DELETE FROM leases WHERE name = ${name} AND holder = ${this.holder}`;
        } catch {
          // Unreachable now: the lease expires by itself.
        }
      },
      publish: async ({ blobId, chunkSize, size }) => {
        try {
          await this.#sql`UPDATE leases SET blob_id = ${blobId}, chunk_size = ${chunkSize},
            size = ${size} WHERE name = ${name} AND holder = ${this.holder}`;
        } catch {
          // Others then wait for the stored zip instead of following it.
        }
      },
    };
  }

  async download(key: string): Promise<LeasedDownload | undefined> {
    try {
      const [row] = await this.#sql`SELECT l.blob_id, l.chunk_size, l.size,
          (SELECT count(*) FROM chunks c WHERE c.blob_id = l.blob_id) AS chunks
        FROM leases l
        WHERE l.name = ${leaseName(key)} AND l.holder <> ${this.holder}
          AND l.expires_at >= now() AND l.blob_id IS NOT NULL`;
      if (!row) return undefined;
      return {
        blobId: Number(row.blob_id),
        chunkSize: Number(row.chunk_size),
        size: Number(row.size),
        chunks: Number(row.chunks),
      };
    } catch (error) {
      throw postgresStoreError(error);
    }
  }

  /** Takes `name` if it is free or expired; whether this process holds it now. */
  async #take(name: string): Promise<boolean> {
    try {
      const rows = await this.#sql`
        INSERT INTO leases (name, holder, expires_at)
        VALUES (${name}, ${this.holder}, now() + ${this.#ttlMs} * interval '1 millisecond')
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
          blob_id = NULL, chunk_size = NULL, size = NULL
        WHERE leases.expires_at < now()
        RETURNING holder`;
      return rows.length === 1;
    } catch (error) {
      throw postgresStoreError(error);
    }
  }
}
