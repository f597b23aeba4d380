/**
 * Joining byte chunks read from a stream into one buffer, and reading no
 * more of a stream than is wanted.
 *
 * @module
 */

/**
 * Concatenates `parts` into one new buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./bytes.ts";
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
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

/**
 * Whether `a` and `b` hold the same bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesEqual } from "./bytes.ts";
 * assert.ok(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
 * assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1])));
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/**
 * The first `limit` bytes of `body` (fewer if it ends or breaks first); the
 * rest is cancelled unread. For bodies read only for a message or a header,
 * where a break leaves enough to go on with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPrefix } from "./bytes.ts";
 * const body = new Response("hello, world").body;
 * assert.equal(new TextDecoder().decode(await readPrefix(body, 5)), "hello");
 * ```
 */
export async function readPrefix(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
    }
  } catch {
    // What arrived before the break is kept.
  } finally {
    reader.cancel().catch(() => {});
  }
  return concatBytes(parts).subarray(0, limit);
}
