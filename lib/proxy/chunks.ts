/**
 * Chunk arithmetic: a blob is stored as numbered chunks of one size (the
 * last may be shorter). Pieces of a download are cut into chunks here, and a
 * stored blob is read back at any offset for the zip checks.
 *
 * @module
 */
import type { Store } from "../store/sqlite.ts";
import { type RandomAccess, ZipError } from "../mod/zip.ts";
import { reclaimer } from "./reclaim.ts";

/**
 * Cuts a stream of pieces of any size into chunks of `chunkSize`.
 *
 * @example
 * ```ts
 * import { ChunkBuffer } from "./chunks.ts";
 * const buffer = new ChunkBuffer(4);
 * const full = [...buffer.add(new Uint8Array(10))];
 * console.assert(full.length === 2 && buffer.rest()?.byteLength === 2);
 * ```
 */
export class ChunkBuffer {
  readonly chunkSize: number;
  #pending: Uint8Array;
  #filled = 0;

  constructor(chunkSize: number) {
    this.chunkSize = chunkSize;
    this.#pending = new Uint8Array(chunkSize);
  }

  /**
   * The chunks `piece` completes, in order, each given before the next is
   * filled (its buffer is handed over, not copied); the rest stays pending.
   */
  *add(piece: Uint8Array): Generator<Uint8Array> {
    let offset = 0;
    while (offset < piece.byteLength) {
      const take = Math.min(this.chunkSize - this.#filled, piece.byteLength - offset);
      this.#pending.set(piece.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.chunkSize) {
        yield this.#pending;
        // A new buffer only once the full one is stored: one chunk in memory at a time.
        this.#pending = new Uint8Array(this.chunkSize);
        this.#filled = 0;
      }
    }
  }

  /** The last, shorter chunk, if bytes are pending. */
  rest(): Uint8Array | undefined {
    return this.#filled > 0 ? this.#pending.subarray(0, this.#filled) : undefined;
  }
}

/**
 * Random access over a stored (possibly still pending) blob, for zip checks.
 * The last chunk read is kept: reading a zip through asks for each chunk in
 * many small pieces.
 *
 * @example
 * ```ts ignore
 * import { blobAccess } from "./chunks.ts";
 * const zip = blobAccess(store, blobId, size, store.chunkSize);
 * const tail = await zip.read(size - 22, 22);
 * ```
 */
export function blobAccess(
  store: Store,
  blobId: number,
  size: number,
  chunkSize: number,
): RandomAccess {
  let lastSeq = -1;
  let last: Uint8Array | undefined;
  const chunkAt = (seq: number): Uint8Array | undefined => {
    if (seq !== lastSeq) {
      last = store.chunk(blobId, seq);
      lastSeq = seq;
      if (last) reclaimer.released(last.byteLength);
    }
    return last;
  };
  return {
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      let position = offset;
      while (position < end) {
        const seq = Math.floor(position / chunkSize);
        const chunk = chunkAt(seq);
        if (!chunk) return Promise.reject(new ZipError(`chunk ${seq} missing while checking zip`));
        const from = position - seq * chunkSize;
        const to = Math.min(chunk.byteLength, end - seq * chunkSize);
        out.set(chunk.subarray(from, to), position - offset);
        position += to - from;
      }
      return Promise.resolve(out);
    },
  };
}
