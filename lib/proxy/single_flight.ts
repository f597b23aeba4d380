/**
 * Single-flight: concurrent callers asking for the same key share one
 * execution. Forty `go mod tidy` asking for one `.mod` cause one database read
 * or one upstream fetch, not forty.
 *
 * The cache policy depends on the {@linkcode FlightGroup} interface only;
 * {@linkcode SingleFlight} is today's implementation, within one process. A
 * backend shared by several processes (PostgreSQL) can give one that
 * coordinates across them.
 *
 * @module
 */

/** Counters a {@linkcode SingleFlight} keeps for `/metrics`-style reporting. */
export interface SingleFlightStats {
  /** Calls that started a new execution. */
  executions: number;
  /** Calls that joined an execution already under way. */
  coalesced: number;
  /** Executions under way now. */
  inFlight: number;
}

/**
 * What the cache policy needs of single-flight (named after Go's
 * `singleflight.Group`): one execution per key at a time, its outcome given
 * to every caller that asked meanwhile. An implementation that coordinates
 * across processes cannot hand over another process's result: it runs `fn`
 * once the other execution has ended (a fetch of an `.info` or `.mod` begins
 * by looking in the store, where that execution left the artifact).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FlightGroup, SingleFlight } from "./single_flight.ts";
 * const flights: FlightGroup<string> = new SingleFlight<string>();
 * assert(await flights.do("k", () => Promise.resolve("v")) === "v");
 * ```
 */
export interface FlightGroup<T> {
  /** Runs `fn` unless a call with `key` is under way, in which case joins it. */
  do(key: string, fn: () => Promise<T>): Promise<T>;
  /** A snapshot of the counters. */
  stats(): SingleFlightStats;
}

/**
 * Shares one promise among concurrent callers of the same key, within this
 * process. The key is
 * forgotten as soon as the execution settles, so a later call runs again:
 * this coalesces, it does not cache.
 *
 * @example
 * ```ts
 * import { SingleFlight } from "./single_flight.ts";
 * const flight = new SingleFlight<number>();
 * let runs = 0;
 * const work = () => Promise.resolve(++runs);
 * const [a, b] = await Promise.all([flight.do("k", work), flight.do("k", work)]);
 * console.log(a, b, runs); // 1 1 1
 * ```
 */
export class SingleFlight<T> implements FlightGroup<T> {
  #inFlight = new Map<string, Promise<T>>();
  #executions = 0;
  #coalesced = 0;

  /** Runs `fn` unless a call with `key` is under way, in which case joins it. */
  do(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) {
      this.#coalesced++;
      return running;
    }
    this.#executions++;
    const promise = (async () => {
      try {
        return await fn();
      } finally {
        this.#inFlight.delete(key);
      }
    })();
    this.#inFlight.set(key, promise);
    return promise;
  }

  /** Whether an execution for `key` is under way. */
  has(key: string): boolean {
    return this.#inFlight.has(key);
  }

  /** A snapshot of the counters. */
  stats(): SingleFlightStats {
    return {
      executions: this.#executions,
      coalesced: this.#coalesced,
      inFlight: this.#inFlight.size,
    };
  }
}
