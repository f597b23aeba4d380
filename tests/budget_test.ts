/**
 * End to end: the disk budget (`--max-bytes`) over a local upstream whose
 * zips total half as much again as the budget. Many concurrent real go
 * clients get what they get direct while eviction churns under them, and the
 * store ends within the budget; then, step by step, only the least recently
 * served zips go, a zip being sent stays, an evicted zip is fetched again,
 * and with the upstream down it answers as a zip never fetched does.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { SqliteStore } from "../lib/store/mod.ts";
import { concatBytes } from "../lib/util/bytes.ts";
import { escapePath } from "../lib/mod/module.ts";
import { assert, assertEquals } from "./assert.ts";
import { AsteraExitedError, startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { copyProject, makeGoClient, readModFiles, removeTree } from "./go_tool.ts";
import { noise, type SyntheticVersion, writeUniverse } from "./universe.ts";

const SEED = fileURLToPath(new URL("../scripts/seed.ts", import.meta.url));
const MiB = 1024 * 1024;
const BUDGET = 16 * MiB;
/**
 * Zip sizes of eight modules: 22 MiB, well over the budget. m2 is larger than
 * what the socket buffers of a stalled loopback connection absorb (about
 * 4 MiB), so a client that stops reading it keeps it being sent.
 */
const SIZES = [2, 2, 8, 2, 2, 2, 2, 2].map((mib) => mib * MiB);
const MODULES = SIZES.map((_, i) => `example.com/bulk/m${i}`);
/**
 * Concurrent go clients. The issue asks for 40; each runs `go mod tidy` and
 * `go mod download` of three modules (6 or 12 MiB) with its own module cache, which
 * a 2-core CI machine carries in well under a minute.
 */
const CLIENTS = 40;

function bulkUniverse(): SyntheticVersion[] {
  return MODULES.map((module, i) => ({
    module,
    version: "v1.0.0",
    goMod: `module ${module}\n\ngo 1.21\n`,
    files: { "m.go": `package m${i}\n`, "data.bin": noise(SIZES[i], i + 1) },
    time: "2024-01-01T10:00:00Z",
  }));
}

/** Client `n` uses three neighbouring modules, so every module is wanted by many clients. */
const subset = (n: number) => [0, 1, 2].map((k) => MODULES[(n + k) % MODULES.length]);

/**
 * A GET over a raw connection that reads only the first bytes (the head) and
 * then nothing: the server's sending stalls once the socket buffers are full.
 * `body` reads the rest and returns the body.
 */
async function holdZip(
  base: string,
  path: string,
): Promise<{ head: string; body(): Promise<Uint8Array> }> {
  const url = new URL(base);
  const connection = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  await connection.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
  );
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  const n = await connection.read(buffer);
  parts.push(buffer.slice(0, n ?? 0));
  return {
    head: new TextDecoder().decode(parts[0]),
    async body() {
      for await (const part of connection.readable) parts.push(part);
      const all = concatBytes(parts);
      const start = all.findIndex((_, i) =>
        all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10
      );
      return all.subarray(start + 4);
    },
  };
}

interface Outcome {
  goSum: string;
  downloads: string;
}

/** `go mod tidy` and `go mod download -json all` of a project importing `modules`. */
async function goClient(goproxy: string, buildCache: string, modules: string[]): Promise<Outcome> {
  const go = await makeGoClient(goproxy, buildCache);
  const imports = modules.map((module) => `\t_ "${module}"\n`).join("");
  const project = await copyProject({
    "go.mod": "module example.net/app\n\ngo 1.21\n",
    "main.go": `package main\n\nimport (\n${imports})\n\nfunc main() {}\n`,
  });
  try {
    await go.run(project, ["mod", "tidy"]);
    const downloads = (await go.run(project, ["mod", "download", "-json", "all"])).stdout
      .split("\n").filter((line) => /"(Path|Version|Sum|GoModSum)"/.test(line)).join("\n");
    return { goSum: (await readModFiles(project)).goSum, downloads };
  } finally {
    await go.remove();
    await removeTree(project);
  }
}

Deno.test("--max-bytes below 16 MiB or unparsable: exit 2 with one line, before listening", async () => {
  for (const value of ["15MiB", "16777215", "lots"]) {
    const error = await startAsteraProcess(["--db", ":memory:", "--max-bytes", value]).then(
      () => undefined,
      (error) => error,
    );
    assert(error instanceof AsteraExitedError, `--max-bytes ${value} was accepted`);
    assertEquals(error.code, 2);
    // Deno's own notice of the config file's permission set is not Astera's.
    const lines = error.log.filter((line) => !/^Warning Permissions in the config file/.test(line));
    assertEquals(lines.length, 1, lines.join("\n"));
    assert(lines[0].startsWith("astera: --max-bytes"), lines[0]);
  }
});

Deno.test("concurrent go clients under a budget get what they get direct; the store ends within it", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-budget-e2e-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, bulkUniverse());
  const direct = await startFileProxy({ root: universe });
  const upstream = await startFileProxy({ root: universe });
  const db = join(work, "astera.db");
  try {
    const oracle = [];
    for (let n = 0; n < MODULES.length; n++) {
      oracle.push(await goClient(direct.url, buildCache, subset(n)));
    }
    assert(oracle[0].goSum.includes(`${MODULES[0]} v1.0.0 h1:`), "the oracle resolved");
    // Two isolates (as `auto` gives on two cores): the replica's pins and hits count too.
    const astera = await startAsteraProcess([
      "--db",
      db,
      "--upstream",
      upstream.url,
      "--max-bytes",
      "16MiB",
      "--workers",
      "2",
    ]);
    let stopped = false;
    try {
      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, (_, n) => goClient(astera.url, buildCache, subset(n))),
      );
      for (const [n, outcome] of outcomes.entries()) {
        assertEquals(outcome, oracle[n % MODULES.length], `client ${n}`);
      }
      const stats = await astera.stats();
      assertEquals((stats.budget as Record<string, number>).maxBytes, BUDGET);
      // A graceful stop writes the last hits and leaves the store within its budget.
      assertEquals(await astera.stop(), 0);
      stopped = true;
      assertEquals(
        astera.log.filter((line) => /internal-error|replica-error|evict-failed/.test(line)),
        [],
      );
      // 22 MiB fetched under 16 MiB: zips were evicted, while serving or at the last check (when
      // depends on the 5 s timer, so the log says, not the stats read as the clients end).
      assert(astera.log.some((line) => line.includes("evicted")), "eviction churned");
      const store = SqliteStore.open(db);
      try {
        const used = await store.usedBytes();
        assert(used <= BUDGET, `${used} bytes stored`);
        for (const module of MODULES) {
          assert(await store.artifact(module, "v1.0.0", "mod"), `${module}'s .mod stays`);
        }
        // Every zip left was served, by either isolate: all its hits reached the database.
        const unserved = new DatabaseSync(db).prepare(
          "SELECT count(*) AS n FROM artifacts WHERE kind = 'zip' AND last_served IS NULL",
        ).get();
        assertEquals(unserved?.n, 0);
      } finally {
        store.close();
      }
    } finally {
      if (!stopped) await astera.stop();
    }
  } finally {
    await direct.close();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("only the least recently served zips go; one being sent stays; evicted ones are fetched again", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-budget-lru-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, bulkUniverse());
  const upstream = await startFileProxy({ root: universe });
  const config = parseConfig([
    "--listen",
    "127.0.0.1:0",
    "--db",
    join(work, "astera.db"),
    "--upstream",
    upstream.url,
    "--max-bytes",
    "16MiB",
    "--workers",
    "1",
    "--upstream-timeout",
    "2s",
  ], {});
  const astera = await startAstera(config, silentLogger);
  const zipPath = (i: number) => `/${escapePath(MODULES[i])}/@v/v1.0.0.zip`;
  const original = (i: number) => Deno.readFile(join(universe, zipPath(i)));
  const get = async (i: number, kind = "zip") => {
    const response = await fetch(astera.url + zipPath(i).replace(/zip$/, kind));
    return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
  };
  const stored = async () => {
    const kept = [];
    for (const [i, module] of MODULES.entries()) {
      if (await astera.store.artifact(module, "v1.0.0", "zip")) kept.push(i);
    }
    return kept;
  };
  /** A sample of `/metrics` without labels. */
  const metric = async (name: string) => {
    const text = await (await fetch(`${astera.url}/metrics`)).text();
    const line = text.split("\n").find((line) => line.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  };
  try {
    // The counters are the process's: this test reads what it adds to them.
    const evictionsBefore = (await metric("astera_evictions_total"))!;
    const evictedBefore = (await metric("astera_evicted_bytes_total"))!;
    // m0..m3 (14 MiB: within the budget), with their .mod files.
    for (const i of [0, 1, 2, 3]) {
      assertEquals((await get(i, "mod")).status, 200);
      assertEquals((await get(i)).status, 200);
    }
    // A client starts on m2 and stops reading after its first bytes: m2 is pinned while it is sent.
    const slow = await holdZip(astera.url, zipPath(2));
    assertEquals(slow.head.split("\r\n")[0], "HTTP/1.1 200 OK");
    const m2 = (await astera.store.artifact(MODULES[2], "v1.0.0", "zip"))!;
    // Everything else is served after m2: m2 is the least recently served zip.
    for (const i of [0, 1, 3]) assertEquals((await get(i)).status, 200);
    await astera.budget!.settle();
    assertEquals(astera.budget!.stats().evictions, 0, "14 MiB is within 16 MiB");
    assert(astera.budget!.pins.pinned(m2.blobId!), "m2 is still being sent");
    // m4 and m5 pass the budget: down to 90 % (14.4 MiB) means two 2 MiB zips go.
    for (const i of [4, 5]) assertEquals((await get(i)).status, 200);
    await astera.budget!.settle();
    assertEquals(await stored(), [2, 3, 4, 5], "m0 and m1 went; m2 is being sent, so it stayed");
    const stats = astera.budget!.stats();
    assertEquals(stats.evictions, 2);
    assertEquals(
      stats.evictedBytes,
      (await original(0)).byteLength + (await original(1)).byteLength,
    );
    assert(stats.pinnedSkips >= 1, "m2 was passed over");
    assert(stats.storedBytes <= BUDGET * 0.9, `${stats.storedBytes} bytes stored`);
    assertEquals(stats.storedBytes, await astera.store.usedBytes());
    assert(stats.smallBytes > 0 && stats.smallBytes < MiB);
    // The same figures in /metrics.
    assertEquals(await metric("astera_evictions_total"), evictionsBefore + 2);
    assertEquals(await metric("astera_evicted_bytes_total"), evictedBefore + stats.evictedBytes);
    assertEquals(await metric("astera_store_budget_bytes"), BUDGET);
    assertEquals(await metric("astera_store_bytes"), stats.storedBytes);
    assertEquals(await metric("astera_zip_downloads_in_progress"), 0);
    assert(
      await astera.store.artifact(MODULES[0], "v1.0.0", "mod"),
      ".mod files are never evicted",
    );

    // The slow client gets all of m2, intact.
    assertEquals(await slow.body(), await original(2));
    assert(!astera.budget!.pins.pinned(m2.blobId!), "released once sent");

    // An evicted zip is simply fetched again.
    const again = await get(0);
    assertEquals(again.status, 200);
    assertEquals(again.body, await original(0));
    assertEquals(upstream.counts.get(zipPath(0)), 2);

    // With the upstream down, an evicted zip answers as a zip never fetched does.
    await upstream.close();
    const evicted = await get(1);
    const never = await get(7);
    assertEquals(evicted.status, never.status);
    const text = (body: Uint8Array, i: number) =>
      new TextDecoder().decode(body).replaceAll(MODULES[i], "<module>").replaceAll(
        escapePath(MODULES[i]),
        "<module>",
      );
    assertEquals(text(evicted.body, 1), text(never.body, 7));
  } finally {
    await astera.close();
    await upstream.close().catch(() => {});
    await removeTree(work);
  }
});

Deno.test("deno task seed --max-bytes evicts as it imports: the store ends within the budget", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-budget-seed-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, bulkUniverse());
  const upstream = await startFileProxy({ root: universe });
  const go = await makeGoClient(upstream.url, join(work, "gocache"));
  const imports = MODULES.map((module) => `\t_ "${module}"\n`).join("");
  const project = await copyProject({
    "go.mod": "module example.net/app\n\ngo 1.21\n",
    "main.go": `package main\n\nimport (\n${imports})\n\nfunc main() {}\n`,
  });
  const db = join(work, "astera.db");
  const seed = async (args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run=go",
        SEED,
        "--db",
        db,
        "--modcache",
        join(go.home, "modcache"),
        ...args,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  try {
    // The module cache holds all eight zips: 22 MiB.
    await go.run(project, ["mod", "tidy"]);
    const refused = await seed(["--max-bytes", "1MiB"]);
    assertEquals(refused.code, 2);
    assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    const run = await seed(["--max-bytes", "16MiB"]);
    assertEquals(run.code, 0, run.stderr);
    assert(/budget: removed [1-9]\d* zips/.test(run.stderr), run.stderr);
    const store = SqliteStore.open(db);
    try {
      const used = await store.usedBytes();
      assert(used <= BUDGET, `${used} bytes stored`);
      for (const module of MODULES) {
        assert(
          await store.artifact(module, "v1.0.0", "mod"),
          `${module}'s .mod was imported and stays`,
        );
      }
    } finally {
      store.close();
    }
  } finally {
    await go.remove();
    await removeTree(project);
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("with two isolates, the replica's hits reach the primary and the database", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-budget-workers-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, bulkUniverse().slice(0, 1));
  const upstream = await startFileProxy({ root: universe });
  const db = join(work, "astera.db");
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", db, "--upstream", upstream.url, "--max-bytes", "16MiB"],
    { ASTERA_WORKERS: "2" },
  );
  const astera = await startAstera(config, silentLogger);
  const path = `/${escapePath(MODULES[0])}/@v/v1.0.0.zip`;
  const requests = 40;
  let closed = false;
  try {
    assertEquals((await fetch(astera.url + path)).status, 200);
    // A connection of its own for each request: the kernel spreads them over both isolates.
    for (let i = 0; i < requests; i++) {
      const client = Deno.createHttpClient({});
      const response = await fetch(astera.url + path, { client });
      assertEquals(response.status, 200);
      await response.body?.cancel();
      client.close();
    }
    const served = await (await fetch(`${astera.url}/_astera/stats`)).json();
    assertEquals(served.isolates, 2);
    // Stopping flushes every isolate's last batch.
    await astera.close();
    closed = true;
    const { servedHits, servedBatches } = astera.budget!.stats();
    // Each request counted once, by the isolate that served it (the primary does not count a
    // zip it downloads or reads for a replica).
    assertEquals(servedHits, requests + 1);
    assert(servedBatches >= 1);
    const row = new DatabaseSync(db).prepare(
      "SELECT last_served FROM artifacts WHERE kind = 'zip'",
    ).get();
    assert(Number(row?.last_served) > 0, "written to the database");
  } finally {
    if (!closed) await astera.close();
    await upstream.close();
    await removeTree(work);
  }
});
