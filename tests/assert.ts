/**
 * Small assertion helpers for the tests (the standard library's `@std/assert`
 * lives on JSR, which our machines cannot reach).
 *
 * @module
 */
import { deepStrictEqual } from "node:assert";

/**
 * Asserts deep equality, with a diff in the message on failure.
 *
 * @example
 * ```ts
 * import { assertEquals } from "./assert.ts";
 * assertEquals({ a: 1 }, { a: 1 });
 * ```
 */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/**
 * Asserts that a condition holds.
 *
 * @example
 * ```ts
 * import { assert } from "./assert.ts";
 * assert(1 < 2, "arithmetic");
 * ```
 */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * Asserts that `text` contains `part`.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "./assert.ts";
 * assertStringIncludes("not found: v9.9.9", "not found");
 * ```
 */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new Error(
      message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
    );
  }
}

/**
 * Asserts that `fn` throws an instance of `errorClass` whose message includes `includes`.
 *
 * @example
 * ```ts
 * import { assertThrows } from "./assert.ts";
 * assertThrows(() => { throw new RangeError("bad"); }, RangeError, "bad");
 * ```
 */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => Error = Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new Error(`expected ${errorClass.name} to be thrown`);
}

/**
 * Like {@linkcode assertThrows} for a function returning a promise.
 *
 * @example
 * ```ts
 * import { assertRejects } from "./assert.ts";
 * await assertRejects(() => Promise.reject(new TypeError("no")), TypeError, "no");
 * ```
 */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => Error = Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new Error(`expected ${errorClass.name} to be thrown`);
}

function checkError(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => Error,
  includes?: string,
): Error {
  if (!(error instanceof errorClass)) {
    throw new Error(`expected ${errorClass.name}, got ${String(error)}`);
  }
  if (includes !== undefined && !error.message.includes(includes)) {
    throw new Error(`expected message to include ${JSON.stringify(includes)}: ${error.message}`);
  }
  return error;
}
