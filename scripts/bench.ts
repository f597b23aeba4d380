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
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFileProxy } from "../tests/fileproxy.ts";
import { GO, removeTree } from "../tests/gotool.ts";
import { freshDir, MemoryWatch, pullConcurrently, runGoClients, runWrk } from "./bench/measure.ts";
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
import { type Universe, writeBenchUniverse } from "./bench/universe.ts";

const USAGE = `usage: deno task bench [--quick] [--clients N] [--delay DURATION] [--bandwidth SIZE]
  [--modules N] [--huge-mb N] [--seconds N] [--systems direct,astera,nginx,floor,athens] [--out FILE] [--keep]`;

/** Flags of the benchmark. */
export interface BenchOptions {
  quick: boolean;
  clients: number;
  delayMs: number;
  bytesPerSecond: number;
  modules: number;
  hugeBytes: number;
  wrkSeconds: number;
  systems: Set<string>;
  out: string;
  keep: boolean;
}

function parseMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!match) throw new Error(`bad duration ${text}: use e.g. 150ms or 0.5s`);
  return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
}

function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?(?:\/s)?$/i.exec(text.trim());
  if (!match) throw new Error(`bad bandwidth ${text}: use e.g. 2MB/s, 500KB or 0 for none`);
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
  };
  return Math.round(Number(match[1]) * units[(match[2] ?? "b").toLowerCase()]);
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
      "huge-mb": { type: "string" },
      seconds: { type: "string" },
      systems: { type: "string", default: "direct,astera,nginx,floor,athens" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
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
    if (!["direct", "astera", "nginx", "floor", "athens"].includes(name)) {
      throw new Error(`unknown system ${name}`);
    }
  }
  return {
    quick,
    clients: int(values.clients, 40, "clients"),
    delayMs: parseMs(values.delay),
    bytesPerSecond: parseRate(values.bandwidth),
    modules: int(values.modules, quick ? 30 : 80, "modules"),
    hugeBytes: int(values["huge-mb"], quick ? 20 : 100, "huge-mb") * 1_000_000,
    wrkSeconds: int(values.seconds, quick ? 2 : 5, "seconds"),
    systems,
    out: values.out ?? join(REPO, "bench", quick ? "results-quick.md" : "results.md"),
    keep: values.keep,
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

/** wrk on each hot-path request kind. */
async function hotPath(ctx: Context, system: System, result: SystemResult): Promise<void> {
  for (const kind of HOT_KINDS) {
    const url = system.url + ctx.universe.hot[kind];
    const probe = await fetch(url);
    await probe.body?.cancel();
    if (probe.status !== 200) {
      result.notes.push(`hot ${kind}: ${ctx.universe.hot[kind]} answered ${probe.status}`);
      continue;
    }
    result.hot[kind] = await runWrk(ctx.wrk, url, ctx.options.clients, ctx.options.wrkSeconds);
  }
}

/** cold (N clients, empty cache) → warm → hot path → N × huge zip, on one running system. */
async function workloads(
  ctx: Context,
  system: System,
  result: SystemResult,
  phases: { cold: boolean },
): Promise<void> {
  const { options, universe, upstream } = ctx;
  const watch = new MemoryWatch(system.pid);
  const n = options.clients;
  if (phases.cold) {
    upstream.counts.clear();
    log(`${result.name}: cold, ${n} clients`);
    watch.begin();
    const cold = await runGoClients(system.url, n, universe.project, ctx.buildCache);
    result.rss.cold = watch.end();
    result.cpu.cold = watch.cpu;
    result.coldMs = cold.wallMs;
    result.clientCpu.cold = cold.clientCpu;
    result.upstream = upstreamFigures(upstream.counts);
    checkFailures(result, "cold", cold.failures);
  }
  log(`${result.name}: warm, ${n} clients`);
  const isAstera = result.name === "Astera";
  const before = isAstera ? await asteraStats(system.url) : undefined;
  watch.begin();
  const warm = await runGoClients(system.url, n, universe.project, ctx.buildCache);
  result.rss.warm = watch.end();
  result.cpu.warm = watch.cpu;
  result.warmMs = warm.wallMs;
  result.clientCpu.warm = warm.clientCpu;
  checkFailures(result, "warm", warm.failures);
  if (before) {
    const after = await asteraStats(system.url);
    result.readsPerRequest = {
      reads: after.store.reads - before.store.reads,
      // the stats request itself is counted by the handler
      requests: after.handler.requests - before.handler.requests - 1,
    };
  }

  log(`${result.name}: hot path`);
  watch.begin();
  await hotPath(ctx, system, result);
  result.rss.hot = watch.end();

  log(`${result.name}: ${n} × huge zip`);
  const hugeUrl = system.url + universe.huge.path;
  watch.begin();
  const cold = await pullConcurrently(ctx.curl, hugeUrl, n, universe.huge.size);
  result.hugeColdMs = cold.wallMs;
  checkFailures(result, "huge zip (first pull)", cold.failures);
  const warmPull = await pullConcurrently(ctx.curl, hugeUrl, n, universe.huge.size);
  result.hugeWarmMs = warmPull.wallMs;
  checkFailures(result, "huge zip (second pull)", warmPull.failures);
  result.rss.huge = watch.end();
}

async function benchDirect(ctx: Context): Promise<SystemResult> {
  const result: SystemResult = {
    name: "direct",
    notes: [],
    hot: {},
    rss: {},
    cpu: {},
    clientCpu: {},
  };
  const n = ctx.options.clients;
  ctx.upstream.counts.clear();
  log(`direct: 1 client`);
  const one = await runGoClients(ctx.upstream.url, 1, ctx.universe.project, ctx.buildCache);
  result.cold1Ms = one.wallMs;
  result.clientCpu.cold1 = one.clientCpu;
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

async function benchAstera(ctx: Context): Promise<SystemResult> {
  const result: SystemResult = {
    name: "Astera",
    notes: [],
    hot: {},
    rss: {},
    cpu: {},
    clientCpu: {},
  };
  const dir = await freshDir(ctx.work, "astera");
  const start = (name: string) =>
    startAstera({
      db: join(dir, `${name}.db`),
      upstream: ctx.upstream.url,
      log: join(dir, `${name}.log`),
    });
  log("Astera: cold, 1 client");
  const single = await start("single");
  try {
    const one = await runGoClients(single.url, 1, ctx.universe.project, ctx.buildCache);
    result.cold1Ms = one.wallMs;
    result.clientCpu.cold1 = one.clientCpu;
    checkFailures(result, "cold 1", one.failures);
  } finally {
    await single.stop();
  }
  const astera = await start("main");
  try {
    await workloads(ctx, astera, result, { cold: true });
    const stats = await asteraStats(astera.url);
    result.notes.push(
      `counters after the run: ${stats.handler.requests} requests, ${stats.store.reads} reads, ${stats.store.writes} writes, ${stats.proxy.sourceFetches} upstream fetches`,
    );
  } finally {
    await astera.stop();
  }
  return result;
}

async function benchNginx(ctx: Context): Promise<SystemResult> {
  const result: SystemResult = {
    name: "nginx",
    notes: [],
    hot: {},
    rss: {},
    cpu: {},
    clientCpu: {},
  };
  let binary: string;
  try {
    binary = await ensureDebianProgram("nginx", ["nginx-light"]);
  } catch (error) {
    result.skipped = error instanceof Error ? error.message : String(error);
    return result;
  }
  const nginx = await startNginx(binary, ctx.universe.root, await freshDir(ctx.work, "nginx"));
  try {
    result.notes.push("serves the universe's files from disk: no cold run, no upstream");
    await workloads(ctx, nginx, result, { cold: false });
  } finally {
    await nginx.stop();
  }
  return result;
}

/** The hot path only, on a bare Deno.serve with the serve task's flags. */
async function benchFloor(ctx: Context): Promise<SystemResult> {
  const result: SystemResult = {
    name: "Deno floor",
    notes: [],
    hot: {},
    rss: {},
    cpu: {},
    clientCpu: {},
  };
  const floor = await startFloor(
    ctx.universe.root,
    HOT_KINDS.map((kind) => ctx.universe.hot[kind]),
    join(ctx.work, "floor.log"),
  );
  try {
    result.notes.push(
      "a bare Deno.serve answering the hot-path files from memory, with the serve task's flags: the runtime's limit",
    );
    const watch = new MemoryWatch(floor.pid);
    log("Deno floor: hot path");
    watch.begin();
    await hotPath(ctx, floor, result);
    result.rss.hot = watch.end();
  } finally {
    await floor.stop();
  }
  return result;
}

async function benchAthens(
  ctx: Context,
  installed: Promise<{ binary: string } | { reason: string }>,
): Promise<SystemResult> {
  const result: SystemResult = {
    name: "Athens",
    notes: [],
    hot: {},
    rss: {},
    cpu: {},
    clientCpu: {},
  };
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
  try {
    await workloads(ctx, system, result, { cold: true });
    result.notes.push("RSS includes the go commands Athens runs to fetch");
  } finally {
    await system.stop();
  }
  return result;
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
    log(
      `writing the universe (${options.modules} modules, huge zip ${options.hugeBytes / 1e6} MB)`,
    );
    const universe = await writeBenchUniverse(join(work, "universe"), {
      modules: options.modules,
      hugeBytes: options.hugeBytes,
    });
    log(
      `${universe.versions} versions; the project's build list has ${universe.buildList.length} modules`,
    );
    const upstream = await startFileProxy({
      root: universe.root,
      delayMs: options.delayMs,
      bytesPerSecond: options.bytesPerSecond,
    });
    const ctx: Context = { options, universe, upstream, work, buildCache, wrk, curl };
    const results: SystemResult[] = [];
    try {
      if (options.systems.has("direct")) results.push(await benchDirect(ctx));
      if (options.systems.has("astera")) results.push(await benchAstera(ctx));
      if (options.systems.has("nginx")) results.push(await benchNginx(ctx));
      if (options.systems.has("floor")) results.push(await benchFloor(ctx));
      if (options.systems.has("athens")) results.push(await benchAthens(ctx, athensInstall));
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
      command: ["deno task bench", ...Deno.args].join(" "),
    };
    const text = report(info, results);
    console.log(text);
    await Deno.mkdir(join(options.out, ".."), { recursive: true });
    await Deno.writeTextFile(options.out, text);
    log(`written to ${options.out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const missed = targets(results).filter((v) => v.pass === false).length;
    if (missed) log(`${missed} target(s) missed`);
  } finally {
    if (options.keep) log(`kept ${work}`);
    else await removeTree(work);
  }
}

if (import.meta.main) await main();
