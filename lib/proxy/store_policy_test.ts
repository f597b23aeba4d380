/**
 * What the cache policy stores and serves, over a store in memory and a fake
 * source: no database, no network, every source request counted.
 */
import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { writeZip } from "../archive/zip_writer.ts";
import { silentLogger } from "../log.ts";
import { type ArtifactRequest, foundBytes, type SourceAnswer } from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import {
  type ArtifactKind,
  type ArtifactMeta,
  type BlobWriter,
  DAMAGED,
  MemoryStore,
  StoreBusyError,
  StoreFullError,
} from "../store/mod.ts";
import { ModuleProxy } from "./proxy.ts";
import type { Reply } from "./reply.ts";

const M = "example.com/lib";
const enc = new TextEncoder();
const GO_MOD = enc.encode(`module ${M}\n`);

/** A source that knows `files` (by `module kind version`) and counts what it was asked. */
function fakeSource(files: Map<string, Uint8Array>) {
  const asked: string[] = [];
  const upstream: Upstream = {
    fetch(request: ArtifactRequest): Promise<SourceAnswer> {
      const key = `${request.module} ${request.kind} ${
        "version" in request ? request.version : ""
      }`;
      asked.push(key);
      const bytes = files.get(key);
      return Promise.resolve(
        bytes ? foundBytes(bytes) : { found: false, status: 404, message: `not found: ${key}` },
      );
    },
    fetchPath(): Promise<SourceAnswer> {
      return Promise.resolve({ found: false, status: 404, message: "not found" });
    },
  };
  return { upstream, asked };
}

/** A module zip of `M@version` with a file of incompressible bytes, several chunks long. */
async function moduleZip(version: string): Promise<Uint8Array> {
  const noise = crypto.getRandomValues(new Uint8Array(5000));
  const zip = writeZip([
    { name: `${M}@${version}/go.mod`, data: GO_MOD },
    { name: `${M}@${version}/noise.bin`, data: noise },
  ]);
  return new Uint8Array(await new Response(zip).arrayBuffer());
}

function proxyOver(store: MemoryStore, upstream: Upstream): ModuleProxy {
  return new ModuleProxy({
    store,
    upstream,
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 60_000,
    log: silentLogger,
  });
}

function bytesOf(reply: Reply): Uint8Array {
  assert(reply.type === "bytes", `expected bytes, got ${JSON.stringify(reply)}`);
  return reply.bytes;
}

/** The whole of a zip reply, streamed as a client would get it. */
async function zipBytes(proxy: ModuleProxy, reply: Reply): Promise<Uint8Array> {
  const stream = reply.type === "live-zip"
    ? reply.download.open()
    : reply.type === "stored-zip"
    ? proxy.openStoredZip(reply.meta, 0, reply.meta.size)
    : undefined;
  assert(stream, `expected a zip, got ${JSON.stringify(reply)}`);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a miss asks the source once and stores; a new proxy over the store asks nothing", async () => {
  const store = new MemoryStore();
  const source = fakeSource(new Map([[`${M} mod v1.0.0`, GO_MOD]]));
  const proxy = proxyOver(store, source.upstream);
  assertEquals(bytesOf(await proxy.mod(M, "v1.0.0")), GO_MOD);
  assertEquals(await store.inlineData(M, "v1.0.0", "mod"), GO_MOD);
  const restarted = proxyOver(store, source.upstream);
  assertEquals(bytesOf(await restarted.mod(M, "v1.0.0")), GO_MOD);
  assertEquals(source.asked, [`${M} mod v1.0.0`]);
  await proxy.settle();
});

Deno.test("a stored artifact is served without the source", async () => {
  const store = new MemoryStore();
  await store.putInline(M, "v1.2.0", "mod", GO_MOD);
  const source = fakeSource(new Map());
  const proxy = proxyOver(store, source.upstream);
  const reply = await proxy.mod(M, "v1.2.0");
  assertEquals(bytesOf(reply), GO_MOD);
  assertEquals(
    reply.type === "bytes" && reply.etag,
    (await store.artifact(M, "v1.2.0", "mod"))?.etag,
  );
  assertEquals(source.asked, []);
});

Deno.test("a not-found is remembered, in the store too, and the source is asked once", async () => {
  const store = new MemoryStore();
  const source = fakeSource(new Map());
  const proxy = proxyOver(store, source.upstream);
  for (let i = 0; i < 3; i++) {
    const reply = await proxy.mod(M, "v9.9.9");
    assert(reply.type === "not-found", reply.type);
    assertEquals(reply.status, 404);
  }
  assertEquals(source.asked, [`${M} mod v9.9.9`]);
  assertEquals((await store.answer("mod", M, "v9.9.9"))?.status, 404);
  const restarted = proxyOver(store, source.upstream);
  assertEquals((await restarted.mod(M, "v9.9.9")).type, "not-found");
  assertEquals(source.asked.length, 1, "a restarted proxy finds it in the store");
});

Deno.test("what memory answers never touches the store", async () => {
  const store = new MemoryStore();
  const source = fakeSource(new Map([[`${M} mod v1.0.0`, GO_MOD]]));
  const proxy = proxyOver(store, source.upstream);
  await proxy.mod(M, "v1.0.0");
  await proxy.mod(M, "v1.1.0"); // a not-found
  const before = store.stats();
  assertEquals(bytesOf(proxy.cachedReply("mod", M, "v1.0.0")!), GO_MOD);
  assertEquals(bytesOf(await proxy.mod(M, "v1.0.0")), GO_MOD);
  assertEquals(proxy.cachedReply("mod", M, "v1.1.0")?.type, "not-found");
  assertEquals((await proxy.mod(M, "v1.1.0")).type, "not-found");
  assertEquals(store.stats(), before);
});

Deno.test("a zip goes through the blob writer in chunks and reads back whole, from any proxy", async () => {
  const store = new MemoryStore({ chunkSize: 1024 });
  const zip = await moduleZip("v1.0.0");
  const source = fakeSource(new Map([[`${M} zip v1.0.0`, zip]]));
  const proxy = proxyOver(store, source.upstream);
  assertEquals(await zipBytes(proxy, await proxy.zip(M, "v1.0.0")), zip);
  await proxy.settle();
  const meta = await store.artifact(M, "v1.0.0", "zip");
  assert(meta && meta.blobId !== null, "stored as a blob");
  assertEquals([meta.size, meta.chunkSize, meta.chunkDigests], [zip.byteLength, 1024, true]);
  const restarted = proxyOver(store, source.upstream);
  const reply = await restarted.zip(M, "v1.0.0");
  assertEquals(reply.type, "stored-zip");
  assertEquals(await zipBytes(restarted, reply), zip);
  const part = reply.type === "stored-zip" ? restarted.openStoredZip(reply.meta, 1000, 3100) : null;
  assertEquals(new Uint8Array(await new Response(part).arrayBuffer()), zip.subarray(1000, 3100));
  assertEquals(source.asked, [`${M} zip v1.0.0`]);
});

Deno.test("a damaged stored chunk breaks the transfer once; the zip is removed and fetched again", async () => {
  const store = new MemoryStore({ chunkSize: 1024 });
  const zip = await moduleZip("v1.0.0");
  const source = fakeSource(new Map([[`${M} zip v1.0.0`, zip]]));
  const first = proxyOver(store, source.upstream);
  await zipBytes(first, await first.zip(M, "v1.0.0"));
  await first.settle();
  const meta = (await store.artifact(M, "v1.0.0", "zip"))!;
  // The memory store hands out its own bytes: changing one damages the stored copy.
  (await store.chunk(meta.blobId!, 2))![7] ^= 1;
  const proxy = proxyOver(store, source.upstream);
  const reply = await proxy.zip(M, "v1.0.0");
  assertEquals(reply.type, "stored-zip", "its first chunk is intact");
  let broke = "";
  await zipBytes(proxy, reply).catch((error) => broke = String(error));
  assertStringIncludes(broke, "damaged");
  assertEquals(await store.artifact(M, "v1.0.0", "zip"), undefined, "removed");
  assert(await store.answer(DAMAGED, M, "v1.0.0.zip"), "with a note why");
  assertEquals(await zipBytes(proxy, await proxy.zip(M, "v1.0.0")), zip);
  assertEquals(source.asked.length, 2);
  await proxy.settle();
  assertEquals(await store.answer(DAMAGED, M, "v1.0.0.zip"), undefined, "the note goes");
});

/** A memory store whose writes fail as a locked or full one does. */
class FailingStore extends MemoryStore {
  failure: Error | undefined;
  override writeBlob(): Promise<BlobWriter> {
    return this.failure ? Promise.reject(this.failure) : super.writeBlob();
  }
  override putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    if (this.failure) return Promise.reject(this.failure);
    return super.putInline(module, version, kind, data, etag);
  }
}

Deno.test("a busy store is a 503 for a zip; a full one still answers a go.mod, stored next time", async () => {
  const store = new FailingStore({ chunkSize: 1024 });
  const zip = await moduleZip("v1.0.0");
  const source = fakeSource(new Map([[`${M} zip v1.0.0`, zip], [`${M} mod v1.0.0`, GO_MOD]]));
  const proxy = proxyOver(store, source.upstream);
  store.failure = new StoreBusyError("locked by another process");
  const busy = await proxy.zip(M, "v1.0.0");
  assert(busy.type === "error", busy.type);
  assertEquals(busy.status, 503);
  assertStringIncludes(busy.message, "database busy");
  store.failure = new StoreFullError("disk full");
  assertEquals(bytesOf(await proxy.mod(M, "v1.0.0")), GO_MOD);
  assertEquals(await store.artifact(M, "v1.0.0", "mod"), undefined);
  store.failure = undefined;
  assertEquals(bytesOf(await proxy.mod(M, "v1.0.0")), GO_MOD);
  assert(await store.artifact(M, "v1.0.0", "mod"), "stored once there is room");
  assertEquals(await zipBytes(proxy, await proxy.zip(M, "v1.0.0")), zip);
  await proxy.settle();
});
