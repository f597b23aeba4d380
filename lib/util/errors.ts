/**
 * One way to turn whatever was thrown into the text a log line or an error
 * body shows: the message of an `Error`, the string form of anything else.
 *
 * @module
 */

/**
 * The text of a thrown value: its message when it is an `Error`, otherwise
 * its string form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorText } from "./errors.ts";
 * assert.equal(errorText(new Error("disk full")), "disk full");
 * assert.equal(errorText("plain"), "plain");
 * ```
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The text of a thrown value followed by those of its causes (three at
 * most), for errors whose own message says little: fetch's is only
 * "fetch failed", the reason (a refused connection, a TLS failure) is its cause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorTextWithCauses } from "./errors.ts";
 * const error = new TypeError("fetch failed", { cause: new Error("connection refused") });
 * assert(errorTextWithCauses(error) === "fetch failed: connection refused");
 * assert(errorTextWithCauses("plain") === "plain");
 * ```
 */
export function errorTextWithCauses(error: unknown): string {
  return withCauses(error, 0);
}

function withCauses(error: unknown, depth: number): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause === undefined || cause === null || depth >= 3
    ? error.message
    : `${error.message}: ${withCauses(cause, depth + 1)}`;
}
