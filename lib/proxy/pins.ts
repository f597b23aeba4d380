/**
 * Pins for the disk budget (`budget.ts`): a zip being sent to a client, in
 * any isolate, is never evicted. The pins live in a `SharedArrayBuffer` that
 * every isolate shares; a response holds its zip's pin until its body has
 * been sent, has failed, or was cancelled.
 *
 * @module
 */
import { BoundedMap } from "../util/bounded_map.ts";
import type { HttpResponse } from "../http/types.ts";

const SLOTS = 4096;
/** A slot's value while an eviction removes a zip of that slot. */
const LOCKED = -1;

/**
 * How long a blob found stored is taken as stored while no eviction happens.
 * Well under the seed's 10-minute grace for zips served lately: the seed
 * evicts from another process, without this memory's epoch.
 */
const CONFIRMED_MS = 60_000;

/**
 * Counts of zips in use, by blob id, shared by every isolate. A slot holds
 * the pins of the blobs hashed to it (ids are sequential, so neighbours do
 * not collide), or {@linkcode LOCKED} while an eviction removes one of them.
 * A collision only makes eviction pass a zip over, never remove a pinned one.
 *
 * A reader pins, then checks that the zip is still stored; the evictor locks
 * (only an unpinned slot), removes, then unlocks. Either the reader's pin
 * comes first and the zip stays, or its check comes after the removal and
 * it fetches the zip again.
 *
 * @example
 * ```ts
 * import { ZipPins } from "./pins.ts";
 * const pins = new ZipPins();
 * const release = await pins.pin(7);
 * console.log(pins.tryLock(7)); // false
 * release();
 * console.log(pins.tryLock(7)); // true
 * pins.unlock(7);
 * ```
 */
export class ZipPins {
  /** The shared memory, to hand to replica isolates. */
  readonly buffer: SharedArrayBuffer;
  #slots: Int32Array;

  /** Evictions so far, in the same shared memory: bumped before a slot is unlocked. */
  #epoch: Int32Array;
  /** Blobs this isolate found still stored, with the epoch and time it did. */
  #confirmed = new BoundedMap<number, { epoch: number; at: number }>(SLOTS);

  /**
   * Whether every eviction of this store goes through these pins. Not so for
   * a store shared by several instances (PostgreSQL), whose other instances
   * evict without them: then every pin reads the store.
   */
  readonly trustEpoch: boolean;

  constructor(
    buffer: SharedArrayBuffer = new SharedArrayBuffer((SLOTS + 1) * 4),
    options: { trustEpoch?: boolean } = {},
  ) {
    this.buffer = buffer;
    this.trustEpoch = options.trustEpoch ?? true;
    this.#slots = new Int32Array(buffer, 0, SLOTS);
    this.#epoch = new Int32Array(buffer, SLOTS * 4, 1);
  }

  /** How many evictions any isolate has finished (wrapping is harmless: only equality is asked). */
  epoch(): number {
    return Atomics.load(this.#epoch, 0);
  }

  /**
   * Whether this isolate found blob `blobId` still stored at the current
   * epoch, within {@linkcode CONFIRMED_MS}: then no eviction has happened
   * since, in any isolate, and a pinned blob needs no store read to be sure.
   */
  confirmedNow(blobId: number, now: number): boolean {
    if (!this.trustEpoch) return false;
    const seen = this.#confirmed.get(blobId);
    return seen !== undefined && seen.epoch === this.epoch() && now - seen.at < CONFIRMED_MS &&
      now >= seen.at;
  }

  /** Records that blob `blobId` was found stored after `epoch` was read. */
  confirm(blobId: number, epoch: number, now: number): void {
    this.#confirmed.set(blobId, { epoch, at: now });
  }

  /**
   * Pins blob `blobId`; resolves with the function that releases the pin
   * (calling it again does nothing). Waits while an eviction holds its slot
   * (one short transaction).
   */
  async pin(blobId: number): Promise<() => void> {
    const slot = blobId % this.#slots.length;
    for (;;) {
      const value = Atomics.load(this.#slots, slot);
      if (value !== LOCKED) {
        if (Atomics.compareExchange(this.#slots, slot, value, value + 1) === value) break;
        continue;
      }
      // Atomics.waitAsync does not keep Deno's event loop alive: look again shortly.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      Atomics.sub(this.#slots, slot, 1);
    };
  }

  /** Whether blob `blobId` (or one sharing its slot) is pinned now. */
  pinned(blobId: number): boolean {
    return Atomics.load(this.#slots, blobId % this.#slots.length) > 0;
  }

  /** For the evictor: locks the slot of `blobId` if nothing in it is pinned. */
  tryLock(blobId: number): boolean {
    return Atomics.compareExchange(this.#slots, blobId % this.#slots.length, 0, LOCKED) === 0;
  }

  /** Unlocks what {@linkcode tryLock} locked. */
  unlock(blobId: number): void {
    // Before the slot opens: a reader that pins after it sees the new epoch and looks again.
    Atomics.add(this.#epoch, 0, 1);
    Atomics.store(this.#slots, blobId % this.#slots.length, 0);
  }
}

/**
 * Pins the blob of a zip about to be served. `storedBlob` reads which blob
 * the store has for the zip now; it is undefined for a download under way,
 * whose blob is not committed and so cannot be evicted. Resolves with the
 * release, or undefined when the zip was evicted between its lookup and the
 * pin: then it is to be fetched again, like a zip never stored.
 *
 * @example
 * ```ts
 * import { pinServedZip, ZipPins } from "./pins.ts";
 * const pins = new ZipPins();
 * const release = await pinServedZip(pins, 3, () => Promise.resolve(3));
 * console.log(pins.pinned(3)); // true
 * release?.();
 * // An eviction (any isolate's) makes the next pin read the store again.
 * if (pins.tryLock(3)) pins.unlock(3);
 * console.log(await pinServedZip(pins, 3, () => Promise.resolve(undefined))); // undefined
 * ```
 */
export async function pinServedZip(
  pins: ZipPins,
  blobId: number,
  storedBlob: (() => Promise<number | null | undefined>) | undefined,
): Promise<(() => void) | undefined> {
  const release = await pins.pin(blobId);
  if (!storedBlob || pins.confirmedNow(blobId, Date.now())) return release;
  // Read before the store: an eviction finishing meanwhile moves it on, so the next pin looks again.
  const epoch = pins.epoch();
  if (await storedBlob() !== blobId) {
    release();
    return undefined;
  }
  pins.confirm(blobId, epoch, Date.now());
  return release;
}

/** Releases what a response's body stream still holds once it is garbage (a body never read). */
const unreleased = new FinalizationRegistry<() => void>((release) => release());

/**
 * Keeps a pin until the response's body has been sent, has failed, or was
 * cancelled (the client went away); a response without a body stream
 * releases it at once.
 *
 * @example
 * ```ts
 * import { releaseWhenSent } from "./pins.ts";
 * let released = false;
 * const response = releaseWhenSent({ status: 304, headers: {} }, () => released = true);
 * console.log(response.status, released); // 304 true
 * ```
 */
export function releaseWhenSent(response: HttpResponse, release?: () => void): HttpResponse {
  if (!release) return response;
  const body = response.body;
  if (!(body instanceof ReadableStream)) {
    release();
    return response;
  }
  const reader = body.getReader();
  const token = {};
  const done = () => {
    unreleased.unregister(token);
    release();
  };
  const held = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: ended, value } = await reader.read();
        if (ended) {
          done();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
  unreleased.register(held, release, token);
  return { ...response, body: held };
}
