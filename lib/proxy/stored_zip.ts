/**
 * Serving a stored zip: a byte range, chunk by chunk through the memory
 * layer, with each chunk checked as the store reads it, and a zip stored
 * before chunks had digests checked whole against its ETag.
 *
 * @module
 */
import {
  type ArtifactMeta,
  etagFromDigest,
  MissingChunkError,
  readBlobRange,
  sha256,
  StoredDamageError,
} from "../store/mod.ts";
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
  const whole = !meta.chunkDigests && start === 0 && end === meta.size
    ? new WholeCheck(meta)
    : undefined;
  const pieces = readBlobRange(
    (seq) => memory.readChunk(blobId, seq),
    meta,
    start,
    end,
    whole && ((chunk, last) => whole.add(chunk, last)),
  );
  let recorded = false;
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await pieces.next();
      } catch (error) {
        if (error instanceof MissingChunkError) {
          // Removed meanwhile (found damaged here, in another isolate or by `deno task verify`).
          memory.dropArtifact("zip", meta.module, meta.version);
          controller.error(
            new Error(`chunk ${error.seq} of ${meta.module}@${meta.version}.zip is missing`),
          );
          return;
        }
        controller.error(await memory.damagedRead(meta, error));
        return;
      }
      if (whole?.checked && !recorded) {
        recorded = true;
        track(memory.recordDigests(meta, whole.digests));
      }
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: async () => {
      await pieces.return(undefined);
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
