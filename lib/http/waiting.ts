/**
 * Which of a server's connections wait for a request, by client address:
 * idle ones (no byte of a request yet: just accepted, or kept alive between
 * requests), longest idle first, and those with part of a request head in.
 * The HTTP server closes the longest-idle ones when its slots run out, and
 * caps how many one address may keep waiting, so that a peer hoarding
 * connections that never send a byte, or send one, cannot lock other clients
 * out.
 *
 * Connections whose request is being answered are not tracked: they are never
 * closed for room, and never count against their address. Neither is a
 * connection with part of a head in ever closed for room. A new connection
 * becomes closable only after a grace period: its request may be in the
 * socket, unread yet, and an HTTP client does not retry a request a fresh
 * connection lost, while one kept alive and closed when idle is retried.
 * Since heads and new connections in their grace cannot be closed, an address
 * that has its cap of them waiting gets no more ({@linkcode WaitingConnections.atCap}):
 * otherwise a peer sending one byte on each connection would take every slot.
 *
 * @module
 */

/** Where a connection is: `idle` and `head` wait for a request; `busy` is answering one. */
export type WaitState = "idle" | "head" | "busy" | "closed";

/** What the tracker needs of a connection. */
export interface Waiter {
  /** The client's address (no port). */
  readonly address: string;
  state: WaitState;
  /** When it last became idle (the tracker sets it). */
  idleSince: number;
  /** It has carried a response: a client retries a request it loses when closed idle. */
  answered: boolean;
}

interface Idle<T> {
  /** Never answered, in the order they became idle. */
  fresh: Set<T>;
  /** Kept alive after a response, in the order they became idle. */
  reused: Set<T>;
}

interface Peer<T> extends Idle<T> {
  /** Connections with part of a request head in. */
  heads: number;
}

/**
 * Tracks waiting connections; every state change goes through {@linkcode set}.
 *
 * @example
 * ```ts
 * import { type Waiter, WaitingConnections } from "./waiting.ts";
 * const waiting = new WaitingConnections<Waiter>(1000);
 * const a: Waiter = { address: "10.0.0.5", state: "busy", idleSince: 0, answered: true };
 * const b: Waiter = { address: "10.0.0.5", state: "busy", idleSince: 0, answered: true };
 * waiting.set(a, "idle", 5);
 * waiting.set(b, "idle", 6);
 * console.log(waiting.longestIdle(7) === a, waiting.overCap("10.0.0.5", 1, 7) === a); // true true
 * ```
 */
export class WaitingConnections<T extends Waiter> {
  #all: Idle<T> = { fresh: new Set(), reused: new Set() };
  #peers = new Map<string, Peer<T>>();

  /** `graceMs`: how long a new connection that sent nothing yet is spared. */
  constructor(readonly graceMs: number) {}

  /** Moves `connection` to `state` at time `now`; an idle one becomes the newest idle. */
  set(connection: T, state: WaitState, now: number): void {
    const before = connection.state;
    if (before === state) return;
    connection.state = state;
    let peer = this.#peers.get(connection.address);
    if (peer) {
      if (before === "idle") {
        idleSet(this.#all, connection).delete(connection);
        idleSet(peer, connection).delete(connection);
      } else if (before === "head") peer.heads--;
    }
    if (state === "idle" || state === "head") {
      if (!peer) {
        peer = { fresh: new Set(), reused: new Set(), heads: 0 };
        this.#peers.set(connection.address, peer);
      }
      if (state === "head") peer.heads++;
      else {
        connection.idleSince = now;
        idleSet(this.#all, connection).add(connection);
        idleSet(peer, connection).add(connection);
      }
    } else if (peer && peer.fresh.size + peer.reused.size + peer.heads === 0) {
      this.#peers.delete(connection.address);
    }
  }

  /** The connection idle for longest that may be closed for room now, from any address. */
  longestIdle(now: number): T | undefined {
    return this.#closable(this.#all, now);
  }

  /**
   * When `address` has more than `cap` connections waiting, its longest-idle
   * one that may be closed now; a connection with part of a head in never is.
   */
  overCap(address: string, cap: number, now: number): T | undefined {
    const peer = this.#peers.get(address);
    if (!peer || peer.fresh.size + peer.reused.size + peer.heads <= cap) return undefined;
    return this.#closable(peer, now);
  }

  /** How many connections of `address` wait for a request. */
  count(address: string): number {
    const peer = this.#peers.get(address);
    return peer ? peer.fresh.size + peer.reused.size + peer.heads : 0;
  }

  /** Whether `address` has `cap` or more connections waiting: a new one must take one's place. */
  atCap(address: string, cap: number): boolean {
    return this.count(address) >= cap;
  }

  /** The longest-idle connection of `address` that may be closed now; never one with part of a head in. */
  closableOf(address: string, now: number): T | undefined {
    const peer = this.#peers.get(address);
    return peer && this.#closable(peer, now);
  }

  /** Every address over `cap`, for a periodic check (new connections past their grace). */
  *addressesOver(cap: number): Generator<string> {
    for (const [address, peer] of this.#peers) {
      if (peer.fresh.size + peer.reused.size + peer.heads > cap) yield address;
    }
  }

  #closable(idle: Idle<T>, now: number): T | undefined {
    const fresh = first(idle.fresh);
    const reused = first(idle.reused);
    const spared = fresh === undefined || fresh.idleSince + this.graceMs > now;
    if (spared) return reused;
    return reused === undefined || fresh.idleSince <= reused.idleSince ? fresh : reused;
  }
}

function idleSet<T extends Waiter>(idle: Idle<T>, connection: T): Set<T> {
  return connection.answered ? idle.reused : idle.fresh;
}

function first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}
