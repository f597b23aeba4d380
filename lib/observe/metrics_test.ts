import { assertEquals } from "../../tests/assert.ts";
import { metricFamilies, type Observation } from "./metrics.ts";

const base: Observation = {
  summed: {},
  isolates: 1,
  residentBytes: 0,
  database: { bytes: 0, freeBytes: 0 },
  storedBytes: 0,
  budgetBytes: null,
  startedAt: 0,
  version: "0.1.0",
};

const value = (observation: Observation, name: string) =>
  metricFamilies(observation).find((family) => family.name === name)?.samples[0]?.value;

Deno.test("prefetching's counters are metric families, and absent when it is off", () => {
  const prefetch = {
    prefetches: 7,
    prefetchedBytes: 7000,
    hits: 5,
    waste: 1,
    wastedBytes: 100,
    unasked: 1,
    unaskedBytes: 50,
    queued: 2,
    running: 3,
    dropped: 4,
    superseded: 8,
    failures: 6,
  };
  const on = { ...base, summed: { prefetch } };
  const table: [string, number][] = [
    ["astera_prefetches_total", 7],
    ["astera_prefetched_bytes_total", 7000],
    ["astera_prefetch_hits_total", 5],
    ["astera_prefetch_waste_total", 1],
    ["astera_prefetch_wasted_bytes_total", 100],
    ["astera_prefetch_unasked", 1],
    ["astera_prefetch_queued", 2],
    ["astera_prefetch_running", 3],
    ["astera_prefetch_dropped_total", 4],
    ["astera_prefetch_superseded_total", 8],
    ["astera_prefetch_failures_total", 6],
  ];
  for (const [name, expected] of table) assertEquals(value(on, name), expected, name);
  const names = metricFamilies(base).map((family) => family.name);
  assertEquals(names.filter((name) => name.includes("prefetch")), [], "--prefetch off");
});
