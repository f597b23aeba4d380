import { assertEquals, assertRejects } from "../../../tests/assert.ts";
import { CodeHost, NotFoundError } from "./codehost.ts";
import { CodeRepo } from "./coderepo.ts";
import { fakeHash, type FakeHistory, fakeMirror } from "./fake_mirror.ts";

const MOD = { "go.mod": "module example.com/m\n" };
const T0 = Date.UTC(2020, 0, 2, 3, 4, 5) / 1000;

/** The repository example.com/m at its root, holding `history`. */
function repo(history: FakeHistory, modPath = "example.com/m"): CodeRepo {
  const location = { root: "example.com/m", url: "https://git.example/m", subdir: "" };
  return new CodeRepo(new CodeHost(fakeMirror(history)), location, modPath);
}

const history: FakeHistory = {
  commits: [
    { time: T0, files: MOD },
    { time: T0 + 60, parent: 0, files: MOD },
    { time: T0 + 120, parent: 1, files: MOD },
    { time: T0 + 180, parent: 2 }, // go.mod removed: v2 and up may be +incompatible
    { time: T0 + 240, parent: 3, files: { "sub/go.mod": "module example.com/m/sub\n" } },
  ],
  tags: {
    "v1.0.0": 0,
    "v1.1.0-rc.1": 1,
    "v1.1": 1, // not canonical: no version
    "v1.1.0": 2,
    "v2.0.0": 3,
    "sub/v0.1.0": 4,
  },
  branches: { main: 4 },
};

Deno.test("versions are the canonical tags that fit the path, with +incompatible majors that have no go.mod", async () => {
  // The highest compatible version has a go.mod: the go command lists no +incompatible ones.
  assertEquals(await repo(history).versions(""), ["v1.0.0", "v1.1.0-rc.1", "v1.1.0"]);
  const legacy: FakeHistory = {
    commits: [{ time: T0 }, { time: T0 + 60, parent: 0 }, { time: T0 + 120, parent: 1 }],
    tags: { "v1.0.0": 0, "v2.0.0": 1, "v3.0.0": 2 },
    branches: { main: 2 },
  };
  assertEquals(await repo(legacy).versions(""), [
    "v1.0.0",
    "v2.0.0+incompatible",
    "v3.0.0+incompatible",
  ]);
  assertEquals(await repo(history).versions("v1.1"), ["v1.1.0-rc.1", "v1.1.0"]);
  const sub = { root: "example.com/m", url: "https://git.example/m", subdir: "" };
  const subRepo = new CodeRepo(new CodeHost(fakeMirror(history)), sub, "example.com/m/sub");
  assertEquals(await subRepo.versions(""), ["v0.1.0"]);
});

Deno.test("a commit is its tag's version, or a pseudo-version on the most recent tag it descends from", async () => {
  const r = repo(history);
  assertEquals(await r.stat("v1.0.0"), { version: "v1.0.0", time: T0, hash: fakeHash(0) });
  assertEquals((await r.stat(fakeHash(2).slice(0, 12))).version, "v1.1.0");
  const short = fakeHash(4).slice(0, 12);
  assertEquals(
    (await r.stat("main")).version,
    `v2.0.1-0.20200102030805-${short}+incompatible`,
  );
  const pseudo = `v1.0.1-0.20200102030505-${fakeHash(1).slice(0, 12)}`;
  assertEquals((await r.stat(pseudo)).version, pseudo);
});

Deno.test("a pseudo-version that does not match its commit is refused with the go command's reason", async () => {
  const r = repo(history);
  const short = fakeHash(1).slice(0, 12);
  const cases: [string, string][] = [
    [`v1.0.1-0.20200102030506-${short}`, "does not match version-control timestamp"],
    [`v1.1.1-0.20200102030505-${short}`, "not a descendent of preceding tag (v1.1.0)"],
    [`v1.2.1-0.20200102030505-${short}`, "preceding tag (v1.2.0) not found"],
    [`v1.0.0-20200102030505-${short}`, "major version without preceding tag must be v0, not v1"],
  ];
  for (const [version, why] of cases) {
    await assertRejects(() => r.stat(version), NotFoundError, why);
  }
});

Deno.test("a version's go.mod is the file at its commit, or the go command's synthesized one", async () => {
  const r = repo(history);
  const text = async (v: string) => new TextDecoder().decode(await r.goMod(v));
  assertEquals(await text("v1.0.0"), "module example.com/m\n");
  assertEquals(await text("v2.0.0+incompatible"), "module example.com/m\n");
  await assertRejects(() => r.goMod("v1.1"), NotFoundError, "not canonical");
  await assertRejects(() => r.goMod("v3.0.0+incompatible"), NotFoundError, "unknown revision");
});

Deno.test("retractions come from the go.mod of the highest release", async () => {
  const retracting: FakeHistory = {
    commits: [
      { time: T0, files: MOD },
      { time: T0 + 60, parent: 0, files: { "go.mod": "module example.com/m\nretract v1.0.0\n" } },
    ],
    tags: { "v1.0.0": 0, "v1.0.1": 1 },
    branches: { main: 1 },
  };
  const retracted = await repo(retracting).retractedVersions();
  assertEquals([retracted("v1.0.0"), retracted("v1.0.1")], [true, false]);
});
