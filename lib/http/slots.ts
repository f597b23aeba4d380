/**
 * A server's connections and what it may do with them: which are open, which
 * wait for a request (through {@linkcode WaitingConnections}), closing the
 * longest-idle one to make room, closing those past their deadline, waking
 * the accept loop when a slot frees, and telling the server when a shutdown
 * has drained the last one.
 *
 * @module
 */
import type { CoarseClock } from "./clock.ts";
import { type Waiter, WaitingConnections } from "./waiting.ts";

/**
 * One client connection as the server keeps it.
 *
 * @example
 * ```ts ignore
 * import type { Connection } from "./slots.ts";
 * declare const connection: Connection;
 * if (connection.reading) connection.conn.close();
 * ```
 */
export interface Connection extends Waiter {
  conn: Deno.Conn;
  /** When the sweeper closes this connection (`performance.now()` ms); Infinity while the handler works. */
  deadline: number;
  /** Waiting for (the rest of) a request head: nothing to finish, safe to close at shutdown. */
  reading: boolean;
}

/**
 * The limits {@linkcode ConnectionSlots} keeps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SlotLimits } from "./slots.ts";
 * const limits: SlotLimits = { maxConnections: 4096, maxWaiting: 256, freshGraceMs: 1000 };
 * assert(limits.maxWaiting < limits.maxConnections);
 * ```
 */
export interface SlotLimits {
  /** Connections open at once. */
  maxConnections: number;
  /** Connections one address may have waiting for a request. */
  maxWaiting: number;
  /** How long a new connection that sent nothing yet is spared from closing for room. */
  freshGraceMs: number;
}

/**
 * The open connections of one server. A connection's `state` and `idleSince`
 * change through this class only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoarseClock } from "./clock.ts";
 * import { ConnectionSlots } from "./slots.ts";
 * const slots = new ConnectionSlots(
 *   new CoarseClock(),
 *   { maxConnections: 16, maxWaiting: 8, freshGraceMs: 1000 },
 *   () => {},
 * );
 * assert(slots.open.size === 0 && !slots.closing);
 * ```
 */
export class ConnectionSlots {
  /** Every connection that holds a slot. */
  readonly open: Set<Connection> = new Set();
  /** The open connections that wait for a request. */
  readonly waiting: WaitingConnections<Connection>;
  /** The server stopped accepting: connections close after their response. */
  closing = false;
  /** Accept loops waiting for room: one, or two for a moment while a listener is replaced. */
  #slotWaiters: (() => void)[] = [];

  /** `onDrained` runs when, closing, the last connection is released. */
  constructor(
    readonly clock: CoarseClock,
    readonly limits: SlotLimits,
    readonly onDrained: () => void,
  ) {
    this.waiting = new WaitingConnections<Connection>(limits.freshGraceMs);
  }

  /** Takes a slot for a newly accepted connection, which waits for its first request. */
  add(conn: Deno.Conn, address: string, deadline: number): Connection {
    const connection: Connection = {
      conn,
      address,
      state: "busy",
      idleSince: this.clock.now,
      answered: false,
      deadline,
      reading: false,
    };
    this.open.add(connection);
    this.setWaiting(connection, "idle");
    return connection;
  }

  /** The connection now waits for a request: within its address's cap, or its longest idle goes. */
  setWaiting(connection: Connection, state: "idle" | "head"): void {
    const now = this.clock.now;
    this.waiting.set(connection, state, now);
    const over = this.waiting.overCap(connection.address, this.limits.maxWaiting, now);
    if (over) this.evict(over);
    // A full server waiting for a slot can now make one.
    else if (state === "idle") this.wakeAcceptor();
  }

  /** A whole request head is in: the connection is answering, never closed for room. */
  setBusy(connection: Connection): void {
    this.waiting.set(connection, "busy", this.clock.now);
    connection.answered = true;
  }

  /** Closes a waiting connection to make room; its slot is free at once, its reader cleans up. */
  evict(connection: Connection): void {
    this.open.delete(connection);
    this.waiting.set(connection, "closed", this.clock.now);
    closeQuietly(connection.conn);
    this.wakeAcceptor();
  }

  /** The connection's reader is done with it: it closes and gives its slot back. */
  release(connection: Connection): void {
    this.open.delete(connection);
    this.waiting.set(connection, "closed", this.clock.now);
    closeQuietly(connection.conn);
    this.wakeAcceptor();
    if (this.closing && this.open.size === 0) this.onDrained();
  }

  /** Resumes the accept loops waiting in {@linkcode slotOrIdle}. */
  wakeAcceptor(): void {
    if (this.#slotWaiters.length === 0) return;
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const resume of waiters) resume();
  }

  /** Resolves when a slot frees or a connection becomes idle (or at the next sweep). */
  slotOrIdle(): Promise<void> {
    return new Promise<void>((resume) => this.#slotWaiters.push(resume));
  }

  /**
   * Closes connections past their deadline, and those of addresses over their
   * cap that may be closed now (new ones past their grace); run by the sweeper.
   */
  sweep(): void {
    const now = this.clock.now;
    for (const connection of this.open) {
      if (connection.deadline <= now) closeQuietly(connection.conn);
    }
    const cap = this.limits.maxWaiting;
    for (const address of this.waiting.addressesOver(cap)) {
      let over: Connection | undefined;
      while ((over = this.waiting.overCap(address, cap, now))) this.evict(over);
    }
    this.wakeAcceptor();
  }

  /** Closes the connections waiting for a request head: they have nothing to finish. */
  closeReading(): void {
    for (const connection of this.open) if (connection.reading) closeQuietly(connection.conn);
  }

  /** Closes every connection now, finished or not. */
  closeAll(): void {
    for (const connection of this.open) closeQuietly(connection.conn);
  }
}

/**
 * Closes a connection that may be closed already.
 *
 * @example
 * ```ts ignore
 * import { closeQuietly } from "./slots.ts";
 * declare const conn: Deno.Conn;
 * closeQuietly(conn);
 * closeQuietly(conn); // no throw
 * ```
 */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
