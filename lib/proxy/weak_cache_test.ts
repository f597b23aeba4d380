import { assert, assertEquals } from "../../tests/assert.ts";
import { WeakCache } from "./weak_cache.ts";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function clockedCache(maxStrongBytes: number, strongTtlMs: number) {
  let time = 0;
  const cache = new WeakCache({ maxStrongBytes, strongTtlMs, now: () => time });
  return { cache, advance: (ms: number) => time += ms };
}

Deno.test("a loaded value is served from memory afterwards", async () => {
  const { cache } = clockedCache(1000, 1000);
  let loads = 0;
  const loader = () => {
    loads++;
    return Promise.resolve(bytes(10));
  };
  await cache.load("k", loader);
  const again = await cache.load("k", loader);
  assertEquals(again?.byteLength, 10);
  assertEquals(loads, 1);
  const stats = cache.stats();
  assertEquals([stats.hits, stats.misses], [1, 1]);
});

Deno.test("concurrent loads of one key share one loader call", async () => {
  const { cache } = clockedCache(1000, 1000);
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const loader = async () => {
    loads++;
    await gate;
    return bytes(4);
  };
  const all = Promise.all(Array.from({ length: 40 }, () => cache.load("k", loader)));
  release();
  const results = await all;
  assertEquals(loads, 1);
  assert(results.every((value) => value === results[0]), "every caller gets the same buffer");
  assertEquals(cache.stats().coalesced, 39);
});

Deno.test("an undefined load result is not cached", async () => {
  const { cache } = clockedCache(1000, 1000);
  assertEquals(await cache.load("k", () => Promise.resolve(undefined)), undefined);
  assertEquals(cache.stats().strongEntries + cache.stats().weakEntries, 0);
});

Deno.test("the strong part stays within its byte budget, evicting least recently used", () => {
  const { cache } = clockedCache(250, 60_000);
  cache.set("a", bytes(100));
  cache.set("b", bytes(100));
  cache.get("a"); // a is now more recent than b
  cache.set("c", bytes(100));
  const stats = cache.stats();
  assertEquals(stats.strongEntries, 2);
  assertEquals(stats.strongBytes, 200);
  assert(stats.strongBytes <= 250);
});

Deno.test("a value larger than the whole budget is held only weakly", () => {
  const { cache } = clockedCache(100, 60_000);
  cache.set("big", bytes(101));
  assertEquals(cache.stats().strongBytes, 0);
  assertEquals(cache.stats().weakEntries, 1);
});

Deno.test("strong holds expire after the TTL since last use", () => {
  const { cache, advance } = clockedCache(1000, 100);
  const value = bytes(10);
  cache.set("k", value);
  advance(60);
  cache.get("k");
  advance(60);
  assertEquals(cache.stats().strongEntries, 1, "use refreshes the hold");
  advance(101);
  assertEquals(cache.stats().strongEntries, 0);
  // `value` is still referenced here, so the weak part must still find it.
  assertEquals(cache.get("k"), value);
  assertEquals(cache.stats().weakHits, 1);
});

Deno.test("delete forgets both holds", () => {
  const { cache } = clockedCache(1000, 1000);
  cache.set("k", bytes(3));
  cache.delete("k");
  assertEquals(cache.get("k"), undefined);
  assertEquals(cache.stats().strongBytes, 0);
});

Deno.test("peek counts a hit but never a miss, so a fallback load counts the miss once", async () => {
  const { cache } = clockedCache(1000, 1000);
  assertEquals(cache.peek("k"), undefined);
  await cache.load("k", () => Promise.resolve(bytes(4)));
  assertEquals(cache.peek("k")?.byteLength, 4);
  const stats = cache.stats();
  assertEquals([stats.hits, stats.misses], [1, 1]);
});
