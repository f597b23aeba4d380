/**
 * Prefetching along the module graph, end to end: the real go command over
 * a deep graph of unpruned modules (each level's go.mod names the next, at
 * older versions too), through an Astera in this process, against a local
 * upstream that counts every request. Going direct is the oracle.
 *
 * @module
 */
import { join } from "node:path";
import { startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import type { PrefetchStats } from "../lib/proxy/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { type FileProxy, type FileProxyOptions, startFileProxy } from "./file_proxy.ts";
import { copyProject, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { type SyntheticVersion, writeUniverse } from "./universe.ts";

const HOST = "deep.example";

/**
 * Five levels; every go.mod at `go 1.16`, so the go command reads the go.mod of
 * every version named anywhere in the graph, one level after the other.
 */
function deepGraph(): SyntheticVersion[] {
  const graph: Record<string, Record<string, string[]>> = {
    l0: { "v1.0.0": ["l1 v1.1.0", "l2 v1.0.0"] },
    l1: { "v1.0.0": ["l2 v1.0.0"], "v1.1.0": ["l2 v1.1.0", "l3 v1.0.0"] },
    l2: { "v1.0.0": ["l3 v1.0.0"], "v1.1.0": ["l3 v1.1.0"] },
    l3: { "v1.0.0": [], "v1.1.0": ["l4 v1.0.0"] },
    l4: { "v1.0.0": [] },
  };
  const versions: SyntheticVersion[] = [];
  for (const [name, history] of Object.entries(graph)) {
    for (const [version, requires] of Object.entries(history)) {
      const required = requires.map((r) => `${HOST}/${r}`);
      const imports = required.map((r) => `import _ "${r.split(" ")[0]}"\n`).join("");
      versions.push({
        module: `${HOST}/${name}`,
        version,
        goMod: `module ${HOST}/${name}\n\ngo 1.16\n` +
          (required.length ? `\nrequire (\n${required.map((r) => `\t${r}\n`).join("")})\n` : ""),
        files: { [`${name}.go`]: `package ${name}\n\n${imports}` },
        time: "2024-01-01T00:00:00Z",
      });
    }
  }
  // Outside the project's graph: a go.mod naming a version the upstream does not have.
  versions.push({
    module: `${HOST}/orphan`,
    version: "v1.0.0",
    goMod: `module ${HOST}/orphan\n\ngo 1.16\n\nrequire ${HOST}/missing v1.0.0\n`,
    files: { "orphan.go": "package orphan\n" },
    time: "2024-01-01T00:00:00Z",
  });
  return versions;
}

const PROJECT = {
  "go.mod": `module app.example/app\n\ngo 1.16\n\nrequire ${HOST}/l0 v1.0.0\n`,
  "main.go": `package main\n\nimport _ "${HOST}/l0"\n\nfunc main() {}\n`,
};

/**
 * A `go 1.21` graph, pruned but for `d`: `a` names `e v1.2.0`, and the unpruned
 * `d` an older `e v1.0.0`, whose go.mod the go command reads (it reads `d`'s
 * whole graph). No package of `e` is imported, so no zip of it is downloaded.
 */
function prunedGraph(): SyntheticVersion[] {
  const host = "pruned.example";
  const version = (name: string, v: string, go: string, requires: string[], imports: string[]) => ({
    module: `${host}/${name}`,
    version: v,
    goMod: `module ${host}/${name}\n\ngo ${go}\n` +
      (requires.length
        ? `\nrequire (\n${requires.map((r) => `\t${host}/${r}\n`).join("")})\n`
        : ""),
    files: {
      [`${name}.go`]: `package ${name}\n\n${
        imports.map((i) => `import _ "${host}/${i}"\n`).join("")
      }`,
    },
    time: "2024-01-01T00:00:00Z",
  });
  return [
    version("a", "v1.0.0", "1.21", ["b v1.1.0", "e v1.2.0"], ["b"]),
    version("b", "v1.0.0", "1.21", [], []),
    version("b", "v1.1.0", "1.21", [], []),
    version("d", "v1.0.0", "1.16", ["b v1.0.0", "e v1.0.0"], ["b"]),
    version("e", "v1.0.0", "1.21", [], []),
    version("e", "v1.2.0", "1.21", [], []),
  ];
}

const PRUNED_PROJECT = {
  "go.mod": "module app.example/app\n\ngo 1.21\n\nrequire (\n\tpruned.example/a v1.0.0\n" +
    "\tpruned.example/d v1.0.0\n)\n",
  "main.go":
    `package main\n\nimport (\n\t_ "pruned.example/a"\n\t_ "pruned.example/d"\n)\n\nfunc main() {}\n`,
};

/** `go mod tidy` then `go mod download`: the graph walked level by level, then the zips. */
async function build(goproxy: string, buildCache: string, files: Record<string, string> = PROJECT) {
  const go = await makeGoClient(goproxy, buildCache);
  const project = await copyProject(files);
  try {
    await go.run(project, ["mod", "tidy"]);
    await go.run(project, ["mod", "download"]);
    return await readModFiles(project);
  } finally {
    await go.remove();
    await removeTree(project);
  }
}

async function withAstera(
  work: string,
  upstream: FileProxy,
  args: string[],
  fn: (url: string, prefetch: () => PrefetchStats | undefined) => Promise<void>,
): Promise<void> {
  const config = parseConfig([
    "--listen",
    "127.0.0.1:0",
    "--db",
    join(work, `astera-${crypto.randomUUID()}.db`),
    "--upstream",
    upstream.url,
    "--workers",
    "1",
    ...args,
  ], {});
  const astera = await startAstera(config, silentLogger);
  try {
    await fn(
      astera.url,
      () => (astera.proxy.stats() as { prefetch?: PrefetchStats }).prefetch,
    );
  } finally {
    await astera.close();
  }
}

/** Waits (a bounded number of turns) until `ready` holds: the state is observed, not timed. */
async function until(what: string, ready: () => boolean): Promise<void> {
  for (let turn = 0; turn < 2_000; turn++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${what}`);
}

const idle = (stats: PrefetchStats | undefined) =>
  stats !== undefined && stats.queued === 0 && stats.running === 0;

Deno.test("prefetching along a deep module graph", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "astera-prefetch-" });
  const root = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(root, deepGraph());
  const direct = await startFileProxy({ root });
  const link: FileProxyOptions = { root };
  const upstream = await startFileProxy(link);
  try {
    const oracle = await build(direct.url, buildCache);
    assert(oracle.goSum.includes(`${HOST}/l4 v1.0.0 h1:`), "the oracle walked to the last level");
    const asked = new Set(direct.counts.keys());

    await t.step(
      "off: Astera asks the upstream exactly what the go command asks, once",
      async () => {
        upstream.counts.clear();
        await withAstera(work, upstream, ["--prefetch", "off"], async (url, prefetch) => {
          assertEquals(await build(url, buildCache), oracle);
          assertEquals(prefetch(), undefined, "no prefetch counters when off");
        });
        assertEquals(new Set(upstream.counts.keys()), asked);
        assertEquals([...upstream.counts.values()].every((n) => n === 1), true);
      },
    );

    await t.step("on: the same go.mod and go.sum; each artifact once; hits counted", async () => {
      upstream.counts.clear();
      await withAstera(work, upstream, [], async (url, prefetch) => {
        assertEquals(await build(url, buildCache), oracle);
        await until("the prefetch queue drains", () => idle(prefetch()));
        const stats = prefetch()!;
        assert(stats.prefetches > 0, `prefetched: ${JSON.stringify(stats)}`);
        assert(stats.hits > 0, `a client asked what was prefetched: ${JSON.stringify(stats)}`);
        assertEquals(stats.failures, 0);
        assertEquals(
          stats.unasked,
          0,
          `the build asked for every prefetch: ${JSON.stringify(stats)}`,
        );
      });
      const twice = [...upstream.counts].filter(([, n]) => n > 1);
      assertEquals(twice, [], "fetched from the upstream more than once");
      for (const path of asked) assert(upstream.counts.has(path), `${path} came through Astera`);
    });

    await t.step("with a replica isolate, what its clients asked counts as hits too", async () => {
      upstream.counts.clear();
      // The go command's connections spread over both isolates; prefetching runs in the first.
      await withAstera(work, upstream, ["--workers", "2"], async (url, prefetch) => {
        assertEquals(await build(url, buildCache), oracle);
        await until("the prefetch queue drains", () => idle(prefetch()));
        // The replica's reports come in batches: wait until they are in, or fail.
        await until("every prefetch is reported asked", () => prefetch()!.unasked === 0);
        const stats = prefetch()!;
        assert(stats.prefetches > 0, `prefetched: ${JSON.stringify(stats)}`);
        assertEquals(stats.hits, stats.prefetches, JSON.stringify(stats));
      });
      assertEquals([...upstream.counts].filter(([, n]) => n > 1), []);
    });

    const l0 = `/${HOST}/l0/@v/v1.0.0.mod`;
    const l1 = `/${HOST}/l1/@v/v1.1.0.mod`;
    /** Over a slow upstream, a client asks l0's go.mod, which names l1 v1.1.0: `fn` runs while l1's is prefetched. */
    const whileL1IsPrefetched = async (
      fn: (url: string, prefetch: () => PrefetchStats | undefined) => Promise<void>,
    ) => {
      upstream.counts.clear();
      link.delayMs = 200;
      try {
        await withAstera(work, upstream, [], async (url, prefetch) => {
          assertEquals((await fetch(url + l0)).status, 200);
          await until("l1's go.mod is being prefetched", () => upstream.counts.has(l1));
          await fn(url, prefetch);
        });
      } finally {
        link.delayMs = 0;
        upstream.failWith = null;
      }
    };

    await t.step(
      "a client asking while the artifact is being prefetched joins that fetch",
      () =>
        whileL1IsPrefetched(async (url, prefetch) => {
          const response = await fetch(url + l1);
          assertEquals(await response.text(), await Deno.readTextFile(join(root, l1)));
          assertEquals(upstream.counts.get(l1), 1, "one upstream fetch for client and prefetch");
          await until("the prefetch queue drains", () => idle(prefetch()));
          assert(prefetch()!.hits >= 1);
        }),
    );

    await t.step(
      "an upstream failing during a prefetch: nothing stored, clients unaffected",
      () =>
        whileL1IsPrefetched(async (url, prefetch) => {
          upstream.failWith = 503;
          await until("the prefetches end", () => idle(prefetch()));
          assert(prefetch()!.failures >= 1, JSON.stringify(prefetch()));
          assertEquals(prefetch()!.prefetches, 0, "nothing was stored");
          upstream.failWith = null;
          const response = await fetch(url + l1);
          assertEquals(response.status, 200);
          assertEquals(await response.text(), await Deno.readTextFile(join(root, l1)));
          assertEquals(upstream.counts.get(l1), 2, "the failed prefetch left nothing: asked again");
        }),
    );

    await t.step("a prefetched not-found is remembered as a client's is", async () => {
      upstream.counts.clear();
      const missing = `/${HOST}/missing/@v/v1.0.0.mod`;
      await withAstera(work, upstream, [], async (url, prefetch) => {
        assertEquals((await fetch(url + `/${HOST}/orphan/@v/v1.0.0.mod`)).status, 200);
        await until("the prefetch queue drains", () => idle(prefetch()));
        assertEquals(upstream.counts.get(missing), 1, "prefetched");
        const response = await fetch(url + missing);
        assertEquals(response.status, 404);
        await response.body?.cancel();
        assertEquals(upstream.counts.get(missing), 1, "the client got the remembered not-found");
      });
    });
  } finally {
    await direct.close();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("a pruned graph: zips follow the go.mods clients read, none of a version another go.mod supersedes", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-prefetch-pruned-" });
  const root = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(root, prunedGraph());
  const direct = await startFileProxy({ root });
  const upstream = await startFileProxy({ root });
  try {
    const oracle = await build(direct.url, buildCache, PRUNED_PROJECT);
    assert(
      oracle.goSum.includes("pruned.example/e v1.0.0/go.mod h1:"),
      "e v1.0.0's go.mod was read",
    );
    assert(!oracle.goSum.includes("pruned.example/e v1.2.0 h1:"), "no zip of e is needed");
    await withAstera(work, upstream, [], async (url, prefetch) => {
      // The go command asks a's and d's go.mods together. Were a's to arrive only after the
      // client had read d's requirements and their zips had started, those zips could not be
      // called back (README, Limits we know): a's is asked first, so that the test does not
      // depend on which answer comes first.
      const a = await fetch(url + "/pruned.example/a/@v/v1.0.0.mod");
      assertEquals(a.status, 200);
      await a.body?.cancel();
      assertEquals(await build(url, buildCache, PRUNED_PROJECT), oracle);
      await until("the prefetch queue drains", () => idle(prefetch()));
      const stats = prefetch()!;
      assert(stats.prefetches > 0, `prefetched: ${JSON.stringify(stats)}`);
      assertEquals(stats.unasked, 0, `every prefetch was asked for: ${JSON.stringify(stats)}`);
    });
    assertEquals([...upstream.counts].filter(([, n]) => n > 1), []);
    assert(!upstream.counts.has("/pruned.example/e/@v/v1.0.0.zip"), "no zip of a superseded e");
  } finally {
    await direct.close();
    await upstream.close();
    await removeTree(work);
  }
});
