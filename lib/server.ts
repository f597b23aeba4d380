/**
 * The HTTP face of Astera: a `Deno.serve` handler that parses each request,
 * asks the {@linkcode ModuleProxy} and answers in the protocol's terms.
 *
 * @module
 */
import { bytesResponse, IMMUTABLE, rangedResponse, SHORT_LIVED, textError } from "./http.ts";
import type { Logger } from "./log.ts";
import type { ModuleProxy, Reply } from "./proxy.ts";
import { parseRoute, RouteError } from "./route.ts";

/** Counters of the handler itself. */
export interface HandlerStats {
  requests: number;
  errors: number;
}

/**
 * Makes the request handler.
 *
 * @example
 * ```ts ignore
 * import { createHandler } from "./server.ts";
 * const handler = createHandler(proxy, log);
 * Deno.serve({ port: 8080 }, handler);
 * ```
 */
export function createHandler(
  proxy: ModuleProxy,
  log: Logger,
): ((request: Request) => Promise<Response>) & { stats: HandlerStats } {
  const stats: HandlerStats = { requests: 0, errors: 0 };
  const handler = async (request: Request): Promise<Response> => {
    stats.requests++;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return withAllow(textError(405, `method ${request.method} not allowed: use GET or HEAD`));
    }
    const url = new URL(request.url);
    if (url.search !== "" && url.search !== "?") {
      // The protocol has no query strings; refusing them keeps cache keys honest.
      return textError(400, "bad request: query strings are not part of the module proxy protocol");
    }
    let reply: Reply;
    try {
      const route = parseRoute(url.pathname);
      switch (route.kind) {
        case "health":
          return textResponse(request, "ok\n");
        case "stats":
          return textResponse(
            request,
            JSON.stringify({ handler: stats, ...proxy.stats() }, null, 2) + "\n",
            "application/json",
          );
        case "sumdb":
          reply = await proxy.sumdb(route.path);
          break;
        case "list":
          reply = await proxy.list(route.module);
          break;
        case "latest":
          reply = await proxy.latest(route.module);
          break;
        case "info":
          reply = await proxy.info(route.module, route.version);
          break;
        case "mod":
          reply = await proxy.mod(route.module, route.version);
          break;
        case "zip":
          reply = await proxy.zip(route.module, route.version);
          break;
      }
    } catch (error) {
      if (error instanceof RouteError) return textError(error.status, error.message);
      stats.errors++;
      log.error("internal-error", {
        path: url.pathname,
        error: error instanceof Error ? error.stack : String(error),
      });
      return textError(500, "internal error");
    }
    return replyResponse(request, proxy, reply);
  };
  return Object.assign(handler, { stats });
}

function replyResponse(request: Request, proxy: ModuleProxy, reply: Reply): Response {
  switch (reply.type) {
    case "bytes":
      return bytesResponse(request, reply.bytes, {
        contentType: reply.contentType,
        cacheControl: reply.immutable ? IMMUTABLE : SHORT_LIVED,
        etag: reply.etag,
      });
    case "stored-zip":
      return rangedResponse(
        request,
        reply.meta.size,
        { contentType: "application/zip", cacheControl: IMMUTABLE, etag: reply.meta.etag },
        (start, end) => proxy.openStoredZip(reply.meta, start, end),
      );
    case "live-zip": {
      // While downloading there is no ETag yet, so no ranges: the whole zip, as it arrives.
      const headers = {
        "content-type": "application/zip",
        "cache-control": IMMUTABLE,
        "content-length": String(reply.download.size),
      };
      if (request.method === "HEAD") return new Response(null, { headers });
      return new Response(reply.download.open(), { headers });
    }
    case "not-found":
    case "error":
      return textError(reply.status, reply.message);
  }
}

function textResponse(
  request: Request,
  body: string,
  contentType = "text/plain; charset=utf-8",
): Response {
  return bytesResponse(request, new TextEncoder().encode(body), {
    contentType,
    cacheControl: "no-store",
  });
}

function withAllow(response: Response): Response {
  response.headers.set("allow", "GET, HEAD");
  return response;
}
