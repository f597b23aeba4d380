/**
 * The counters that code deep in the proxy, the store and the sources
 * increments for `/metrics`: one plain object of numbers per isolate (a
 * module-level object, and every worker is its own module instance), so
 * counting is a field increment with no import of the metrics machinery,
 * no lookup and no allocation. The primary adds up every isolate's copy.
 *
 * @module
 */

/** What an isolate counts for `/metrics` beyond its handler's and its proxy's own stats. */
export interface Counters {
  /** HTTP requests to the upstream, by outcome, and the body bytes received. */
  upstream: {
    /** 2xx (and 3xx) answers. */
    ok: number;
    /** 404 and 410: "not here". */
    notFound: number;
    /** Other 4xx: a refusal (400, 403, 451) or a range it could not give. */
    refused: number;
    /** 5xx answers. */
    serverError: number;
    /** No answer: connection refused, DNS, TLS, timeout. */
    unreachable: number;
    receivedBytes: number;
  };
  /** `git fetch` (and first clone) runs of private mirrors, by outcome. */
  git: { fetchesOk: number; fetchesFailed: number };
  /** Zips being downloaded from a source right now (a gauge: +1 at start, -1 at the end). */
  zipsDownloading: number;
  /** Zips removed to keep the store within its budget, and their bytes. */
  evictions: number;
  evictedBytes: number;
}

/**
 * This isolate's counters. Increment fields directly:
 *
 * @example
 * ```ts
 * import { counters } from "./counters.ts";
 * counters.git.fetchesOk++;
 * counters.evictions++;
 * counters.evictedBytes += 1024;
 * ```
 */
export const counters: Counters = {
  upstream: { ok: 0, notFound: 0, refused: 0, serverError: 0, unreachable: 0, receivedBytes: 0 },
  git: { fetchesOk: 0, fetchesFailed: 0 },
  zipsDownloading: 0,
  evictions: 0,
  evictedBytes: 0,
};

/**
 * A copy of the counters, to send to the primary or sum.
 *
 * @example
 * ```ts
 * import { countersSnapshot } from "./counters.ts";
 * console.log(countersSnapshot().upstream.ok >= 0); // true
 * ```
 */
export function countersSnapshot(): Counters {
  return {
    ...counters,
    upstream: { ...counters.upstream },
    git: { ...counters.git },
  };
}

/**
 * Wraps `fetch` (the one the upstream client uses) to count each HTTP request
 * by outcome and the body bytes as they arrive, into {@linkcode counters}.
 * A body is counted as it is read: one abandoned half-way counts half.
 *
 * @example
 * ```ts ignore
 * import { countingFetch } from "./counters.ts";
 * import { createUpstream, parseUpstreamList } from "../sources/upstream.ts";
 * const upstream = createUpstream(parseUpstreamList("https://proxy.golang.org"),
 *   { timeoutMs: 30_000, fetch: countingFetch() });
 * ```
 */
export function countingFetch(inner: typeof fetch = fetch): typeof fetch {
  const upstream = counters.upstream;
  return async (input, init) => {
    let response: Response;
    try {
      response = await inner(input, init);
    } catch (error) {
      upstream.unreachable++;
      throw error;
    }
    const status = response.status;
    if (status < 400) upstream.ok++;
    else if (status === 404 || status === 410) upstream.notFound++;
    else if (status < 500) upstream.refused++;
    else upstream.serverError++;
    if (response.body === null) return response;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          upstream.receivedBytes += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
