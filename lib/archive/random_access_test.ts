import { bytesAccess, fileAccess } from "./random_access.ts";
import { assertEquals, assertRejects } from "../../tests/assert.ts";

const enc = new TextEncoder();

Deno.test("bytesAccess returns views and rejects reads outside the bytes", async () => {
  const src = bytesAccess(enc.encode("hello"));
  assertEquals(src.size, 5);
  assertEquals(await src.read(1, 3), enc.encode("ell"));
  assertEquals(await src.read(5, 0), new Uint8Array());
  for (const [offset, length] of [[4, 2], [-1, 1], [0, -1], [0.5, 1]]) {
    await assertRejects(() => src.read(offset, length), RangeError);
  }
});

Deno.test("fileAccess serves concurrent reads each with its own bytes", async () => {
  const path = await Deno.makeTempFile();
  try {
    const data = new Uint8Array(100_000).map((_, i) => i * 7);
    await Deno.writeFile(path, data);
    using file = await Deno.open(path);
    const src = fileAccess(file, data.length);
    const ranges = Array.from({ length: 50 }, (_, i) => [i * 1999, 1000 + i] as const);
    const got = await Promise.all(ranges.map(([o, n]) => src.read(o, n)));
    ranges.forEach(([o, n], i) => assertEquals(got[i], data.slice(o, o + n)));
    await assertRejects(() => src.read(99_999, 2), RangeError);
    // A file shorter than its declared size fails the read, not later ones.
    const longer = fileAccess(file, data.length + 10);
    await assertRejects(() => longer.read(data.length, 10), Deno.errors.UnexpectedEof);
    assertEquals(await longer.read(0, 3), data.slice(0, 3));
  } finally {
    await Deno.remove(path);
  }
});
