import { assert, assertEquals } from "../../tests/assert.ts";
import type { LogFields, Logger } from "../log.ts";
import { SqliteStore } from "../store/mod.ts";
import { Evictor, LOW_WATER } from "./budget.ts";
import { ZipPins } from "./pins.ts";

const ZIP_BYTES = 256 * 1024;
const VERSIONS = ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0"];

async function withStore(fn: (store: SqliteStore) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "astera-budget-" });
  // Every zip stored at time 100: what was served, and when, decides.
  const store = SqliteStore.open(`${dir}/astera.db`, { chunkSize: 64 * 1024, now: () => 100 });
  try {
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Stores a zip of `ZIP_BYTES` of distinct bytes under `example.com/m@version`. */
async function putZip(store: SqliteStore, version: string, fill: number): Promise<number> {
  const writer = await store.writeBlob();
  for (let seq = 0; seq < ZIP_BYTES / store.chunkSize; seq++) {
    await writer.write(new Uint8Array(store.chunkSize).fill(fill + seq));
  }
  return (await writer.commit("example.com/m", version, "zip")).blobId!;
}

function recordingLog(): Logger & { lines: [string, LogFields | undefined][] } {
  const lines: [string, LogFields | undefined][] = [];
  const add = (event: string, fields?: LogFields) => void lines.push([event, fields]);
  return { lines, info: add, warn: add, error: add };
}

async function stored(store: SqliteStore): Promise<string[]> {
  const kept = [];
  for (const version of VERSIONS) {
    if (await store.artifact("example.com/m", version, "zip")) kept.push(version);
  }
  return kept;
}

/** A budget under which exactly two of the five zips must go to reach the low-water mark. */
const budgetForTwo = async (store: SqliteStore) =>
  Math.floor((await store.usedBytes() - 1.5 * ZIP_BYTES) / LOW_WATER);

Deno.test("over budget, the least recently served zips go until under the low-water mark", async () => {
  await withStore(async (store) => {
    const blobs = [];
    for (const [i, version] of VERSIONS.entries()) blobs.push(await putZip(store, version, i * 10));
    await store.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module m\n"));
    // Served order: v1.3.0 long ago, then v1.0.0, v1.4.0, v1.1.0; v1.2.0 never (stored at 100).
    await store.recordServed([
      { module: "example.com/m", version: "v1.3.0", at: 200 },
      { module: "example.com/m", version: "v1.0.0", at: 300 },
      { module: "example.com/m", version: "v1.4.0", at: 400 },
      { module: "example.com/m", version: "v1.1.0", at: 500 },
    ]);
    const maxBytes = await budgetForTwo(store);
    const log = recordingLog();
    const evictor = new Evictor({ store, maxBytes, pins: new ZipPins(), log });
    await evictor.check();
    assertEquals(await stored(store), ["v1.0.0", "v1.1.0", "v1.4.0"], "v1.2.0 and v1.3.0 went");
    const stats = evictor.stats();
    assertEquals(stats.evictions, 2);
    assertEquals(stats.evictedBytes, 2 * ZIP_BYTES);
    assert(stats.storedBytes <= maxBytes * LOW_WATER, "under the low-water mark");
    assertEquals(stats.storedBytes, await store.usedBytes());
    assertEquals(stats.overBudget, false);
    assertEquals(evictor.overBudget(), false, "prefetching goes on");
    // The evicted zips' chunks and blobs are gone too, the others' readable, small data kept.
    assertEquals(await store.chunk(blobs[2], 0), undefined);
    assertEquals(await store.chunk(blobs[3], 3), undefined);
    assertEquals((await store.chunk(blobs[4], 3))?.byteLength, store.chunkSize);
    assert(await store.artifact("example.com/m", "v1.0.0", "mod"), ".mod files are never evicted");
    assertEquals(log.lines.filter(([event]) => event === "evicted").length, 2);
    // Under the budget now: a second check removes nothing.
    await evictor.check();
    assertEquals(evictor.stats().evictions, 2);
  });
});

Deno.test("a pinned zip is passed over, and goes at a later check once released", async () => {
  await withStore(async (store) => {
    const blobs = [];
    for (const [i, version] of VERSIONS.entries()) blobs.push(await putZip(store, version, i * 10));
    await store.recordServed(
      VERSIONS.map((version, i) => ({ module: "example.com/m", version, at: 200 + i })),
    );
    const pins = new ZipPins();
    const maxBytes = await budgetForTwo(store);
    const evictor = new Evictor({ store, maxBytes, pins, log: recordingLog() });
    const release = await pins.pin(blobs[0]);
    await evictor.check();
    assertEquals(await stored(store), ["v1.0.0", "v1.3.0", "v1.4.0"], "the next two went instead");
    assertEquals(evictor.stats().pinnedSkips, 1);
    release();
    release(); // twice does no harm
    // Over budget again (a new zip): now v1.0.0, still the least recently served, can go.
    await putZip(store, "v1.5.0", 90);
    await store.recordServed([{ module: "example.com/m", version: "v1.5.0", at: 900 }]);
    await evictor.check();
    assertEquals(await store.artifact("example.com/m", "v1.0.0", "zip"), undefined);
    assert(await store.artifact("example.com/m", "v1.5.0", "zip"));
  });
});

Deno.test("with every zip pinned the evictor says it cannot get under the budget", async () => {
  await withStore(async (store) => {
    const pins = new ZipPins();
    for (const [i, version] of VERSIONS.entries()) await pins.pin(await putZip(store, version, i));
    const log = recordingLog();
    const evictor = new Evictor({ store, maxBytes: await budgetForTwo(store), pins, log });
    await evictor.check();
    assertEquals(await stored(store), VERSIONS);
    assertEquals(evictor.stats().overBudget, true);
    assertEquals(log.lines.filter(([event]) => event === "budget-unreachable").length, 1);
    assertEquals(evictor.overBudget(), true, "prefetching waits");
  });
});

Deno.test("a reader pinning a zip while it is being evicted waits, then finds it gone", async () => {
  await withStore(async (store) => {
    const blobId = await putZip(store, "v1.0.0", 1);
    const meta = (await store.artifact("example.com/m", "v1.0.0", "zip"))!;
    const pins = new ZipPins();
    assert(pins.tryLock(blobId), "the evictor locks an unpinned zip");
    let pinned = false;
    const pinning = pins.pin(blobId).then((release) => {
      pinned = true;
      return release;
    });
    await store.evictZip(meta);
    assertEquals(pinned, false, "no pin while the eviction holds the lock");
    pins.unlock(blobId);
    const release = await pinning;
    assertEquals(
      await store.artifact("example.com/m", "v1.0.0", "zip"),
      undefined,
      "fetched again",
    );
    assert(!pins.tryLock(blobId), "a pinned slot cannot be locked");
    release();
    assert(pins.tryLock(blobId));
  });
});

Deno.test("with servedBefore (the seed's grace) recently served zips stay", async () => {
  await withStore(async (store) => {
    for (const [i, version] of VERSIONS.entries()) await putZip(store, version, i * 10);
    await store.recordServed(
      VERSIONS.map((version, i) => ({ module: "example.com/m", version, at: 1000 + i })),
    );
    const evictor = new Evictor({
      store,
      maxBytes: await budgetForTwo(store),
      pins: new ZipPins(),
      log: recordingLog(),
      servedBefore: () => 1001,
    });
    await evictor.check();
    assertEquals(await stored(store), VERSIONS.slice(1), "only v1.0.0 was served before the grace");
    assertEquals(evictor.stats().overBudget, true);
  });
});

Deno.test("small data alone over half the budget is logged once and shown in the stats", async () => {
  await withStore(async (store) => {
    const body = new Uint8Array(60_000).fill(7);
    await store.putInline("example.com/m", "v1.0.0", "mod", body);
    await store.putAnswer({
      kind: "list",
      module: "example.com/m",
      key: "",
      status: 200,
      body,
      fetchedAt: 1,
    });
    const log = recordingLog();
    let clock = 0;
    const evictor = new Evictor({
      store,
      maxBytes: 200_000,
      pins: new ZipPins(),
      log,
      now: () => clock,
    });
    await evictor.check();
    assertEquals(evictor.stats().smallBytes, 120_000);
    await store.putInline("example.com/m", "v1.1.0", "mod", new Uint8Array(10_000));
    await evictor.check();
    assertEquals(evictor.stats().smallBytes, 120_000, "measured at most every ten minutes");
    clock += 10 * 60_000;
    await evictor.check();
    assertEquals(evictor.stats().smallBytes, 130_000);
    assertEquals(log.lines.filter(([event]) => event === "budget-small-data").length, 1);
  });
});
