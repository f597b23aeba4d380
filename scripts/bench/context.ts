/**
 * What the benchmark's workloads share: the context of one run, a running
 * system with its result, and the small helpers every workload uses.
 *
 * @module
 */
import { GO } from "../../tests/go_tool.ts";
import type { BenchOptions } from "./options.ts";
import type { SystemResult } from "./report.ts";
import { run, type System } from "./systems.ts";
import type { Universe } from "./universe.ts";

/**
 * The name of the run with a disk budget in the table.
 *
 * @example
 * ```ts ignore
 * const isAstera = result.name === "Astera" || result.name === BUDGET_RUN;
 * ```
 */
export const BUDGET_RUN = "Astera --max-bytes";

/**
 * A progress line on stderr, with the time of day.
 *
 * @example
 * ```ts ignore
 * log("astera: warm, 40 clients");
 * ```
 */
export function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/**
 * The machine the run is on, for the report: cores, memory, kernel, Deno and Go.
 *
 * @example
 * ```ts ignore
 * const info = await machine();
 * ```
 */
export async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? Deno.build.arch;
  const memory = Math.round(Deno.systemMemoryInfo().total / 1024 ** 3);
  const go = (await run(GO, ["version"])).out.trim().replace(/^go version /, "");
  return `${navigator.hardwareConcurrency} cores (${cpu}), ${memory} GiB, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}, ${go}`;
}

/**
 * Everything the workloads of one system share.
 *
 * @example
 * ```ts ignore
 * await coldWarm(ctx, running, true);
 * ```
 */
export interface Context {
  options: BenchOptions;
  universe: Universe;
  upstream: { url: string; counts: Map<string, number>; firstAsked: Map<string, number> };
  /** The upstream's link, read at each request: a workload may lift it for a while. */
  link: { delayMs: number; bytesPerSecond: number };
  work: string;
  buildCache: string;
  wrk: string;
  curl: string;
}

/**
 * Notes (and logs) clients that failed in a workload.
 *
 * @example
 * ```ts ignore
 * checkFailures(result, "warm", warm.failures);
 * ```
 */
export function checkFailures(result: SystemResult, what: string, failures: string[]): void {
  if (failures.length) {
    result.notes.push(`${what}: ${failures.length} clients failed, e.g. ${failures[0]}`);
    log(`${result.name} ${what}: ${failures.length} failures: ${failures[0]}`);
  }
}

/**
 * How many requests reached the upstream, and the path asked most often.
 *
 * @example
 * ```ts ignore
 * result.upstream = upstreamFigures(ctx.upstream.counts);
 * ```
 */
export function upstreamFigures(counts: Map<string, number>): SystemResult["upstream"] {
  let requests = 0;
  let max = 0;
  let maxPath = "";
  for (const [path, count] of counts) {
    requests += count;
    if (count > max) [max, maxPath] = [count, path];
  }
  return { requests, unique: counts.size, max, maxPath };
}

/**
 * How long a client's walk of the module graph took, from `startedAt`
 * (`performance.now()`) to the first `.info` the upstream was asked: `go mod
 * download` reads every go.mod it needs before it asks any `.info`, and
 * Astera prefetches none before a client asks one. Undefined when no `.info`
 * was asked (`go mod tidy`, `go mod graph`).
 *
 * @example
 * ```ts
 * import { walkMs } from "./context.ts";
 * const firstAsked = new Map([["/m/@v/v1.0.0.mod", 1_100], ["/m/@v/v1.0.0.info", 4_000]]);
 * console.log(walkMs(firstAsked, 1_000)); // 3000
 * ```
 */
export function walkMs(firstAsked: Map<string, number>, startedAt: number): number | undefined {
  let first = Infinity;
  for (const [path, at] of firstAsked) {
    if (path.endsWith(".info") && at < first) first = at;
  }
  return first === Infinity ? undefined : first - startedAt;
}

/**
 * A system under test that is running, with what has been measured on it.
 *
 * @example
 * ```ts ignore
 * const running: Running = { system, result: newResult("Astera") };
 * ```
 */
export interface Running {
  system: System;
  result: SystemResult;
}

/**
 * An empty result for the system named `name`.
 *
 * @example
 * ```ts ignore
 * const result = newResult("nginx");
 * ```
 */
export function newResult(name: string): SystemResult {
  return { name, notes: [], hot: {}, rss: {}, cpu: {}, clientCpu: {} };
}

/**
 * The name of the run on PostgreSQL in the table.
 *
 * @example
 * ```ts ignore
 * const name = postgresRun(ctx.options);
 * ```
 */
export function postgresRun(options: BenchOptions): string {
  return `Astera PostgreSQL ×${options.instances}`;
}
