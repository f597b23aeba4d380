/**
 * Bytes that can be read at any offset, and two sources of them: bytes in
 * memory and an open file. The zip reader reads a zip through this interface,
 * so that a zip kept in a store, in a file or in memory is read the same way
 * and never has to be held whole.
 *
 * @module
 */

/**
 * Bytes that can be read at any offset: a zip in memory, in a file, or in a
 * store. `read` resolves to exactly `length` bytes; it rejects when the range
 * is not inside `[0, size)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RandomAccess } from "./random_access.ts";
 * const bytes = new Uint8Array([1, 2, 3]);
 * const src: RandomAccess = {
 *   size: bytes.length,
 *   read: (offset, length) => Promise.resolve(bytes.slice(offset, offset + length)),
 * };
 * assert.deepEqual(await src.read(1, 2), new Uint8Array([2, 3]));
 * ```
 */
export interface RandomAccess {
  /** Total number of bytes. */
  readonly size: number;
  /** Reads `length` bytes starting at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Wraps bytes in memory as a {@linkcode RandomAccess}. Reads return views
 * into `bytes`, not copies, so callers must not modify what they get.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess } from "./random_access.ts";
 * const src = bytesAccess(new TextEncoder().encode("hello"));
 * assert.equal(src.size, 5);
 * assert.equal(new TextDecoder().decode(await src.read(1, 3)), "ell");
 * ```
 */
export function bytesAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    read(offset, length) {
      try {
        checkRange(offset, length, bytes.length);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

/**
 * Wraps an open file of `size` bytes as a {@linkcode RandomAccess}. Reads are
 * queued, because each is a seek followed by reads on the shared file cursor
 * and two interleaved reads would read each other's bytes. The caller keeps
 * ownership of `file` and closes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileAccess } from "./random_access.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * using file = await Deno.open(path);
 * const src = fileAccess(file, (await file.stat()).size);
 * assert.equal(new TextDecoder().decode(await src.read(1, 3)), "ell");
 * await Deno.remove(path);
 * ```
 */
export function fileAccess(file: Deno.FsFile, size: number): RandomAccess {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    size,
    read(offset, length) {
      const result = queue.then(async () => {
        checkRange(offset, length, size);
        await file.seek(offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const n = await file.read(buf.subarray(filled));
          if (n === null) {
            throw new Deno.errors.UnexpectedEof(
              `file ended at ${offset + filled}, expected ${size} bytes`,
            );
          }
          filled += n;
        }
        return buf;
      });
      // A failed read must not fail the reads queued after it.
      queue = result.catch(() => {});
      return result;
    },
  };
}

function checkRange(offset: number, length: number, size: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > size
  ) {
    throw new RangeError(`read of ${length} bytes at ${offset} outside 0..${size}`);
  }
}
