/**
 * What clients asked of a replica isolate, told to the primary: prefetching
 * runs in the primary only, yet with `--workers 2` half the go command's
 * requests land on a replica, which answers what is stored (a prefetched
 * artifact, most of all) without the primary hearing of it. Without these
 * reports the primary would count those prefetch hits as waste, and its
 * policy would miss part of the walk.
 *
 * A report is a few strings per artifact: asks are sent in batches (a
 * version check at once, with what is pending), and a repeat of an ask
 * answered from memory (the hot path) is sent at most once per
 * {@linkcode REASK_MS}, as the primary's own policy hears it.
 *
 * @module
 */

/**
 * How long a client's repeated ask for an artifact answered from memory is
 * not told to the policy again. The policy's walk lasts ten minutes; a
 * minute keeps its clock of the walk close while the hot path stays cheap.
 *
 * @example
 * ```ts
 * import { REASK_MS } from "./ask_report.ts";
 * console.log(REASK_MS / 1000); // 60
 * ```
 */
export const REASK_MS = 60_000;

/**
 * One client ask: the artifact's kind, module and canonical version; or
 * `list` (with version `""`) for a module's `list` or `@latest`, a check of
 * its versions rather than a step of the walk.
 *
 * @example
 * ```ts
 * import type { Ask } from "./ask_report.ts";
 * const ask: Ask = ["zip", "golang.org/x/text", "v0.14.0"];
 * ```
 */
export type Ask = [kind: "mod" | "info" | "zip" | "list", module: string, version: string];

/**
 * Which asks answered from memory repeat one made within {@linkcode REASK_MS},
 * by the memory cache's entry: a clock read and a WeakMap lookup per ask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RepeatedAsks } from "./ask_report.ts";
 * let now = 0;
 * const repeats = new RepeatedAsks(() => now);
 * const entry = {};
 * assert.equal(repeats.isRepeat(entry), false);
 * assert.equal(repeats.isRepeat(entry), true);
 * now = 60_000;
 * assert.equal(repeats.isRepeat(entry), false);
 * ```
 */
export class RepeatedAsks {
  #now: () => number;
  #askedAt = new WeakMap<object, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Whether `entry` was asked within the last minute; if not, notes it as asked now. */
  isRepeat(entry: object): boolean {
    const now = this.#now();
    const at = this.#askedAt.get(entry);
    if (at !== undefined && now - at < REASK_MS && now >= at) return true;
    this.#askedAt.set(entry, now);
    return false;
  }
}

/**
 * Options of an {@linkcode AskReport}.
 *
 * @example
 * ```ts
 * import type { AskReportOptions } from "./ask_report.ts";
 * const options: AskReportOptions = { send: (asks) => console.log(asks.length), now: Date.now };
 * ```
 */
export interface AskReportOptions {
  /** Sends a batch to the primary. */
  send: (asks: Ask[]) => void;
  now: () => number;
  /** How long the first ask of a batch waits for others (ms); 10 by default. */
  delayMs?: number;
  /** A batch this long is sent at once; 256 by default. */
  maxBatch?: number;
}

/**
 * A replica's asks, batched for the primary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Ask, AskReport } from "./ask_report.ts";
 * const sent: Ask[][] = [];
 * const report = new AskReport({ send: (asks) => void sent.push(asks), now: () => 0 });
 * report.asked("info", "example.com/m", "v1.0.0");
 * report.flush();
 * assert.deepEqual(sent, [[["info", "example.com/m", "v1.0.0"]]]);
 * ```
 */
export class AskReport {
  #options: AskReportOptions;
  #repeats: RepeatedAsks;
  #pending: Ask[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: AskReportOptions) {
    this.#options = options;
    this.#repeats = new RepeatedAsks(options.now);
  }

  /**
   * A client asked an artifact this isolate answered itself; `cached` is the
   * memory cache's entry when memory answered (a repeat within a minute is
   * not sent again).
   */
  asked(kind: Ask[0], module: string, version: string, cached?: object): void {
    if (cached && this.#repeats.isRepeat(cached)) return;
    this.#pending.push([kind, module, version]);
    // A version check goes at once: the go.mod its client asks next may reach the primary
    // (forwarded, or on another connection) within a batch's delay, and must meet it there.
    if (kind === "list" || this.#pending.length >= (this.#options.maxBatch ?? 256)) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#options.delayMs ?? 10);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Sends what is pending now (at shutdown, or when a batch is full). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const asks = this.#pending;
    this.#pending = [];
    this.#options.send(asks);
  }
}
