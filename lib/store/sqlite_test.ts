import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { sha256, strongEtag } from "./digest.ts";
import { SqliteStore } from "./sqlite.ts";
import { DAMAGED, StoreBusyError, StoreCorruptError, StoredDamageError } from "./store.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function withDb(fn: (path: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "astera-store-" });
  try {
    await fn(`${dir}/astera.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an inline artifact survives reopening the database", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path);
    await store.putInline("example.com/m", "v1.0.0", "mod", text("module example.com/m\n"));
    store.close();
    const again = SqliteStore.open(path);
    assertEquals((await again.artifact("example.com/m", "v1.0.0", "mod"))?.size, 21);
    assertEquals(
      await again.inlineData("example.com/m", "v1.0.0", "mod"),
      text("module example.com/m\n"),
    );
    assertEquals(again.schemaVersion(), 3);
    again.close();
  });
});

Deno.test("a stored artifact never changes, even when stored again", async () => {
  const store = SqliteStore.open(":memory:");
  const first = await store.putInline("example.com/m", "v1.0.0", "mod", text("one"));
  const second = await store.putInline("example.com/m", "v1.0.0", "mod", text("two"));
  assertEquals(second.etag, first.etag);
  assertEquals(await store.inlineData("example.com/m", "v1.0.0", "mod"), text("one"));
  store.close();
});

Deno.test("module paths differing only in case are distinct", async () => {
  const store = SqliteStore.open(":memory:");
  await store.putInline("example.com/M", "v1.0.0", "mod", text("upper"));
  await store.putInline("example.com/m", "v1.0.0", "mod", text("lower"));
  assertEquals(await store.inlineData("example.com/M", "v1.0.0", "mod"), text("upper"));
  assertEquals(await store.inlineData("example.com/m", "v1.0.0", "mod"), text("lower"));
  store.close();
});

Deno.test("a blob is invisible until committed, then readable chunk by chunk", async () => {
  const store = SqliteStore.open(":memory:", { chunkSize: 4 });
  const blob = await store.createBlob();
  await store.putChunk(blob, 0, text("abcd"));
  await store.putChunk(blob, 1, text("ef"));
  assertEquals(await store.artifact("example.com/m", "v1.0.0", "zip"), undefined);
  const meta = await store.commitBlob("example.com/m", "v1.0.0", "zip", blob, 6, '"x"');
  assertEquals([meta.size, meta.blobId, meta.chunkSize], [6, blob, 4]);
  assertEquals(await store.chunk(blob, 1), text("ef"));
  store.close();
});

Deno.test("a second commit of the same artifact keeps the first; the caller discards its blob", async () => {
  const store = SqliteStore.open(":memory:", { chunkSize: 4 });
  const first = await store.createBlob();
  await store.putChunk(first, 0, text("one"));
  await store.commitBlob("example.com/m", "v1.0.0", "zip", first, 3, '"1"');
  const second = await store.createBlob();
  await store.putChunk(second, 0, text("two"));
  const meta = await store.commitBlob("example.com/m", "v1.0.0", "zip", second, 3, '"2"');
  assertEquals(meta.blobId, first);
  assertEquals(await store.chunk(second, 0), text("two"), "still readable until discarded");
  await store.discardBlob(second);
  assertEquals(await store.chunk(second, 0), undefined);
  assertEquals(await store.chunk(first, 0), text("one"));
  store.close();
});

/** A clock for two stores on one file: `writer` is another process (or one that crashed). */
async function withSweeper(
  fn: (
    stores: { writer: SqliteStore; sweeper: SqliteStore; clock: { time: number; elapsed: number } },
  ) => Promise<void>,
) {
  await withDb(async (path) => {
    const clock = { time: 1_000_000, elapsed: 0 };
    const writer = SqliteStore.open(path, { now: () => clock.time });
    const sweeper = SqliteStore.open(path, { now: () => clock.time, elapsed: () => clock.elapsed });
    try {
      await fn({ writer, sweeper, clock });
    } finally {
      writer.close();
      sweeper.close();
    }
  });
}

Deno.test("pending blobs left behind are swept, committed ones kept", async () => {
  await withSweeper(async ({ writer, sweeper, clock }) => {
    const kept = await writer.createBlob();
    await writer.putChunk(kept, 0, text("kept"));
    await writer.commitBlob("example.com/m", "v1.0.0", "zip", kept, 4, '"k"');
    const abandoned = await writer.createBlob();
    await writer.putChunk(abandoned, 0, text("half"));
    assertEquals(await sweeper.sweepPendingBlobs(60_000), 0, "a young pending blob may be in use");
    clock.time += 120_000;
    assertEquals(await sweeper.sweepPendingBlobs(60_000), 1);
    assertEquals(await sweeper.chunk(abandoned, 0), undefined);
    assertEquals(await sweeper.chunk(kept, 0), text("kept"));
  });
});

Deno.test("a store never sweeps the blobs it is writing, however long they wait", async () => {
  let time = 1_000_000;
  const store = SqliteStore.open(":memory:", { now: () => time });
  const slow = await store.createBlob();
  await store.putChunk(slow, 0, text("slow"));
  time += 24 * 60 * 60 * 1000; // a very slow link, or NTP stepping the clock forward
  assertEquals(await store.sweepPendingBlobs(60_000), 0);
  await store.putChunk(slow, 1, text("link"));
  const meta = await store.commitBlob("example.com/m", "v1.0.0", "zip", slow, 8, '"s"');
  assertEquals(await store.chunk(meta.blobId!, 0), text("slow"));
  store.close();
});

Deno.test("a blob its store abandons stays readable until the sweep finds it idle", async () => {
  let time = 1_000_000;
  const store = SqliteStore.open(":memory:", { now: () => time });
  const left = await store.createBlob();
  await store.putChunk(left, 0, text("late readers"));
  store.abandonBlob(left);
  assertEquals(await store.sweepPendingBlobs(60_000), 0);
  assertEquals(await store.chunk(left, 0), text("late readers"));
  time += 120_000;
  assertEquals(await store.sweepPendingBlobs(60_000), 1);
  assertEquals(await store.chunk(left, 0), undefined);
  store.close();
});

Deno.test("a blob committed or written to while a sweep is under way is kept whole", async () => {
  await withSweeper(async ({ writer, sweeper, clock }) => {
    const abandoned = await writer.createBlob();
    await writer.putChunk(abandoned, 0, text("gone"));
    const committed = await writer.createBlob();
    await writer.putChunk(committed, 0, text("kept"));
    const written = await writer.createBlob();
    await writer.putChunk(written, 0, text("one"));
    clock.time += 120_000;
    // The sweep picks all three and deletes the first at once; the writer's two transactions
    // run before it comes back for the others.
    const sweeping = sweeper.sweepPendingBlobs(60_000);
    const committing = writer.commitBlob("example.com/m", "v1.0.0", "zip", committed, 4, '"k"');
    const writing = writer.putChunk(written, 1, text("two"));
    const meta = await committing;
    await writing;
    assertEquals(await sweeping, 1);
    assertEquals(await sweeper.chunk(abandoned, 0), undefined);
    assertEquals(await sweeper.chunk(meta.blobId!, 0), text("kept"));
    assertEquals([await sweeper.chunk(written, 0), await sweeper.chunk(written, 1)], [
      text("one"),
      text("two"),
    ]);
  });
});

Deno.test("after the clock goes back, a pending blob stamped in its future is swept once it stays unwritten", async () => {
  await withSweeper(async ({ writer, sweeper, clock }) => {
    const day = 24 * 60 * 60 * 1000;
    clock.time += day;
    const abandoned = await writer.createBlob();
    await writer.putChunk(abandoned, 0, text("half"));
    const live = await writer.createBlob();
    await writer.putChunk(live, 0, text("one"));
    clock.time -= day;
    assertEquals(await sweeper.sweepPendingBlobs(60_000), 0, "first seen: either may be in use");
    clock.elapsed += 30_000;
    clock.time += 30_000;
    assertEquals(await sweeper.sweepPendingBlobs(60_000), 0, "not yet unwritten for a minute");
    await writer.putChunk(live, 1, text("two"));
    clock.elapsed += 30_000;
    clock.time += 30_000;
    assertEquals(await sweeper.sweepPendingBlobs(60_000), 1, "unwritten for a minute");
    assertEquals(await sweeper.chunk(abandoned, 0), undefined);
    assertEquals(await sweeper.chunk(live, 1), text("two"), "written to: kept");
  });
});

Deno.test("answers are replaced and carry their fetch time", async () => {
  const store = SqliteStore.open(":memory:");
  await store.putAnswer({
    kind: "list",
    module: "example.com/m",
    key: "",
    status: 200,
    body: text("v1.0.0\n"),
    fetchedAt: 1,
  });
  await store.putAnswer({
    kind: "list",
    module: "example.com/m",
    key: "",
    status: 200,
    body: text("v1.0.0\nv1.1.0\n"),
    fetchedAt: 2,
  });
  const answer = await store.answer("list", "example.com/m", "");
  assertEquals([answer?.fetchedAt, answer?.body], [2, text("v1.0.0\nv1.1.0\n")]);
  store.close();
});

Deno.test("a write meeting another process's lock backs off, then fails clearly at its deadline", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path, { writeDeadlineMs: 300, busyTimeoutMs: 0 });
    const other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE");
    // The event loop stays free while the write waits: this timer fires.
    let ticked = false;
    setTimeout(() => ticked = true, 20);
    await assertRejects(
      () => store.putInline("example.com/m", "v1.0.0", "mod", text("x")),
      StoreBusyError,
      "locked",
    );
    assert(ticked, "the event loop ran while the write was waiting");
    assert(store.stats().busyRetries > 0);
    other.exec("ROLLBACK");
    await store.putInline("example.com/m", "v1.0.0", "mod", text("x"));
    other.close();
    store.close();
  });
});

Deno.test("a database from a newer Astera is refused", async () => {
  await withDb((path) => {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 99");
    db.close();
    let message = "";
    try {
      SqliteStore.open(path);
    } catch (error) {
      message = String(error);
    }
    assert(message.includes("newer"), message);
  });
});

Deno.test("a batch stores many things in one transaction and keeps what was stored before", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path);
    await store.putInline("example.com/m", "v1.0.0", "mod", text("first"));
    const writesBefore = store.stats().writes;
    const data = text("second");
    const etag = await strongEtag(data);
    const stored = await store.batch((batch) => {
      const results = [
        batch.putInline("example.com/m", "v1.0.0", "mod", data, etag),
        batch.putInline("example.com/m", "v1.1.0", "mod", data, etag),
      ];
      batch.putAnswer({
        kind: "list",
        module: "example.com/m",
        key: "",
        status: 200,
        body: text("v1.0.0\n"),
        fetchedAt: 0,
      });
      assertEquals(batch.answer("list", "example.com/m", "")?.fetchedAt, 0);
      return results;
    });
    assertEquals(stored, [false, true]);
    assertEquals(store.stats().writes, writesBefore + 1);
    assertEquals(await store.inlineData("example.com/m", "v1.0.0", "mod"), text("first"));
    assertEquals((await store.artifact("example.com/m", "v1.1.0", "mod"))?.etag, etag);
    store.close();
  });
});

Deno.test("a batch that throws stores nothing", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path);
    const data = text("x");
    const etag = await strongEtag(data);
    await assertRejects(
      () =>
        store.batch((batch) => {
          batch.putInline("example.com/m", "v1.0.0", "mod", data, etag);
          throw new RangeError("stop");
        }),
      RangeError,
      "stop",
    );
    assertEquals(await store.artifact("example.com/m", "v1.0.0", "mod"), undefined);
    store.close();
  });
});

Deno.test("the size counts what is stored, and a discarded blob's pages as free", async () => {
  const store = SqliteStore.open(":memory:");
  const empty = await store.size();
  const blob = await store.createBlob();
  for (let seq = 0; seq < 8; seq++) await store.putChunk(blob, seq, new Uint8Array(128 * 1024));
  const filled = await store.size();
  assert(filled.bytes >= empty.bytes + 1024 * 1024, JSON.stringify([empty, filled]));
  await store.discardBlob(blob);
  const discarded = await store.size();
  assertEquals(discarded.bytes, filled.bytes, "the file does not shrink");
  assert(discarded.freeBytes >= 1024 * 1024, JSON.stringify(discarded));
  store.close();
});

Deno.test("what reads back other than it was stored raises StoredDamageError; removeArtifact takes it and its blob", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path, { chunkSize: 4 });
    const mod = await store.putInline("example.com/m", "v1.0.0", "mod", text("module m\n"));
    const blob = await store.createBlob();
    await store.putChunk(blob, 0, text("abcd"));
    await store.putChunk(blob, 1, text("ef"));
    const zip = await store.commitBlob("example.com/m", "v1.0.0", "zip", blob, 6, '"x"');
    assertEquals(zip.chunkDigests, true);
    // Another connection changes bytes behind the store's back, as a bad sector does.
    const other = new DatabaseSync(path);
    other.exec(
      "UPDATE artifacts SET data = CAST('module n' || char(10) AS BLOB) WHERE kind = 'mod'",
    );
    other.exec(`UPDATE chunks SET data = CAST('abcD' AS BLOB) WHERE blob_id = ${blob} AND seq = 0`);
    other.close();
    await assertRejects(
      () => store.inlineData("example.com/m", "v1.0.0", "mod"),
      StoredDamageError,
    );
    await assertRejects(() => store.chunk(blob, 0), StoredDamageError);
    assertEquals(await store.chunk(blob, 1), text("ef"), "an intact chunk still reads");

    assertEquals(await store.removeArtifact(mod, "test"), true);
    assertEquals(await store.removeArtifact(zip, "test"), true);
    assertEquals(await store.removeArtifact(zip, "test"), false, "already gone");
    assertEquals(await store.artifact("example.com/m", "v1.0.0", "mod"), undefined);
    assertEquals(await store.artifact("example.com/m", "v1.0.0", "zip"), undefined);
    assertEquals(await store.chunk(blob, 1), undefined);
    store.close();
  });
});

Deno.test("the note of a copy removed as damaged goes once the artifact is stored again", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path, { chunkSize: 4 });
    const mod = await store.putInline("example.com/m", "v1.0.0", "mod", text("module m\n"));
    const blob = await store.createBlob();
    await store.putChunk(blob, 0, text("abcd"));
    const zip = await store.commitBlob("example.com/m", "v1.0.0", "zip", blob, 4, '"x"');
    for (const meta of [mod, zip]) await store.removeArtifact(meta, "flipped");
    const note = async (kind: string) =>
      await (await store.answer(DAMAGED, "example.com/m", `v1.0.0.${kind}`));
    assertEquals(new TextDecoder().decode((await note("mod"))?.body), "flipped");
    assertEquals(new TextDecoder().decode((await note("zip"))?.body), "flipped");

    await store.putInline("example.com/m", "v1.0.0", "mod", text("module m\n"));
    const again = await store.createBlob();
    await store.putChunk(again, 0, text("abcd"));
    await store.commitBlob("example.com/m", "v1.0.0", "zip", again, 4, '"x"');
    assertEquals([await note("mod"), await note("zip")], [undefined, undefined]);
    store.close();
  });
});

Deno.test("a database of schema 1 migrates at once; its chunks, without digests, read as before until recorded", async () => {
  await withDb(async (path) => {
    const store = SqliteStore.open(path, { chunkSize: 4 });
    const blob = await store.createBlob();
    await store.putChunk(blob, 0, text("abcd"));
    await store.commitBlob("example.com/m", "v1.0.0", "zip", blob, 4, '"x"');
    store.close();
    // What schema 1 had: no digest columns.
    const old = new DatabaseSync(path);
    old.exec("ALTER TABLE chunks DROP COLUMN digest; ALTER TABLE blobs DROP COLUMN chunk_digests");
    old.exec("ALTER TABLE answers DROP COLUMN digest");
    // Nor schema 3's served times.
    old.exec("DROP INDEX artifacts_zip_recency; ALTER TABLE artifacts DROP COLUMN last_served");
    old.exec("UPDATE chunks SET data = CAST('abcD' AS BLOB); PRAGMA user_version = 1");
    old.close();

    const again = SqliteStore.open(path);
    assertEquals(again.schemaVersion(), 3);
    assertEquals((await again.artifact("example.com/m", "v1.0.0", "zip"))?.chunkDigests, false);
    assertEquals(await again.chunk(blob, 0), text("abcD"), "nothing to check a lone chunk against");
    await again.recordChunkDigests(blob, [sha256(text("abcd"))]);
    assertEquals((await again.artifact("example.com/m", "v1.0.0", "zip"))?.chunkDigests, true);
    await assertRejects(() => again.chunk(blob, 0), StoredDamageError);
    again.close();
  });
});

Deno.test("a file that is not a database is refused as StoreCorruptError, SQLite's words kept", async () => {
  await withDb(async (path) => {
    await Deno.writeFile(path, new TextEncoder().encode("not a database at all, ".repeat(300)));
    let error: unknown;
    try {
      SqliteStore.open(path);
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof StoreCorruptError, String(error));
    assert(/not a database/.test(error.message), error.message);
  });
});
