/**
 * SQLite's errors, told apart by their result codes (and, for errors raised
 * before a code is known, their messages), and turned into the store's typed
 * errors, so that nothing above the store knows SQLite's.
 *
 * @module
 */
import { StoreBusyError, StoreCorruptError, StoredDamageError, StoreFullError } from "./store.ts";

/** SQLite's extended result code of `error`, when it is one of SQLite's. */
function sqliteCode(error: unknown): number | undefined {
  const code = error instanceof Error
    ? (error as Error & { errcode?: unknown }).errcode
    : undefined;
  return typeof code === "number" ? code : undefined;
}

/**
 * Whether `error` is SQLite saying the database is locked (SQLITE_BUSY, SQLITE_LOCKED).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBusy } from "./sqlite_errors.ts";
 * assert(isBusy(new Error("database is locked")));
 * ```
 */
export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === 5 || code === 6 ||
    (error instanceof Error && /database is locked|busy/i.test(error.message));
}

/**
 * SQLite's error as the store's typed one: the file malformed
 * (SQLITE_CORRUPT, SQLITE_NOTADB), full (SQLITE_FULL) or locked; anything
 * else as it is. The message stays SQLite's, the original is the cause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storeError } from "./sqlite_errors.ts";
 * import { StoreCorruptError } from "./store.ts";
 * assert(storeError(new Error("file is not a database")) instanceof StoreCorruptError);
 * ```
 */
export function storeError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof StoredDamageError) return error;
  // Extended codes (SQLITE_CORRUPT_INDEX…) keep the primary code in their low byte.
  const primary = (sqliteCode(error) ?? -1) & 0xff;
  if (
    primary === 11 || primary === 26 ||
    /database disk image is malformed|file is not a database/i.test(error.message)
  ) {
    return new StoreCorruptError(error.message, { cause: error });
  }
  if (primary === 13) return new StoreFullError(error.message, { cause: error });
  if (primary === 5 || primary === 6) return new StoreBusyError(error.message, { cause: error });
  return error;
}
