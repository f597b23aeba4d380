import { join } from "node:path";
import { startAstera } from "./app.ts";
import { parseConfig } from "./config.ts";
import { silentLogger } from "./log.ts";
import { locateModuleCache, seedModuleCache } from "./seed.ts";
import { Store } from "./store.ts";
import { assertEquals } from "./testing.ts";

const noGo = () => Promise.resolve(null);

Deno.test("the module cache is found by flag, GOMODCACHE, go env, GOPATH, then ~/go", async () => {
  const go = () => Promise.resolve("/from/go\n");
  const env = { GOMODCACHE: "/env/mod", GOPATH: "/gp1:/gp2", HOME: "/home/me" };
  assertEquals((await locateModuleCache("/flag", env, go)).dir, "/flag");
  assertEquals((await locateModuleCache(undefined, env, go)).dir, "/env/mod");
  assertEquals(
    (await locateModuleCache(undefined, { ...env, GOMODCACHE: "" }, go)).dir,
    "/from/go",
  );
  assertEquals(
    await locateModuleCache(undefined, { GOPATH: "/gp1:/gp2", HOME: "/home/me" }, noGo),
    { dir: "/gp1/pkg/mod", from: "$GOPATH/pkg/mod" },
  );
  assertEquals(
    await locateModuleCache(undefined, { HOME: "/home/me" }, noGo),
    { dir: "/home/me/go/pkg/mod", from: "~/go/pkg/mod" },
  );
});

Deno.test("checksum-database cache files are stored under their cache path and served offline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-seed-sumdb-" });
  const db = join(dir, "astera.db");
  const base = join(dir, "mod", "cache", "download", "sumdb", "sum.golang.org");
  const files: Record<string, string> = {
    "lookup/github.com/!burnt!sushi/toml@v1.0.0": "1234\nlookup body\n",
    "tile/8/0/x001/234": "tile bytes",
    "tile/8/1/000.p/5": "partial tile",
  };
  for (const [key, body] of Object.entries(files)) {
    await Deno.mkdir(join(base, key, ".."), { recursive: true });
    await Deno.writeTextFile(join(base, key), body);
  }
  try {
    const store = Store.open(db);
    const summary = await seedModuleCache({ store, modcache: join(dir, "mod") });
    assertEquals(summary.stored.sumdb, 3);
    for (const [key, body] of Object.entries(files)) {
      const answer = store.answer("sumdb", "sum.golang.org", key);
      assertEquals(
        [answer?.status, answer?.fetchedAt, new TextDecoder().decode(answer?.body)],
        [200, 0, body],
      );
    }
    const again = await seedModuleCache({ store, modcache: join(dir, "mod") });
    assertEquals([again.stored.sumdb, again.alreadyStored], [0, 3]);
    store.close();

    const config = parseConfig(
      ["--listen", "127.0.0.1:0", "--db", db, "--upstream", "off", "--quiet"],
      {},
    );
    const astera = await startAstera(config, silentLogger);
    try {
      for (const [key, body] of Object.entries(files)) {
        const response = await fetch(`${astera.url}/sumdb/sum.golang.org/${key}`);
        assertEquals([response.status, await response.text()], [200, body]);
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
    const store = Store.open(join(dir, "astera.db"));
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
      store.answer("list", "example.com/m", ""),
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
    assertEquals(store.storedVersions("example.com/m", "info").sort(), versions);
    assertEquals(
      new TextDecoder().decode(store.answer("list", "example.com/m", "")?.body),
      "v1.0.0\nv1.1.0\nv1.2.0\n",
    );
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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
    const store = Store.open(join(dir, "astera.db"));
    await store.putAnswer({
      kind: "list",
      module: "example.com/m",
      key: "",
      status: 200,
      body: new TextEncoder().encode("v1.1.0\n"),
      fetchedAt: 1234,
    });
    await seedModuleCache({ store, modcache: join(dir, "mod") });
    const list = store.answer("list", "example.com/m", "");
    assertEquals([new TextDecoder().decode(list?.body), list?.fetchedAt], ["v1.0.0\nv1.1.0\n", 0]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
