/**
 * End to end with `--workers 2`: two isolates serve one port, the replica
 * forwarding what it has not stored to the primary. Go clients must still get
 * what they get direct, and each artifact must still leave the upstream once.
 * (Not in the arm64 script's list: the bundle it runs has no worker module.)
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { AsteraExitedError, startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";
import { testOnEachBackend } from "./store_backends.ts";
import { CONCURRENT_CLIENTS, workflow } from "./workflow.ts";

testOnEachBackend(
  "with two isolates serving one port, clients still match direct and each artifact leaves the upstream once",
  async (_t, { freshStore, emptyBytes }) => {
    const work = await Deno.makeTempDir({ prefix: "astera-e2e-workers-" });
    const universe = join(work, "universe");
    const buildCache = join(work, "gocache");
    await writeUniverse(universe, standardUniverse(1024 * 1024));
    const direct = await startFileProxy({ root: universe });
    const upstream = await startFileProxy({ root: universe });
    try {
      const oracle = await workflow(direct.url, buildCache);
      const db = await freshStore(work);
      const astera = await startAsteraProcess([
        "--db",
        db,
        "--upstream",
        upstream.url,
        "--workers",
        "2",
      ]);
      try {
        assert(astera.log.some((line) => line.includes("workers=2")), astera.log.join("\n"));
        const outcomes = await Promise.all(
          Array.from({ length: CONCURRENT_CLIENTS }, () => workflow(astera.url, buildCache)),
        );
        for (const outcome of outcomes) assertEquals(outcome, oracle);
        const repeated = [...upstream.counts].filter(([path, count]) =>
          /\.(mod|zip)$/.test(path) || /@v\/v[^/]*\.info$/.test(path) ? count > 1 : false
        );
        assertEquals(repeated, [], "immutable artifacts fetched from the upstream more than once");
        const stats = await astera.stats();
        assertEquals(stats.isolates as unknown, 2, "/_astera/stats counts both isolates");
        assert(Number(stats.handler.requests) > 0);
        assertEquals(stats.reclaim.active, true, "the serve task's --expose-gc reaches the server");
        // The big zip alone is over 1 MiB; the database's size is told once, not once per isolate.
        // (Beyond what the empty database took: PostgreSQL's catalogs are megabytes.)
        const bytes = Number(stats.database.bytes) - emptyBytes(db);
        assert(bytes > 1024 * 1024 && bytes < 2 * 1024 * 1024, `database: ${bytes} bytes`);
      } finally {
        assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
      }
    } finally {
      await direct.close();
      await upstream.close();
      await removeTree(work);
    }
  },
);

testOnEachBackend(
  "a second Astera on the port two isolates of a running one share exits with one clear line",
  async (_t, { freshStore }) => {
    const work = await Deno.makeTempDir({ prefix: "astera-e2e-port-" });
    const upstream = await startFileProxy({ root: work });
    try {
      const firstDb = await freshStore(work, "first");
      const secondDb = await freshStore(work, "second");
      const first = await startAsteraProcess([
        ...["--db", firstDb, "--upstream", upstream.url, "--workers", "2"],
      ]);
      try {
        assert(first.log.some((line) => line.includes("workers=2")), first.log.join("\n"));
        const address = new URL(first.url).host;
        for (const workers of ["2", "1"]) {
          let outcome: unknown;
          try {
            const second = await startAsteraProcess([
              ...["--db", secondDb, "--upstream", upstream.url],
              ...["--workers", workers, "--listen", address],
            ]);
            await second.stop();
            outcome = second.log;
          } catch (error) {
            outcome = error;
          }
          assert(outcome instanceof AsteraExitedError, `the second one listened: ${outcome}`);
          assertEquals(outcome.code, 1, outcome.message);
          const lines = outcome.log.filter((line) => line.startsWith("astera"));
          assertEquals(lines, [
            `astera: cannot start: cannot listen on ${address}: the port is in use by another process`,
          ]);
          assert(!outcome.log.some((line) => line.includes(" listening ")), outcome.message);
        }
        const stats = await first.stats();
        assertEquals(stats.isolates as unknown, 2, "the first one still serves with both isolates");
      } finally {
        assertEquals(await first.stop(), 0, "graceful shutdown exits 0");
      }
    } finally {
      await upstream.close();
      await removeTree(work);
    }
  },
);
