/**
 * Whether the upstream answers, said once per change instead of once per
 * request. With the link down, one `go list -m -u all` makes hundreds of
 * requests that all fail the same way; a person reading the log offline needs
 * one line saying the upstream is unreachable and why, and one when it is back
 * (how long it was gone, how many requests it failed), not a line per request.
 * The rest is counted for `/_astera/stats`.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** What `/_astera/stats` shows of the upstream (`upstream`). */
export interface UpstreamWatchStats {
  /** `null` until the upstream has been asked anything. */
  reachable: boolean | null;
  /** Requests the upstream failed (no answer, or an error status), since start. */
  failures: number;
  /** Times the upstream went from answering to failing, since start. */
  outages: number;
  lastSuccess: string | null;
  lastFailure: string | null;
  /** Why the last failure failed (credentials never appear: upstream errors are redacted). */
  lastError: string | null;
}

/**
 * Follows the upstream's outcomes and logs `upstream-unreachable` when it
 * starts failing and `upstream-back` when it answers again (both warnings, so
 * `--quiet` keeps the pair together).
 *
 * @example
 * ```ts
 * import { UpstreamWatch } from "./upstream_watch.ts";
 * const lines: string[] = [];
 * const log = { info() {}, warn: (event: string) => lines.push(event), error() {} };
 * const watch = new UpstreamWatch(log);
 * watch.failed("list example.com/m", "connection refused");
 * watch.failed("info example.com/m@v1.0.0", "connection refused");
 * watch.answered();
 * console.log(lines); // ["upstream-unreachable", "upstream-back"]
 * ```
 */
export class UpstreamWatch {
  #log: Logger;
  #now: () => number;
  #down = false;
  #downSince = 0;
  #failedThisOutage = 0;
  #stats: UpstreamWatchStats = {
    reachable: null,
    failures: 0,
    outages: 0,
    lastSuccess: null,
    lastFailure: null,
    lastError: null,
  };

  constructor(log: Logger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
  }

  /** Whether the upstream's last outcome was a failure. */
  get down(): boolean {
    return this.#down;
  }

  /** The upstream answered (found, not found or refused: it is there). */
  answered(): void {
    const now = this.#now();
    this.#stats.reachable = true;
    this.#stats.lastSuccess = new Date(now).toISOString();
    if (!this.#down) return;
    this.#down = false;
    this.#log.warn("upstream-back", {
      downSeconds: Math.max(0, Math.round((now - this.#downSince) / 1000)),
      failedRequests: this.#failedThisOutage,
    });
  }

  /**
   * The upstream failed `request`. Returns whether this failure was logged
   * (the first of an outage); later ones are only counted.
   */
  failed(request: string, error: string): boolean {
    const now = this.#now();
    this.#stats.failures++;
    this.#stats.reachable = false;
    this.#stats.lastFailure = new Date(now).toISOString();
    this.#stats.lastError = error;
    this.#failedThisOutage++;
    if (this.#down) return false;
    this.#down = true;
    this.#downSince = now;
    this.#failedThisOutage = 1;
    this.#stats.outages++;
    this.#log.warn("upstream-unreachable", { request, error });
    return true;
  }

  /** Counters and the last outcome, for `/_astera/stats`. */
  stats(): UpstreamWatchStats {
    return { ...this.#stats };
  }
}
