import { assertEquals } from "../../tests/assert.ts";
import { silentLogger } from "../log.ts";
import { type ArtifactRequest, foundBytes, type SourceAnswer } from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import { MemoryStore, type Store } from "../store/mod.ts";
import { ModuleProxy, type ModuleProxyOptions } from "./proxy.ts";
import type { Reply } from "./reply.ts";
import { type FlightGroup, SingleFlight } from "./single_flight.ts";

const GO_MOD = new TextEncoder().encode("module example.com/lib\n");

/** An upstream that knows one go.mod, counts its fetches and answers when `release` is called. */
function fakeUpstream() {
  const fetched: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const upstream: Upstream = {
    async fetch(request: ArtifactRequest): Promise<SourceAnswer> {
      fetched.push(`${request.module} ${request.kind}`);
      await released;
      if (request.module === "example.com/lib") {
        if (request.kind === "mod") return foundBytes(GO_MOD);
        if (request.kind === "list") return foundBytes(new TextEncoder().encode("v1.0.0\n"));
      }
      return { found: false, status: 404, message: "not found" };
    },
    fetchPath(): Promise<SourceAnswer> {
      return Promise.resolve({ found: false, status: 404, message: "not found" });
    },
  };
  return { upstream, fetched, release };
}

/** Runs `test` over a store in memory (the cache policy's tests need no database). */
async function withStore(test: (store: Store) => Promise<void>): Promise<void> {
  const store = new MemoryStore();
  try {
    await test(store);
  } finally {
    store.close();
  }
}

function proxyOver(store: Store, options: Partial<ModuleProxyOptions>): ModuleProxy {
  return new ModuleProxy({
    store,
    upstream: fakeUpstream().upstream,
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 60_000,
    log: silentLogger,
    ...options,
  });
}

function text(reply: Reply): string {
  return reply.type === "bytes" ? new TextDecoder().decode(reply.bytes) : reply.type;
}

Deno.test("fetches go through the flight group the proxy is given: two callers, one fetch", async () => {
  await withStore(async (store) => {
    const keys: string[] = [];
    let bothAsked!: () => void;
    const asked = new Promise<void>((resolve) => bothAsked = resolve);
    const { upstream, fetched, release } = fakeUpstream();
    const proxy = proxyOver(store, {
      upstream,
      flightGroup: <T>(): FlightGroup<T> => {
        const inner = new SingleFlight<T>();
        return {
          do: (key, fn) => {
            keys.push(key);
            if (keys.length === 2) bothAsked();
            return inner.do(key, fn);
          },
          stats: () => inner.stats(),
        };
      },
    });
    const both = Promise.all([
      proxy.mod("example.com/lib", "v1.0.0"),
      proxy.mod("example.com/lib", "v1.0.0"),
    ]);
    // Both callers reach the flight group before the upstream answers.
    await asked;
    release();
    const replies = await both;
    assertEquals(replies.map(text), ["module example.com/lib\n", "module example.com/lib\n"]);
    assertEquals(fetched, ["example.com/lib mod"]);
    assertEquals(keys.length, 2);
    assertEquals(keys[0], keys[1]);
    await proxy.settle();
  });
});

Deno.test("a replica fetches nothing: it misses what is not stored and serves what the primary stored", async () => {
  await withStore(async (store) => {
    const primarySource = fakeUpstream();
    const replicaSource = fakeUpstream();
    primarySource.release();
    replicaSource.release();
    const primary = proxyOver(store, { upstream: primarySource.upstream });
    const replica = proxyOver(store, { upstream: replicaSource.upstream, storedOnly: true });
    assertEquals((await replica.mod("example.com/lib", "v1.0.0")).type, "miss");
    assertEquals((await replica.list("example.com/lib")).type, "miss");
    assertEquals((await replica.zip("example.com/lib", "v1.0.0")).type, "miss");
    assertEquals((await replica.sumdb("sum.golang.org", "supported")).type, "miss");
    assertEquals(text(await primary.mod("example.com/lib", "v1.0.0")), "module example.com/lib\n");
    assertEquals(text(await replica.mod("example.com/lib", "v1.0.0")), "module example.com/lib\n");
    assertEquals(replicaSource.fetched, []);
    await primary.settle();
    await replica.settle();
  });
});

Deno.test("a replica reports the asks it answered itself, not those it leaves to the primary", async () => {
  await withStore(async (store) => {
    const source = fakeUpstream();
    source.release();
    const primary = proxyOver(store, { upstream: source.upstream });
    const reported: string[] = [];
    const replica = proxyOver(store, {
      upstream: fakeUpstream().upstream,
      storedOnly: true,
      reportAsk: (kind, module, version) => void reported.push(`${kind} ${module}@${version}`),
    });
    assertEquals((await replica.mod("example.com/lib", "v1.0.0")).type, "miss");
    assertEquals(reported, [], "a miss goes to the primary, which hears it there");
    await primary.mod("example.com/lib", "v1.0.0");
    assertEquals(text(await replica.mod("example.com/lib", "v1.0.0")), "module example.com/lib\n");
    assertEquals(replica.cachedReply("mod", "example.com/lib", "v1.0.0")?.type, "bytes");
    assertEquals(reported, ["mod example.com/lib@v1.0.0", "mod example.com/lib@v1.0.0"]);
    // A version check is told too, so that prefetching knows the go.mod read next is no step of a walk.
    reported.length = 0;
    assertEquals((await replica.list("example.com/lib")).type, "miss");
    assertEquals(reported, []);
    await primary.list("example.com/lib");
    assertEquals(text(await replica.list("example.com/lib")), "v1.0.0\n");
    assertEquals(replica.cachedReply("list", "example.com/lib", "")?.type, "bytes");
    assertEquals(reported, ["list example.com/lib@", "list example.com/lib@"]);
    await primary.settle();
    await replica.settle();
  });
});
