/**
 * The memory layer between the cache policy and the store: stored artifacts,
 * stored answers and zip chunks, read once from the store and then held in
 * {@linkcode WeakCache}s, so that answers served from memory never touch the
 * store. Writes of answers go through here too, to keep memory and store
 * alike.
 *
 * A stored copy found damaged (the store checks what it reads against what
 * was stored) is logged as `stored-damaged`, removed and reported as not
 * stored, so that it is fetched again, never served; a store whose file is
 * malformed (`StoreCorruptError`) is logged as `store-damaged`.
 *
 * @module
 */
import {
  type ArtifactKind,
  type ArtifactMeta,
  DAMAGED,
  type Store,
  StoreCorruptError,
  type StoredAnswer,
  StoredDamageError,
} from "../store/mod.ts";
import type { Logger } from "../log.ts";
import { isYoung } from "../util/age.ts";
import { errorText } from "../util/errors.ts";
import { reclaimer } from "./reclaim.ts";
import { encode, notFoundReply, REPAIR_ADVICE, type Reply } from "./reply.ts";
import { WeakCache, type WeakCacheStats } from "./weak_cache.ts";

/** What the item cache holds: an artifact (its content too when inline) or a stored answer. */
type CachedItem =
  | { type: "artifact"; meta: ArtifactMeta; data: Uint8Array | null }
  | { type: "answer"; answer: StoredAnswer };

/**
 * A stored artifact as the memory layer gives it: its content when inline.
 *
 * @example
 * ```ts ignore
 * import type { StoredArtifact } from "./memory.ts";
 * const stored: StoredArtifact | undefined = await memory.artifact("mod", "m", "v1.0.0");
 * ```
 */
export interface StoredArtifact {
  meta: ArtifactMeta;
  data: Uint8Array | null;
}

/**
 * Options of a {@linkcode ProxyMemory}.
 *
 * @example
 * ```ts ignore
 * import type { MemoryOptions } from "./memory.ts";
 * const options: MemoryOptions = { store, log, cacheBytes: 64 << 20, cacheTtlMs: 60_000,
 *   freshMs: 300_000, negativeMs: 60_000, now: Date.now, track: () => {} };
 * ```
 */
export interface MemoryOptions {
  store: Store;
  log: Logger;
  /** Bytes of memory-cached content held strongly at most (a quarter for items). */
  cacheBytes: number;
  /** How long memory-cached content stays strongly held after its last use (ms). */
  cacheTtlMs: number;
  /** How long a 200 answer stays fresh (ms). */
  freshMs: number;
  /** How long a not-found answer is trusted (ms). */
  negativeMs: number;
  now: () => number;
  /** Keeps a background promise until shutdown (see `ModuleProxy.settle`). */
  track: (promise: Promise<unknown>) => void;
}

/**
 * The key of an artifact in the item cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { itemKey } from "./memory.ts";
 * assert(itemKey("mod", "m", "v1.0.0") !== itemKey("info", "m", "v1.0.0"));
 * ```
 */
export function itemKey(kind: string, module: string, version: string): string {
  return `artifact\0${kind}\0${module}\0${version}`;
}

/**
 * The key of a stored answer in the item cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { answerKey, itemKey } from "./memory.ts";
 * assert(answerKey("zip", "m", "v1.0.0") !== itemKey("zip", "m", "v1.0.0"));
 * ```
 */
export function answerKey(kind: string, module: string, key: string): string {
  return `answer\0${kind}\0${module}\0${key}`;
}

/**
 * Stored artifacts, answers and chunks through memory.
 *
 * @example
 * ```ts ignore
 * import { ProxyMemory } from "./memory.ts";
 * const memory = new ProxyMemory({ store, log, cacheBytes: 64 << 20, cacheTtlMs: 60_000,
 *   freshMs: 300_000, negativeMs: 60_000, now: Date.now, track: () => {} });
 * const mod = await memory.artifact("mod", "golang.org/x/text", "v0.3.0");
 * ```
 */
export class ProxyMemory {
  #options: MemoryOptions;
  #store: Store;
  #items: WeakCache<CachedItem>;
  #chunks: WeakCache<Uint8Array>;

  constructor(options: MemoryOptions) {
    this.#options = options;
    this.#store = options.store;
    const { cacheBytes, cacheTtlMs: strongTtlMs, now } = options;
    this.#items = new WeakCache<CachedItem>(
      { maxStrongBytes: Math.floor(cacheBytes / 4), strongTtlMs, now },
      (item) =>
        256 + (item.type === "artifact" ? item.data?.byteLength ?? 0 : item.answer.body.byteLength),
    );
    this.#chunks = new WeakCache<Uint8Array>({
      maxStrongBytes: cacheBytes - Math.floor(cacheBytes / 4),
      strongTtlMs,
      now,
    });
  }

  /** Whether a stored answer is still fresh (200s and not-founds have their own TTL). */
  isFresh(answer: StoredAnswer): boolean {
    const ttl = answer.status === 200 ? this.#options.freshMs : this.#options.negativeMs;
    return isYoung(answer.fetchedAt, ttl, this.#options.now());
  }

  /** A cached artifact, from memory only (never the store). */
  peekArtifact(kind: ArtifactKind, module: string, version: string): StoredArtifact | undefined {
    const item = this.#items.peek(itemKey(kind, module, version));
    return item?.type === "artifact" ? item : undefined;
  }

  /** A cached stored answer, from memory only (never the store). */
  peekAnswer(kind: string, module: string, key: string): StoredAnswer | undefined {
    const item = this.#items.peek(answerKey(kind, module, key));
    return item?.type === "answer" ? item.answer : undefined;
  }

  /**
   * A fresh not-found for an artifact, from memory only. While it is fresh no
   * artifact can have been stored by this proxy (storing one forgets it), so
   * the database need not be asked again on every request for a missing version.
   */
  rememberedNotFound(kind: ArtifactKind, module: string, version: string) {
    const answer = this.peekAnswer(kind, module, version);
    return answer && answer.status !== 200 && this.isFresh(answer) ? answer : undefined;
  }

  /** One chunk of a blob, through the memory cache. Chunks never change once written. */
  readChunk(blobId: number, seq: number): Promise<Uint8Array | undefined> {
    return this.#chunks.load(
      `${blobId}:${seq}`,
      async () => {
        const chunk = await this.#store.chunk(blobId, seq);
        // Held by the cache for a while, then garbage like every chunk read.
        reclaimer.released(chunk?.byteLength ?? 0);
        return chunk;
      },
    );
  }

  /** A stored artifact through the item cache (see {@linkcode readSmall}). */
  async artifact(
    kind: ArtifactKind,
    module: string,
    version: string,
  ): Promise<StoredArtifact | undefined> {
    const item = await this.#items.load(itemKey(kind, module, version), async () => {
      const stored = await this.readSmall(kind, module, version);
      return stored && { type: "artifact", ...stored } as const;
    });
    return item?.type === "artifact" ? item : undefined;
  }

  /**
   * An artifact as stored, its content too when it is inline; undefined when
   * it is not stored, or was found damaged (and removed), or the database
   * cannot be read: then the source is asked instead.
   */
  async readSmall(
    kind: ArtifactKind,
    module: string,
    version: string,
  ): Promise<StoredArtifact | undefined> {
    let meta: ArtifactMeta | undefined;
    try {
      meta = await this.#store.artifact(module, version, kind);
      if (!meta) return undefined;
      if (meta.blobId !== null) {
        return await this.#firstChunkRead(meta) ? { meta, data: null } : undefined;
      }
      return { meta, data: await this.#store.inlineData(module, version, kind) ?? null };
    } catch (error) {
      if (meta) await this.damagedRead(meta, error);
      else if (error instanceof StoreCorruptError) {
        this.storeDamaged(`${module}@${version}.${kind}`, error);
      } else throw error;
      return undefined;
    }
  }

  /**
   * Whether the first chunk of a stored zip is there (a damaged one throws
   * {@linkcode StoredDamageError}). Checked once, as its metadata is read from
   * the database, before anyone hears "200": that covers all of a zip of one
   * chunk; later chunks are checked as they are read. Read past the chunk cache:
   * a HEAD, a range or a 304 never sends it.
   */
  async #firstChunkRead(meta: ArtifactMeta): Promise<boolean> {
    const chunk = await this.#store.chunk(meta.blobId!, 0);
    reclaimer.released(chunk?.byteLength ?? 0);
    // Removed meanwhile (by `deno task verify --repair`, or another isolate): not stored.
    return chunk !== undefined;
  }

  /** Holds an artifact just stored in the item cache. */
  keepArtifact(
    kind: ArtifactKind,
    module: string,
    version: string,
    stored: StoredArtifact,
  ): void {
    this.#items.set(itemKey(kind, module, version), { type: "artifact", ...stored });
  }

  /** Drops an artifact from the item cache (it is read from the store again). */
  dropArtifact(kind: ArtifactKind, module: string, version: string): void {
    this.#items.delete(itemKey(kind, module, version));
  }

  /** A stored answer through the item cache. */
  async answer(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    const item = await this.#items.load(answerKey(kind, module, key), async () => {
      const answer = await this.storedAnswer(kind, module, key);
      return answer ? { type: "answer", answer } as const : undefined;
    });
    return item?.type === "answer" ? item.answer : undefined;
  }

  /**
   * A stored answer read again from the database, where another isolate may
   * have refreshed it, and kept in memory.
   */
  async reread(kind: string, module: string, key: string): Promise<StoredAnswer | undefined> {
    const reread = await this.storedAnswer(kind, module, key);
    if (reread) this.#items.set(answerKey(kind, module, key), { type: "answer", answer: reread });
    return reread;
  }

  /**
   * A stored answer read from the database; one found damaged is logged and
   * removed (to be fetched again), as is an unreadable database file.
   */
  async storedAnswer(
    kind: string,
    module: string,
    key: string,
  ): Promise<StoredAnswer | undefined> {
    try {
      return await this.#store.answer(kind, module, key);
    } catch (error) {
      if (error instanceof StoreCorruptError) {
        this.storeDamaged(`${kind} ${module} ${key}`, error);
        return undefined;
      }
      if (!(error instanceof StoredDamageError)) throw error;
      this.#options.log.warn("stored-damaged", { module, kind, key, error: error.message });
      this.#items.delete(answerKey(kind, module, key));
      this.#options.track(this.#store.deleteAnswer(kind, module, key).catch(() => {}));
      return undefined;
    }
  }

  /** Stores a source's not-found (in memory and the store) and gives it as a reply. */
  async rememberNotFound(
    kind: string,
    module: string,
    key: string,
    answer: { status: 404 | 410; message: string },
  ): Promise<Reply> {
    const stored: StoredAnswer = {
      kind,
      module,
      key,
      status: answer.status,
      body: encode(answer.message),
      fetchedAt: this.#options.now(),
    };
    await this.putAnswerQuietly(stored);
    return notFoundReply(stored);
  }

  /** Stores an answer; a store that fails is logged (memory still holds it). */
  async putAnswerQuietly(answer: StoredAnswer): Promise<void> {
    this.#items.set(answerKey(answer.kind, answer.module, answer.key), { type: "answer", answer });
    try {
      await this.#store.putAnswer(answer);
    } catch (error) {
      this.#options.log.warn("store-failed", {
        module: answer.module,
        kind: answer.kind,
        error: errorText(error),
      });
    }
  }

  /** Stores the `.info` a query answered, unless stored; a failure is only logged. */
  async storeInfoQuietly(module: string, version: string, body: Uint8Array): Promise<void> {
    try {
      // Inside the try: a database that cannot be read must not turn the upstream's 200 into an error.
      if (await this.#store.artifact(module, version, "info")) return;
      await this.#store.putInline(module, version, "info", body);
    } catch (error) {
      this.#options.log.warn("store-failed", {
        module,
        version,
        kind: "info",
        error: errorText(error),
      });
    }
  }

  /** Forgets a stored answer (a not-found made obsolete by a stored artifact). */
  async forgetAnswer(kind: string, module: string, key: string): Promise<void> {
    this.#items.delete(answerKey(kind, module, key));
    await this.#store.deleteAnswer(kind, module, key).catch(() => {});
  }

  /**
   * A read of a stored artifact failed: a damaged copy is removed (to be
   * fetched again), a malformed database file is logged. Returns the error
   * to give the reader; rethrows anything else.
   */
  async damagedRead(meta: ArtifactMeta, error: unknown): Promise<Error> {
    if (error instanceof StoredDamageError) {
      await this.#damaged(meta, error);
      return new Error(`${describeMeta(meta)}: the stored copy is damaged: ${error.message}`);
    }
    if (error instanceof StoreCorruptError) {
      this.storeDamaged(describeMeta(meta), error);
      return new Error(`${describeMeta(meta)}: the database is damaged: ${errorText(error)}`);
    }
    throw error;
  }

  /** Logs a damaged stored copy and removes it, so that it is fetched again. */
  async #damaged(meta: ArtifactMeta, error: unknown): Promise<void> {
    const key = itemKey(meta.kind, meta.module, meta.version);
    this.#options.log.warn("stored-damaged", {
      module: meta.module,
      version: meta.version,
      kind: meta.kind,
      error: errorText(error),
    });
    this.#items.delete(key);
    try {
      await this.#store.removeArtifact(meta, errorText(error));
    } catch (removeError) {
      this.#options.log.warn("store-failed", {
        module: meta.module,
        version: meta.version,
        kind: meta.kind,
        error: `removing the damaged copy: ${errorText(removeError)}`,
      });
    }
  }

  /**
   * Why a stored copy of an artifact that is not stored (now) was removed as
   * damaged, by any isolate or `deno task verify`; undefined if it never was.
   */
  async damageNote(
    kind: ArtifactKind,
    module: string,
    version: string,
  ): Promise<string | undefined> {
    const note = await this.storedAnswer(DAMAGED, module, `${version}.${kind}`);
    return note && new TextDecoder().decode(note.body);
  }

  /** Logs that the store found its own file malformed, with what to do. */
  storeDamaged(what: string, error: unknown): void {
    this.#options.log.error("store-damaged", {
      request: what,
      error: errorText(error),
      advice: REPAIR_ADVICE,
    });
  }

  /** Keeps the digests of an old zip's chunks, once its whole content matched its ETag. */
  async recordDigests(meta: ArtifactMeta, digests: Uint8Array[]): Promise<void> {
    try {
      await this.#store.recordChunkDigests(meta.blobId!, digests);
      // Read again with its new flag: its chunks are checked one by one from now on.
      this.#items.delete(itemKey(meta.kind, meta.module, meta.version));
    } catch (error) {
      this.#options.log.warn("store-failed", {
        module: meta.module,
        version: meta.version,
        kind: meta.kind,
        error: `recording chunk digests: ${errorText(error)}`,
      });
    }
  }

  /** Counters of both caches, for `/_astera/stats`. */
  stats(): { items: WeakCacheStats; chunks: WeakCacheStats } {
    return { items: this.#items.stats(), chunks: this.#chunks.stats() };
  }
}

/**
 * `module@version.kind`, for messages.
 *
 * @example
 * ```ts ignore
 * import { describeMeta } from "./memory.ts";
 * describeMeta(meta); // "golang.org/x/text@v0.3.0.zip"
 * ```
 */
export function describeMeta(meta: ArtifactMeta): string {
  return `${meta.module}@${meta.version}.${meta.kind}`;
}
