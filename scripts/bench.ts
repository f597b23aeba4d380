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
import { startFileProxy } from "../tests/file_proxy.ts";
import { removeTree } from "../tests/go_tool.ts";
import { errorText } from "../lib/util/errors.ts";
import { freshDir, runGoClients } from "./bench/measure.ts";
import { HOT_KINDS, report, type RunInfo, type SystemResult, targets } from "./bench/report.ts";
import {
  asteraStats,
  ensureDebianProgram,
  installAthens,
  run,
  startAstera,
  startAthens,
  startFloor,
  startNginx,
  type System,
} from "./bench/systems.ts";
import { startInstances } from "./bench/instances.ts";
import { measureTlsHot } from "./bench/tls.ts";
import { loadUniverse, type Universe, writeBenchUniverse } from "./bench/universe.ts";
import { type BenchOptions, parseBenchArgs, USAGE } from "./bench/options.ts";
import {
  BUDGET_RUN,
  checkFailures,
  type Context,
  log,
  machine,
  newResult,
  postgresRun,
  type Running,
  upstreamFigures,
  walkMs,
} from "./bench/context.ts";
import {
  coldWarm,
  HOT_ROUNDS,
  hotPaths,
  hugePulls,
  largePulls,
  moreWarmRounds,
  WARM_ROUNDS,
} from "./bench/workloads.ts";

// Kept importable from here: the flags are the script's interface.
export { type BenchOptions, parseBenchArgs } from "./bench/options.ts";

/**
 * One cold client through `url`, with the upstream's counts from its start:
 * its time, its walk of the graph and its CPU go into `result`.
 */
async function coldOneClient(ctx: Context, url: string, result: SystemResult): Promise<void> {
  ctx.upstream.counts.clear();
  ctx.upstream.firstAsked.clear();
  const startedAt = performance.now();
  const one = await runGoClients(url, 1, ctx.universe.project, ctx.buildCache, ctx.options.goArgs);
  result.cold1Ms = one.wallMs;
  result.walk1Ms = walkMs(ctx.upstream.firstAsked, startedAt);
  result.clientCpu.cold1 = one.clientCpu;
  checkFailures(result, "cold 1", one.failures);
}

async function benchDirect(ctx: Context): Promise<SystemResult> {
  const result = newResult("direct");
  const n = ctx.options.clients;
  log(`direct: 1 client`);
  await coldOneClient(ctx, ctx.upstream.url, result);
  result.upstream1 = upstreamFigures(ctx.upstream.counts);
  ctx.upstream.counts.clear();
  log(`direct: ${n} clients`);
  const cold = await runGoClients(
    ctx.upstream.url,
    n,
    ctx.universe.project,
    ctx.buildCache,
    ctx.options.goArgs,
  );
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
    await coldOneClient(ctx, single.url, result);
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
      ctx.options.goArgs,
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
  const cold = await runGoClients(
    instances.urls,
    n,
    ctx.universe.project,
    ctx.buildCache,
    ctx.options.goArgs,
  );
  const coldPeaks = peaks();
  result.rss.cold = Math.max(...coldPeaks);
  result.coldMs = cold.wallMs;
  result.clientCpu.cold = cold.clientCpu;
  result.upstream = upstreamFigures(ctx.upstream.counts);
  checkFailures(result, "cold", cold.failures);
  log(`${name}: warm, ${n} clients over ${instances.urls.length} instances`);
  peaks = instances.watch();
  const warm = await runGoClients(
    instances.urls,
    n,
    ctx.universe.project,
    ctx.buildCache,
    ctx.options.goArgs,
  );
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
    result.skipped = errorText(error);
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
    result.skipped = errorText(error);
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
    const reason = errorText(error);
    log(`hot path over TLS: ${reason}`);
    column("Astera").notes.push(`hot path over TLS not measured: ${reason}`);
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    console.error(`bench: ${errorText(error)}\n${USAGE}`);
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
            const reason = errorText(error);
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
