/**
 * Private modules through the in-process server: what is immutable stays so
 * when git moves on, and what may change (a branch) follows `--ttl`: served
 * stale once while a refresh runs, then new, as the go command would resolve
 * it directly. A tree over the go command's size limits is refused with the
 * go command's own reason, once.
 *
 * @module
 */
import { join } from "node:path";
import { startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { createGitSource } from "../lib/sources/git/mod.ts";
import { silentLogger } from "../lib/log.ts";
import type { ArtifactRequest } from "../lib/sources/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { FIXTURE_HOST, GitWorld } from "./git_fixtures.ts";
import { removeTree } from "./go_tool.ts";

const MODULE = `${FIXTURE_HOST}/team/moving.git`;

Deno.test("a branch follows --ttl while a served version stays put when its tag moves", async () => {
  const world = await GitWorld.create();
  const work = await Deno.makeTempDir({ prefix: "astera-private-server-" });
  try {
    const repo = await world.repo("team/moving");
    await repo.write({ "go.mod": `module ${MODULE}\n\ngo 1.21\n`, "a.go": "package moving\n" });
    await repo.commit("first");
    await repo.tag("v1.0.0");
    const config = parseConfig([
      "--listen",
      "127.0.0.1:0",
      "--db",
      join(work, "astera.db"),
      "--upstream",
      "off",
      "--private",
      FIXTURE_HOST,
      "--ttl",
      "0s",
    ], {});
    const astera = await startAstera(
      config,
      silentLogger,
      (config) =>
        createGitSource({ gitDir: config.gitDir, fetchTtlMs: config.gitTtlMs, env: world.gitEnv }),
    );
    const get = async (path: string) => {
      const response = await fetch(`${astera.url}/${MODULE}/@v/${path}`);
      return { status: response.status, body: await response.text() };
    };
    try {
      const before = JSON.parse((await get("main.info")).body).Version;
      assertEquals(before, (await world.goQuery(MODULE, "main")).version);
      const zipBefore = await get("v1.0.0.zip");
      assertEquals(zipBefore.status, 200);

      await repo.write({ "b.go": "package moving\n" });
      await repo.commit("second");
      const expected = (await world.goQuery(MODULE, "main")).version;
      assert(expected !== before, `main moved on: ${before} -> ${expected}`);

      assertEquals(JSON.parse((await get("main.info")).body).Version, before, "stale once");
      await astera.proxy.settle();
      assertEquals(JSON.parse((await get("main.info")).body).Version, expected, "then new");

      await repo.git("tag", "-f", "v1.0.0"); // the tag moves: what was served must not
      assertEquals(await get("v1.0.0.zip"), zipBefore, "a served version never changes");
    } finally {
      await astera.close();
    }
  } finally {
    await removeTree(work);
    await world.cleanup();
  }
});

/**
 * Serves `module` (tagged v1.0.0 in `world`, which go direct refuses to zip
 * as too large) through an in-process Astera and checks that the go command
 * gets a 410 with its own reason, and that the zip is asked of git once.
 */
async function assertRefusedOnce(world: GitWorld, work: string, module: string): Promise<void> {
  const direct = await world.goDownload(module, "v1.0.0");
  assert(direct.error !== undefined, "go direct refuses the version");
  const reason = direct.error.slice(direct.error.indexOf("create zip: "));
  assert(reason.startsWith("create zip: ") && reason.includes("too large"), direct.error);
  const config = parseConfig([
    "--listen",
    "127.0.0.1:0",
    "--db",
    join(work, "astera.db"),
    "--upstream",
    "off",
    "--private",
    FIXTURE_HOST,
  ], {});
  const asked: string[] = [];
  const astera = await startAstera(config, silentLogger, (config) => {
    const git = createGitSource({
      gitDir: config.gitDir,
      fetchTtlMs: config.gitTtlMs,
      env: world.gitEnv,
    });
    return {
      fetch(request: ArtifactRequest, signal?: AbortSignal) {
        if (request.kind === "zip") asked.push(request.version);
        return git.fetch(request, signal);
      },
    };
  });
  try {
    const through = await world.go(["mod", "download", "-json", `${module}@v1.0.0`], {
      GOPROXY: astera.url,
      GOPRIVATE: "",
      GONOSUMDB: FIXTURE_HOST,
    });
    assert(!through.ok, "the go command fails through Astera too");
    const error = JSON.parse(through.stdout).Error as string;
    assertStringIncludes(error, "410 Gone");
    assertStringIncludes(error, `${module}@v1.0.0: ${reason}`);
    const again = await fetch(`${astera.url}/${module}/@v/v1.0.0.zip`);
    assertEquals(again.status, 410);
    assertStringIncludes(await again.text(), reason);
    assertEquals(asked, ["v1.0.0"], "the refusal is remembered: the source is asked once");
  } finally {
    await astera.close();
  }
}

Deno.test("a tree over 500 MiB is a 410 with the go command's reason, and git is not asked twice", async () => {
  const world = await GitWorld.create();
  const work = await Deno.makeTempDir({ prefix: "astera-private-big-" });
  const module = `${FIXTURE_HOST}/team/big.git`;
  try {
    const repo = await world.repo("team/big");
    await repo.write({ "go.mod": `module ${module}\n\ngo 1.21\n`, "big.go": "package big\n" });
    // 600 MB of zeros: sparse on disk, a few hundred KiB once git compresses it,
    // past both the go command's limit and what the old in-memory archive allowed.
    const big = await Deno.open(join(repo.dir, "blob.bin"), { create: true, write: true });
    await big.truncate(600_000_000);
    big.close();
    await repo.git("add", "-A");
    await repo.commit("big");
    await repo.tag("v1.0.0");
    await assertRefusedOnce(world, work, module);
  } finally {
    await removeTree(work);
    await world.cleanup();
  }
});

Deno.test("a go.mod that grows past 16 MiB in the archive (eol=crlf) is refused as the archive streams", async () => {
  await assertCrlfGoModRefused("crlfbig", {});
});

Deno.test("a refusal found after the first chunks are stored is still a 410, not a 502", async () => {
  // 1 MiB that deflate cannot shrink, archived before go.mod: chunks of the zip are
  // stored (the download has begun) before go.mod turns out too large.
  const noise = new Uint8Array(1 << 20);
  for (let at = 0; at < noise.length; at += 65_536) {
    crypto.getRandomValues(noise.subarray(at, at + 65_536));
  }
  await assertCrlfGoModRefused("crlflate", { "aaa.txt": noise });
});

/** A tag whose go.mod passes the listing but grows past 16 MiB in the archive is refused once. */
async function assertCrlfGoModRefused(
  name: string,
  extra: Record<string, Uint8Array>,
): Promise<void> {
  const world = await GitWorld.create();
  const work = await Deno.makeTempDir({ prefix: "astera-private-crlf-" });
  const module = `${FIXTURE_HOST}/team/${name}.git`;
  try {
    const repo = await world.repo(`team/${name}`);
    // Under the limit as git stores it (so the listing lets it through), over it
    // once the archive turns each LF into CRLF, as go sees it.
    await repo.write({
      ...extra,
      ".gitattributes": "go.mod text eol=crlf\n",
      "go.mod": `module ${module}\n\ngo 1.21\n` + `//${"x".repeat(197)}\n`.repeat(83_500),
      "a.go": "package a\n",
    });
    await repo.commit("big go.mod");
    await repo.tag("v1.0.0");
    await assertRefusedOnce(world, work, module);
  } finally {
    await removeTree(work);
    await world.cleanup();
  }
}
