/**
 * A store in memory: the second backend of the {@linkcode Store} interface,
 * for unit tests of the cache policy and as the proof (by the shared
 * contract test) that the interface is not SQLite's shape in disguise.
 * Nothing survives the process; several processes cannot share it.
 *
 * It checks what it reads against what was stored, as a real store does, so
 * damage can be tested too: it hands out its own copies of stored bytes, and
 * a test that changes them damages the stored copy.
 *
 * @module
 */
import { bytesEqual } from "../util/bytes.ts";
import { ChunkedBlobWriter } from "./blob_writer.ts";
import { readBlobRange } from "./blob_range.ts";
import { etagFromDigest, sha256, strongEtag } from "./digest.ts";
import {
  type AnswerKey,
  type ArtifactKind,
  type ArtifactMeta,
  type BlobRef,
  type BlobWriter,
  DAMAGED,
  DEFAULT_CHUNK_SIZE,
  type ServedHit,
  type Store,
  type StoreBatch,
  type StoredAnswer,
  StoredDamageError,
  StoreFullError,
  type StoreOptions,
  type StoreSize,
  type StoreStats,
} from "./store.ts";

/**
 * Options of a {@linkcode MemoryStore}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore({ chunkSize: 4, maxBytes: 1024, now: () => 0 });
 * assert(store.chunkSize === 4);
 * ```
 */
export type MemoryStoreOptions = StoreOptions;

interface Blob {
  chunkSize: number;
  committed: boolean;
  touchedAt: number;
  chunkDigests: boolean;
  chunks: Map<number, { data: Uint8Array; digest: Uint8Array | null }>;
}

interface StoredArtifact {
  meta: Omit<ArtifactMeta, "chunkSize" | "chunkDigests">;
  data: Uint8Array | null;
  /** When a zip was last served (the disk budget's order), if ever. */
  lastServed?: number;
}

interface State {
  artifacts: Map<string, StoredArtifact>;
  answers: Map<string, { answer: StoredAnswer; digest: Uint8Array }>;
  blobs: Map<number, Blob>;
  bytes: number;
}

/**
 * A {@linkcode Store} held in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore({ chunkSize: 4 });
 * const writer = await store.writeBlob();
 * await writer.write(new TextEncoder().encode("hello"));
 * const meta = await writer.commit("example.com/m", "v1.0.0", "zip");
 * const pieces = [];
 * for await (const piece of store.readRange(meta, 1, 5)) pieces.push(new TextDecoder().decode(piece));
 * assert(pieces.join("") === "ello");
 * ```
 */
export class MemoryStore implements Store {
  readonly chunkSize: number;
  #maxBytes: number;
  #now: () => number;
  #state: State = { artifacts: new Map(), answers: new Map(), blobs: new Map(), bytes: 0 };
  #nextBlob = 1;
  #writing = new Set<number>();
  #stats: StoreStats = { reads: 0, writes: 0, busyRetries: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#now = options.now ?? Date.now;
  }

  artifact(module: string, version: string, kind: ArtifactKind): Promise<ArtifactMeta | undefined> {
    this.#stats.reads++;
    return Promise.resolve(this.#meta(artifactKey(module, version, kind)));
  }

  inlineData(module: string, version: string, kind: ArtifactKind): Promise<Uint8Array | undefined> {
    this.#stats.reads++;
    const stored = this.#state.artifacts.get(artifactKey(module, version, kind));
    if (!stored?.data) return Promise.resolve(undefined);
    if (etagFromDigest(sha256(stored.data)) !== stored.meta.etag) {
      return Promise.reject(
        new StoredDamageError(`stored copy does not match its SHA-256 ${stored.meta.etag}`),
      );
    }
    return Promise.resolve(stored.data);
  }

  async putInline(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag?: string,
  ): Promise<ArtifactMeta> {
    etag ??= await strongEtag(data);
    this.#write(() => this.#putInlineNow(module, version, kind, data, etag));
    return this.#meta(artifactKey(module, version, kind))!;
  }

  storedVersions(module: string, kind: ArtifactKind): Promise<string[]> {
    this.#stats.reads++;
    const versions = [...this.#state.artifacts.values()]
      .filter(({ meta }) => meta.module === module && meta.kind === kind)
      .map(({ meta }) => meta.version);
    return Promise.resolve(versions);
  }

  listArtifacts(): Promise<ArtifactMeta[]> {
    this.#stats.reads++;
    const keys = [...this.#state.artifacts.keys()].sort();
    return Promise.resolve(keys.map((key) => this.#meta(key)!));
  }

  removeArtifact(meta: ArtifactMeta, why: string): Promise<boolean> {
    return this.#writeAsync(() => {
      const key = artifactKey(meta.module, meta.version, meta.kind);
      const stored = this.#state.artifacts.get(key);
      if (!stored || stored.meta.etag !== meta.etag || stored.meta.blobId !== meta.blobId) {
        return false;
      }
      this.#state.artifacts.delete(key);
      this.#state.bytes -= stored.data?.byteLength ?? 0;
      if (meta.blobId !== null) this.#deleteBlob(meta.blobId);
      this.#putAnswerNow({
        kind: DAMAGED,
        module: meta.module,
        key: `${meta.version}.${meta.kind}`,
        status: 502,
        body: new TextEncoder().encode(why),
        fetchedAt: this.#now(),
      });
      return true;
    }, true);
  }

  writeBlob(): Promise<BlobWriter> {
    return this.#writeAsync(() => {
      const id = this.#nextBlob++;
      this.#state.blobs.set(id, {
        chunkSize: this.chunkSize,
        committed: false,
        touchedAt: this.#now(),
        chunkDigests: true,
        chunks: new Map(),
      });
      this.#writing.add(id);
      return new ChunkedBlobWriter(this.#sink, id, this.chunkSize);
    });
  }

  chunk(blobId: number, seq: number): Promise<Uint8Array | undefined> {
    this.#stats.reads++;
    const chunk = this.#state.blobs.get(blobId)?.chunks.get(seq);
    if (!chunk) return Promise.resolve(undefined);
    if (chunk.digest && !bytesEqual(sha256(chunk.data), chunk.digest)) {
      return Promise.reject(
        new StoredDamageError(`chunk ${seq} of blob ${blobId} does not match its SHA-256`),
      );
    }
    return Promise.resolve(chunk.data);
  }

  readRange(blob: BlobRef, start: number, end: number): AsyncIterable<Uint8Array> {
    const blobId = blob.blobId!;
    return readBlobRange((seq) => this.chunk(blobId, seq), blob, start, end);
  }

  recordChunkDigests(blobId: number, digests: Uint8Array[]): Promise<void> {
    return this.#writeAsync(() => {
      const blob = this.#state.blobs.get(blobId);
      if (!blob) return;
      for (const [seq, digest] of digests.entries()) {
        const chunk = blob.chunks.get(seq);
        if (chunk && !chunk.digest) chunk.digest = digest;
      }
      blob.chunkDigests = true;
    });
  }

  /** See {@linkcode Store.sweepPendingBlobs}: pending blobs not written to for `olderThanMs`. */
  sweepPendingBlobs(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    return this.#writeAsync(() => {
      let swept = 0;
      for (const [id, blob] of this.#state.blobs) {
        if (blob.committed || this.#writing.has(id) || blob.touchedAt >= cutoff) continue;
        this.#deleteBlob(id);
        swept++;
      }
      return swept;
    });
  }

  answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    try {
      return Promise.resolve(this.#answerNow(kind, module, key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  putAnswer(answer: StoredAnswer): Promise<void> {
    return this.#writeAsync(() => this.#putAnswerNow(answer));
  }

  deleteAnswer(kind: string, module: string, key: string): Promise<void> {
    return this.#writeAsync(() => this.#deleteAnswerNow(answerKey(kind, module, key)));
  }

  answerKeys(): Promise<AnswerKey[]> {
    this.#stats.reads++;
    const keys = [...this.#state.answers.values()]
      .map(({ answer: { kind, module, key } }) => ({ kind, module, key }))
      .sort((a, b) =>
        compareKeys(answerKey(a.kind, a.module, a.key), answerKey(b.kind, b.module, b.key))
      );
    return Promise.resolve(keys);
  }

  batch<T>(body: (batch: StoreBatch) => T): Promise<T> {
    const batch: StoreBatch = {
      putInline: (module, version, kind, data, etag) =>
        this.#putInlineNow(module, version, kind, data, etag),
      answer: (kind, module, key) => {
        try {
          return this.#answerNow(kind, module, key);
        } catch (error) {
          if (error instanceof StoredDamageError) return undefined;
          throw error;
        }
      },
      putAnswer: (answer) => this.#putAnswerNow(answer),
    };
    return this.#writeAsync(() => body(batch), true);
  }

  // ---- the disk budget ----

  recordServed(hits: readonly ServedHit[]): Promise<void> {
    if (hits.length === 0) return Promise.resolve();
    return this.#writeAsync(() => {
      for (const { module, version, at } of hits) {
        const stored = this.#state.artifacts.get(artifactKey(module, version, "zip"));
        if (stored) stored.lastServed = Math.max(stored.lastServed ?? 0, at);
      }
    });
  }

  usedBytes(): Promise<number> {
    return Promise.resolve(this.#state.bytes);
  }

  smallBytes(): Promise<number> {
    this.#stats.reads++;
    let bytes = 0;
    for (const { data } of this.#state.artifacts.values()) bytes += data?.byteLength ?? 0;
    for (const { answer } of this.#state.answers.values()) bytes += answer.body.byteLength;
    return Promise.resolve(bytes);
  }

  evictionCandidates(limit: number, skip = 0, servedBefore = Infinity): Promise<ArtifactMeta[]> {
    this.#stats.reads++;
    const order = (stored: StoredArtifact) => stored.lastServed ?? stored.meta.storedAt;
    const zips = [...this.#state.artifacts.entries()]
      .filter(([, stored]) => stored.meta.kind === "zip" && (stored.lastServed ?? 0) < servedBefore)
      .sort(([keyA, a], [keyB, b]) => order(a) - order(b) || compareKeys(keyA, keyB));
    return Promise.resolve(zips.slice(skip, skip + limit).map(([key]) => this.#meta(key)!));
  }

  evictZip(meta: ArtifactMeta): Promise<boolean> {
    return this.#writeAsync(() => {
      const key = artifactKey(meta.module, meta.version, "zip");
      const stored = this.#state.artifacts.get(key);
      if (meta.kind !== "zip" || !stored || stored.meta.blobId !== meta.blobId) return false;
      this.#state.artifacts.delete(key);
      const blob = this.#state.blobs.get(meta.blobId!);
      if (blob) Object.assign(blob, { committed: false, touchedAt: 0 });
      return true;
    });
  }

  deleteBlobChunks(blobId: number, max: number): Promise<number> {
    return this.#writeAsync(() => {
      const blob = this.#state.blobs.get(blobId);
      if (!blob || blob.committed) return 0;
      const seqs = [...blob.chunks.keys()].sort((a, b) => a - b).slice(0, max);
      for (const seq of seqs) {
        this.#state.bytes -= blob.chunks.get(seq)!.data.byteLength;
        blob.chunks.delete(seq);
      }
      if (seqs.length === 0) this.#state.blobs.delete(blobId);
      return seqs.length;
    });
  }

  probe(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  size(): Promise<StoreSize> {
    return Promise.resolve({ bytes: this.#state.bytes, freeBytes: 0 });
  }

  stats(): StoreStats {
    return { ...this.#stats };
  }

  close(): void {}

  /** What the blob writer asks of this store. */
  #sink = {
    putChunk: (blobId: number, seq: number, data: Uint8Array, digest: Uint8Array) =>
      this.#writeAsync(() => {
        const blob = this.#state.blobs.get(blobId);
        if (!blob) throw new Error(`blob ${blobId} is gone`);
        const before = blob.chunks.get(seq)?.data.byteLength ?? 0;
        this.#reserve(data.byteLength - before);
        blob.chunks.set(seq, { data: data.slice(), digest });
        blob.touchedAt = this.#now();
      }),
    commitBlob: (
      module: string,
      version: string,
      kind: ArtifactKind,
      blobId: number,
      size: number,
      etag: string,
    ) => {
      this.#write(() => {
        const key = artifactKey(module, version, kind);
        const blob = this.#state.blobs.get(blobId);
        if (this.#state.artifacts.has(key) || !blob) return;
        this.#state.artifacts.set(key, {
          meta: { module, version, kind, size, etag, storedAt: this.#now(), blobId },
          data: null,
        });
        blob.committed = true;
        this.#deleteAnswerNow(answerKey(DAMAGED, module, `${version}.${kind}`));
      });
      this.#writing.delete(blobId);
      return Promise.resolve(this.#meta(artifactKey(module, version, kind))!);
    },
    discardBlob: (blobId: number) => {
      this.#writing.delete(blobId);
      return this.#writeAsync(() => {
        if (this.#state.blobs.get(blobId)?.committed === false) this.#deleteBlob(blobId);
      });
    },
    abandonBlob: (blobId: number) => {
      this.#writing.delete(blobId);
    },
  };

  #meta(key: string): ArtifactMeta | undefined {
    const stored = this.#state.artifacts.get(key);
    if (!stored) return undefined;
    const blob = stored.meta.blobId === null
      ? undefined
      : this.#state.blobs.get(stored.meta.blobId);
    return {
      ...stored.meta,
      chunkSize: blob?.chunkSize ?? 0,
      chunkDigests: blob?.chunkDigests ?? false,
    };
  }

  #answerNow(kind: string, module: string, key: string): StoredAnswer | undefined {
    this.#stats.reads++;
    const stored = this.#state.answers.get(answerKey(kind, module, key));
    if (!stored) return undefined;
    if (!bytesEqual(sha256(stored.answer.body), stored.digest)) {
      throw new StoredDamageError(`stored ${kind} answer does not match its SHA-256`);
    }
    return stored.answer;
  }

  #putInlineNow(
    module: string,
    version: string,
    kind: ArtifactKind,
    data: Uint8Array,
    etag: string,
  ): boolean {
    const key = artifactKey(module, version, kind);
    if (this.#state.artifacts.has(key)) return false;
    this.#reserve(data.byteLength);
    this.#state.artifacts.set(key, {
      meta: {
        module,
        version,
        kind,
        size: data.byteLength,
        etag,
        storedAt: this.#now(),
        blobId: null,
      },
      data: data.slice(),
    });
    this.#deleteAnswerNow(answerKey(DAMAGED, module, `${version}.${kind}`));
    return true;
  }

  #putAnswerNow(answer: StoredAnswer): void {
    const key = answerKey(answer.kind, answer.module, answer.key);
    const before = this.#state.answers.get(key)?.answer.body.byteLength ?? 0;
    this.#reserve(answer.body.byteLength - before);
    const body = answer.body.slice();
    this.#state.answers.set(key, { answer: { ...answer, body }, digest: sha256(body) });
  }

  #deleteAnswerNow(key: string): void {
    const stored = this.#state.answers.get(key);
    if (!stored) return;
    this.#state.answers.delete(key);
    this.#state.bytes -= stored.answer.body.byteLength;
  }

  #deleteBlob(id: number): void {
    const blob = this.#state.blobs.get(id);
    if (!blob) return;
    for (const { data } of blob.chunks.values()) this.#state.bytes -= data.byteLength;
    this.#state.blobs.delete(id);
  }

  /** Counts `bytes` more as stored, or throws {@linkcode StoreFullError} when there is no room. */
  #reserve(bytes: number): void {
    if (bytes > 0 && this.#state.bytes + bytes > this.#maxBytes) {
      throw new StoreFullError(
        `store is full: ${this.#state.bytes} of ${this.#maxBytes} bytes used`,
      );
    }
    this.#state.bytes += bytes;
  }

  /**
   * Runs `body` as one write. With `atomic`, what it changed is undone if it
   * throws (the others check before they change anything).
   */
  #write<T>(body: () => T, atomic = false): T {
    const saved = atomic ? this.#snapshot() : this.#state;
    try {
      const result = body();
      this.#stats.writes++;
      return result;
    } catch (error) {
      this.#state = saved;
      throw error;
    }
  }

  #writeAsync<T>(body: () => T, atomic = false): Promise<T> {
    try {
      return Promise.resolve(this.#write(body, atomic));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A copy of the maps (not the bytes, which are never changed in place). */
  #snapshot(): State {
    const blobs = new Map<number, Blob>();
    for (const [id, blob] of this.#state.blobs) {
      const chunks = new Map([...blob.chunks].map(([seq, c]) => [seq, { ...c }]));
      blobs.set(id, { ...blob, chunks });
    }
    return {
      artifacts: new Map(this.#state.artifacts),
      answers: new Map(this.#state.answers),
      blobs,
      bytes: this.#state.bytes,
    };
  }
}

function artifactKey(module: string, version: string, kind: string): string {
  return `${module}\0${version}\0${kind}`;
}

function answerKey(kind: string, module: string, key: string): string {
  return `${kind}\0${module}\0${key}`;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
