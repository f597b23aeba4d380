/**
 * The contract every store backend keeps, as one suite run over each of
 * them (as Athens runs one compliance suite over every storage backend): a
 * new backend passes it before the cache policy may run on it.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { strongEtag } from "./digest.ts";
import { MemoryStore } from "./memory.ts";
import { PostgresStore } from "./postgres.ts";
import { SqliteStore } from "./sqlite.ts";
import { type PostgresCluster, startPostgresCluster } from "../../tests/postgres_cluster.ts";
import {
  type ArtifactMeta,
  DAMAGED,
  type Store,
  StoredDamageError,
  StoreFullError,
} from "./store.ts";

/** How a test wants its store. */
interface OpenOptions {
  chunkSize?: number;
  maxBytes?: number;
  now?: () => number;
}

/** One backend under test, with the ways to damage what it stored behind its back. */
interface Backend {
  name: string;
  open(options?: OpenOptions): Promise<Opened>;
}

interface Opened {
  store: Store;
  /** Changes one byte of a stored chunk, as a bad sector does. */
  damageChunk(blobId: number, seq: number): Promise<void>;
  /** Changes one byte of an inline artifact's content. */
  damageInline(meta: ArtifactMeta): Promise<void>;
  /** Changes one byte of a stored answer's body. */
  damageAnswer(kind: string, module: string, key: string): Promise<void>;
  close(): Promise<void>;
}

const sqliteBackend: Backend = {
  name: "SqliteStore",
  async open(options = {}) {
    const dir = await Deno.makeTempDir({ prefix: "astera-contract-" });
    const path = `${dir}/astera.db`;
    const store = SqliteStore.open(path, options);
    const raw = (sql: string, ...params: (string | number)[]) => {
      const db = new DatabaseSync(path);
      try {
        db.prepare(sql).run(...params);
      } finally {
        db.close();
      }
      return Promise.resolve();
    };
    // Zeros in place of the bytes, without a digest to match (what is damaged is never all zeros).
    return {
      store,
      damageChunk: (blobId, seq) =>
        raw(
          "UPDATE chunks SET data = zeroblob(length(data)) WHERE blob_id = ? AND seq = ?",
          blobId,
          seq,
        ),
      damageInline: (meta) =>
        raw(
          "UPDATE artifacts SET data = zeroblob(length(data)) WHERE module = ? AND version = ? AND kind = ?",
          meta.module,
          meta.version,
          meta.kind,
        ),
      damageAnswer: (kind, module, key) =>
        raw(
          "UPDATE answers SET body = zeroblob(length(body)) WHERE kind = ? AND module = ? AND key = ?",
          kind,
          module,
          key,
        ),
      async close() {
        store.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  },
};

/** One throwaway cluster for the file, a fresh database per test (removed by the last test). */
let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;

const postgresBackend: Backend = {
  name: "PostgresStore",
  async open(options = {}) {
    cluster ??= startPostgresCluster();
    const running = await cluster;
    const database = `contract_${++databases}`;
    const store = await PostgresStore.open(await running.createDatabase(database), options);
    const quote = (value: string | number) => `'${String(value).replaceAll("'", "''")}'`;
    const zeros = (column: string) => `decode(repeat('00', length(${column})), 'hex')`;
    const raw = async (sql: string) => {
      await running.psql(sql, database);
    };
    return {
      store,
      damageChunk: (blobId, seq) =>
        raw(`UPDATE chunks SET data = ${zeros("data")} WHERE blob_id = ${blobId} AND seq = ${seq}`),
      damageInline: (meta) =>
        raw(
          `UPDATE artifacts SET data = ${zeros("data")} WHERE module = ${quote(meta.module)}
           AND version = ${quote(meta.version)} AND kind = ${quote(meta.kind)}`,
        ),
      damageAnswer: (kind, module, key) =>
        raw(
          `UPDATE answers SET body = ${zeros("body")} WHERE kind = ${quote(kind)}
           AND module = ${quote(module)} AND key = ${quote(key)}`,
        ),
      close: () => store.end(),
    };
  },
};

/** The memory store hands out its own copies: flipping a bit of one damages the stored copy. */
const memoryBackend: Backend = {
  name: "MemoryStore",
  open(options = {}) {
    const store = new MemoryStore(options);
    const flip = (bytes: Uint8Array | undefined) => {
      assert(bytes && bytes.byteLength > 0, "something to damage");
      bytes[0] ^= 1;
    };
    return Promise.resolve({
      store,
      damageChunk: async (blobId, seq) => flip(await store.chunk(blobId, seq)),
      damageInline: async (meta) =>
        flip(await store.inlineData(meta.module, meta.version, meta.kind)),
      damageAnswer: async (kind, module, key) =>
        flip((await store.answer(kind, module, key))?.body),
      close: () => Promise.resolve(store.close()),
    });
  },
};

const text = (s: string) => new TextEncoder().encode(s);
const M = "example.com/m";

/** The bytes `0, 1, 2, …` (mod 251, so no chunk boundary lines up with a repeat). */
function counting(size: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (from + i) % 251);
}

async function readAll(store: Store, meta: ArtifactMeta, start = 0, end = meta.size) {
  const parts: number[] = [];
  for await (const piece of store.readRange(meta, start, end)) parts.push(...piece);
  return new Uint8Array(parts);
}

/** Writes `pieces` through a blob writer and commits them as `module@version.zip`. */
async function writeZip(store: Store, pieces: Uint8Array[], version = "v1.0.0", module = M) {
  const writer = await store.writeBlob();
  for (const piece of pieces) await writer.write(piece);
  return { writer, meta: await writer.commit(module, version, "zip") };
}

/** Runs the contract over `backend`. */
function storeContract(backend: Backend): void {
  const test = (name: string, options: OpenOptions, fn: (opened: Opened) => Promise<void>) =>
    Deno.test(`${backend.name}: ${name}`, async () => {
      const opened = await backend.open(options);
      try {
        await fn(opened);
      } finally {
        await opened.close();
      }
    });

  test("an inline artifact is stored once and never changes", {}, async ({ store }) => {
    assertEquals(await store.artifact(M, "v1.0.0", "mod"), undefined);
    const first = await store.putInline(M, "v1.0.0", "mod", text("module m\n"));
    assertEquals([first.size, first.blobId, first.etag], [
      9,
      null,
      await strongEtag(text("module m\n")),
    ]);
    const second = await store.putInline(M, "v1.0.0", "mod", text("module n\n"));
    assertEquals(second.etag, first.etag);
    assertEquals(await store.inlineData(M, "v1.0.0", "mod"), text("module m\n"));
    assertEquals((await store.artifact(M, "v1.0.0", "mod"))?.etag, first.etag);
  });

  test("module paths differing only in case are distinct", {}, async ({ store }) => {
    await store.putInline("example.com/M", "v1.0.0", "mod", text("upper"));
    await store.putInline("example.com/m", "v1.0.0", "mod", text("lower"));
    assertEquals(await store.inlineData("example.com/M", "v1.0.0", "mod"), text("upper"));
    assertEquals(await store.inlineData("example.com/m", "v1.0.0", "mod"), text("lower"));
  });

  test("stored versions and the list of artifacts", {}, async ({ store }) => {
    await store.putInline(M, "v1.0.0", "mod", text("a"));
    await store.putInline(M, "v1.1.0", "mod", text("b"));
    await store.putInline(M, "v1.1.0", "info", text("{}"));
    await store.putInline("example.com/other", "v2.0.0", "mod", text("c"));
    assertEquals((await store.storedVersions(M, "mod")).sort(), ["v1.0.0", "v1.1.0"]);
    assertEquals(await store.storedVersions(M, "zip"), []);
    const all = await store.listArtifacts();
    assertEquals(
      all.map((meta) => `${meta.module}@${meta.version}.${meta.kind}`).sort(),
      [
        "example.com/m@v1.0.0.mod",
        "example.com/m@v1.1.0.info",
        "example.com/m@v1.1.0.mod",
        "example.com/other@v2.0.0.mod",
      ],
    );
  });

  test("answers are replaced, listed and forgotten", {}, async ({ store }) => {
    const list = { kind: "list", module: M, key: "", status: 200, fetchedAt: 1 };
    await store.putAnswer({ ...list, body: text("v1.0.0\n") });
    await store.putAnswer({ ...list, body: text("v1.0.0\nv1.1.0\n"), fetchedAt: 2 });
    await store.putAnswer({
      kind: "mod",
      module: M,
      key: "v9.0.0",
      status: 404,
      body: text("gone"),
      fetchedAt: 3,
    });
    const answer = await store.answer("list", M, "");
    assertEquals([answer?.status, answer?.fetchedAt, answer?.body], [
      200,
      2,
      text("v1.0.0\nv1.1.0\n"),
    ]);
    assertEquals((await store.answer("mod", M, "v9.0.0"))?.status, 404);
    assertEquals(await store.answerKeys(), [
      { kind: "list", module: M, key: "" },
      { kind: "mod", module: M, key: "v9.0.0" },
    ]);
    await store.deleteAnswer("list", M, "");
    assertEquals(await store.answer("list", M, ""), undefined);
  });

  test("a blob written in odd pieces is cut into chunks and reads back by any range", {
    chunkSize: 7,
  }, async ({ store }) => {
    const whole = counting(49);
    const sizes = [1, 6, 13, 0, 2, 20, 7];
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const size of sizes) pieces.push(whole.subarray(at, at += size));
    const writer = await store.writeBlob();
    assertEquals(writer.chunkSize, 7);
    for (const piece of pieces) await writer.write(piece);
    assertEquals([writer.size, writer.chunks], [49, 7]);
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined, "invisible until committed");
    assertEquals(
      await store.chunk(writer.blobId, 3),
      whole.subarray(21, 28),
      "its chunks read by id",
    );
    const meta = await writer.commit(M, "v1.0.0", "zip");
    assertEquals(
      [meta.size, meta.blobId, meta.chunkSize, meta.etag, meta.chunkDigests],
      [49, writer.blobId, 7, await strongEtag(whole), true],
    );
    assertEquals(writer.etag, meta.etag);
    for (let start = 0; start <= 49; start += 5) {
      for (let end = start; end <= 52; end += 3) {
        assertEquals(
          await readAll(store, meta, start, end),
          whole.subarray(start, end),
          `${start}-${end}`,
        );
      }
    }
    for await (const piece of store.readRange(meta, 0, 49)) assert(piece.byteLength <= 7);
  });

  test(
    "a blob of a partial last chunk, or under one chunk, or empty",
    { chunkSize: 8 },
    async ({ store }) => {
      for (const [version, size] of [["v1.0.0", 19], ["v1.1.0", 3], ["v1.2.0", 0]] as const) {
        const bytes = counting(size, 7);
        const { writer, meta } = await writeZip(store, [bytes], version);
        assertEquals([meta.size, writer.chunks], [size, Math.ceil(size / 8)], version);
        assertEquals(await readAll(store, meta), bytes, version);
      }
    },
  );

  test("an aborted blob leaves nothing visible", { chunkSize: 4 }, async ({ store }) => {
    const writer = await store.writeBlob();
    await writer.write(counting(10));
    await writer.abort();
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
    assertEquals(await store.chunk(writer.blobId, 0), undefined);
    assertEquals(await store.listArtifacts(), []);
    assertEquals(await store.sweepPendingBlobs(0), 0, "nothing pending is left either");
  });

  test(
    "two writers of the same artifact leave exactly one copy",
    { chunkSize: 4 },
    async ({ store }) => {
      const a = await store.writeBlob();
      const b = await store.writeBlob();
      await a.write(counting(10));
      await b.write(counting(10));
      const first = await a.commit(M, "v1.0.0", "zip");
      const second = await b.commit(M, "v1.0.0", "zip");
      assertEquals(second, first, "the second commit returns the stored one");
      assertEquals(first.blobId, a.blobId);
      assertEquals((await store.listArtifacts()).length, 1);
      assertEquals(await store.chunk(b.blobId, 0), counting(4), "readable until discarded");
      await b.abort();
      assertEquals(await store.chunk(b.blobId, 0), undefined);
      await a.abort(); // a committed blob is the artifact's: aborting it changes nothing
      assertEquals(await readAll(store, first), counting(10));
    },
  );

  let time = 1_000_000;
  test("pending blobs left behind are swept; committed and own ones kept", {
    chunkSize: 4,
    now: () => time,
  }, async ({ store }) => {
    const { meta } = await writeZip(store, [text("kept")]);
    const { writer: loser } = await writeZip(store, [text("lost")]); // left to the sweep
    const slow = await store.writeBlob();
    await slow.write(text("slow"));
    assertEquals(await store.sweepPendingBlobs(60_000), 0, "a young pending blob may be in use");
    time += 120_000;
    assertEquals(await store.sweepPendingBlobs(60_000), 1);
    assertEquals(await store.chunk(loser.blobId, 0), undefined);
    assertEquals(await store.chunk(slow.blobId, 0), text("slow"), "its own writer's blob stays");
    assertEquals(await readAll(store, meta), text("kept"));
    await slow.write(text("more"));
    const slowMeta = await slow.commit(M, "v1.1.0", "zip");
    assertEquals(await readAll(store, slowMeta), text("slowmore"));
  });

  test(
    "what reads back other than stored raises StoredDamageError",
    { chunkSize: 4 },
    async (opened) => {
      const { store } = opened;
      const mod = await store.putInline(M, "v1.0.0", "mod", text("module m\n"));
      const { meta: zip } = await writeZip(store, [text("abcdef")]);
      await store.putAnswer({
        kind: "list",
        module: M,
        key: "",
        status: 200,
        body: text("v1\n"),
        fetchedAt: 0,
      });
      await opened.damageInline(mod);
      await opened.damageChunk(zip.blobId!, 0);
      await opened.damageAnswer("list", M, "");
      await assertRejects(() => store.inlineData(M, "v1.0.0", "mod"), StoredDamageError);
      await assertRejects(() => store.chunk(zip.blobId!, 0), StoredDamageError);
      await assertRejects(() => store.answer("list", M, ""), StoredDamageError);
      await assertRejects(() => readAll(store, zip), StoredDamageError);
      assertEquals(await store.chunk(zip.blobId!, 1), text("ef"), "an intact chunk still reads");
      assertEquals(await readAll(store, zip, 4, 6), text("ef"));
    },
  );

  test("a damaged artifact is removed with a note, which goes once it is stored again", {
    chunkSize: 4,
  }, async ({ store }) => {
    const { meta } = await writeZip(store, [text("abcdef")]);
    const stale = { ...meta, etag: '"other"' };
    assertEquals(await store.removeArtifact(stale, "not this copy"), false);
    assertEquals(await store.removeArtifact(meta, "chunk 0 damaged"), true);
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
    assertEquals(await store.chunk(meta.blobId!, 0), undefined, "its blob went too");
    const note = await store.answer(DAMAGED, M, "v1.0.0.zip");
    assertEquals(new TextDecoder().decode(note?.body), "chunk 0 damaged");
    assertEquals(await store.removeArtifact(meta, "again"), false);
    await writeZip(store, [text("abcdef")]);
    assertEquals(await store.answer(DAMAGED, M, "v1.0.0.zip"), undefined);
    const mod = await store.putInline(M, "v1.0.0", "mod", text("m"));
    await store.removeArtifact(mod, "bad");
    assert(await store.answer(DAMAGED, M, "v1.0.0.mod"));
    await store.putInline(M, "v1.0.0", "mod", text("m"));
    assertEquals(await store.answer(DAMAGED, M, "v1.0.0.mod"), undefined);
  });

  test("old blobs get their chunk digests recorded", { chunkSize: 4 }, async ({ store }) => {
    const { meta } = await writeZip(store, [text("abcdef")]);
    await store.recordChunkDigests(meta.blobId!, []);
    assertEquals((await store.artifact(M, "v1.0.0", "zip"))?.chunkDigests, true);
  });

  test("a batch stores many things at once, and nothing if it throws", {}, async ({ store }) => {
    await store.putInline(M, "v1.0.0", "mod", text("first"));
    const data = text("second");
    const etag = await strongEtag(data);
    const stored = await store.batch((batch) => {
      const results = [
        batch.putInline(M, "v1.0.0", "mod", data, etag),
        batch.putInline(M, "v1.1.0", "mod", data, etag),
      ];
      batch.putAnswer({
        kind: "list",
        module: M,
        key: "",
        status: 200,
        body: text("v1\n"),
        fetchedAt: 5,
      });
      assertEquals(batch.answer("list", M, "")?.fetchedAt, 5);
      return results;
    });
    assertEquals(stored, [false, true]);
    assertEquals(await store.inlineData(M, "v1.0.0", "mod"), text("first"));
    await assertRejects(
      () =>
        store.batch((batch) => {
          batch.putInline(M, "v1.2.0", "mod", data, etag);
          batch.putAnswer({
            kind: "list",
            module: M,
            key: "",
            status: 200,
            body: text("x"),
            fetchedAt: 6,
          });
          throw new RangeError("stop");
        }),
      RangeError,
      "stop",
    );
    assertEquals(await store.artifact(M, "v1.2.0", "mod"), undefined);
    assertEquals((await store.answer("list", M, ""))?.fetchedAt, 5);
  });

  test("a full store says so by type and keeps what it had", {
    chunkSize: 16 * 1024,
    maxBytes: 256 * 1024,
  }, async ({ store }) => {
    await store.putInline(M, "v1.0.0", "mod", text("module m\n"));
    const writer = await store.writeBlob();
    await assertRejects(async () => {
      for (let i = 0; i < 64; i++) await writer.write(counting(16 * 1024, i));
    }, StoreFullError);
    await writer.abort();
    assertEquals(await store.inlineData(M, "v1.0.0", "mod"), text("module m\n"));
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
  });

  test("counters and size move with the work", { chunkSize: 4 }, async ({ store }) => {
    const before = store.stats();
    const sizeBefore = await store.size();
    await writeZip(store, [counting(4096)]);
    await store.artifact(M, "v1.0.0", "zip");
    const after = store.stats();
    assert(after.writes > before.writes && after.reads > before.reads, JSON.stringify(after));
    assert((await store.size()).bytes > sizeBefore.bytes);
    assertEquals(await store.probe(), undefined);
  });

  // ---- the disk budget ----

  test("eviction candidates: least recently served first, never-served from when stored", {
    now: () => 100,
  }, async ({ store }) => {
    for (const version of ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"]) {
      await writeZip(store, [counting(10)], version);
    }
    await store.putInline(M, "v1.0.0", "mod", text("module m\n"));
    await store.recordServed([
      { module: M, version: "v1.2.0", at: 200 },
      { module: M, version: "v1.0.0", at: 300 },
      { module: M, version: "v1.3.0", at: 400 },
      { module: "example.com/never", version: "v1.0.0", at: 500 },
    ]);
    // A time never goes back: a late batch with an older hit changes nothing.
    await store.recordServed([{ module: M, version: "v1.0.0", at: 250 }]);
    const versions = (metas: ArtifactMeta[]) => metas.map((meta) => meta.version);
    const all = await store.evictionCandidates(10);
    assertEquals(versions(all), ["v1.1.0", "v1.2.0", "v1.0.0", "v1.3.0"]);
    assert(all.every((meta) => meta.kind === "zip" && meta.blobId !== null && meta.size === 10));
    assertEquals(versions(await store.evictionCandidates(2, 1)), ["v1.2.0", "v1.0.0"]);
    assertEquals(versions(await store.evictionCandidates(10, 0, 300)), ["v1.1.0", "v1.2.0"]);
  });

  test("an evicted zip is gone at once, its chunks deleted a few at a time", {
    chunkSize: 16 * 1024,
  }, async ({ store }) => {
    await store.putInline(M, "v1.0.0", "mod", text("module m\n"));
    await store.putAnswer({
      kind: "list",
      module: M,
      key: "",
      status: 200,
      body: text("v1.0.0\n"),
      fetchedAt: 1,
    });
    assertEquals(await store.smallBytes(), 9 + 7, "the .mod and the list, not the zips");
    const { meta } = await writeZip(store, [counting(20 * 16 * 1024)]);
    const { meta: kept } = await writeZip(store, [counting(4 * 16 * 1024)], "v1.1.0");
    const used = await store.usedBytes();
    assertEquals(await store.smallBytes(), 9 + 7);

    assertEquals(await store.evictZip(meta), true);
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
    assertEquals(await store.evictZip(meta), false, "only once");
    const steps = [];
    for (let n; (n = await store.deleteBlobChunks(meta.blobId!, 8)) > 0;) steps.push(n);
    assertEquals(steps, [8, 8, 4]);
    assertEquals(await store.chunk(meta.blobId!, 0), undefined);
    assert(await store.usedBytes() < used - 16 * 16 * 1024, "most of its bytes are free again");
    // The rest stays: small data, the other zip (a committed blob is never deleted this way).
    assertEquals(await store.deleteBlobChunks(kept.blobId!, 8), 0);
    assertEquals(await readAll(store, kept), counting(4 * 16 * 1024));
    assertEquals(await store.inlineData(M, "v1.0.0", "mod"), text("module m\n"));
    assertEquals(await store.smallBytes(), 9 + 7);
  });

  test("evicting a copy since replaced leaves the new one", {}, async ({ store }) => {
    const { meta: old } = await writeZip(store, [counting(100)]);
    assertEquals(await store.evictZip(old), true);
    while (await store.deleteBlobChunks(old.blobId!, 16) > 0);
    const { meta: fresh } = await writeZip(store, [counting(50)]);
    assertEquals(await store.evictZip(old), false);
    assertEquals((await store.artifact(M, "v1.0.0", "zip"))?.blobId, fresh.blobId);
    assertEquals(await store.evictZip({ ...fresh, kind: "mod" }), false, "only zips are evicted");
  });
}

storeContract(sqliteBackend);
storeContract(memoryBackend);
storeContract(postgresBackend);

Deno.test("PostgresStore: the throwaway cluster is removed", async () => {
  await (await cluster)?.remove();
});
