import { assert, assertEquals } from "../../tests/assert.ts";
import { concatBytes, readPrefix } from "./bytes.ts";

Deno.test("chunks join in order into a new buffer", () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3, 4, 5])];
  const joined = concatBytes(parts);
  assertEquals(joined, new Uint8Array([1, 2, 3, 4, 5]));
  joined[0] = 9;
  assertEquals(parts[0][0], 1, "the parts are copied, not shared");
  assertEquals(concatBytes([]), new Uint8Array([]));
});

Deno.test("readPrefix reads no more than it needs, cancels the rest, and keeps what came before a break", async () => {
  let cancelled = false;
  let pulls = 0;
  const long = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(new Uint8Array(4).fill(pulls));
    },
    cancel() {
      cancelled = true;
    },
  });
  assertEquals(await readPrefix(long, 6), new Uint8Array([1, 1, 1, 1, 2, 2]));
  assert(cancelled && pulls <= 3, `pulls ${pulls}`);

  const short = new Response(new Uint8Array([7, 8])).body;
  assertEquals(await readPrefix(short, 6), new Uint8Array([7, 8]));
  assertEquals(await readPrefix(null, 6), new Uint8Array());

  let sent = false;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new Error("connection reset"));
      sent = true;
      controller.enqueue(new Uint8Array([9]));
    },
  });
  assertEquals(await readPrefix(broken, 6), new Uint8Array([9]));
});
