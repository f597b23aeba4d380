/**
 * The last few failed answers of an isolate, for the status page: what was
 * asked, the status, and the message the client got.
 *
 * @module
 */

/** One failed answer. */
export interface ErrorEntry {
  /** When, in milliseconds since the epoch. */
  time: number;
  status: number;
  /** The request target as sent (user input: the page shows it as text only). */
  path: string;
  /** What the client was told (upstream text included, credentials already redacted). */
  message: string;
}

/** Longest path and message kept: enough to read, not a way to fill memory. */
const MAX_PATH = 300;
const MAX_MESSAGE = 500;

/**
 * A ring of the last `capacity` errors.
 *
 * @example
 * ```ts
 * import { RecentErrors } from "./recent_errors.ts";
 * const errors = new RecentErrors(2);
 * errors.add({ time: 1, status: 502, path: "/a/@v/list", message: "upstream down" });
 * errors.add({ time: 2, status: 503, path: "/b/@v/list", message: "busy" });
 * errors.add({ time: 3, status: 500, path: "/c/@v/list", message: "bug" });
 * console.log(errors.list().map((e) => e.time)); // [3, 2]
 * ```
 */
export class RecentErrors {
  readonly capacity: number;
  #ring: ErrorEntry[] = [];
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Keeps `entry`, its texts cut to a readable length, forgetting the oldest when full. */
  add(entry: ErrorEntry): void {
    const kept = {
      time: entry.time,
      status: entry.status,
      path: entry.path.slice(0, MAX_PATH),
      message: entry.message.slice(0, MAX_MESSAGE),
    };
    if (this.#ring.length < this.capacity) this.#ring.push(kept);
    else this.#ring[this.#next] = kept;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** The errors kept, newest first (as added: two in the same millisecond keep their order). */
  list(): ErrorEntry[] {
    const newest: ErrorEntry[] = [];
    for (let k = 1; k <= this.#ring.length; k++) {
      newest.push(this.#ring[(this.#next - k + this.capacity) % this.capacity]);
    }
    return newest;
  }
}

/**
 * Errors of several isolates in one list, newest first, at most `n`.
 *
 * @example
 * ```ts
 * import { newestFirst } from "./recent_errors.ts";
 * const e = (time: number) => ({ time, status: 502, path: "/", message: "" });
 * console.log(newestFirst([e(1), e(3), e(2)], 2).map((x) => x.time)); // [3, 2]
 * ```
 */
export function newestFirst(errors: ErrorEntry[], n = Infinity): ErrorEntry[] {
  return [...errors].sort((a, b) => b.time - a.time).slice(0, n);
}
