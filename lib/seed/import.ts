/**
 * Writing what the seed verified into the store, into the same tables the
 * server reads: `.info` and `.mod` files inline, zips as chunked blobs, a
 * `list` answer per module, an `@latest` answer for a module known only by
 * pseudo-versions, and the checksum database's `lookup` and `tile` bodies as
 * `sumdb` answers. The only module of the seed that talks to the store.
 *
 * Small writes are queued and committed in short batched transactions, and a
 * zip becomes visible in one transaction after its last chunk, so an
 * interrupted run leaves nothing half-visible. No write lock is held while
 * files are read, so the database may be served from meanwhile (WAL); every
 * write re-checks inside its transaction what the server may have stored in
 * the meantime. Answers that may change (`list`, `@latest`, `supported`) are
 * stored with fetchedAt 0, so that the server refreshes them whenever it can.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { listBody } from "../goproxy/answers.ts";
import { sortVersions } from "../mod/semver.ts";
import {
  etagFromDigest,
  type Store,
  type StoreBatch,
  StoreBusyError,
  strongEtag,
} from "../store/sqlite.ts";

/**
 * The store the seed writes into.
 *
 * @example
 * ```ts
 * import type { SeedStore } from "./import.ts";
 * function chunkSize(store: SeedStore): number {
 *   return store.chunkSize;
 * }
 * console.assert(typeof chunkSize === "function");
 * ```
 */
export type SeedStore = Store;

/**
 * What was written, counted as the seed's summary counts it.
 *
 * @example
 * ```ts
 * import type { ImportCounts } from "./import.ts";
 * const counts: ImportCounts = {
 *   stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 },
 *   bytes: 0,
 *   alreadyStored: 0,
 * };
 * console.assert(counts.bytes === 0);
 * ```
 */
export interface ImportCounts {
  /** Newly stored: artifacts by kind, `list` answers written, checksum-database files. */
  stored: { info: number; mod: number; zip: number; lists: number; sumdb: number };
  /** Bytes of the files newly stored. */
  bytes: number;
  /** Files found already stored and not read again. */
  alreadyStored: number;
}

/**
 * What a {@linkcode SeedWriter} reports to, and asks, the seed run.
 *
 * @example
 * ```ts
 * import type { ImportHooks } from "./import.ts";
 * const hooks: ImportHooks = {
 *   counts: { stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 }, bytes: 0, alreadyStored: 0 },
 *   skip: () => {},
 *   aborted: () => false,
 *   now: Date.now,
 *   batchMs: 50,
 * };
 * console.assert(hooks.batchMs === 50);
 * ```
 */
export interface ImportHooks {
  /** Counted into as writes are committed. */
  counts: ImportCounts;
  /** Reports a file left out (a zip that changed while it was copied). */
  skip(what: string, reason: string, detail: string): void;
  /** Whether the run is to stop: a zip copy stops between chunks. */
  aborted(): boolean;
  now(): number;
  /** Longest time small writes wait before their batch is committed (ms). */
  batchMs: number;
}

/** Small writes per batch at most, and their bytes at most. */
const BATCH_ITEMS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;

/** One small write waiting for its batch. */
type PendingWrite = (batch: StoreBatch) => void;

/**
 * Writes the seed's imports into a store, small ones batched. Call
 * {@linkcode SeedWriter.flush} at the end (also when interrupted): what was
 * queued is then committed.
 *
 * @example
 * ```ts
 * import { SeedWriter } from "./import.ts";
 * import { Store } from "../store/sqlite.ts";
 * const store = Store.open(":memory:");
 * const counts = { stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 }, bytes: 0, alreadyStored: 0 };
 * const writer = new SeedWriter(store, {
 *   counts,
 *   skip: () => {},
 *   aborted: () => false,
 *   now: Date.now,
 *   batchMs: 50,
 * });
 * await writer.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module example.com/m\n"));
 * await writer.flush();
 * console.assert(writer.has("example.com/m", "v1.0.0", "mod") && counts.stored.mod === 1);
 * store.close();
 * ```
 */
export class SeedWriter {
  #store: SeedStore;
  #hooks: ImportHooks;
  #counts: ImportCounts;
  #pending: PendingWrite[] = [];
  #pendingBytes = 0;
  #batchStarted = 0;

  constructor(store: SeedStore, hooks: ImportHooks) {
    this.#store = store;
    this.#hooks = hooks;
    this.#counts = hooks.counts;
  }

  /** Whether the artifact is stored. */
  has(module: string, version: string, kind: "info" | "mod" | "zip"): boolean {
    return this.#store.artifact(module, version, kind) !== undefined;
  }

  /** Whether the checksum-database file `key` of database `name` is stored. */
  hasSumdb(name: string, key: string): boolean {
    return this.#store.answer("sumdb", name, key)?.status === 200;
  }

  /** Queues a verified `.info` or `.mod`; it is kept as is if stored meanwhile. */
  async putInline(
    module: string,
    version: string,
    kind: "info" | "mod",
    data: Uint8Array,
  ): Promise<void> {
    const etag = await strongEtag(data);
    this.#queue((batch) => {
      if (batch.putInline(module, version, kind, data, etag)) {
        this.#counts.stored[kind]++;
        this.#counts.bytes += data.byteLength;
      } else {
        this.#counts.alreadyStored++;
      }
    }, data.byteLength);
    await this.#maybeFlush();
  }

  /**
   * Copies a verified zip (open as `handle`, `size` bytes) into a blob and
   * commits it in one transaction after its last chunk. Stops, keeping
   * nothing, when the run is aborted or the file is not `size` bytes any
   * more (reported as skipped).
   */
  async putZip(
    module: string,
    version: string,
    handle: Deno.FsFile,
    size: number,
    what: string,
  ): Promise<void> {
    await handle.seek(0, Deno.SeekMode.Start);
    const hash = createHash("sha256");
    let blobId: number | undefined = await this.#store.createBlob();
    try {
      const total = await this.#copyChunks(handle, blobId, size, hash);
      if (total === undefined) return;
      if (total !== size) {
        this.#hooks.skip(what, "changed while reading", `${total} bytes read, ${size} expected`);
        return;
      }
      const digest = etagFromDigest(hash.digest());
      const meta = await this.#store.commitBlob(module, version, "zip", blobId, total, digest);
      if (meta.blobId === blobId) {
        this.#counts.stored.zip++;
        this.#counts.bytes += total;
        blobId = undefined;
      } else {
        // Another process (the server) stored it meanwhile; ours is discarded below.
        this.#counts.alreadyStored++;
      }
    } finally {
      if (blobId !== undefined) await this.#store.discardBlob(blobId).catch(() => {});
    }
    await this.#maybeFlush();
  }

  /**
   * Writes the file's chunks into blob `blobId`; resolves to the bytes read
   * (more than `size` when the file grew), or undefined when aborted.
   */
  async #copyChunks(
    handle: Deno.FsFile,
    blobId: number,
    size: number,
    hash: ReturnType<typeof createHash>,
  ): Promise<number | undefined> {
    const chunkSize = this.#store.chunkSize;
    let total = 0;
    for (let seq = 0;; seq++) {
      if (this.#hooks.aborted()) return undefined;
      const chunk = new Uint8Array(chunkSize);
      const filled = await readFull(handle, chunk);
      if (filled === 0) break;
      const data = filled === chunkSize ? chunk : chunk.subarray(0, filled);
      hash.update(data);
      total += filled;
      if (total > size) break;
      await this.#store.putChunk(blobId, seq, data);
      if (filled < chunkSize) break;
    }
    return total;
  }

  /**
   * Queues the module's `list` answer: the stored list merged with the
   * versions imported, written only when that adds a version, and with
   * fetchedAt 0 so that the server serves it offline but refreshes it first
   * chance it gets. Pseudo-versions are never listed (go ignores them there).
   */
  queueList(module: string, versions: string[]): void {
    this.#queue((batch) => {
      const stored = batch.answer("list", module, "");
      const known = new Set<string>();
      if (stored?.status === 200) {
        for (const line of new TextDecoder().decode(stored.body).split("\n")) {
          const version = line.trim().split(/\s+/)[0];
          if (version) known.add(version);
        }
      }
      const missing = versions.filter((v) => !known.has(v));
      if (stored?.status === 200 && missing.length === 0) return;
      const merged = sortVersions([...known, ...missing]);
      batch.putAnswer({
        kind: "list",
        module,
        key: "",
        status: 200,
        body: listBody(merged),
        fetchedAt: 0,
      });
      this.#counts.stored.lists++;
    }, 0);
  }

  /**
   * A module the cache knows only by pseudo-versions: the go command asks its
   * `list`, finds no tag, and asks `@latest`. Stored, when nothing is, are an
   * empty `list` (the module exists, no tags known) and `latest` (an `.info`
   * body), both with fetchedAt 0: served offline, refreshed first chance the
   * server gets.
   */
  async putUntagged(module: string, latest: Uint8Array): Promise<void> {
    this.#queue((batch) => {
      // A remembered not-found gives way, as for a tagged module: the cache shows it exists.
      if (batch.answer("list", module, "")?.status !== 200) {
        batch.putAnswer({
          kind: "list",
          module,
          key: "",
          status: 200,
          body: listBody([]),
          fetchedAt: 0,
        });
        this.#counts.stored.lists++;
      }
      if (batch.answer("latest", module, "")?.status !== 200) {
        batch.putAnswer({
          kind: "latest",
          module,
          key: "",
          status: 200,
          body: latest,
          fetchedAt: 0,
        });
      }
    }, latest.byteLength);
    await this.#maybeFlush();
  }

  /** Queues a checked checksum-database file of database `name`. */
  async putSumdb(name: string, key: string, body: Uint8Array): Promise<void> {
    this.#queue((batch) => {
      // Re-checked inside the transaction: the server may have stored it meanwhile.
      if (batch.answer("sumdb", name, key)?.status === 200) {
        this.#counts.alreadyStored++;
        return;
      }
      batch.putAnswer({ kind: "sumdb", module: name, key, status: 200, body, fetchedAt: 0 });
      this.#counts.stored.sumdb++;
      this.#counts.bytes += body.byteLength;
    }, body.byteLength);
    await this.#maybeFlush();
  }

  /**
   * Stores that the checksum database `name` is proxied, unless a `200` is
   * stored: without it an offline go command asks the database itself and
   * never uses what was imported. Stamped 0, so the server asks its upstream
   * first chance it gets.
   */
  queueSupported(name: string): void {
    this.#queue((batch) => {
      if (batch.answer("sumdb", name, "supported")?.status === 200) return;
      batch.putAnswer({
        kind: "sumdb",
        module: name,
        key: "supported",
        status: 200,
        body: new Uint8Array(),
        fetchedAt: 0,
      });
    }, 0);
  }

  /** Commits the queued small writes in one short transaction. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const writes = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#store.batch((batch) => {
      for (const write of writes) write(batch);
    });
  }

  #queue(write: PendingWrite, bytes: number): void {
    if (this.#pending.length === 0) this.#batchStarted = this.#hooks.now();
    this.#pending.push(write);
    this.#pendingBytes += bytes;
  }

  async #maybeFlush(): Promise<void> {
    if (
      this.#pending.length >= BATCH_ITEMS || this.#pendingBytes >= BATCH_BYTES ||
      this.#hooks.now() - this.#batchStarted >= this.#hooks.batchMs
    ) {
      await this.flush();
    }
  }
}

/** Reads into `buffer` until it is full or the file ends; resolves to the bytes read. */
async function readFull(handle: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const n = await handle.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * Whether `error` is a failure to write the database (locked past the
 * deadline, disk full): the seed stops there, as every later write would
 * fail the same way, and what was queued is not silently lost.
 *
 * @example
 * ```ts
 * import { isStoreFailure } from "./import.ts";
 * import { StoreBusyError } from "../store/sqlite.ts";
 * console.assert(isStoreFailure(new StoreBusyError("locked")));
 * console.assert(!isStoreFailure(new Error("no such file")));
 * ```
 */
export function isStoreFailure(error: unknown): boolean {
  return error instanceof StoreBusyError ||
    (error instanceof Error && (error as Error & { code?: string }).code === "ERR_SQLITE_ERROR");
}
