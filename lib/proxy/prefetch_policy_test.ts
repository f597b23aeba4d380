import { assertEquals } from "../../tests/assert.ts";
import {
  isPrunedGoVersion,
  MAX_FOLLOWED_GO_MOD,
  PrefetchPolicy,
  type PrefetchTask,
  WALK_MS,
} from "./prefetch_policy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function goMod(module: string, go: string, requires: string[]): Uint8Array {
  const lines = requires.map((r) => `\t${r.replace("@", " ")}\n`).join("");
  return enc(`module ${module}\n${go ? `\ngo ${go}\n` : ""}\nrequire (\n${lines})\n`);
}

const names = (tasks: PrefetchTask[]) => tasks.map((t) => `${t.kind} ${t.module}@${t.version}`);

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => now += ms };
}

Deno.test("pruned go versions are 1.17 and later", () => {
  const cases: [string, boolean][] = [
    ["", false],
    ["1.16", false],
    ["1.17", true],
    ["1.21.3", true],
    ["1.9", false],
    ["2.0", true],
    ["x", false],
  ];
  for (const [go, pruned] of cases) assertEquals(isPrunedGoVersion(go), pruned, go);
});

Deno.test("an unpruned go.mod's requirements are all prefetched, as the go command reads them all", () => {
  const policy = new PrefetchPolicy(clock().now);
  for (const go of ["", "1.16"]) {
    const tasks = policy.modFetched(
      "a.example/a",
      "v1.0.0",
      goMod("a.example/a", go, [`b.example/b@v1.${go ? 1 : 0}.0`, "c.example/c@v0.1.0"]),
    );
    assertEquals(names(tasks), [
      `mod b.example/b@v1.${go ? 1 : 0}.0`,
      "mod c.example/c@v0.1.0",
    ], go);
  }
  // Superseded versions too: minimum version selection reads every go.mod in an unpruned graph.
  assertEquals(
    names(policy.modFetched("d.example/d", "v1.0.0", goMod("d", "1.16", ["b.example/b@v1.0.0"]))),
    ["mod b.example/b@v1.0.0"],
  );
});

Deno.test("a go.mod past the followed size is not read for requirements, however many it names", () => {
  const policy = new PrefetchPolicy(clock().now);
  const many = Array.from({ length: 50_000 }, (_, i) => `m${i}.example/m@v1.0.0`);
  const big = goMod("a.example/a", "1.16", many);
  assertEquals(big.byteLength > MAX_FOLLOWED_GO_MOD, true);
  assertEquals(policy.modFetched("a.example/a", "v1.0.0", big), []);
  const small = goMod("a.example/a", "1.16", many.slice(0, 2));
  assertEquals(policy.modFetched("a.example/a", "v1.0.1", small).length, 2);
});

Deno.test("a pruned go.mod's requirements are left alone: the go command does not read them", () => {
  const policy = new PrefetchPolicy(clock().now);
  const a = goMod("a.example/a", "1.21", ["b.example/b@v1.0.0", "c.example/c@v1.0.0"]);
  assertEquals(policy.modFetched("a.example/a", "v1.0.0", a), []);
  // The client reads b's go.mod itself (the main module requires it): only its zip follows.
  assertEquals(names(policy.clientAsked("mod", "b.example/b", "v1.0.0")), [
    "zip b.example/b@v1.0.0",
  ]);
});

Deno.test("a canonical .info brings its zip", () => {
  const policy = new PrefetchPolicy(clock().now);
  assertEquals(names(policy.clientAsked("info", "a.example/a", "v1.0.0")), [
    "zip a.example/a@v1.0.0",
  ]);
  // A zip asked alone, of a module whose go.mod no client read, brings nothing.
  assertEquals(policy.clientAsked("zip", "b.example/b", "v1.0.0"), []);
});

Deno.test("go mod download: the first .info of a walked version brings .info and zip of the walk's selected versions", () => {
  const { now, advance } = clock();
  const policy = new PrefetchPolicy(now);
  // The walk: each go.mod a client reads at the highest version named so far brings its zip.
  for (const [m, v] of [["a", "v1.0.0"], ["b", "v1.2.0"], ["c", "v0.1.0"]]) {
    assertEquals(names(policy.clientAsked("mod", `${m}.example/${m}`, v)), [
      `zip ${m}.example/${m}@${v}`,
    ]);
  }
  assertEquals(policy.clientAsked("mod", "b.example/b", "v1.1.0"), [], "superseded: no zip");
  policy.modFetched("c.example/c", "v0.1.0", goMod("c.example/c", "1.16", ["d.example/d@v1.0.0"]));
  assertEquals(names(policy.clientAsked("mod", "d.example/d", "v1.0.0")), [
    "zip d.example/d@v1.0.0",
  ]);
  // A go.mod read for the graph (prefetched, say), not by a client: it is in the graph all the
  // same, but brings no zip yet. It supersedes d's: a zip of d@v1.0.0 still queued is not wanted.
  assertEquals(
    policy.modFetched("e.example/e", "v1.0.0", goMod("e", "1.16", ["d.example/d@v1.3.0"])),
    [{ kind: "mod", module: "d.example/d", version: "v1.3.0" }],
  );
  assertEquals(policy.wanted({ kind: "zip", module: "d.example/d", version: "v1.0.0" }), false);
  assertEquals(policy.wanted({ kind: "mod", module: "d.example/d", version: "v1.0.0" }), true);
  assertEquals(policy.wanted({ kind: "zip", module: "b.example/b", version: "v1.2.0" }), true);
  // The first .info: the client downloads what it read.
  assertEquals(names(policy.clientAsked("info", "a.example/a", "v1.0.0")), [
    "zip a.example/a@v1.0.0",
    "info b.example/b@v1.2.0",
    "zip b.example/b@v1.2.0",
    "info c.example/c@v0.1.0",
    "zip c.example/c@v0.1.0",
    "info e.example/e@v1.0.0",
    "zip e.example/e@v1.0.0",
  ]);
  // Later .info asks bring their own zip only; a go.mod asked now brings both.
  assertEquals(names(policy.clientAsked("info", "b.example/b", "v1.2.0")), [
    "zip b.example/b@v1.2.0",
  ]);
  assertEquals(names(policy.clientAsked("mod", "f.example/f", "v2.0.0")), [
    "info f.example/f@v2.0.0",
    "zip f.example/f@v2.0.0",
  ]);
  assertEquals(names(policy.modFetched("d.example/d", "v1.3.0", goMod("d", "1.21", []))), [
    "info d.example/d@v1.3.0",
    "zip d.example/d@v1.3.0",
  ]);
  // Once the walk is over, a go.mod brings its zip only.
  advance(WALK_MS);
  assertEquals(names(policy.clientAsked("mod", "g.example/g", "v1.0.0")), [
    "zip g.example/g@v1.0.0",
  ]);
});

Deno.test("go build: zips follow the go.mods a client reads, no .info; a zip asked brings nothing more", () => {
  const policy = new PrefetchPolicy(clock().now);
  assertEquals(names(policy.clientAsked("mod", "a.example/a", "v1.0.0")), [
    "zip a.example/a@v1.0.0",
  ]);
  assertEquals(policy.clientAsked("zip", "a.example/a", "v1.0.0"), []);
  assertEquals(names(policy.clientAsked("mod", "c.example/c", "v1.0.0")), [
    "zip c.example/c@v1.0.0",
  ]);
  // A go.mod only the graph needed (no client asked it): maybe no package, so no zip.
  assertEquals(policy.modFetched("d.example/d", "v1.0.0", goMod("d", "1.21", [])), []);
});

Deno.test("versions a pruned go.mod names supersede, though its requirements' go.mods are not fetched", () => {
  const policy = new PrefetchPolicy(clock().now);
  assertEquals(
    policy.modFetched("a.example/a", "v1.0.0", goMod("a", "1.21", ["y.example/y@v1.3.0"])),
    [],
  );
  // An unpruned corner of the graph names an older y: the go command reads it, and selects v1.3.0.
  assertEquals(policy.clientAsked("mod", "y.example/y", "v1.0.0"), []);
  assertEquals(policy.wanted({ kind: "zip", module: "y.example/y", version: "v1.0.0" }), false);
  assertEquals(names(policy.clientAsked("mod", "y.example/y", "v1.3.0")), [
    "zip y.example/y@v1.3.0",
  ]);
});

Deno.test("the zip of a version whose .info a client asked stays wanted when a higher one is named", () => {
  const policy = new PrefetchPolicy(clock().now);
  const [zip] = policy.clientAsked("info", "x.example/x", "v1.2.0"); // go get x@v1.2.0
  assertEquals(names([zip]), ["zip x.example/x@v1.2.0"]);
  policy.clientAsked("mod", "x.example/x", "v1.5.0");
  assertEquals(policy.wanted(zip), true);
  assertEquals(policy.wanted({ kind: "zip", module: "x.example/x", version: "v1.2.0" }), false);
});

Deno.test("a go.mod of a module whose versions a client is checking (list, @latest) brings nothing", () => {
  const policy = new PrefetchPolicy(clock().now);
  // go get and go list -m -u read the latest go.mod for retractions: it is outside the graph.
  policy.clientListed("x.example/x");
  assertEquals(policy.clientAsked("mod", "x.example/x", "v1.5.0"), []);
  assertEquals(
    policy.modFetched("x.example/x", "v1.5.0", goMod("x", "1.16", ["z.example/z@v2.0.0"])),
    [],
  );
  // It supersedes nothing, and other modules' go.mods bring their zips as before.
  assertEquals(names(policy.clientAsked("mod", "z.example/z", "v1.0.0")), [
    "zip z.example/z@v1.0.0",
  ]);
  // The version the client then downloads comes with its .info, as always.
  assertEquals(names(policy.clientAsked("info", "x.example/x", "v1.5.0")), [
    "zip x.example/x@v1.5.0",
  ]);
});
