/**
 * Several Astera processes on one PostgreSQL database (a throwaway cluster):
 * what one stored, another serves without going upstream, and what clients
 * of both ask for at once leaves the upstream once in all.
 *
 * @module
 */
import { join } from "node:path";
import { escapePath, escapeVersion } from "../lib/mod/module.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { AsteraExitedError, type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import { serveUniverse, startFileProxy } from "./file_proxy.ts";
import { startPostgresCluster } from "./postgres_cluster.ts";
import { standardUniverse } from "./universe.ts";
import { workflow } from "./workflow.ts";

const VERSIONS = standardUniverse(2 * 1024 * 1024);

/** Every immutable artifact's request path. */
const ARTIFACTS = VERSIONS.flatMap(({ module, version }) =>
  ["info", "mod", "zip"].map((kind) =>
    `/${escapePath(module)}/@v/${escapeVersion(version)}.${kind}`
  )
);

async function body(astera: AsteraProcess, path: string): Promise<Uint8Array> {
  const response = await fetch(astera.url + path);
  const bytes = new Uint8Array(await response.arrayBuffer());
  assertEquals(response.status, 200, `${path}: ${new TextDecoder().decode(bytes.slice(0, 200))}`);
  return bytes;
}

Deno.test("an instance on PostgreSQL serves what another stored, without going upstream", async () => {
  const { universe, upstream, remove } = await serveUniverse("astera-pg-e2e-", VERSIONS);
  const cluster = await startPostgresCluster();
  const started: AsteraProcess[] = [];
  try {
    const args = ["--db", cluster.url, "--upstream", upstream.url];
    const a = await startAsteraProcess(args);
    started.push(a);
    const b = await startAsteraProcess([], {
      ASTERA_DB: cluster.url,
      ASTERA_UPSTREAM: upstream.url,
    });
    started.push(b);
    assertEquals(a.log.concat(b.log).some((line) => line.includes(cluster.password)), false);
    for (const page of ["/", "/metrics", "/_astera/stats", "/_astera/status.json"]) {
      const shown = await (await fetch(a.url + page)).text();
      assertEquals(shown.includes(cluster.password), false, `${page} shows the password`);
    }
    assertStringIncludes(
      await (await fetch(a.url + "/_astera/status.json")).text(),
      `postgres://127.0.0.1:${cluster.port}/astera_test`,
      "the status page names the database, without its user information",
    );
    for (const path of ARTIFACTS) {
      assertEquals(await body(a, path), await Deno.readFile(join(universe, path)), path);
    }
    for (const path of ARTIFACTS) assertEquals(upstream.counts.get(path), 1, path);
    const asked = new Map(upstream.counts);
    for (const path of ARTIFACTS) {
      assertEquals(await body(b, path), await Deno.readFile(join(universe, path)), path);
    }
    assertEquals(new Map(upstream.counts), asked, "the second instance asked upstream nothing");
  } finally {
    for (const astera of started) await astera.stop();
    await cluster.remove();
    await remove();
  }
});

Deno.test("clients of two instances asking at once: each artifact leaves the upstream once", async () => {
  // Slow answers, so that the instances' requests overlap.
  const { universe, upstream, remove } = await serveUniverse("astera-pg-e2e-", VERSIONS, {
    delayMs: 150,
    bytesPerSecond: 4 * 1024 * 1024,
  });
  const cluster = await startPostgresCluster();
  const started: AsteraProcess[] = [];
  try {
    const args = ["--db", cluster.url, "--upstream", upstream.url];
    started.push(await startAsteraProcess(args), await startAsteraProcess(args));
    const expected = new Map(
      await Promise.all(
        ARTIFACTS.map(async (path) => [path, await Deno.readFile(join(universe, path))] as const),
      ),
    );
    // Four clients per artifact, two on each instance, all at once.
    await Promise.all(
      ARTIFACTS.flatMap((path) =>
        [0, 1, 2, 3].map(async (client) => {
          const bytes = await body(started[client % 2], path);
          assertEquals(bytes, expected.get(path), path);
        })
      ),
    );
    for (const path of ARTIFACTS) assertEquals(upstream.counts.get(path), 1, path);
  } finally {
    for (const astera of started) await astera.stop();
    await cluster.remove();
    await remove();
  }
});

Deno.test("PostgreSQL stopped while serving: memory answers go on, others get 503 with a reason, and it comes back by itself", async () => {
  const { universe, upstream, remove } = await serveUniverse("astera-pg-e2e-", VERSIONS);
  const cluster = await startPostgresCluster();
  let astera: AsteraProcess | undefined;
  try {
    // One isolate: each keeps its own memory, and the kernel picks which one a request reaches.
    astera = await startAsteraProcess([
      "--db",
      cluster.url,
      "--upstream",
      upstream.url,
      "--workers",
      "1",
    ]);
    const [warm, cold] = [ARTIFACTS.filter((p) => !p.endsWith(".zip")), ARTIFACTS.slice(-1)];
    const warmBodies = new Map<string, Uint8Array>();
    for (const path of warm.slice(0, 4)) warmBodies.set(path, await body(astera, path));

    await cluster.stop();
    for (const [path, bytes] of warmBodies) {
      assertEquals(await body(astera, path), bytes, `${path} from memory`);
    }
    const refused = await fetch(astera.url + cold[0]);
    const reason = await refused.text();
    assertEquals(refused.status, 503, reason);
    assertStringIncludes(reason, "database unavailable");
    assertEquals(reason.includes(cluster.password), false);

    await cluster.start();
    assertEquals(await body(astera, cold[0]), await Deno.readFile(join(universe, cold[0])));
  } finally {
    await astera?.stop();
    await cluster.remove();
    await remove();
  }
});

Deno.test("a database of another program is refused before listening, in one line without the password", async () => {
  const cluster = await startPostgresCluster();
  try {
    const foreign = await cluster.createDatabase("payroll");
    await cluster.psql("CREATE TABLE salaries (id int);", "payroll");
    const error = await startAsteraProcess(["--db", foreign, "--upstream", "off"]).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert(error instanceof AsteraExitedError, String(error));
    assertEquals(error.code, 1);
    const text = error.log.join("\n");
    assertStringIncludes(text, "belongs to another program");
    assertEquals(text.includes(cluster.password), false, text);
  } finally {
    await cluster.remove();
  }
});

Deno.test("an instance killed mid-download: nothing partial is visible, and another takes the zip over once the lease expires", async () => {
  // Slow enough that the download is surely under way when the first instance is killed.
  const { universe, upstream, remove } = await serveUniverse(
    "astera-pg-e2e-",
    standardUniverse(3 * 1024 * 1024),
    { bytesPerSecond: 1024 * 1024 },
  );
  const cluster = await startPostgresCluster();
  const big = "/example.com/big/@v/v1.0.0.zip";
  let second: AsteraProcess | undefined;
  try {
    const args = ["--db", cluster.url, "--upstream", upstream.url, "--lease-ttl", "2s"];
    const first = await startAsteraProcess(args);
    second = await startAsteraProcess(args);
    const response = await fetch(first.url + big);
    assertEquals(response.status, 200);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    assert(value && value.byteLength > 0, "some bytes arrived before the crash");
    assertEquals(await first.stop("SIGKILL"), 137);
    await reader.cancel().catch(() => {});

    const whole = await body(second, big);
    assertEquals(whole, await Deno.readFile(join(universe, big)));
    assertEquals(upstream.counts.get(big), 2, "the killed instance's download, then the second's");
  } finally {
    await second?.stop();
    await cluster.remove();
    await remove();
  }
});

Deno.test("three instances, the go command spread over them: the same files as direct, every artifact upstream once", async () => {
  const { work, universe, upstream, remove } = await serveUniverse("astera-pg-e2e-", VERSIONS, {
    delayMs: 50,
  });
  const direct = await startFileProxy({ root: universe });
  const cluster = await startPostgresCluster();
  const buildCache = join(work, "gocache");
  const started: AsteraProcess[] = [];
  try {
    const args = ["--db", cluster.url, "--upstream", upstream.url];
    for (let i = 0; i < 3; i++) started.push(await startAsteraProcess(args));
    const oracle = await workflow(direct.url, buildCache);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => workflow(started[i % 3].url, buildCache)),
    );
    for (const outcome of outcomes) assertEquals(outcome, oracle);
    const artifacts = [...upstream.counts].filter(([path]) => /\.(info|mod|zip)$/.test(path));
    assert(artifacts.some(([path]) => path.endsWith(".zip")), "zips were fetched");
    for (const [path, count] of artifacts) {
      const exists = await Deno.stat(join(universe, path)).then(() => true, () => false);
      if (exists) assertEquals(count, 1, path);
    }
  } finally {
    for (const astera of started) await astera.stop();
    await cluster.remove();
    await direct.close();
    await remove();
  }
});

Deno.test("a client of another instance streams a zip the first one is downloading, as its chunks are stored", async () => {
  // Eight seconds for the big zip: the second client surely asks while it downloads.
  const { universe, upstream, remove } = await serveUniverse(
    "astera-pg-e2e-",
    standardUniverse(2 * 1024 * 1024),
    { bytesPerSecond: 256 * 1024 },
  );
  const cluster = await startPostgresCluster();
  const big = "/example.com/big/@v/v1.0.0.zip";
  const started: AsteraProcess[] = [];
  try {
    const args = ["--db", cluster.url, "--upstream", upstream.url, "--prefetch", "off"];
    started.push(await startAsteraProcess(args), await startAsteraProcess(args));
    const [a, b] = started;
    const first = await fetch(a.url + big);
    assertEquals(first.status, 200);
    const reader = first.body!.getReader();
    await reader.read(); // the first chunk is stored: the download is published
    const second = await fetch(b.url + big);
    assertEquals(second.status, 200);
    const stored = await cluster.psql(
      "SELECT count(*) FROM artifacts WHERE kind = 'zip' AND module = 'example.com/big';",
      "astera_test",
    );
    assertEquals(stored.trim(), "0", "the second client was answered before the zip was stored");
    const expected = await Deno.readFile(join(universe, big));
    assertEquals(new Uint8Array(await second.arrayBuffer()), expected);
    await reader.cancel();
    assertEquals(upstream.counts.get(big), 1);
  } finally {
    for (const astera of started) await astera.stop();
    await cluster.remove();
    await remove();
  }
});
