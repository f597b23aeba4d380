/**
 * A small HTTP/1.1 server over `Deno.listen`, for a proxy that only answers
 * GET and HEAD. `Deno.serve` spends about twice as much per request (a
 * `Request` and a `Response` object, header lists, a hyper round trip), and on
 * the hot path, a few hundred bytes answered from memory, that cost is the
 * whole cost: this server reads a request head, hands the handler its method,
 * target and lower-cased headers, and writes the status line, headers and
 * body with one write when they are small.
 *
 * What it does not do, on purpose: request bodies (a request that has one
 * gets its answer and the connection is closed), chunked responses (a stream
 * body has a declared length; without one the connection is closed after
 * it), compression, upgrades, TLS. Every request head is limited in size and
 * in time; an idle connection is closed after a while, a new one that sends
 * nothing sooner; a client that stops reading a response is dropped. One
 * address cannot keep more than so many connections waiting for a request
 * (past that, its new connections are closed unanswered when none of its
 * own may make way), and when every slot is taken the longest-idle
 * connection makes room (see `waiting.ts`): a peer hoarding connections,
 * silent or with a byte of a head sent, locks nobody out, and a request in
 * progress is never cut off for room.
 *
 * @module
 */
import { textError } from "./response.ts";
import { WaitingConnections, type WaitState } from "./waiting.ts";

/** A request as the handler sees it. */
export interface HttpRequest {
  /** The method as sent, e.g. `GET`. */
  method: string;
  /** The origin-form target, e.g. `/golang.org/x/text/@v/list` (absolute-form is reduced to this). */
  target: string;
  /** Header values by lower-case name; repeated headers are joined with `, `. */
  headers: Record<string, string>;
}

/** A response as the handler gives it. */
export interface HttpResponse {
  status: number;
  /**
   * Header names in lower case. `content-length` is set by the server for a
   * byte body; a stream body without it is sent until it ends, then the
   * connection is closed.
   */
  headers: Record<string, string>;
  /** Bytes are written as they are (never detached or copied into the cache). */
  body?: Uint8Array | ReadableStream<Uint8Array> | null;
}

/** Answers one request; a throw becomes a 500. */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** Where to listen, and the limits. */
export interface HttpServerOptions {
  hostname: string;
  port: number;
  /** Share the port with other listeners (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /** Largest request head in bytes (431 beyond). Default 16 KiB. */
  maxHeadBytes?: number;
  /** Time a client has to send a whole request head once it started one. Default 30 s. */
  headTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. Default 75 s. */
  idleTimeoutMs?: number;
  /** A new connection that sends no byte for this long is closed. Default 10 s. */
  firstByteTimeoutMs?: number;
  /** A response write that makes no progress for this long drops the client. Default 60 s. */
  writeTimeoutMs?: number;
  /**
   * Connections served at once. When all are taken, the longest-idle one
   * without a request in progress is closed to accept the next; when every
   * one has a request in progress, further clients wait in the kernel's
   * accept queue until one closes, so memory stays bounded. Default 4096.
   */
  maxConnections?: number;
  /**
   * Connections one client address may have waiting for a request (idle, or
   * a head arriving); beyond it, that address's longest-idle one is closed,
   * and when none of them may be (heads arriving, new ones in their grace) a
   * new connection from it is closed at once, unanswered. Connections being
   * answered do not count. Default `maxConnections / 16`, at least 8; `Infinity` for none.
   */
  maxWaitingPerAddress?: number;
  /**
   * A new connection is not closed for room before this (its request may be
   * in the socket, unread yet); one kept alive after a response may be at once. Default 1 s.
   */
  freshGraceMs?: number;
  /** Told about handler failures and accept errors (one line each). */
  onError?: (event: string, error: unknown) => void;
}

/** A running server. */
export interface HttpServer {
  addr: Deno.NetAddr;
  /** Connections open now. */
  connections(): number;
  /**
   * Stops accepting, closes idle connections, lets requests in progress
   * finish (each connection closes after its response) and resolves when
   * none is left.
   */
  shutdown(): Promise<void>;
  /** Closes every connection now, finished or not. */
  close(): void;
}

const DEFAULT_MAX_HEAD = 16 * 1024;
const INITIAL_BUFFER = 4096;
const MAX_HEADERS = 100;
/** Bodies up to this size go out in the same write as the head. */
const COALESCE_BODY = 64 * 1024;
/** After this many accept failures in a row the pause between tries stops growing. */
const ACCEPT_BACKOFF_MAX_MS = 1000;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REASONS: Record<number, string> = {
  200: "OK",
  206: "Partial Content",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  410: "Gone",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
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
const decoder = new TextDecoder();

/** A request head that cannot be served; answered with `status` and the connection closed. */
export class HttpParseError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpParseError";
  }
}

/** A parsed request head and what it says about the connection. */
export interface ParsedHead extends HttpRequest {
  /** The client asked to keep the connection open (HTTP/1.1 default, or HTTP/1.0 keep-alive). */
  keepAlive: boolean;
  /** HTTP/1.0, which needs `connection: keep-alive` spelled out. */
  http10: boolean;
  /** The request announced a body (`content-length` > 0 or `transfer-encoding`). */
  hasBody: boolean;
}

/**
 * Where the request head starting at `start` ends (just past its empty
 * line), or -1 when it is not all in `buffer[start, end)` yet. Bare LF line
 * ends are accepted as well as CRLF.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "./server.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET");
 * console.log(findHeadEnd(bytes, 0, bytes.length)); // 27
 * ```
 */
export function findHeadEnd(buffer: Uint8Array, start: number, end: number): number {
  for (let i = start + 1; i < end; i++) {
    if (buffer[i] !== 10) continue;
    const previous = buffer[i - 1];
    if (previous === 10) return i + 1;
    if (previous === 13 && i - 2 >= start && buffer[i - 2] === 10) return i + 1;
  }
  return -1;
}

/**
 * Parses a request head (request line and header fields, up to and
 * including the empty line). Throws {@linkcode HttpParseError} with the
 * status to answer for anything malformed.
 *
 * @example
 * ```ts
 * import { parseHead } from "./server.ts";
 * const head = parseHead("GET /m/@v/list HTTP/1.1\r\nHost: pi\r\nRange: bytes=0-9\r\n\r\n");
 * console.log(head.method, head.target, head.headers["range"], head.keepAlive); // GET /m/@v/list bytes=0-9 true
 * ```
 */
export function parseHead(text: string): ParsedHead {
  let lineEnd = text.indexOf("\n");
  const requestLine = text.slice(
    0,
    lineEnd > 0 && text[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd,
  );
  const firstSpace = requestLine.indexOf(" ");
  const secondSpace = requestLine.indexOf(" ", firstSpace + 1);
  if (firstSpace <= 0 || secondSpace < 0) {
    throw new HttpParseError(400, "bad request: malformed request line");
  }
  const method = requestLine.slice(0, firstSpace);
  let target = requestLine.slice(firstSpace + 1, secondSpace);
  const version = requestLine.slice(secondSpace + 1);
  if (method !== "GET" && method !== "HEAD" && !TOKEN.test(method)) {
    throw new HttpParseError(400, "bad request: malformed method");
  }
  let http10 = false;
  if (version !== "HTTP/1.1") {
    if (version === "HTTP/1.0") http10 = true;
    else if (/^HTTP\/\d\.\d$/.test(version)) {
      throw new HttpParseError(505, `HTTP version not supported: ${version}: use HTTP/1.1`);
    } else throw new HttpParseError(400, "bad request: malformed request line");
  }
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) {
      throw new HttpParseError(400, "bad request: the request target has a byte it may not have");
    }
  }
  if (target[0] !== "/") {
    // Absolute-form, as sent to a proxy: keep the path and query.
    const match = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!match) throw new HttpParseError(400, "bad request: the request target is not a path");
    target = match[1] === "" || match[1][0] === "?" ? `/${match[1]}` : match[1];
  }
  const headers: Record<string, string> = Object.create(null);
  let count = 0;
  let position = lineEnd + 1;
  while (position < text.length) {
    lineEnd = text.indexOf("\n", position);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(position, text[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd);
    position = lineEnd + 1;
    if (line === "") break;
    if (++count > MAX_HEADERS) {
      throw new HttpParseError(431, `request header fields too large: more than ${MAX_HEADERS}`);
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpParseError(400, "bad request: malformed header field");
    const name = line.slice(0, colon);
    // A name with spaces around it, or a folded line, is refused as RFC 9112 asks.
    if (!TOKEN.test(name)) throw new HttpParseError(400, "bad request: malformed header field");
    const key = name.toLowerCase();
    const value = trimOws(line.slice(colon + 1));
    // A NUL or bare CR would reach whatever reads the value next (a forwarded fetch refuses it).
    if (hasControl(value)) {
      throw new HttpParseError(400, `bad request: header ${name} has a control character`);
    }
    const earlier = headers[key];
    if (earlier !== undefined && key === "host") {
      throw new HttpParseError(400, "bad request: more than one Host header");
    }
    headers[key] = earlier === undefined ? value : `${earlier}, ${value}`;
  }
  if (!http10 && headers["host"] === undefined) {
    // RFC 9112 3.2: an HTTP/1.1 request without Host is answered 400.
    throw new HttpParseError(400, "bad request: an HTTP/1.1 request needs a Host header");
  }
  const connection = headers["connection"]?.toLowerCase();
  const keepAlive = http10
    ? connection !== undefined && hasToken(connection, "keep-alive")
    : connection === undefined || !hasToken(connection, "close");
  const length = headers["content-length"];
  if (length !== undefined && !/^\d+(\s*,\s*\d+)*$/.test(length)) {
    throw new HttpParseError(400, "bad request: malformed content-length");
  }
  const hasBody = headers["transfer-encoding"] !== undefined ||
    (length !== undefined && /[1-9]/.test(length));
  return { method, target, headers, keepAlive, http10, hasBody };
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** A control character a field value may not hold (RFC 9110 5.5 allows HTAB only): NUL, bare CR, DEL… */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function hasToken(list: string, token: string): boolean {
  return list === token || list.split(",").some((part) => part.trim() === token);
}

/**
 * The status line and header block of a response, ending with the empty line.
 *
 * @example
 * ```ts
 * import { serializeHead } from "./server.ts";
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

interface Connection {
  conn: Deno.Conn;
  /** The client's address, for the per-address cap. */
  address: string;
  /** Changed through `waiting.set` only, as is `idleSince`. */
  state: WaitState;
  idleSince: number;
  /** Has carried a response (set while busy, never while idle). */
  answered: boolean;
  /** When the sweeper closes this connection (ms since epoch); Infinity while the handler works. */
  deadline: number;
  /** Waiting for (the rest of) a request head: nothing to finish, safe to close at shutdown. */
  reading: boolean;
}

/**
 * Starts serving `handler` on `options.hostname:options.port`. Binds before it
 * returns, so a port in use throws here.
 *
 * @example
 * ```ts
 * import { serveHttp } from "./server.ts";
 * const server = serveHttp({ hostname: "127.0.0.1", port: 0 }, () => ({
 *   status: 200,
 *   headers: { "content-type": "text/plain" },
 *   body: new TextEncoder().encode("ok\n"),
 * }));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * console.log(await response.text()); // ok
 * await server.shutdown();
 * ```
 */
export function serveHttp(options: HttpServerOptions, handler: HttpHandler): HttpServer {
  const maxHead = options.maxHeadBytes ?? DEFAULT_MAX_HEAD;
  const headTimeout = options.headTimeoutMs ?? 30_000;
  const idleTimeout = options.idleTimeoutMs ?? 75_000;
  const firstByteTimeout = options.firstByteTimeoutMs ?? 10_000;
  const writeTimeout = options.writeTimeoutMs ?? 60_000;
  const maxConnections = options.maxConnections ?? 4096;
  const maxWaiting = options.maxWaitingPerAddress ??
    Math.max(8, Math.floor(maxConnections / 16));
  const onError = options.onError ?? (() => {});
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
    reusePort: options.reusePort,
  });
  const open = new Set<Connection>();
  const waiting = new WaitingConnections<Connection>(options.freshGraceMs ?? 1000);
  let closing = false;
  let drained: (() => void) | undefined;
  let slotFreed: (() => void) | undefined;

  // One coarse clock for all deadlines: no timer per request. It is monotonic: when NTP steps
  // the wall clock (a Pi's, soon after boot), no connection may look hours overdue.
  let now = performance.now();
  let date = new Date(Date.now()).toUTCString();
  const tick = Math.max(
    10,
    Math.min(
      1000,
      Math.floor(Math.min(headTimeout, idleTimeout, firstByteTimeout, writeTimeout) / 4),
    ),
  );
  const sweeper = setInterval(() => {
    now = performance.now();
    date = new Date(Date.now()).toUTCString();
    for (const connection of open) {
      if (connection.deadline <= now) closeQuietly(connection.conn);
    }
    // New connections past their grace may be closed for room now.
    for (const address of waiting.addressesOver(maxWaiting)) {
      let over: Connection | undefined;
      while ((over = waiting.overCap(address, maxWaiting, now))) evict(over);
    }
    wakeAcceptor();
  }, tick);
  Deno.unrefTimer(sweeper);

  /** Closes a waiting connection to make room; its slot is free at once, its reader cleans up. */
  const evict = (connection: Connection) => {
    open.delete(connection);
    waiting.set(connection, "closed", now);
    closeQuietly(connection.conn);
    wakeAcceptor();
  };

  /** The connection now waits for a request: within its address's cap, or its longest idle goes. */
  const setWaiting = (connection: Connection, state: "idle" | "head") => {
    waiting.set(connection, state, now);
    const over = waiting.overCap(connection.address, maxWaiting, now);
    if (over) evict(over);
    // A full server waiting for a slot can now make one.
    else if (state === "idle") wakeAcceptor();
  };

  const writeAll = async (connection: Connection, bytes: Uint8Array): Promise<void> => {
    let written = 0;
    while (written < bytes.byteLength) {
      connection.deadline = now + writeTimeout;
      written += await connection.conn.write(written === 0 ? bytes : bytes.subarray(written));
    }
  };

  /** Writes the response; false when the connection cannot carry another one. */
  const respond = async (
    connection: Connection,
    method: string,
    response: HttpResponse,
    keepAlive: boolean,
    http10: boolean,
  ): Promise<boolean> => {
    const { status, headers } = response;
    const given = response.body ?? null;
    const body = bodiless(method, status) ? null : given;
    let extra = `date: ${date}\r\n`;
    if (
      headers["content-length"] === undefined && status >= 200 && status !== 204 && status !== 304
    ) {
      // HEAD gets the length GET would have.
      if (given instanceof Uint8Array) extra += `content-length: ${given.byteLength}\r\n`;
      else if (given === null && method !== "HEAD") extra += "content-length: 0\r\n";
    }
    const declared = headers["content-length"];
    // A stream without a length is delimited by closing the connection.
    if (body !== null && !(body instanceof Uint8Array) && declared === undefined) keepAlive = false;
    if (!keepAlive) extra += "connection: close\r\n";
    else if (http10) extra += "connection: keep-alive\r\n";
    const head = encoder.encode(serializeHead(status, headers, extra));
    if (body instanceof Uint8Array && body.byteLength <= COALESCE_BODY) {
      const out = new Uint8Array(head.byteLength + body.byteLength);
      out.set(head);
      out.set(body, head.byteLength);
      await writeAll(connection, out);
      return keepAlive;
    }
    await writeAll(connection, head);
    if (body instanceof Uint8Array) {
      await writeAll(connection, body);
      return keepAlive;
    }
    if (body === null) return keepAlive;
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
          await writeAll(connection, value.subarray(0, expected - sent));
          sent = expected;
          await reader.cancel("body longer than its content-length").catch(() => {});
          return false;
        }
        await writeAll(connection, value);
        sent += value.byteLength;
      }
    } catch (error) {
      // The client went away, stalled, or the body failed: the transfer ends short.
      await reader.cancel(error).catch(() => {});
      return false;
    }
    return keepAlive && sent === expected;
  };

  const serveConnection = async (connection: Connection): Promise<void> => {
    let buffer = new Uint8Array(INITIAL_BUFFER);
    let filled = 0;
    let start = 0;
    const nextHeadEnd = () => {
      // Blank lines before a request are allowed (RFC 9112 2.2).
      while (start < filled && (buffer[start] === 13 || buffer[start] === 10)) start++;
      return findHeadEnd(buffer, start, filled);
    };
    try {
      for (;;) {
        // The head deadline starts with the head's first byte (pipelined bytes already count)
        // and does not move while the rest trickles in: a byte now and then buys no time.
        let headDeadline = filled > start ? now + headTimeout : -1;
        let end = nextHeadEnd();
        while (end < 0) {
          if (start > 0) {
            buffer.copyWithin(0, start, filled);
            filled -= start;
            start = 0;
          }
          if (filled === buffer.byteLength) {
            if (buffer.byteLength >= maxHead) {
              await respondError(connection, 431, "request header fields too large");
              return;
            }
            const grown = new Uint8Array(Math.min(maxHead, buffer.byteLength * 4));
            grown.set(buffer.subarray(0, filled));
            buffer = grown;
          }
          if (closing || connection.state === "closed") return;
          setWaiting(connection, filled > start ? "head" : "idle");
          connection.reading = true;
          connection.deadline = headDeadline >= 0
            ? headDeadline
            : now + (connection.answered ? idleTimeout : firstByteTimeout);
          const read = await connection.conn.read(buffer.subarray(filled));
          connection.reading = false;
          if (read === null) return;
          if (headDeadline < 0) headDeadline = now + headTimeout;
          filled += read;
          end = nextHeadEnd();
        }
        connection.deadline = Infinity;
        waiting.set(connection, "busy", now);
        connection.answered = true;
        let head: ParsedHead;
        try {
          head = parseHead(decoder.decode(buffer.subarray(start, end)));
        } catch (error) {
          if (!(error instanceof HttpParseError)) throw error;
          await respondError(connection, error.status, error.message);
          return;
        }
        start = end;
        if (start === filled) start = filled = 0;
        let response: HttpResponse;
        if (head.hasBody && (head.method === "GET" || head.method === "HEAD")) {
          response = textError(400, "bad request: a request body is not accepted here");
        } else {
          try {
            // Handlers answer from memory synchronously; awaiting only a promise saves a tick.
            const result = handler(head);
            response = result instanceof Promise ? await result : result;
          } catch (error) {
            onError("handler-error", error);
            response = textError(500, "internal error");
          }
        }
        // A body we did not read would be taken for the next request: close after answering.
        const keepAlive = head.keepAlive && !head.hasBody && !closing;
        const reusable = await respond(connection, head.method, response, keepAlive, head.http10);
        if (!reusable || closing) return;
      }
    } catch {
      // Reset, timed out or closed under us: nothing to answer any more.
    } finally {
      open.delete(connection);
      waiting.set(connection, "closed", now);
      closeQuietly(connection.conn);
      wakeAcceptor();
      if (closing && open.size === 0) {
        clearInterval(sweeper);
        drained?.();
      }
    }
  };

  const wakeAcceptor = () => {
    slotFreed?.();
    slotFreed = undefined;
  };

  const respondError = async (connection: Connection, status: number, message: string) => {
    await respond(connection, "GET", textError(status, message), false, false).catch(() => {});
  };

  const slotOrIdle = () => new Promise<void>((resume) => slotFreed = resume);

  /**
   * A new connection from an address that has its cap waiting takes the place of that address's
   * longest-idle one; when none of them may be closed (heads arriving, new ones in their grace),
   * it is closed at once: one address never holds more than its cap of slots waiting.
   */
  const admit = async (address: string): Promise<boolean> => {
    if (!waiting.atCap(address, maxWaiting)) return true;
    // A burst is accepted faster than its requests are read: let those in the socket be read
    // first, for as long as reading them lowers the count.
    for (let before = waiting.count(address), after = -1; after < before; before = after) {
      await new Promise((resume) => setTimeout(resume, 0));
      after = waiting.count(address);
    }
    if (!waiting.atCap(address, maxWaiting)) return true;
    const own = waiting.closableOf(address, now);
    if (own === undefined) return false;
    evict(own);
    return true;
  };

  /** A client was accepted while full: the longest-idle connection gives up its slot, or one is awaited. */
  const makeRoom = async () => {
    while (open.size >= maxConnections && !closing) {
      const idlest = waiting.longestIdle(now);
      if (idlest) evict(idlest);
      else await slotOrIdle();
    }
  };

  const acceptLoop = async () => {
    let pause = 10;
    while (!closing) {
      // Full, and every connection has a request in progress: the next clients wait in the queue.
      if (open.size >= maxConnections && !waiting.longestIdle(now)) {
        await slotOrIdle();
        continue;
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        pause = 10;
      } catch (error) {
        if (closing) return;
        // Out of file descriptors and the like: keep the server up and try again shortly.
        onError("accept-failed", error);
        await new Promise((resume) => setTimeout(resume, pause));
        pause = Math.min(ACCEPT_BACKOFF_MAX_MS, pause * 2);
        continue;
      }
      const address = (conn.remoteAddr as Deno.NetAddr).hostname;
      // Before making room: an address past its cap must not push other clients' connections out.
      if (!await admit(address)) {
        closeQuietly(conn);
        continue;
      }
      await makeRoom();
      if (closing) {
        closeQuietly(conn);
        return;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Already reset: the first read will say so.
      }
      const connection: Connection = {
        conn,
        address,
        state: "busy",
        idleSince: now,
        answered: false,
        deadline: now + firstByteTimeout,
        reading: false,
      };
      open.add(connection);
      setWaiting(connection, "idle");
      serveConnection(connection);
    }
  };
  acceptLoop();

  const stopAccepting = () => {
    closing = true;
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  };

  return {
    addr: listener.addr as Deno.NetAddr,
    connections: () => open.size,
    shutdown() {
      stopAccepting();
      for (const connection of open) if (connection.reading) closeQuietly(connection.conn);
      if (open.size === 0) {
        clearInterval(sweeper);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => drained = resolve);
    },
    close() {
      stopAccepting();
      clearInterval(sweeper);
      for (const connection of open) closeQuietly(connection.conn);
    },
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
