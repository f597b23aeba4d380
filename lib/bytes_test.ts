import { assertEquals } from "./testing.ts";
import { concatBytes } from "./bytes.ts";

Deno.test("chunks join in order into a new buffer", () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3, 4, 5])];
  const joined = concatBytes(parts);
  assertEquals(joined, new Uint8Array([1, 2, 3, 4, 5]));
  joined[0] = 9;
  assertEquals(parts[0][0], 1, "the parts are copied, not shared");
  assertEquals(concatBytes([]), new Uint8Array([]));
});
