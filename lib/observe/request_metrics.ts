/**
 * What the request handler counts for `/metrics` and the status page: answers
 * by route kind and status class, their durations as a histogram, bytes
 * answered, the most requested modules and the last errors. Counting one
 * answer touches preallocated typed arrays indexed by kind, class and bucket:
 * no object, no closure, no string is made per request (the hot path answers
 * from memory in microseconds, so this must cost next to nothing).
 *
 * @module
 */
import type { HttpRequest, HttpResponse } from "../http/types.ts";
import { type ErrorEntry, RecentErrors } from "./recent_errors.ts";
import { TopCounts } from "./top_counts.ts";

/** Route kinds as `/metrics` labels them; `astera` is Astera's own endpoints (`/metrics`, `/`, `/_astera/…`, `/healthz`). */
export const ROUTE_KINDS = [
  "list",
  "info",
  "mod",
  "zip",
  "latest",
  "sumdb",
  "other",
  "astera",
] as const;

/** A route kind label. */
export type RouteKind = typeof ROUTE_KINDS[number];

/** Status classes, by `status / 100 - 1`. */
export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/**
 * Upper bounds of the duration buckets, in seconds: from a memory answer
 * (tens of microseconds) to a toolchain zip's first bytes over a slow link.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

const KINDS = ROUTE_KINDS.length;
const CLASSES = STATUS_CLASSES.length;
const SLOTS = DURATION_BUCKETS.length + 1;
const OTHER = ROUTE_KINDS.indexOf("other");
const ASTERA = ROUTE_KINDS.indexOf("astera");
/** Modules each isolate keeps counts of, and reports. */
const TOP_MODULES = 50;
const RECENT_ERRORS = 20;

/** The handler's counters as one isolate reports them; every number sums across isolates. */
export interface RequestSnapshot {
  /** Answers per kind, then per status class (only those seen). */
  requests: Record<string, Record<string, number>>;
  /** Per kind (only those seen): observations per bucket (not cumulative; key = index), their sum. */
  seconds: Record<string, { buckets: Record<string, number>; sum: number }>;
  /** Body bytes of the protocol's answers, as declared (`content-length` of a stream). */
  servedBytes: number;
  /** Requests per module path, the most requested only. */
  modules: Record<string, number>;
}

/** A route as the handler parsed it, or undefined when the request had none. */
export interface RouteLike {
  kind: string;
  module?: string;
}

/**
 * The request counters of one isolate's handler.
 *
 * @example
 * ```ts
 * import { RequestMetrics } from "./request_metrics.ts";
 * const metrics = new RequestMetrics();
 * const request = { method: "GET", target: "/example.com/m/@v/list", headers: {} };
 * const started = performance.now();
 * const response = { status: 200, headers: {}, body: new Uint8Array(12) };
 * metrics.record({ kind: "list", module: "example.com/m" }, request, response, true, started);
 * console.log(metrics.snapshot().requests.list["2xx"], metrics.snapshot().servedBytes); // 1 12
 * ```
 */
export class RequestMetrics {
  #requests = new Float64Array(KINDS * CLASSES);
  #buckets = new Float64Array(KINDS * SLOTS);
  #seconds = new Float64Array(KINDS);
  #servedBytes = 0;
  #modules = new TopCounts(TOP_MODULES);
  #errors = new RecentErrors(RECENT_ERRORS);
  #now: () => number;

  /** `now`: a monotonic clock in milliseconds, as `performance.now()`. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The clock `record` measures with; the handler reads it when a request arrives. */
  now(): number {
    return this.#now();
  }

  /**
   * Counts one answer: `route` as parsed (undefined: no valid route), the
   * response as given, `started` from {@linkcode now} when it arrived. An
   * answer to a replica's forward is not `counted` (the replica counts it),
   * but a failure is kept here, where it happened; the replica passes
   * `relayed` for it, and does not keep it again. An answer given at once,
   * from memory, comes without `started` and is counted in the first bucket
   * unmeasured: reading the clock twice (about 170 ns each in Deno 2.9)
   * would cost more than everything else counted here together.
   */
  record(
    route: RouteLike | undefined,
    request: HttpRequest,
    response: HttpResponse,
    counted: boolean,
    started?: number,
    relayed = false,
  ): void {
    const status = response.status;
    const body = response.body;
    if (status >= 500 && body instanceof Uint8Array && !relayed) {
      this.#addError(request, status, body);
    }
    if (!counted) return;
    const kind = route ? kindIndex(route.kind) : OTHER;
    const statusClass = Math.min(CLASSES - 1, Math.max(0, ((status / 100) | 0) - 1));
    this.#requests[kind * CLASSES + statusClass]++;
    const seconds = started === undefined ? 0 : (this.#now() - started) / 1000;
    let slot = 0;
    while (slot < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[slot]) slot++;
    this.#buckets[kind * SLOTS + slot]++;
    this.#seconds[kind] += seconds;
    // Bytes of the protocol only: a scraper or a status page left open is not traffic.
    if (kind !== ASTERA) this.#servedBytes += bodyBytes(response);
    if (kind < OTHER && kind !== SUMDB && route?.module) this.#modules.add(route.module);
  }

  /** The counters, as plain objects (sent between isolates, then summed). */
  snapshot(): RequestSnapshot {
    const requests: RequestSnapshot["requests"] = {};
    const seconds: RequestSnapshot["seconds"] = {};
    for (let kind = 0; kind < KINDS; kind++) {
      const classes: Record<string, number> = {};
      let seen = false;
      for (let c = 0; c < CLASSES; c++) {
        const count = this.#requests[kind * CLASSES + c];
        if (count > 0) {
          classes[STATUS_CLASSES[c]] = count;
          seen = true;
        }
      }
      if (!seen) continue;
      requests[ROUTE_KINDS[kind]] = classes;
      const buckets: Record<string, number> = {};
      for (let slot = 0; slot < SLOTS; slot++) {
        const count = this.#buckets[kind * SLOTS + slot];
        if (count > 0) buckets[slot] = count;
      }
      seconds[ROUTE_KINDS[kind]] = { buckets, sum: this.#seconds[kind] };
    }
    return {
      requests,
      seconds,
      servedBytes: this.#servedBytes,
      modules: this.#modules.snapshot(),
    };
  }

  /** The last failed (5xx) answers, newest first. */
  errors(): ErrorEntry[] {
    return this.#errors.list();
  }

  #addError(request: HttpRequest, status: number, body: Uint8Array): void {
    const message = new TextDecoder().decode(body.subarray(0, 2000)).trim();
    this.#errors.add({ time: Date.now(), status, path: request.target, message });
  }
}

const SUMDB = ROUTE_KINDS.indexOf("sumdb");

/** Bytes a response's body holds or declares (a stream's `content-length`; none for a HEAD). */
function bodyBytes(response: HttpResponse): number {
  const body = response.body;
  if (body instanceof Uint8Array) return body.byteLength;
  return body ? Number(response.headers["content-length"]) || 0 : 0;
}

/**
 * The index of a parsed route's kind in {@linkcode ROUTE_KINDS}: the protocol's
 * kinds as they are, Astera's own endpoints as `astera`, anything else `other`.
 *
 * @example
 * ```ts
 * import { kindIndex, ROUTE_KINDS } from "./request_metrics.ts";
 * console.log(ROUTE_KINDS[kindIndex("zip")], ROUTE_KINDS[kindIndex("health")]); // zip astera
 * ```
 */
export function kindIndex(kind: string): number {
  switch (kind) {
    case "list":
      return 0;
    case "info":
      return 1;
    case "mod":
      return 2;
    case "zip":
      return 3;
    case "latest":
      return 4;
    case "sumdb":
      return 5;
    case "health":
    case "stats":
    case "metrics":
    case "page":
    case "status":
    case "asset":
      return ASTERA;
    default:
      return OTHER;
  }
}
