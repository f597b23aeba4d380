/**
 * End to end: the real go command against a really running Astera (started
 * as a user starts it) over a local upstream of synthetic modules. Going
 * straight to that upstream is the oracle: through Astera, go.mod and go.sum
 * must come out byte-identical, cold and concurrent, offline, and after a
 * restart on the same database. Run over SQLite and over PostgreSQL.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";
import { testOnEachBackend } from "./store_backends.ts";
import { CONCURRENT_CLIENTS, workflow } from "./workflow.ts";

testOnEachBackend(
  "go clients through Astera get what they get direct: cold, concurrent, offline, restarted",
  async (t, { freshStore }) => {
    const work = await Deno.makeTempDir({ prefix: "astera-e2e-" });
    const universe = join(work, "universe");
    const buildCache = join(work, "gocache");
    await writeUniverse(universe, standardUniverse(3 * 1024 * 1024 + 123));
    const direct = await startFileProxy({ root: universe });
    const upstream = await startFileProxy({ root: universe });
    const db = await freshStore(work);
    try {
      const oracle = await workflow(direct.url, buildCache);
      assert(
        oracle.tidy.goSum.includes("example.com/big v1.0.0 h1:"),
        "the oracle resolved the big module",
      );
      assert(oracle.upgraded.goMod.includes("example.com/lib v1.1.0"), "go get -u upgraded lib");
      assert(
        oracle.downloads.length >= 9 && oracle.downloads.every((d) => d.GoModSum),
        "go mod download ran",
      );

      await t.step(
        "concurrent cold clients match direct; each artifact leaves the upstream once",
        async () => {
          const astera = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
          try {
            const outcomes = await Promise.all(
              Array.from({ length: CONCURRENT_CLIENTS }, () => workflow(astera.url, buildCache)),
            );
            for (const outcome of outcomes) assertEquals(outcome, oracle);
            const repeated = [...upstream.counts].filter(([path, count]) =>
              /\.(mod|zip)$/.test(path) || /@v\/v[^/]*\.info$/.test(path) ? count > 1 : false
            );
            assertEquals(
              repeated,
              [],
              "immutable artifacts fetched from the upstream more than once",
            );
            assert(
              [...upstream.counts.keys()].some((p) => p.endsWith("example.com/big/@v/v1.0.0.zip")),
            );
          } finally {
            assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
          }
        },
      );

      await t.step(
        "upstream down and a restart on the same database: still identical",
        async () => {
          await upstream.close();
          const astera = await startAsteraProcess([
            "--db",
            db,
            "--upstream",
            upstream.url,
            "--ttl",
            "0s",
            "--negative-ttl",
            "0s",
            "--upstream-timeout",
            "2s",
          ]);
          try {
            const offline = await workflow(astera.url, buildCache);
            assertEquals(offline, oracle);
          } finally {
            await astera.stop();
          }
        },
      );
    } finally {
      await direct.close();
      await upstream.close().catch(() => {});
      await removeTree(work);
    }
  },
);
