/**
 * Assembles a running Astera from a {@linkcode Config}: the store, the
 * sources, the proxy core and the HTTP server. `main.ts` calls this; so do the
 * tests that need a server in-process.
 *
 * @module
 */
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { ModuleProxy } from "./proxy.ts";
import { createHandler } from "./server.ts";
import type { ModuleSource } from "./source.ts";
import { Store } from "./store.ts";
import { createUpstream } from "./upstream.ts";

/** A pending blob untouched for this long is abandoned. */
const SWEEP_IDLE_MS = 10 * 60 * 1000;

/** A running Astera. */
export interface Astera {
  server: Deno.HttpServer<Deno.NetAddr>;
  proxy: ModuleProxy;
  store: Store;
  /** The base URL clients use, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops accepting, drains requests for up to `deadlineMs`, then closes the database. */
  close(deadlineMs?: number): Promise<void>;
}

/** Builds the private-module source; given by `main.ts` so the core does not depend on git. */
export type PrivateSourceFactory = (config: Config, log: Logger) => ModuleSource;

/**
 * Opens the database and starts serving. Throws (before listening) when the
 * database cannot be opened.
 *
 * @example
 * ```ts ignore
 * import { startAstera } from "./app.ts";
 * import { parseConfig } from "./config.ts";
 * import { createLogger } from "./log.ts";
 * const astera = await startAstera(parseConfig(["--listen", "127.0.0.1:0"], {}), createLogger());
 * console.log(astera.url);
 * await astera.close();
 * ```
 */
export function startAstera(
  config: Config,
  log: Logger,
  privateSource?: PrivateSourceFactory,
): Promise<Astera> {
  const store = Store.open(config.db);
  const upstream = createUpstream(config.upstream, { timeoutMs: config.upstreamTimeoutMs });
  const proxy = new ModuleProxy({
    store,
    upstream,
    privateModules: config.private && privateSource
      ? { patterns: config.private, source: privateSource(config, log) }
      : undefined,
    freshMs: config.freshMs,
    negativeMs: config.negativeMs,
    cacheBytes: config.cacheBytes,
    cacheTtlMs: config.cacheTtlMs,
    log,
  });
  // Blobs left by a crash or an abandoned download are invisible; reclaim their space now and
  // then. One written to in the last ten minutes may belong to a download under way (ours or a seed's).
  const sweep = () =>
    store.sweepPendingBlobs(SWEEP_IDLE_MS).then((swept) => {
      if (swept > 0) log.info("swept-pending-blobs", { count: swept });
    }).catch((error) => log.warn("sweep-failed", { error: String(error) }));
  sweep();
  const sweeper = setInterval(sweep, SWEEP_IDLE_MS);
  Deno.unrefTimer(sweeper);

  const handler = createHandler(proxy, log);
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: config.hostname,
        port: config.port,
        onListen: (addr) => {
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${addr.port}`;
          log.info("listening", {
            address: `${host}:${addr.port}`,
            db: config.db,
            upstream: config.upstreamText,
          });
          resolve({
            server,
            proxy,
            store,
            url,
            async close(deadlineMs = 10_000) {
              let timer: ReturnType<typeof setTimeout> | undefined;
              await Promise.race([
                server.shutdown(),
                new Promise((done) => timer = setTimeout(done, deadlineMs)),
              ]);
              clearTimeout(timer);
              await Promise.race([
                proxy.settle(),
                new Promise((done) => timer = setTimeout(done, 1000)),
              ]);
              clearTimeout(timer);
              clearInterval(sweeper);
              store.close();
            },
          });
        },
        onError: (error) => {
          log.error("handler-error", {
            error: error instanceof Error ? error.message : String(error),
          });
          return new Response("internal error\n", { status: 500 });
        },
      }, handler);
    } catch (error) {
      store.close();
      reject(error);
    }
  });
}
