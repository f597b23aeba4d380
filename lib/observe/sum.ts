/**
 * Adding up the counters of several isolates. Each isolate counts for itself
 * (no shared memory, no locks); `/_astera/stats`, `/metrics` and the status
 * page ask every isolate for its counters and add them up here, so a
 * histogram's buckets, a route kind's statuses and a module's requests are
 * summed key by key like any other number.
 *
 * @module
 */

/** One isolate's counters: numbers, and objects of counters, to any depth. */
export type IsolateStats = Record<string, unknown>;

/**
 * Adds counters of the same shape: numbers are summed, objects recursively,
 * anything else is taken from the first.
 *
 * @example
 * ```ts
 * import { sumStats } from "./sum.ts";
 * console.log(sumStats([{ store: { reads: 2, active: true } }, { store: { reads: 3, active: true } }]));
 * // { store: { reads: 5, active: true } }
 * ```
 */
export function sumStats(all: IsolateStats[]): IsolateStats {
  const sum: IsolateStats = {};
  for (const stats of all) {
    for (const [key, value] of Object.entries(stats)) {
      const seen = sum[key];
      if (typeof value === "number") {
        sum[key] = (typeof seen === "number" ? seen : 0) + value;
      } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        sum[key] = seen !== null && typeof seen === "object"
          ? sumStats([seen as IsolateStats, value as IsolateStats])
          : sumStats([value as IsolateStats]);
      } else if (!(key in sum)) {
        sum[key] = value;
      }
    }
  }
  return sum;
}

/**
 * The number at `path` in `stats`, or 0 when any step is missing or not a
 * number (a replica has no upstream watch, an older isolate lacks a field).
 *
 * @example
 * ```ts
 * import { numberAt } from "./sum.ts";
 * console.log(numberAt({ store: { reads: 5 } }, "store", "reads")); // 5
 * console.log(numberAt({ store: { reads: 5 } }, "store", "writes")); // 0
 * ```
 */
export function numberAt(stats: unknown, ...path: string[]): number {
  const value = valueAt(stats, ...path);
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * The object at `path` in `stats`, or an empty one.
 *
 * @example
 * ```ts
 * import { objectAt } from "./sum.ts";
 * console.log(objectAt({ a: { b: { c: 1 } } }, "a", "b")); // { c: 1 }
 * ```
 */
export function objectAt(stats: unknown, ...path: string[]): IsolateStats {
  const value = valueAt(stats, ...path);
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as IsolateStats
    : {};
}

/**
 * The value at `path` in `stats`, or undefined.
 *
 * @example
 * ```ts
 * import { valueAt } from "./sum.ts";
 * console.log(valueAt({ upstream: { lastError: "refused" } }, "upstream", "lastError")); // "refused"
 * ```
 */
export function valueAt(stats: unknown, ...path: string[]): unknown {
  let value = stats;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as IsolateStats)[key];
  }
  return value;
}
