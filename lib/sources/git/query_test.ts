import { assertEquals, assertRejects } from "../../../tests/assert.ts";
import { CodeHost, NotFoundError } from "./codehost.ts";
import { CodeRepo } from "./coderepo.ts";
import { fakeHash, type FakeHistory, fakeMirror } from "./fake_mirror.ts";
import { Query } from "./query.ts";

const T0 = Date.UTC(2020, 0, 2, 3, 4, 5) / 1000;
const MOD = { "go.mod": "module example.com/m\n" };

/** Versions v1.0.0 … v1.3.0-rc.1 of example.com/m; v1.2.0 retracts itself. */
const history: FakeHistory = {
  commits: [
    { time: T0, files: MOD },
    { time: T0 + 60, parent: 0, files: MOD },
    { time: T0 + 120, parent: 1, files: MOD },
    { time: T0 + 180, parent: 2, files: { "go.mod": "module example.com/m\nretract v1.2.0\n" } },
    { time: T0 + 240, parent: 3, files: MOD },
    { time: T0 + 300, parent: 4, files: MOD },
  ],
  tags: {
    "v1.0.0": 0,
    "v1.1.0": 1,
    "v1.1.1": 2,
    "v1.2.0": 3,
    "v1.3.0-rc.1": 4,
  },
  branches: { main: 5, feature: 2 },
};

function query(): Query {
  const location = { root: "example.com/m", url: "https://git.example/m", subdir: "" };
  return new Query(new CodeRepo(new CodeHost(fakeMirror(history)), location, "example.com/m"));
}

Deno.test("revisions are looked up; latest, prefixes and ranges choose among versions", () => {
  const cases: [string, boolean][] = [
    ["latest", false],
    ["upgrade", false],
    ["patch", false],
    ["<v1.2.0", false],
    [">=v1.1", false],
    ["v1", false],
    ["v1.2", false],
    ["v1.2.0", true],
    ["main", true],
    [fakeHash(2).slice(0, 12), true],
  ];
  for (const [q, revision] of cases) assertEquals(Query.isRevision(q), revision, q);
});

Deno.test("queries resolve as go mod download resolves them, skipping retracted versions", async () => {
  const cases: [string, string][] = [
    ["latest", "v1.1.1"], // v1.2.0 is retracted; a pre-release only when there is no release
    ["v1", "v1.1.1"],
    ["v1.1", "v1.1.1"],
    ["<v1.1.1", "v1.1.0"],
    ["<=v1.1.1", "v1.1.1"],
    [">v1.0.0", "v1.1.0"],
    [">=v1.1.1", "v1.1.1"],
    [">v1.1.1", "v1.3.0-rc.1"],
    ["v1.2.0", "v1.2.0"], // asked for by name, a retracted version is still served
    ["feature", "v1.1.1"],
    ["main", `v1.3.0-rc.1.0.20200102030905-${fakeHash(5).slice(0, 12)}`],
  ];
  for (const [q, want] of cases) assertEquals((await query().answer(q)).version, want, q);
});

Deno.test("queries that cannot match say why, as the go command does", async () => {
  const cases: [string, string][] = [
    ["patch", 'can\'t query version "patch"'],
    ["<=v1.1", 'ambiguous semantic version "v1.1" in range "<=v1.1"'],
    ["<x", 'invalid semantic version "x" in range "<x"'],
    ["v2", 'no matching versions for query "v2"'],
    ["<v1.0.0", 'no matching versions for query "<v1.0.0"'],
    ["nope", "unknown revision nope"],
  ];
  for (const [q, why] of cases) await assertRejects(() => query().answer(q), NotFoundError, why);
});
