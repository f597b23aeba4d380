/**
 * Private modules through the in-process server: what is immutable stays so
 * when git moves on, and what may change (a branch) follows `--ttl`: served
 * stale once while a refresh runs, then new, as the go command would resolve
 * it directly.
 *
 * @module
 */
import { join } from "node:path";
import { startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { createGitSource } from "../lib/gitsource.ts";
import { silentLogger } from "../lib/log.ts";
import { assert, assertEquals } from "../lib/testing.ts";
import { FIXTURE_HOST, GitWorld } from "./gitfixtures.ts";
import { removeTree } from "./gotool.ts";

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
