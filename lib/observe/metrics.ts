/**
 * `GET /metrics`: every isolate's counters, added up, as Prometheus metric
 * families. The names follow Prometheus' conventions: counters end in
 * `_total`, sizes in `_bytes`, durations in `_seconds`.
 *
 * @module
 */
import {
  exposition,
  histogramSamples,
  type HistogramSeries,
  type MetricFamily,
  type Sample,
} from "./exposition.ts";
import { DURATION_BUCKETS, ROUTE_KINDS, STATUS_CLASSES } from "./request_metrics.ts";
import { type IsolateStats, numberAt, objectAt, valueAt } from "./sum.ts";

/** Everything `/metrics` and the status page are made of, at one moment. */
export interface Observation {
  /** Every isolate's stats added up (see `sumStats`); non-numbers are the primary's. */
  summed: IsolateStats;
  isolates: number;
  /** The whole process's resident memory (every isolate lives in it). */
  residentBytes: number;
  database: { bytes: number; freeBytes: number };
  /** Bytes stored, as the budget counts them. */
  storedBytes: number;
  /** The store's budget (`--max-bytes`), or null for none. */
  budgetBytes: number | null;
  /** When the server started, in milliseconds since the epoch. */
  startedAt: number;
  version: string;
}

/**
 * The metrics text for an observation.
 *
 * @example
 * ```ts
 * import { metricsText } from "./metrics.ts";
 * const text = metricsText({ summed: {}, isolates: 1, residentBytes: 1 << 20,
 *   database: { bytes: 8192, freeBytes: 0 }, storedBytes: 8192, budgetBytes: null, startedAt: 0,
 *   version: "0.1.0" });
 * console.log(text.includes("astera_isolates 1")); // true
 * ```
 */
export function metricsText(observation: Observation): string {
  return exposition(metricFamilies(observation));
}

/**
 * The metric families of an observation, in the order `/metrics` lists them.
 *
 * @example
 * ```ts
 * import { metricFamilies } from "./metrics.ts";
 * const families = metricFamilies({ summed: {}, isolates: 2, residentBytes: 0,
 *   database: { bytes: 0, freeBytes: 0 }, storedBytes: 0, budgetBytes: null, startedAt: 0,
 *   version: "0.1.0" });
 * console.log(families.some((f) => f.name === "astera_requests_total")); // true
 * ```
 */
export function metricFamilies(o: Observation): MetricFamily[] {
  return [
    ...processFamilies(o),
    ...requestFamilies(objectAt(o.summed, "observe")),
    ...cacheFamilies(o.summed),
    ...upstreamFamilies(o.summed),
    ...prefetchFamilies(o.summed),
    ...storeFamilies(o),
  ];
}

function processFamilies(o: Observation): MetricFamily[] {
  return [
    gauge("astera_info", "Astera's version (the value is always 1).", [
      { labels: { version: o.version, deno: Deno.version.deno }, value: 1 },
    ]),
    gauge(
      "process_start_time_seconds",
      "When the server started, in seconds since the epoch.",
      one(Math.floor(o.startedAt / 1000)),
    ),
    gauge(
      "process_resident_memory_bytes",
      "Resident memory of the process (all isolates).",
      one(o.residentBytes),
    ),
    gauge(
      "astera_isolates",
      "Isolates serving the port (the primary and its replicas).",
      one(o.isolates),
    ),
  ];
}

function requestFamilies(observe: IsolateStats): MetricFamily[] {
  return [
    requestFamily(objectAt(observe, "requests")),
    durationFamily(objectAt(observe, "seconds")),
    ...fieldFamilies(observe, [
      [
        "astera_served_bytes_total",
        "counter",
        "Body bytes of module-protocol answers (a stream's as declared).",
        ["servedBytes"],
      ],
    ]),
  ];
}

function cacheFamilies(s: IsolateStats): MetricFamily[] {
  const byCache = (field: string) =>
    ["items", "chunks"].map((cache) => ({
      labels: { cache },
      value: numberAt(s, "cache", cache, field),
    }));
  return [
    counter(
      "astera_cache_hits_total",
      "Memory-cache lookups that found the value.",
      byCache("hits"),
    ),
    counter(
      "astera_cache_misses_total",
      "Memory-cache lookups that went to the store.",
      byCache("misses"),
    ),
    counter(
      "astera_cache_coalesced_loads_total",
      "Memory-cache loads that joined one already under way for the same key.",
      byCache("coalesced"),
    ),
    ...fieldFamilies(s, [
      [
        "astera_fetches_coalesced_total",
        "counter",
        "Requests that joined a source fetch already under way instead of asking again.",
        ["proxy", "fetchCoalesced"],
      ],
      [
        "astera_source_fetches_total",
        "counter",
        "Answers asked of a source (the upstream or git), background refreshes included.",
        ["proxy", "sourceFetches"],
      ],
      [
        "astera_background_refreshes_total",
        "counter",
        "Stale answers served at once and refreshed behind.",
        ["proxy", "backgroundRefreshes"],
      ],
      [
        "astera_offline_answers_total",
        "counter",
        "Answers made up from what is stored while the source failed.",
        ["proxy", "offlineAnswers"],
      ],
    ]),
  ];
}

function upstreamFamilies(s: IsolateStats): MetricFamily[] {
  const counters = objectAt(s, "observe", "counters");
  const outcome = (label: string, field: string) => ({
    labels: { outcome: label },
    value: numberAt(counters, "upstream", field),
  });
  const reachable = valueAt(s, "upstream", "reachable");
  return [
    counter("astera_upstream_requests_total", "HTTP requests to the upstream, by outcome.", [
      outcome("ok", "ok"),
      outcome("not_found", "notFound"),
      outcome("refused", "refused"),
      outcome("server_error", "serverError"),
      outcome("unreachable", "unreachable"),
    ]),
    counter(
      "astera_upstream_received_bytes_total",
      "Body bytes received from the upstream.",
      one(numberAt(counters, "upstream", "receivedBytes")),
    ),
    counter(
      "astera_upstream_outages_total",
      "Times the upstream went from answering to failing.",
      one(numberAt(s, "upstream", "outages")),
    ),
    gauge(
      "astera_upstream_up",
      "1 when the upstream's last outcome was an answer, else 0; absent before it was asked.",
      typeof reachable === "boolean" ? one(reachable ? 1 : 0) : [],
    ),
    counter(
      "astera_zip_downloads_total",
      "Zip downloads from a source started.",
      one(numberAt(s, "proxy", "liveDownloads")),
    ),
    gauge(
      "astera_zip_downloads_in_progress",
      "Zips being downloaded from a source now.",
      one(numberAt(counters, "zipsDownloading")),
    ),
    counter("astera_git_fetches_total", "git fetches of private mirrors, by outcome.", [
      { labels: { outcome: "ok" }, value: numberAt(counters, "git", "fetchesOk") },
      { labels: { outcome: "failed" }, value: numberAt(counters, "git", "fetchesFailed") },
    ]),
  ];
}

/** Prefetching's families, from `/_astera/stats` → `prefetch`. */
const PREFETCH_FAMILIES: FieldRow[] = [
  ["astera_prefetches_total", "counter", "Artifacts a prefetch fetched from a source and stored.", [
    "prefetches",
  ]],
  ["astera_prefetched_bytes_total", "counter", "Bytes of the artifacts prefetches stored.", [
    "prefetchedBytes",
  ]],
  [
    "astera_prefetch_hits_total",
    "counter",
    "Prefetched artifacts a client then asked for (each once).",
    [
      "hits",
    ],
  ],
  [
    "astera_prefetch_waste_total",
    "counter",
    "Prefetched artifacts no client asked for within an hour.",
    [
      "waste",
    ],
  ],
  [
    "astera_prefetch_wasted_bytes_total",
    "counter",
    "Bytes of the prefetched artifacts no client asked for within an hour.",
    ["wastedBytes"],
  ],
  [
    "astera_prefetch_unasked",
    "gauge",
    "Prefetched artifacts no client has asked for yet (less than an hour old).",
    ["unasked"],
  ],
  ["astera_prefetch_queued", "gauge", "Prefetches waiting to start.", ["queued"]],
  ["astera_prefetch_running", "gauge", "Prefetches under way.", ["running"]],
  [
    "astera_prefetch_dropped_total",
    "counter",
    "Queued prefetches dropped because the upstream was failing.",
    ["dropped"],
  ],
  [
    "astera_prefetch_superseded_total",
    "counter",
    "Queued prefetches not fetched: the walk named a higher version of the module meanwhile.",
    ["superseded"],
  ],
  ["astera_prefetch_failures_total", "counter", "Prefetches that failed (nothing stored).", [
    "failures",
  ]],
];

/** Prefetching's counters; none with `--prefetch off` (the stats have no `prefetch` then). */
function prefetchFamilies(s: IsolateStats): MetricFamily[] {
  if (!Object.hasOwn(s, "prefetch")) return [];
  return fieldFamilies(objectAt(s, "prefetch"), PREFETCH_FAMILIES);
}

function storeFamilies(o: Observation): MetricFamily[] {
  const s = o.summed;
  const counters = objectAt(s, "observe", "counters");
  return [
    ...fieldFamilies(s, [
      ["astera_store_reads_total", "counter", "Reads from the database.", ["store", "reads"]],
      [
        "astera_store_writes_total",
        "counter",
        "Write transactions committed to the database.",
        ["store", "writes"],
      ],
      [
        "astera_store_busy_retries_total",
        "counter",
        "Writes retried because the database was locked.",
        ["store", "busyRetries"],
      ],
    ]),
    ...fieldFamilies(counters, [
      ["astera_evictions_total", "counter", "Zips removed to stay within the store's budget.", [
        "evictions",
      ]],
      ["astera_evicted_bytes_total", "counter", "Bytes of the zips removed for the budget.", [
        "evictedBytes",
      ]],
    ]),
    gauge(
      "astera_store_bytes",
      "Bytes stored, as the budget counts them (without a budget: the database's pages in use).",
      one(o.storedBytes),
    ),
    gauge("astera_database_file_bytes", "Size of the database file.", one(o.database.bytes)),
    gauge(
      "astera_store_budget_bytes",
      "The store's budget (--max-bytes); absent without one.",
      o.budgetBytes === null ? [] : one(o.budgetBytes),
    ),
    counter(
      "astera_gc_collections_total",
      "Garbage collections asked for to return zip buffers.",
      one(numberAt(s, "reclaim", "collections")),
    ),
  ];
}

function requestFamily(requests: IsolateStats): MetricFamily {
  const samples: Sample[] = [];
  for (const kind of ROUTE_KINDS) {
    const classes = objectAt(requests, kind);
    for (const code of STATUS_CLASSES) {
      const value = numberAt(classes, code);
      if (value > 0) samples.push({ labels: { kind, code }, value });
    }
  }
  return counter(
    "astera_requests_total",
    "Requests answered, by route kind and status class (a forward between isolates counted once).",
    samples,
  );
}

function durationFamily(seconds: IsolateStats): MetricFamily {
  const series: HistogramSeries[] = [];
  for (const kind of ROUTE_KINDS) {
    if (!Object.hasOwn(seconds, kind)) continue;
    const histogram = objectAt(seconds, kind);
    const counts: number[] = [];
    for (let slot = 0; slot <= DURATION_BUCKETS.length; slot++) {
      counts.push(numberAt(histogram, "buckets", String(slot)));
    }
    series.push({ labels: { kind }, counts, sum: numberAt(histogram, "sum") });
  }
  return {
    name: "astera_request_duration_seconds",
    help:
      "Time from a request's arrival until its answer's head is ready (a zip streams after); answers from memory given at once are in the first bucket, unmeasured.",
    type: "histogram",
    samples: histogramSamples(DURATION_BUCKETS, series),
  };
}

/** A family of one unlabelled sample: its name, type, help, and where its number is in the stats. */
type FieldRow = [name: string, type: "counter" | "gauge", help: string, path: string[]];

/** The families of `rows`, each the number at its path in `stats` (0 where there is none). */
function fieldFamilies(stats: IsolateStats, rows: readonly FieldRow[]): MetricFamily[] {
  return rows.map(([name, type, help, path]) => ({
    name,
    help,
    type,
    samples: one(numberAt(stats, ...path)),
  }));
}

/** One unlabelled sample. */
function one(value: number): Sample[] {
  return [{ value }];
}

function counter(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: "counter", samples };
}

function gauge(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: "gauge", samples };
}
