/**
 * The contract between the server and where module artifacts come from: an
 * upstream proxy (`upstream.ts`) or a git repository (`git` sources). The
 * server caches whatever a source answers; a source never caches.
 *
 * @module
 */
import { redactCredentials } from "./log.ts";

/** What the server asks a source for: one GOPROXY endpoint for one module. */
export type ArtifactRequest =
  | { kind: "list"; module: string }
  | { kind: "latest"; module: string }
  | { kind: "info" | "mod" | "zip"; module: string; version: string };

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
