/**
 * Runs one end-to-end test body over each store backend: registered once as
 * is (SQLite, a file in the test's directory) and once with " [postgres]"
 * appended (a fresh database, made with `CREATE DATABASE`, in one throwaway
 * cluster per test file). The cluster starts with the file's first PostgreSQL
 * test and is removed when the file's tests end, so a file costs one
 * `initdb`, however many tests it runs there.
 *
 * `ASTERA_TEST_BACKENDS` (a comma-separated list, default `sqlite,postgres`)
 * ignores the others' tests: scripts/arm64.sh keeps its qemu run to SQLite.
 *
 * @module
 */
import { join } from "node:path";
import { type PostgresCluster, startPostgresCluster } from "./postgres_cluster.ts";

/**
 * The backends a test runs over.
 *
 * @example
 * ```ts
 * import type { BackendName } from "./store_backends.ts";
 * const names: BackendName[] = ["sqlite", "postgres"];
 * console.log(names);
 * ```
 */
export type BackendName = "sqlite" | "postgres";

/**
 * Gives a fresh `--db` value for the backend under test: a SQLite path in
 * `dir` (named after `name`), or the URL of a new, empty PostgreSQL database.
 * The same `name` twice gives two different PostgreSQL databases: ask once
 * and reuse the value to restart on the same store.
 *
 * @example
 * ```ts ignore
 * import type { FreshStore } from "./store_backends.ts";
 * async function twoStores(freshStore: FreshStore, work: string): Promise<string[]> {
 *   return [await freshStore(work, "first"), await freshStore(work, "second")];
 * }
 * ```
 */
export type FreshStore = (dir: string, name?: string) => Promise<string>;

/**
 * What a test body gets besides its context: the backend, and where to put stores.
 *
 * @example
 * ```ts ignore
 * import type { StoreBackend } from "./store_backends.ts";
 * async function dbFlag({ freshStore }: StoreBackend, work: string): Promise<string[]> {
 *   return ["--db", await freshStore(work)];
 * }
 * ```
 */
export interface StoreBackend {
  name: BackendName;
  freshStore: FreshStore;
  /**
   * The size a store from {@linkcode FreshStore} reports before anything is
   * stored: 0 for a SQLite file (not there yet), and for PostgreSQL the size of
   * the new database: its system catalogs, some megabytes, before any table.
   */
  emptyBytes(db: string): number;
}

let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;
const emptySizes = new Map<string, number>();

/** The file's shared cluster, started on first use and removed when the file's tests end. */
function sharedCluster(): Promise<PostgresCluster> {
  if (!cluster) {
    cluster = startPostgresCluster();
    const started = cluster;
    // Deno fires `unload` once a test file's tests are done (passed, failed or filtered out);
    // it cannot wait, so the cluster goes down synchronously.
    globalThis.addEventListener("unload", () => {
      started.then((c) => c.removeSync()).catch(() => {});
    });
  }
  return cluster;
}

const BACKENDS: StoreBackend[] = [
  {
    name: "sqlite",
    freshStore: (dir, name = "astera") => Promise.resolve(join(dir, `${name}.db`)),
    emptyBytes: () => 0,
  },
  {
    name: "postgres",
    freshStore: async (_dir, name = "astera") => {
      const running = await sharedCluster();
      databases++;
      const database = `${name.replace(/\W/g, "_")}_${databases}`;
      const url = await running.createDatabase(database);
      const bytes = await running.psql(`SELECT pg_database_size('${database}');`);
      emptySizes.set(url, Number(bytes.trim()));
      return url;
    },
    emptyBytes: (db) => emptySizes.get(db) ?? 0,
  },
];

/** The backends `ASTERA_TEST_BACKENDS` names (all when unset). */
function chosenBackends(): Set<string> {
  const chosen = Deno.env.get("ASTERA_TEST_BACKENDS");
  if (!chosen) return new Set(BACKENDS.map((backend) => backend.name));
  return new Set(chosen.split(",").map((name) => name.trim()));
}

/**
 * Registers `fn` as a test once per backend; the PostgreSQL one is named
 * `name + " [postgres]"`. Backends left out of `ASTERA_TEST_BACKENDS` are
 * registered as ignored.
 *
 * @example
 * ```ts ignore
 * import { testOnEachBackend } from "./store_backends.ts";
 * testOnEachBackend("a store survives a restart", async (_t, { freshStore }) => {
 *   const db = await freshStore(await Deno.makeTempDir());
 *   console.log(db); // "--db" db, for each start of Astera
 * });
 * ```
 */
export function testOnEachBackend(
  name: string,
  fn: (t: Deno.TestContext, backend: StoreBackend) => Promise<void>,
): void {
  const chosen = chosenBackends();
  for (const backend of BACKENDS) {
    const suffix = backend.name === "sqlite" ? "" : ` [${backend.name}]`;
    Deno.test({
      name: `${name}${suffix}`,
      ignore: !chosen.has(backend.name),
      fn: (t) => fn(t, backend),
    });
  }
}
