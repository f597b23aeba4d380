/**
 * End to end for private modules: one Astera serves a project that mixes
 * private git modules (with `--private`) and public ones (from its upstream).
 * The oracle is the go command itself, fetching the private modules straight
 * from git (`GOPRIVATE`, i.e. direct mode) and the public ones from the same
 * upstream: go.mod, go.sum and version lists must be identical through Astera.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { FIXTURE_HOST, GitWorld } from "./git_fixtures.ts";
import { copyProject, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";
import { testOnEachBackend } from "./store_backends.ts";

const PRIVATE = `${FIXTURE_HOST}/team/lib.git`;
const PRIVATE_V2 = `${FIXTURE_HOST}/team/lib.git/v2`;
const TOOLS = `${FIXTURE_HOST}/team/mono.git/tools`;

const PROJECT = {
  "go.mod": "module example.net/mixed\n\ngo 1.21\n",
  "main.go": `package main

import (
	_ "${PRIVATE}"
	_ "${PRIVATE_V2}"
	_ "${TOOLS}"
	_ "example.com/lib"
)

func main() {}
`,
};

async function buildRepos(world: GitWorld): Promise<void> {
  const lib = await world.repo("team/lib");
  await lib.write({
    "go.mod": `module ${PRIVATE}\n\ngo 1.21\n`,
    "lib.go": "package lib\n",
    "LICENSE": "BSD\n",
  });
  await lib.commit("v1");
  await lib.tag("v1.0.0");
  await lib.write({ "lib.go": "package lib\n\n// Two.\n" });
  await lib.commit("v1.1.0");
  await lib.tag("v1.1.0", { message: "annotated" });
  await lib.write({ "lib.go": "package lib\n\n// Pre.\n" });
  await lib.commit("pre");
  await lib.tag("v1.2.0-beta.1");
  await lib.write({
    "v2/go.mod": `module ${PRIVATE_V2}\n\ngo 1.21\n`,
    "v2/lib.go": "package lib\n",
    "vendor/x/x.go": "package x\n",
  });
  await lib.commit("v2 in a directory");
  await lib.tag("v2.0.0");
  await lib.write({ "later.go": "package lib\n" });
  await lib.commit("untagged work on main");

  const mono = await world.repo("team/mono");
  await mono.write({
    "LICENSE": "Apache\n",
    "go.mod": `module ${FIXTURE_HOST}/team/mono.git\n\ngo 1.21\n`,
    "root.go": "package mono\n",
    "tools/go.mod": `module ${TOOLS}\n\ngo 1.21\n`,
    "tools/tools.go": "package tools\n",
    "tools/testdata/nested/go.mod": "module nested\n",
    "tools/testdata/nested/n.go": "package nested\n",
  });
  await mono.commit("tools");
  await mono.tag("tools/v0.2.0");
  await mono.write({ "tools/more.go": "package tools\n" });
  await mono.commit("tools later");
}

testOnEachBackend(
  "a project mixing private git and public modules resolves through Astera exactly as go does directly",
  async (_t, { name: backend, freshStore }) => {
    const world = await GitWorld.create();
    const work = await Deno.makeTempDir({ prefix: "astera-private-" });
    const universe = join(work, "universe");
    await writeUniverse(universe, standardUniverse(64 * 1024));
    const upstream = await startFileProxy({ root: universe });
    const gitEnv = {
      GIT_CONFIG_GLOBAL: world.configFile,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_ALLOW_PROTOCOL: "https:file",
    };
    try {
      await buildRepos(world);
      const buildCache = join(work, "gocache");
      const run = async (goproxy: string, env: Record<string, string>) => {
        const go = await makeGoClient(goproxy, buildCache, { ...gitEnv, ...env });
        const project = await copyProject(PROJECT);
        try {
          await go.run(project, ["mod", "tidy"]);
          const tidy = await readModFiles(project);
          const versions =
            (await go.run(project, ["list", "-m", "-versions", PRIVATE, PRIVATE_V2, TOOLS])).stdout;
          const queries = [];
          for (
            const query of [
              `${PRIVATE}@main`,
              `${PRIVATE}@v1.1`,
              `${PRIVATE}@latest`,
              `${TOOLS}@latest`,
            ]
          ) {
            const out = (await go.run(project, ["list", "-m", "-json", query])).stdout;
            const { Path, Version, Time } = JSON.parse(out);
            queries.push({ Path, Version, Time });
          }
          return { tidy, versions, queries };
        } finally {
          await go.remove();
          await removeTree(project);
        }
      };
      const direct = await run(upstream.url, { GOPRIVATE: FIXTURE_HOST });
      assert(
        direct.tidy.goSum.includes(`${TOOLS} v0.2.0 h1:`),
        "tools resolved to its prefixed tag",
      );
      assert(
        direct.tidy.goSum.includes(`${PRIVATE_V2} v2.0.0 h1:`),
        "v2 resolved from its directory",
      );

      const args = ["--db", await freshStore(work), "--upstream", upstream.url];
      // The mirrors' default is beside a SQLite file; with a database URL, the working directory.
      if (backend === "postgres") args.push("--git-dir", join(work, "astera-git"));
      const astera = await startAsteraProcess([...args, "--private", FIXTURE_HOST], gitEnv);
      try {
        const through = await run(astera.url, { GONOSUMDB: FIXTURE_HOST });
        assertEquals(through, direct);
        const privateRequests = [...upstream.counts.keys()].filter((path) =>
          path.includes(FIXTURE_HOST)
        );
        assertEquals(privateRequests, [], "private modules never reach the upstream");
      } finally {
        await astera.stop();
      }
    } finally {
      await upstream.close();
      await removeTree(work);
      await world.cleanup();
    }
  },
);
