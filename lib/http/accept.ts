/**
 * The accept loop: takes new clients off the listening socket while the
 * server has room for them. An address that has its cap of connections
 * waiting takes the place of one of its own (or is refused), so it never
 * pushes other clients' connections out; a full server closes its
 * longest-idle connection for the newcomer, and when every connection has a
 * request in progress, the next clients wait in the kernel's accept queue.
 *
 * @module
 */
import type { Connection, ConnectionSlots } from "./slots.ts";
import { closeQuietly } from "./slots.ts";

/** After this many accept failures in a row the pause between tries stops growing. */
const ACCEPT_BACKOFF_MAX_MS = 1000;

/**
 * What the accept loop needs besides the listener and the slots.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AcceptOptions } from "./accept.ts";
 * const options: AcceptOptions = {
 *   firstByteTimeoutMs: 10_000,
 *   serve: (connection) => connection.conn.close(),
 *   onError: (event, error) => console.error(event, error),
 * };
 * assert(options.firstByteTimeoutMs === 10_000);
 * ```
 */
export interface AcceptOptions {
  /** A new connection that sends no byte for this long is closed. */
  firstByteTimeoutMs: number;
  /** Serves a connection that holds a slot; its promise is not awaited. */
  serve: (connection: Connection) => unknown;
  /** Told about accept errors. */
  onError: (event: string, error: unknown) => void;
  /** This loop's listener was replaced (a new certificate): the loop ends. */
  replaced?: () => boolean;
}

/**
 * Accepts connections until `slots.closing` (or its listener is replaced),
 * giving each a slot and handing it to `options.serve`.
 *
 * @example
 * ```ts ignore
 * import { acceptLoop } from "./accept.ts";
 * acceptLoop(listener, slots, { firstByteTimeoutMs: 10_000, serve, onError });
 * ```
 */
export async function acceptLoop(
  listener: Deno.Listener,
  slots: ConnectionSlots,
  options: AcceptOptions,
): Promise<void> {
  const clock = slots.clock;
  let pause = 10;
  const replaced = options.replaced ?? (() => false);
  while (!slots.closing && !replaced()) {
    // Full, and every connection has a request in progress: the next clients wait in the queue.
    if (
      slots.open.size >= slots.limits.maxConnections && !slots.waiting.longestIdle(clock.now)
    ) {
      await slots.slotOrIdle();
      continue;
    }
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
      pause = 10;
    } catch (error) {
      if (slots.closing || replaced()) return;
      // Out of file descriptors and the like: keep the server up and try again shortly.
      options.onError("accept-failed", error);
      await new Promise((resume) => setTimeout(resume, pause));
      pause = Math.min(ACCEPT_BACKOFF_MAX_MS, pause * 2);
      continue;
    }
    const address = (conn.remoteAddr as Deno.NetAddr).hostname;
    // Before making room: an address past its cap must not push other clients' connections out.
    if (!await admit(slots, address)) {
      closeQuietly(conn);
      continue;
    }
    await makeRoom(slots);
    if (slots.closing) {
      closeQuietly(conn);
      return;
    }
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // Already reset: the first read will say so.
    }
    options.serve(slots.add(conn, address, clock.now + options.firstByteTimeoutMs));
  }
}

/**
 * A new connection from an address that has its cap waiting takes the place of that address's
 * longest-idle one; when none of them may be closed (heads arriving, new ones in their grace),
 * it is closed at once: one address never holds more than its cap of slots waiting.
 */
async function admit(slots: ConnectionSlots, address: string): Promise<boolean> {
  const { waiting, limits: { maxWaiting } } = slots;
  if (!waiting.atCap(address, maxWaiting)) return true;
  // A burst is accepted faster than its requests are read: let those in the socket be read
  // first, for as long as reading them lowers the count.
  for (let before = waiting.count(address), after = -1; after < before; before = after) {
    await new Promise((resume) => setTimeout(resume, 0));
    after = waiting.count(address);
  }
  if (!waiting.atCap(address, maxWaiting)) return true;
  const own = waiting.closableOf(address, slots.clock.now);
  if (own === undefined) return false;
  slots.evict(own);
  return true;
}

/** A client was accepted while full: the longest-idle connection gives up its slot, or one is awaited. */
async function makeRoom(slots: ConnectionSlots): Promise<void> {
  while (slots.open.size >= slots.limits.maxConnections && !slots.closing) {
    const idlest = slots.waiting.longestIdle(slots.clock.now);
    if (idlest) slots.evict(idlest);
    else await slots.slotOrIdle();
  }
}
