/**
 * PostgreSQL's errors (SQLSTATE codes) and the client's connection errors,
 * turned into the store's typed errors, so that nothing above the store
 * knows PostgreSQL's: unreachable, full, busy, corrupt.
 *
 * @module
 */
import { shownUrl } from "./postgres_url.ts";
import {
  StoreBusyError,
  StoreCorruptError,
  StoredDamageError,
  StoreFullError,
  StoreUnavailableError,
} from "./store.ts";

/** The client's and the socket's codes for a connection that failed or went. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

function codeOf(error: Error): string {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : "";
}

/**
 * `error` as the store's typed error: the database unreachable or shutting
 * down (connection errors, SQLSTATE class 08, 57P01–57P03, authentication)
 * as {@linkcode StoreUnavailableError}, out of room (53100) as
 * {@linkcode StoreFullError}, a lock or serialization conflict as
 * {@linkcode StoreBusyError}, damaged data (XX001, XX002) as
 * {@linkcode StoreCorruptError}; anything else as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { postgresStoreError } from "./postgres_errors.ts";
 * import { StoreUnavailableError } from "./store.ts";
 * const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
 * assert(postgresStoreError(refused) instanceof StoreUnavailableError);
 * ```
 */
export function postgresStoreError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof StoredDamageError) return error;
  if (
    error instanceof StoreUnavailableError || error instanceof StoreFullError ||
    error instanceof StoreBusyError || error instanceof StoreCorruptError
  ) return error;
  const code = codeOf(error);
  // The client's messages may name the URL it was given: never with its password.
  const message = shownUrl(error.message);
  if (
    CONNECTION_CODES.has(code) || code.startsWith("08") || code.startsWith("28") ||
    ["57P01", "57P02", "57P03", "53300"].includes(code)
  ) {
    return new StoreUnavailableError(`database unavailable (PostgreSQL): ${message}`, {
      cause: error,
    });
  }
  if (code === "53100") return new StoreFullError(message, { cause: error });
  if (["40001", "40P01", "55P03"].includes(code)) {
    return new StoreBusyError(message, { cause: error });
  }
  if (code === "XX001" || code === "XX002") return new StoreCorruptError(message, { cause: error });
  return error;
}
