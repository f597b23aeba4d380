/**
 * The cache policy under a disk budget, over a store in memory and a fake
 * source: a zip served is pinned until released and its hit counted, and a
 * zip evicted under the proxy's memory cache is fetched again.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { writeZip } from "../archive/zip_writer.ts";
import { silentLogger } from "../log.ts";
import { type ArtifactRequest, foundBytes, type SourceAnswer } from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import { MemoryStore } from "../store/mod.ts";
import { ZipPins } from "./pins.ts";
import { ModuleProxy } from "./proxy.ts";
import type { Reply } from "./reply.ts";

const M = "example.com/lib";

async function moduleZip(version: string): Promise<Uint8Array> {
  const zip = writeZip([
    { name: `${M}@${version}/go.mod`, data: new TextEncoder().encode(`module ${M}\n`) },
    { name: `${M}@${version}/noise.bin`, data: crypto.getRandomValues(new Uint8Array(5000)) },
  ]);
  return new Uint8Array(await new Response(zip).arrayBuffer());
}

/** The blob a zip reply is pinned on, and the whole zip as a client reads it. */
async function read(proxy: ModuleProxy, reply: Reply): Promise<[number, Uint8Array]> {
  assert(reply.type === "stored-zip" || reply.type === "live-zip", JSON.stringify(reply));
  const [blobId, stream] = reply.type === "live-zip"
    ? [reply.download.blobId, reply.download.open()]
    : [reply.meta.blobId!, proxy.openStoredZip(reply.meta, 0, reply.meta.size)];
  return [blobId, new Uint8Array(await new Response(stream).arrayBuffer())];
}

Deno.test("under a budget a zip served stays pinned until released, and one evicted under the cache is fetched again", async () => {
  const zip = await moduleZip("v1.0.0");
  let asked = 0;
  const upstream: Upstream = {
    fetch(request: ArtifactRequest): Promise<SourceAnswer> {
      asked++;
      return Promise.resolve(
        request.kind === "zip"
          ? foundBytes(zip)
          : { found: false, status: 404, message: "not found" },
      );
    },
    fetchPath: () => Promise.resolve({ found: false, status: 404, message: "not found" }),
  };
  const store = new MemoryStore({ chunkSize: 1024 });
  const pins = new ZipPins();
  const served: string[] = [];
  const proxy = new ModuleProxy({
    store,
    upstream,
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 60_000,
    log: silentLogger,
    budget: { pins, served: (module, version) => void served.push(`${module}@${version}`) },
  });
  try {
    const first = await proxy.zip(M, "v1.0.0");
    const [firstBlob, firstBytes] = await read(proxy, first);
    assertEquals(firstBytes, zip);
    assert(pins.pinned(firstBlob), "pinned while it is sent");
    assert(first.type === "live-zip" || first.type === "stored-zip");
    first.release?.();
    assert(!pins.pinned(firstBlob), "released");
    await proxy.settle();

    // Stored now, and in the proxy's memory: evicted behind its back, it is not served stale.
    const meta = (await store.artifact(M, "v1.0.0", "zip"))!;
    const cached = await proxy.zip(M, "v1.0.0");
    assert(cached.type === "stored-zip" && pins.pinned(meta.blobId!));
    cached.release?.();
    // Evicted as the evictor does it: its slot locked (no pin in it) around the removal.
    assert(pins.tryLock(meta.blobId!));
    assertEquals(await store.evictZip(meta), true);
    pins.unlock(meta.blobId!);
    while (await store.deleteBlobChunks(meta.blobId!, 4) > 0);
    const again = await proxy.zip(M, "v1.0.0");
    const [againBlob, againBytes] = await read(proxy, again);
    assertEquals(againBytes, zip);
    assert(againBlob !== meta.blobId, "a new copy");
    assertEquals(asked, 2, "fetched again once");
    assert(again.type === "live-zip" || again.type === "stored-zip");
    again.release?.();
    assertEquals(served, [`${M}@v1.0.0`, `${M}@v1.0.0`, `${M}@v1.0.0`], "every zip served, once");
  } finally {
    await proxy.settle();
  }
});
