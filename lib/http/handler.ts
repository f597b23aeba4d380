/**
 * The HTTP face of Astera: the handler {@linkcode serveHttp} calls for each
 * request; it parses the path, asks the {@linkcode ModuleProxy} and answers in
 * the protocol's terms.
 *
 * @module
 */
import { bytesResponse, IMMUTABLE, rangedResponse, SHORT_LIVED, textError } from "./response.ts";
import type { HttpRequest, HttpResponse } from "./types.ts";
import type { Logger } from "../log.ts";
import {
  type Answer,
  type ModuleProxy,
  releaseWhenSent,
  REPAIR_ADVICE,
  type Reply,
} from "../proxy/mod.ts";
import { StoreCorruptError, StoreUnavailableError } from "../store/mod.ts";
import { parseRoute, type Route, RouteError } from "../goproxy/route.ts";
import { BoundedMap } from "../util/bounded_map.ts";
import { errorText } from "../util/errors.ts";
import {
  assetResponse,
  countersSnapshot,
  type IsolateStats,
  type Observer,
  RequestMetrics,
  type RouteLike,
  statusPageResponse,
  sumStats,
} from "../observe/mod.ts";

export { type IsolateStats, sumStats };

/** Parsed request paths kept at most; a hot path is parsed and validated once. */
const ROUTE_CACHE_SIZE = 4096;
/**
 * Longer paths are parsed every time: real module paths are far shorter, and
 * 4096 paths of up to a request head's 16 KiB would let one client fill
 * about 150 MB per isolate.
 */
const ROUTE_CACHE_MAX_PATH = 512;

/** Counters of the handler itself. */
export interface HandlerStats {
  requests: number;
  /** Answers with a 5xx status (an upstream failure, a busy or damaged database, a bug). */
  errors: number;
  /** `404` and `410` answers: "not here, try the next proxy". */
  notFound: number;
  /** Other 4xx answers: malformed requests, and refusals passed on from the upstream. */
  refused: number;
}

/** The request handler, with its isolate's counters. */
export type Handler = ((request: HttpRequest) => HttpResponse | Promise<HttpResponse>) & {
  stats: HandlerStats;
  /**
   * This isolate's counters: its handler's and its proxy's, and under
   * `observe` what `/metrics` and the status page are made of.
   */
  isolateStats(): IsolateStats;
  /**
   * The handler for requests a replica forwards: answered the same, but not
   * counted again in `/metrics` (the replica counted them as they arrived;
   * only a failure is kept here, with its message, for the status page).
   */
  forwarded(request: HttpRequest): HttpResponse | Promise<HttpResponse>;
};

/** The route of the status page, which is no protocol path (see `statusPageResponse`). */
const PAGE_ROUTE: RouteLike = { kind: "page" };

/**
 * Makes the request handler.
 *
 * @example
 * ```ts ignore
 * import { createHandler } from "./handler.ts";
 * import { serveHttp } from "./server.ts";
 * const handler = createHandler(proxy, log);
 * serveHttp({ hostname: "0.0.0.0", port: 8080 }, handler);
 * ```
 */
export function createHandler(
  proxy: ModuleProxy,
  log: Logger,
  /** Where a replica sends what it has not stored, and `/_astera/stats` (see `replica.ts`). */
  forward?: (request: HttpRequest) => Promise<HttpResponse>,
  /** The primary's way to the replicas' counters, for `/_astera/stats`. */
  replicaStats?: () => Promise<IsolateStats[]>,
  /** The primary's observer, for `/metrics` and `/_astera/status.json` (replicas forward them). */
  observer?: Observer,
  /**
   * Why the server is not fully up yet, or undefined once it is: meanwhile
   * `/healthz` answers 503 with it (the primary listens before its replicas
   * do, and a load balancer or a benchmark should wait for all of them).
   */
  starting?: () => string | undefined,
): Handler {
  const metrics = new RequestMetrics();
  const stats: HandlerStats = { requests: 0, errors: 0, notFound: 0, refused: 0 };
  const counted = (response: HttpResponse): HttpResponse => {
    const status = response.status;
    if (status >= 500) stats.errors++;
    else if (status === 404 || status === 410) stats.notFound++;
    else if (status >= 400) stats.refused++;
    return response;
  };
  // Routes are pure functions of the path, so valid ones are remembered (the oldest go when full).
  const routes = new BoundedMap<string, Route>(ROUTE_CACHE_SIZE);
  const route = (pathname: string): Route => {
    let parsed = routes.get(pathname);
    if (!parsed) {
      parsed = parseRoute(pathname);
      if (pathname.length > ROUTE_CACHE_MAX_PATH) return parsed;
      routes.set(pathname, parsed);
    }
    return parsed;
  };
  // What memory alone answers is answered without a single await: most of a busy day.
  const serve = (request: HttpRequest, count: boolean): HttpResponse | Promise<HttpResponse> => {
    stats.requests++;
    if (request.method === "GET" || request.method === "HEAD") {
      const parsed = routes.get(request.target);
      if (parsed) {
        let reply: Answer | undefined;
        switch (parsed.kind) {
          case "info":
          case "mod":
            reply = proxy.cachedReply(parsed.kind, parsed.module, parsed.version);
            break;
          case "list":
          case "latest":
            reply = proxy.cachedReply(parsed.kind, parsed.module, "");
            break;
        }
        if (reply) {
          const response = counted(replyResponse(request, proxy, reply));
          // Answered at once: no clock read (see RequestMetrics.record).
          metrics.record(parsed, request, response, count);
          return response;
        }
      }
    }
    return answer(request, count, metrics.now());
  };
  // What the primary answered a forward: a failure among them is kept there, not again here.
  const relayed = new WeakSet<HttpResponse>();
  const relay = forward && (async (request: HttpRequest): Promise<HttpResponse> => {
    const response = await forward(request);
    relayed.add(response);
    return response;
  });
  // The route `respond` parsed: set before its first await, so read right after calling it.
  let routed: RouteLike | undefined;
  const answer = async (
    request: HttpRequest,
    count: boolean,
    started: number,
  ): Promise<HttpResponse> => {
    routed = undefined;
    const pending = respond(request);
    const parsed = routed;
    const response = counted(await pending);
    metrics.record(parsed, request, response, count, started, relayed.has(response));
    return response;
  };
  const respond = async (request: HttpRequest): Promise<HttpResponse> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return withAllow(textError(405, `method ${request.method} not allowed: use GET or HEAD`));
    }
    const query = request.target.indexOf("?");
    const pathname = query < 0 ? request.target : request.target.slice(0, query);
    if (query >= 0 && query < request.target.length - 1) {
      // The protocol has no query strings; refusing them keeps cache keys honest.
      return textError(400, "bad request: query strings are not part of the module proxy protocol");
    }
    if (pathname === "/") {
      routed = PAGE_ROUTE;
      return statusPageResponse(request);
    }
    let reply: Reply;
    try {
      const parsed = route(pathname);
      routed = parsed;
      switch (parsed.kind) {
        case "health": {
          const why = starting?.();
          return why ? textError(503, why) : textResponse(request, "ok\n");
        }
        case "stats": {
          // A replica's counters are only part of the picture: the primary sums them all.
          if (relay) return await relay(request);
          const all = [isolateStats(), ...(await replicaStats?.() ?? [])];
          // What /metrics and the status page show is theirs to show.
          const { observe: _, ...summed } = sumStats(all);
          return textResponse(
            request,
            JSON.stringify(
              {
                ...summed,
                isolates: all.length,
                memory: Deno.memoryUsage(),
                database: await proxy.databaseSize(),
              },
              null,
              2,
            ) + "\n",
            "application/json",
          );
        }
        case "metrics":
        case "status":
          // Only the primary sees every isolate's counters.
          if (relay) return await relay(request);
          if (!observer) return textError(404, `not found: ${pathname} is not served here`);
          return parsed.kind === "metrics"
            ? await observer.metricsResponse(request)
            : await observer.statusResponse(request);
        case "asset":
          return assetResponse(request, parsed.name);
        case "sumdb":
          reply = await proxy.sumdb(parsed.name, parsed.key, parsed.module);
          break;
        case "list":
          reply = await proxy.list(parsed.module);
          break;
        case "latest":
          reply = await proxy.latest(parsed.module);
          break;
        case "info":
          reply = await proxy.info(parsed.module, parsed.version);
          break;
        case "mod":
          reply = await proxy.mod(parsed.module, parsed.version);
          break;
        case "zip":
          reply = await proxy.zip(parsed.module, parsed.version);
          break;
      }
    } catch (error) {
      if (error instanceof RouteError) return textError(error.status, error.message);
      if (error instanceof StoreUnavailableError) {
        // A shared database restarting or out of reach: what memory holds is still served.
        log.warn("store-unavailable", { path: pathname, error: error.message });
        return textError(503, error.message);
      }
      if (error instanceof StoreCorruptError) {
        // A page of the file is garbage (an SD card, a power loss): say what to do, stay up.
        const message = errorText(error);
        log.error("store-damaged", { path: pathname, error: message, advice: REPAIR_ADVICE });
        return textError(503, `database damaged: ${message}; ${REPAIR_ADVICE}`);
      }
      log.error("internal-error", {
        path: pathname,
        error: error instanceof Error ? error.stack : String(error),
      });
      return textError(500, "internal error");
    }
    if (reply.type === "miss") {
      if (relay) return await relay(request);
      return textError(502, "internal error: nothing stored and no primary to ask");
    }
    // Disk budget: a zip's pin is released once it is sent (lib/proxy/pins.ts).
    const release = reply.type === "stored-zip" || reply.type === "live-zip"
      ? reply.release
      : undefined;
    return releaseWhenSent(replyResponse(request, proxy, reply), release);
  };
  const isolateStats = (): IsolateStats => ({
    handler: { ...stats },
    ...proxy.stats(),
    observe: { ...metrics.snapshot(), counters: countersSnapshot(), errors: metrics.errors() },
  });
  const handler = (request: HttpRequest) => serve(request, true);
  const forwarded = (request: HttpRequest) => serve(request, false);
  return Object.assign(handler, { stats, isolateStats, forwarded });
}

function replyResponse(
  request: HttpRequest,
  proxy: ModuleProxy,
  reply: Answer,
): HttpResponse {
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
      if (request.method === "HEAD") return { status: 200, headers };
      return { status: 200, headers, body: reply.download.open() };
    }
    case "not-found":
    case "error":
      return textError(reply.status, reply.message);
  }
}

function textResponse(
  request: HttpRequest,
  body: string,
  contentType = "text/plain; charset=utf-8",
): HttpResponse {
  return bytesResponse(request, new TextEncoder().encode(body), {
    contentType,
    cacheControl: "no-store",
  });
}

function withAllow(response: HttpResponse): HttpResponse {
  response.headers["allow"] = "GET, HEAD";
  return response;
}
