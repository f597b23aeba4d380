/**
 * Whether something stamped at one time is still young at another, with a
 * clock that can go back: a Raspberry Pi without a battery-backed clock
 * starts from the last time it saved, and NTP may set the clock either way.
 * A stamp in the future means the clock went back since, and counts as old,
 * so a list, a not-found or a git mirror is never kept for the length of the
 * jump.
 *
 * @module
 */

/**
 * Whether `at` is less than `ttlMs` before `now`, and not after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isYoung } from "./age.ts";
 * assert.ok(isYoung(1_000, 60_000, 2_000));
 * assert.ok(!isYoung(90_000, 60_000, 2_000)); // stamped after "now"
 * ```
 */
export function isYoung(at: number, ttlMs: number, now: number): boolean {
  const age = now - at;
  return age >= 0 && age < ttlMs;
}
