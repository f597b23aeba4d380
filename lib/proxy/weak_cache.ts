/**
 * An in-memory cache of immutable values (byte buffers, or objects holding
 * them) that is cheap to keep: entries
 * are held strongly for a TTL within a byte budget, then only weakly, so V8 may
 * reclaim them whenever it needs the memory. Loads go through single-flight,
 * so a miss under load causes one load, not one per caller.
 *
 * Values are shared between callers and must never be mutated or transferred:
 * hand them to `new Response(bytes)` or enqueue them into a default (not a
 * `type: "bytes"`) ReadableStream, both of which leave the buffer intact.
 *
 * @module
 */
import { SingleFlight } from "./single_flight.ts";

/** Options of a {@linkcode WeakCache}. */
export interface WeakCacheOptions {
  /** Bytes held strongly at most; the least recently used strong entries go weak first. */
  maxStrongBytes: number;
  /** How long an entry stays strongly held after it was last used. */
  strongTtlMs: number;
  /** The clock in ms, for tests; by default a monotonic one. */
  now?: () => number;
}

/** How many bytes a value holds, for the budget. */
export type SizeOf<V> = (value: V) => number;

/** Counters of a {@linkcode WeakCache}. */
export interface WeakCacheStats {
  hits: number;
  /** Hits on an entry no longer strongly held that V8 had not reclaimed yet. */
  weakHits: number;
  misses: number;
  /** Loads joined by a caller while already under way. */
  coalesced: number;
  strongEntries: number;
  strongBytes: number;
  weakEntries: number;
}

interface StrongEntry<V> {
  value: V;
  bytes: number;
  expires: number;
}

/**
 * A cache of immutable values, strongly held for a TTL within a byte budget,
 * weakly held after. Without `sizeOf`, values are measured by `byteLength`.
 *
 * @example
 * ```ts
 * import { WeakCache } from "./weak_cache.ts";
 * const cache = new WeakCache({ maxStrongBytes: 1 << 20, strongTtlMs: 30_000 });
 * const bytes = await cache.load("mod:example.com/m@v1.0.0", () =>
 *   Promise.resolve(new TextEncoder().encode("module example.com/m\n")));
 * console.log(bytes?.byteLength, cache.stats().misses); // 21 1
 * ```
 */
export class WeakCache<V extends object = Uint8Array> {
  #strong = new Map<string, StrongEntry<V>>();
  #strongBytes = 0;
  #weak = new Map<string, WeakRef<V>>();
  #registry = new FinalizationRegistry<{ key: string; ref: WeakRef<V> }>(
    ({ key, ref }) => {
      if (this.#weak.get(key) === ref) this.#weak.delete(key);
    },
  );
  #flight = new SingleFlight<V | undefined>();
  #sizeOf: SizeOf<V>;
  #hits = 0;
  #weakHits = 0;
  #misses = 0;
  #options: Required<WeakCacheOptions>;

  constructor(options: WeakCacheOptions, sizeOf?: SizeOf<V>) {
    // Monotonic: a wall clock stepped by NTP must not expire or pin everything at once.
    this.#options = { now: () => performance.now(), ...options };
    this.#sizeOf = sizeOf ?? ((value) => (value as { byteLength?: number }).byteLength ?? 0);
  }

  /** The cached value, refreshing its strong hold, or undefined. Counts a hit or a miss. */
  get(key: string): V | undefined {
    const value = this.#peek(key);
    if (value) this.#hits++;
    else this.#misses++;
    return value;
  }

  /**
   * The cached value, or undefined without counting a miss: for a fast path
   * that falls back to {@linkcode WeakCache.load}, which counts it.
   */
  peek(key: string): V | undefined {
    const value = this.#peek(key);
    if (value) this.#hits++;
    return value;
  }

  /**
   * The cached value, else the loader's result (cached unless undefined).
   * Concurrent loads of one key share one loader call.
   */
  async load(
    key: string,
    loader: () => Promise<V | undefined>,
  ): Promise<V | undefined> {
    const cached = this.get(key);
    if (cached) return cached;
    return await this.#flight.do(key, async () => {
      const value = await loader();
      if (value) this.set(key, value);
      return value;
    });
  }

  /** Caches `value` under `key`, strongly for the TTL if the budget allows. */
  set(key: string, value: V): void {
    this.#dropStrong(key);
    const ref = new WeakRef(value);
    this.#weak.set(key, ref);
    this.#registry.register(value, { key, ref });
    this.#holdStrongly(key, value);
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#dropStrong(key);
    this.#weak.delete(key);
  }

  /** A snapshot of the counters. */
  stats(): WeakCacheStats {
    this.#expire();
    return {
      hits: this.#hits,
      weakHits: this.#weakHits,
      misses: this.#misses,
      coalesced: this.#flight.stats().coalesced,
      strongEntries: this.#strong.size,
      strongBytes: this.#strongBytes,
      weakEntries: this.#weak.size,
    };
  }

  #peek(key: string): V | undefined {
    const now = this.#options.now();
    this.#expire(now);
    const strong = this.#strong.get(key);
    if (strong) {
      // Re-inserting keeps the map in least-recently-used order; for a key used thousands of
      // times a second, order to within a sixteenth of the TTL (at most a second) is enough.
      const expires = now + this.#options.strongTtlMs;
      if (expires - strong.expires >= Math.min(1000, this.#options.strongTtlMs / 16)) {
        this.#strong.delete(key);
        strong.expires = expires;
        this.#strong.set(key, strong);
      }
      return strong.value;
    }
    const value = this.#weak.get(key)?.deref();
    if (value) {
      this.#weakHits++;
      this.#holdStrongly(key, value);
    }
    return value;
  }

  #holdStrongly(key: string, value: V): void {
    const { maxStrongBytes, strongTtlMs, now } = this.#options;
    const bytes = this.#sizeOf(value);
    if (bytes > maxStrongBytes) return;
    this.#strong.set(key, { value, bytes, expires: now() + strongTtlMs });
    this.#strongBytes += bytes;
    for (const [oldest] of this.#strong) {
      if (this.#strongBytes <= maxStrongBytes) break;
      this.#dropStrong(oldest);
    }
  }

  #dropStrong(key: string): void {
    const entry = this.#strong.get(key);
    if (!entry) return;
    this.#strong.delete(key);
    this.#strongBytes -= entry.bytes;
  }

  /** Entries are in last-use order and share one TTL, so the expired ones lead. */
  #expire(now = this.#options.now()): void {
    for (const [key, entry] of this.#strong) {
      if (entry.expires > now) break;
      this.#dropStrong(key);
    }
  }
}
