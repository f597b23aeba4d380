/**
 * Joining byte chunks read from a stream into one buffer.
 *
 * @module
 */

/**
 * Concatenates `parts` into one new buffer.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * console.log(joined); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}
