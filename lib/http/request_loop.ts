/**
 * One connection's life: read a request head (pipelined ones may already be
 * in the buffer), answer it, and go on while the connection may carry
 * another response. A head has a size limit and a deadline from its first
 * byte; between requests a connection waits under the idle deadline (the
 * first-byte one while it never carried a response), and meanwhile it is one
 * of the waiting connections the server may close for room.
 *
 * The path of one request is kept free of closures, timers and allocations
 * beyond the head's text, its parse and the response: it is the hot path.
 *
 * @module
 */
import type { CoarseClock } from "./clock.ts";
import { findHeadEnd, HttpParseError, type ParsedHead, parseHead } from "./request_head.ts";
import { textError } from "./response.ts";
import type { ResponseWriter } from "./response_writer.ts";
import type { Connection, ConnectionSlots } from "./slots.ts";
import type { HttpHandler, HttpResponse } from "./types.ts";

const INITIAL_BUFFER = 4096;

const decoder = new TextDecoder();

/**
 * The limits on reading requests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ReadLimits } from "./request_loop.ts";
 * const limits: ReadLimits = {
 *   maxHeadBytes: 16 * 1024,
 *   headTimeoutMs: 30_000,
 *   idleTimeoutMs: 75_000,
 *   firstByteTimeoutMs: 10_000,
 * };
 * assert(limits.firstByteTimeoutMs < limits.idleTimeoutMs);
 * ```
 */
export interface ReadLimits {
  /** Largest request head in bytes (431 beyond). */
  maxHeadBytes: number;
  /** Time a client has to send a whole request head once it started one. */
  headTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  idleTimeoutMs: number;
  /** A new connection that sends no byte for this long is closed. */
  firstByteTimeoutMs: number;
}

/**
 * A connection's received bytes: `[start, filled)` is what is not consumed
 * yet, a request head or part of one.
 */
class HeadBuffer {
  bytes: Uint8Array = new Uint8Array(INITIAL_BUFFER);
  filled = 0;
  start = 0;

  /** Part of a request head is in. */
  pending(): boolean {
    return this.filled > this.start;
  }

  /** Where the next head ends, or -1 when it is not all in yet. */
  nextHeadEnd(): number {
    const bytes = this.bytes;
    // Blank lines before a request are allowed (RFC 9112 2.2).
    while (this.start < this.filled && (bytes[this.start] === 13 || bytes[this.start] === 10)) {
      this.start++;
    }
    return findHeadEnd(bytes, this.start, this.filled);
  }

  /** Makes room to read more into; false when a head of `max` bytes still does not fit. */
  makeRoom(max: number): boolean {
    if (this.start > 0) {
      this.bytes.copyWithin(0, this.start, this.filled);
      this.filled -= this.start;
      this.start = 0;
    }
    if (this.filled === this.bytes.byteLength) {
      if (this.bytes.byteLength >= max) return false;
      const grown = new Uint8Array(Math.min(max, this.bytes.byteLength * 4));
      grown.set(this.bytes.subarray(0, this.filled));
      this.bytes = grown;
    }
    return true;
  }

  /** The room to read into. */
  free(): Uint8Array {
    return this.bytes.subarray(this.filled);
  }

  /** The text of the head that ends at `end`, which is consumed. */
  take(end: number): string {
    const text = decoder.decode(this.bytes.subarray(this.start, end));
    this.start = end;
    if (this.start === this.filled) this.start = this.filled = 0;
    return text;
  }
}

/**
 * Serves connections for one server: reads their requests and writes the
 * handler's answers.
 *
 * @example
 * ```ts ignore
 * import { RequestLoop } from "./request_loop.ts";
 * const loop = new RequestLoop(limits, clock, slots, writer, handler, onError);
 * loop.serve(connection); // resolves when the connection is closed
 * ```
 */
export class RequestLoop {
  constructor(
    readonly limits: ReadLimits,
    readonly clock: CoarseClock,
    readonly slots: ConnectionSlots,
    readonly writer: ResponseWriter,
    readonly handler: HttpHandler,
    readonly onError: (event: string, error: unknown) => void,
  ) {}

  /** Serves `connection` until it closes, then gives its slot back. */
  async serve(connection: Connection): Promise<void> {
    const { clock, limits, slots } = this;
    const buffer = new HeadBuffer();
    try {
      for (;;) {
        // The head deadline starts with the head's first byte (pipelined bytes already count)
        // and does not move while the rest trickles in: a byte now and then buys no time.
        let headDeadline = buffer.pending() ? clock.now + limits.headTimeoutMs : -1;
        let end = buffer.nextHeadEnd();
        while (end < 0) {
          if (!buffer.makeRoom(limits.maxHeadBytes)) {
            await this.#refuse(connection, 431, "request header fields too large");
            return;
          }
          if (slots.closing || connection.state === "closed") return;
          this.#waitForBytes(connection, buffer.pending(), headDeadline);
          const read = await connection.conn.read(buffer.free());
          connection.reading = false;
          if (read === null) return;
          if (headDeadline < 0) headDeadline = clock.now + limits.headTimeoutMs;
          buffer.filled += read;
          end = buffer.nextHeadEnd();
        }
        connection.deadline = Infinity;
        slots.setBusy(connection);
        let head: ParsedHead;
        try {
          head = parseHead(buffer.take(end));
        } catch (error) {
          if (!(error instanceof HttpParseError)) throw error;
          await this.#refuse(connection, error.status, error.message);
          return;
        }
        head.address = connection.address;
        let response: HttpResponse;
        const result = this.#handle(head);
        if (result instanceof Promise) {
          // Handlers answer from memory synchronously; awaiting only a promise saves a tick.
          try {
            response = await result;
          } catch (error) {
            response = this.#failed(error);
          }
        } else response = result;
        // A body we did not read would be taken for the next request: close after answering.
        const keepAlive = head.keepAlive && !head.hasBody && !slots.closing;
        const reusable = await this.writer.write(
          connection,
          head.method,
          response,
          keepAlive,
          head.http10,
        );
        if (!reusable || slots.closing) return;
      }
    } catch {
      // Reset, timed out or closed under us: nothing to answer any more.
    } finally {
      slots.release(connection);
    }
  }

  /** The connection waits for (more of) a head: one the server may close for room, under a deadline. */
  #waitForBytes(connection: Connection, pending: boolean, headDeadline: number): void {
    this.slots.setWaiting(connection, pending ? "head" : "idle");
    connection.reading = true;
    connection.deadline = headDeadline >= 0 ? headDeadline : this.clock.now +
      (connection.answered ? this.limits.idleTimeoutMs : this.limits.firstByteTimeoutMs);
  }

  /** The handler's answer, or the error that takes its place. */
  #handle(head: ParsedHead): HttpResponse | Promise<HttpResponse> {
    if (head.hasBody && (head.method === "GET" || head.method === "HEAD")) {
      return textError(400, "bad request: a request body is not accepted here");
    }
    // Called as a plain function, as a handler expects (no `this`).
    const handler = this.handler;
    try {
      return handler(head);
    } catch (error) {
      return this.#failed(error);
    }
  }

  #failed(error: unknown): HttpResponse {
    this.onError("handler-error", error);
    return textError(500, "internal error");
  }

  /** Answers an error and lets the connection close. */
  async #refuse(connection: Connection, status: number, message: string): Promise<void> {
    await this.writer.write(connection, "GET", textError(status, message), false, false)
      .catch(() => {});
  }
}
