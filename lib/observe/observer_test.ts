import { assertEquals } from "../../tests/assert.ts";
import { Observer } from "./observer.ts";

Deno.test("the status sums every isolate, merges their errors newest first and hides nothing it should not show", async () => {
  const isolate = (requests: number, fetches: number, errors: unknown[], modules: object) => ({
    proxy: { sourceFetches: fetches, backgroundRefreshes: 0 },
    upstream: { reachable: false, lastError: "connection refused", failures: 2, outages: 1 },
    observe: {
      requests: { list: { "2xx": requests }, astera: { "2xx": 7 } },
      seconds: {},
      servedBytes: requests * 10,
      modules,
      counters: { upstream: { receivedBytes: fetches * 5 } },
      errors,
    },
  });
  const error = (time: number, path: string) => ({ time, status: 502, path, message: "down" });
  let now = 1_000_000;
  const observer = new Observer({
    collect: () =>
      Promise.resolve([
        isolate(6, 2, [error(now - 5, "/a"), error(now - 1, "/c")], { "example.com/a": 6 }),
        isolate(4, 0, [error(now - 3, "/b")], { "example.com/a": 1, "example.com/b": 3 }),
      ]),
    databaseSize: () => Promise.resolve({ bytes: 10_000, freeBytes: 1000 }),
    configuration: () => ({ upstream: "https://proxy.lan" }),
    budgetBytes: 50_000,
    now: () => now,
  });
  now += 2000;
  const status = await observer.status();
  assertEquals(status.requests, 10);
  assertEquals(status.requestsByKind, { list: 10, astera: 14 });
  assertEquals(status.hitRate, 0.8);
  assertEquals([status.servedBytes, status.fetchedBytes], [100, 10]);
  assertEquals(status.modules, [
    { module: "example.com/a", requests: 7 },
    { module: "example.com/b", requests: 3 },
  ]);
  assertEquals(status.errors.map((e) => e.path), ["/c", "/b", "/a"]);
  assertEquals(status.upstream.reachable, false);
  assertEquals(status.upstream.failures, 4);
  assertEquals(status.disk, {
    storeBytes: 9000,
    fileBytes: 10_000,
    freeBytes: 1000,
    budgetBytes: 50_000,
  });
  // The start (all zero) and this moment.
  assertEquals(status.history.time, [1_000_000, 1_002_000]);
  assertEquals(status.history.requests, [0, 10]);
});
