/**
 * Serving a stored zip: a byte range, chunk by chunk through the memory
 * layer, with each chunk checked as the store reads it, and a zip stored
 * before chunks had digests checked whole against its ETag.
 *
 * @module
 */
import { type ArtifactMeta, etagFromDigest, sha256, StoredDamageError } from "../store/sqlite.ts";
import { createHash } from "node:crypto";
import type { ProxyMemory } from "./memory.ts";

/**
 * A stream of `[start, end)` of a stored zip, chunk by chunk through the
 * memory cache. A chunk found damaged breaks the stream (the client sees a
 * transfer cut short, never wrong bytes) and the zip is removed to be
 * fetched again. A zip stored before chunks had digests is checked against
 * its ETag when read whole, before its last bytes go out; `track` keeps the
 * recording of its chunks' digests until shutdown.
 *
 * @example
 * ```ts ignore
 * import { openStoredZip } from "./stored_zip.ts";
 * const body = openStoredZip(memory, track, meta, 0, meta.size);
 * ```
 */
export function openStoredZip(
  memory: ProxyMemory,
  track: (promise: Promise<unknown>) => void,
  meta: ArtifactMeta,
  start: number,
  end: number,
): ReadableStream<Uint8Array> {
  const blobId = meta.blobId!;
  const chunkSize = meta.chunkSize;
  let position = start;
  const whole = !meta.chunkDigests && start === 0 && end === meta.size
    ? new WholeCheck(meta)
    : undefined;
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (position >= end) {
        controller.close();
        return;
      }
      const seq = Math.floor(position / chunkSize);
      let chunk: Uint8Array | undefined;
      try {
        chunk = await memory.readChunk(blobId, seq);
        if (chunk && whole) whole.add(chunk, seq * chunkSize + chunk.byteLength >= end);
      } catch (error) {
        controller.error(await memory.damagedRead(meta, error));
        return;
      }
      if (chunk && whole?.checked) track(memory.recordDigests(meta, whole.digests));
      if (!chunk) {
        // Removed meanwhile (found damaged here, in another isolate or by `deno task verify`).
        memory.dropArtifact("zip", meta.module, meta.version);
        controller.error(
          new Error(`chunk ${seq} of ${meta.module}@${meta.version}.zip is missing`),
        );
        return;
      }
      const from = position - seq * chunkSize;
      const to = Math.min(chunk.byteLength, end - seq * chunkSize);
      controller.enqueue(
        from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to),
      );
      position += to - from;
    },
  });
}

/**
 * The check of a zip stored before chunks had digests, read whole: its
 * SHA-256 against its ETag, done before the last chunk goes out. The chunks'
 * digests are collected on the way, to be kept once the whole matched.
 */
class WholeCheck {
  #meta: ArtifactMeta;
  #hash = createHash("sha256");
  readonly digests: Uint8Array[] = [];
  checked = false;

  constructor(meta: ArtifactMeta) {
    this.#meta = meta;
  }

  /** Adds the next chunk (in order); at the last, throws if the whole does not match. */
  add(chunk: Uint8Array, last: boolean): void {
    this.#hash.update(chunk);
    this.digests.push(sha256(chunk));
    if (!last) return;
    const etag = etagFromDigest(this.#hash.digest());
    if (etag !== this.#meta.etag) {
      throw new StoredDamageError(`stored copy hashes to ${etag}, not its ETag ${this.#meta.etag}`);
    }
    this.checked = true;
  }
}
