import { join } from "node:path";
import { bytesAccess, writeZip } from "../archive/mod.ts";
import { hashZip } from "../mod/dirhash.ts";
import { concatBytes } from "../util/bytes.ts";
import { MemoryStore, SqliteStore, type Store, StoreFullError } from "../store/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { type ImportCounts, SeedWriter } from "./import.ts";
import { seedModuleCache } from "./mod.ts";

const M = "example.com/m";

/** A module zip of `example.com/m@v1.0.0` with `bytes` of incompressible data beside its go.mod. */
async function moduleZip(bytes: number): Promise<Uint8Array> {
  const data = new Uint8Array(bytes);
  // Not compressible, so the zip is as big as asked (getRandomValues fills 64 KiB at most).
  for (let at = 0; at < bytes; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  const files = [
    { name: `${M}@v1.0.0/go.mod`, data: new TextEncoder().encode(`module ${M}\n`) },
    { name: `${M}@v1.0.0/data.bin`, data },
  ];
  return new Uint8Array(await new Response(writeZip(files)).arrayBuffer());
}

/** A module cache holding `example.com/m@v1.0.0`'s `.mod` and `zip` (with its `.ziphash`). */
async function cacheWithZip(dir: string, zip: Uint8Array): Promise<string> {
  const atV = join(dir, "mod", "cache", "download", M, "@v");
  await Deno.mkdir(atV, { recursive: true });
  await Deno.writeTextFile(join(atV, "v1.0.0.mod"), `module ${M}\n`);
  await Deno.writeFile(join(atV, "v1.0.0.zip"), zip);
  await Deno.writeTextFile(join(atV, "v1.0.0.ziphash"), await hashZip(bytesAccess(zip)));
  return join(dir, "mod");
}

async function readAll(
  store: Store,
  blob: { blobId: number | null; chunkSize: number },
  size: number,
) {
  const parts: Uint8Array[] = [];
  for await (const part of store.readRange({ ...blob, size }, 0, size)) parts.push(part);
  return concatBytes(parts);
}

Deno.test("a seeded zip is written in the store's chunks, each with its digest, and reads back whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-zip-" });
  try {
    const zip = await moduleZip(10_000);
    const modcache = await cacheWithZip(dir, zip);
    const store = new MemoryStore({ chunkSize: 1024 });
    const summary = await seedModuleCache({ store, modcache });
    assertEquals([summary.stored.zip, summary.stored.mod, summary.skipped], [1, 1, {}]);
    const meta = await store.artifact(M, "v1.0.0", "zip");
    assert(meta?.blobId, "stored as a blob");
    assertEquals([meta.size, meta.chunkSize, meta.chunkDigests], [zip.byteLength, 1024, true]);
    assertEquals((await store.chunk(meta.blobId, 0))?.byteLength, 1024);
    assertEquals(await readAll(store, meta, meta.size), zip);
    const again = await seedModuleCache({ store, modcache });
    assertEquals([again.stored.zip, again.alreadyStored], [0, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a zip copy interrupted between chunks leaves no blob behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-zip-abort-" });
  try {
    const path = join(dir, "v1.0.0.zip");
    await Deno.writeFile(path, new Uint8Array(10 * 1024).fill(7));
    const store = new MemoryStore({ chunkSize: 1024 });
    const counts: ImportCounts = {
      stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 },
      bytes: 0,
      alreadyStored: 0,
    };
    let asked = 0;
    const writer = new SeedWriter(store, {
      counts,
      skip: () => {},
      aborted: () => ++asked > 3, // three chunks written, then the run stops
      now: Date.now,
      batchMs: 50,
    });
    using handle = await Deno.open(path);
    await writer.putZip(M, "v1.0.0", handle, 10 * 1024, "zip");
    assertEquals(asked, 4, "stopped between chunks");
    assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
    assertEquals(counts.stored.zip, 0);
    assertEquals((await store.size()).bytes, 0, "the chunks written are gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a full store stops the seed with StoreFullError, not a skipped file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-full-" });
  try {
    const modcache = await cacheWithZip(dir, await moduleZip(512 * 1024));
    const store = SqliteStore.open(join(dir, "astera.db"), { maxBytes: 256 * 1024 });
    try {
      const skipped: string[] = [];
      await assertRejects(
        () => seedModuleCache({ store, modcache, onSkip: (skip) => skipped.push(skip.reason) }),
        StoreFullError,
      );
      assertEquals(skipped, []);
      assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A store whose batched writes fail with an error of no store type (as an I/O error would). */
class FailingBatchStore extends MemoryStore {
  override batch<T>(): Promise<T> {
    return Promise.reject(new Error("disk I/O error"));
  }
}

Deno.test("a store write failing with an error of no store type stops the seed too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-ioerr-" });
  const atV = join(dir, "mod", "cache", "download", M, "@v");
  await Deno.mkdir(atV, { recursive: true });
  await Deno.writeTextFile(join(atV, "v1.0.0.mod"), `module ${M}\n`);
  try {
    const skipped: string[] = [];
    await assertRejects(
      () =>
        seedModuleCache({
          store: new FailingBatchStore(),
          modcache: join(dir, "mod"),
          batchMs: 0, // every file's write is committed before the next file is read
          onSkip: (skip) => skipped.push(skip.reason),
        }),
      Error,
      "disk I/O error",
    );
    assertEquals(skipped, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
