/**
 * Counting how often each of an unbounded set of keys (module paths) is seen,
 * in bounded memory: the most frequent keys are kept, the rarest forgotten.
 *
 * @module
 */

/**
 * Counts per key, keeping at most `2 × capacity` keys: when that many are
 * held, the `capacity` most counted stay and the rest are forgotten (an
 * amortized sort, not a scan per new key). A key seen often always stays; one
 * forgotten and seen again starts from 1, so counts of rare keys are lower
 * bounds. One `Map` update per count, no allocation.
 *
 * @example
 * ```ts
 * import { TopCounts } from "./top_counts.ts";
 * const counts = new TopCounts(2);
 * for (const key of ["a", "b", "a", "c", "a", "b"]) counts.add(key);
 * console.log(counts.top(2)); // [["a", 3], ["b", 2]]
 * ```
 */
export class TopCounts {
  readonly capacity: number;
  #counts = new Map<string, number>();

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`TopCounts: capacity ${capacity} is below 1`);
    this.capacity = capacity;
  }

  /** Counts one more of `key`. */
  add(key: string): void {
    const count = this.#counts.get(key);
    if (count !== undefined) {
      this.#counts.set(key, count + 1);
      return;
    }
    if (this.#counts.size >= 2 * this.capacity) this.#prune();
    this.#counts.set(key, 1);
  }

  /** The `n` most counted keys, most first (ties by key, so the order is stable). */
  top(n: number = this.capacity): [string, number][] {
    return [...this.#counts].sort(byCountThenKey).slice(0, n);
  }

  /** The `n` most counted as an object (summable across isolates by `sumStats`). */
  snapshot(n: number = this.capacity): Record<string, number> {
    return Object.fromEntries(this.top(n));
  }

  #prune(): void {
    this.#counts = new Map(this.top(this.capacity));
  }
}

/**
 * The `n` largest entries of a `{ key: count }` object, most first.
 *
 * @example
 * ```ts
 * import { largest } from "./top_counts.ts";
 * console.log(largest({ a: 1, b: 5, c: 3 }, 2)); // [["b", 5], ["c", 3]]
 * ```
 */
export function largest(counts: Record<string, unknown>, n: number): [string, number][] {
  const entries: [string, number][] = [];
  for (const [key, value] of Object.entries(counts)) {
    if (typeof value === "number") entries.push([key, value]);
  }
  return entries.sort(byCountThenKey).slice(0, n);
}

function byCountThenKey(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}
