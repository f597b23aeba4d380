/**
 * A map that never holds more than a fixed number of entries: when full, a
 * new key evicts the oldest one (insertion order). For caches of pure
 * results (parsed routes, resolved repositories) where a miss only costs
 * recomputation, and where a hostile client must not grow memory without end.
 *
 * @module
 */

/**
 * A `Map` bounded to `capacity` entries, evicting the oldest inserted key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BoundedMap } from "./bounded_map.ts";
 * const m = new BoundedMap<string, number>(2);
 * m.set("a", 1); m.set("b", 2); m.set("c", 3);
 * assert.equal(m.size, 2);
 * assert.ok(!m.has("a"));
 * assert.equal(m.get("c"), 3);
 * ```
 */
export class BoundedMap<K, V> {
  readonly capacity: number;
  #entries = new Map<K, V>();

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`BoundedMap: capacity ${capacity} is below 1`);
    this.capacity = capacity;
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, or undefined. */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Whether `key` is held. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores `value` under `key`, evicting the oldest entry when full. */
  set(key: K, value: V): this {
    if (!this.#entries.has(key) && this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    return this;
  }

  /** Removes `key`; true when it was held. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** The entries, oldest inserted first. */
  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries();
  }
}
