/**
 * End to end: the real go command against a really running Astera (started
 * as a user starts it) over a local upstream of synthetic modules. Going
 * straight to that upstream is the oracle: through Astera, go.mod and go.sum
 * must come out byte-identical, cold and concurrent, offline, and after a
 * restart on the same database.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "../lib/testing.ts";
import { startAsteraProcess } from "./asteraprocess.ts";
import { startFileProxy } from "./fileproxy.ts";
import { copyProject, makeGoClient, readModFiles, removeTree } from "./gotool.ts";
import { PROJECT_FILES, standardUniverse, writeUniverse } from "./universe.ts";

const CONCURRENT_CLIENTS = 10;
const LISTED = [
  "example.com/lib",
  "example.com/retracted",
  "example.com/old",
  "example.com/Upper/Pkg",
];

interface Outcome {
  tidy: { goMod: string; goSum: string };
  downloads: { Path: string; Version: string; Sum: string; GoModSum: string }[];
  upgraded: { goMod: string; goSum: string };
  versions: string;
}

/** Runs the workflow a developer runs: tidy, then `go get -u ./...`, then version lists. */
async function workflow(goproxy: string, buildCache: string): Promise<Outcome> {
  const go = await makeGoClient(goproxy, buildCache);
  const project = await copyProject(PROJECT_FILES);
  try {
    await go.run(project, ["mod", "tidy"]);
    const tidy = await readModFiles(project);
    const downloaded = await go.run(project, ["mod", "download", "-json", "all"]);
    const downloads = parseJsonStream(downloaded.stdout).map((
      { Path, Version, Sum, GoModSum },
    ) => ({
      Path,
      Version,
      Sum,
      GoModSum,
    }));
    await go.run(project, ["get", "-u", "./..."]);
    await go.run(project, ["mod", "tidy"]);
    const upgraded = await readModFiles(project);
    const versions = (await go.run(project, ["list", "-m", "-versions", ...LISTED])).stdout;
    return { tidy, downloads, upgraded, versions };
  } finally {
    await go.remove();
    await removeTree(project);
  }
}

/** `go mod download -json` prints one JSON object after another. */
function parseJsonStream(text: string): Record<string, string>[] {
  return text.split(/\n(?=\{)/).filter((part) => part.trim()).map((part) => JSON.parse(part));
}

Deno.test("go clients through Astera get what they get direct: cold, concurrent, offline, restarted", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "astera-e2e-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, standardUniverse(3 * 1024 * 1024 + 123));
  const direct = await startFileProxy({ root: universe });
  const upstream = await startFileProxy({ root: universe });
  const db = join(work, "astera.db");
  try {
    const oracle = await workflow(direct.url, buildCache);
    assert(
      oracle.tidy.goSum.includes("example.com/big v1.0.0 h1:"),
      "the oracle resolved the big module",
    );
    assert(oracle.upgraded.goMod.includes("example.com/lib v1.1.0"), "go get -u upgraded lib");
    assert(
      oracle.downloads.length >= 9 && oracle.downloads.every((d) => d.GoModSum),
      "go mod download ran",
    );

    await t.step(
      "concurrent cold clients match direct; each artifact leaves the upstream once",
      async () => {
        const astera = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
        try {
          const outcomes = await Promise.all(
            Array.from({ length: CONCURRENT_CLIENTS }, () => workflow(astera.url, buildCache)),
          );
          for (const outcome of outcomes) assertEquals(outcome, oracle);
          const repeated = [...upstream.counts].filter(([path, count]) =>
            /\.(mod|zip)$/.test(path) || /@v\/v[^/]*\.info$/.test(path) ? count > 1 : false
          );
          assertEquals(
            repeated,
            [],
            "immutable artifacts fetched from the upstream more than once",
          );
          assert(
            [...upstream.counts.keys()].some((p) => p.endsWith("example.com/big/@v/v1.0.0.zip")),
          );
        } finally {
          assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
        }
      },
    );

    await t.step("upstream down and a restart on the same database: still identical", async () => {
      await upstream.close();
      const astera = await startAsteraProcess([
        "--db",
        db,
        "--upstream",
        upstream.url,
        "--ttl",
        "0s",
        "--negative-ttl",
        "0s",
        "--upstream-timeout",
        "2s",
      ]);
      try {
        const offline = await workflow(astera.url, buildCache);
        assertEquals(offline, oracle);
      } finally {
        await astera.stop();
      }
    });
  } finally {
    await direct.close();
    await upstream.close().catch(() => {});
    await removeTree(work);
  }
});

Deno.test("with two isolates serving one port, clients still match direct and each artifact leaves the upstream once", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-e2e-workers-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, standardUniverse(1024 * 1024));
  const direct = await startFileProxy({ root: universe });
  const upstream = await startFileProxy({ root: universe });
  try {
    const oracle = await workflow(direct.url, buildCache);
    const astera = await startAsteraProcess([
      "--db",
      join(work, "astera.db"),
      "--upstream",
      upstream.url,
      "--workers",
      "2",
    ]);
    try {
      assert(astera.log.some((line) => line.includes("workers=2")), astera.log.join("\n"));
      const outcomes = await Promise.all(
        Array.from({ length: CONCURRENT_CLIENTS }, () => workflow(astera.url, buildCache)),
      );
      for (const outcome of outcomes) assertEquals(outcome, oracle);
      const repeated = [...upstream.counts].filter(([path, count]) =>
        /\.(mod|zip)$/.test(path) || /@v\/v[^/]*\.info$/.test(path) ? count > 1 : false
      );
      assertEquals(repeated, [], "immutable artifacts fetched from the upstream more than once");
    } finally {
      assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
    }
  } finally {
    await direct.close();
    await upstream.close();
    await removeTree(work);
  }
});
