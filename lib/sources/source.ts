/**
 * The contract between the server and where module artifacts come from: an
 * upstream proxy (`upstream.ts`) or a git repository (`git` sources). The
 * server caches whatever a source answers; a source never caches.
 *
 * @module
 */
import { redactCredentials } from "../log.ts";
import type { ProxyRequest } from "../goproxy/paths.ts";

/**
 * What the server asks a source for: one GOPROXY endpoint for one module,
 * as a request path names it (see `lib/goproxy/paths.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ArtifactRequest } from "./source.ts";
 * const request: ArtifactRequest = { kind: "info", module: "golang.org/x/text", version: "v0.3.0" };
 * assert(request.module === "golang.org/x/text");
 * ```
 */
export type ArtifactRequest = ProxyRequest;

/** A source's answer: the body of a 200, or a 404/410 with its reason. */
export type SourceAnswer =
  | {
    found: true;
    body: ReadableStream<Uint8Array>;
    size: number | null;
    /**
     * The body ends where the connection closed, with no length or chunking
     * to tell a cut-short answer from a whole one.
     */
    unframed?: boolean;
  }
  | { found: false; status: 404 | 410; message: string };

/**
 * Anything that can answer GOPROXY requests. `fetch` resolves with a found or
 * not-found answer and rejects with {@linkcode SourceError} when the source
 * could not be asked (network down, timeout, 5xx, a malformed answer).
 *
 * @example
 * ```ts
 * import type { ModuleSource } from "./source.ts";
 * const empty: ModuleSource = {
 *   fetch: () => Promise.resolve({ found: false, status: 404, message: "not found" }),
 * };
 * ```
 */
export interface ModuleSource {
  fetch(request: ArtifactRequest, signal?: AbortSignal): Promise<SourceAnswer>;
}

/**
 * A source failed to answer (as opposed to answering "not found"). Its
 * message goes to clients in a 502, so any `user:password@` in a URL in it
 * (an upstream's credentials) is removed.
 *
 * @example
 * ```ts
 * import { SourceError } from "./source.ts";
 * const err = new SourceError("upstream https://me:token@proxy.corp: 503 for golang.org/x/text/@v/list");
 * console.log(err.message); // "upstream https://proxy.corp: 503 for golang.org/x/text/@v/list"
 * ```
 */
export class SourceError extends Error {
  override name = "SourceError";
  constructor(message: string, options?: ErrorOptions) {
    super(redactCredentials(message), options);
  }
}

/** Statuses by which an upstream refuses a request (a blocked module, say) rather than failing. */
export type RefusalStatus = 400 | 403 | 451;

/** Whether `status` is a {@linkcode RefusalStatus}. */
export function isRefusalStatus(status: number): status is RefusalStatus {
  return status === 400 || status === 403 || status === 451;
}

/**
 * An upstream refused a request with a {@linkcode RefusalStatus} (corporate
 * proxies answer 403 for a blocked module). Clients get that status and the
 * upstream's own text, as the go command would have shown them going direct:
 * neither a not-found (which would send it to the next `GOPROXY` entry) nor
 * a 502. `detail` is the upstream's text/plain body (empty for any other
 * type, as the go command shows none then); `message` is for the log.
 *
 * @example
 * ```ts
 * import { RefusedError } from "./source.ts";
 * const err = new RefusedError(403, "blocked by policy\n", "upstream https://corp: example.com/m @v/list: status 403");
 * console.log(err.status, err.detail); // 403 "blocked by policy\n"
 * ```
 */
export class RefusedError extends SourceError {
  override name = "RefusedError";
  readonly detail: string;
  constructor(readonly status: RefusalStatus, detail: string, message: string) {
    super(message);
    this.detail = redactCredentials(detail);
  }
}

/** Describes a request for logs and error messages, e.g. `golang.org/x/text@v0.3.0 .zip`. */
export function describeRequest(request: ArtifactRequest): string {
  return "version" in request
    ? `${request.module}@${request.version} .${request.kind}`
    : `${request.module} ${request.kind === "list" ? "@v/list" : "@latest"}`;
}

/** Wraps bytes as a found answer. */
export function foundBytes(bytes: Uint8Array): SourceAnswer {
  return {
    found: true,
    size: bytes.byteLength,
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    }),
  };
}
