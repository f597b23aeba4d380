import { assertEquals } from "../../tests/assert.ts";
import { silentLogger } from "../log.ts";
import { ModuleProxy } from "../proxy/mod.ts";
import { createUpstream } from "../sources/mod.ts";
import { MemoryStore } from "../store/mod.ts";
import { createHandler } from "./handler.ts";
import type { HttpResponse } from "./types.ts";

const text = (response: HttpResponse) =>
  response.body instanceof Uint8Array ? new TextDecoder().decode(response.body) : "";

/** A proxy over an empty store with no source: a replica's (`storedOnly`) or the primary's. */
function proxyWithoutSource(storedOnly: boolean) {
  const store = new MemoryStore();
  const proxy = new ModuleProxy({
    store,
    upstream: createUpstream([{ url: "off", fallThroughOnError: false }], { timeoutMs: 1 }),
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 60_000,
    log: silentLogger,
    storedOnly,
  });
  return { store, proxy };
}

Deno.test("/healthz answers 503 with the reason while the server is starting, then ok", async () => {
  const { store, proxy } = proxyWithoutSource(false);
  let starting: string | undefined = "starting: 1 of 2 isolates not listening yet";
  const handler = createHandler(
    proxy,
    silentLogger,
    undefined,
    undefined,
    undefined,
    () => starting,
  );
  try {
    const health = () => handler({ method: "GET", target: "/healthz", headers: {} });
    const before = await health();
    assertEquals([before.status, text(before).trim()], [503, starting]);
    starting = undefined;
    const after = await health();
    assertEquals([after.status, text(after)], [200, "ok\n"]);
  } finally {
    await proxy.settle();
    store.close();
  }
});

Deno.test("a failure the primary answered a replica's forward is kept by the primary, not again by the replica", async () => {
  const { store, proxy } = proxyWithoutSource(true);
  const failure: HttpResponse = {
    status: 502,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body: new TextEncoder().encode("upstream unreachable\n"),
  };
  const replica = createHandler(proxy, silentLogger, () => Promise.resolve(failure));
  try {
    const response = await replica({
      method: "GET",
      target: "/example.com/m/@v/v1.0.0.mod",
      headers: {},
    });
    assertEquals([response.status, text(response)], [502, "upstream unreachable\n"]);
    const observed = replica.isolateStats().observe as { errors: unknown[] };
    assertEquals(observed.errors, []);
    assertEquals(replica.stats.errors, 1, "the replica's client was answered a failure");
  } finally {
    await proxy.settle();
    store.close();
  }
});
