/**
 * The benchmark's workloads on a running system: cold and warm builds of N
 * go clients (warm in rounds, the fastest counting), wrk on the hot paths,
 * N clients pulling the huge zip, and N clients over three large zips.
 *
 * @module
 */
import {
  type ClientsResult,
  MemoryWatch,
  pullConcurrently,
  runGoClients,
  runWrk,
} from "./measure.ts";
import { HOT_KINDS } from "./report.ts";
import { asteraStats } from "./systems.ts";
import {
  BUDGET_RUN,
  checkFailures,
  type Context,
  log,
  postgresRun,
  type Running,
  upstreamFigures,
} from "./context.ts";

/**
 * Rounds of wrk per system and request kind; the best round counts (less noise from neighbours).
 *
 * @example
 * ```ts ignore
 * const run: RunInfo = { ...info, hotRounds: HOT_ROUNDS };
 * ```
 */
export const HOT_ROUNDS = 3;

/**
 * Warm runs per system; the fastest counts. The same 40 clients through the
 * same server took from 4.6 s to 6.7 s here in consecutive runs, their own CPU
 * from 8 s to 12 s: one run each said more about the machine than the systems.
 *
 * @example
 * ```ts ignore
 * const run: RunInfo = { ...info, warmRounds: WARM_ROUNDS };
 * ```
 */
export const WARM_ROUNDS = 3;

/**
 * One warm run of N clients; the system's warm figures become this run's if it
 * is its fastest so far, and its peak RSS counts over every round.
 *
 * @example
 * ```ts ignore
 * const warm = await warmRound(ctx, running, 1);
 * ```
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
    ctx.options.goArgs,
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
 *
 * @example
 * ```ts ignore
 * await moreWarmRounds(ctx, running);
 * ```
 */
export async function moreWarmRounds(ctx: Context, running: Running[]): Promise<void> {
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
 *
 * @example
 * ```ts ignore
 * await hotPaths(ctx, running);
 * ```
 */
export async function hotPaths(ctx: Context, running: Running[]): Promise<void> {
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

/**
 * cold (N clients, empty cache, when asked for) → warm, on one running system.
 *
 * @example
 * ```ts ignore
 * await coldWarm(ctx, running, true);
 * ```
 */
export async function coldWarm(
  ctx: Context,
  { system, result }: Running,
  cold: boolean,
): Promise<void> {
  const { options, universe, upstream } = ctx;
  const n = options.clients;
  if (cold) {
    const watch = new MemoryWatch(system.pid);
    upstream.counts.clear();
    log(`${result.name}: cold, ${n} clients`);
    watch.begin();
    const run = await runGoClients(system.url, n, universe.project, ctx.buildCache, options.goArgs);
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

/**
 * N clients pulling the huge zip at once: first from a cold cache, then again.
 *
 * @example
 * ```ts ignore
 * await hugePulls(ctx, running);
 * ```
 */
export async function hugePulls(ctx: Context, { system, result }: Running): Promise<void> {
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
 *
 * @example
 * ```ts ignore
 * await largePulls(ctx, running);
 * ```
 */
export async function largePulls(ctx: Context, { system, result }: Running): Promise<void> {
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
