/**
 * The disk budget (`--max-bytes`): when the database's content passes the
 * budget, the least recently served zips are removed until it is back under
 * a low-water mark (90 %), in the background and in small transactions.
 * Only zips go: `.info`, `.mod`, lists, `@latest`, not-founds and
 * checksum-database answers are small, keep offline resolution working, and
 * count toward the budget all the same (a log line and a stats field say
 * when they alone take half of it).
 *
 * "Stored bytes" are the database's pages less its free pages: what its
 * content takes on disk, indexes included. SQLite reuses freed pages, so once
 * the budget is reached the file stops growing (it never shrinks by itself).
 *
 * A zip being streamed to a client is pinned (`pins.ts`): eviction passes it
 * over. The pins live in a `SharedArrayBuffer` that every isolate shares, so
 * a replica's streams are as safe as the primary's.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { counters } from "../observe/counters.ts";
import type { Store } from "../store/mod.ts";
import { pinServedZip, ZipPins } from "./pins.ts";
import type { Reply } from "./reply.ts";
import { type BatchedHit, ServedLog, type ServedLogStats } from "./recency.ts";
import { errorText } from "../util/errors.ts";

/** The smallest budget accepted: below it a single toolchain zip would not fit. */
export const MIN_BUDGET_BYTES = 16 * 1024 * 1024;
/** Eviction stops once the content is under this share of the budget. */
export const LOW_WATER = 0.9;
/** Small data (never evicted) taking more than this share of the budget is worth a warning. */
export const SMALL_DATA_WARNING = 0.5;

/**
 * What the evictor needs of the store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BudgetStore } from "./budget.ts";
 * import { MemoryStore } from "../store/mod.ts";
 * const store: BudgetStore = new MemoryStore();
 * assert((await store.usedBytes()) === 0);
 * ```
 */
export type BudgetStore = Pick<
  Store,
  | "recordServed"
  | "usedBytes"
  | "smallBytes"
  | "evictionCandidates"
  | "evictZip"
  | "deleteBlobChunks"
  | "leases"
>;

/**
 * Options of an {@linkcode Evictor}.
 *
 * @example
 * ```ts ignore
 * const options: EvictorOptions = { store, maxBytes: 1 << 30, pins: new ZipPins(), log };
 * ```
 */
export interface EvictorOptions {
  store: BudgetStore;
  /** The budget, in bytes of database content. */
  maxBytes: number;
  pins: ZipPins;
  log: Logger;
  /** Chunks deleted per transaction (16 × 256 KiB: a few milliseconds). */
  chunksPerStep?: number;
  /**
   * Only zips not served since this time (ms) may go: `deno task seed`
   * cannot see a running server's pins, so it leaves recently served zips.
   */
  servedBefore?: () => number;
  /** Lets other work run between two transactions. */
  pause?: () => Promise<void>;
  now?: () => number;
}

/**
 * The budget's figures, for `/_astera/stats` (`budget`).
 *
 * @example
 * ```ts ignore
 * const { storedBytes, maxBytes } = evictor.stats();
 * ```
 */
export interface BudgetStats {
  maxBytes: number;
  /** Database content (pages less free pages) when last measured. */
  storedBytes: number;
  /** Content of what is never evicted (everything but zips), when last measured. */
  smallBytes: number;
  evictions: number;
  evictedBytes: number;
  /** Zips passed over because a client was reading them. */
  pinnedSkips: number;
  /** The last pass could not get under the low-water mark (pins, small data, a seed's grace). */
  overBudget: boolean;
}

/** How often the small-data figure is measured at most (it reads every row's size) unless after an eviction. */
const SMALL_EVERY_MS = 10 * 60_000;

/**
 * Keeps the store within its budget.
 *
 * @example
 * ```ts
 * import { Evictor } from "./budget.ts";
 * import { pinServedZip, ZipPins } from "./pins.ts";
import type { Reply } from "./reply.ts";
 * import { MemoryStore } from "../store/mod.ts";
 * import { silentLogger } from "../log.ts";
 * const store = new MemoryStore();
 * const evictor = new Evictor({ store, maxBytes: 16 << 20, pins: new ZipPins(), log: silentLogger });
 * await evictor.check();
 * console.log(evictor.stats().evictions); // 0
 * store.close();
 * ```
 */
export class Evictor {
  #options: EvictorOptions;
  #now: () => number;
  #running: Promise<void> | undefined;
  #again = false;
  #evicting = false;
  #smallAt = -Infinity;
  #smallWarned = false;
  #stats: BudgetStats;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: EvictorOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#stats = {
      maxBytes: options.maxBytes,
      storedBytes: 0,
      smallBytes: 0,
      evictions: 0,
      evictedBytes: 0,
      pinnedSkips: 0,
      overBudget: false,
    };
  }

  /**
   * Measures, and evicts if over budget. A check asked for while one runs
   * runs once more after it; the promise resolves when that is done.
   */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pass();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** {@linkcode check} in the background, failures logged. */
  poke(): void {
    this.check().catch((error) =>
      this.#options.log.warn("evict-failed", { error: errorText(error) })
    );
  }

  /** Checks every `intervalMs` until {@linkcode stop} (an unref'd timer). */
  start(intervalMs: number): void {
    const timer = setInterval(() => this.poke(), intervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
    this.poke();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => {});
  }

  /** A snapshot of the figures. */
  stats(): BudgetStats {
    return { ...this.#stats };
  }

  /**
   * Whether the store is over its budget (when last measured) or being
   * brought back under it: prefetching waits meanwhile.
   */
  overBudget(): boolean {
    return this.#evicting || this.#stats.storedBytes > this.#options.maxBytes;
  }

  async #pass(): Promise<void> {
    const { store, maxBytes } = this.#options;
    let used = await store.usedBytes();
    this.#stats.storedBytes = used;
    if (used > maxBytes) {
      this.#evicting = true;
      try {
        used = await this.#evictDownTo(Math.floor(maxBytes * LOW_WATER), used);
      } finally {
        this.#evicting = false;
      }
      this.#stats.storedBytes = used;
      const over = used > maxBytes * LOW_WATER;
      if (over && !this.#stats.overBudget) {
        this.#options.log.warn("budget-unreachable", {
          storedBytes: used,
          maxBytes,
          reason: "what remains is small data, or zips being served",
        });
      }
      this.#stats.overBudget = over;
      this.#smallAt = -Infinity;
    }
    if (this.#now() - this.#smallAt >= SMALL_EVERY_MS) await this.#measureSmall();
  }

  /** Evicts the least recently served zips until `used` is at most `target`; returns `used`. */
  async #evictDownTo(target: number, used: number): Promise<number> {
    const { store, pins, log } = this.#options;
    const step = this.#options.chunksPerStep ?? 16;
    const pause = this.#options.pause ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
    // Pinned zips stay in the list; evicted ones leave it.
    let skip = 0;
    while (used > target) {
      const candidates = await store.evictionCandidates(16, skip, this.#options.servedBefore?.());
      if (candidates.length === 0) break;
      for (const meta of candidates) {
        if (used <= target) break;
        const blobId = meta.blobId!;
        if (!pins.tryLock(blobId)) {
          skip++;
          this.#stats.pinnedSkips++;
          continue;
        }
        let removed: boolean;
        try {
          removed = await store.evictZip(meta);
        } finally {
          pins.unlock(blobId);
        }
        if (!removed) continue;
        while (await store.deleteBlobChunks(blobId, step) > 0) await pause();
        this.#stats.evictions++;
        this.#stats.evictedBytes += meta.size;
        counters.evictions++;
        counters.evictedBytes += meta.size;
        log.info("evicted", { module: meta.module, version: meta.version, bytes: meta.size });
        used = await store.usedBytes();
      }
    }
    return used;
  }

  async #measureSmall(): Promise<void> {
    const { store, maxBytes, log } = this.#options;
    this.#smallAt = this.#now();
    const small = await store.smallBytes();
    this.#stats.smallBytes = small;
    const heavy = small > maxBytes * SMALL_DATA_WARNING;
    if (heavy && !this.#smallWarned) {
      log.warn("budget-small-data", {
        smallBytes: small,
        maxBytes,
        advice: ".info, .mod, lists and checksum data alone take over half of --max-bytes",
      });
    }
    this.#smallWarned = heavy;
  }
}

/**
 * What an isolate serving under a budget needs: the shared pins, and where hits go.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ServingBudget } from "./budget.ts";
 * import { pinServedZip, ZipPins } from "./pins.ts";
import type { Reply } from "./reply.ts";
 * const hits: string[] = [];
 * const budget: ServingBudget = { pins: new ZipPins(), served: (m, v) => void hits.push(`${m}@${v}`) };
 * budget.served("example.com/m", "v1.0.0");
 * assert(hits.length === 1);
 * ```
 */
export interface ServingBudget {
  pins: ZipPins;
  /** Notes a zip served (see `recency.ts`). */
  served(module: string, version: string): void;
  /** The budget's figures, where this isolate keeps them (the primary). */
  stats?(): BudgetStats & ServedLogStats;
}

/**
 * A zip reply (stored, or a download under way).
 *
 * @example
 * ```ts ignore
 * const reply: ZipReply = { type: "stored-zip", meta };
 * ```
 */
export type ZipReply = Extract<Reply, { type: "stored-zip" | "live-zip" }>;

/**
 * Pins the zip of `reply` for as long as it is sent and counts its hit: the
 * reply comes back with the pin's `release`. `storedBlob` reads which blob
 * the store has for the zip now. Undefined when the zip was evicted between
 * its lookup and the pin: it is then to be fetched again, as if never stored.
 *
 * @example
 * ```ts ignore
 * const held = await holdServedZip(budget, module, version, reply, () => storedBlobId());
 * if (held) return held; // held.release() once sent
 * ```
 */
export async function holdServedZip(
  budget: ServingBudget,
  module: string,
  version: string,
  reply: ZipReply,
  storedBlob: () => Promise<number | null | undefined>,
): Promise<ZipReply | undefined> {
  // A download under way has no committed blob, so nothing to check: it cannot be evicted.
  const live = reply.type === "live-zip" ? reply.download.progress() : undefined;
  const settled = !live || (live.done && live.failure === undefined);
  const release = await pinServedZip(
    budget.pins,
    reply.type === "live-zip" ? reply.download.blobId : reply.meta.blobId!,
    settled ? storedBlob : undefined,
  );
  if (!release) return undefined;
  budget.served(module, version);
  return { ...reply, release };
}

/**
 * The budget of a running server: pins, hits, and the evictor.
 *
 * @example
 * ```ts ignore
 * const budget: RunningBudget = startBudget({ store, maxBytes: 1 << 30, log });
 * ```
 */
export interface RunningBudget extends ServingBudget {
  evictor: Evictor;
  /** Adds a replica's batch of hits. */
  merge(hits: readonly BatchedHit[]): void;
  /** Whether the store is over the budget (prefetching waits meanwhile). */
  overBudget(): boolean;
  /** The figures for `/_astera/stats` (`budget`). */
  stats(): BudgetStats & ServedLogStats;
  /** Writes the hits gathered so far, then checks the budget (evicting if over it). */
  settle(): Promise<void>;
  /** Stops checking, after writing the hits gathered so far and a last check. */
  stop(): Promise<void>;
}

/**
 * Options of {@linkcode startBudget}.
 *
 * @example
 * ```ts ignore
 * const options: StartBudgetOptions = { store, maxBytes: 1 << 30, log, checkEveryMs: 5000 };
 * ```
 */
export interface StartBudgetOptions {
  store: BudgetStore;
  maxBytes: number;
  log: Logger;
  /** How often the budget is checked besides after each batch of hits (ms). */
  checkEveryMs?: number;
  /** How long hits are gathered before they are written (ms). */
  hitsEveryMs?: number;
}

/**
 * Starts keeping the store within `maxBytes`: hits are written in batches,
 * and after each batch (and every few seconds) the budget is checked.
 *
 * @example
 * ```ts
 * import { startBudget } from "./budget.ts";
 * import { MemoryStore } from "../store/mod.ts";
 * import { silentLogger } from "../log.ts";
 * const store = new MemoryStore();
 * const budget = startBudget({ store, maxBytes: 16 << 20, log: silentLogger });
 * budget.served("example.com/m", "v1.0.0");
 * await budget.stop();
 * console.log(budget.stats().servedHits); // 1
 * store.close();
 * ```
 */
export function startBudget(options: StartBudgetOptions): RunningBudget {
  const { store, maxBytes, log } = options;
  // A store with leases is shared by instances that evict without these pins.
  const pins = new ZipPins(undefined, { trustEpoch: !store.leases });
  const evictor = new Evictor({ store, maxBytes, pins, log });
  const hits = new ServedLog({
    flush: async (batch) => {
      await store.recordServed(batch);
      evictor.poke();
    },
    intervalMs: options.hitsEveryMs,
    onError: (error) => log.warn("served-hits-failed", { error: errorText(error) }),
  });
  evictor.start(options.checkEveryMs ?? 5000);
  return {
    pins,
    evictor,
    served: (module, version) => hits.served(module, version),
    merge: (batch) => hits.merge(batch),
    overBudget: () => evictor.overBudget(),
    stats: () => ({ ...evictor.stats(), ...hits.stats() }),
    async settle() {
      await hits.flush();
      await evictor.check();
    },
    async stop() {
      await hits.flush();
      await evictor.stop();
      // The last hits are written: one more pass leaves the store within its budget.
      await evictor.check();
    },
  };
}
