/**
 * The store: where Astera keeps artifacts and answers (see `store.ts` for
 * the interface). `SqliteStore` is the backend a server runs on by default,
 * `PostgresStore` the one several instances share (`openStore` picks by `--db`),
 * `MemoryStore` one for tests; everything above the store imports from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore, type Store } from "./mod.ts";
 * const store: Store = new MemoryStore();
 * assert((await store.answer("list", "example.com/m", "")) === undefined);
 * ```
 *
 * @module
 */
export * from "./store.ts";
export { type ChunkReader, type ChunkSpan, chunkSpans, readBlobRange } from "./blob_range.ts";
export { etagFromDigest, sha256, strongEtag } from "./digest.ts";
export { MemoryStore, type MemoryStoreOptions } from "./memory.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export { PostgresStore, type PostgresStoreOptions } from "./postgres.ts";
export { ForeignDatabaseError } from "./postgres_schema.ts";
export { isPostgresUrl } from "./postgres_url.ts";
export { openStore, shownDb } from "./open.ts";
export { type CopyProgress, copyStore, type CopySummary } from "./copy.ts";
export {
  verifyDatabase,
  type VerifyOptions,
  type VerifyProgress,
  type VerifySummary,
} from "./verify.ts";
