/**
 * Hostile request targets, sent as raw bytes over TCP to a running Astera
 * (two isolates) over a local upstream: thousands of valid GOPROXY paths
 * mangled at random (seeded, so a failure repeats). The server must answer
 * each with a well-formed response and a status a client can act on, never
 * serve bytes the upstream does not have at that path, log no error, and
 * keep every stored artifact intact. `SEED=n N=requests deno task test
 * tests/hostile_test.ts` mangles differently, or more.
 *
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startAstera } from "../lib/app.ts";
import { parseConfig } from "../lib/config.ts";
import type { Logger } from "../lib/log.ts";
import { escapePath, escapeVersion } from "../lib/modpath.ts";
import { assert, assertEquals } from "../lib/testing.ts";
import { startFileProxy } from "./fileproxy.ts";
import { removeTree } from "./gotool.ts";
import { random, standardUniverse, writeUniverse } from "./universe.ts";

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

/** One request with `Connection: close`, the target sent exactly as given. */
async function rawRequest(
  port: number,
  method: string,
  target: string,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `${method} ${target} HTTP/1.1\r\nHost: astera\r\nConnection: close\r\n\r\n`;
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

Deno.test("mangled request targets get a clear answer, never bytes from another path, and harm nothing", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-hostile-" });
  const universe = join(work, "universe");
  const versions = standardUniverse(256 * 1024);
  await writeUniverse(universe, versions);
  const upstream = await startFileProxy({ root: universe });
  const db = join(work, "astera.db");
  const errors: string[] = [];
  const log: Logger = {
    info() {},
    warn() {},
    error: (event, fields) => errors.push(`${event} ${JSON.stringify(fields)}`),
  };
  const config = parseConfig(
    ["--listen", "127.0.0.1:0", "--db", db, "--upstream", upstream.url, "--workers", "2"],
    {},
  );
  const astera = await startAstera(config, log);
  const port = Number(new URL(astera.url).port);
  try {
    const valid: string[] = [];
    for (const { module, version } of versions) {
      const base = `/${escapePath(module)}/@v/`;
      valid.push(`/${escapePath(module)}/@latest`, `${base}list`);
      for (const ext of [".info", ".mod", ".zip"]) {
        valid.push(`${base}${escapeVersion(version)}${ext}`);
      }
    }
    const unique = [...new Set(valid)];
    // Store everything first, so mangled paths also meet stored and cached artifacts.
    const stored = new Map<string, Uint8Array>();
    for (const target of unique) {
      const response = await rawRequest(port, "GET", target);
      assertEquals(response.status, 200, target);
      stored.set(target, response.body);
    }

    const next = random(Number(Deno.env.get("SEED") ?? 20261125));
    const methods = ["GET", "GET", "GET", "GET", "HEAD", "POST", "G\u00e9T", "OPTIONS"];
    const statuses = new Map<number, number>();
    for (let i = 0; i < Number(Deno.env.get("N") ?? 1500); i++) {
      const method = methods[Math.floor(next() * methods.length)];
      const target = mangle(unique[Math.floor(next() * unique.length)], next);
      const response = await rawRequest(port, method, target);
      const what = `${method} ${JSON.stringify(target)} → ${response.status}`;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert(ACCEPTABLE.has(response.status), what);
      const length = response.headers.get("content-length");
      if (method !== "HEAD" && length !== undefined) {
        assertEquals(response.body.length, Number(length), `${what}: body length`);
      }
      if (response.status === 200 && method === "GET" && /\/@(v\/|latest)/.test(target)) {
        const file = await upstreamFile(universe, target);
        assert(file, `${what}: the upstream has no file at that path`);
        assertEquals(response.body, file, `${what}: not the upstream's bytes for that path`);
      }
    }
    // Every kind of answer was met, so the run exercised refusals as well as content.
    for (const status of [200, 400, 404, 405]) {
      assert(statuses.has(status), `no ${status} among ${JSON.stringify([...statuses])}`);
    }
    assertEquals(errors, []);

    for (const [target, bytes] of stored) {
      const response = await rawRequest(port, "GET", target);
      assertEquals(response.status, 200, target);
      assertEquals(response.body, bytes, target);
    }
    const check = new DatabaseSync(db, { readOnly: true });
    try {
      assertEquals(check.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
    } finally {
      check.close();
    }
  } finally {
    await astera.close();
    await upstream.close();
    await removeTree(work);
  }
});
