import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { exposition, histogramSamples } from "./exposition.ts";
import { metricFamilies, type Observation } from "./metrics.ts";
import { DURATION_BUCKETS, RequestMetrics } from "./request_metrics.ts";
import { sumStats } from "./sum.ts";

Deno.test("a family is its HELP and TYPE lines, then its samples with escaped label values", () => {
  const text = exposition([{
    name: "astera_x_total",
    help: "A back\\slash and a\nnewline.",
    type: "counter",
    samples: [
      { value: 1 },
      { labels: { path: 'a"b\\c\nd', kind: "zip" }, value: 2.5 },
      { labels: { kind: "inf" }, value: Infinity },
    ],
  }]);
  assertEquals(
    text,
    [
      "# HELP astera_x_total A back\\\\slash and a\\nnewline.",
      "# TYPE astera_x_total counter",
      "astera_x_total 1",
      'astera_x_total{path="a\\"b\\\\c\\nd",kind="zip"} 2.5',
      'astera_x_total{kind="inf"} +Inf',
      "",
    ].join("\n"),
  );
});

Deno.test("names the format does not allow are refused", () => {
  assertThrows(
    () => exposition([{ name: "astera-x", help: "", type: "gauge", samples: [] }]),
    TypeError,
  );
  assertThrows(
    () =>
      exposition([{
        name: "astera_x",
        help: "",
        type: "gauge",
        samples: [{ labels: { "a-b": "1" }, value: 1 }],
      }]),
    TypeError,
  );
});

Deno.test("histogram buckets are cumulative and the +Inf bucket equals the count", () => {
  const samples = histogramSamples([0.1, 1], [{
    labels: { kind: "zip" },
    counts: [1, 0, 2],
    sum: 9,
  }]);
  assertEquals(samples.map((s) => [s.suffix, s.labels?.le, s.value]), [
    ["_bucket", "0.1", 1],
    ["_bucket", "1", 1],
    ["_bucket", "+Inf", 3],
    ["_sum", undefined, 9],
    ["_count", undefined, 3],
  ]);
});

Deno.test("histograms of several isolates add up bucket by bucket", () => {
  // Two isolates, each with its own clock: durations are chosen to fall in known buckets.
  let clock = 0;
  const first = new RequestMetrics(() => clock);
  const second = new RequestMetrics(() => clock);
  const request = { method: "GET", target: "/example.com/m/@v/v1.0.0.zip", headers: {} };
  const ok = { status: 200, headers: {}, body: new Uint8Array(10) };
  const observe = (metrics: RequestMetrics, ms: number, kind = "zip") => {
    clock = 1000;
    const started = metrics.now();
    clock += ms;
    metrics.record({ kind, module: "example.com/m" }, request, ok, true, started);
  };
  observe(first, 0.05); // 50 µs: the first bucket
  observe(first, 3); // 3 ms: the 5 ms bucket
  observe(second, 3);
  observe(second, 90_000); // past every bound: +Inf only
  observe(second, 0.2, "list");
  const isolates = [first, second].map((m) => ({ observe: m.snapshot() }));
  const observation: Observation = {
    summed: sumStats(isolates),
    isolates: 2,
    residentBytes: 0,
    database: { bytes: 0, freeBytes: 0 },
    storedBytes: 0,
    budgetBytes: null,
    startedAt: 0,
    version: "0.0.0",
  };
  const family = metricFamilies(observation).find((f) =>
    f.name === "astera_request_duration_seconds"
  )!;
  const zip = family.samples.filter((s) => s.labels?.kind === "zip");
  const bucket = (le: string) => zip.find((s) => s.labels?.le === le)?.value;
  assertEquals(bucket(String(DURATION_BUCKETS[0])), 1);
  assertEquals(bucket("0.0025"), 1);
  assertEquals(bucket("0.005"), 3);
  assertEquals(bucket("60"), 3);
  assertEquals(bucket("+Inf"), 4);
  assertEquals(zip.find((s) => s.suffix === "_count")?.value, 4);
  const sum = zip.find((s) => s.suffix === "_sum")!.value;
  assertEquals(Math.round(sum * 1e6), Math.round((0.00005 + 0.003 + 0.003 + 90) * 1e6));
  const list = family.samples.filter((s) => s.labels?.kind === "list" && s.suffix === "_count");
  assertEquals(list.map((s) => s.value), [1]);
  const requests = metricFamilies(observation).find((f) => f.name === "astera_requests_total")!;
  assertEquals(requests.samples, [
    { labels: { kind: "list", code: "2xx" }, value: 1 },
    { labels: { kind: "zip", code: "2xx" }, value: 4 },
  ]);
});
