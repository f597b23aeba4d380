/**
 * Hostile request targets, sent as raw bytes over TCP to a running Astera:
 * valid GOPROXY paths mangled at random (seeded, so a failure repeats), for
 * public modules (two isolates over a local upstream) and for private ones
 * (served from a real git repository). The server must answer each with a
 * well-formed response and a status a client can act on, never serve bytes
 * that belong to another path, log no error, and keep every stored artifact
 * intact. `SEED=n N=requests deno task test
 * tests/hostile_test.ts` mangles differently, or more.
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startAstera } from "../lib/app.ts";
import { createGitSource } from "../lib/sources/git/mod.ts";
import { parseConfig } from "../lib/config.ts";
import type { Logger } from "../lib/log.ts";
import { escapePath, escapeVersion } from "../lib/mod/module.ts";
import { assert, assertEquals } from "./assert.ts";
import { startFileProxy } from "./file_proxy.ts";
import { FIXTURE_HOST, GitWorld } from "./git_fixtures.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { removeTree } from "./go_tool.ts";
import { random, standardUniverse, writeUniverse } from "./universe.ts";
import { workflow } from "./workflow.ts";

/** Pieces a mangled target is made of: path syntax, escapes, traversal, odd bytes. */
const PIECES = [
  "/",
  "//",
  ".",
  "..",
  "/../",
  "/./",
  "@",
  "@v",
  "@V",
  "/@v/",
  "@latest",
  "list",
  ".info",
  ".mod",
  ".zip",
  "!",
  "!!",
  "~",
  "%",
  "%2e%2e",
  "%2F",
  "%00",
  "%zz",
  "%21",
  "?",
  "?go-get=1",
  "#",
  "+incompatible",
  "v1.0.0",
  "v0.0.0-20240101000000-abcdefabcdef",
  "v2",
  "/v2",
  "-",
  "_",
  "A",
  "z",
  "é",
  "\u202e",
  "\\",
  ":",
  "*",
  " ",
  "\t",
  "\x7f",
  "sumdb/",
  "/sumdb/sum.golang.org/",
  "lookup/",
  "tile/8/0/",
  "_astera/",
];

function mangle(base: string, next: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  let target = base;
  const edits = 1 + Math.floor(next() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (target.length + 1));
    const roll = next();
    if (roll < 0.4) target = target.slice(0, at) + pick(PIECES) + target.slice(at);
    else if (roll < 0.6) {
      target = target.slice(0, at) + target.slice(at + 1 + Math.floor(next() * 4));
    } else if (roll < 0.7) target = target.slice(0, at);
    else if (roll < 0.8) {
      target = target.slice(0, at) + target.charAt(at).toUpperCase() + target.slice(at + 1);
    } else if (roll < 0.9) target = target.slice(0, at) + target.slice(at).repeat(2);
    else target = target.replace("/@v/", pick(["/@v/", "/@V/", "/v/", "/@v//", "@v/"]));
  }
  return target.startsWith("/") || next() < 0.05 ? target : "/" + target;
}

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

/** One request with `Connection: close`, the target and header `fields` sent exactly as given. */
async function rawRequest(
  port: number,
  method: string,
  target: string,
  fields = "Host: astera\r\n",
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `${method} ${target} HTTP/1.1\r\n${fields}Connection: close\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head));
  const received = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const end = indexOfHeadEnd(received);
  assert(end > 0, `${method} ${JSON.stringify(target)}: no response head`);
  const lines = new TextDecoder().decode(received.subarray(0, end)).split("\r\n");
  const statusLine = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]);
  assert(statusLine, `${JSON.stringify(target)}: bad status line ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine[1]), headers, body: received.subarray(end + 4) };
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** The file the upstream serves for `target`, decoded as the file proxy decodes it. */
async function upstreamFile(universe: string, target: string): Promise<Uint8Array | undefined> {
  try {
    const path = decodeURIComponent(new URL(target, "http://astera").pathname);
    if (path.split("/").includes("..")) return undefined;
    return await Deno.readFile(join(universe, path));
  } catch {
    return undefined;
  }
}

/** Statuses a go client can act on: content, not found/gone, or a refusal of the request. */
const ACCEPTABLE = new Set([200, 304, 400, 404, 405, 410, 414, 431, 501, 505]);

/** Counts errors logged; other events are dropped. */
function errorLog(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info() {},
    warn() {},
    error: (event, fields) => errors.push(`${event} ${JSON.stringify(fields)}`),
  };
}

/**
 * Asks for every valid target (each must answer 200), then sends `count`
 * mangled ones with random methods, checking each answer's status and framing
 * and handing GET 200s to `check200`; then asks for the valid targets again,
 * which must answer as before, and checks the database. Returns the statuses seen.
 */
async function hammer(options: {
  port: number;
  db: string;
  valid: string[];
  count: number;
  seed: number;
  acceptable: Set<number>;
  check200(target: string, body: Uint8Array, what: string): Promise<void>;
}): Promise<Map<number, number>> {
  const { port, valid } = options;
  // Store everything first, so mangled paths also meet stored and cached artifacts.
  const stored = new Map<string, Uint8Array>();
  for (const target of valid) {
    const response = await rawRequest(port, "GET", target);
    assertEquals(response.status, 200, target);
    stored.set(target, response.body);
  }
  const next = random(options.seed);
  const methods = ["GET", "GET", "GET", "GET", "HEAD", "POST", "G\u00e9T", "OPTIONS"];
  const statuses = new Map<number, number>();
  for (let i = 0; i < options.count; i++) {
    const method = methods[Math.floor(next() * methods.length)];
    const target = mangle(valid[Math.floor(next() * valid.length)], next);
    const response = await rawRequest(port, method, target);
    const what = `${method} ${JSON.stringify(target)} → ${response.status}`;
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    assert(options.acceptable.has(response.status), what);
    const length = response.headers.get("content-length");
    if (method !== "HEAD" && length !== undefined) {
      assertEquals(response.body.length, Number(length), `${what}: body length`);
    }
    if (response.status === 200 && method === "GET" && /\/@(v\/|latest)/.test(target)) {
      await options.check200(target, response.body, what);
    }
  }
  for (const [target, bytes] of stored) {
    const response = await rawRequest(port, "GET", target);
    assertEquals(response.status, 200, target);
    assertEquals(response.body, bytes, target);
  }
  const check = new DatabaseSync(options.db, { readOnly: true });
  try {
    assertEquals(check.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
  } finally {
    check.close();
  }
  return statuses;
}

const SEED = Number(Deno.env.get("SEED") ?? 20261125);

Deno.test("mangled request targets get a clear answer, never bytes from another path, and harm nothing", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-" });
  const universe = join(work, "universe");
  const versions = standardUniverse(256 * 1024);
  await writeUniverse(universe, versions);
  const upstream = await startFileProxy({ root: universe });
  const db = join(work, "astera.db");
  const log = errorLog();
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", db, "--upstream", upstream.url, "--workers", "2"],
    {},
  );
  const astera = await startAstera(config, log);
  try {
    const valid: string[] = [];
    for (const { module, version } of versions) {
      const base = `/${escapePath(module)}/@v/`;
      valid.push(`/${escapePath(module)}/@latest`, `${base}list`);
      for (const ext of [".info", ".mod", ".zip"]) {
        valid.push(`${base}${escapeVersion(version)}${ext}`);
      }
    }
    const statuses = await hammer({
      port: Number(new URL(astera.url).port),
      db,
      valid: [...new Set(valid)],
      count: Number(Deno.env.get("N") ?? 1500),
      seed: SEED,
      acceptable: ACCEPTABLE,
      async check200(target, body, what) {
        const file = await upstreamFile(universe, target);
        assert(file, `${what}: the upstream has no file at that path`);
        assertEquals(body, file, `${what}: not the upstream's bytes for that path`);
      },
    });
    // Every kind of answer was met, so the run exercised refusals as well as content.
    for (const status of [200, 400, 404, 405]) {
      assert(statuses.has(status), `no ${status} among ${JSON.stringify([...statuses])}`);
    }
    assertEquals(log.errors, []);
  } finally {
    await astera.close();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("mangled private module paths get a clear answer, and a 200 only with bytes a valid request got", async () => {
  const world = await GitWorld.create();
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-git-" });
  const module = `${FIXTURE_HOST}/team/lib.git`;
  const repo = await world.repo("team/lib");
  await repo.write({ "go.mod": `module ${module}\n\ngo 1.21\n`, "lib.go": "package lib\n" });
  await repo.commit("first");
  await repo.tag("v1.0.0");
  await repo.write({ "LICENSE": "MIT\n" });
  await repo.commit("second");
  await repo.tag("v1.1.0");
  const db = join(work, "astera.db");
  const log = errorLog();
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", db, "--upstream", "off", "--private", FIXTURE_HOST],
    {},
  );
  const astera = await startAstera(
    config,
    log,
    (config) =>
      createGitSource({ gitDir: config.gitDir, fetchTtlMs: config.gitTtlMs, env: world.gitEnv }),
  );
  try {
    const base = `/${module}/@v/`;
    const valid = [`/${module}/@latest`, `${base}list`, `${base}main.info`];
    for (const version of ["v1.0.0", "v1.1.0"]) {
      for (const ext of [".info", ".mod", ".zip"]) valid.push(`${base}${version}${ext}`);
    }
    // What each valid target answered: a 200 for a mangled one must be one of these.
    const known = new Map<string, Uint8Array[]>();
    for (const target of valid) {
      const kind = /(\.info|\.mod|\.zip|list|@latest)$/.exec(target)![1];
      const response = await rawRequest(Number(new URL(astera.url).port), "GET", target);
      known.set(kind, [...(known.get(kind) ?? []), response.body]);
    }
    const statuses = await hammer({
      port: Number(new URL(astera.url).port),
      db,
      valid,
      count: Number(Deno.env.get("N") ?? 600),
      seed: SEED,
      // A path without the .git qualifier sends Astera to https://git.corp.example for meta
      // tags, which does not resolve: an error, not a not-found, as for the go command.
      acceptable: new Set([...ACCEPTABLE, 502]),
      check200(target, body, what) {
        const kind = /(\.info|\.mod|\.zip|list|@latest)$/.exec(target)?.[1];
        assert(kind, `${what}: 200 for no endpoint`);
        const bodies = known.get(kind) ?? [];
        assert(
          bodies.some((known) =>
            known.length === body.length && known.every((b, i) => b === body[i])
          ),
          `${what}: not what any valid request for a ${kind} answered`,
        );
        return Promise.resolve();
      },
    });
    for (const status of [200, 400, 404]) {
      assert(statuses.has(status), `no ${status} among ${JSON.stringify([...statuses])}`);
    }
    assertEquals(log.errors, []);
  } finally {
    await astera.close();
    await removeTree(work);
    await world.cleanup();
  }
});

Deno.test("control characters in header values, and a missing or repeated Host, get 400 from every isolate", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-fields-" });
  const universe = join(work, "universe");
  const versions = standardUniverse(64 * 1024);
  await writeUniverse(universe, versions);
  const upstream = await startFileProxy({ root: universe });
  const log = errorLog();
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", join(work, "astera.db"), "--upstream", upstream.url],
    { ASTERA_WORKERS: "2" },
  );
  const astera = await startAstera(config, log);
  try {
    const port = Number(new URL(astera.url).port);
    const { module, version } = versions[0];
    const zip = `/${escapePath(module)}/@v/${escapeVersion(version)}.zip`;
    const stored = await rawRequest(port, "GET", zip);
    assertEquals(stored.status, 200, zip);
    const fields = [
      "Host: astera\r\nRange: bytes=0-\u00001\r\n",
      'Host: astera\r\nIf-None-Match: "a\rb"\r\n',
      "Host: astera\r\nRange: bytes=0-1\r\r\n",
      "Host: astera\r\nX-Trace: a\u0000\r\n",
      "Range: bytes=0-1\r\n",
      "Host: astera\r\nHost: elsewhere\r\n",
    ];
    // Connections are spread over both isolates by the kernel: ask often enough to meet each.
    for (let i = 0; i < 8; i++) {
      for (const field of fields) {
        const response = await rawRequest(port, "GET", zip, field);
        assertEquals(response.status, 400, JSON.stringify(field));
        assert(new TextDecoder().decode(response.body).startsWith("bad request: "));
      }
    }
    const again = await rawRequest(port, "GET", zip);
    assertEquals(again.body, stored.body, "the stored zip is served as before");
    assertEquals(log.errors, []);
  } finally {
    await astera.close();
    await upstream.close();
    await removeTree(work);
  }
});

Deno.test("a peer hoarding connections that never send a byte locks no go client out", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-idle-" });
  const universe = join(work, "universe");
  const buildCache = join(work, "gocache");
  await writeUniverse(universe, standardUniverse(64 * 1024));
  const direct = await startFileProxy({ root: universe });
  const upstream = await startFileProxy({ root: universe });
  try {
    const oracle = await workflow(direct.url, buildCache);
    const astera = await startAsteraProcess([
      ...["--db", join(work, "astera.db"), "--upstream", upstream.url],
      ...["--workers", "2", "--max-connections", "16"],
    ]);
    const { hostname, port } = new URL(astera.url);
    const hoarders: Deno.Conn[] = [];
    try {
      // Far more than the 16 slots, from the address the go clients use too.
      for (let i = 0; i < 300; i++) {
        hoarders.push(await Deno.connect({ hostname, port: Number(port) }));
      }
      const outcomes = await Promise.all([0, 1].map(() => workflow(astera.url, buildCache)));
      for (const outcome of outcomes) assertEquals(outcome, oracle);
      const closed = await hoarders[0].read(new Uint8Array(1)).catch(() => null);
      assertEquals(closed, null, "the longest-idle hoarder was closed, never answered");
    } finally {
      for (const conn of hoarders) {
        try {
          conn.close();
        } catch {
          // Closed by the server.
        }
      }
      assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
    }
    assert(!astera.log.some((line) => / error /.test(line)), astera.log.join("\n"));
  } finally {
    await direct.close();
    await upstream.close();
    await removeTree(work);
  }
});
