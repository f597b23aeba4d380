/**
 * The primary isolate's observer: it gathers every isolate's counters for
 * `/metrics` and `/_astera/status.json`, and samples their totals now and
 * then into a {@linkcode History} for the status page's charts.
 *
 * @module
 */
import { bytesResponse } from "../http/response.ts";
import type { HttpRequest, HttpResponse } from "../http/types.ts";
import { type Columns, History, type Sample } from "./history.ts";
import { metricsText, type Observation } from "./metrics.ts";
import { type ErrorEntry, newestFirst } from "./recent_errors.ts";
import { ROUTE_KINDS } from "./request_metrics.ts";
import { type IsolateStats, numberAt, objectAt, sumStats, valueAt } from "./sum.ts";
import { largest } from "./top_counts.ts";
import { VERSION } from "./version.ts";

/** Options of {@linkcode Observer}. */
export interface ObserverOptions {
  /** Every isolate's stats, the primary's first (see `Handler.isolateStats`). */
  collect(): Promise<IsolateStats[]>;
  /** The database file's size and its free pages. */
  databaseSize(): Promise<{ bytes: number; freeBytes: number }>;
  /**
   * Bytes stored, as the budget counts them; the database's pages in use
   * (its size less free pages) when not given.
   */
  storedBytes?: () => number;
  /** The settings the page shows (see `configurationOf`): never a credential. */
  configuration(): Record<string, string>;
  /** The store's budget in bytes, when it has one. */
  budgetBytes?: number | null;
  /** How often totals are sampled for the charts. Default 10 s. */
  sampleMs?: number;
  /** Samples kept. Default 360: an hour at 10 s. */
  historySize?: number;
  /** The wall clock (ms). */
  now?: () => number;
}

/** What `/_astera/status.json` answers: the status page's whole content. */
export interface StatusModel {
  version: string;
  deno: string;
  startedAt: string;
  now: string;
  isolates: number;
  residentBytes: number;
  upstream: {
    reachable: boolean | null;
    lastSuccess: string | null;
    lastFailure: string | null;
    lastError: string | null;
    failures: number;
    outages: number;
  };
  /** Module-protocol requests (list, info, mod, zip, latest, sumdb). */
  requests: number;
  /** Requests by route kind (Astera's own pages as `astera`), every status. */
  requestsByKind: Record<string, number>;
  /** Share of module-protocol requests answered without asking a source; null before any. */
  hitRate: number | null;
  servedBytes: number;
  fetchedBytes: number;
  disk: { storeBytes: number; fileBytes: number; freeBytes: number; budgetBytes: number | null };
  modules: { module: string; requests: number }[];
  errors: (Omit<ErrorEntry, "time"> & { time: string })[];
  configuration: Record<string, string>;
  /** Seconds between samples. */
  sampleSeconds: number;
  /** Totals sampled, oldest first, the last one taken for this answer. */
  history: Columns;
}

const PROTOCOL_KINDS = ROUTE_KINDS.filter((kind) => kind !== "other" && kind !== "astera");
const SHOWN_MODULES = 10;
const SHOWN_ERRORS = 20;

/**
 * Gathers and samples every isolate's counters.
 *
 * @example
 * ```ts
 * import { Observer } from "./observer.ts";
 * const observer = new Observer({
 *   collect: () => Promise.resolve([{}]),
 *   databaseSize: () => Promise.resolve({ bytes: 4096, freeBytes: 0 }),
 *   configuration: () => ({ upstream: "https://proxy.golang.org" }),
 * });
 * const status = await observer.status();
 * console.log(status.requests, status.disk.storeBytes); // 0 4096
 * ```
 */
export class Observer {
  readonly startedAt: number;
  #options: ObserverOptions;
  #now: () => number;
  #history: History;
  #timer: ReturnType<typeof setInterval> | undefined;
  #sampling = false;

  constructor(options: ObserverOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.startedAt = this.#now();
    this.#history = new History(options.historySize ?? 360);
    // Nothing was answered before the start: the charts begin at zero.
    this.#history.add({
      time: this.startedAt,
      requests: 0,
      fetches: 0,
      servedBytes: 0,
      fetchedBytes: 0,
    });
  }

  /** Starts sampling (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    // A sample that fails (a replica gone mid-answer) is skipped; the next one is taken as usual.
    this.#timer = setInterval(
      () => this.#sample().catch(() => {}),
      this.#options.sampleMs ?? 10_000,
    );
    Deno.unrefTimer(this.#timer);
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** `GET /metrics`. */
  async metricsResponse(request: HttpRequest): Promise<HttpResponse> {
    const { observation } = await this.#observe();
    return bytesResponse(request, new TextEncoder().encode(metricsText(observation)), {
      contentType: "text/plain; version=0.0.4; charset=utf-8",
      cacheControl: "no-store",
    });
  }

  /** `GET /_astera/status.json`. */
  async statusResponse(request: HttpRequest): Promise<HttpResponse> {
    const body = JSON.stringify(await this.status()) + "\n";
    return bytesResponse(request, new TextEncoder().encode(body), {
      contentType: "application/json",
      cacheControl: "no-store",
    });
  }

  /** The status page's content, now. */
  async status(): Promise<StatusModel> {
    const { observation: o, errors } = await this.#observe();
    const observe = objectAt(o.summed, "observe");
    const requestsByKind: Record<string, number> = {};
    const byKind = objectAt(observe, "requests");
    for (const kind of ROUTE_KINDS) {
      if (!Object.hasOwn(byKind, kind)) continue;
      requestsByKind[kind] = Object.values(objectAt(byKind, kind)).reduce<number>(
        (sum, n) => sum + (typeof n === "number" ? n : 0),
        0,
      );
    }
    const now = this.#totals(o.summed, this.#now());
    const text = (...path: string[]) => {
      const value = valueAt(o.summed, ...path);
      return typeof value === "string" ? value : null;
    };
    const reachable = valueAt(o.summed, "upstream", "reachable");
    return {
      version: o.version,
      deno: Deno.version.deno,
      startedAt: new Date(o.startedAt).toISOString(),
      now: new Date(now.time).toISOString(),
      isolates: o.isolates,
      residentBytes: o.residentBytes,
      upstream: {
        reachable: typeof reachable === "boolean" ? reachable : null,
        lastSuccess: text("upstream", "lastSuccess"),
        lastFailure: text("upstream", "lastFailure"),
        lastError: text("upstream", "lastError"),
        failures: numberAt(o.summed, "upstream", "failures"),
        outages: numberAt(o.summed, "upstream", "outages"),
      },
      requests: now.requests,
      requestsByKind,
      hitRate: now.requests > 0 ? Math.max(0, 1 - now.fetches / now.requests) : null,
      servedBytes: now.servedBytes,
      fetchedBytes: now.fetchedBytes,
      disk: {
        storeBytes: o.storedBytes,
        fileBytes: o.database.bytes,
        freeBytes: o.database.freeBytes,
        budgetBytes: o.budgetBytes,
      },
      modules: largest(objectAt(observe, "modules"), SHOWN_MODULES)
        .map(([module, requests]) => ({ module, requests })),
      errors: errors.map((error) => ({ ...error, time: new Date(error.time).toISOString() })),
      configuration: this.#options.configuration(),
      sampleSeconds: (this.#options.sampleMs ?? 10_000) / 1000,
      history: this.#history.columns(now),
    };
  }

  /** Every isolate's counters, summed, with the process-wide figures. */
  async #observe(): Promise<{ observation: Observation; errors: ErrorEntry[] }> {
    const all = await this.#options.collect();
    const database = await this.#options.databaseSize();
    const errors: ErrorEntry[] = [];
    for (const stats of all) {
      const kept = valueAt(stats, "observe", "errors");
      if (Array.isArray(kept)) errors.push(...kept as ErrorEntry[]);
    }
    return {
      observation: {
        summed: sumStats(all),
        isolates: all.length,
        residentBytes: Deno.memoryUsage().rss,
        database,
        storedBytes: this.#options.storedBytes?.() ?? database.bytes - database.freeBytes,
        budgetBytes: this.#options.budgetBytes ?? null,
        startedAt: this.startedAt,
        version: VERSION,
      },
      errors: newestFirst(errors, SHOWN_ERRORS),
    };
  }

  #totals(summed: IsolateStats, time: number): Sample {
    const requests = objectAt(summed, "observe", "requests");
    let total = 0;
    for (const kind of PROTOCOL_KINDS) {
      for (const n of Object.values(objectAt(requests, kind))) {
        if (typeof n === "number") total += n;
      }
    }
    return {
      time,
      requests: total,
      fetches: numberAt(summed, "proxy", "sourceFetches") -
        numberAt(summed, "proxy", "backgroundRefreshes"),
      servedBytes: numberAt(summed, "observe", "servedBytes"),
      fetchedBytes: numberAt(summed, "observe", "counters", "upstream", "receivedBytes"),
    };
  }

  async #sample(): Promise<void> {
    // A slow replica must not make samples pile up.
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const all = await this.#options.collect();
      this.#history.add(this.#totals(sumStats(all), this.#now()));
    } finally {
      this.#sampling = false;
    }
  }
}
