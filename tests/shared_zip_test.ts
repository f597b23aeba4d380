/**
 * A replica isolate's proxy asking the primary's for zips over a real
 * `MessageChannel`, both on one real SQLite file, the primary fetching from a
 * real (throttled) HTTP upstream: the replica streams a zip while the primary
 * downloads it, and the zip still leaves the upstream once.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { silentLogger } from "../lib/log.ts";
import { ModuleProxy, type Reply } from "../lib/proxy/mod.ts";
import { answerZipQuestions, askPrimaryForZips } from "../lib/isolates/shared_zip.ts";
import { SqliteStore } from "../lib/store/mod.ts";
import { createUpstream, MAX_FRUITLESS_RESUMES } from "../lib/sources/mod.ts";
import { type FileProxy, startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

const BIG_ZIP = "example.com/big/@v/v1.0.0.zip";

async function readReply(proxy: ModuleProxy, reply: Reply): Promise<Uint8Array> {
  const stream = reply.type === "live-zip"
    ? reply.download.open()
    : reply.type === "stored-zip"
    ? proxy.openStoredZip(reply.meta, 0, reply.meta.size)
    : undefined;
  assert(stream, `expected a zip, got ${reply.type}`);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function isolates(work: string, upstreamUrl: string) {
  const db = join(work, "astera.db");
  const log = silentLogger;
  const settings = {
    freshMs: 60_000,
    negativeMs: 60_000,
    cacheBytes: 1 << 20,
    cacheTtlMs: 1000,
    log,
  };
  const primaryStore = SqliteStore.open(db);
  const primary = new ModuleProxy({
    ...settings,
    store: primaryStore,
    upstream: createUpstream([{ url: upstreamUrl, fallThroughOnError: false }], {
      timeoutMs: 30_000,
    }),
  });
  const channel = new MessageChannel();
  answerZipQuestions(channel.port1, primary);
  const replicaStore = SqliteStore.open(db);
  const replica = new ModuleProxy({
    ...settings,
    store: replicaStore,
    upstream: createUpstream([{ url: "off", fallThroughOnError: false }], { timeoutMs: 1 }),
    storedOnly: true,
    primaryZip: askPrimaryForZips(channel.port2),
  });
  return {
    primary,
    replica,
    async close() {
      await primary.settle();
      channel.port1.close();
      channel.port2.close();
      primaryStore.close();
      replicaStore.close();
    },
  };
}

/** An upstream the test runs: a file proxy, or a server of its own. */
interface TestUpstream {
  url: string;
  close(): Promise<void>;
}

/** Writes a universe with a big zip of `bigBytes`, starts its upstream and both isolates. */
async function withIsolates(
  bigBytes: number,
  startUpstream: (universe: string) => Promise<TestUpstream>,
  fn: (context: { universe: string; primary: ModuleProxy; replica: ModuleProxy }) => Promise<void>,
): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "astera-sharedzip-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(bigBytes));
  const upstream = await startUpstream(universe);
  const { primary, replica, close } = isolates(work, upstream.url);
  try {
    await fn({ universe, primary, replica });
  } finally {
    await close();
    await upstream.close();
    await removeTree(work);
  }
}

Deno.test("a replica streams a zip the primary is downloading, and it leaves the upstream once", async () => {
  let upstream: FileProxy | undefined;
  // Slow enough that the zip is still arriving while both isolates serve it.
  const start = async (root: string) =>
    upstream = await startFileProxy({ root, bytesPerSecond: 4 * 1024 * 1024 });
  await withIsolates(3 * 1024 * 1024, start, async ({ universe, primary, replica }) => {
    const expected = await Deno.readFile(join(universe, BIG_ZIP));
    const fromReplica = await replica.zip("example.com/big", "v1.0.0");
    assertEquals(fromReplica.type, "live-zip", "the replica asked first: the download is live");
    const fromPrimary = await primary.zip("example.com/big", "v1.0.0");
    assertEquals(fromPrimary.type, "live-zip");
    const [replicaBytes, primaryBytes] = await Promise.all([
      readReply(replica, fromReplica),
      readReply(primary, fromPrimary),
    ]);
    assertEquals(replicaBytes, expected);
    assertEquals(primaryBytes, expected);

    const again = await replica.zip("example.com/big", "v1.0.0");
    assertEquals(again.type, "stored-zip", "once stored, the replica reads it without asking");
    assertEquals(await readReply(replica, again), expected);
    assertEquals(upstream!.counts.get("/" + BIG_ZIP), 1);
  });
});

Deno.test("a replica gives the primary's not-found or error as is, and the upstream is asked once", async () => {
  let upstream: FileProxy | undefined;
  const start = async (root: string) => upstream = await startFileProxy({ root });
  await withIsolates(1024, start, async ({ primary, replica }) => {
    const missing = await replica.zip("example.com/big", "v9.9.9");
    assertEquals(missing.type, "not-found");
    assertEquals((await primary.zip("example.com/big", "v9.9.9")).type, "not-found");
    assertEquals(upstream!.counts.get("/example.com/big/@v/v9.9.9.zip"), 1);

    upstream!.failWith = 503;
    const failed = await replica.zip("example.com/big", "v1.0.0");
    assertEquals(failed.type, "error");
    assert(failed.type === "error" && failed.status === 502, JSON.stringify(failed));
    assertEquals(upstream!.counts.get("/" + BIG_ZIP), 1, "not asked again by a forwarded request");
  });
});

Deno.test("a replica following a download that breaks off errors its client and asks again next time", async () => {
  let zipRequests = 0;
  // An upstream that promises the whole zip and hangs up after half of it.
  const start = async (root: string): Promise<TestUpstream> => {
    const zip = await Deno.readFile(join(root, BIG_ZIP));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const answer = (conn: Deno.Conn, head: string, body?: Uint8Array) =>
      conn.write(new TextEncoder().encode(head))
        .then(() => body && conn.write(body))
        .catch(() => 0);
    const serving = (async () => {
      for await (const conn of listener) {
        const head = new Uint8Array(16 * 1024);
        const n = await conn.read(head);
        const line = new TextDecoder().decode(head.subarray(0, n ?? 0)).split("\r\n")[0];
        if (line.includes(".zip ")) {
          zipRequests++;
          await answer(
            conn,
            `HTTP/1.1 200 OK\r\ncontent-length: ${zip.byteLength}\r\nconnection: close\r\n\r\n`,
            zip.slice(0, zip.byteLength / 2),
          );
        } else {
          await answer(
            conn,
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
          );
        }
        conn.close();
      }
    })().catch(() => {});
    return {
      url: `http://127.0.0.1:${listener.addr.port}`,
      async close() {
        listener.close();
        await serving;
      },
    };
  };
  await withIsolates(2 * 1024 * 1024, start, async ({ replica }) => {
    const first = await replica.zip("example.com/big", "v1.0.0");
    assertEquals(first.type, "live-zip");
    const outcome = await readReply(replica, first).then(() => "complete", () => "error");
    assertEquals(outcome, "error", "a client never gets a complete-looking broken zip");
    const second = await replica.zip("example.com/big", "v1.0.0");
    assertEquals(second.type, "live-zip", "the replica asks the primary again");
    assertEquals(await readReply(replica, second).then(() => "complete", () => "error"), "error");
    // Each time: the zip, and the resumptions, which this upstream breaks at the same byte.
    assertEquals(zipRequests, 2 * (1 + MAX_FRUITLESS_RESUMES));
  });
});
