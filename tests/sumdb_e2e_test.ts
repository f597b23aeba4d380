/**
 * The checksum database through Astera with the real go command and a real
 * database (`sumdbserver.ts`) whose name, and so direct address, nobody
 * answers on: every verification must go through Astera's `/sumdb/` routes,
 * online and then offline.
 *
 * @module
 */
import { join } from "node:path";
import { assertEquals } from "./assert.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { makeGoClient, removeTree } from "./go_tool.ts";
import { startSumdbServer } from "./sumdb_server.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

/** Also the database's direct address (`https://<name>`): a port nobody answers on. */
const NAME = "127.0.0.1:1";
const MODULES = ["example.com/lib@v1.0.0", "example.com/dep@v1.0.0"];

/** The go.sum lines of `MODULES`, as the go command computes them from the upstream. */
async function goSumLines(upstream: string, buildCache: string): Promise<string> {
  const go = await makeGoClient(upstream, buildCache);
  try {
    let lines = "";
    for (const target of MODULES) {
      const result = await go.run(go.home, ["mod", "download", "-json", target]);
      const { Path, Version, Sum, GoModSum } = JSON.parse(result.stdout);
      lines += `${Path} ${Version} ${Sum}\n${Path} ${Version}/go.mod ${GoModSum}\n`;
    }
    return lines;
  } finally {
    await go.remove();
  }
}

Deno.test("the go command verifies through Astera's checksum-database routes, and still does with the upstream off after the TTL", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-sumdb-e2e-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(64 * 1024));
  const buildCache = join(work, "gocache");
  const upstream = await startFileProxy({ root: universe });
  const sumdb = await startSumdbServer(
    work,
    NAME,
    await goSumLines(upstream.url, buildCache),
    buildCache,
  );
  const db = join(work, "astera.db");
  // Each run with a fresh module cache and GOPATH: nothing of the database is cached by the client.
  const verify = async (astera: string, phase: string) => {
    const go = await makeGoClient(astera, buildCache, {
      GOSUMDB: sumdb.key,
    });
    try {
      for (const target of MODULES) {
        const result = await go.run(go.home, ["mod", "download", "-json", target], true);
        assertEquals(result.code, 0, `${phase}: ${target}: ${result.stdout}${result.stderr}`);
      }
    } finally {
      await go.remove();
    }
  };
  try {
    const online = await startAsteraProcess([
      "--db",
      db,
      "--upstream",
      `${upstream.url},${sumdb.url}`,
      "--ttl",
      "0s",
    ]);
    try {
      await verify(online.url, "online");
    } finally {
      await online.stop();
    }
    // The file proxy, first in the upstream list, saw each lookup once: Astera kept them.
    for (const target of MODULES) {
      assertEquals(upstream.counts.get(`/sumdb/${NAME}/lookup/${target}`), 1, target);
    }

    // Every stored answer is stale now (TTL 0), and the upstream says not found to everything.
    const off = await startAsteraProcess(["--db", db, "--upstream", "off", "--ttl", "0s"]);
    try {
      await verify(off.url, "upstream off");
      await verify(off.url, "upstream off, again");
      const supported = await fetch(`${off.url}/sumdb/${NAME}/supported`);
      assertEquals(supported.status, 200);
      await supported.body?.cancel();
    } finally {
      await off.stop();
    }
    // After a restart with an upstream nobody answers, it is still what was stored.
    const unreachable = await startAsteraProcess([
      "--db",
      db,
      "--upstream",
      "http://127.0.0.1:1",
      "--ttl",
      "0s",
    ]);
    try {
      await verify(unreachable.url, "upstream unreachable");
    } finally {
      await unreachable.stop();
    }
  } finally {
    await sumdb.close();
    await upstream.close();
    await removeTree(work);
  }
});
