/**
 * `deno task seed` end to end: a module cache filled by the real go command
 * from a local upstream is seeded into a database, and an Astera with no
 * reachable upstream must then serve `go mod tidy` exactly as going direct
 * did, while refusing what the seed refused. The go command is the oracle.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { copyProject, type GoClient, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { PROJECT_FILES, standardUniverse, writeUniverse } from "./universe.ts";

const SEED = fileURLToPath(new URL("../scripts/seed.ts", import.meta.url));
/** The permissions of `deno task seed`: the test runs the command as the task does. */
const SEED_FLAGS = ["--allow-read", "--allow-write", "--allow-env", "--allow-run=go"];
/** An upstream URL where nothing listens: a port the system gave us, closed again. */
function deadUpstream(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

interface SeedRun {
  code: number;
  stderr: string;
}

async function seed(args: string[]): Promise<SeedRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...SEED_FLAGS, SEED, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/** Row counts of the tables the server reads, to see that a second seed adds nothing. */
function counts(db: string): Record<string, number> {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    const result: Record<string, number> = {};
    for (const table of ["artifacts", "answers", "blobs", "chunks"]) {
      const row = sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number };
      result[table] = Number(row.n);
    }
    return result;
  } finally {
    sqlite.close();
  }
}

/** Flips bytes in the middle of a cached file (the module cache is read-only). */
async function damage(path: string): Promise<void> {
  await Deno.chmod(path, 0o644);
  const bytes = await Deno.readFile(path);
  const middle = Math.floor(bytes.length / 2);
  for (let i = middle; i < middle + 16 && i < bytes.length; i++) bytes[i] ^= 0xff;
  await Deno.writeFile(path, bytes);
}

/** Replaces a cached file's content (the module cache is read-only). */
async function overwrite(path: string, text: string): Promise<void> {
  await Deno.chmod(path, 0o644);
  await Deno.writeTextFile(path, text);
}

interface Fixture {
  work: string;
  buildCache: string;
  /** The module cache that the go client filled, going direct. */
  modcache: string;
  oracle: { goMod: string; goSum: string };
  client: GoClient;
  close(): Promise<void>;
}

/**
 * Runs `go mod tidy` of the standard project straight against a file
 * upstream, plus `go mod download` of versions tidy does not need, so that
 * the cache holds zips to damage without touching what tidy needs.
 */
async function fillModuleCache(): Promise<Fixture> {
  const work = await Deno.makeTempDir({ prefix: "astera-seed-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, standardUniverse(1024 * 1024 + 7));
  const direct = await startFileProxy({ root: universe });
  const client = await makeGoClient(direct.url, buildCache);
  const project = await copyProject(PROJECT_FILES);
  try {
    await client.run(project, ["mod", "tidy"]);
    const oracle = await readModFiles(project);
    assertStringIncludes(oracle.goSum, "example.com/nogomod v1.0.0 h1:");
    assertStringIncludes(oracle.goSum, "example.com/pseudo v0.0.0-20240102030405-0123456789ab h1:");
    await client.run(project, [
      "mod",
      "download",
      "example.com/dep@v1.0.1",
      "example.com/mod/v2@v2.0.0",
      "example.com/lib@v1.1.0",
    ]);
    return {
      work,
      buildCache,
      modcache: client.env.GOMODCACHE,
      oracle,
      client,
      async close() {
        await direct.close();
        await client.remove();
        await removeTree(work);
      },
    };
  } catch (error) {
    await direct.close();
    await client.remove();
    await removeTree(work);
    throw error;
  } finally {
    await removeTree(project);
  }
}

Deno.test("a seeded Astera with no upstream serves go mod tidy as direct does and refuses damaged files", async () => {
  const fixture = await fillModuleCache();
  const download = join(fixture.modcache, "cache", "download");
  const db = join(fixture.work, "astera.db");
  try {
    await damage(join(download, "example.com/dep/@v/v1.0.1.zip"));
    await Deno.remove(join(download, "example.com/mod/v2/@v/v2.0.0.ziphash"));
    // A login page and a wrong version, as an upstream could answer them: the server refuses those.
    await overwrite(join(download, "example.com/dep/@v/v1.0.1.mod"), "<html>Sign in</html>\n");
    await overwrite(join(download, "example.com/mod/v2/@v/v2.0.0.info"), '{"Version":"v2.0.1"}');
    // A go.mod any parser takes, but not the one in the version's verified zip: go.sum would not.
    const libMod = join(download, "example.com/lib/@v/v1.1.0.mod");
    await overwrite(libMod, (await Deno.readTextFile(libMod)) + "// tampered\n");

    const first = await seed(["--db", db, "--modcache", fixture.modcache]);
    assertEquals(first.code, 0, first.stderr);
    assertStringIncludes(first.stderr, "skipped example.com/dep@v1.0.1.zip: damaged zip");
    assertStringIncludes(first.stderr, "skipped example.com/mod/v2@v2.0.0.zip: no .ziphash");
    assertStringIncludes(first.stderr, "skipped example.com/dep@v1.0.1.mod: bad .mod");
    assertStringIncludes(first.stderr, "skipped example.com/mod/v2@v2.0.0.info: bad .info");
    assertStringIncludes(
      first.stderr,
      "skipped example.com/lib@v1.1.0.mod: bad .mod: differs from the go.mod in the verified zip",
    );
    const afterFirst = counts(db);

    const second = await seed(["--db", db, "--modcache", fixture.modcache]);
    assertEquals(second.code, 0, second.stderr);
    assertStringIncludes(
      second.stderr,
      "stored 0 B: 0 .mod, 0 .info, 0 .zip, 0 version lists, 0 checksum-database files",
    );
    assertEquals(counts(db), afterFirst, "a second seed stores nothing");

    const astera = await startAsteraProcess([
      "--db",
      db,
      "--upstream",
      deadUpstream(),
      "--upstream-timeout",
      "2s",
    ]);
    const client = await makeGoClient(astera.url, fixture.buildCache);
    const project = await copyProject(PROJECT_FILES);
    try {
      await client.run(project, ["mod", "tidy"]);
      assertEquals(await readModFiles(project), fixture.oracle);

      const refusals = [
        "example.com/dep/@v/v1.0.1.zip",
        "example.com/mod/v2/@v/v2.0.0.zip",
        "example.com/lib/@v/v1.1.0.mod",
      ];
      for (const refused of refusals) {
        const response = await fetch(`${astera.url}/${refused}`);
        await response.body?.cancel();
        assert(response.status !== 200, `${refused} is not served (${response.status})`);
      }
      const download = await client.run(
        project,
        ["mod", "download", "example.com/dep@v1.0.1"],
        true,
      );
      assert(download.code !== 0, "go mod download of the damaged version fails");
    } finally {
      await client.remove();
      await removeTree(project);
      await astera.stop();
    }
  } finally {
    await fixture.close();
  }
});

Deno.test("seeding while a server serves the same database: both finish, clients get what direct gives", async () => {
  const fixture = await fillModuleCache();
  const db = join(fixture.work, "astera.db");
  const universe = join(fixture.work, "universe");
  const upstream = await startFileProxy({ root: universe });
  const astera = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
  const client = await makeGoClient(astera.url, fixture.buildCache);
  const project = await copyProject(PROJECT_FILES);
  try {
    // The server writes what it fetches while the seed writes the same rows.
    const [seeded] = await Promise.all([
      seed(["--db", db, "--modcache", fixture.modcache]),
      client.run(project, ["mod", "tidy"]),
    ]);
    assertEquals(seeded.code, 0, seeded.stderr);
    assertEquals(await readModFiles(project), fixture.oracle);
    const again = await seed(["--db", db, "--modcache", fixture.modcache]);
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, "stored 0 B");
    // Seeded, never asked of the upstream: the server reads what the seed wrote.
    const zip = await fetch(`${astera.url}/example.com/dep/@v/v1.0.1.zip`);
    assertEquals(
      new Uint8Array(await zip.arrayBuffer()),
      await Deno.readFile(join(universe, "example.com/dep/@v/v1.0.1.zip")),
    );
    assertEquals(upstream.counts.get("/example.com/dep/@v/v1.0.1.zip"), undefined);
  } finally {
    await client.remove();
    await removeTree(project);
    assertEquals(await astera.stop(), 0, "the server shuts down cleanly");
    await upstream.close();
    await fixture.close();
  }
});

Deno.test("a missing directory or one without a module cache exits 1 with one line and creates no database", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-seed-missing-" });
  try {
    const db = join(work, "astera.db");
    const missing = await seed(["--db", db, "--modcache", join(work, "nope")]);
    assertEquals(missing.code, 1);
    assertEquals(missing.stderr.trimEnd().split("\n").length, 1, missing.stderr);
    assertStringIncludes(missing.stderr, "does not exist");
    const empty = await seed(["--db", db, "--modcache", work]);
    assertEquals(empty.code, 1);
    assertEquals(empty.stderr.trimEnd().split("\n").length, 1, empty.stderr);
    assertStringIncludes(empty.stderr, "no module cache");
    assertEquals(await Deno.stat(db).catch(() => null), null, "no database was created");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
