/**
 * Writing what the seed verified into the store, into the same tables the
 * server reads: `.info` and `.mod` files inline, zips as chunked blobs, a
 * `list` answer per module, an `@latest` answer for a module known only by
 * pseudo-versions, and the checksum database's `lookup` and `tile` bodies as
 * `sumdb` answers. The only module of the seed that talks to the store.
 *
 * Small writes are queued and committed in short batched transactions
 * (`Store.batch`), and a zip is written through the store's blob writer,
 * which cuts and hashes it as it does for the proxy and makes it visible in
 * one transaction after its last chunk, so an interrupted run leaves nothing
 * half-visible. No write lock is held while files are read, so the database
 * may be served from meanwhile (WAL); every write re-checks inside its
 * transaction what the server may have stored in the meantime. Answers that may change (`list`, `@latest`, `supported`) are
 * stored with fetchedAt 0, so that the server refreshes them whenever it can.
 *
 * @module
 */
import { listBody } from "../goproxy/answers.ts";
import { sortVersions } from "../mod/semver.ts";
import {
  type BlobWriter,
  type Store,
  type StoreBatch,
  StoreBusyError,
  StoreCorruptError,
  StoredDamageError,
  StoreFullError,
  strongEtag,
} from "../store/mod.ts";

/**
 * The store the seed writes into.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SeedStore } from "./import.ts";
 * function chunkSize(store: SeedStore): number {
 *   return store.chunkSize;
 * }
 * assert(typeof chunkSize === "function");
 * ```
 */
export type SeedStore = Store;

/**
 * What was written, counted as the seed's summary counts it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ImportCounts } from "./import.ts";
 * const counts: ImportCounts = {
 *   stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 },
 *   bytes: 0,
 *   alreadyStored: 0,
 * };
 * assert(counts.bytes === 0);
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
 * import assert from "node:assert/strict";
 * import type { ImportHooks } from "./import.ts";
 * const hooks: ImportHooks = {
 *   counts: { stored: { info: 0, mod: 0, zip: 0, lists: 0, sumdb: 0 }, bytes: 0, alreadyStored: 0 },
 *   skip: () => {},
 *   aborted: () => false,
 *   now: Date.now,
 *   batchMs: 50,
 * };
 * assert(hooks.batchMs === 50);
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
 * import assert from "node:assert/strict";
 * import { SeedWriter } from "./import.ts";
 * import { MemoryStore } from "../store/mod.ts";
 * const store = new MemoryStore();
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
 * assert((await writer.has("example.com/m", "v1.0.0", "mod")) && counts.stored.mod === 1);
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
  async has(module: string, version: string, kind: "info" | "mod" | "zip"): Promise<boolean> {
    const meta = await fromStore(() => this.#store.artifact(module, version, kind));
    return meta !== undefined;
  }

  /** Whether the checksum-database file `key` of database `name` is stored. */
  async hasSumdb(name: string, key: string): Promise<boolean> {
    const answer = await fromStore(() => this.#store.answer("sumdb", name, key));
    return answer?.status === 200;
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
   * Copies a verified zip (open as `handle`, `size` bytes) through the
   * store's blob writer and commits it in one transaction after its last
   * chunk. Stops, keeping nothing, when the run is aborted or the file is
   * not `size` bytes any more (reported as skipped).
   */
  async putZip(
    module: string,
    version: string,
    handle: Deno.FsFile,
    size: number,
    what: string,
  ): Promise<void> {
    await handle.seek(0, Deno.SeekMode.Start);
    const writer = await fromStore(() => this.#store.writeBlob());
    try {
      const total = await this.#copy(handle, writer, size);
      if (total === undefined) return;
      if (total !== size) {
        this.#hooks.skip(what, "changed while reading", `${total} bytes read, ${size} expected`);
        return;
      }
      const meta = await fromStore(() => writer.commit(module, version, "zip"));
      if (meta.blobId === writer.blobId) {
        this.#counts.stored.zip++;
        this.#counts.bytes += total;
      } else {
        // Another process (the server) stored it meanwhile; ours is discarded below.
        this.#counts.alreadyStored++;
      }
    } finally {
      // Nothing once committed; else the blob goes (what a failed write left of it too).
      await writer.abort().catch(() => {});
    }
    await this.#maybeFlush();
  }

  /**
   * Writes the file into `writer`, a chunk at a time; resolves to the bytes
   * read (more than `size` when the file grew, then the excess is not
   * written), or undefined when aborted.
   */
  async #copy(handle: Deno.FsFile, writer: BlobWriter, size: number): Promise<number | undefined> {
    // One buffer for the whole copy: the writer keeps a copy of what it is given.
    const buffer = new Uint8Array(writer.chunkSize);
    let total = 0;
    for (;;) {
      if (this.#hooks.aborted()) return undefined;
      const filled = await readFull(handle, buffer);
      total += filled;
      if (filled === 0 || total > size) break;
      await fromStore(() => writer.write(buffer.subarray(0, filled)));
      if (filled < buffer.byteLength) break;
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
    await fromStore(() =>
      this.#store.batch((batch) => {
        for (const write of writes) write(batch);
      })
    );
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

/** Errors the store threw that are not of its types: the seed stops on them all the same. */
const storeFailures = new WeakSet<Error>();

/**
 * Runs a store call, noting what it throws as a store failure: whatever the
 * error, the next write would most likely meet it again. A damaged stored
 * copy is the exception: it concerns that copy only.
 */
async function fromStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && !(error instanceof StoredDamageError)) storeFailures.add(error);
    throw error;
  }
}

/**
 * Whether `error` is a failure of the store (locked past the deadline, full,
 * corrupt, or any other error a store call threw): the seed stops there, as
 * every later write would fail the same way, and what was queued is not
 * silently lost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isStoreFailure } from "./import.ts";
 * import { StoreBusyError, StoreFullError } from "../store/mod.ts";
 * assert(isStoreFailure(new StoreBusyError("locked")));
 * assert(isStoreFailure(new StoreFullError("database or disk is full")));
 * assert(!isStoreFailure(new Error("no such file")));
 * ```
 */
export function isStoreFailure(error: unknown): boolean {
  return error instanceof StoreBusyError || error instanceof StoreFullError ||
    error instanceof StoreCorruptError || (error instanceof Error && storeFailures.has(error));
}
