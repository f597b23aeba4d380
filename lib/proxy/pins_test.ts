import { assert, assertEquals } from "../../tests/assert.ts";
import { pinServedZip, releaseWhenSent, ZipPins } from "./pins.ts";

Deno.test("a response holds its zip's pin until its body is read to the end, fails or is cancelled", async () => {
  const body = (chunks: number, fail = false) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunks; i++) controller.enqueue(new Uint8Array([i]));
        if (fail) controller.error(new Error("chunk missing"));
        else controller.close();
      },
    });
  let released = 0;
  const release = () => void released++;
  const read = releaseWhenSent({ status: 200, headers: {}, body: body(2) }, release);
  const reader = (read.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  assertEquals(released, 0, "held while bytes remain");
  await reader.read();
  assertEquals((await reader.read()).done, true);
  assertEquals(released, 1);

  const cancelled = releaseWhenSent({ status: 200, headers: {}, body: body(3) }, release);
  await (cancelled.body as ReadableStream<Uint8Array>).cancel("client gone");
  assertEquals(released, 2);

  const failed = releaseWhenSent({ status: 200, headers: {}, body: body(0, true) }, release);
  await (failed.body as ReadableStream<Uint8Array>).getReader().read().catch(() => {});
  assertEquals(released, 3);

  releaseWhenSent({ status: 304, headers: {} }, release);
  assertEquals(released, 4, "no body: released at once");
});

Deno.test("a zip found stored is pinned again without a store read until an eviction, in any isolate", async () => {
  const pins = new ZipPins();
  const replica = new ZipPins(pins.buffer);
  let reads = 0;
  const stored = () => {
    reads++;
    return Promise.resolve(9);
  };
  for (let i = 0; i < 5; i++) (await pinServedZip(replica, 9, stored))?.();
  assertEquals(reads, 1);
  // The first isolate evicts something (even another zip): the replica looks again.
  if (pins.tryLock(4)) pins.unlock(4);
  (await pinServedZip(replica, 9, stored))?.();
  assertEquals(reads, 2);
  // Evicted meanwhile: the pin is given back and the zip is to be fetched again.
  assert(pins.tryLock(9));
  pins.unlock(9);
  assertEquals(await pinServedZip(replica, 9, () => Promise.resolve(undefined)), undefined);
  assertEquals(replica.pinned(9), false);
});
