/**
 * Single-flight across instances: a {@linkcode FlightGroup} that coalesces
 * callers within this process as {@linkcode SingleFlight} does, and runs
 * each execution under the store's lease for its key, so that instances
 * sharing one database fetch a thing from upstream one at a time. An
 * execution that waited for another instance's finds what that one stored
 * (a fetch of an `.info` or `.mod` begins by looking in the store; a refresh
 * under a lease does too, see `proxy.ts`).
 *
 * @module
 */
import type { Leases } from "../store/mod.ts";
import { type FlightGroup, SingleFlight, type SingleFlightStats } from "./single_flight.ts";

/**
 * A {@linkcode FlightGroup} over {@linkcode Leases}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeasedFlight } from "./leased_flight.ts";
 * const lease = { release: () => Promise.resolve(), publish: () => Promise.resolve() };
 * const leases = {
 *   acquire: () => Promise.resolve(lease),
 *   tryAcquire: () => Promise.resolve(lease),
 *   download: () => Promise.resolve(undefined),
 * };
 * const flights = new LeasedFlight<string>(leases);
 * assert(await flights.do("k", () => Promise.resolve("v")) === "v");
 * ```
 */
export class LeasedFlight<T> implements FlightGroup<T> {
  #local = new SingleFlight<T>();
  #leases: Leases;

  constructor(leases: Leases) {
    this.#leases = leases;
  }

  do(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.do(key, async () => {
      const lease = await this.#leases.acquire(key);
      try {
        return await fn();
      } finally {
        await lease.release();
      }
    });
  }

  stats(): SingleFlightStats {
    return this.#local.stats();
  }
}
