import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { startPostgresCluster } from "../../tests/postgres_cluster.ts";
import { PostgresStore } from "./postgres.ts";
import { ForeignDatabaseError, POSTGRES_MIGRATIONS } from "./postgres_schema.ts";
import { StoreUnavailableError } from "./store.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("PostgresStore: a database of another program or a newer schema is refused", async () => {
  const cluster = await startPostgresCluster();
  try {
    const foreign = await cluster.createDatabase("foreign");
    await cluster.psql("CREATE TABLE invoices (id int);", "foreign");
    const error = await assertRejects(() => PostgresStore.open(foreign), ForeignDatabaseError);
    assert(error.message.includes("another program") && error.message.includes("invoices"));

    const store = await PostgresStore.open(cluster.url);
    await store.end();
    await cluster.psql(
      `UPDATE astera_meta SET value = '${
        POSTGRES_MIGRATIONS.length + 1
      }' WHERE key = 'schema_version';`,
      "astera_test",
    );
    const newer = await assertRejects(() => PostgresStore.open(cluster.url), ForeignDatabaseError);
    assert(newer.message.includes("newer"), newer.message);
  } finally {
    await cluster.remove();
  }
});

Deno.test("PostgresStore: instances opening at once migrate once; the password may come from PGPASSWORD", async () => {
  const cluster = await startPostgresCluster();
  try {
    const stores = await Promise.all(
      [1, 2, 3].map(() =>
        PostgresStore.open(cluster.urlWithoutPassword, {
          passwordSources: {
            env: (name) => name === "PGPASSWORD" ? cluster.password : undefined,
            readFile: () => undefined,
          },
        })
      ),
    );
    await stores[0].putInline("example.com/m", "v1.0.0", "mod", text("module m\n"));
    assertEquals(await stores[2].inlineData("example.com/m", "v1.0.0", "mod"), text("module m\n"));
    await Promise.all(stores.map((store) => store.end()));
    await assertRejects(
      () =>
        PostgresStore.open(cluster.urlWithoutPassword, {
          passwordSources: { env: () => undefined, readFile: () => undefined },
        }),
      StoreUnavailableError,
    );
  } finally {
    await cluster.remove();
  }
});

Deno.test("PostgresStore: a stopped database is unavailable by type, and comes back by itself", async () => {
  const cluster = await startPostgresCluster();
  const store = await PostgresStore.open(cluster.url, { connectTimeoutS: 2 });
  try {
    await store.putInline("example.com/m", "v1.0.0", "mod", text("module m\n"));
    await cluster.stop();
    const error = await assertRejects(
      () => store.artifact("example.com/m", "v1.0.0", "mod"),
      StoreUnavailableError,
    );
    assert(!error.message.includes(cluster.password), "the password is never in a message");
    await assertRejects(() =>
      store.putAnswer({
        kind: "list",
        module: "example.com/m",
        key: "",
        status: 200,
        body: text("v1.0.0\n"),
        fetchedAt: 1,
      }), StoreUnavailableError);
    await cluster.start();
    assertEquals(await store.inlineData("example.com/m", "v1.0.0", "mod"), text("module m\n"));
  } finally {
    await store.end();
    await cluster.remove();
  }
});

Deno.test("PostgresStore: a lease has one holder at a time; a crashed holder's passes on once expired", async () => {
  const cluster = await startPostgresCluster();
  const a = await PostgresStore.open(cluster.url, { leaseMs: 500 });
  const b = await PostgresStore.open(cluster.url, { leaseMs: 500 });
  try {
    const events: string[] = [];
    const held = await a.leases.acquire("zip\0example.com/m\0v1.0.0");
    const waiting = b.leases.acquire("zip\0example.com/m\0v1.0.0").then((lease) => {
      events.push("b holds");
      return lease;
    });
    // Well past a renewal: a holder that works keeps its lease however long it takes.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 250));
    events.push("a releases");
    await held.release();
    const second = await waiting;
    assertEquals(events, ["a releases", "b holds"]);

    // b "crashes" holding it: its pool goes, so nothing renews or releases the lease.
    await b.end();
    const third = await a.leases.acquire("zip\0example.com/m\0v1.0.0");
    await third.release();
    await second.release(); // too late to matter, and harmless
  } finally {
    await a.end();
    await b.end();
    await cluster.remove();
  }
});

Deno.test("PostgresStore: chunks read back whole, and their transfer buffers are told as released", async () => {
  const cluster = await startPostgresCluster();
  const told: number[] = [];
  const store = await PostgresStore.open(cluster.url, {
    chunkSize: 1024,
    released: (bytes) => told.push(bytes),
  });
  try {
    const zip = Uint8Array.from({ length: 2500 }, (_, i) => (i * 7) % 256);
    const writer = await store.writeBlob();
    await writer.write(zip);
    const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
    // Three chunks written: each told with what encoding and sending it cost.
    assertEquals(told.length, 3);
    assert(told[0] >= 2 * 1024, `a written chunk of 1024 bytes was told as ${told[0]}`);
    told.length = 0;
    const read: number[] = [];
    for await (const piece of store.readRange(meta, 0, meta.size)) read.push(...piece);
    assertEquals(new Uint8Array(read), zip);
    // Each chunk read arrived as hex text (twice its bytes), at least.
    assertEquals(told.length, 3);
    assert(told[0] >= 4 * 1024, `a chunk read of 1024 bytes was told as ${told[0]}`);
    assertEquals(await store.chunk(meta.blobId!, 9), undefined);
  } finally {
    await store.end();
    await cluster.remove();
  }
});

Deno.test("PostgresStore: two instances storing the same artifact at once leave exactly one copy", async () => {
  const cluster = await startPostgresCluster();
  try {
    const [a, b] = await Promise.all([
      PostgresStore.open(cluster.url),
      PostgresStore.open(cluster.url),
    ]);
    const M = "example.com/m";
    try {
      // Each instance downloaded the zip (as if both had missed the lease) and commits it.
      const store = async (into: PostgresStore, content: string) => {
        const writer = await into.writeBlob();
        await writer.write(text(content));
        await writer.finish();
        const meta = await writer.commit(M, "v1.0.0", "zip");
        await writer.abort(); // the loser's blob goes; the winner's is the artifact
        return meta;
      };
      const [fromA, fromB] = await Promise.all([store(a, "zip from a"), store(b, "zip from b")]);
      assertEquals(fromA, fromB, "both are told of the one stored copy");
      // And two .mod copies at once: the first stays.
      await Promise.all([
        a.putInline(M, "v1.0.0", "mod", text("module m\n")),
        b.putInline(M, "v1.0.0", "mod", text("module m\n")),
      ]);
      const rows = await a.sql`SELECT kind, count(*)::int AS n FROM artifacts
        WHERE module = ${M} GROUP BY kind ORDER BY kind`;
      assertEquals(rows.map((row) => [row.kind, row.n]), [["mod", 1], ["zip", 1]]);
      const [{ blobs }] = await a.sql`SELECT count(*)::int AS blobs FROM blobs`;
      assertEquals(blobs, 1, "the losing blob and its chunks are gone");
      const stored = await b.chunk(fromA.blobId!, 0);
      assert(stored && ["zip from a", "zip from b"].includes(new TextDecoder().decode(stored)));
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  } finally {
    await cluster.remove();
  }
});
