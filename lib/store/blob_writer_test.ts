import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { MemoryStore } from "./memory.ts";
import { strongEtag } from "./digest.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("a blob writer takes nothing more once finished, and finishing twice changes nothing", async () => {
  const store = new MemoryStore({ chunkSize: 4 });
  const writer = await store.writeBlob();
  await writer.write(text("abcdef"));
  assertEquals(writer.etag, undefined, "no ETag before the blob is whole");
  await writer.finish();
  await writer.finish();
  assertEquals([writer.size, writer.chunks, writer.etag], [6, 2, await strongEtag(text("abcdef"))]);
  await assertRejects(() => writer.write(text("g")), Error, "finished");
  const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
  assertEquals(meta.etag, writer.etag);
  await assertRejects(() => writer.write(text("g")), Error, "committed");
});

Deno.test("a writer keeps one chunk of memory: what it was given may be reused at once", async () => {
  const store = new MemoryStore({ chunkSize: 4 });
  const writer = await store.writeBlob();
  const buffer = new Uint8Array(3);
  for (const part of ["abc", "def", "gh"]) {
    buffer.set(text(part.padEnd(3, "\0")));
    await writer.write(buffer.subarray(0, part.length));
  }
  const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
  const parts: string[] = [];
  for await (const piece of store.readRange(meta, 0, meta.size)) {
    parts.push(new TextDecoder().decode(piece));
  }
  assertEquals(parts, ["abcd", "efgh"]);
});

Deno.test("a writer that lost its commit leaves its blob to the sweep, or to abort", async () => {
  let time = 0;
  const store = new MemoryStore({ chunkSize: 4, now: () => time });
  const winner = await store.writeBlob();
  const loser = await store.writeBlob();
  await winner.write(text("same"));
  await loser.write(text("same"));
  await winner.commit("example.com/m", "v1.0.0", "zip");
  await loser.commit("example.com/m", "v1.0.0", "zip");
  time += 10;
  assertEquals(await store.sweepPendingBlobs(5), 1, "no longer its writer's: swept when idle");
  await loser.abort(); // already gone: nothing to do
  assertEquals(await store.chunk(loser.blobId, 0), undefined);
  assertEquals(await store.chunk(winner.blobId, 0), text("same"));
});
