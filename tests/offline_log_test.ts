/**
 * The log a person reads after a day offline: one line when the upstream
 * became unreachable, one when it came back, and counters for the rest; with
 * `--upstream off`, no warning at all for serving what is stored. The real go
 * command runs the developer's workflow through a really running Astera.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import { type FileProxy, startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";
import { workflow } from "./workflow.ts";

/** The warning and error lines of a log (`<time> <level> <event> …`). */
function warnings(log: string[]): string[] {
  return log.filter((line) => / (warn|error) /.test(line));
}

function events(lines: string[]): string[] {
  return lines.map((line) => line.split(" ")[2]);
}

async function section(astera: AsteraProcess, name: string): Promise<Record<string, unknown>> {
  return (await astera.stats())[name];
}

Deno.test("offline, the log says once that the upstream is unreachable and once that it is back; the rest is counted", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-offline-log-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, standardUniverse(64 * 1024));
  const direct = await startFileProxy({ root: universe });
  let upstream: FileProxy = await startFileProxy({ root: universe });
  const port = new URL(upstream.url).port;
  const db = join(work, "astera.db");
  // Every list is stale at once, so each one asks the (gone) upstream again.
  const astera = await startAsteraProcess([
    "--db",
    db,
    "--upstream",
    upstream.url,
    "--ttl",
    "0s",
    "--workers",
    "1",
  ]);
  let oracle;
  try {
    oracle = await workflow(direct.url, buildCache);
    assertEquals(await workflow(astera.url, buildCache), oracle);
    assertEquals(warnings(astera.log), [], "an online workflow warns of nothing");

    await upstream.close();
    assertEquals(await workflow(astera.url, buildCache), oracle, "offline, as direct online");
    const offline = await section(astera, "upstream");
    assertEquals(offline.reachable, false);
    const failures = offline.failures as number;
    assert(failures > 10, `the workflow asked the gone upstream many times: ${failures}`);
    const proxy = await section(astera, "proxy");
    assert((proxy.refreshFailures as number) > 0, JSON.stringify(proxy));
    assertEquals(
      events(warnings(astera.log)),
      ["upstream-unreachable"],
      `one line for the whole outage:\n${astera.log.join("\n")}`,
    );

    // Counted by what was answered: a 5xx, a not-found and a malformed request.
    const before = await section(astera, "handler");
    const unseen = await fetch(`${astera.url}/example.com/unseen/@v/v1.0.0.mod`);
    await unseen.body?.cancel();
    assertEquals(unseen.status, 502);
    const prefix = await fetch(`${astera.url}/example.com/@v/list`);
    await prefix.body?.cancel();
    assertEquals(prefix.status, 404);
    const malformed = await fetch(`${astera.url}/Example.com/m/@v/v1.0.0.mod`);
    await malformed.body?.cancel();
    assertEquals(malformed.status, 400);
    const after = await section(astera, "handler");
    assertEquals(
      ["errors", "notFound", "refused"].map((key) =>
        (after[key] as number) - (before[key] as number)
      ),
      [1, 1, 1],
    );

    upstream = await startFileProxy({ root: universe, port: Number(port) });
    const failed = (await section(astera, "upstream")).failures as number;
    const back = await fetch(`${astera.url}/example.com/unseen/@v/v1.0.0.mod`);
    await back.body?.cancel();
    assertEquals(back.status, 404, "the upstream answers again (that module does not exist)");
    assertEquals(events(warnings(astera.log)), ["upstream-unreachable", "upstream-back"]);
    const backLine = astera.log.find((line) => line.includes(" upstream-back "))!;
    assert(backLine.includes(`failedRequests=${failed}`), backLine);
    assertEquals((await section(astera, "upstream")).reachable, true);
  } finally {
    await astera.stop();
    await upstream.close();
    await direct.close();
  }

  // `off` means "serve what is stored": nothing to warn about, however often it happens.
  const off = await startAsteraProcess(["--db", db, "--upstream", "off", "--ttl", "0s"]);
  try {
    assertEquals(await workflow(off.url, buildCache), oracle);
    assertEquals(warnings(off.log), [], off.log.join("\n"));
    const proxy = await section(off, "proxy");
    assert((proxy.keptAnswers as number) > 0, JSON.stringify(proxy));
  } finally {
    await off.stop();
    await removeTree(work);
  }
});
