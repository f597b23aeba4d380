/**
 * The benchmark's report: one Markdown table (figure × system, ratios
 * computed within the run) and the targets of issue 5, each as pass or miss
 * with by how much.
 *
 * @module
 */
import type { LoadResult } from "./measure.ts";

/** The hot-path requests. */
export const HOT_KINDS = ["info", "mod", "list", "zip"] as const;
/** One hot-path request kind. */
export type HotKind = typeof HOT_KINDS[number];

/** Everything measured for one system; absent figures were not measured. */
export interface SystemResult {
  name: string;
  /** Why the system was not measured (e.g. it could not be installed). */
  skipped?: string;
  notes: string[];
  cold1Ms?: number;
  /** In the cold run of one client: its walk of the module graph, until its first `.info`. */
  walk1Ms?: number;
  coldMs?: number;
  /** Upstream requests during the cold run, and distinct paths among them. */
  upstream?: { requests: number; unique: number; max: number; maxPath: string };
  /** Upstream requests during the cold run of one client (Astera: prefetches included). */
  upstream1?: { requests: number; unique: number; max: number; maxPath: string };
  /** Astera's prefetch counters after the cold run of one client, its queue empty. */
  prefetch?: { prefetches: number; prefetchedBytes: number; unasked: number; unaskedBytes: number };
  warmMs?: number;
  hot: Partial<Record<HotKind, LoadResult>>;
  /** The small hot-path requests over HTTPS (Astera and nginx, same certificate). */
  hotTls?: Partial<Record<SmallKind, LoadResult>>;
  /** CPU seconds of the go clients: cold with one client, cold, warm. */
  clientCpu: Partial<Record<"cold1" | "cold" | "warm", number>>;
  /** CPU seconds of the server process per workload. */
  cpu: Partial<Record<"cold" | "warm" | "hot" | "huge" | "large", number>>;
  /** Peak RSS (bytes) per workload. */
  rss: Partial<Record<"cold" | "warm" | "hot" | "huge" | "large", number>>;
  hugeColdMs?: number;
  hugeWarmMs?: number;
  /** N clients spread over three large zips, downloading at full speed, then cached. */
  largeColdMs?: number;
  largeWarmMs?: number;
  /** Database reads per served request during warm (Astera only). */
  readsPerRequest?: { reads: number; requests: number };
  /** Warm again after a restart on the same database (Astera only). */
  restartWarmMs?: number;
  restartReadsPerRequest?: { reads: number; requests: number };
}

/** Parameters of the run, for the report's header. */
export interface RunInfo {
  date: string;
  machine: string;
  clients: number;
  delayMs: number;
  bytesPerSecond: number;
  versions: number;
  universeBytes: number;
  buildList: number;
  hugeBytes: number;
  wrkSeconds: number;
  /** Warm runs per system; the fastest counts. */
  warmRounds: number;
  /** wrk rounds per system and request kind; the best counts. */
  hotRounds: number;
  command: string;
}

/**
 * Why a cold run can take longer than any proxy makes it: the go clients' own
 * CPU time (hashing, extracting) spread over the machine's cores; the same N
 * clients served by nginx from disk, with no upstream at all (no cold run can
 * be faster); and direct's ratio.
 */
function coldFloor(systems: SystemResult[], astera: SystemResult, cores: number): string {
  let why = "";
  const clientCpu = astera.clientCpu.cold;
  if (clientCpu !== undefined && astera.cold1Ms) {
    const floor = (clientCpu * 1000) / cores / astera.cold1Ms;
    why += `; the go clients alone used ${clientCpu.toFixed(0)} s of CPU, which takes ${
      x(floor)
    } cold 1 on ${cores} cores`;
  }
  const nginx = systems.find((system) => system.name === "nginx" && !system.skipped);
  const nginxRatio = ratio(nginx?.warmMs, astera.cold1Ms);
  if (nginxRatio !== undefined) {
    why += `; nginx, with every file on disk and no upstream, took ${
      x(nginxRatio)
    } cold 1 for the same clients`;
  }
  const direct = systems.find((system) => system.name === "direct" && !system.skipped);
  const directRatio = ratio(direct?.coldMs, direct?.cold1Ms);
  if (directRatio !== undefined) why += `; direct: ${x(directRatio)}`;
  return why;
}

/** A target's verdict. */
export interface Verdict {
  target: string;
  pass: boolean | null;
  detail: string;
}

const MB = 1024 * 1024;
const s = (ms: number | undefined) => ms === undefined ? "—" : `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number | undefined) =>
  bytes === undefined ? "—" : `${(bytes / MB).toFixed(0)} MB`;
const x = (ratio: number | undefined) =>
  ratio === undefined || !Number.isFinite(ratio) ? "—" : `${ratio.toFixed(2)}×`;
const num = (n: number) =>
  n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3);

function perRequest(figure: { reads: number; requests: number } | undefined): string {
  if (!figure) return "—";
  const ratio = figure.reads / Math.max(1, figure.requests);
  return `${ratio.toFixed(3)} (${figure.reads} reads, ${figure.requests} requests)`;
}

function hotCell(result: LoadResult | undefined): string {
  if (!result) return "—";
  const errors = result.errors ? ` (${result.errors} errors)` : "";
  return `${result.rps.toFixed(0)}/s, ${num(result.p50Ms)}/${num(result.p99Ms)} ms${errors}`;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The hot-path kinds answered in a few hundred bytes. */
const SMALL_KINDS = ["info", "mod", "list"] as const;
type SmallKind = typeof SMALL_KINDS[number];

/** The lowest req/s ratio to nginx over the small-artifact requests. */
function smallHotRatio(system: SystemResult, nginx: SystemResult | undefined): number | undefined {
  return lowest(SMALL_KINDS.map((kind) => ratio(system.hot[kind]?.rps, nginx?.hot[kind]?.rps)));
}

function lowest(ratios: (number | undefined)[]): number | undefined {
  if (ratios.some((r) => r === undefined)) return undefined;
  return Math.min(...ratios as number[]);
}

/** The TLS row's cells: req/s of each small kind; ÷ nginx over TLS; ÷ the same system in plain HTTP. */
function tlsRows(nginx: SystemResult | undefined): [string, (system: SystemResult) => string][] {
  return [
    [
      "hot small over TLS: req/s .info / .mod / list",
      (r) =>
        r.hotTls
          ? SMALL_KINDS.map((kind) => r.hotTls?.[kind]?.rps.toFixed(0) ?? "—").join(" / ")
          : "—",
    ],
    [
      "hot small over TLS ÷ nginx over TLS (lowest)",
      (r) => x(lowest(SMALL_KINDS.map((k) => ratio(r.hotTls?.[k]?.rps, nginx?.hotTls?.[k]?.rps)))),
    ],
    [
      "hot small: TLS ÷ plain HTTP (lowest)",
      (r) => x(lowest(SMALL_KINDS.map((k) => ratio(r.hotTls?.[k]?.rps, r.hot[k]?.rps)))),
    ],
  ];
}

function peakRss(system: SystemResult): number | undefined {
  const values = Object.values(system.rss);
  return values.length ? Math.max(...values) : undefined;
}

/**
 * The Markdown table: one row per figure, one column per system.
 *
 * @example
 * ```ts
 * import { table } from "./report.ts";
 * console.log(table([{ name: "nginx", notes: [], hot: {}, rss: {}, cpu: {}, clientCpu: {}, warmMs: 1000 }]).includes("nginx"));
 * // true
 * ```
 */
export function table(systems: SystemResult[]): string {
  const nginx = systems.find((system) => system.name === "nginx");
  const direct = systems.find((system) => system.name === "direct" && !system.skipped);
  const rows: [string, (system: SystemResult) => string][] = [
    ["cold, 1 client", (r) => s(r.cold1Ms)],
    ["cold, 1 client: its walk of the graph (until its first .info)", (r) => s(r.walk1Ms)],
    ["cold, N clients", (r) => s(r.coldMs)],
    ["cold N ÷ cold 1", (r) => x(ratio(r.coldMs, r.cold1Ms))],
    ["cold 1 client ÷ direct", (r) => x(ratio(r.cold1Ms, direct?.cold1Ms))],
    ["cold N ÷ direct N", (r) => x(ratio(r.coldMs, direct?.coldMs))],
    [
      "upstream requests, cold 1 client (÷ direct's)",
      (r) =>
        r.upstream1
          ? `${r.upstream1.requests} (${
            x(ratio(r.upstream1.requests, direct?.upstream1?.requests))
          })`
          : "—",
    ],
    [
      "prefetched, cold 1 client: requests / bytes; never asked",
      (r) =>
        r.prefetch
          ? `${r.prefetch.prefetches} / ${
            mb(r.prefetch.prefetchedBytes)
          }; ${r.prefetch.unasked} / ${mb(r.prefetch.unaskedBytes)}`
          : "—",
    ],
    [
      "upstream requests per unique artifact (cold; max for one)",
      (r) =>
        r.upstream
          ? `${(r.upstream.requests / r.upstream.unique).toFixed(2)} (max ${r.upstream.max})`
          : "—",
    ],
    ["warm, N clients", (r) => s(r.warmMs)],
    ["warm ÷ nginx", (r) => x(ratio(r.warmMs, nginx?.warmMs))],
    ...HOT_KINDS.map((kind): [string, (system: SystemResult) => string] => [
      `hot ${kind === "zip" ? "1 MB .zip" : kind === "list" ? "list" : `.${kind}`}: req/s, p50/p99`,
      (r) => hotCell(r.hot[kind]),
    ]),
    ["hot small req/s ÷ nginx (lowest)", (r) => x(smallHotRatio(r, nginx))],
    ["hot 1 MB zip req/s ÷ nginx", (r) => x(ratio(r.hot.zip?.rps, nginx?.hot.zip?.rps))],
    ...tlsRows(nginx),
    [
      "server CPU: cold / warm / N × huge zip",
      (r) =>
        r.cpu.cold === undefined && r.cpu.warm === undefined && r.cpu.huge === undefined
          ? "—"
          : [r.cpu.cold, r.cpu.warm, r.cpu.huge].map((s) => `${s?.toFixed(1) ?? "—"} s`)
            .join(" / "),
    ],
    [
      "go clients' CPU: cold 1 / cold / warm",
      (r) =>
        [r.clientCpu.cold1, r.clientCpu.cold, r.clientCpu.warm]
          .map((v) => v === undefined ? "—" : `${v.toFixed(0)} s`).join(" / "),
    ],
    ["peak RSS: cold", (r) => mb(r.rss.cold)],
    ["peak RSS: warm", (r) => mb(r.rss.warm)],
    ["peak RSS: hot path", (r) => mb(r.rss.hot)],
    ["peak RSS: N clients × huge zip", (r) => mb(r.rss.huge)],
    ["N × huge zip: cold / cached", (r) => `${s(r.hugeColdMs)} / ${s(r.hugeWarmMs)}`],
    ["peak RSS: N clients × 3 large zips, fast link", (r) => mb(r.rss.large)],
    ["N × 3 large zips: cold / cached", (r) => `${s(r.largeColdMs)} / ${s(r.largeWarmMs)}`],
    ["SQLite reads per request (warm)", (r) => perRequest(r.readsPerRequest)],
    ["warm after a restart (memory cache empty)", (r) => s(r.restartWarmMs)],
    [
      "SQLite reads per request (warm after a restart)",
      (r) => perRequest(r.restartReadsPerRequest),
    ],
  ];
  const measured = systems.filter((system) => !system.skipped);
  const lines = [
    `| figure | ${measured.map((system) => system.name).join(" | ")} |`,
    `| --- | ${measured.map(() => "---").join(" | ")} |`,
    ...rows.map(([label, cell]) => `| ${label} | ${measured.map(cell).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** Issue 16's targets: faster than direct on a slow link, with few upstream requests more. */
function prefetchTargets(
  astera: SystemResult,
  direct: SystemResult | undefined,
  add: (target: string, pass: boolean | null, detail: string) => void,
  cores: number,
): void {
  const within = (target: string, value: number | undefined, limit: number, why = "") => {
    if (value === undefined) add(target, null, "not measured");
    else {add(
        target,
        value <= limit,
        `${x(value)}${value <= limit ? "" : `, ${over(value, limit)}`}${why}`,
      );}
  };
  within("cold 1 client ≤ 0.5 × direct", ratio(astera.cold1Ms, direct?.cold1Ms), 0.5);
  within(
    "cold N ≤ 0.5 × direct N",
    ratio(astera.coldMs, direct?.coldMs),
    0.5,
    coldNFloor(astera, direct, cores),
  );
  within(
    "upstream requests (cold 1) ≤ 1.3 × one direct client's",
    ratio(astera.upstream1?.requests, direct?.upstream1?.requests),
    1.3,
  );
}

/**
 * What no proxy could take from a cold run of N clients, as a share of
 * direct's: the go clients' own CPU spread over the cores, and Astera's warm
 * run (everything stored, no upstream at all); and one cold client's walk of
 * the graph through Astera, which the clients' downloads wait for (the go
 * command reads every go.mod first) and whose round trips are mostly those of
 * the main module's requirements, whose go.mods no proxy can foresee (it
 * never sees the main go.mod).
 */
function coldNFloor(astera: SystemResult, direct: SystemResult | undefined, cores: number): string {
  const parts: string[] = [];
  const clientCpu = astera.clientCpu.cold;
  if (clientCpu !== undefined && direct?.coldMs) {
    parts.push(
      `the go clients' own CPU over ${cores} cores alone takes ${
        x((clientCpu * 1000) / cores / direct.coldMs)
      } direct N`,
    );
  }
  const warm = ratio(astera.warmMs, direct?.coldMs);
  if (warm !== undefined) parts.push(`Astera warm (all stored, no upstream) took ${x(warm)}`);
  const walk = ratio(astera.walk1Ms, direct?.coldMs);
  if (walk !== undefined) {
    parts.push(
      `one cold client's walk of the graph through Astera, before it downloads anything, took ${
        x(walk)
      }`,
    );
  }
  return parts.length ? `; ${parts.join("; ")}` : "";
}

function over(value: number, limit: number, higherIsBetter = false): string {
  const pct = higherIsBetter ? (1 - value / limit) * 100 : (value / limit - 1) * 100;
  return `${pct.toFixed(1)}% ${higherIsBetter ? "short" : "over"}`;
}

/**
 * Evaluates issue 5's targets on Astera's figures.
 *
 * @example
 * ```ts
 * import { targets } from "./report.ts";
 * console.log(targets([]).length > 0); // true
 * ```
 */
export function targets(
  systems: SystemResult[],
  cores: number = navigator.hardwareConcurrency,
): Verdict[] {
  const astera = systems.find((system) => system.name === "Astera" && !system.skipped);
  const nginx = systems.find((system) => system.name === "nginx" && !system.skipped);
  const verdicts: Verdict[] = [];
  const add = (target: string, pass: boolean | null, detail: string) =>
    verdicts.push({ target, pass, detail });
  if (!astera) {
    add("all", null, "Astera was not measured");
    return verdicts;
  }
  const cold = ratio(astera.coldMs, astera.cold1Ms);
  if (cold === undefined) add("cold N ≤ 1.2 × cold 1", null, "not measured");
  else {
    add(
      "cold N ≤ 1.2 × cold 1",
      cold <= 1.2,
      `${x(cold)}${cold <= 1.2 ? "" : `, ${over(cold, 1.2)}${coldFloor(systems, astera, cores)}`}`,
    );
  }
  if (!astera.upstream) add("every artifact fetched upstream exactly once", null, "not measured");
  else {
    const { requests, unique, max, maxPath } = astera.upstream;
    add(
      "every artifact fetched upstream exactly once",
      requests === unique && max === 1,
      `${requests} requests for ${unique} artifacts${max > 1 ? `; ${maxPath} ${max} times` : ""}`,
    );
  }
  prefetchTargets(astera, systems.find((system) => system.name === "direct"), add, cores);
  const warm = ratio(astera.warmMs, nginx?.warmMs);
  if (warm === undefined) add("warm ≤ 1.25 × nginx", null, "not measured");
  else {add(
      "warm ≤ 1.25 × nginx",
      warm <= 1.25,
      `${x(warm)}${warm <= 1.25 ? "" : `, ${over(warm, 1.25)}`}`,
    );}
  const hot = nginx ? smallHotRatio(astera, nginx) : undefined;
  const floor = systems.find((system) => system.name === "Deno.serve" && !system.skipped);
  const floorRatio = floor && nginx ? smallHotRatio(floor, nginx) : undefined;
  if (hot === undefined) add("hot small req/s ≥ 0.7 × nginx", null, "not measured");
  else {
    add(
      "hot small req/s ≥ 0.7 × nginx",
      hot >= 0.7,
      `lowest ${x(hot)}${hot >= 0.7 ? "" : `, ${over(hot, 0.7, true)}`}${
        floorRatio === undefined
          ? ""
          : `; a bare Deno.serve with the same flags reaches ${x(floorRatio)}, Astera ${
            x(hot / floorRatio)
          } of that`
      }`,
    );
  }
  const peak = peakRss(astera);
  if (peak === undefined) add("peak RSS < 200 MB in every workload", null, "not measured");
  else {
    const limit = 200 * MB;
    const worst = Object.entries(astera.rss).sort((a, b) => b[1] - a[1])[0][0];
    add(
      "peak RSS < 200 MB in every workload",
      peak < limit,
      `highest ${mb(peak)} (${worst})${peak < limit ? "" : `, ${over(peak, limit)}`}`,
    );
  }
  // The run with a disk budget (issue 14) keeps the same two targets while eviction churns.
  const budget = systems.find((system) => system.name === "Astera --max-bytes" && !system.skipped);
  if (budget) {
    const budgetWarm = ratio(budget.warmMs, nginx?.warmMs);
    add(
      "with --max-bytes: warm ≤ 1.25 × nginx",
      budgetWarm === undefined ? null : budgetWarm <= 1.25,
      budgetWarm === undefined ? "not measured" : x(budgetWarm),
    );
    const budgetPeak = peakRss(budget);
    add(
      "with --max-bytes: peak RSS < 200 MB in every workload",
      budgetPeak === undefined ? null : budgetPeak < 200 * MB,
      budgetPeak === undefined ? "not measured" : `highest ${mb(budgetPeak)}`,
    );
  }
  const peers = systems.filter((system) => system.name === "Athens");
  for (const peer of peers) {
    if (peer.skipped) {
      add(`ahead of ${peer.name}`, null, `not evaluated: ${peer.skipped}`);
      continue;
    }
    const behind: string[] = [];
    const lower = (label: string, ours: number | undefined, theirs: number | undefined) => {
      if (ours !== undefined && theirs !== undefined && ours > theirs) {
        behind.push(`${label} ${x(ours / theirs)} of theirs`);
      }
    };
    lower("cold", astera.coldMs, peer.coldMs);
    lower("warm", astera.warmMs, peer.warmMs);
    lower("peak RSS", peak, peakRss(peer));
    for (const kind of HOT_KINDS) {
      const ours = astera.hot[kind]?.rps;
      const theirs = peer.hot[kind]?.rps;
      if (ours !== undefined && theirs !== undefined && ours < theirs) {
        behind.push(`hot ${kind} ${x(ours / theirs)} of theirs`);
      }
    }
    add(
      `ahead of ${peer.name}`,
      behind.length === 0,
      behind.length ? `behind: ${behind.join(", ")}` : "on every workload",
    );
  }
  return verdicts;
}

/**
 * The whole report in Markdown.
 *
 * @example
 * ```ts ignore
 * import { report } from "./report.ts";
 * console.log(report(info, systems));
 * ```
 */
export function report(info: RunInfo, systems: SystemResult[]): string {
  const verdicts = targets(systems);
  const mark = (pass: boolean | null) => pass === null ? "n/a" : pass ? "pass" : "MISS";
  const lines = [
    `Run ${info.date} on ${info.machine}: \`${info.command}\`.`,
    "",
    `Universe: ${info.versions} module versions, ${mb(info.universeBytes)} (huge zip ${
      mb(info.hugeBytes)
    }); the project's build list has ${info.buildList} modules. Upstream: ${info.delayMs} ms per request, ${
      info.bytesPerSecond
        ? `${(info.bytesPerSecond / 1e6).toFixed(1)} MB/s per response`
        : "no bandwidth cap"
    }. N = ${info.clients} concurrent clients; warm: the fastest of ${info.warmRounds} rounds, interleaved across systems; hot path: wrk, ${info.clients} connections, ${info.wrkSeconds} s per request kind, the best of ${info.hotRounds} rounds. Before each run of go clients the page cache is written back and emptied.`,
    "",
    table(systems),
    "",
    "Targets (Astera):",
    "",
    ...verdicts.map((v) => `- ${mark(v.pass)}: ${v.target}: ${v.detail}`),
  ];
  const notes = systems.flatMap((system) =>
    system.skipped
      ? [`- ${system.name}: not measured: ${system.skipped}`]
      : system.notes.map((note) => `- ${system.name}: ${note}`)
  );
  if (notes.length) lines.push("", "Notes:", "", ...notes);
  return lines.join("\n") + "\n";
}
