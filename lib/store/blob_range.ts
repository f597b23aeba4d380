/**
 * Chunk arithmetic, in one place: which chunks of a blob, and which bytes of
 * each, make up a range. Every store reads ranges through it, and so does a
 * cache that keeps chunks in memory (the proxy's), by passing its own chunk
 * reader.
 *
 * @module
 */
import { type BlobRef, MissingChunkError, StoredDamageError } from "./store.ts";

/**
 * The bytes `[from, to)` of chunk `seq` that belong to a range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkSpans } from "./blob_range.ts";
 * const [span] = chunkSpans({ blobId: 1, chunkSize: 4, size: 6 }, 5, 6);
 * assert(span.seq === 1 && span.from === 1 && span.to === 2 && span.last);
 * ```
 */
export interface ChunkSpan {
  seq: number;
  from: number;
  to: number;
  /** Whether this is the blob's last chunk. */
  last: boolean;
}

/**
 * Reads chunk `seq` of the blob being read, or undefined when it is not there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ChunkReader } from "./blob_range.ts";
 * const chunks = [new Uint8Array([1, 2])];
 * const read: ChunkReader = (seq) => Promise.resolve(chunks[seq]);
 * assert((await read(0))?.length === 2);
 * ```
 */
export type ChunkReader = (seq: number) => Promise<Uint8Array | undefined>;

/**
 * The chunk pieces that make up `[start, end)` of `blob` (clamped to its size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chunkSpans } from "./blob_range.ts";
 * const spans = [...chunkSpans({ blobId: 1, chunkSize: 4, size: 10 }, 3, 9)];
 * assert(JSON.stringify(spans.map((s) => [s.seq, s.from, s.to])) === "[[0,3,4],[1,0,4],[2,0,1]]");
 * ```
 */
export function* chunkSpans(blob: BlobRef, start: number, end: number): Generator<ChunkSpan> {
  const { chunkSize, size } = blob;
  const stop = Math.min(end, size);
  const lastSeq = Math.max(0, Math.ceil(size / chunkSize) - 1);
  for (let position = Math.max(0, start); position < stop;) {
    const seq = Math.floor(position / chunkSize);
    const from = position - seq * chunkSize;
    const to = Math.min(chunkSize, stop - seq * chunkSize);
    yield { seq, from, to, last: seq === lastSeq };
    position += to - from;
  }
}

/**
 * `[start, end)` of `blob`, chunk piece by chunk piece, read through `read`.
 * `onChunk` sees each whole chunk before its piece goes out (to hash a whole
 * blob as it is read). Throws {@linkcode MissingChunkError} for a chunk that
 * is not there and {@linkcode StoredDamageError} for one of the wrong length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBlobRange } from "./blob_range.ts";
 * const chunks = [new Uint8Array([0, 1, 2, 3]), new Uint8Array([4, 5])];
 * const pieces = [];
 * for await (const piece of readBlobRange((seq) => Promise.resolve(chunks[seq]), { blobId: 1, chunkSize: 4, size: 6 }, 2, 5)) {
 *   pieces.push([...piece]);
 * }
 * assert(JSON.stringify(pieces) === "[[2,3],[4]]");
 * ```
 */
export async function* readBlobRange(
  read: ChunkReader,
  blob: BlobRef,
  start: number,
  end: number,
  onChunk?: (chunk: Uint8Array, last: boolean) => void,
): AsyncGenerator<Uint8Array> {
  for (const { seq, from, to, last } of chunkSpans(blob, start, end)) {
    const chunk = await read(seq);
    if (!chunk) throw new MissingChunkError(seq);
    const want = last ? blob.size - seq * blob.chunkSize : blob.chunkSize;
    if (chunk.byteLength !== want) {
      throw new StoredDamageError(`chunk ${seq} is ${chunk.byteLength} bytes, not ${want}`);
    }
    onChunk?.(chunk, last);
    yield from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to);
  }
}
