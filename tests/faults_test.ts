/**
 * Faults: a crash in the middle of a download, an upstream that lies about
 * lengths, a link that drops part-way through zips, a database another
 * process keeps locked, and bad command lines. Nothing truncated may ever be stored, the
 * database must stay consistent, and bad input gets one clear line. The
 * tests about upstream faults whose outcome reaches the store run over SQLite
 * and over PostgreSQL; the crash (see its comment), those that lock the
 * SQLite file or open it in this process, and those about the command line or
 * answers never stored stay on SQLite.
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { silentLogger } from "../lib/log.ts";
import { ModuleProxy, type Reply } from "../lib/proxy/mod.ts";
import { SqliteStore, type Store } from "../lib/store/mod.ts";
import { createUpstream, MAX_FRUITLESS_RESUMES } from "../lib/sources/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { type AsteraProcess, startAsteraProcess } from "./astera_process.ts";
import {
  type FileProxy,
  type FileProxyOptions,
  serveUniverse,
  startFileProxy,
} from "./file_proxy.ts";
import { makeGoClient, removeTree } from "./go_tool.ts";
import { CONCURRENT_CLIENTS, workflow } from "./workflow.ts";
import { standardUniverse } from "./universe.ts";
import { type FreshStore, testOnEachBackend } from "./store_backends.ts";

const BIG = "/example.com/big/@v/v1.0.0.zip";

// SQLite only: on PostgreSQL the restarted instance follows the crashed one's published blob (200)
// until its lease expires, by design; postgres_e2e_test.ts covers kill -9 mid-download there.
Deno.test("a crash in the middle of a zip download stores nothing; after a restart the zip arrives whole", async () => {
  // Slow enough that the download is surely under way when we kill the server.
  const { work, universe, upstream, remove } = await serveUniverse(
    "astera-crash-",
    standardUniverse(3 * 1024 * 1024),
    { bytesPerSecond: 1024 * 1024 },
  );
  const db = join(work, "astera.db");
  try {
    const first = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
    const response = await fetch(first.url + BIG);
    assertEquals(response.status, 200);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    assert(value && value.byteLength > 0, "some bytes arrived before the crash");
    assertEquals(await first.stop("SIGKILL"), 137);
    await reader.cancel().catch(() => {});

    upstream.failWith = 503;
    const second = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
    try {
      const refused = await fetch(second.url + BIG);
      assertEquals(refused.status, 502, "no half-stored zip is served");
      await refused.body?.cancel();
      upstream.failWith = null;
      const whole = new Uint8Array(await (await fetch(second.url + BIG)).arrayBuffer());
      assertEquals(whole, await Deno.readFile(join(universe, BIG)));
    } finally {
      await second.stop();
    }
  } finally {
    await remove();
  }
});

/** An upstream that announces more bytes than it sends, then hangs up. */
function lyingUpstream(announced: number, sent: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let requests = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      requests++;
      (async () => {
        await conn.read(new Uint8Array(64 * 1024));
        const head =
          `HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: ${announced}\r\n` +
          "connection: close\r\n\r\n";
        await conn.write(new TextEncoder().encode(head));
        // It begins like a zip, so only the missing bytes give it away.
        let left = sent - await conn.write(new Uint8Array([0x50, 0x4b, 0x03, 0x04]));
        while (left > 0) left -= await conn.write(new Uint8Array(Math.min(left, 65536)));
        conn.close();
      })().catch(() => conn.close());
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    requests: () => requests,
    close: async () => {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

testOnEachBackend(
  "a truncated upstream answer is never stored and never served complete",
  async (_t, { freshStore }) => {
    const work = await Deno.makeTempDir({ prefix: "astera-truncated-" });
    const upstream = lyingUpstream(1_000_000, 600_000);
    const astera = await startAsteraProcess([
      "--db",
      await freshStore(work),
      "--upstream",
      upstream.url,
    ]);
    try {
      for (let attempt = 1; attempt <= 2; attempt++) {
        const response = await fetch(`${astera.url}/example.com/m/@v/v1.0.0.zip`);
        if (response.status === 200) {
          const received = await response.arrayBuffer().then((b) => b.byteLength, () => -1);
          assert(
            received < 1_000_000,
            `attempt ${attempt}: the client must not get a complete zip`,
          );
        } else {
          assertEquals(response.status, 502);
          assertStringIncludes(await response.text(), "example.com/m@v1.0.0 .zip");
        }
        // Each attempt: the request, and the resumptions, which this upstream truncates as well.
        assertEquals(
          upstream.requests(),
          (1 + MAX_FRUITLESS_RESUMES) * attempt,
          "nothing stored: the next request asks again",
        );
      }
      const mod = await fetch(`${astera.url}/example.com/m/@v/v1.0.0.mod`);
      assertEquals(mod.status, 502);
      assertStringIncludes(await mod.text(), "example.com/m@v1.0.0 .mod");
      const health = await fetch(`${astera.url}/healthz`);
      assertEquals(health.status, 200, "the server stays up");
      await health.body?.cancel();
    } finally {
      await astera.stop();
      await upstream.close();
      await removeTree(work);
    }
  },
);

testOnEachBackend(
  "a go.mod answered without a length is kept only when it parses whole",
  async (_t, { freshStore }) => {
    // Answers end where the connection closes: nothing tells a cut-short body from a whole one.
    const whole = "module example.com/m\n\nrequire (\n\texample.com/x v1.0.0\n)\n";
    const bodies = new Map([
      ["/example.com/m/@v/v1.0.0.mod", whole],
      ["/example.com/m/@v/v1.1.0.mod", whole.slice(0, 40)],
    ]);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      for await (const conn of listener) {
        const head = new Uint8Array(16 * 1024);
        const n = await conn.read(head) ?? 0;
        const path = new TextDecoder().decode(head.subarray(0, n)).split(" ")[1];
        const body = bodies.get(path);
        const answer = body === undefined
          ? "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
          : `HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${body}`;
        await conn.write(new TextEncoder().encode(answer)).catch(() => 0);
        conn.close();
      }
    })().catch(() => {});
    const work = await Deno.makeTempDir({ prefix: "astera-unframed-" });
    const url = `http://127.0.0.1:${listener.addr.port}`;
    const astera = await startAsteraProcess(["--db", await freshStore(work), "--upstream", url]);
    try {
      const kept = await fetch(`${astera.url}/example.com/m/@v/v1.0.0.mod`);
      assertEquals([kept.status, await kept.text()], [200, whole]);
      const cut = await fetch(`${astera.url}/example.com/m/@v/v1.1.0.mod`);
      assertEquals(cut.status, 502);
      assertStringIncludes(await cut.text(), "does not parse as a go.mod");
      bodies.set("/example.com/m/@v/v1.1.0.mod", whole);
      const again = await fetch(`${astera.url}/example.com/m/@v/v1.1.0.mod`);
      assertEquals(
        [again.status, await again.text()],
        [200, whole],
        "nothing was stored or remembered",
      );
    } finally {
      await astera.stop(); // the whole log is read once it has stopped
      listener.close();
      await serving;
      await removeTree(work);
    }
    assert(
      astera.log.some((line) => line.includes("answer-refused") && line.includes("v1.1.0")),
      "the refusal is logged",
    );
  },
);

/** A proxy in this process over `store` and the upstream at `url`, TTLs of a minute. */
function proxyOver(store: Store, url: string, now?: () => number): ModuleProxy {
  return new ModuleProxy({
    store,
    upstream: createUpstream([{ url, fallThroughOnError: false }], { timeoutMs: 30_000 }),
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 60_000,
    log: silentLogger,
    now,
  });
}

Deno.test("with the database locked by another process, clients still get the upstream's go.mod and a clear 503 for a zip", async () => {
  const { work, universe, upstream, remove } = await serveUniverse(
    "astera-locked-",
    standardUniverse(1024 * 1024),
  );
  const db = join(work, "astera.db");
  const store = SqliteStore.open(db, { writeDeadlineMs: 100 });
  const proxy = proxyOver(store, upstream.url);
  const bytesOf = (reply: Reply) => {
    assert(reply.type === "bytes", `expected bytes, got ${JSON.stringify(reply)}`);
    return reply.bytes;
  };
  // A seed (or anything else) holding the write lock past the store's deadline.
  const other = new DatabaseSync(db);
  try {
    other.exec("BEGIN IMMEDIATE");
    const mod = bytesOf(await proxy.mod("example.com/lib", "v1.1.0"));
    assertEquals(mod, await Deno.readFile(join(universe, "example.com/lib/@v/v1.1.0.mod")));
    const info = bytesOf(await proxy.info("example.com/lib", "v1.1.0"));
    assertEquals(info, await Deno.readFile(join(universe, "example.com/lib/@v/v1.1.0.info")));
    assertEquals(await store.artifact("example.com/lib", "v1.1.0", "mod"), undefined);
    for (const module of ["example.com/lib", "example.com/big"]) {
      const zip = await proxy.zip(module, "v1.0.0");
      assert(zip.type === "error", `${module}: ${zip.type}`);
      assertEquals(zip.status, 503);
      assertStringIncludes(zip.message, "database busy");
    }
    other.exec("COMMIT");

    // Nothing was stored or remembered: the next requests ask again and store.
    bytesOf(await proxy.mod("example.com/lib", "v1.1.0"));
    assertEquals(upstream.counts.get("/example.com/lib/@v/v1.1.0.mod"), 2);
    assert(
      await store.artifact("example.com/lib", "v1.1.0", "mod"),
      "stored once the lock is gone",
    );
    const zip = await proxy.zip("example.com/big", "v1.0.0");
    assert(zip.type === "live-zip" || zip.type === "stored-zip", zip.type);
    const stream = zip.type === "live-zip"
      ? zip.download.open()
      : proxy.openStoredZip(zip.meta, 0, zip.meta.size);
    assertEquals(
      new Uint8Array(await new Response(stream).arrayBuffer()),
      await Deno.readFile(join(universe, "example.com/big/@v/v1.0.0.zip")),
    );
  } finally {
    await proxy.settle();
    other.close();
    store.close();
    await remove();
  }
});

/** A universe with a 3 MiB zip, a file upstream over it with `options`, and Astera over that. */
async function withFlakyUpstream(
  freshStore: FreshStore,
  options: Omit<FileProxyOptions, "root">,
  fn: (fixture: { universe: string; upstream: FileProxy; astera: AsteraProcess }) => Promise<void>,
): Promise<void> {
  const { work, universe, upstream, remove } = await serveUniverse(
    "astera-flaky-",
    standardUniverse(3 * 1024 * 1024 + 123),
    options,
  );
  try {
    const db = await freshStore(work);
    const astera = await startAsteraProcess(["--db", db, "--upstream", upstream.url]);
    try {
      await fn({ universe, upstream, astera });
    } finally {
      await astera.stop();
    }
  } finally {
    await remove();
  }
}

testOnEachBackend(
  "zips whose connection drops part-way are resumed where they broke, once for all the clients waiting; go gets what it gets direct",
  async (_t, { freshStore }) => {
    // Every zip's first answer breaks off after 100 bytes; asked again with a Range, it goes on.
    await withFlakyUpstream(
      freshStore,
      { breakZipsAfter: 100 },
      async ({ universe, upstream, astera }) => {
        const direct = await startFileProxy({ root: universe });
        const buildCache = join(universe, "..", "gocache");
        try {
          const oracle = await workflow(direct.url, buildCache);
          const outcomes = await Promise.all(
            Array.from({ length: CONCURRENT_CLIENTS }, () => workflow(astera.url, buildCache)),
          );
          for (const outcome of outcomes) assertEquals(outcome, oracle);
        } finally {
          await direct.close();
        }
        const zips = [...upstream.counts].filter(([path]) => path.endsWith(".zip"));
        assert(zips.some(([path]) => path.endsWith("example.com/big/@v/v1.0.0.zip")), "big zip");
        for (const [path, count] of zips) {
          assertEquals(count, 2, `${path}: the broken answer and its resumption, never a refetch`);
          const ranges = upstream.ranges.get(path) ?? [];
          assertEquals(ranges.length, 1, path);
          assert(
            /^bytes=\d+-$/.test(ranges[0]) && Number(ranges[0].slice(6, -1)) <= 100,
            ranges[0],
          );
        }
      },
    );
  },
);

testOnEachBackend(
  "an upstream that ignores ranges: a broken zip is read again from its start and goes on where it broke",
  async (_t, { freshStore }) => {
    await withFlakyUpstream(
      freshStore,
      { breakZipsAfter: 1000, ranges: "ignore" },
      async ({ universe, upstream, astera }) => {
        const answer = await fetch(`${astera.url}${BIG}`);
        assertEquals(answer.status, 200);
        assertEquals(
          new Uint8Array(await answer.arrayBuffer()),
          await Deno.readFile(join(universe, BIG)),
        );
        assertEquals(upstream.counts.get(BIG), 2, "broken, then whole again");
        assertEquals(upstream.ranges.get(BIG)?.length, 1);
      },
    );
  },
);

testOnEachBackend(
  "an upstream that cannot resume a broken zip: the download fails with why, and the next request asks again",
  async (_t, { freshStore }) => {
    await withFlakyUpstream(
      freshStore,
      { breakZipsAfter: 1000, ranges: "refuse" },
      async ({ universe, upstream, astera }) => {
        const first = await fetch(`${astera.url}${BIG}`);
        assertEquals(first.status, 502);
        assertStringIncludes(await first.text(), "cannot resume at byte");
        // The first answer for a path is the only one that breaks: the next request gets it whole.
        const second = await fetch(`${astera.url}${BIG}`);
        assertEquals(second.status, 200);
        assertEquals(
          new Uint8Array(await second.arrayBuffer()),
          await Deno.readFile(join(universe, BIG)),
        );
        assertEquals(upstream.counts.get(BIG), 3, "broken, refused range, whole");
      },
    );
  },
);

/** Flips a byte in the middle of the first entry's data; the zip's directory stays intact. */
async function damageFirstEntry(path: string): Promise<Uint8Array> {
  const zip = await Deno.readFile(path);
  const damaged = zip.slice();
  const header = new DataView(damaged.buffer);
  const dataStart = 30 + header.getUint16(26, true) + header.getUint16(28, true);
  damaged[dataStart + Math.floor(header.getUint32(18, true) / 2)] ^= 0xff;
  await Deno.writeFile(path, damaged);
  return zip;
}

testOnEachBackend(
  "a zip damaged on the way is neither stored nor remembered as gone: the next request gets it whole",
  async (_t, { freshStore }) => {
    await withFlakyUpstream(freshStore, {}, async ({ universe, upstream, astera }) => {
      const small = "/example.com/lib/@v/v1.0.0.zip";
      const originals = new Map<string, Uint8Array>();
      for (const path of [small, BIG]) {
        originals.set(path, await damageFirstEntry(join(universe, path)));
      }

      const refused = await fetch(astera.url + small);
      assertEquals(refused.status, 502, "a zip of one chunk is checked before anyone hears 200");
      assertStringIncludes(await refused.text(), "damaged");
      // A bigger one is streamed as it arrives: its clients see the transfer break.
      const streamed = await fetch(astera.url + BIG);
      const outcome = await streamed.arrayBuffer().then(() => "whole", () => "broken");
      if (streamed.status === 200) assertEquals(outcome, "broken");
      else assertEquals(streamed.status, 502);

      for (const [path, original] of originals) {
        await Deno.writeFile(join(universe, path), original);
        const again = await fetch(astera.url + path);
        assertEquals(again.status, 200, path);
        assertEquals(new Uint8Array(await again.arrayBuffer()), original, path);
        assertEquals(upstream.counts.get(path), 2, `${path}: asked again, not remembered`);
      }
    });
  },
);

Deno.test("after the clock goes back, answers stamped in its future are refreshed, not kept for the jump", async () => {
  const { work, upstream, remove } = await serveUniverse(
    "astera-clock-",
    standardUniverse(1024),
  );
  const day = 24 * 60 * 60 * 1000;
  let time = Date.UTC(2026, 10, 25) + day; // a clock a day ahead
  const store = SqliteStore.open(join(work, "astera.db"), { now: () => time });
  const proxy = proxyOver(store, upstream.url, () => time);
  try {
    // Asks for a module's list and a missing module's, lets refreshes finish, counts upstream asks.
    const ask = async () => {
      const found = await proxy.list("example.com/lib");
      const missing = await proxy.list("example.com/nothere");
      await proxy.settle();
      assertEquals([found.type, missing.type], ["bytes", "not-found"]);
      return ["/example.com/lib/@v/list", "/example.com/nothere/@v/list"].map((path) =>
        upstream.counts.get(path)
      );
    };
    assertEquals(await ask(), [1, 1]);
    time += 1000; // within the TTL: from the cache
    assertEquals(await ask(), [1, 1]);
    time -= day; // NTP sets the clock right
    // Served as stale while a refresh runs, as any answer past its TTL.
    assertEquals(await ask(), [2, 2], "answers from the future are asked again");
    assertEquals(await ask(), [2, 2], "and then fresh again, by the right clock");
  } finally {
    await proxy.settle();
    store.close();
    await remove();
  }
});

async function runMain(args: string[]): Promise<{ code: number; stderr: string }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("bad command lines and unusable databases exit before listening, with one clear line", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-cli-" });
  try {
    const cases: [string[], number, string][] = [
      [["--bogus"], 2, "bogus"],
      [["--listen", "nowhere"], 2, "--listen"],
      [["--upstream", "ftp://example.com"], 2, "only http, https and file"],
      [["--ttl", "forever"], 2, "--ttl"],
      [["--listen", "127.0.0.1:0", "--db", join(work, "missing/dir/astera.db")], 1, "cannot start"],
      [["--listen", "127.0.0.1:0", "--db", work], 1, "cannot start"],
    ];
    for (const [args, code, part] of cases) {
      const result = await runMain(args);
      assertEquals(result.code, code, `${args.join(" ")}: ${result.stderr}`);
      const lines = result.stderr.trim().split("\n");
      assertEquals(lines.length, 1, `${args.join(" ")}: ${result.stderr}`);
      assertStringIncludes(lines[0], part);
    }
  } finally {
    await removeTree(work);
  }
});

/** A password with every kind of character a URL's password may hold as it is (not `,` or `|`, which separate upstreams). */
const PASSWORD = "s3cr'\"!$%&()*+;=:@~ <>[]^{}`é\u00a0t";

Deno.test("an upstream's password reaches no answer and no log line, whatever its characters", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-password-" });
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    return path.endsWith(".mod")
      ? new Response("not found: no such module\n", { status: 404 })
      : new Response("upstream failing on purpose\n", { status: 500 });
  });
  const origin = `http://127.0.0.1:${upstream.addr.port}`;
  const withPassword = `http://user:${PASSWORD}@127.0.0.1:${upstream.addr.port}`;
  assertEquals(new URL(withPassword).host, `127.0.0.1:${upstream.addr.port}`, "one URL");
  const astera = await startAsteraProcess([
    "--db",
    join(work, "astera.db"),
    "--upstream",
    `${withPassword}|off`,
  ]);
  const bodies: string[] = [];
  try {
    const expected: [string, number][] = [
      ["/example.com/m/@v/v1.0.0.info", 502],
      ["/example.com/m/@v/v1.0.0.mod", 404],
      ["/example.com/m/@v/list", 404],
      ["/example.com/m/@latest", 404],
    ];
    for (const [path, status] of expected) {
      const response = await fetch(`${astera.url}${path}`);
      const body = await response.text();
      assertEquals(response.status, status, `${path}: ${body}`);
      bodies.push(body);
    }
    // The upstream is still named, so the answer says which one failed.
    assertStringIncludes(bodies[0], `upstream ${origin}: example.com/m@v1.0.0 .info: status 500`);
    const bad = await runMain(["--upstream", `http://user:${PASSWORD}#x@127.0.0.1:1/?q`]);
    assertEquals(bad.code, 2, bad.stderr);
    bodies.push(bad.stderr);
  } finally {
    await astera.stop();
    await upstream.shutdown();
    await removeTree(work);
  }
  const listening = astera.log.find((line) => line.includes(" listening "));
  assertStringIncludes(listening ?? "", `upstream=${origin}|off`);
  assert(astera.log.some((line) => line.includes("upstream-unreachable")), "failures are logged");
  for (const text of [...bodies, ...astera.log]) {
    assert(!/s3cr/.test(text), `the password leaked: ${text}`);
  }
});

/** What {@linkcode rawUpstream} sends for a path: a head (status line and headers) and a body. */
interface RawAnswer {
  head: string;
  body?: Uint8Array;
  /** Send the body a byte at a time, this long apart. */
  trickleMs?: number;
  /** Then this many bytes of headers more, before the blank line. */
  padHeaders?: number;
}

/** An upstream over raw TCP, so an answer can be anything: unframed, trickled, all headers. */
function rawUpstream(answer: (path: string) => RawAnswer) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encode = (text: string) => new TextEncoder().encode(text);
  const serve = async (conn: Deno.Conn) => {
    const request = new Uint8Array(16 * 1024);
    const n = await conn.read(request) ?? 0;
    const path = new TextDecoder().decode(request.subarray(0, n)).split(" ")[1];
    const { head, body = new Uint8Array(), trickleMs, padHeaders = 0 } = answer(path);
    await conn.write(encode(`${head}\r\nconnection: close\r\n`));
    const pad = encode(`x-pad: ${"a".repeat(1000)}\r\n`);
    for (let sent = 0; sent < padHeaders; sent += pad.length) await conn.write(pad);
    await conn.write(encode("\r\n"));
    if (trickleMs === undefined) {
      for (let at = 0; at < body.length;) at += await conn.write(body.subarray(at));
    } else {
      for (const byte of body) {
        await conn.write(new Uint8Array([byte]));
        await new Promise((resolve) => setTimeout(resolve, trickleMs));
      }
    }
  };
  const serving = (async () => {
    for await (const conn of listener) serve(conn).catch(() => {}).finally(() => conn.close());
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    close: async () => {
      listener.close();
      await serving;
    },
  };
}

Deno.test("a hostile .info is refused before it is parsed, a 15 MB .mod without a length is read at once, and neither harms the server", async () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const nested = (depth: number) =>
    encode(`{"Version":"v1.0.0","X":${"[".repeat(depth)}${"]".repeat(depth)}}`);
  const good = encode('{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}');
  const bigMod = encode(
    "module example.com/m\n\nrequire (\n" + "\texample.com/x v1.0.0\n".repeat(700_000) + ")\n",
  );
  const bodies = new Map<string, Uint8Array>([
    ["/example.com/m/@v/v1.0.0.info", nested(3 << 20)], // the 3 MB of the issue
    ["/example.com/n/@v/v1.0.0.info", nested(10_000)], // one level deeper than go reads
    ["/example.com/m/@v/v1.0.0.mod", bigMod],
  ]);
  const upstream = rawUpstream((path) => {
    const body = bodies.get(path);
    if (body === undefined) return { head: "HTTP/1.1 404 Not Found\r\ncontent-length: 0" };
    // The .mod goes without a length, so only a whole parse vouches for its end.
    const length = path.endsWith(".mod") ? "" : `\r\ncontent-length: ${body.length}`;
    return { head: `HTTP/1.1 200 OK${length}`, body };
  });
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-info-" });
  const astera = await startAsteraProcess([
    "--db",
    join(work, "astera.db"),
    "--upstream",
    upstream.url,
  ]);
  try {
    const [big, deep, mod, health] = await Promise.all([
      fetch(`${astera.url}/example.com/m/@v/v1.0.0.info`),
      fetch(`${astera.url}/example.com/n/@v/v1.0.0.info`),
      fetch(`${astera.url}/example.com/m/@v/v1.0.0.mod`),
      fetch(`${astera.url}/healthz`),
    ]);
    assertEquals(big.status, 502);
    assertStringIncludes(await big.text(), "exceeds the limit of 65536");
    assertEquals(deep.status, 502);
    assertStringIncludes(await deep.text(), "JSON nested deeper than 10000 levels");
    assertEquals(mod.status, 200);
    assertEquals(new Uint8Array(await mod.arrayBuffer()), bigMod);
    assertEquals([health.status, await health.text()], [200, "ok\n"]);
    // Nothing hostile was stored: once the upstream is right, so is the answer.
    bodies.set("/example.com/m/@v/v1.0.0.info", good);
    bodies.set("/example.com/n/@v/v1.0.0.info", good);
    for (const module of ["m", "n"]) {
      const again = await fetch(`${astera.url}/example.com/${module}/@v/v1.0.0.info`);
      assertEquals(
        [again.status, await again.text()],
        [200, new TextDecoder().decode(good)],
        `Astera's log:\n${astera.log.join("\n")}`,
      );
    }
  } finally {
    await astera.stop();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("a small answer trickled past its deadline and one of 20 MB of headers get a 502 saying why", async () => {
  const info = new TextEncoder().encode('{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}');
  const upstream = rawUpstream((path) =>
    path.includes("/slow/")
      ? { head: `HTTP/1.1 200 OK\r\ncontent-length: ${info.length}`, body: info, trickleMs: 100 }
      : { head: "HTTP/1.1 200 OK\r\ncontent-length: 0", padHeaders: 20 << 20 }
  );
  const work = await Deno.makeTempDir({ prefix: "astera-deadline-" });
  const astera = await startAsteraProcess([
    "--db",
    join(work, "astera.db"),
    "--upstream",
    upstream.url,
    "--upstream-timeout",
    "1s",
  ]);
  try {
    const slow = await fetch(`${astera.url}/example.com/slow/@v/v1.0.0.info`);
    assertEquals(slow.status, 502);
    assertStringIncludes(
      await slow.text(),
      "example.com/slow@v1.0.0 .info: the answer did not arrive whole within 1000 ms",
    );
    const headers = await fetch(`${astera.url}/example.com/headers/@v/v1.0.0.mod`);
    assertEquals(headers.status, 502);
    assertStringIncludes(await headers.text(), "message head is too large");
  } finally {
    await astera.stop();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("an upstream's refusal (403, 400) reaches the go command as it does going direct, status and message", async () => {
  const { work, upstream, remove } = await serveUniverse(
    "astera-refusal-",
    standardUniverse(64 * 1024),
  );
  const astera = await startAsteraProcess([
    "--db",
    join(work, "astera.db"),
    "--upstream",
    upstream.url,
  ]);
  const buildCache = join(work, "gocache");
  // What the go command says through `proxy`: each run with an empty module cache, so it asks.
  const goSays = async (proxy: string, args: string[]) => {
    const go = await makeGoClient(`${proxy},off`, buildCache);
    try {
      const result = await go.run(work, args, true);
      return `exit ${result.code}\n${result.stdout}${result.stderr}`.replaceAll(proxy, "PROXY")
        .replaceAll(go.home, "HOME");
    } finally {
      await go.remove();
    }
  };
  const blocked = "blocked by policy: example.com/lib is not allowed here\ncontact it@corp.example";
  const cases: [string, number, string[]][] = [
    ["/example.com/lib/@v/list", 403, ["list", "-m", "-versions", "example.com/lib"]],
    ["/example.com/lib/@v/v1.0.0.info", 400, [
      "mod",
      "download",
      "-json",
      "example.com/lib@v1.0.0",
    ]],
    ["/example.com/lib/@v/v1.0.0.mod", 403, ["mod", "download", "-json", "example.com/lib@v1.0.0"]],
    ["/example.com/dep/@v/v1.0.0.zip", 403, ["mod", "download", "-json", "example.com/dep@v1.0.0"]],
  ];
  try {
    for (const [path, status, args] of cases) {
      upstream.refusals.clear();
      upstream.refusals.set(path, { status, message: blocked });
      const direct = await goSays(upstream.url, args);
      assertStringIncludes(direct, `${status} `, "the oracle saw the refusal");
      assertStringIncludes(direct, "blocked by policy: example.com/lib");
      assertEquals(await goSays(astera.url, args), direct, path);
    }
    // Refusals are not remembered: once the upstream allows the module, it is served.
    upstream.refusals.clear();
    const allowed = await goSays(astera.url, [
      "mod",
      "download",
      "-json",
      "example.com/dep@v1.0.0",
    ]);
    assertStringIncludes(allowed, "exit 0");
  } finally {
    await astera.stop();
    await remove();
  }
});
