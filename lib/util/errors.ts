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
