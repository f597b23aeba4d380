/**
 * The Prometheus text exposition format (version 0.0.4), written by hand.
 *
 * Why not `npm:prom-client`: its registry holds the counters and its
 * multi-process summing (`AggregatorRegistry`) is built on `node:cluster`
 * messages, while Astera's isolates already keep plain counters that
 * `/_astera/stats` sums over `MessagePort`s; using it would mean a second
 * set of counters, a label-set lookup (a string built per increment) on the
 * hot path, and a dependency larger than the few rules below: a `# HELP` and
 * a `# TYPE` line per family, escaped label values, `le` buckets that are
 * cumulative and end at `+Inf`, and `_sum`/`_count` beside them.
 *
 * @module
 */

/** The metric types Astera exposes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One line of a family: its labels, the name's suffix (`_bucket`, `_sum`, `_count`) and value. */
export interface Sample {
  labels?: Record<string, string>;
  /** Appended to the family's name: a histogram's `_bucket`, `_sum` or `_count`. */
  suffix?: string;
  value: number;
}

/** A metric family: one name, one HELP and TYPE, any number of samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** One labelled series of a histogram, with its buckets NOT cumulative (as counted). */
export interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket: `counts[i]` fell at or below `bounds[i]` and above `bounds[i-1]`; the last one past every bound. */
  counts: number[];
  sum: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Writes `families` in the text format. Throws on a name or label name the
 * format does not allow (a programming error, never user input).
 *
 * @example
 * ```ts
 * import { exposition } from "./exposition.ts";
 * console.log(exposition([{
 *   name: "astera_requests_total",
 *   help: "Requests answered.",
 *   type: "counter",
 *   samples: [{ labels: { kind: "zip", code: "2xx" }, value: 3 }],
 * }]));
 * // # HELP astera_requests_total Requests answered.
 * // # TYPE astera_requests_total counter
 * // astera_requests_total{kind="zip",code="2xx"} 3
 * ```
 */
export function exposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new TypeError(`bad metric name ${family.name}`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(
        `${family.name}${sample.suffix ?? ""}${labelText(sample.labels)} ${
          formatValue(sample.value)
        }`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The samples of a histogram family from counted buckets: each series' buckets
 * made cumulative, the `+Inf` bucket equal to `_count`.
 *
 * @example
 * ```ts
 * import { histogramSamples } from "./exposition.ts";
 * const samples = histogramSamples([0.1, 1], [{ labels: {}, counts: [2, 1, 1], sum: 4.2 }]);
 * console.log(samples.map((s) => `${s.suffix}${s.labels?.le ?? ""}=${s.value}`));
 * // ["_bucket0.1=2", "_bucket1=3", "_bucket+Inf=4", "_sum=4.2", "_count=4"]
 * ```
 */
export function histogramSamples(bounds: readonly number[], series: HistogramSeries[]): Sample[] {
  const samples: Sample[] = [];
  for (const { labels, counts, sum } of series) {
    let cumulative = 0;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += counts[i] ?? 0;
      const le = i < bounds.length ? formatValue(bounds[i]) : "+Inf";
      samples.push({ labels: { ...labels, le }, suffix: "_bucket", value: cumulative });
    }
    samples.push({ labels, suffix: "_sum", value: sum });
    samples.push({ labels, suffix: "_count", value: cumulative });
  }
  return samples;
}

/**
 * A number as the format writes it: `+Inf`, `-Inf`, `NaN`, else JavaScript's
 * shortest round-tripping form (which Go's `ParseFloat` reads).
 *
 * @example
 * ```ts
 * import { formatValue } from "./exposition.ts";
 * console.log(formatValue(0.25), formatValue(Infinity)); // 0.25 +Inf
 * ```
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(labels: Record<string, string> | undefined): string {
  if (!labels) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL.test(name)) throw new TypeError(`bad label name ${name}`);
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Label values may hold anything: a backslash, a double quote and a newline are escaped. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** HELP text escapes a backslash and a newline only. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}
