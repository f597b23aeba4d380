/**
 * The status page's memory of the recent past: totals sampled at a fixed
 * interval into a ring of fixed size, so the charts show an hour (or a day)
 * of requests, hit rate and bytes without anything growing.
 *
 * @module
 */

/** Running totals at one moment; rates are differences between two samples. */
export interface Sample {
  /** Milliseconds since the epoch. */
  time: number;
  /** Requests of the module protocol (Astera's own pages not counted). */
  requests: number;
  /** Those that had to ask a source (background refreshes not counted). */
  fetches: number;
  /** Body bytes answered. */
  servedBytes: number;
  /** Body bytes received from the upstream. */
  fetchedBytes: number;
}

/** The samples as columns, oldest first (the shape a chart takes). */
export type Columns = { [K in keyof Sample]: number[] };

const FIELDS = ["time", "requests", "fetches", "servedBytes", "fetchedBytes"] as const;

/**
 * A ring of the last `capacity` samples.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const history = new History(2);
 * for (const time of [1, 2, 3]) {
 *   history.add({ time, requests: time * 10, fetches: 0, servedBytes: 0, fetchedBytes: 0 });
 * }
 * console.log(history.columns().time, history.columns().requests); // [2, 3] [20, 30]
 * ```
 */
export class History {
  readonly capacity: number;
  #columns: Float64Array[];
  #size = 0;
  #next = 0;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`History: capacity ${capacity} is below 1`);
    this.capacity = capacity;
    this.#columns = FIELDS.map(() => new Float64Array(capacity));
  }

  /** How many samples are held. */
  get size(): number {
    return this.#size;
  }

  /** Keeps `sample`, forgetting the oldest when full. */
  add(sample: Sample): void {
    FIELDS.forEach((field, i) => this.#columns[i][this.#next] = sample[field]);
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** The samples, oldest first, with `now` (the totals this moment) appended when given. */
  columns(now?: Sample): Columns {
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    const columns = {} as Columns;
    FIELDS.forEach((field, i) => {
      const column: number[] = [];
      for (let k = 0; k < this.#size; k++) {
        column.push(this.#columns[i][(start + k) % this.capacity]);
      }
      if (now) column.push(now[field]);
      columns[field] = column;
    });
    return columns;
  }
}
