/**
 * Watching a running Astera: `GET /metrics` (Prometheus text format), the
 * status page at `/` with `/_astera/status.json` behind it, and the counters
 * both are made of. Each isolate counts for itself ({@linkcode RequestMetrics}
 * in its handler, {@linkcode counters} for code deeper down); the primary's
 * {@linkcode Observer} adds every isolate's up when asked and samples them
 * for the charts.
 *
 * @example
 * ```ts ignore
 * import { countingFetch, Observer } from "./mod.ts";
 * const observer = new Observer({ collect, databaseSize, configuration });
 * observer.start();
 * ```
 *
 * @module
 */
export { configurationOf } from "./configuration.ts";
export { counters, countersSnapshot, countingFetch } from "./counters.ts";
export type { Counters } from "./counters.ts";
export { exposition, formatValue, histogramSamples } from "./exposition.ts";
export type { HistogramSeries, MetricFamily, MetricType, Sample } from "./exposition.ts";
export { metricFamilies, metricsText } from "./metrics.ts";
export type { Observation } from "./metrics.ts";
export { Observer } from "./observer.ts";
export type { ObserverOptions, StatusModel } from "./observer.ts";
export { assetResponse, statusPageResponse } from "./page.ts";
export {
  DURATION_BUCKETS,
  kindIndex,
  RequestMetrics,
  ROUTE_KINDS,
  STATUS_CLASSES,
} from "./request_metrics.ts";
export type { RequestSnapshot, RouteKind, RouteLike } from "./request_metrics.ts";
export type { ErrorEntry } from "./recent_errors.ts";
export { numberAt, objectAt, sumStats, valueAt } from "./sum.ts";
export type { IsolateStats } from "./sum.ts";
export { VERSION } from "./version.ts";
