/**
 * A small HTTP/1.1 server over `Deno.listen`, for a proxy that only answers
 * GET and HEAD. `Deno.serve` spends about twice as much per request (a
 * `Request` and a `Response` object, header lists, a hyper round trip), and on
 * the hot path, a few hundred bytes answered from memory, that cost is the
 * whole cost: this server reads a request head, hands the handler its method,
 * target and lower-cased headers, and writes the status line, headers and
 * body with one write when they are small. Given a certificate and key it
 * speaks TLS instead (`Deno.listenTls`), and a new pair replaces the
 * listener, not the connections (see {@linkcode HttpServer.replaceCertificate}).
 *
 * What it does not do, on purpose: request bodies (a request that has one
 * gets its answer and the connection is closed), chunked responses (a stream
 * body has a declared length; without one the connection is closed after
 * it), compression, upgrades. Every request head is limited in size and
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
import { acceptLoop } from "./accept.ts";
import { CoarseClock } from "./clock.ts";
import { type ReadLimits, RequestLoop } from "./request_loop.ts";
import { ResponseWriter } from "./response_writer.ts";
import { ConnectionSlots, type SlotLimits } from "./slots.ts";
import type { HttpHandler } from "./types.ts";

/**
 * Where to listen, and the limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HttpServerOptions } from "./server.ts";
 * const options: HttpServerOptions = { hostname: "127.0.0.1", port: 0, maxConnections: 64 };
 * assert(options.maxConnections === 64);
 * ```
 */
export interface HttpServerOptions {
  hostname: string;
  port: number;
  /** Share the port with other listeners (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /** Serve TLS with this certificate chain and key; plain HTTP is then not answered. */
  tls?: TlsKeyPair;
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

/**
 * A certificate chain and its private key, both PEM text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TlsKeyPair } from "./server.ts";
 * const pair: TlsKeyPair = { cert: "-----BEGIN CERTIFICATE-----\n…", key: "-----BEGIN PRIVATE KEY-----\n…" };
 * assert(pair.cert.startsWith("-----BEGIN"));
 * ```
 */
export interface TlsKeyPair {
  cert: string;
  key: string;
}

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import { type HttpServer, serveHttp } from "./server.ts";
 * const server: HttpServer = serveHttp({ hostname: "127.0.0.1", port: 0 }, handler);
 * console.log(server.addr.port, server.connections());
 * await server.shutdown();
 * ```
 */
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
  /**
   * New connections get this certificate and key; open ones keep theirs. A
   * second listener with the new pair joins the port (`SO_REUSEPORT`, so the
   * server must have been started with `reusePort` and `tls`), then the old
   * one closes. Throws, keeping the old pair, when the new one is refused.
   */
  replaceCertificate(pair: TlsKeyPair): void;
}

const DEFAULT_MAX_HEAD = 16 * 1024;

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
  const limits = resolveLimits(options);
  let listener = listen(options, options.port, options.tls);
  const port = (listener.addr as Deno.NetAddr).port;
  const onError = options.onError ?? (() => {});
  const clock = new CoarseClock();
  let drained: (() => void) | undefined;
  const slots = new ConnectionSlots(clock, limits, () => {
    clearInterval(sweeper);
    drained?.();
  });
  const sweeper = setInterval(() => {
    clock.advance();
    slots.sweep();
  }, sweepTick(limits));
  Deno.unrefTimer(sweeper);

  const writer = new ResponseWriter(clock, limits.writeTimeoutMs);
  const requests = new RequestLoop(limits, clock, slots, writer, handler, onError);
  const accept = (own: Deno.Listener) =>
    acceptLoop(own, slots, {
      firstByteTimeoutMs: limits.firstByteTimeoutMs,
      serve: (connection) => requests.serve(connection),
      onError,
      replaced: () => listener !== own,
    });
  accept(listener);

  const stopAccepting = () => {
    slots.closing = true;
    closeListener(listener);
  };

  return {
    addr: listener.addr as Deno.NetAddr,
    connections: () => slots.open.size,
    shutdown() {
      stopAccepting();
      slots.closeReading();
      if (slots.open.size === 0) {
        clearInterval(sweeper);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => drained = resolve);
    },
    close() {
      stopAccepting();
      clearInterval(sweeper);
      slots.closeAll();
    },
    replaceCertificate(pair) {
      if (!options.tls || !options.reusePort) {
        throw new Error(
          "a certificate can be replaced only on a TLS server started with reusePort",
        );
      }
      if (slots.closing) return;
      // Bound before the old one closes: the port never stops answering.
      const next = listen(options, port, pair);
      const old = listener;
      listener = next;
      accept(next);
      closeListener(old);
    },
  };
}

/** Binds a listener, TLS when a pair is given. */
function listen(options: HttpServerOptions, port: number, tls?: TlsKeyPair): Deno.Listener {
  const address = {
    hostname: options.hostname,
    port,
    transport: "tcp" as const,
    reusePort: options.reusePort,
  };
  return tls ? Deno.listenTls({ ...address, cert: tls.cert, key: tls.key }) : Deno.listen(address);
}

function closeListener(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch {
    // Already closed.
  }
}

/** Every limit of a server, defaults filled in. */
type Limits = ReadLimits & SlotLimits & { writeTimeoutMs: number };

function resolveLimits(options: HttpServerOptions): Limits {
  const maxConnections = options.maxConnections ?? 4096;
  return {
    maxHeadBytes: options.maxHeadBytes ?? DEFAULT_MAX_HEAD,
    headTimeoutMs: options.headTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 75_000,
    firstByteTimeoutMs: options.firstByteTimeoutMs ?? 10_000,
    writeTimeoutMs: options.writeTimeoutMs ?? 60_000,
    maxConnections,
    maxWaiting: options.maxWaitingPerAddress ?? Math.max(8, Math.floor(maxConnections / 16)),
    freshGraceMs: options.freshGraceMs ?? 1000,
  };
}

/** How often the sweeper runs: a quarter of the shortest deadline, from 10 ms to 1 s. */
function sweepTick(limits: Limits): number {
  const shortest = Math.min(
    limits.headTimeoutMs,
    limits.idleTimeoutMs,
    limits.firstByteTimeoutMs,
    limits.writeTimeoutMs,
  );
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
}
