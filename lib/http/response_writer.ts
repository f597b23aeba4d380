/**
 * Writing responses on a connection: the status line and headers (with
 * `date`, a `content-length` the handler left out, and `connection` as the
 * client needs it), a small body in the same write as its head, a stream body
 * as it arrives and never past its declared length. Every write has a
 * deadline: a client that stops reading is dropped by the sweeper.
 *
 * @module
 */
import type { CoarseClock } from "./clock.ts";
import type { Connection } from "./slots.ts";
import type { HttpResponse } from "./types.ts";

/** Bodies up to this size go out in the same write as the head. */
const COALESCE_BODY = 64 * 1024;

const REASONS: Record<number, string> = {
  200: "OK",
  206: "Partial Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  410: "Gone",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();

/**
 * The status line and header block of a response, ending with the empty line.
 *
 * @example
 * ```ts
 * import { serializeHead } from "./response_writer.ts";
 * console.log(JSON.stringify(serializeHead(404, { "content-length": "0" }, "")));
 * // "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
 * ```
 */
export function serializeHead(
  status: number,
  headers: Record<string, string>,
  extra: string,
): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `${head}${extra}\r\n`;
}

/** A response without a body, per RFC 9110 (HEAD, 1xx, 204, 304). */
function bodiless(method: string, status: number): boolean {
  return method === "HEAD" || status === 304 || status === 204 || status < 200;
}

/**
 * Writes responses for one server, on its clock and with its write deadline.
 *
 * @example
 * ```ts ignore
 * import { CoarseClock } from "./clock.ts";
 * import { ResponseWriter } from "./response_writer.ts";
 * const writer = new ResponseWriter(new CoarseClock(), 60_000);
 * const reusable = await writer.write(connection, "GET", response, true, false);
 * ```
 */
export class ResponseWriter {
  /** `writeTimeoutMs`: how long one write may make no progress before the client is dropped. */
  constructor(readonly clock: CoarseClock, readonly writeTimeoutMs: number) {}

  /** Writes the response; false when the connection cannot carry another one. */
  async write(
    connection: Connection,
    method: string,
    response: HttpResponse,
    keepAlive: boolean,
    http10: boolean,
  ): Promise<boolean> {
    const { status, headers } = response;
    const given = response.body ?? null;
    const body = bodiless(method, status) ? null : given;
    const declared = headers["content-length"];
    // A stream without a length is delimited by closing the connection.
    if (body !== null && !(body instanceof Uint8Array) && declared === undefined) keepAlive = false;
    const extra = this.#extra(method, status, given, declared, keepAlive, http10);
    const head = encoder.encode(serializeHead(status, headers, extra));
    if (body instanceof Uint8Array && body.byteLength <= COALESCE_BODY) {
      const out = new Uint8Array(head.byteLength + body.byteLength);
      out.set(head);
      out.set(body, head.byteLength);
      await this.#writeAll(connection, out);
      return keepAlive;
    }
    await this.#writeAll(connection, head);
    if (body instanceof Uint8Array) {
      await this.#writeAll(connection, body);
      return keepAlive;
    }
    if (body === null) return keepAlive;
    return await this.#pipe(connection, body, declared, keepAlive);
  }

  /** The header lines the server adds: `date`, a missing `content-length`, `connection`. */
  #extra(
    method: string,
    status: number,
    given: HttpResponse["body"],
    declared: string | undefined,
    keepAlive: boolean,
    http10: boolean,
  ): string {
    let extra = `date: ${this.clock.date}\r\n`;
    if (declared === undefined && status >= 200 && status !== 204 && status !== 304) {
      // HEAD gets the length GET would have.
      if (given instanceof Uint8Array) extra += `content-length: ${given.byteLength}\r\n`;
      else if (given === null && method !== "HEAD") extra += "content-length: 0\r\n";
    }
    if (!keepAlive) extra += "connection: close\r\n";
    else if (http10) extra += "connection: keep-alive\r\n";
    return extra;
  }

  /** Sends a stream body; true when it was whole and the connection may carry another response. */
  async #pipe(
    connection: Connection,
    body: ReadableStream<Uint8Array>,
    declared: string | undefined,
    keepAlive: boolean,
  ): Promise<boolean> {
    const expected = declared === undefined ? Infinity : Number(declared);
    const reader = body.getReader();
    let sent = 0;
    try {
      for (;;) {
        // Waiting for the body's source (a download in progress) is not the client's stall.
        connection.deadline = Infinity;
        const { done, value } = await reader.read();
        if (done) break;
        if (sent + value.byteLength > expected) {
          // More than announced: the client would misread what follows; end the connection.
          await this.#writeAll(connection, value.subarray(0, expected - sent));
          sent = expected;
          await reader.cancel("body longer than its content-length").catch(() => {});
          return false;
        }
        await this.#writeAll(connection, value);
        sent += value.byteLength;
      }
    } catch (error) {
      // The client went away, stalled, or the body failed: the transfer ends short.
      await reader.cancel(error).catch(() => {});
      return false;
    }
    return keepAlive && sent === expected;
  }

  async #writeAll(connection: Connection, bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.byteLength) {
      connection.deadline = this.clock.now + this.writeTimeoutMs;
      written += await connection.conn.write(written === 0 ? bytes : bytes.subarray(written));
    }
  }
}
