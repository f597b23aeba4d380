/**
 * The protocol as an HTTP client sees it, with Astera running in-process
 * (`Deno.serve` on a free port) over a local upstream: status codes, headers,
 * conditional and range requests, caching and coalescing, and what happens
 * when the upstream is down, slow, or answers garbage.
 *
 * @module
 */
import { join } from "node:path";
import { type Astera, type PrivateSourceFactory, startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import { sumStats } from "../lib/http/mod.ts";
import { createLogger, silentLogger } from "../lib/log.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { type FileProxy, startFileProxy } from "./file_proxy.ts";
import { makeGoClient, removeTree } from "./go_tool.ts";
import { noise, standardUniverse, writeUniverse } from "./universe.ts";

interface Fixture {
  universe: string;
  upstream: FileProxy;
  astera: Astera;
  get(path: string, init?: RequestInit): Promise<Response>;
  /** Bytes of a file in the universe. */
  file(path: string): Promise<Uint8Array>;
}

async function withFixture(
  args: string[] | ((universe: string) => string[]),
  fn: (f: Fixture) => Promise<void>,
  privateSource?: PrivateSourceFactory,
): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "astera-server-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(1024 * 1024));
  const upstream = await startFileProxy({ root: universe });
  const config = parseConfig(
    [
      "--listen",
      "127.0.0.1:0",
      "--db",
      join(work, "astera.db"),
      "--upstream",
      upstream.url,
      ...(typeof args === "function" ? args(universe) : args),
    ],
    {},
  );
  const astera = await startAstera(config, silentLogger, privateSource);
  try {
    await fn({
      universe,
      upstream,
      astera,
      get: (path, init) => fetch(astera.url + path, init),
      file: (path) => Deno.readFile(join(universe, path)),
    });
  } finally {
    await astera.close();
    await upstream.close();
    await removeTree(work);
  }
}

async function bytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

Deno.test("every endpoint answers the upstream's bytes with the protocol's headers", async () => {
  await withFixture([], async ({ get, file }) => {
    const cases: [string, string, string][] = [
      ["/example.com/lib/@v/list", "example.com/lib/@v/list", "text/plain; charset=utf-8"],
      ["/example.com/lib/@v/v1.1.0.info", "example.com/lib/@v/v1.1.0.info", "application/json"],
      [
        "/example.com/lib/@v/v1.1.0.mod",
        "example.com/lib/@v/v1.1.0.mod",
        "text/plain; charset=utf-8",
      ],
      ["/example.com/lib/@v/v1.1.0.zip", "example.com/lib/@v/v1.1.0.zip", "application/zip"],
      ["/example.com/lib/@latest", "example.com/lib/@latest", "application/json"],
      [
        "/example.com/%21upper/%21pkg/@v/v1.1.0-%21r%21c1.mod",
        "example.com/!upper/!pkg/@v/v1.1.0-!r!c1.mod",
        "text/plain; charset=utf-8",
      ],
      [
        "/example.com/old/@v/v2.0.0+incompatible.zip",
        "example.com/old/@v/v2.0.0+incompatible.zip",
        "application/zip",
      ],
    ];
    for (const [path, source, type] of cases) {
      for (const round of ["cold", "warm"]) {
        const response = await get(path);
        assertEquals(response.status, 200, `${round} ${path}`);
        assertEquals(response.headers.get("content-type"), type, path);
        const body = await bytes(response);
        assertEquals(body, await file(source), `${round} ${path}`);
        assertEquals(response.headers.get("content-length"), String(body.byteLength), path);
      }
    }
  });
});

Deno.test("immutable artifacts are fetched once and then served with ETag, 304 and ranges", async () => {
  await withFixture([], async ({ get, upstream }) => {
    const path = "/example.com/big/@v/v1.0.0.zip";
    const whole = await bytes(await get(path));
    const again = await get(path);
    const etag = again.headers.get("etag")!;
    assert(/^"[0-9a-f]+"$/.test(etag), `strong etag: ${etag}`);
    assertEquals(again.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertEquals(await bytes(again), whole);
    assertEquals(upstream.counts.get(path), 1);

    const notModified = await get(path, { headers: { "if-none-match": etag } });
    assertEquals(notModified.status, 304);
    await notModified.body?.cancel();

    const start = 300_000; // crosses a stored chunk boundary
    const partial = await get(path, { headers: { range: `bytes=${start}-`, "if-range": etag } });
    assertEquals(partial.status, 206);
    assertEquals(
      partial.headers.get("content-range"),
      `bytes ${start}-${whole.byteLength - 1}/${whole.byteLength}`,
    );
    assertEquals(await bytes(partial), whole.subarray(start));

    const head = await get(path, { method: "HEAD" });
    assertEquals([head.status, head.headers.get("content-length")], [
      200,
      String(whole.byteLength),
    ]);
    await head.body?.cancel();
  });
});

Deno.test("concurrent cold requests for one zip cause one upstream fetch and identical bytes", async () => {
  await withFixture([], async ({ get, upstream, file }) => {
    const path = "/example.com/big/@v/v1.0.0.zip";
    const bodies = await Promise.all(
      Array.from({ length: 20 }, async () => bytes(await get(path))),
    );
    const expected = await file("example.com/big/@v/v1.0.0.zip");
    for (const body of bodies) assertEquals(body, expected);
    assertEquals(upstream.counts.get(path), 1);
  });
});

Deno.test("malformed requests get a 4xx with a plain-text reason", async () => {
  await withFixture([], async ({ get }) => {
    const cases: [string, number, string][] = [
      ["/github.com/BurntSushi/toml/@v/list", 400, "bad request"],
      ["/example.com/m/v1/@v/list", 400, "bad request"],
      ["/example.com/m/@v/v1.0.0.ziphash", 404, "not found"],
      ["/example.com/m/@v/list?x=1", 400, "query"],
      ["/example.com/lib/@v/master.zip", 404, "canonical"],
    ];
    for (const [path, status, reason] of cases) {
      const response = await get(path);
      assertEquals(response.status, status, path);
      assertStringIncludes(response.headers.get("content-type")!, "text/plain");
      assertStringIncludes(await response.text(), reason);
    }
    const post = await get("/example.com/lib/@v/list", { method: "POST", body: "x" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
  });
});

Deno.test("an upstream's credentials are sent to it, and never reach an answer or a log line", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-credentials-" });
  const authorizations: (string | null)[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    authorizations.push(request.headers.get("authorization"));
    return new Response("down for maintenance\n", { status: 503 });
  });
  const lines: string[] = [];
  const url = `http://me:s3cret@127.0.0.1:${upstream.addr.port}`;
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", join(work, "astera.db"), "--upstream", url],
    {},
  );
  const astera = await startAstera(config, createLogger({ write: (line) => lines.push(line) }));
  try {
    for (const path of ["v1.0.0.mod", "v1.0.0.info", "v1.0.0.zip", "list"]) {
      const response = await fetch(`${astera.url}/example.com/m/@v/${path}`);
      const body = await response.text();
      assertStringIncludes(body, `upstream http://127.0.0.1:${upstream.addr.port}`, path);
      assert(!body.includes("s3cret") && !body.includes("me:"), `${path}: ${body}`);
    }
    assertEquals(authorizations.length, 4);
    assert(authorizations.every((value) => value === `Basic ${btoa("me:s3cret")}`));
    assert(lines.some((line) => line.includes("upstream-unreachable")), lines.join("\n"));
    assert(!lines.some((line) => line.includes("s3cret")), lines.join("\n"));
  } finally {
    await astera.close();
    await upstream.shutdown();
    await removeTree(work);
  }
});

Deno.test("not-found answers pass through with their reason and are remembered briefly", async () => {
  // One isolate, so that its counters see every request.
  await withFixture(
    ["--negative-ttl", "1h", "--workers", "1"],
    async ({ get, upstream, astera }) => {
      const reads = () => astera.proxy.stats().store as { reads: number };
      for (
        const path of [
          "/example.com/nothere/@v/list",
          "/example.com/lib/@v/v9.9.9.info",
          "/example.com/lib/@v/v9.9.9.mod",
          "/example.com/lib/@v/v9.9.9.zip",
        ]
      ) {
        let readsAfterFirst = 0;
        for (let i = 0; i < 3; i++) {
          const response = await get(path);
          assertEquals(response.status, 404, path);
          assertStringIncludes(await response.text(), "not found");
          if (i === 0) readsAfterFirst = reads().reads;
        }
        assertEquals(upstream.counts.get(path), 1, path);
        assertEquals(reads().reads, readsAfterFirst, `${path}: remembered, not read again`);
      }
    },
  );
});

Deno.test("with the upstream failing, cached answers are served and uncached ones get 502", async () => {
  await withFixture(["--ttl", "0s"], async ({ get, upstream, astera }) => {
    const list = await (await get("/example.com/lib/@v/list")).text();
    await (await get("/example.com/lib/@v/v1.0.0.mod")).arrayBuffer();
    const pseudo = "/example.com/pseudo/@v/v0.0.0-20240102030405-0123456789ab";
    await (await get(`${pseudo}.mod`)).arrayBuffer();
    upstream.failWith = 503;
    const pseudoInfo = await get(`${pseudo}.info`);
    assertEquals(await pseudoInfo.json(), {
      Version: "v0.0.0-20240102030405-0123456789ab",
      Time: "2024-01-02T03:04:05Z",
    });
    const stale = await get("/example.com/lib/@v/list");
    assertEquals([stale.status, await stale.text()], [200, list]);
    const mod = await get("/example.com/lib/@v/v1.0.0.mod");
    assertEquals(mod.status, 200);
    await mod.body?.cancel();
    const uncached = await get("/example.com/dep/@v/v1.0.0.mod");
    assertEquals(uncached.status, 502);
    assertStringIncludes(await uncached.text(), "status 503");
    // A module lookup never seen is a not-found offline, so the go command's prefix probes go on.
    const probe = await get("/example.com/lib/subpkg/@v/list");
    assertEquals(probe.status, 404);
    assertStringIncludes(await probe.text(), "nothing cached, and the source failed");
    // An .info never fetched, for a version whose .mod is stored, is made up offline.
    const info = await get("/example.com/lib/@v/v1.0.0.info");
    assertEquals([info.status, await info.json()], [200, { Version: "v1.0.0" }]);
    await astera.proxy.settle();
    const health = await get("/healthz");
    assertEquals([health.status, await health.text()], [200, "ok\n"]);
  });
});

Deno.test("a stale list is served at once and refreshed in the background", async () => {
  await withFixture(["--ttl", "0s"], async ({ get, universe, astera }) => {
    assertEquals(await (await get("/example.com/dep/@v/list")).text(), "v1.0.0\nv1.0.1\n");
    await Deno.writeTextFile(join(universe, "example.com/dep/@v/list"), "v1.0.0\nv1.0.1\nv1.0.2\n");
    // The stale answer comes first; the refresh it started brings the new version.
    assertEquals(await (await get("/example.com/dep/@v/list")).text(), "v1.0.0\nv1.0.1\n");
    await astera.proxy.settle();
    assertEquals(await (await get("/example.com/dep/@v/list")).text(), "v1.0.0\nv1.0.1\nv1.0.2\n");
  });
});

Deno.test("a fresh list is served from the cache without asking the upstream", async () => {
  await withFixture(["--ttl", "1h"], async ({ get, upstream }) => {
    for (let i = 0; i < 3; i++) await (await get("/example.com/dep/@v/list")).text();
    assertEquals(upstream.counts.get("/example.com/dep/@v/list"), 1);
  });
});

Deno.test("a query .info goes upstream and is never stored as .mod or .zip", async () => {
  await withFixture([], async ({ get, universe }) => {
    await Deno.writeTextFile(
      join(universe, "example.com/lib/@v/main.info"),
      JSON.stringify({ Version: "v1.1.0", Time: "2024-01-03T10:00:00Z" }),
    );
    const info = await get("/example.com/lib/@v/main.info");
    assertEquals((await info.json()).Version, "v1.1.0");
    assertEquals(info.headers.get("cache-control"), "public, max-age=60");
  });
});

Deno.test("an exact version beyond the path's major resolves to +incompatible, as go gets it direct", async () => {
  await withFixture([], async ({ get, universe, upstream, astera }) => {
    // What proxy.golang.org answers for github.com/docker/docker/@v/v20.10.0.info, say.
    const dir = join(universe, "example.com/old/@v");
    await Deno.copyFile(join(dir, "v2.0.0+incompatible.info"), join(dir, "v2.0.0.info"));
    const info = await get("/example.com/old/@v/v2.0.0.info");
    assertEquals(info.status, 200);
    assertEquals((await info.json()).Version, "v2.0.0+incompatible");

    const resolve = async (goproxy: string) => {
      const go = await makeGoClient(goproxy, join(universe, "..", "gocache"));
      try {
        const listed = await go.run(universe, ["list", "-m", "-json", "example.com/old@v2.0.0"]);
        const downloaded = await go.run(universe, [
          "mod",
          "download",
          "-json",
          "example.com/old@v2.0.0",
        ]);
        const { Version, Sum, GoModSum } = JSON.parse(downloaded.stdout);
        return { listed: JSON.parse(listed.stdout).Version, Version, Sum, GoModSum };
      } finally {
        await go.remove();
      }
    };
    const direct = await resolve(upstream.url);
    assertEquals(direct.Version, "v2.0.0+incompatible");
    assertEquals(await resolve(astera.url), direct);
  });
});

Deno.test("garbage from the upstream is refused and never stored", async () => {
  // Counts each upstream request of a zip a client asks: no prefetch may add one.
  await withFixture(["--prefetch", "off"], async ({ get, universe, upstream }) => {
    const dir = join(universe, "example.com/lib/@v");
    await Deno.writeTextFile(join(dir, "v1.0.0.info"), "<html>captive portal</html>");
    await Deno.writeTextFile(join(dir, "v1.1.0.info"), JSON.stringify({ Version: "v1.0.0" }));
    await Deno.writeTextFile(join(dir, "v1.0.0.zip"), "this is not a zip");
    await Deno.copyFile(join(dir, "v1.1.0.zip"), join(dir, "v1.2.0-rc.1.zip")); // wrong prefix inside

    const notJson = await get("/example.com/lib/@v/v1.0.0.info");
    assertEquals(notJson.status, 502);
    assertStringIncludes(await notJson.text(), "not valid JSON");
    const wrongVersion = await get("/example.com/lib/@v/v1.1.0.info");
    assertEquals(wrongVersion.status, 502);
    assertStringIncludes(await wrongVersion.text(), "v1.0.0");
    // Not a zip at all: an upstream fault, answered before any byte and not remembered.
    for (let i = 1; i <= 2; i++) {
      const notZip = await get("/example.com/lib/@v/v1.0.0.zip");
      assertEquals(notZip.status, 502);
      assertStringIncludes(await notZip.text(), 'not a zip file (it begins "this is not a zip")');
      assertEquals(upstream.counts.get("/example.com/lib/@v/v1.0.0.zip"), i);
    }
    // A zip that breaks the module rules is gone for good: 410, remembered.
    const path = "/example.com/lib/@v/v1.2.0-rc.1.zip";
    // Under one chunk, the zip is checked before any client hears "200".
    const response = await get(path);
    assertEquals(response.status, 410, path);
    assertStringIncludes(await response.text(), "v1.2.0-rc.1");
    const retried = await get(path);
    assertEquals(retried.status, 410, path);
    assertStringIncludes(await retried.text(), "not found");
    assertEquals(upstream.counts.get(path), 1);
  });
});

/** A checksum-database lookup as sum.golang.org shapes it (made-up hashes and signature). */
const LOOKUP = "42\nexample.com/lib v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" +
  "example.com/lib v1.0.0/go.mod h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n\n" +
  "go.sum database tree\n1234\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=\n\n" +
  "\u2014 sum.example.org Az3grnDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD\n";

/** What a captive portal or a filtering proxy answers, with 200, for any path. */
const LOGIN_PAGE =
  "<!DOCTYPE html>\n<html><body>Please sign in to use this network</body></html>\n";

Deno.test("a login page answered in place of a go.mod, zip, list or checksum record is refused and never stored", async () => {
  await withFixture(["--ttl", "0s"], async ({ get, universe, upstream, astera }) => {
    const lib = join(universe, "example.com/lib/@v");
    const list = await (await get("/example.com/lib/@v/list")).text();
    const db = join(universe, "sumdb/sum.example.org");
    await Deno.mkdir(join(db, "lookup/example.com"), { recursive: true });
    await Deno.mkdir(join(db, "tile/8/0"), { recursive: true });
    const originals = new Map<string, Uint8Array>();
    const files = [
      join(lib, "v1.0.0.mod"),
      join(lib, "list"),
      join(lib, "v1.0.0.zip"),
      join(db, "lookup/example.com/lib@v1.0.0"),
      join(db, "tile/8/0/002"),
    ];
    await Deno.writeTextFile(files[3], LOOKUP);
    await Deno.writeFile(files[4], noise(256 * 32, 4));
    for (const file of files) {
      originals.set(file, await Deno.readFile(file));
      await Deno.writeTextFile(file, LOGIN_PAGE);
    }

    const refused: [string, string][] = [
      ["/example.com/lib/@v/v1.0.0.mod", "not a go.mod file"],
      ["/example.com/lib/@v/v1.0.0.zip", "not a zip file"],
      ["/sumdb/sum.example.org/lookup/example.com/lib@v1.0.0", "not a checksum-database record"],
      ["/sumdb/sum.example.org/tile/8/0/002", "8192 bytes"],
    ];
    for (const [path, reason] of refused) {
      const response = await get(path);
      assertEquals(response.status, 502, path);
      assertStringIncludes(await response.text(), reason);
    }
    // The stored list is served while the refresh it started meets the login page and is refused.
    assertEquals(await (await get("/example.com/lib/@v/list")).text(), list);
    await astera.proxy.settle();
    assertEquals(await (await get("/example.com/lib/@v/list")).text(), list);

    for (const [file, original] of originals) await Deno.writeFile(file, original);
    for (const [path] of refused) {
      const response = await get(path);
      assertEquals(response.status, 200, path);
      assertEquals(await bytes(response), await Deno.readFile(join(universe, path)), path);
      assertEquals(upstream.counts.get(path), 2, `${path}: the refused answer was not kept`);
    }
  });
});

Deno.test("the checksum database is proxied: lookups and tiles kept forever, supported follows the upstream", async () => {
  await withFixture(["--ttl", "0s"], async ({ get, universe, upstream }) => {
    const db = join(universe, "sumdb/sum.example.org");
    await Deno.mkdir(join(db, "lookup/example.com"), { recursive: true });
    await Deno.mkdir(join(db, "tile/8/0"), { recursive: true });
    await Deno.writeTextFile(join(db, "supported"), "");
    await Deno.writeTextFile(join(db, "lookup/example.com/lib@v1.0.0"), LOOKUP);
    const tileBytes = noise(256 * 32, 3); // a full tile of height 8: 256 hashes of 32 bytes
    await Deno.writeFile(join(db, "tile/8/0/001"), tileBytes);

    const supported = await get("/sumdb/sum.example.org/supported");
    assertEquals(supported.status, 200);
    await supported.body?.cancel();
    for (let i = 0; i < 2; i++) {
      const lookup = await get("/sumdb/sum.example.org/lookup/example.com/lib@v1.0.0");
      assertEquals([lookup.status, await lookup.text()], [200, LOOKUP]);
      const tile = await get("/sumdb/sum.example.org/tile/8/0/001");
      assertEquals(tile.headers.get("content-type"), "application/octet-stream");
      assertEquals(await bytes(tile), tileBytes);
    }
    assertEquals(upstream.counts.get("/sumdb/sum.example.org/lookup/example.com/lib@v1.0.0"), 1);

    const unknown = await get("/sumdb/sum.example.org/lookup/example.com/nothere@v1.0.0");
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
    const hostile = await get("/sumdb/sum.example.org/lookup/../../etc/passwd");
    assertEquals(hostile.status, 404);
    await hostile.body?.cancel();

    upstream.failWith = 503;
    const stillSupported = await get("/sumdb/sum.example.org/supported");
    assertEquals(stillSupported.status, 200, "a stored answer outlives the upstream");
    await stillSupported.body?.cancel();
    const neverAsked = await get("/sumdb/other.example.org/supported");
    assertEquals(
      neverAsked.status,
      404,
      "unknown and unreachable: let the go command ask the database itself",
    );
    assertStringIncludes(await neverAsked.text(), "not reachable");
    const cachedLookup = await get("/sumdb/sum.example.org/lookup/example.com/lib@v1.0.0");
    assertEquals(cachedLookup.status, 200);
    await cachedLookup.body?.cancel();
  });
});

Deno.test("an answer once given is kept when the upstream later says not found", async () => {
  await withFixture(["--ttl", "0s"], async ({ get, universe, upstream, astera }) => {
    assertEquals(await (await get("/example.com/dep/@v/list")).text(), "v1.0.0\nv1.0.1\n");
    await Deno.remove(join(universe, "example.com/dep/@v/list"));
    await (await get("/example.com/dep/@v/list")).text();
    await astera.proxy.settle();
    assertEquals(
      upstream.counts.get("/example.com/dep/@v/list"),
      2,
      "the refresh asked and got 404",
    );
    const kept = await get("/example.com/dep/@v/list");
    assertEquals([kept.status, await kept.text()], [200, "v1.0.0\nv1.0.1\n"]);
  });
});

Deno.test("clients that hang up mid-zip release their streams and the server carries on", async () => {
  await withFixture([], async ({ get, file }) => {
    const path = "/example.com/big/@v/v1.0.0.zip";
    const expected = await file("example.com/big/@v/v1.0.0.zip");
    for (let round = 0; round < 2; round++) {
      // Round 0 hangs up while the zip is still downloading, round 1 while it streams from the store.
      const hangUps = await Promise.all(Array.from({ length: 10 }, async () => {
        const response = await get(path);
        const reader = response.body!.getReader();
        await reader.read();
        await reader.cancel();
        return response.status;
      }));
      assertEquals(hangUps, Array(10).fill(200));
      assertEquals(await bytes(await get(path)), expected, `round ${round}`);
    }
  });
});

Deno.test("a file:// upstream (a module cache's cache/download, say) serves like any other", async () => {
  await withFixture(
    (universe) => ["--upstream", `file://${universe}`],
    async ({ get, file, upstream }) => {
      for (
        const path of [
          "example.com/!upper/!pkg/@v/list",
          "example.com/old/@v/v2.0.0+incompatible.zip",
        ]
      ) {
        const response = await get(`/${path}`);
        assertEquals(response.status, 200, path);
        assertEquals(await bytes(response), await file(path), path);
      }
      const missing = await get("/example.com/nothere/@v/list");
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      assertEquals(upstream.counts.size, 0, "the HTTP upstream was never asked");
    },
  );
});

Deno.test("counters of several isolates add up, field by field", () => {
  const cases: { all: Record<string, unknown>[]; sum: Record<string, unknown> }[] = [
    { all: [], sum: {} },
    { all: [{ handler: { requests: 2 } }], sum: { handler: { requests: 2 } } },
    {
      all: [
        { handler: { requests: 2, errors: 0 }, store: { reads: 5 }, reclaim: { active: true } },
        { handler: { requests: 3, errors: 1 }, store: { reads: 7 }, reclaim: { active: false } },
      ],
      sum: { handler: { requests: 5, errors: 1 }, store: { reads: 12 }, reclaim: { active: true } },
    },
    {
      all: [{ a: { b: { c: 1 } } }, { a: { b: { c: 2, d: 4 } } }],
      sum: { a: { b: { c: 3, d: 4 } } },
    },
  ];
  for (const { all, sum } of cases) assertEquals(sumStats(all), sum, JSON.stringify(all));
});

Deno.test("checksum-database paths: only the go command's grammar reaches the upstream, data tiles are checked, private lookups stay home", async () => {
  await withFixture(["--private", "corp.example"], async ({ get, universe, upstream, astera }) => {
    const db = join(universe, "sumdb/sum.example.org");
    await Deno.mkdir(join(db, "tile/8/data/000.p"), { recursive: true });
    await Deno.mkdir(join(db, "lookup/corp.example"), { recursive: true });
    await Deno.writeTextFile(join(db, "lookup/corp.example/secret@v1.0.0"), LOOKUP);
    const asked = () => [...upstream.counts.keys()].filter((path) => path.startsWith("/sumdb/"));

    for (
      const path of [
        "lookup/x%3Fy=1@v1.0.0", // a decoded ? started a query string upstream
        "lookup/example.com/lib%23@v1.0.0", // a decoded # cut the path upstream
        "lookup/example.com/lib@v1.0.0%3Fx=1",
        "tile/8/data/000%23",
        "tile/31/0/000",
        "tile/8/0/000.p/256",
        "lookup/example.com/lib@v1.0",
      ]
    ) {
      const response = await get(`/sumdb/sum.example.org/${path}`);
      assertEquals(response.status, 404, path);
      assertStringIncludes(await response.text(), "not a checksum database path");
    }
    assertEquals(asked(), [], "none of them was asked upstream");

    const secret = await get("/sumdb/sum.example.org/lookup/corp.example/secret@v1.0.0");
    assertEquals(secret.status, 404);
    assertStringIncludes(await secret.text(), "corp.example/secret is private");
    assertEquals(asked(), [], "a private module's name never leaves");

    // A data tile is kept forever: a login page in its place is refused, not kept.
    const tile = "/sumdb/sum.example.org/tile/8/data/000.p/1";
    await Deno.writeTextFile(join(universe, tile), LOGIN_PAGE);
    const refused = await get(tile);
    assertEquals(refused.status, 502);
    assertStringIncludes(await refused.text(), "not a data tile of 1 records");
    const record = LOOKUP.slice(LOOKUP.indexOf("\n") + 1, LOOKUP.indexOf("\n\n") + 2);
    await Deno.writeTextFile(join(universe, tile), record);
    for (let i = 0; i < 2; i++) {
      const served = await get(tile);
      assertEquals([served.status, await served.text()], [200, record]);
    }
    assertEquals(upstream.counts.get(tile), 2, "asked again after the refusal, then kept");
    await astera.proxy.settle();
  }, () => ({ fetch: () => Promise.reject(new Error("no private module is asked for here")) }));
});
