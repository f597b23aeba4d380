/**
 * The one blob writer every backend hands out (see {@linkcode BlobWriter}):
 * the cutting into chunks and the hashing live here, so that the proxy and
 * the seed write zips the same way and a backend only stores what it is given.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { etagFromDigest, sha256 } from "./digest.ts";
import type { ArtifactKind, ArtifactMeta, BlobWriter } from "./store.ts";

/**
 * The few blob operations a backend offers a {@linkcode ChunkedBlobWriter}.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./memory.ts";
 * // A backend passes its sink to the writer it hands out; callers only see the writer.
 * const writer = await new MemoryStore().writeBlob();
 * await writer.abort();
 * ```
 */
export interface BlobSink {
  /** Writes chunk `seq` of a pending blob with its SHA-256, and marks the blob as in use. */
  putChunk(blobId: number, seq: number, data: Uint8Array, digest: Uint8Array): Promise<void>;
  /**
   * Makes a whole pending blob the artifact, unless one is stored: returns
   * the stored artifact (the blob stays pending when it is another's).
   */
  commitBlob(
    module: string,
    version: string,
    kind: ArtifactKind,
    blobId: number,
    size: number,
    etag: string,
  ): Promise<ArtifactMeta>;
  /** Deletes a pending blob and its chunks. */
  discardBlob(blobId: number): Promise<void>;
  /** Leaves a pending blob to the sweep (readers may still be on it). */
  abandonBlob(blobId: number): void;
}

/**
 * A {@linkcode BlobWriter} over a backend's {@linkcode BlobSink}. It holds
 * at most one chunk in memory, whatever the blob's size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore({ chunkSize: 4 });
 * const writer = await store.writeBlob(); // a ChunkedBlobWriter
 * await writer.write(new TextEncoder().encode("abcdef"));
 * assert(writer.chunks === 1);
 * const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
 * assert(meta.size === 6 && meta.blobId === writer.blobId);
 * ```
 */
export class ChunkedBlobWriter implements BlobWriter {
  readonly blobId: number;
  readonly chunkSize: number;
  #sink: BlobSink;
  #hash: Hash = createHash("sha256");
  #pending: Uint8Array;
  #filled = 0;
  #size = 0;
  #chunks = 0;
  #etag: string | undefined;
  #state: "writing" | "finished" | "committed" | "lost" | "aborted" = "writing";

  constructor(sink: BlobSink, blobId: number, chunkSize: number) {
    this.#sink = sink;
    this.blobId = blobId;
    this.chunkSize = chunkSize;
    this.#pending = new Uint8Array(chunkSize);
  }

  get size(): number {
    return this.#size;
  }

  get chunks(): number {
    return this.#chunks;
  }

  get etag(): string | undefined {
    return this.#etag;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#state !== "writing") throw new Error(`blob ${this.blobId} is ${this.#state}`);
    this.#hash.update(bytes);
    this.#size += bytes.byteLength;
    let offset = 0;
    while (offset < bytes.byteLength) {
      const take = Math.min(this.chunkSize - this.#filled, bytes.byteLength - offset);
      this.#pending.set(bytes.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.chunkSize) {
        await this.#put(this.#pending);
        // A new buffer only once the full one is stored: one chunk in memory at a time.
        this.#pending = new Uint8Array(this.chunkSize);
        this.#filled = 0;
      }
    }
  }

  async finish(): Promise<void> {
    if (this.#state === "finished") return;
    if (this.#state !== "writing") throw new Error(`blob ${this.blobId} is ${this.#state}`);
    if (this.#filled > 0) await this.#put(this.#pending.subarray(0, this.#filled));
    this.#filled = 0;
    this.#etag = etagFromDigest(this.#hash.digest());
    this.#state = "finished";
  }

  async commit(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta> {
    await this.finish();
    const meta = await this.#sink.commitBlob(
      module,
      version,
      kind,
      this.blobId,
      this.#size,
      this.#etag!,
    );
    if (meta.blobId === this.blobId) {
      this.#state = "committed";
    } else {
      this.#state = "lost";
      this.#sink.abandonBlob(this.blobId);
    }
    return meta;
  }

  async abort(): Promise<void> {
    if (this.#state === "committed" || this.#state === "aborted") return;
    this.#state = "aborted";
    await this.#sink.discardBlob(this.blobId);
  }

  async #put(chunk: Uint8Array): Promise<void> {
    await this.#sink.putChunk(this.blobId, this.#chunks, chunk, sha256(chunk));
    this.#chunks++;
  }
}
