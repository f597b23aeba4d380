/**
 * `deno task migrate`: a SQLite cache filled through a real Astera is copied
 * into PostgreSQL (again: nothing twice; after a loss: only what is missing),
 * and an instance on PostgreSQL then serves the same bytes with the upstream down.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { escapePath, escapeVersion } from "../lib/mod/module.ts";
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { startPostgresCluster } from "./postgres_cluster.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

const MIGRATE = fileURLToPath(new URL("../scripts/migrate.ts", import.meta.url));
const VERSIONS = standardUniverse(1024 * 1024);
const PATHS = [
  ...new Set(VERSIONS.map(({ module }) => `/${escapePath(module)}/@v/list`)),
  ...VERSIONS.flatMap(({ module, version }) =>
    ["info", "mod", "zip"].map((kind) =>
      `/${escapePath(module)}/@v/${escapeVersion(version)}.${kind}`
    )
  ),
];

async function fetchAll(astera: AsteraProcess): Promise<Map<string, Uint8Array>> {
  const bodies = new Map<string, Uint8Array>();
  for (const path of PATHS) {
    const response = await fetch(astera.url + path);
    const bytes = new Uint8Array(await response.arrayBuffer());
    assertEquals(response.status, 200, `${path}: ${new TextDecoder().decode(bytes.slice(0, 200))}`);
    bodies.set(path, bytes);
  }
  return bodies;
}

async function migrate(from: string, to: string): Promise<{ code: number; text: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MIGRATE, "--from", from, "--to", to],
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  return { code: output.code, text };
}

Deno.test("migrate copies a SQLite cache into PostgreSQL, idempotently; the instance on it serves the same", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-migrate-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, VERSIONS);
  const upstream = await startFileProxy({ root: universe });
  const cluster = await startPostgresCluster();
  const db = join(work, "astera.db");
  try {
    const direct = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
    let expected: Map<string, Uint8Array>;
    try {
      expected = await fetchAll(direct);
    } finally {
      await direct.stop();
    }
    const artifacts = PATHS.filter((path) => !path.endsWith("/list")).length;

    const first = await migrate(db, cluster.url);
    assertEquals(first.code, 0, first.text);
    assertStringIncludes(first.text, `${artifacts} artifacts copied`);
    assertEquals(first.text.includes(cluster.password), false, "the password is never shown");
    const again = await migrate(db, cluster.url);
    assertEquals(again.code, 0, again.text);
    assertStringIncludes(again.text, `0 artifacts copied (0 B), ${artifacts} there already`);
    // As if the first run had stopped before the .mod files: a run resumes with only them.
    await cluster.psql("DELETE FROM artifacts WHERE kind = 'mod';", "astera_test");
    const resumed = await migrate(db, cluster.url);
    assertStringIncludes(resumed.text, `${VERSIONS.length} artifacts copied`);

    upstream.failWith = 503;
    const shared = await startAsteraProcess(["--db", cluster.url, "--upstream", upstream.url]);
    try {
      assertEquals(await fetchAll(shared), expected);
    } finally {
      await shared.stop();
    }
  } finally {
    await cluster.remove();
    await upstream.close();
    await removeTree(work);
  }
});
