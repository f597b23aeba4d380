/**
 * `deno task bench`: Astera beside direct access, nginx (the static-file
 * limit) and Athens (a peer), on one synthetic module universe behind a
 * throttled upstream, in one run. Prints one table and the targets of issue 5
 * and writes them to `bench/results.md` (`bench/results-quick.md` with
 * `--quick`).
 *
 * ```sh
 * deno task bench                       # the full run
 * deno task bench --quick               # a smaller, shorter run
 * deno task bench --delay 300ms --bandwidth 1MB --clients 20 --systems astera,nginx
 * ```
 *
 * @module
 */
import { parseBytes, parseDuration } from "../lib/config.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFileProxy } from "../tests/file_proxy.ts";
import { GO, removeTree } from "../tests/go_tool.ts";
import {
  type ClientsResult,
  freshDir,
  MemoryWatch,
  pullConcurrently,
  runGoClients,
  runWrk,
} from "./bench/measure.ts";
import { HOT_KINDS, report, type RunInfo, type SystemResult, targets } from "./bench/report.ts";
import {
  asteraStats,
  ensureDebianProgram,
  installAthens,
  REPO,
  run,
  startAstera,
  startAthens,
  startFloor,
  startNginx,
  type System,
} from "./bench/systems.ts";
import { startInstances } from "./bench/instances.ts";
import { measureTlsHot } from "./bench/tls.ts";
import { DEEP_LEVELS, loadUniverse, type Universe, writeBenchUniverse } from "./bench/universe.ts";

const USAGE = `usage: deno task bench [--quick] [--clients N] [--delay DURATION] [--bandwidth SIZE]
  [--store sqlite|postgres] [--instances N]
  [--modules N] [--deep-levels N] [--huge-mb N] [--universe DIR --project DIR] [--seconds N] [--systems direct,astera,budget,nginx,floor,athens,tls] [--out FILE] [--keep] [--cpu-prof DIR] [--astera-args="FLAGS"]

  budget: Astera again with --max-bytes of half the universe, so eviction churns under the workloads
  --store postgres: also N Astera instances (--instances, default 3) on one throwaway PostgreSQL,
    the clients spread over them`;

/** Flags of the benchmark. */
export interface BenchOptions {
  quick: boolean;
  clients: number;
  delayMs: number;
  bytesPerSecond: number;
  modules: number;
  /** Levels of the deep module graph added to the synthetic universe; 0 for none. */
  deepLevels: number;
  hugeBytes: number;
  wrkSeconds: number;
  systems: Set<string>;
  out: string;
  keep: boolean;
  /** Where Astera writes V8 CPU profiles (Deno's `--cpu-prof`), one per Astera process. */
  cpuProfDir?: string;
  /** Flags added to Astera's command line, e.g. `--gc-step 0` or `--workers 1`. */
  asteraArgs: string[];
  /** Also run Astera instances on a shared PostgreSQL (`--store postgres`). */
  store: "sqlite" | "postgres";
  /** How many instances share the PostgreSQL database. */
  instances: number;
  /** An existing universe (GOPROXY layout) and a project resolving against it, instead of the synthetic one. */
  universe?: { root: string; project: string };
}

/** Bandwidth as a size per second: `2MB/s`, `512KiB/s`, `0` for no cap. */
function parseRate(text: string): number {
  return parseBytes("bandwidth", text.trim().replace(/\/s$/i, ""));
}

/**
 * Parses the flags.
 *
 * @example
 * ```ts
 * import { parseBenchArgs } from "./bench.ts";
 * console.log(parseBenchArgs(["--quick", "--delay", "50ms"]).delayMs); // 50
 * ```
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      clients: { type: "string" },
      delay: { type: "string", default: "150ms" },
      bandwidth: { type: "string", default: "2MB/s" },
      modules: { type: "string" },
      "deep-levels": { type: "string" },
      "huge-mb": { type: "string" },
      seconds: { type: "string" },
      systems: { type: "string", default: "direct,astera,budget,nginx,floor,athens,tls" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "astera-args": { type: "string", default: "" },
      store: { type: "string", default: "sqlite" },
      instances: { type: "string" },
      universe: { type: "string" },
      project: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const quick = values.quick;
  const int = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const systems = new Set(values.systems.split(",").map((s) => s.trim().toLowerCase()));
  for (const name of systems) {
    if (!["direct", "astera", "budget", "nginx", "floor", "athens", "tls"].includes(name)) {
      throw new Error(`unknown system ${name}`);
    }
  }
  if (values.store !== "sqlite" && values.store !== "postgres") {
    throw new Error(`--store must be sqlite or postgres, not ${values.store}`);
  }
  if ((values.universe === undefined) !== (values.project === undefined)) {
    throw new Error("--universe and --project go together");
  }
  return {
    universe: values.universe && values.project
      ? { root: values.universe, project: values.project }
      : undefined,
    quick,
    clients: int(values.clients, 40, "clients"),
    delayMs: parseDuration("delay", values.delay),
    bytesPerSecond: parseRate(values.bandwidth),
    modules: int(values.modules, quick ? 30 : 80, "modules"),
    deepLevels: values["deep-levels"] === "0"
      ? 0
      : int(values["deep-levels"], DEEP_LEVELS, "deep-levels"),
    hugeBytes: int(values["huge-mb"], quick ? 20 : 100, "huge-mb") * 1_000_000,
    wrkSeconds: int(values.seconds, quick ? 2 : 5, "seconds"),
    systems,
    out: values.out ?? join(REPO, "bench", quick ? "results-quick.md" : "results.md"),
    keep: values.keep,
    cpuProfDir: values["cpu-prof"],
    asteraArgs: values["astera-args"].split(/\s+/).filter((word) => word !== ""),
    store: values.store,
    instances: int(values.instances, 3, "instances"),
  };
}

function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? Deno.build.arch;
  const memory = Math.round(Deno.systemMemoryInfo().total / 1024 ** 3);
  const go = (await run(GO, ["version"])).out.trim().replace(/^go version /, "");
  return `${navigator.hardwareConcurrency} cores (${cpu}), ${memory} GiB, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}, ${go}`;
}

/** Everything the workloads of one system share. */
interface Context {
  options: BenchOptions;
  universe: Universe;
  upstream: { url: string; counts: Map<string, number> };
  /** The upstream's link, read at each request: a workload may lift it for a while. */
  link: { delayMs: number; bytesPerSecond: number };
  work: string;
  buildCache: string;
  wrk: string;
  curl: string;
}

function checkFailures(result: SystemResult, what: string, failures: string[]): void {
  if (failures.length) {
    result.notes.push(`${what}: ${failures.length} clients failed, e.g. ${failures[0]}`);
    log(`${result.name} ${what}: ${failures.length} failures: ${failures[0]}`);
  }
}

function upstreamFigures(counts: Map<string, number>): SystemResult["upstream"] {
  let requests = 0;
  let max = 0;
  let maxPath = "";
  for (const [path, count] of counts) {
    requests += count;
    if (count > max) [max, maxPath] = [count, path];
  }
  return { requests, unique: counts.size, max, maxPath };
}

/** A system under test that is running, with what has been measured on it. */
interface Running {
  system: System;
  result: SystemResult;
}

function newResult(name: string): SystemResult {
  return { name, notes: [], hot: {}, rss: {}, cpu: {}, clientCpu: {} };
}

/** Rounds of wrk per system and request kind; the best round counts (less noise from neighbours). */
const HOT_ROUNDS = 3;

/**
 * Warm runs per system; the fastest counts. The same 40 clients through the
 * same server took from 4.6 s to 6.7 s here in consecutive runs, their own CPU
 * from 8 s to 12 s: one run each said more about the machine than the systems.
 */
const WARM_ROUNDS = 3;

/**
 * One warm run of N clients; the system's warm figures become this run's if it
 * is its fastest so far, and its peak RSS counts over every round.
 */
async function warmRound(
  ctx: Context,
  { system, result }: Running,
  round: number,
): Promise<ClientsResult> {
  const watch = new MemoryWatch(system.pid);
  watch.begin();
  const warm = await runGoClients(
    system.url,
    ctx.options.clients,
    ctx.universe.project,
    ctx.buildCache,
  );
  result.rss.warm = Math.max(result.rss.warm ?? 0, watch.end());
  checkFailures(result, round === 1 ? "warm" : `warm round ${round}`, warm.failures);
  if (result.warmMs === undefined || warm.wallMs < result.warmMs) {
    result.warmMs = warm.wallMs;
    result.clientCpu.warm = warm.clientCpu;
    result.cpu.warm = watch.cpu;
  }
  return warm;
}

/**
 * Warm rounds after the first, interleaved across the systems that ran one,
 * each keeping its fastest round (peak RSS over all of them). The first
 * round's database counters stay the SQLite figures.
 */
async function moreWarmRounds(ctx: Context, running: Running[]): Promise<void> {
  const n = ctx.options.clients;
  // The instances on PostgreSQL keep their round with the clients spread over them all.
  const warmable = running.filter(({ result }) =>
    result.warmMs !== undefined && result.name !== postgresRun(ctx.options)
  );
  const rounds = new Map(
    warmable.map(({ result }) => [result, [[result.warmMs!, result.clientCpu.warm!]]]),
  );
  for (let round = 2; round <= WARM_ROUNDS; round++) {
    for (const entry of warmable) {
      log(`${entry.result.name}: warm, ${n} clients (round ${round} of ${WARM_ROUNDS})`);
      const warm = await warmRound(ctx, entry, round);
      rounds.get(entry.result)!.push([warm.wallMs, warm.clientCpu]);
    }
  }
  for (const [result, figures] of rounds) {
    result.notes.push(
      `warm rounds: ${
        figures.map(([ms]) => `${(ms / 1000).toFixed(2)} s`).join(", ")
      } (the go clients' CPU: ${figures.map(([, cpu]) => `${cpu.toFixed(0)} s`).join(", ")})`,
    );
  }
}

/**
 * The hot path on every running system, interleaved (round by round, kind by
 * kind, system by system) so that a noisy moment of a shared machine does not
 * fall on one system only.
 */
async function hotPaths(ctx: Context, running: Running[]): Promise<void> {
  const watches = running.map(({ system }) => new MemoryWatch(system.pid));
  const usable = new Map<Running, Set<string>>();
  for (const entry of running) {
    const kinds = new Set<string>();
    for (const kind of HOT_KINDS) {
      const probe = await fetch(entry.system.url + ctx.universe.hot[kind]);
      await probe.body?.cancel();
      if (probe.status === 200) kinds.add(kind);
      else {entry.result.notes.push(
          `hot ${kind}: ${ctx.universe.hot[kind]} answered ${probe.status}`,
        );}
    }
    usable.set(entry, kinds);
  }
  log(`hot path: ${running.map((r) => r.result.name).join(", ")}, ${HOT_ROUNDS} rounds`);
  watches.forEach((watch) => watch.begin());
  for (let round = 0; round < HOT_ROUNDS; round++) {
    for (const kind of HOT_KINDS) {
      for (const entry of running) {
        if (!usable.get(entry)!.has(kind)) continue;
        const url = entry.system.url + ctx.universe.hot[kind];
        const measured = await runWrk(ctx.wrk, url, ctx.options.clients, ctx.options.wrkSeconds);
        const best = entry.result.hot[kind];
        if (!best || measured.rps > best.rps) entry.result.hot[kind] = measured;
      }
    }
  }
  running.forEach((entry, i) => {
    entry.result.rss.hot = watches[i].end();
    entry.result.cpu.hot = watches[i].cpu;
  });
}

/** cold (N clients, empty cache, when asked for) → warm, on one running system. */
async function coldWarm(ctx: Context, { system, result }: Running, cold: boolean): Promise<void> {
  const { options, universe, upstream } = ctx;
  const n = options.clients;
  if (cold) {
    const watch = new MemoryWatch(system.pid);
    upstream.counts.clear();
    log(`${result.name}: cold, ${n} clients`);
    watch.begin();
    const run = await runGoClients(system.url, n, universe.project, ctx.buildCache);
    result.rss.cold = watch.end();
    result.cpu.cold = watch.cpu;
    result.coldMs = run.wallMs;
    result.clientCpu.cold = run.clientCpu;
    result.upstream = upstreamFigures(upstream.counts);
    checkFailures(result, "cold", run.failures);
  }
  log(`${result.name}: warm, ${n} clients`);
  const isAstera = result.name === "Astera" || result.name === BUDGET_RUN;
  const before = isAstera ? await asteraStats(system.url) : undefined;
  await warmRound(ctx, { system, result }, 1);
  if (before) {
    const after = await asteraStats(system.url);
    result.readsPerRequest = {
      reads: after.store.reads - before.store.reads,
      // the stats request itself is counted by the handler
      requests: after.handler.requests - before.handler.requests - 1,
    };
  }
}

/** N clients pulling the huge zip at once: first from a cold cache, then again. */
async function hugePulls(ctx: Context, { system, result }: Running): Promise<void> {
  const n = ctx.options.clients;
  log(`${result.name}: ${n} × huge zip`);
  const url = system.url + ctx.universe.huge.path;
  const watch = new MemoryWatch(system.pid);
  const statsBefore = result.name === "Astera" || result.name === BUDGET_RUN
    ? await asteraStats(system.url)
    : undefined;
  watch.begin();
  const first = await pullConcurrently(ctx.curl, url, n, ctx.universe.huge.size);
  result.hugeColdMs = first.wallMs;
  checkFailures(result, "huge zip (first pull)", first.failures);
  const second = await pullConcurrently(ctx.curl, url, n, ctx.universe.huge.size);
  result.hugeWarmMs = second.wallMs;
  checkFailures(result, "huge zip (second pull)", second.failures);
  result.rss.huge = watch.end();
  result.cpu.huge = watch.cpu;
  if (statsBefore) {
    // What bounding the peak cost: the garbage collections Astera asked for (see --gc-step).
    const after = (await asteraStats(system.url)).reclaim;
    result.notes.push(
      `garbage collections requested during ${n} × huge zip: ${
        after.collections - statsBefore.reclaim.collections
      }, ${after.ms - statsBefore.reclaim.ms} ms`,
    );
  }
}

/**
 * N clients spread over three large zips at once, first cold over a fast link, then again:
 * what real traffic does (a team's `go get -u` bringing three Go toolchains of 64–76 MB
 * from proxy.golang.org) and the one-huge-zip workload misses. Several downloads are live
 * at once, each with its own followers, so the chunk cache churns and buffers are in flight
 * for all of them.
 */
async function largePulls(ctx: Context, { system, result }: Running): Promise<void> {
  const n = ctx.options.clients;
  log(`${result.name}: ${n} clients × 3 large zips (fast link)`);
  const pullAll = async (): Promise<ClientsResult> => {
    const started = performance.now();
    const parts = await Promise.all(ctx.universe.large.map((zip, i) => {
      const share = Math.floor(n / 3) + (i < n % 3 ? 1 : 0);
      return pullConcurrently(ctx.curl, system.url + zip.path, share, zip.size);
    }));
    return {
      wallMs: performance.now() - started,
      failures: parts.flatMap((part) => part.failures),
      clientCpu: parts.reduce((sum, part) => sum + part.clientCpu, 0),
    };
  };
  const { delayMs, bytesPerSecond } = ctx.link;
  const watch = new MemoryWatch(system.pid);
  watch.begin();
  ctx.link.delayMs = 0;
  ctx.link.bytesPerSecond = 0;
  try {
    const first = await pullAll();
    result.largeColdMs = first.wallMs;
    checkFailures(result, "large zips (first pull)", first.failures);
    const second = await pullAll();
    result.largeWarmMs = second.wallMs;
    checkFailures(result, "large zips (second pull)", second.failures);
  } finally {
    ctx.link.delayMs = delayMs;
    ctx.link.bytesPerSecond = bytesPerSecond;
  }
  result.rss.large = watch.end();
  result.cpu.large = watch.cpu;
}

async function benchDirect(ctx: Context): Promise<SystemResult> {
  const result = newResult("direct");
  const n = ctx.options.clients;
  ctx.upstream.counts.clear();
  log(`direct: 1 client`);
  const one = await runGoClients(ctx.upstream.url, 1, ctx.universe.project, ctx.buildCache);
  result.cold1Ms = one.wallMs;
  result.clientCpu.cold1 = one.clientCpu;
  result.upstream1 = upstreamFigures(ctx.upstream.counts);
  checkFailures(result, "cold 1", one.failures);
  ctx.upstream.counts.clear();
  log(`direct: ${n} clients`);
  const cold = await runGoClients(ctx.upstream.url, n, ctx.universe.project, ctx.buildCache);
  result.coldMs = cold.wallMs;
  result.clientCpu.cold = cold.clientCpu;
  result.upstream = upstreamFigures(ctx.upstream.counts);
  checkFailures(result, "cold", cold.failures);
  result.notes.push("no cache: warm is cold again; the upstream's delay rules out a hot path");
  return result;
}

function asteraStarter(ctx: Context, dir: string): (name: string) => Promise<System> {
  return (name) =>
    startAstera({
      db: join(dir, `${name}.db`),
      upstream: ctx.upstream.url,
      log: join(dir, `${name}.log`),
      extraArgs: ctx.options.asteraArgs,
      denoArgs: ctx.options.cpuProfDir
        ? [
          "--cpu-prof",
          `--cpu-prof-dir=${ctx.options.cpuProfDir}`,
          `--cpu-prof-name=${name}.cpuprofile`,
        ]
        : [],
    });
}

/** Astera's prefetch counters once its queue is empty (at most a minute later). */
async function prefetchSettled(url: string): Promise<SystemResult["prefetch"]> {
  for (let turn = 0; turn < 600; turn++) {
    const { prefetch } = await asteraStats(url);
    if (!prefetch) return undefined;
    if (prefetch.queued === 0 && prefetch.running === 0) return prefetch;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (await asteraStats(url)).prefetch;
}

/** Astera: one cold client on its own database, then a fresh one for cold and warm. */
async function prepareAstera(ctx: Context, running: Running[]): Promise<SystemResult> {
  const result = newResult("Astera");
  const start = asteraStarter(ctx, await freshDir(ctx.work, "astera"));
  log("Astera: cold, 1 client");
  const single = await start("single");
  try {
    ctx.upstream.counts.clear();
    const one = await runGoClients(single.url, 1, ctx.universe.project, ctx.buildCache);
    result.cold1Ms = one.wallMs;
    result.clientCpu.cold1 = one.clientCpu;
    checkFailures(result, "cold 1", one.failures);
    // Prefetches the client never asked for may still run: they count too.
    result.prefetch = await prefetchSettled(single.url);
    result.upstream1 = upstreamFigures(ctx.upstream.counts);
  } finally {
    await single.stop();
  }
  const entry = { system: await start("main"), result };
  running.push(entry);
  await coldWarm(ctx, entry, true);
  return result;
}

/**
 * Warm again after a restart on the same database: the memory cache is empty,
 * so every answer comes from SQLite once, and single-flight decides how often.
 */
async function asteraRestarted(ctx: Context, result: SystemResult): Promise<void> {
  const restarted = await asteraStarter(ctx, join(ctx.work, "astera"))("main");
  try {
    log(`Astera: warm after a restart, ${ctx.options.clients} clients`);
    const before = await asteraStats(restarted.url);
    const warm = await runGoClients(
      restarted.url,
      ctx.options.clients,
      ctx.universe.project,
      ctx.buildCache,
    );
    const after = await asteraStats(restarted.url);
    result.restartWarmMs = warm.wallMs;
    result.restartReadsPerRequest = {
      reads: after.store.reads - before.store.reads,
      requests: after.handler.requests - before.handler.requests - 1,
    };
    checkFailures(result, "warm after restart", warm.failures);
    result.notes.push(
      `counters after the restarted warm run: ${after.handler.requests} requests, ${after.store.reads} reads, ${after.proxy.sourceFetches} upstream fetches`,
    );
  } finally {
    await restarted.stop();
  }
}

/** The name of the run with a disk budget in the table. */
const BUDGET_RUN = "Astera --max-bytes";

/**
 * Astera with a disk budget of half the universe (at least the 16 MiB
 * minimum): cold and warm as the plain run, and then the same workloads, so
 * eviction churns while clients are served. Its figures beside the plain
 * run's show what the budget costs (recency tracking, pins, eviction).
 */
async function prepareBudget(ctx: Context, running: Running[]): Promise<SystemResult> {
  const result = newResult(BUDGET_RUN);
  const maxBytes = Math.max(16 * 1024 * 1024, Math.floor(ctx.universe.bytes / 2));
  const dir = await freshDir(ctx.work, "astera-budget");
  const system = await startAstera({
    db: join(dir, "main.db"),
    upstream: ctx.upstream.url,
    log: join(dir, "main.log"),
    extraArgs: [...ctx.options.asteraArgs, "--max-bytes", String(maxBytes)],
  });
  const entry = { system: { ...system, name: BUDGET_RUN }, result };
  running.push(entry);
  result.notes.push(`--max-bytes ${(maxBytes / 1e6).toFixed(0)} MB: half the universe`);
  await coldWarm(ctx, entry, true);
  return result;
}

/** The name of the run on PostgreSQL in the table. */
function postgresRun(options: BenchOptions): string {
  return `Astera PostgreSQL ×${options.instances}`;
}

/**
 * Astera instances on one PostgreSQL database, the clients spread over them:
 * cold (with each artifact's upstream requests, which should be one in all)
 * and warm, with each instance's peak RSS. The later workloads (hot path,
 * huge and large zips) go to the first instance.
 */
async function preparePostgres(ctx: Context, running: Running[]): Promise<SystemResult> {
  const name = postgresRun(ctx.options);
  const result = newResult(name);
  const instances = await startInstances({
    count: ctx.options.instances,
    upstream: ctx.upstream.url,
    dir: await freshDir(ctx.work, "astera-postgres"),
    extraArgs: ctx.options.asteraArgs,
  });
  running.push({ system: instances.first(name), result });
  const n = ctx.options.clients;
  const mb = (peaks: number[]) => peaks.map((bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`);
  ctx.upstream.counts.clear();
  log(`${name}: cold, ${n} clients over ${instances.urls.length} instances`);
  let peaks = instances.watch();
  const cold = await runGoClients(instances.urls, n, ctx.universe.project, ctx.buildCache);
  const coldPeaks = peaks();
  result.rss.cold = Math.max(...coldPeaks);
  result.coldMs = cold.wallMs;
  result.clientCpu.cold = cold.clientCpu;
  result.upstream = upstreamFigures(ctx.upstream.counts);
  checkFailures(result, "cold", cold.failures);
  log(`${name}: warm, ${n} clients over ${instances.urls.length} instances`);
  peaks = instances.watch();
  const warm = await runGoClients(instances.urls, n, ctx.universe.project, ctx.buildCache);
  const warmPeaks = peaks();
  result.rss.warm = Math.max(...warmPeaks);
  result.warmMs = warm.wallMs;
  result.clientCpu.warm = warm.clientCpu;
  checkFailures(result, "warm", warm.failures);
  result.notes.push(
    `peak RSS per instance: cold ${mb(coldPeaks).join(", ")}; warm ${mb(warmPeaks).join(", ")}`,
    "hot path, huge and large zips: the first instance only",
  );
  return result;
}

/** What the budget did over every workload, read before the run with a budget stops. */
async function budgetNote(running: Running[]): Promise<void> {
  const entry = running.find(({ result }) => result.name === BUDGET_RUN);
  if (!entry) return;
  const { budget } = await asteraStats(entry.system.url);
  if (!budget) return;
  entry.result.notes.push(
    `budget: ${budget.evictions} zips evicted (${(budget.evictedBytes / 1e6).toFixed(0)} MB), ${
      (budget.storedBytes / 1e6).toFixed(0)
    } MB stored of ${
      (budget.maxBytes / 1e6).toFixed(0)
    } MB, ${budget.pinnedSkips} passed over while being sent`,
  );
}

async function prepareNginx(ctx: Context, running: Running[]): Promise<SystemResult> {
  const result = newResult("nginx");
  let binary: string;
  try {
    binary = await ensureDebianProgram("nginx", ["nginx-light"]);
  } catch (error) {
    result.skipped = error instanceof Error ? error.message : String(error);
    return result;
  }
  const entry = {
    system: await startNginx(binary, ctx.universe.root, await freshDir(ctx.work, "nginx")),
    result,
  };
  running.push(entry);
  result.notes.push("serves the universe's files from disk: no cold run, no upstream");
  await coldWarm(ctx, entry, false);
  return result;
}

/** The hot path only, on a bare Deno.serve with the serve task's flags. */
async function prepareFloor(ctx: Context, running: Running[]): Promise<SystemResult> {
  const result = newResult("Deno.serve");
  const system = await startFloor(
    ctx.universe.root,
    HOT_KINDS.map((kind) => ctx.universe.hot[kind]),
    join(ctx.work, "floor.log"),
  );
  running.push({ system, result });
  result.notes.push(
    "a bare Deno.serve answering the hot-path files from memory, with the serve task's flags: Deno's built-in server, which Astera replaced with lib/http/server.ts",
  );
  return result;
}

async function prepareAthens(
  ctx: Context,
  running: Running[],
  installed: Promise<{ binary: string } | { reason: string }>,
): Promise<SystemResult> {
  const result = newResult("Athens");
  const athens = await installed;
  if ("reason" in athens) {
    result.skipped = athens.reason;
    return result;
  }
  let system: System;
  try {
    system = await startAthens(athens.binary, ctx.upstream.url, await freshDir(ctx.work, "athens"));
  } catch (error) {
    result.skipped = error instanceof Error ? error.message : String(error);
    return result;
  }
  const entry = { system, result };
  running.push(entry);
  result.notes.push("RSS includes the go commands Athens runs to fetch");
  await coldWarm(ctx, entry, true);
  return result;
}

/**
 * The small hot-path requests over HTTPS, Astera beside nginx with the same
 * certificate, on their own instances once the others have stopped; the
 * figures join the Astera and nginx columns (made when not selected).
 */
async function tlsHotPaths(ctx: Context, results: SystemResult[]): Promise<void> {
  const column = (name: string) => {
    let result = results.find((r) => r.name === name);
    if (!result) results.push(result = newResult(name));
    return result;
  };
  log("hot path over TLS: Astera, nginx");
  try {
    await ensureDebianProgram("openssl", ["openssl"]);
    const measured = await measureTlsHot({
      work: ctx.work,
      root: ctx.universe.root,
      hot: ctx.universe.hot,
      upstream: ctx.upstream.url,
      nginx: await ensureDebianProgram("nginx", ["nginx-light"]),
      wrk: ctx.wrk,
      clients: ctx.options.clients,
      seconds: ctx.options.wrkSeconds,
      rounds: HOT_ROUNDS,
      asteraArgs: ctx.options.asteraArgs,
    });
    column("Astera").hotTls = measured.astera;
    column("nginx").hotTls = measured.nginx;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log(`hot path over TLS: ${reason}`);
    column("Astera").notes.push(`hot path over TLS not measured: ${reason}`);
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const cacheDir = join(
    Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache"),
    "astera-bench",
  );
  const athensInstall = options.systems.has("athens")
    ? installAthens(cacheDir)
    : Promise.resolve({ reason: "not selected" });
  const wrk = await ensureDebianProgram("wrk", ["wrk"]);
  const curl = await ensureDebianProgram("curl", ["curl"]);
  const work = await Deno.makeTempDir({ prefix: "astera-bench-" });
  log(`work directory ${work}`);
  const buildCache = join(work, "gocache");
  try {
    let universe: Universe;
    if (options.universe) {
      log(`using the universe ${options.universe.root}, project ${options.universe.project}`);
      universe = await loadUniverse(options.universe.root, options.universe.project);
    } else {
      log(
        `writing the universe (${options.modules} modules, huge zip ${options.hugeBytes / 1e6} MB)`,
      );
      universe = await writeBenchUniverse(join(work, "universe"), {
        modules: options.modules,
        hugeBytes: options.hugeBytes,
        deepLevels: options.deepLevels,
      });
    }
    log(
      `${universe.versions} versions; the project's build list has ${universe.buildList.length} modules`,
    );
    // The upstream reads its delay and bandwidth at each request: the large-zip workload
    // lifts them for a while (see largePulls).
    const link = {
      root: universe.root,
      delayMs: options.delayMs,
      bytesPerSecond: options.bytesPerSecond,
    };
    const upstream = await startFileProxy(link);
    const ctx: Context = { options, universe, upstream, link, work, buildCache, wrk, curl };
    const results: SystemResult[] = [];
    try {
      if (options.systems.has("direct")) results.push(await benchDirect(ctx));
      const running: Running[] = [];
      try {
        // A system that fails to start or to serve is reported as such; the others go on.
        const prepare = async (
          name: string,
          body: () => Promise<SystemResult>,
        ): Promise<void> => {
          try {
            results.push(await body());
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            log(`${name}: ${reason}`);
            const failed = results.find((result) => result.name === name) ?? newResult(name);
            failed.skipped = `failed: ${reason}`;
            if (!results.includes(failed)) results.push(failed);
            const index = running.findIndex((entry) => entry.result.name === name);
            if (index >= 0) await running.splice(index, 1)[0].system.stop();
          }
        };
        if (options.systems.has("astera")) {
          await prepare("Astera", () => prepareAstera(ctx, running));
        }
        if (options.systems.has("budget")) {
          await prepare(BUDGET_RUN, () => prepareBudget(ctx, running));
        }
        if (options.store === "postgres") {
          await prepare(postgresRun(options), () => preparePostgres(ctx, running));
        }
        if (options.systems.has("nginx")) await prepare("nginx", () => prepareNginx(ctx, running));
        if (options.systems.has("floor")) {
          await prepare("Deno.serve", () => prepareFloor(ctx, running));
        }
        if (options.systems.has("athens")) {
          await prepare("Athens", () => prepareAthens(ctx, running, athensInstall));
        }
        await moreWarmRounds(ctx, running);
        await hotPaths(ctx, running);
        for (const entry of running) {
          if (entry.result.name !== "Deno.serve") await hugePulls(ctx, entry);
        }
        for (const entry of running) {
          if (entry.result.name !== "Deno.serve") await largePulls(ctx, entry);
        }
        await budgetNote(running);
      } finally {
        for (const { system } of running) await system.stop();
      }
      if (options.systems.has("tls")) await tlsHotPaths(ctx, results);
      const astera = options.systems.has("astera") &&
        results.find((result) => result.name === "Astera" && !result.skipped);
      if (astera) await asteraRestarted(ctx, astera);
    } finally {
      await upstream.close();
    }
    const info: RunInfo = {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      machine: await machine(),
      clients: options.clients,
      delayMs: options.delayMs,
      bytesPerSecond: options.bytesPerSecond,
      versions: universe.versions,
      universeBytes: universe.bytes,
      buildList: universe.buildList.length,
      hugeBytes: universe.huge.size,
      wrkSeconds: options.wrkSeconds,
      warmRounds: WARM_ROUNDS,
      hotRounds: HOT_ROUNDS,
      command: ["deno task bench", ...Deno.args].join(" "),
    };
    const text = report(info, results);
    console.log(text);
    await Deno.mkdir(join(options.out, ".."), { recursive: true });
    await Deno.writeTextFile(options.out, text);
    // Formatted as the project formats Markdown, so `deno task check` stays clean.
    await run(Deno.execPath(), ["fmt", "--quiet", options.out]);
    log(`written to ${options.out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const missed = targets(results).filter((v) => v.pass === false).length;
    if (missed) log(`${missed} target(s) missed`);
  } finally {
    if (options.keep) log(`kept ${work}`);
    else await removeTree(work);
  }
}

if (import.meta.main) await main();
