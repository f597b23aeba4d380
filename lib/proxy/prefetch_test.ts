import { assert, assertEquals } from "../../tests/assert.ts";
import { isPrefetching, Prefetcher, type PrefetcherOptions, WASTE_MS } from "./prefetch.ts";
import { REASK_MS } from "./ask_report.ts";
import { PrefetchPolicy } from "./prefetch_policy.ts";
import type { Reply } from "./reply.ts";

const quiet = { info() {}, warn() {}, error() {} };
const enc = (s: string) => new TextEncoder().encode(s);
const OK: Reply = { type: "bytes", bytes: enc("x"), contentType: "text/plain", immutable: true };

/** A target whose calls wait until released, recording what was asked and in which context. */
function fakeTarget() {
  const asked: string[] = [];
  const pending: (() => void)[] = [];
  let prefetchContext = true;
  const call = (kind: string) => (module: string, version: string) => {
    asked.push(`${kind} ${module}@${version}`);
    prefetchContext &&= isPrefetching();
    return new Promise<Reply>((resolve) => pending.push(() => resolve(OK)));
  };
  return {
    target: { mod: call("mod"), info: call("info"), zip: call("zip") },
    asked,
    pending,
    inPrefetchContext: () => prefetchContext,
    /** Lets every call made so far answer, and the pool move on. */
    async release() {
      for (const done of pending.splice(0)) done();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

function prefetcher(overrides: Partial<PrefetcherOptions>, target = fakeTarget()) {
  let now = 5_000_000;
  const options: PrefetcherOptions = {
    target: target.target,
    concurrency: 2,
    now: () => now,
    log: quiet,
    clientFetches: () => 0,
    upstreamDown: () => false,
    ...overrides,
  };
  return { prefetcher: new Prefetcher(options), target, advance: (ms: number) => now += ms };
}

/** An unpruned go.mod requiring `count` modules: each requirement's go.mod is prefetched. */
function goModRequiring(count: number): Uint8Array {
  const lines = Array.from({ length: count }, (_, i) => `\tr${i}.example/r v1.0.0\n`).join("");
  return enc(`module a.example/a\n\ngo 1.16\n\nrequire (\n${lines})\n`);
}

Deno.test("prefetches run at most `concurrency` at once, as the proxy's own requests, go.mods first, zips after them", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 2 });
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(3));
  p.clientAsked("info", "z.example/z", "v1.0.0"); // brings z's zip, queued behind r2's go.mod
  assertEquals(target.asked, ["mod r0.example/r@v1.0.0", "mod r1.example/r@v1.0.0"]);
  assertEquals([p.stats().running, p.stats().queued], [2, 2]);
  await target.release();
  // A go.mod being read may name a higher version of z: the zip waits for it.
  assertEquals(target.asked.slice(2), ["mod r2.example/r@v1.0.0"]);
  await target.release();
  assertEquals(target.asked.slice(3), ["zip z.example/z@v1.0.0"]);
  await target.release();
  assertEquals([p.stats().running, p.stats().queued], [0, 0]);
  assert(target.inPrefetchContext(), "each call runs marked as a prefetch");
  // Asked again within the walk: nothing is queued twice.
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(3));
  assertEquals(target.asked.length, 4);
});

Deno.test("client fetches waiting for a source take the slots first", async () => {
  let clients = 2;
  const { prefetcher: p, target } = prefetcher({ concurrency: 3, clientFetches: () => clients });
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(3));
  assertEquals(target.asked.length, 1, "one slot left beside two client fetches");
  clients = 3;
  await target.release();
  assertEquals(target.asked.length, 1, "none left: the queue waits");
  clients = 0;
  p.clientAsked("zip", "b.example/b", "v1.0.0"); // any event pumps the queue again
  assertEquals(target.asked.length, 3);
  await target.release();
  assertEquals(p.stats().queued, 0);
});

Deno.test("a queued zip whose module the walk names at a higher version before it starts is not fetched", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 1 });
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(1)); // r0's go.mod holds the slot
  p.clientAsked("mod", "x.example/x", "v1.0.0"); // x's zip waits
  assertEquals(p.stats().queued, 1);
  const b = enc("module b.example/b\n\ngo 1.16\n\nrequire x.example/x v1.1.0\n");
  p.fetched("mod", "b.example/b", "v1.0.0", b);
  await target.release();
  await target.release();
  assertEquals(target.asked, ["mod r0.example/r@v1.0.0", "mod x.example/x@v1.1.0"]);
  assertEquals([p.stats().running, p.stats().queued, p.stats().superseded], [0, 0, 1]);
});

Deno.test("what a client asked itself is not prefetched in that walk, even once its fetch failed", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 8 });
  p.fetched("info", "c.example/c", "v1.0.0", enc("{}")); // a cold walk
  p.clientAsked("mod", "m.example/m", "v1.0.0"); // the zip follows
  p.clientAsked("info", "m.example/m", "v1.0.0"); // the client's own fetch: refused, say
  // m's go.mod comes in: the walk would have its .info and zip, but the client asked the .info.
  p.fetched("mod", "m.example/m", "v1.0.0", enc("module m.example/m\n"));
  await target.release();
  assertEquals(target.asked, ["zip m.example/m@v1.0.0"]);
});

Deno.test("a queued prefetch a client asks for before it starts is left to the client", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 1 });
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(1)); // r0's go.mod holds the slot
  p.clientAsked("mod", "x.example/x", "v1.0.0"); // x's zip waits
  p.clientAsked("zip", "x.example/x", "v1.0.0"); // the client's own download
  await target.release();
  await target.release();
  assertEquals(target.asked, ["mod r0.example/r@v1.0.0"]);
  assertEquals([p.stats().running, p.stats().queued], [0, 0]);
});

Deno.test("while the upstream fails the queue is dropped; the disk budget's pause keeps it", async () => {
  let down = false;
  let tight = true;
  const { prefetcher: p, target } = prefetcher({
    upstreamDown: () => down,
    shouldPausePrefetch: () => tight,
  });
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(3));
  assertEquals([target.asked.length, p.stats().queued], [0, 3], "paused, kept");
  tight = false;
  down = true;
  p.clientAsked("zip", "b.example/b", "v1.0.0");
  assertEquals([target.asked.length, p.stats().queued, p.stats().dropped], [0, 0, 3]);
  // Back: what the walk needs is queued again.
  down = false;
  p.fetched("mod", "a.example/a", "v1.0.0", goModRequiring(3));
  assertEquals(target.asked.length, 2);
  await target.release();
  await target.release();
});

Deno.test("prefetches, hits and waste are counted; a client's own fetch is no prefetch", async () => {
  const { prefetcher: p } = prefetcher({});
  // A client's fetch (outside a prefetch) does not count.
  p.fetched("info", "c.example/c", "v1.0.0", enc("{}"));
  assertEquals(p.stats().prefetches, 0);
  // Counted within a prefetch: run through the target, as the proxy does.
  const target = {
    mod: () => Promise.resolve(OK),
    info: (module: string, version: string) => {
      p2.fetched("info", module, version, enc("12345"));
      return Promise.resolve(OK);
    },
    zip: () => Promise.resolve(OK),
  };
  const p2 = new Prefetcher({
    target,
    concurrency: 8,
    now: () => now,
    log: quiet,
    clientFetches: () => 0,
    upstreamDown: () => false,
  });
  let now = 0;
  // A cold walk: something came from a source (else the policy is not even asked).
  p2.fetched("mod", "a.example/a", "v1.0.0", enc("module a.example/a\n"));
  // go mod download: the walk's .mods, then a first .info brings the others' .info and zip.
  for (const m of ["a", "b", "c"]) p2.clientAsked("mod", `${m}.example/${m}`, "v1.0.0");
  p2.clientAsked("info", "a.example/a", "v1.0.0");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals([p2.stats().prefetches, p2.stats().prefetchedBytes], [2, 10]);
  p2.clientAsked("info", "b.example/b", "v1.0.0");
  p2.clientAsked("info", "b.example/b", "v1.0.0");
  assertEquals(p2.stats().hits, 1, "each prefetched artifact is hit once");
  now += WASTE_MS;
  assertEquals([p2.stats().waste, p2.stats().wastedBytes], [1, 5], "c's .info was never asked");
});

Deno.test("a warm walk prefetches nothing, until a source gives something after all", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 8 });
  // go mod download over stored go.mods: the first .info would bring the rest.
  for (const m of ["a", "b"]) p.clientAsked("mod", `${m}.example/${m}`, "v1.0.0");
  p.clientAsked("info", "a.example/a", "v1.0.0");
  assertEquals([target.asked.length, p.stats().queued], [0, 0], "everything may be stored");
  // a.info came from the upstream: the walk is cold after all.
  p.fetched("info", "a.example/a", "v1.0.0", enc("{}"));
  assertEquals(target.asked.sort(), [
    "info b.example/b@v1.0.0",
    "zip a.example/a@v1.0.0",
    "zip b.example/b@v1.0.0",
  ]);
  await target.release();
});

Deno.test("a repeated ask answered from memory reaches the policy once a minute, not on every request", () => {
  const { prefetcher: p, advance } = prefetcher({});
  let calls = 0;
  const original = PrefetchPolicy.prototype.clientAsked;
  PrefetchPolicy.prototype.clientAsked = function (this: PrefetchPolicy, ...args) {
    calls++;
    return original.apply(this, args);
  };
  try {
    const entry = {};
    for (let i = 0; i < 5; i++) p.clientAsked("info", "a.example/a", "v1.0.0", entry);
    assertEquals(calls, 1);
    advance(REASK_MS);
    p.clientAsked("info", "a.example/a", "v1.0.0", entry);
    assertEquals(calls, 2);
    // Without a cache entry (the store or a source answered) every ask is told.
    for (let i = 0; i < 3; i++) p.clientAsked("info", "a.example/a", "v1.0.0");
    assertEquals(calls, 5);
  } finally {
    PrefetchPolicy.prototype.clientAsked = original;
  }
});

Deno.test("a version check a replica answered itself reaches the policy: the go.mod read next brings nothing", async () => {
  const { prefetcher: p, target } = prefetcher({ concurrency: 8 });
  p.fetched("info", "c.example/c", "v1.0.0", enc("{}")); // a cold walk
  // go list -m -u on a replica: the list came from its memory, then the latest go.mod.
  p.replicaAsked([["list", "x.example/x", ""], ["mod", "x.example/x", "v1.5.0"]]);
  assertEquals(target.asked, []);
  // A go.mod of the walk still brings its zip.
  p.replicaAsked([["mod", "y.example/y", "v1.0.0"]]);
  assertEquals(target.asked, ["zip y.example/y@v1.0.0"]);
  await target.release();
});
