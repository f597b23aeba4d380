/**
 * Prompt reclaiming of short-lived buffers. Zip chunks read from the store and
 * bodies received over the network are buffers outside V8's heap; V8 frees a
 * dead one only at a full collection, which its heuristics start after about
 * 64 MiB of such memory has piled up in an isolate. Forty clients pulling a
 * 100 MB zip make each serving isolate read it all, so that pile, once per
 * isolate, was most of the peak memory. Astera counts the bytes it lets go of
 * and asks for a full collection every `stepBytes`, when the runtime exposes
 * `gc` (the serve task passes `--v8-flags=--expose-gc`); without it nothing
 * changes but the peak.
 *
 * @module
 */

/** A collection request as V8's `--expose-gc` provides it. */
export type CollectGarbage = () => void;

/** Bytes let go of between two requested collections, by default. */
export const DEFAULT_RECLAIM_STEP = 8 * 1024 * 1024;

/**
 * Counts bytes of buffers about to become garbage and requests a full
 * collection every `stepBytes` of them.
 *
 * @example
 * ```ts
 * import { Reclaimer } from "./reclaim.ts";
 * let collections = 0;
 * const reclaimer = new Reclaimer(1024, () => collections++);
 * for (let i = 0; i < 10; i++) reclaimer.released(256);
 * console.log(collections); // 2
 * ```
 */
export class Reclaimer {
  /** Bytes between two collections; 0 requests none. */
  stepBytes: number;
  #collect: CollectGarbage | undefined;
  #pending = 0;
  /** Collections requested so far. */
  collections = 0;
  /** Milliseconds spent in them: the price of the lower peak. */
  spentMs = 0;

  constructor(stepBytes: number, collect: CollectGarbage | undefined) {
    this.stepBytes = stepBytes;
    this.#collect = collect;
  }

  /** Whether collections are requested at all. */
  get active(): boolean {
    return this.#collect !== undefined && this.stepBytes > 0;
  }

  /** `bytes` more of buffers that will soon be unreachable. */
  released(bytes: number): void {
    if (!this.#collect || this.stepBytes <= 0) return;
    this.#pending += bytes;
    if (this.#pending < this.stepBytes) return;
    this.#pending = 0;
    this.collections++;
    const started = performance.now();
    this.#collect();
    this.spentMs += performance.now() - started;
  }
}

/**
 * The isolate's reclaimer (each worker isolate loads its own copy of this
 * module, so each counts its own buffers). Active only when `gc` is exposed;
 * `--gc-step` sets its step.
 *
 * @example
 * ```ts
 * import { reclaimer } from "./reclaim.ts";
 * reclaimer.released(256 * 1024);
 * console.log(reclaimer.stepBytes > 0); // true
 * ```
 */
export const reclaimer: Reclaimer = new Reclaimer(
  DEFAULT_RECLAIM_STEP,
  (globalThis as { gc?: CollectGarbage }).gc,
);
