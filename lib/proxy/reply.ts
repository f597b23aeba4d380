/**
 * What the cache policy answers, before it is HTTP: the {@linkcode Reply}
 * union and the constructors that turn stored answers, artifacts and errors
 * into replies. `lib/http/handler.ts` turns a reply into a response.
 *
 * @module
 */
import {
  type ArtifactMeta,
  StoreBusyError,
  StoreCorruptError,
  type StoredAnswer,
  StoreUnavailableError,
} from "../store/mod.ts";
import { type RefusalStatus, RefusedError, SourceError } from "../sources/source.ts";
import { errorText } from "../util/errors.ts";
import type { LiveDownload } from "./live_download.ts";

/**
 * What the proxy answers; `lib/http/handler.ts` turns it into HTTP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Reply } from "./reply.ts";
 * const reply: Reply = { type: "not-found", status: 404, message: "not found: x" };
 * assert(reply.type === "not-found");
 * ```
 */
export type Reply =
  | { type: "bytes"; bytes: Uint8Array; contentType: string; immutable: boolean; etag?: string }
  /** `release`: under a disk budget, the zip's pin, to release once it is sent (`pins.ts`). */
  | { type: "stored-zip"; meta: ArtifactMeta; release?: () => void }
  | { type: "live-zip"; download: LiveDownload; release?: () => void }
  | { type: "not-found"; status: 404 | 410; message: string }
  /** 502/503: the source or the store failed; a refusal's status: the upstream refused. */
  | { type: "error"; status: 502 | 503 | RefusalStatus; message: string }
  /** Only with `storedOnly`: nothing servable is stored; the primary must answer. */
  | { type: "miss" };

/**
 * A reply that answers the request (anything but a replica's miss).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Answer } from "./reply.ts";
 * const answer: Answer = { type: "error", status: 502, message: "upstream down" };
 * assert(answer.type === "error");
 * ```
 */
export type Answer = Exclude<Reply, { type: "miss" }>;

/**
 * The content type of `list` bodies, errors and `.mod` files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TEXT } from "./reply.ts";
 * assert(TEXT.startsWith("text/plain"));
 * ```
 */
export const TEXT = "text/plain; charset=utf-8";

/**
 * The content type of `.info` and `@latest` bodies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JSON_TYPE } from "./reply.ts";
 * assert(JSON_TYPE === "application/json");
 * ```
 */
export const JSON_TYPE = "application/json";

/**
 * What a log line about a malformed database file advises.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPAIR_ADVICE } from "./reply.ts";
 * assert(REPAIR_ADVICE.includes("--repair"));
 * ```
 */
export const REPAIR_ADVICE = "stop Astera and run `deno task verify --repair`";

/**
 * A replica's reply when nothing servable is stored: the primary must answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MISS } from "./reply.ts";
 * assert(MISS.type === "miss");
 * ```
 */
export const MISS: Reply = { type: "miss" };

/**
 * A stored `list`, `@latest` or query `.info` answer as a reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { answerReply } from "./reply.ts";
 * const body = new TextEncoder().encode("v1.0.0\n");
 * const reply = answerReply({ kind: "list", module: "m", key: "", status: 200, body, fetchedAt: 0 });
 * assert(reply.type === "bytes" && !reply.immutable);
 * ```
 */
export function answerReply(answer: StoredAnswer): Answer {
  if (answer.status !== 200) return notFoundReply(answer);
  return bytesReply(answer.body, answer.kind === "list" ? TEXT : JSON_TYPE, false);
}

/**
 * A stored checksum-database answer as a reply: `lookup` and `tile` answers
 * never change, so they are immutable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sumdbReply } from "./reply.ts";
 * const body = new Uint8Array(8);
 * const reply = sumdbReply({ kind: "sumdb", module: "sum.golang.org", key: "tile/8/0/000", status: 200, body, fetchedAt: 0 });
 * assert(reply.type === "bytes" && reply.immutable);
 * ```
 */
export function sumdbReply(answer: StoredAnswer): Reply {
  if (answer.status !== 200) return notFoundReply(answer);
  const immutable = answer.key.startsWith("lookup/") || answer.key.startsWith("tile/");
  const type = answer.key.startsWith("tile/") ? "application/octet-stream" : TEXT;
  return bytesReply(answer.body, type, immutable);
}

/**
 * A stored `.info` or `.mod` with its content, immutable with its ETag.
 *
 * @example
 * ```ts ignore
 * import { artifactReply } from "./reply.ts";
 * const reply = artifactReply(meta, data); // meta from the store
 * ```
 */
export function artifactReply(meta: ArtifactMeta, data: Uint8Array): Answer {
  return {
    type: "bytes",
    bytes: data,
    contentType: meta.kind === "info" ? JSON_TYPE : TEXT,
    immutable: true,
    etag: meta.etag,
  };
}

/**
 * Bytes to send as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesReply, TEXT } from "./reply.ts";
 * const reply = bytesReply(new Uint8Array([104, 105]), TEXT, false);
 * assert(reply.type === "bytes" && reply.bytes.byteLength === 2);
 * ```
 */
export function bytesReply(bytes: Uint8Array, contentType: string, immutable: boolean): Answer {
  return { type: "bytes", bytes, contentType, immutable };
}

/**
 * A stored not-found (404 or 410) as a reply; its body is the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notFoundReply } from "./reply.ts";
 * const body = new TextEncoder().encode("not found: gone");
 * const reply = notFoundReply({ kind: "mod", module: "m", key: "v1.0.0", status: 410, body, fetchedAt: 0 });
 * assert(reply.type === "not-found" && reply.status === 410);
 * ```
 */
export function notFoundReply(answer: StoredAnswer): Answer {
  return {
    type: "not-found",
    status: answer.status === 410 ? 410 : 404,
    message: new TextDecoder().decode(answer.body),
  };
}

/**
 * The 404 for a `.mod` or `.zip` asked for by a non-canonical version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonCanonical } from "./reply.ts";
 * assert(nonCanonical("m", "master").type === "not-found");
 * ```
 */
export function nonCanonical(module: string, version: string): Reply {
  return {
    type: "not-found",
    status: 404,
    message:
      `not found: ${module}@${version}: .mod and .zip are served for canonical versions only`,
  };
}

/**
 * A stored copy was removed as damaged, and the source could not give it again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { damagedReply } from "./reply.ts";
 * const reply = damagedReply("m@v1.0.0.mod", "hash mismatch", new Error("offline"));
 * assert(reply.type === "error" && reply.status === 502);
 * ```
 */
export function damagedReply(what: string, damage: string, error: unknown): Reply {
  return {
    type: "error",
    status: 502,
    message: `${what}: the stored copy is damaged (${damage}) and was removed; ` +
      `fetching it again failed: ${errorText(error)}`,
  };
}

/**
 * A failure as a reply: the upstream's refusal as is, a source failure as
 * 502, a busy, unreachable or damaged database as 503.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorReply } from "./reply.ts";
 * const reply = errorReply(new Error("connection reset"));
 * assert(reply.type === "error" && reply.status === 502);
 * ```
 */
export function errorReply(error: unknown): Reply {
  if (error instanceof RefusedError) {
    return { type: "error", status: error.status, message: error.detail };
  }
  if (error instanceof SourceError) return { type: "error", status: 502, message: error.message };
  if (error instanceof StoreBusyError) {
    return { type: "error", status: 503, message: `database busy: ${error.message}` };
  }
  if (error instanceof StoreUnavailableError) {
    return { type: "error", status: 503, message: error.message };
  }
  if (error instanceof StoreCorruptError) {
    return {
      type: "error",
      status: 503,
      message: `database damaged: ${errorText(error)}; ${REPAIR_ADVICE}`,
    };
  }
  return { type: "error", status: 502, message: errorText(error) };
}

/**
 * UTF-8 bytes of a text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode } from "./reply.ts";
 * assert(encode("hi").byteLength === 2);
 * ```
 */
export function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
