import { join } from "node:path";
import { startAstera } from "../app.ts";
import { parseConfig } from "../config.ts";
import { silentLogger } from "../log.ts";
import { seedModuleCache } from "./mod.ts";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore, type Store, StoreBusyError } from "../store/mod.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { hashGoMod } from "../mod/dirhash.ts";

Deno.test("checksum-database cache files are checked, stored under their cache path and served offline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-sumdb-" });
  const db = join(dir, "astera.db");
  const base = join(dir, "mod", "cache", "download", "sumdb", "sum.golang.org");
  const note = "go.sum database tree\n5\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=\n\n" +
    "\u2014 sum.golang.org Az3grnDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD\n";
  const record =
    "1234\ngithub.com/BurntSushi/toml v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" +
    "github.com/BurntSushi/toml v1.0.0/go.mod h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n";
  const enc = (text: string) => new TextEncoder().encode(text);
  const files: Record<string, Uint8Array> = {
    "lookup/github.com/!burnt!sushi/toml@v1.0.0": enc(`${record}\n${note}`),
    "tile/8/0/x001/234": new Uint8Array(256 * 32).fill(1),
    "tile/8/1/000.p/5": new Uint8Array(5 * 32).fill(2),
  };
  // Cut short, as a crash while the go command wrote them leaves them.
  const damaged: Record<string, Uint8Array> = {
    "tile/8/0/x001/235": new Uint8Array(100),
    "lookup/gopkg.in/yaml.v2@v2.4.0": new Uint8Array(),
  };
  for (const [key, body] of Object.entries({ ...files, ...damaged })) {
    await Deno.mkdir(join(base, key, ".."), { recursive: true });
    await Deno.writeFile(join(base, key), body);
  }
  try {
    const store = SqliteStore.open(db);
    const skipped: string[] = [];
    const summary = await seedModuleCache({
      store,
      modcache: join(dir, "mod"),
      onSkip: (skip) => skipped.push(`${skip.what}: ${skip.reason}`),
    });
    assertEquals(summary.stored.sumdb, 3);
    assertEquals(skipped.sort(), [
      "sumdb/sum.golang.org/lookup/gopkg.in/yaml.v2@v2.4.0: bad checksum-database file",
      "sumdb/sum.golang.org/tile/8/0/x001/235: bad checksum-database file",
    ]);
    for (const [key, body] of Object.entries(files)) {
      const answer = await store.answer("sumdb", "sum.golang.org", key);
      assertEquals([answer?.status, answer?.fetchedAt, answer?.body], [200, 0, body]);
    }
    for (const key of Object.keys(damaged)) {
      assertEquals(await store.answer("sumdb", "sum.golang.org", key), undefined);
    }
    const again = await seedModuleCache({ store, modcache: join(dir, "mod") });
    assertEquals([again.stored.sumdb, again.alreadyStored], [0, 3]);
    store.close();

    // The link is down: nothing listens at the upstream's port.
    const config = parseConfig(
      ["--listen", "127.0.0.1:0", "--db", db, "--upstream", "http://127.0.0.1:1", "--quiet"],
      {},
    );
    const astera = await startAstera(config, silentLogger);
    try {
      // Offline, the go command uses the proxy's checksum database only if it says it has one.
      const supported = await fetch(`${astera.url}/sumdb/sum.golang.org/supported`);
      assertEquals(supported.status, 200);
      await supported.body?.cancel();
      for (const [key, body] of Object.entries(files)) {
        const response = await fetch(`${astera.url}/sumdb/sum.golang.org/${key}`);
        assertEquals([response.status, new Uint8Array(await response.arrayBuffer())], [200, body]);
      }
    } finally {
      await astera.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an interrupted seed stores nothing half, and the next run completes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-abort-" });
  const download = join(dir, "mod", "cache", "download");
  const versions = ["v1.0.0", "v1.1.0", "v1.2.0"];
  const atV = join(download, "example.com", "m", "@v");
  await Deno.mkdir(atV, { recursive: true });
  for (const v of versions) {
    await Deno.writeTextFile(join(atV, `${v}.mod`), "module example.com/m\n");
    await Deno.writeTextFile(join(atV, `${v}.info`), JSON.stringify({ Version: v }));
  }
  try {
    const store = SqliteStore.open(join(dir, "astera.db"));
    const abort = new AbortController();
    const first = await seedModuleCache({
      store,
      modcache: join(dir, "mod"),
      signal: abort.signal,
      onProgress: (state) => {
        if (state.doneItems === 2) abort.abort();
      },
    });
    assertEquals(first.interrupted, true);
    assertEquals(
      await store.answer("list", "example.com/m", ""),
      undefined,
      "no list while versions are missing",
    );
    const second = await seedModuleCache({ store, modcache: join(dir, "mod") });
    assertEquals(second.interrupted, false);
    assertEquals(
      first.stored.mod + first.stored.info + second.stored.mod + second.stored.info,
      versions.length * 2,
      "every file stored exactly once over both runs",
    );
    assertEquals((await store.storedVersions("example.com/m", "info")).sort(), versions);
    assertEquals(
      new TextDecoder().decode((await store.answer("list", "example.com/m", ""))?.body),
      "v1.0.0\nv1.1.0\nv1.2.0\n",
    );
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A `list` answer the server stored before the seed runs. */
function storeList(store: Store, module: string, status: number, text: string): Promise<void> {
  const body = new TextEncoder().encode(text);
  return store.putAnswer({ kind: "list", module, key: "", status, body, fetchedAt: 1234 });
}

Deno.test("a stored list is merged with the cache's versions, never shortened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-list-" });
  const atV = join(dir, "mod", "cache", "download", "example.com", "m", "@v");
  await Deno.mkdir(atV, { recursive: true });
  await Deno.writeTextFile(join(atV, "v1.0.0.mod"), "module example.com/m\n");
  await Deno.writeTextFile(
    join(atV, "v0.0.0-20240102030405-0123456789ab.mod"),
    "module example.com/m\n",
  );
  try {
    const store = SqliteStore.open(join(dir, "astera.db"));
    await storeList(store, "example.com/m", 200, "v1.1.0\n");
    await seedModuleCache({ store, modcache: join(dir, "mod") });
    const list = await store.answer("list", "example.com/m", "");
    assertEquals([new TextDecoder().decode(list?.body), list?.fetchedAt], ["v1.0.0\nv1.1.0\n", 0]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a module known by pseudo-versions only replaces a remembered not-found list", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-untagged-" });
  const atV = join(dir, "mod", "cache", "download", "example.com", "u", "@v");
  await Deno.mkdir(atV, { recursive: true });
  await Deno.writeTextFile(
    join(atV, "v0.0.0-20240102030405-0123456789ab.mod"),
    "module example.com/u\n",
  );
  const store = SqliteStore.open(join(dir, "astera.db"));
  try {
    await storeList(store, "example.com/u", 404, "not found");
    await seedModuleCache({ store, modcache: join(dir, "mod") });
    const list = await store.answer("list", "example.com/u", "");
    assertEquals([list?.status, list?.body.byteLength, list?.fetchedAt], [200, 0, 0]);
    assertEquals((await store.answer("latest", "example.com/u", ""))?.status, 200);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pseudo-version with an impossible time is skipped as a bad version, not a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-month13-" });
  const atV = join(dir, "mod", "cache", "download", "example.com", "u", "@v");
  await Deno.mkdir(atV, { recursive: true });
  await Deno.writeTextFile(
    join(atV, "v0.0.0-20240102030405-0123456789ab.mod"),
    "module example.com/u\n",
  );
  await Deno.writeTextFile(
    join(atV, "v0.0.0-20241302030405-0123456789ab.mod"),
    "module example.com/u\n",
  );
  const store = SqliteStore.open(join(dir, "astera.db"));
  try {
    const summary = await seedModuleCache({ store, modcache: join(dir, "mod") });
    assertEquals(summary.skipped["bad version"], 1);
    const latest = await store.answer("latest", "example.com/u", "");
    assertEquals(latest?.status, 200);
    assertStringIncludes(
      new TextDecoder().decode(latest?.body),
      "v0.0.0-20240102030405-0123456789ab",
    );
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("symbolic links in the cache are followed; an oversized .ziphash is not read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-links-" });
  const download = join(dir, "mod", "cache", "download");
  const elsewhere = join(dir, "elsewhere");
  const write = async (path: string, text: string) => {
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(path, text);
  };
  // A module directory that is a link, and a .mod file that is a link.
  await write(join(elsewhere, "linked", "@v", "v1.0.0.mod"), "module example.com/linked\n");
  await Deno.mkdir(join(download, "example.com"), { recursive: true });
  await Deno.symlink(join(elsewhere, "linked"), join(download, "example.com", "linked"));
  await write(join(elsewhere, "file.mod"), "module example.com/m\n");
  await Deno.mkdir(join(download, "example.com", "m", "@v"), { recursive: true });
  await Deno.symlink(join(elsewhere, "file.mod"), join(download, "example.com/m/@v/v1.0.0.mod"));
  // A loop: followed once.
  await Deno.symlink(download, join(download, "example.com", "loop"));
  await write(join(download, "example.com/m/@v/v1.0.0.zip"), "PK not really");
  await write(join(download, "example.com/m/@v/v1.0.0.ziphash"), "h1:" + "x".repeat(1000));
  const store = SqliteStore.open(join(dir, "astera.db"));
  try {
    const skipped: string[] = [];
    const summary = await seedModuleCache({
      store,
      modcache: join(dir, "mod"),
      onSkip: (skip) => skipped.push(`${skip.what}: ${skip.reason}`),
    });
    assertEquals(summary.stored.mod, 2);
    assert(await store.artifact("example.com/linked", "v1.0.0", "mod"));
    assert(await store.artifact("example.com/m", "v1.0.0", "mod"));
    assertEquals(skipped, ["example.com/m@v1.0.0.zip: bad .ziphash"]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a database that cannot be written stops the seed with its error, not a skipped file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-locked-" });
  const versions = join(dir, "mod", "cache", "download", "example.com", "m", "@v");
  await Deno.mkdir(versions, { recursive: true });
  await Deno.writeTextFile(join(versions, "v1.0.0.mod"), "module example.com/m\n");
  await Deno.writeTextFile(join(versions, "v1.0.0.info"), '{"Version":"v1.0.0"}');
  const db = join(dir, "astera.db");
  const store = SqliteStore.open(db, { writeDeadlineMs: 200 });
  const other = new DatabaseSync(db);
  try {
    other.exec("BEGIN IMMEDIATE");
    const skipped: string[] = [];
    await assertRejects(
      () =>
        seedModuleCache({
          store,
          modcache: join(dir, "mod"),
          batchMs: 0, // every file's write is committed before the next file is read
          onSkip: (skip) => skipped.push(skip.reason),
        }),
      StoreBusyError,
    );
    assertEquals(skipped, []);
    other.exec("ROLLBACK");
    assertEquals(
      await store.answer("list", "example.com/m", ""),
      undefined,
      "no list of unstored versions",
    );
  } finally {
    other.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a .mod whose hash is not the one in the cache's checksum-database record is skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-gomod-" });
  const download = join(dir, "mod", "cache", "download");
  const enc = (text: string) => new TextEncoder().encode(text);
  const note = "go.sum database tree\n5\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=\n\n" +
    "\u2014 sum.golang.org Az3grnDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD\n";
  const genuine = "module example.com/m\n\ngo 1.21\n";
  const files: Record<string, string> = {
    "example.com/m/@v/v1.0.0.mod": genuine,
    "example.com/m/@v/v1.1.0.mod": genuine + "// tampered\n",
  };
  const goModHash = await hashGoMod(enc(genuine));
  for (const version of ["v1.0.0", "v1.1.0"]) {
    files[`sumdb/sum.golang.org/lookup/example.com/m@${version}`] =
      `7\nexample.com/m ${version} h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n` +
      `example.com/m ${version}/go.mod ${goModHash}\n\n${note}`;
  }
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(download, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(download, path), text);
  }
  const store = SqliteStore.open(join(dir, "astera.db"));
  try {
    const skipped: string[] = [];
    await seedModuleCache({
      store,
      modcache: join(dir, "mod"),
      onSkip: (skip) => skipped.push(`${skip.what}: ${skip.reason}: ${skip.detail}`),
    });
    assert(await store.artifact("example.com/m", "v1.0.0", "mod"), "the genuine .mod is stored");
    assertEquals(await store.artifact("example.com/m", "v1.1.0", "mod"), undefined);
    assertEquals(skipped.length, 1);
    assertStringIncludes(skipped[0], "example.com/m@v1.1.0.mod: bad .mod: hash h1:");
    assertStringIncludes(skipped[0], `does not match the checksum database's ${goModHash}`);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
