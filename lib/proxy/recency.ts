/**
 * When each zip was last served, gathered in memory and written in batches,
 * so that serving a zip costs no database write: the disk budget's eviction
 * (`budget.ts`) removes the least recently served zips first. A batch goes
 * out after a few seconds or once enough distinct zips were served, whichever
 * comes first; a crash loses at most that batch, which only makes the next
 * eviction slightly less accurate.
 *
 * In the primary isolate a batch goes to the store; in a replica it goes to
 * the primary over its message port, which merges it into its own.
 *
 * @module
 */
import type { ServedHit } from "../store/mod.ts";

/**
 * A zip's hits in a batch: how many, and the latest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BatchedHit } from "./recency.ts";
 * const hit: BatchedHit = { module: "example.com/m", version: "v1.0.0", at: 5, count: 2 };
 * assert(hit.count === 2);
 * ```
 */
export interface BatchedHit extends ServedHit {
  count: number;
}

/**
 * Runs `run` after `ms`; returns how to cancel it. The default is an unref'd timer.
 *
 * @example
 * ```ts
 * import type { Schedule } from "./recency.ts";
 * const now: Schedule = (run) => (run(), () => {});
 * now(() => console.log("ran"), 5000);
 * ```
 */
export type Schedule = (run: () => void, ms: number) => () => void;

/**
 * Options of a {@linkcode ServedLog}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ServedLogOptions } from "./recency.ts";
 * const options: ServedLogOptions = { flush: () => {}, intervalMs: 5000, maxHits: 256 };
 * assert(options.maxHits === 256);
 * ```
 */
export interface ServedLogOptions {
  /** Where a batch goes: the store (primary) or the primary (replica). */
  flush: (hits: BatchedHit[]) => Promise<void> | void;
  /** A batch goes out at most this long after its first hit (ms). */
  intervalMs?: number;
  /** A batch goes out at once when it holds this many distinct zips. */
  maxHits?: number;
  /** Called when a batch failed (it is dropped: recency is a hint). */
  onError?: (error: unknown) => void;
  now?: () => number;
  schedule?: Schedule;
}

/**
 * Counters of a {@linkcode ServedLog}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ServedLog } from "./recency.ts";
 * assert(new ServedLog({ flush: () => {} }).stats().servedHits === 0);
 * ```
 */
export interface ServedLogStats {
  /** Zips served (hits, including those merged from replicas). */
  servedHits: number;
  /** Batches written. */
  servedBatches: number;
}

const defaultSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  Deno.unrefTimer(timer);
  return () => clearTimeout(timer);
};

/**
 * Hits on zips, counted in memory and flushed in batches.
 *
 * @example
 * ```ts
 * import { ServedLog } from "./recency.ts";
 * const written: unknown[] = [];
 * const log = new ServedLog({ flush: (hits) => void written.push(...hits), now: () => 5 });
 * log.served("example.com/m", "v1.0.0");
 * await log.flush();
 * console.log(written); // [ { module: "example.com/m", version: "v1.0.0", at: 5, count: 1 } ]
 * ```
 */
export class ServedLog {
  #options: ServedLogOptions;
  #now: () => number;
  #schedule: Schedule;
  #pending = new Map<string, BatchedHit>();
  #cancel: (() => void) | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #stats: ServedLogStats = { servedHits: 0, servedBatches: 0 };

  constructor(options: ServedLogOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#schedule = options.schedule ?? defaultSchedule;
  }

  /** Notes that a zip is being served now. */
  served(module: string, version: string): void {
    this.merge([{ module, version, at: this.#now(), count: 1 }]);
  }

  /** Adds hits gathered elsewhere (a replica's batch); the latest time of each zip wins. */
  merge(hits: readonly BatchedHit[]): void {
    for (const { module, version, at, count } of hits) {
      this.#stats.servedHits += count;
      const key = `${module}@${version}`;
      const seen = this.#pending.get(key);
      this.#pending.set(key, {
        module,
        version,
        at: Math.max(at, seen?.at ?? at),
        count: count + (seen?.count ?? 0),
      });
    }
    if (this.#pending.size >= (this.#options.maxHits ?? 256)) {
      void this.flush();
    } else if (this.#pending.size > 0 && !this.#cancel) {
      this.#cancel = this.#schedule(() => {
        this.#cancel = undefined;
        void this.flush();
      }, this.#options.intervalMs ?? 5000);
    }
  }

  /** Writes the pending batch now; resolves once it (and any batch before it) is written. */
  flush(): Promise<void> {
    this.#cancel?.();
    this.#cancel = undefined;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.#options.flush(batch);
        this.#stats.servedBatches++;
      } catch (error) {
        this.#options.onError?.(error);
      }
    });
    return this.#flushing;
  }

  /** A snapshot of the counters. */
  stats(): ServedLogStats {
    return { ...this.#stats };
  }
}
