/**
 * Data damaged on disk (an SD card, a power loss): bytes flipped inside a
 * real database file between two runs of a real Astera are never served. The
 * damaged copy is logged, removed and fetched again (offline: a 502 saying
 * why); a page of garbage gets a clear log line and `deno task verify
 * --repair` mends the file.
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import { type FileProxy, startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { random, standardUniverse, writeUniverse } from "./universe.ts";
import { workflow } from "./workflow.ts";

const BIG = "/example.com/big/@v/v1.0.0.zip";
const DEP_ZIP = "/example.com/dep/@v/v1.0.0.zip";
const DEP_MOD = "/example.com/dep/@v/v1.0.0.mod";
const DEP_INFO = "/example.com/dep/@v/v1.0.0.info";
const LIB_MOD = "/example.com/lib/@v/v1.1.0.mod";
const LIB_LIST = "/example.com/lib/@v/list";
/** The store's chunk size (`DEFAULT_CHUNK_SIZE`, lib/store/store.ts). */
const CHUNK = 256 * 1024;

interface Fixture {
  work: string;
  universe: string;
  db: string;
  upstream: FileProxy;
}

/** A universe with a zip of several chunks, its upstream, and a database path. */
async function withFixture(prefix: string, fn: (fixture: Fixture) => Promise<void>) {
  const work = await Deno.makeTempDir({ prefix });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(3 * CHUNK + 123));
  const upstream = await startFileProxy({ root: universe });
  try {
    await fn({ work, universe, db: join(work, "astera.db"), upstream });
  } finally {
    await upstream.close();
    await removeTree(work);
  }
}

/** Runs Astera over `db`, asks for `paths` (checking each against the universe), stops it. */
async function storeThrough(fixture: Fixture, paths: string[]): Promise<void> {
  const astera = await startOnFixture(fixture);
  try {
    for (const path of paths) {
      const response = await fetch(astera.url + path);
      assertEquals(response.status, 200, path);
      assertEquals(
        new Uint8Array(await response.arrayBuffer()),
        await Deno.readFile(join(fixture.universe, path)),
      );
    }
  } finally {
    await astera.stop();
  }
}

/** Moves everything into the main file, so that flipping bytes there damages what is read. */
function checkpoint(db: string): void {
  const sqlite = new DatabaseSync(db);
  sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite.close();
}

function indexesOf(haystack: Uint8Array, needle: Uint8Array): number[] {
  const found: number[] = [];
  outer: for (let i = haystack.indexOf(needle[0]); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) break;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    found.push(i);
  }
  return found;
}

/**
 * Flips one byte of the database file inside every stored copy of `content`
 * at `offset` (a 32-byte run of it there is searched for). Returns how many
 * copies were damaged.
 */
async function flipStored(db: string, content: Uint8Array, offset: number): Promise<number> {
  checkpoint(db);
  const file = await Deno.readFile(db);
  const at = indexesOf(file, content.subarray(offset, offset + 32));
  for (const i of at) file[i + 16] ^= 0x01; // within the run: past its end is something else
  await Deno.writeFile(db, file);
  return at.length;
}

/** Flips a byte in the middle of every stored copy of the universe file at `path`. */
async function flipFile(fixture: Fixture, path: string, offset?: number): Promise<void> {
  const content = await Deno.readFile(join(fixture.universe, path));
  const start = offset ?? Math.max(0, Math.floor(content.byteLength / 2) - 16);
  assert(await flipStored(fixture.db, content, start) >= 1, `${path}: stored bytes found`);
}

/** Astera on the fixture's database and upstream, with `extra` flags. */
/**
 * Astera over the fixture. Without prefetching: what is stored is exactly what
 * the test asked, whenever it looks (a go.mod asked would bring its zip).
 */
function startOnFixture(fixture: Fixture, ...extra: string[]): Promise<AsteraProcess> {
  return startAsteraProcess([
    "--db",
    fixture.db,
    "--upstream",
    fixture.upstream.url,
    "--prefetch",
    "off",
    ...extra,
  ]);
}

/** Each path answers 200 with the upstream's file, byte for byte. */
async function assertServedWhole(url: string, universe: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    const response = await fetch(url + path);
    assertEquals(response.status, 200, path);
    assertEquals(
      new Uint8Array(await response.arrayBuffer()),
      await Deno.readFile(join(universe, path)),
    );
  }
}

Deno.test("bytes flipped in a stored .mod and stored zips are never served: go gets them again from the upstream", async () => {
  await withFixture("astera-damage-", async (fixture) => {
    const buildCache = join(fixture.work, "gocache");
    const oracle = await workflow(fixture.upstream.url, buildCache);
    fixture.upstream.counts.clear();
    const first = await startOnFixture(fixture);
    try {
      assertEquals(await workflow(first.url, buildCache), oracle);
    } finally {
      await first.stop();
    }
    await flipFile(fixture, DEP_MOD, 0);
    await flipFile(fixture, DEP_ZIP);
    await flipFile(fixture, BIG, 1000); // in its first chunk: checked before anyone hears 200
    await flipFile(fixture, LIB_LIST, 0);

    const second = await startOnFixture(fixture);
    try {
      assertEquals(await workflow(second.url, buildCache), oracle);
    } finally {
      await second.stop();
    }
    for (const path of [DEP_MOD, DEP_ZIP, BIG, LIB_LIST]) {
      assertEquals(fixture.upstream.counts.get(path), 2, `${path}: fetched again`);
    }
    const damaged = second.log.filter((line) => line.includes("stored-damaged"));
    for (
      const what of [
        ["example.com/dep", "mod"],
        ["example.com/dep", "zip"],
        ["big", "zip"],
        ["example.com/lib", "list"],
      ]
    ) {
      assert(
        damaged.some((line) => what.every((part) => line.includes(part))),
        `stored-damaged logged for ${what}:\n${damaged.join("\n")}`,
      );
    }
  });
});

Deno.test("offline, a damaged stored copy is a 502 that says so; a zip damaged past its first chunk breaks once, then is fetched again", async () => {
  await withFixture("astera-damage-offline-", async (fixture) => {
    await storeThrough(fixture, [LIB_MOD, BIG, DEP_INFO, DEP_MOD]);
    await flipFile(fixture, LIB_MOD);
    await flipFile(fixture, BIG, 2 * CHUNK + 1000);
    await flipFile(fixture, DEP_INFO);

    fixture.upstream.failWith = 503;
    const astera = await startOnFixture(fixture);
    try {
      const mod = await fetch(astera.url + LIB_MOD);
      assertEquals(mod.status, 502);
      assertStringIncludes(await mod.text(), "stored copy is damaged");
      // Offline, an .info is made up from the intact stored .mod, damaged copy or not.
      const info = await fetch(astera.url + DEP_INFO);
      assertEquals([info.status, await info.json()], [200, { Version: "v1.0.0" }]);
      const broken = await fetch(astera.url + BIG);
      assertEquals(broken.status, 200, "the damage is past what is checked before answering");
      const outcome = await broken.arrayBuffer().then(() => "whole", () => "broken");
      assertEquals(outcome, "broken", "the damaged bytes never arrive: the transfer breaks");
      const again = await fetch(astera.url + BIG);
      assertEquals(again.status, 502);
      assertStringIncludes(await again.text(), "stored copy is damaged");

      fixture.upstream.failWith = null;
      await assertServedWhole(astera.url, fixture.universe, [LIB_MOD, BIG]);
    } finally {
      await astera.stop();
    }
    assertEquals(
      astera.log.filter((line) => line.includes("stored-damaged")).length,
      3,
      astera.log.join("\n"),
    );
  });
});

/** Runs `deno task verify` (its script, with its permissions) on `db`. */
async function verify(db: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const script = new URL("../scripts/verify.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env=ASTERA_DB",
      script,
      "--db",
      db,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task verify finds flipped bytes; with --repair, beside a running Astera, they are removed and fetched again", async () => {
  await withFixture("astera-verify-", async (fixture) => {
    await storeThrough(fixture, [LIB_MOD, DEP_MOD, BIG]);
    const intact = await verify(fixture.db);
    assertEquals(intact.code, 0, intact.stderr);
    assertStringIncludes(intact.stderr, "verify: intact: 3 artifacts");
    await flipFile(fixture, LIB_MOD);
    await flipFile(fixture, BIG, 2 * CHUNK + 1000);

    const found = await verify(fixture.db);
    assertEquals(found.code, 1, found.stderr);
    assertStringIncludes(found.stderr, "damaged artifacts: 2");
    assertStringIncludes(found.stderr, "example.com/lib@v1.1.0.mod");
    assertStringIncludes(found.stderr, "example.com/big@v1.0.0.zip");
    const astera = await startOnFixture(fixture);
    try {
      const repaired = await verify(fixture.db, "--repair");
      assertEquals(repaired.code, 0, repaired.stderr);
      assertStringIncludes(repaired.stderr, "removed: 2");
      const after = await verify(fixture.db);
      assertEquals(after.code, 0, after.stderr);
      assertStringIncludes(after.stderr, "verify: intact: 1 artifacts");
      await assertServedWhole(astera.url, fixture.universe, [LIB_MOD, DEP_MOD, BIG]);
    } finally {
      await astera.stop();
    }
    assertEquals(
      [LIB_MOD, DEP_MOD, BIG].map((path) => fixture.upstream.counts.get(path)),
      [2, 1, 2],
    );
  });
});

Deno.test("deno task verify --repair exits 1 when a damaged copy could not be removed", async () => {
  await withFixture("astera-verify-stuck-", async (fixture) => {
    await storeThrough(fixture, [LIB_MOD, DEP_MOD]);
    await flipFile(fixture, LIB_MOD);
    // A removal that fails, as on a file that cannot be written.
    const sqlite = new DatabaseSync(fixture.db);
    sqlite.exec(
      "CREATE TRIGGER held BEFORE DELETE ON artifacts BEGIN SELECT RAISE(ABORT, 'held'); END",
    );
    sqlite.close();
    const stuck = await verify(fixture.db, "--repair");
    assertEquals(stuck.code, 1, stuck.stderr);
    assertStringIncludes(stuck.stderr, "damaged artifacts: 1");
    assertStringIncludes(stuck.stderr, "removed: 0");

    const freed = new DatabaseSync(fixture.db);
    freed.exec("DROP TRIGGER held");
    freed.close();
    const repaired = await verify(fixture.db, "--repair");
    assertEquals(repaired.code, 0, repaired.stderr);
    assertStringIncludes(repaired.stderr, "removed: 1");
  });
});

/** Overwrites the first page of `table` with noise, as a worn card may. */
async function randomisePage(db: string, table: string): Promise<void> {
  checkpoint(db);
  const sqlite = new DatabaseSync(db);
  const page = Number(sqlite.prepare("PRAGMA page_size").get()!.page_size);
  const root = Number(
    sqlite.prepare("SELECT rootpage FROM sqlite_schema WHERE name = ?").get(table)!.rootpage,
  );
  sqlite.close();
  const file = await Deno.open(db, { read: true, write: true });
  try {
    const next = random(42);
    const noise = Uint8Array.from({ length: page }, () => Math.floor(next() * 256));
    await file.seek((root - 1) * page, Deno.SeekMode.Start);
    await file.write(noise);
  } finally {
    file.close();
  }
}

Deno.test("a page of garbage in the database: a clear log line and 503s or upstream answers, never a crash; verify --repair mends the file", async () => {
  await withFixture("astera-malformed-", async (fixture) => {
    await storeThrough(fixture, [LIB_MOD, DEP_MOD, BIG]);
    await randomisePage(fixture.db, "artifacts");

    const damaged = await startOnFixture(fixture);
    try {
      assert(
        damaged.log.some((line) => line.includes("store-damaged") && line.includes("malformed")),
        `said at start, before any request:\n${damaged.log.join("\n")}`,
      );
      const mod = await fetch(damaged.url + LIB_MOD);
      assertEquals(mod.status, 200, "the upstream answers what the database cannot");
      assertEquals(
        new Uint8Array(await mod.arrayBuffer()),
        await Deno.readFile(join(fixture.universe, LIB_MOD)),
      );
      const zip = await fetch(damaged.url + BIG);
      assertEquals(zip.status, 503);
      assertStringIncludes(await zip.text(), "deno task verify --repair");
      const health = await fetch(damaged.url + "/healthz");
      assertEquals(health.status, 200, "the server stays up");
      await health.body?.cancel();
    } finally {
      await damaged.stop();
    }
    assert(
      damaged.log.some((line) =>
        line.includes("store-damaged") && line.includes("deno task verify --repair")
      ),
      damaged.log.join("\n"),
    );

    const repaired = await verify(fixture.db, "--repair");
    assertEquals(repaired.code, 0, repaired.stderr);
    assertStringIncludes(repaired.stderr, "rebuilt");
    const after = await verify(fixture.db);
    assertEquals(after.code, 0, after.stderr);
    assertStringIncludes(after.stderr, "verify: intact");

    const mended = await startOnFixture(fixture);
    try {
      await assertServedWhole(mended.url, fixture.universe, [LIB_MOD, DEP_MOD, BIG]);
    } finally {
      await mended.stop();
    }
    assert(!mended.log.some((line) => line.includes("store-damaged")), mended.log.join("\n"));
  });
});

Deno.test("with a page of garbage in the answers and artifacts indexes, what the upstream answers is still answered from it", async () => {
  await withFixture("astera-malformed-answers-", async (fixture) => {
    await storeThrough(fixture, [LIB_LIST, LIB_MOD]);
    // Their indexes, where every lookup by key goes.
    await randomisePage(fixture.db, "sqlite_autoindex_artifacts_1");
    await randomisePage(fixture.db, "sqlite_autoindex_answers_1");
    const astera = await startOnFixture(fixture);
    try {
      // The upstream's @latest, though its .info cannot be looked up to be stored.
      const latest = await fetch(astera.url + "/example.com/lib/@latest");
      assertEquals(latest.status, 200);
      assertEquals(
        new Uint8Array(await latest.arrayBuffer()),
        await Deno.readFile(join(fixture.universe, "example.com/lib/@latest")),
      );
      // The upstream's not-found, though no kept answer can be looked up behind it.
      const tree = await fetch(astera.url + "/sumdb/sum.golang.org/latest");
      assertEquals(tree.status, 404);
      assertStringIncludes(await tree.text(), "not found");
    } finally {
      await astera.stop();
    }
    assert(
      astera.log.some((line) => line.includes("store-damaged") && line.includes("malformed")),
      astera.log.join("\n"),
    );
  });
});

Deno.test("zips stored before chunks had digests are checked when read whole, before their last bytes go out, and get digests when intact", async () => {
  await withFixture("astera-damage-old-", async (fixture) => {
    await storeThrough(fixture, [DEP_ZIP, BIG]);
    // The database as an older Astera left it: schema 1, chunks without digests.
    const old = new DatabaseSync(fixture.db);
    old.exec("ALTER TABLE chunks DROP COLUMN digest; ALTER TABLE blobs DROP COLUMN chunk_digests");
    old.exec("ALTER TABLE answers DROP COLUMN digest");
    // Nor schema 3's served times.
    old.exec("DROP INDEX artifacts_zip_recency; ALTER TABLE artifacts DROP COLUMN last_served");
    old.exec("PRAGMA user_version = 1");
    old.close();
    await flipFile(fixture, BIG, 2 * CHUNK + 1000);

    const astera = await startOnFixture(fixture);
    try {
      const dep = await fetch(astera.url + DEP_ZIP);
      assertEquals(
        new Uint8Array(await dep.arrayBuffer()),
        await Deno.readFile(join(fixture.universe, DEP_ZIP)),
      );
      const broken = await fetch(astera.url + BIG);
      assertEquals(broken.status, 200);
      assertEquals(await broken.arrayBuffer().then(() => "whole", () => "broken"), "broken");
      const again = await fetch(astera.url + BIG);
      assertEquals(
        new Uint8Array(await again.arrayBuffer()),
        await Deno.readFile(join(fixture.universe, BIG)),
      );
    } finally {
      await astera.stop();
    }
    assertEquals(fixture.upstream.counts.get(BIG), 2, "fetched again");
    assertEquals(fixture.upstream.counts.get(DEP_ZIP), 1);
    assert(astera.log.some((line) => line.includes("stored-damaged")), astera.log.join("\n"));
    const sqlite = new DatabaseSync(fixture.db);
    try {
      const flags = sqlite.prepare(
        `SELECT a.module, b.chunk_digests FROM artifacts a JOIN blobs b ON b.id = a.blob_id
         ORDER BY a.module`,
      ).all().map((row) => [row.module, row.chunk_digests]);
      assertEquals(flags, [["example.com/big", 1], ["example.com/dep", 1]]);
    } finally {
      sqlite.close();
    }
  });
});
