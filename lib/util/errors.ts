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
 * import { errorText } from "./errors.ts";
 * console.assert(errorText(new Error("disk full")) === "disk full");
 * console.assert(errorText("plain") === "plain");
 * ```
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
