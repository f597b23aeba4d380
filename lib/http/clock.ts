/**
 * One coarse clock for all of a server's deadlines and its `Date` header:
 * read on every request, advanced by the server's sweeper a few times a
 * second, so no request reads the time and none sets a timer.
 *
 * @module
 */

/**
 * The time as of the last {@linkcode CoarseClock.advance}: `now` is
 * monotonic, so when NTP steps the wall clock (a Pi's, soon after boot) no
 * connection may look hours overdue; `date` is the wall clock as an HTTP date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoarseClock } from "./clock.ts";
 * const clock = new CoarseClock();
 * const before = clock.now;
 * clock.advance();
 * assert(clock.now >= before && clock.date.endsWith(" GMT"));
 * ```
 */
export class CoarseClock {
  /** Milliseconds from `performance.now()`. */
  now: number = performance.now();
  /** The `Date` header's value. */
  date: string = new Date(Date.now()).toUTCString();

  /** Reads the time again. */
  advance(): void {
    this.now = performance.now();
    this.date = new Date(Date.now()).toUTCString();
  }
}
