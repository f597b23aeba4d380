import { assertEquals, assertRejects } from "../../../tests/assert.ts";
import { CodeHost, NotFoundError } from "./codehost.ts";
import { fakeHash, fakeMirror } from "./fake_mirror.ts";

const code = new CodeHost(fakeMirror({
  commits: [{ time: 1000 }, { time: 2000, parent: 0 }, { time: 3000, parent: 1 }, {
    time: 4000,
    parent: 1,
  }],
  tags: { "v1.0.0": 0, "v1.1.0": 2, "sub/v1.0.0": 2, "v1.0.1": 1 },
  branches: { main: 2, dev: 3 },
}));

Deno.test("a revision is a tag, a branch, HEAD, or a hash prefix, as the go command resolves it", async () => {
  const cases: [string, { name: string; version: string; tags: string[] }][] = [
    ["v1.0.0", { name: fakeHash(0), version: "v1.0.0", tags: ["v1.0.0"] }],
    ["dev", { name: fakeHash(3), version: fakeHash(3), tags: [] }],
    ["HEAD", { name: fakeHash(2), version: fakeHash(2), tags: ["sub/v1.0.0", "v1.1.0"] }],
    [fakeHash(1).slice(0, 12), { name: fakeHash(1), version: fakeHash(1), tags: ["v1.0.1"] }],
    [fakeHash(0), { name: fakeHash(0), version: fakeHash(0), tags: ["v1.0.0"] }],
  ];
  for (const [rev, want] of cases) {
    const got = await code.stat(rev);
    assertEquals({ name: got.name, version: got.version, tags: got.tags }, want, rev);
    assertEquals(got.short, want.name.slice(0, 12), rev);
  }
  assertEquals((await code.latest()).name, fakeHash(2));
});

Deno.test("an unknown name, a short or ambiguous hash prefix is not found", async () => {
  await assertRejects(() => code.stat("nope"), NotFoundError, "unknown revision nope");
  await assertRejects(() => code.stat("000000"), NotFoundError, "unknown revision 000000");
  // Every ref tip here starts with seven zeros.
  await assertRejects(() => code.stat("0000000"), NotFoundError, "ambiguous revision 0000000");
});

Deno.test("tags are listed by prefix and sorted; the most recent allowed tag is the highest merged one", async () => {
  assertEquals((await code.tags("v1.0")).map((t) => t.name), ["v1.0.0", "v1.0.1"]);
  assertEquals(await code.recentTag(fakeHash(3), "", () => Promise.resolve(true)), "v1.0.1");
  assertEquals(await code.recentTag(fakeHash(2), "", () => Promise.resolve(true)), "v1.1.0");
  assertEquals(
    await code.recentTag(fakeHash(2), "", (tag) => Promise.resolve(tag !== "v1.1.0")),
    "v1.0.1",
  );
  assertEquals(
    await code.recentTag(fakeHash(2), "sub/", () => Promise.resolve(true)),
    "sub/v1.0.0",
  );
});
