/**
 * Tests of the benchmark's pure parts: flags, the table and the verdicts on
 * the targets (no timing: the figures are made up).
 *
 * @module
 */
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { parseBenchArgs } from "../bench.ts";
import { type SystemResult, table, targets } from "./report.ts";

function system(name: string, figures: Partial<SystemResult>): SystemResult {
  return { name, notes: [], hot: {}, rss: {}, cpu: {}, clientCpu: {}, ...figures };
}

const hot = (rps: number) => ({ rps, p50Ms: 1, p99Ms: 2, errors: 0 });

Deno.test("bench flags: defaults, --quick, units", () => {
  const full = parseBenchArgs([]);
  assertEquals(full.clients, 40);
  assertEquals(full.delayMs, 150);
  assertEquals(full.bytesPerSecond, 2_000_000);
  assertEquals(full.hugeBytes, 100_000_000);
  const quick = parseBenchArgs(["--quick", "--delay", "0.5s", "--bandwidth", "512KiB/s"]);
  assert(quick.modules < full.modules && quick.hugeBytes < full.hugeBytes);
  assertEquals(quick.delayMs, 500);
  assertEquals(full.asteraArgs, []);
  assertEquals(parseBenchArgs(["--astera-args= --gc-step 0  --workers 1"]).asteraArgs, [
    "--gc-step",
    "0",
    "--workers",
    "1",
  ]);
  assertEquals(quick.bytesPerSecond, 512 * 1024);
  assertThrows(() => parseBenchArgs(["--systems", "astera,squid"]));
  assertThrows(() => parseBenchArgs(["--clients", "0"]));
});

Deno.test("bench verdicts: passes, misses with by how much, peers not installed", () => {
  const results = [
    system("Astera", {
      cold1Ms: 10_000,
      coldMs: 13_000,
      clientCpu: { cold: 24 },
      upstream: { requests: 10, unique: 10, max: 1, maxPath: "/a" },
      warmMs: 1_100,
      hot: { info: hot(500), mod: hot(900), list: hot(900), zip: hot(10) },
      rss: { cold: 100 << 20, huge: 150 << 20 },
    }),
    system("nginx", {
      warmMs: 1_000,
      hot: { info: hot(1000), mod: hot(1000), list: hot(1000), zip: hot(10) },
    }),
    system("direct", { cold1Ms: 10_000, coldMs: 12_500 }),
    system("Athens", { skipped: "go install failed: 403" }),
  ];
  const verdicts = new Map(targets(results, 2).map((v) => [v.target, v]));
  const cold = verdicts.get("cold N ≤ 1.2 × cold 1")!;
  assertEquals(cold.pass, false);
  assert(cold.detail.includes("1.30×") && cold.detail.includes("8.3% over"), cold.detail);
  assert(cold.detail.includes("24 s of CPU, which takes 1.20× cold 1 on 2 cores"), cold.detail);
  assert(cold.detail.includes("direct: 1.25×"), cold.detail);
  assert(
    cold.detail.includes("nginx, with every file on disk and no upstream, took 0.10×"),
    cold.detail,
  );
  assertEquals(verdicts.get("every artifact fetched upstream exactly once")!.pass, true);
  assertEquals(verdicts.get("warm ≤ 1.25 × nginx")!.pass, true);
  const small = verdicts.get("hot small req/s ≥ 0.7 × nginx")!;
  assertEquals(small.pass, false);
  assert(small.detail.includes("0.50×"), small.detail);
  assertEquals(verdicts.get("peak RSS < 200 MB in every workload")!.pass, true);
  const athens = verdicts.get("ahead of Athens")!;
  assertEquals(athens.pass, null);
  assert(athens.detail.includes("403"));
  const text = table(results);
  assert(text.includes("| figure | Astera | nginx |"), text);
  assert(text.includes("1.30×"));
});

Deno.test("bench verdicts: an artifact fetched twice misses", () => {
  const verdicts = targets([
    system("Astera", {
      upstream: { requests: 11, unique: 10, max: 2, maxPath: "/m/@v/v1.0.0.zip" },
    }),
  ]);
  const once = verdicts.find((v) => v.target === "every artifact fetched upstream exactly once")!;
  assertEquals(once.pass, false);
  assert(once.detail.includes("/m/@v/v1.0.0.zip 2 times"), once.detail);
});

Deno.test("bench verdicts: the run with --max-bytes has its own warm and peak RSS targets", () => {
  const results = [
    system("Astera", { warmMs: 1000, rss: { warm: 100e6 } }),
    system("Astera --max-bytes", { warmMs: 1400, rss: { warm: 120e6, large: 250e6 } }),
    system("nginx", { warmMs: 1000 }),
  ];
  const verdicts = new Map(targets(results).map((v) => [v.target, v.pass]));
  assertEquals(verdicts.get("with --max-bytes: warm ≤ 1.25 × nginx"), false);
  assertEquals(verdicts.get("with --max-bytes: peak RSS < 200 MB in every workload"), false);
  assertEquals(
    targets(results.filter((r) => r.name !== "Astera --max-bytes")).some((v) =>
      v.target.startsWith("with --max-bytes")
    ),
    false,
  );
  assert(parseBenchArgs([]).systems.has("budget"), "the budget run is part of the full run");
});

Deno.test("bench verdicts: cold N against direct names the warm run and one client's walk", () => {
  const results = [
    system("Astera", { cold1Ms: 4_000, walk1Ms: 3_000, coldMs: 11_000, warmMs: 8_000 }),
    system("direct", { cold1Ms: 16_000, walk1Ms: 3_500, coldMs: 20_000 }),
  ];
  const verdict = targets(results, 2).find((v) => v.target === "cold N ≤ 0.5 × direct N")!;
  assertEquals(verdict.pass, false);
  assert(
    verdict.detail.includes("Astera warm (all stored, no upstream) took 0.40×"),
    verdict.detail,
  );
  assert(
    verdict.detail.includes(
      "walk of the graph through Astera, before it downloads anything, took 0.15×",
    ),
    verdict.detail,
  );
  assert(
    table(results).includes(
      "| cold, 1 client: its walk of the graph (until its first .info) | 3.00 s | 3.50 s |",
    ),
  );
});
