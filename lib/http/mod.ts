/**
 * Astera's HTTP layer: a small HTTP/1.1 server of its own
 * ({@linkcode serveHttp}), the responses the go command and caches expect
 * (ETag, Range, 304, plain-text errors), and the handler that answers the
 * module proxy protocol. Code outside `lib/http/` imports from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveHttp, textError } from "./mod.ts";
 * const server = serveHttp({ hostname: "127.0.0.1", port: 0 }, () => textError(404, "not here"));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assert(response.status === 404 && (await response.text()) === "not here\n");
 * await server.shutdown();
 * ```
 *
 * @module
 */
export type { HttpBody, HttpHandler, HttpRequest, HttpResponse } from "./types.ts";
export { type HttpServer, type HttpServerOptions, serveHttp, type TlsKeyPair } from "./server.ts";
export {
  bytesResponse,
  type ContentHeaders,
  IMMUTABLE,
  parseRange,
  rangedResponse,
  SHORT_LIVED,
  textError,
} from "./response.ts";
export {
  createHandler,
  type Handler,
  type HandlerStats,
  type IsolateStats,
  sumStats,
} from "./handler.ts";
