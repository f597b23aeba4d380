import { assertEquals } from "../../tests/assert.ts";
import { kindIndex, RequestMetrics, ROUTE_KINDS } from "./request_metrics.ts";

const get = (target: string) => ({ method: "GET", target, headers: {} });
const text = (status: number, message: string) => ({
  status,
  headers: {},
  body: new TextEncoder().encode(message),
});

Deno.test("answers are counted by route kind and status class, Astera's own pages apart", () => {
  const metrics = new RequestMetrics(() => 0);
  metrics.record({ kind: "list", module: "example.com/a" }, get("/a"), text(200, "v1"), true);
  metrics.record({ kind: "list", module: "example.com/a" }, get("/a"), text(404, "no"), true);
  metrics.record({ kind: "health" }, get("/healthz"), text(200, "ok\n"), true);
  metrics.record({ kind: "metrics" }, get("/metrics"), text(200, "x".repeat(100)), true);
  metrics.record(undefined, get("/nothing"), text(404, "not found"), true);
  metrics.record({ kind: "sumdb" }, get("/sumdb/x/supported"), text(410, "gone"), true);
  const snapshot = metrics.snapshot();
  assertEquals(snapshot.requests, {
    list: { "2xx": 1, "4xx": 1 },
    sumdb: { "4xx": 1 },
    other: { "4xx": 1 },
    astera: { "2xx": 2 },
  });
  // Given without a start: answered at once, in the first bucket, no time.
  assertEquals(snapshot.seconds.list, { buckets: { "0": 2 }, sum: 0 });
  // The protocol's bytes only: v1, no, not found, gone.
  assertEquals(snapshot.servedBytes, 2 + 2 + 9 + 4);
  assertEquals(snapshot.modules, { "example.com/a": 2 });
});

Deno.test("a stream's bytes are its declared length; a HEAD's are none", () => {
  const metrics = new RequestMetrics(() => 0);
  const stream = new ReadableStream<Uint8Array>();
  const zip = { kind: "zip", module: "example.com/z" };
  metrics.record(zip, get("/z"), {
    status: 200,
    headers: { "content-length": "5000" },
    body: stream,
  }, true);
  metrics.record(zip, { ...get("/z"), method: "HEAD" }, {
    status: 200,
    headers: { "content-length": "5000" },
  }, true);
  assertEquals(metrics.snapshot().servedBytes, 5000);
});

Deno.test("5xx answers are kept with what the client was told, newest first", () => {
  let now = 0;
  const metrics = new RequestMetrics(() => now);
  const list = { kind: "list", module: "example.com/a" };
  metrics.record(list, get("/example.com/a/@v/list"), text(502, "upstream down\n"), true);
  now = 1;
  metrics.record(list, get("/example.com/b/@v/list"), text(503, "<b>busy</b>"), true);
  metrics.record(list, get("/example.com/c/@v/list"), text(404, "not an error"), true);
  assertEquals(metrics.errors().map((e) => [e.status, e.path, e.message]), [
    [503, "/example.com/b/@v/list", "<b>busy</b>"],
    [502, "/example.com/a/@v/list", "upstream down"],
  ]);
});

Deno.test("each route kind of the router has a label", () => {
  const labels = ["list", "info", "mod", "zip", "latest", "sumdb", "health", "stats", "metrics"]
    .map((kind) => ROUTE_KINDS[kindIndex(kind)]);
  assertEquals(labels, [
    "list",
    "info",
    "mod",
    "zip",
    "latest",
    "sumdb",
    "astera",
    "astera",
    "astera",
  ]);
  assertEquals(ROUTE_KINDS[kindIndex("no such kind")], "other");
});
