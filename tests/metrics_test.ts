/**
 * `GET /metrics` of a real Astera (the serve task's way, two isolates) after
 * known traffic: `promtool check metrics` accepts it, and the counters match
 * what the clients asked, what they got and what the upstream was asked.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { startAsteraProcess } from "./astera_process.ts";
import { startFileProxy } from "./file_proxy.ts";
import { removeTree } from "./go_tool.ts";
import { standardUniverse, writeUniverse } from "./universe.ts";

/** Requests made, and how many times each. */
const TRAFFIC: [string, number][] = [
  ["/example.com/lib/@v/list", 3],
  ["/example.com/lib/@v/v1.0.0.info", 2],
  ["/example.com/lib/@v/v1.0.0.mod", 2],
  ["/example.com/lib/@v/v1.0.0.zip", 2],
  ["/example.com/lib/@latest", 1],
  ["/example.com/dep/@v/v1.0.1.zip", 1],
  ["/example.com/nope/@v/list", 2],
  ["/sumdb/sum.golang.org/supported", 1],
  ["/not-a-module", 1],
  ["/example.com/lib/@v/list?x=1", 1],
];

function kindOf(path: string): string {
  if (path.includes("?") || !path.includes("/@")) {
    return path.startsWith("/sumdb/") ? "sumdb" : "other";
  }
  if (path.endsWith("/@latest")) return "latest";
  if (path.endsWith("/@v/list")) return "list";
  return path.slice(path.lastIndexOf(".") + 1);
}

/** Samples by name and labels as written, e.g. `astera_requests_total{kind="zip",code="2xx"}`. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function promtool(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("/metrics after known traffic passes promtool and its counters match the traffic, over two isolates", async () => {
  const work = await Deno.makeTempDir({ prefix: "astera-metrics-" });
  const universe = join(work, "universe");
  await writeUniverse(universe, standardUniverse(64 * 1024));
  const upstream = await startFileProxy({ root: universe });
  const astera = await startAsteraProcess([
    ...["--db", join(work, "astera.db"), "--upstream", upstream.url, "--workers", "2"],
  ]);
  // A new connection per request, so the kernel spreads them over both isolates.
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const expected = new Map<string, number>();
    const add = (key: string, n: number) => expected.set(key, (expected.get(key) ?? 0) + n);
    let servedBytes = 0;
    for (const [path, times] of TRAFFIC) {
      for (let i = 0; i < times; i++) {
        const response = await fetch(astera.url + path, { client });
        servedBytes += (await response.arrayBuffer()).byteLength;
        const code = `${Math.floor(response.status / 100)}xx`;
        add(`astera_requests_total{kind="${kindOf(path)}",code="${code}"}`, 1);
        add(`astera_request_duration_seconds_count{kind="${kindOf(path)}"}`, 1);
      }
    }
    // Astera's own pages are no module traffic: counted apart, their bytes not counted.
    const notForGo = await fetch(`${astera.url}/`, { client });
    assertEquals(notForGo.status, 404, "/ without Accept: text/html");
    await notForGo.body?.cancel();
    const page = await fetch(`${astera.url}/`, { client, headers: { accept: "text/html" } });
    assertEquals(page.status, 200);
    await page.body?.cancel();
    add('astera_requests_total{kind="astera",code="2xx"}', 1);
    add('astera_requests_total{kind="astera",code="4xx"}', 1);
    add('astera_request_duration_seconds_count{kind="astera"}', 2);

    const response = await fetch(`${astera.url}/metrics`, { client });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();

    const checked = await promtool(text);
    assertEquals(checked, { code: 0, output: "" }, "promtool check metrics");

    const samples = parseExposition(text);
    const actual = [...samples].filter(([key]) =>
      key.startsWith("astera_requests_total{") ||
      key.startsWith("astera_request_duration_seconds_count{")
    );
    assertEquals(new Map(actual), expected);
    assertEquals(samples.get("astera_served_bytes_total"), servedBytes);
    assertEquals(samples.get("astera_isolates"), 2);
    // Prefetching is on by default: its counters are there, as /_astera/stats has them.
    const stats = await (await fetch(`${astera.url}/_astera/stats`, { client })).json();
    assertEquals(samples.get("astera_prefetches_total"), stats.prefetch.prefetches);
    assertEquals(samples.get("astera_prefetch_hits_total"), stats.prefetch.hits);

    // The upstream was asked what the file proxy saw, and sent whole files and its reasons.
    let ok = 0;
    let notFound = 0;
    let receivedBytes = 0;
    for (const [path, count] of upstream.counts) {
      const size = await Deno.stat(join(universe, path)).then((s) => s.size, () => null);
      if (size === null) {
        notFound += count;
        // The reason comes as the body, and Astera reads it.
        receivedBytes += `not found: ${path}\n`.length * count;
      } else {
        ok += count;
        receivedBytes += size * count;
      }
    }
    assert(ok > 0 && notFound > 0, `ok ${ok}, not found ${notFound}`);
    assertEquals(samples.get('astera_upstream_requests_total{outcome="ok"}'), ok);
    assertEquals(samples.get('astera_upstream_requests_total{outcome="not_found"}'), notFound);
    assertEquals(samples.get('astera_upstream_requests_total{outcome="unreachable"}'), 0);
    assertEquals(samples.get("astera_upstream_received_bytes_total"), receivedBytes);
    const zipsFetched = [...upstream.counts.keys()].filter((path) => path.endsWith(".zip")).length;
    assertEquals(samples.get("astera_zip_downloads_total"), zipsFetched);
    assertEquals(samples.get("astera_upstream_up"), 1);
    // Taken from the proxy's own stats: a renamed field would show as a silent 0.
    assertEquals(samples.get("astera_source_fetches_total"), ok + notFound);
    assert(samples.get('astera_cache_hits_total{cache="items"}')! > 0, "repeats came from memory");
    assert(samples.get('astera_cache_misses_total{cache="items"}')! > 0);

    // Every answer went through a histogram bucket; +Inf holds them all.
    const zipCount = samples.get('astera_request_duration_seconds_count{kind="zip"}');
    assertEquals(
      samples.get('astera_request_duration_seconds_bucket{kind="zip",le="+Inf"}'),
      zipCount,
    );
    assert(samples.get('astera_request_duration_seconds_sum{kind="zip"}')! > 0);

    assert(samples.get("astera_store_writes_total")! > 0, "stored what it fetched");
    assert(samples.get("astera_store_reads_total")! > 0);
    assert(samples.get("astera_store_bytes")! > 0);
    assertEquals(samples.get("astera_evictions_total"), 0);
    assertEquals(samples.get("astera_store_budget_bytes"), undefined, "no budget, no sample");
    assert(samples.get("process_resident_memory_bytes")! > 1024 * 1024);
  } finally {
    client.close();
    assertEquals(await astera.stop(), 0, "graceful shutdown exits 0");
    await upstream.close();
    await removeTree(work);
  }
});
