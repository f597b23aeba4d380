/**
 * What a request and a response are for Astera's HTTP server and the code
 * that answers through it. The server (`server.ts`) and the response builders
 * (`response.ts`) both speak these types, so they live here, apart from both:
 * neither module needs the other to name them.
 *
 * @module
 */

/**
 * A request as the handler sees it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HttpRequest } from "./types.ts";
 * const request: HttpRequest = { method: "GET", target: "/m/@v/list", headers: { host: "pi" } };
 * assert(request.headers["host"] === "pi");
 * ```
 */
export interface HttpRequest {
  /** The method as sent, e.g. `GET`. */
  method: string;
  /** The origin-form target, e.g. `/golang.org/x/text/@v/list` (absolute-form is reduced to this). */
  target: string;
  /** Header values by lower-case name; repeated headers are joined with `, `. */
  headers: Record<string, string>;
  /** The client's address (no port), as the server saw it; absent where no server did. */
  address?: string;
}

/**
 * A response body: bytes, written as they are (never detached or copied into
 * the cache), or a stream, sent as it arrives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HttpBody } from "./types.ts";
 * const body: HttpBody = new TextEncoder().encode("ok\n");
 * assert(body instanceof Uint8Array);
 * ```
 */
export type HttpBody = Uint8Array | ReadableStream<Uint8Array>;

/**
 * A response as the handler gives it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HttpResponse } from "./types.ts";
 * const response: HttpResponse = {
 *   status: 200,
 *   headers: { "content-type": "text/plain" },
 *   body: new TextEncoder().encode("ok\n"),
 * };
 * assert(response.status === 200);
 * ```
 */
export interface HttpResponse {
  status: number;
  /**
   * Header names in lower case. `content-length` is set by the server for a
   * byte body; a stream body without it is sent until it ends, then the
   * connection is closed.
   */
  headers: Record<string, string>;
  /** Bytes are written as they are (never detached or copied into the cache). */
  body?: HttpBody | null;
}

/**
 * Answers one request; a throw becomes a 500.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HttpHandler } from "./types.ts";
 * const handler: HttpHandler = () => ({ status: 404, headers: {}, body: null });
 * assert((handler({ method: "GET", target: "/", headers: {} }) as { status: number }).status === 404);
 * ```
 */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;
