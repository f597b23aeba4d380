/**
 * Random access over a stored blob (possibly still being written), for the
 * zip checks of a download; which chunks a read needs is the store's
 * arithmetic (`chunkSpans`).
 *
 * @module
 */
import { type BlobRef, chunkSpans, type Store } from "../store/mod.ts";
import { type RandomAccess } from "../archive/random_access.ts";
import { ZipError } from "../archive/zip_reader.ts";
import { reclaimer } from "./reclaim.ts";

/**
 * Random access over a stored (possibly still pending) blob, for zip checks.
 * The last chunk read is kept: reading a zip through asks for each chunk in
 * many small pieces.
 *
 * @example
 * ```ts ignore
 * import { blobAccess } from "./chunks.ts";
 * const zip = blobAccess(store, { blobId, chunkSize: store.chunkSize, size });
 * const tail = await zip.read(size - 22, 22);
 * ```
 */
export function blobAccess(store: Store, blob: BlobRef): RandomAccess {
  const blobId = blob.blobId!;
  let lastSeq = -1;
  let last: Promise<Uint8Array | undefined> = Promise.resolve(undefined);
  const chunkAt = (seq: number): Promise<Uint8Array | undefined> => {
    if (seq !== lastSeq) {
      lastSeq = seq;
      last = store.chunk(blobId, seq).then((chunk) => {
        if (chunk) reclaimer.released(chunk.byteLength);
        return chunk;
      });
    }
    return last;
  };
  return {
    size: blob.size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(Math.max(0, Math.min(blob.size, offset + length) - offset));
      let at = 0;
      for (const { seq, from, to } of chunkSpans(blob, offset, offset + length)) {
        const chunk = await chunkAt(seq);
        if (!chunk) throw new ZipError(`chunk ${seq} missing while checking zip`);
        const piece = chunk.subarray(from, Math.min(to, chunk.byteLength));
        out.set(piece, at);
        at += piece.byteLength;
      }
      return out;
    },
  };
}
