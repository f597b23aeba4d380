/**
 * Assembles a running Astera from a {@linkcode Config}: the store, the
 * sources, the proxy core and the HTTP server. `main.ts` calls this; so do the
 * tests that need a server in-process.
 *
 * @module
 */
import { type Access, openAccess } from "./access/mod.ts";
import type { Config } from "./config.ts";
import {
  createHandler,
  type HttpHandler,
  type HttpServer,
  type IsolateStats,
  serveHttp,
  textError,
} from "./http/mod.ts";
import type { Logger } from "./log.ts";
import { ModuleProxy, REPAIR_ADVICE, type RunningBudget, startBudget } from "./proxy/mod.ts";
import { answerZipQuestions } from "./isolates/shared_zip.ts";
import { reclaimer } from "./proxy/reclaim.ts";
import type { ModuleSource } from "./sources/source.ts";
import { openStore, shownDb, type Store } from "./store/mod.ts";
import { FORWARD_TOKEN_HEADER } from "./isolates/forwarder.ts";
import type { ReplicaMessage, ReplicaSettings } from "./isolates/replica.ts";
import { timingSafeEqual } from "node:crypto";
import { createUpstream, describeUpstreamList } from "./sources/mod.ts";
import { configurationOf, countingFetch, Observer } from "./observe/mod.ts";

/** A pending blob untouched for this long is abandoned. */
const SWEEP_IDLE_MS = 10 * 60 * 1000;

/** A running Astera. */
export interface Astera {
  server: HttpServer;
  proxy: ModuleProxy;
  store: Store;
  /** The disk budget, with `--max-bytes`. */
  budget?: RunningBudget;
  /** The base URL clients use, e.g. `http://127.0.0.1:8080` (`https://` with TLS). */
  url: string;
  /**
   * Reads the TLS pair and the auth file again (SIGHUP): new connections get
   * the new certificate, open ones keep theirs. A bad file keeps the old one
   * and is logged.
   */
  reload(): Promise<void>;
  /** Stops accepting, drains requests for up to `deadlineMs`, then closes the database. */
  close(deadlineMs?: number): Promise<void>;
}

/** Builds the private-module source; given by `main.ts` so the core does not depend on git. */
export type PrivateSourceFactory = (config: Config, log: Logger) => ModuleSource;

/** Settings of {@linkcode startAstera} that are not flags. */
export interface StartOptions {
  /** How often the status page's charts sample the counters (ms). Default 10 s. */
  statusSampleMs?: number;
}

/**
 * Opens the database and starts serving. Throws (before listening) when the
 * database cannot be opened, and a `ConfigError` when the TLS pair or the
 * auth file cannot be used.
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
export async function startAstera(
  config: Config,
  log: Logger,
  privateSource?: PrivateSourceFactory,
  options: StartOptions = {},
): Promise<Astera> {
  // Before anything is created or bound: a bad certificate or auth file is a bad flag.
  const access = await openAccess(config, log);
  reclaimer.stepBytes = config.gcStepBytes;
  let store: Store;
  try {
    store = await openStore(config.db, {
      leaseMs: config.leaseTtlMs,
      released: (bytes) => reclaimer.released(bytes),
    });
  } catch (error) {
    access.close();
    throw error;
  }
  // A page of garbage where every lookup starts says so now, not at the first 500 (a full
  // check reads every page: minutes on an SD card, so `deno task verify` does that).
  const damage = await store.probe();
  if (damage) {
    log.error("store-damaged", { db: shownDb(config.db), error: damage, advice: REPAIR_ADVICE });
  }
  const upstream = createUpstream(config.upstream, {
    timeoutMs: config.upstreamTimeoutMs,
    // Requests by outcome and bytes received, for /metrics and the status page.
    fetch: countingFetch(),
    onResume: (what, offset, size, reason) =>
      log.warn("upstream-resumed", { what, offset, size, reason }),
  });
  // Disk budget (lib/proxy/budget.ts): the primary evicts; every isolate pins and counts hits.
  const budget = config.maxBytes === undefined
    ? undefined
    : startBudget({ store, maxBytes: config.maxBytes, log });
  const proxy = new ModuleProxy({
    store,
    upstream,
    budget: budget && { pins: budget.pins, served: budget.served, stats: budget.stats },
    shouldPausePrefetch: budget && (() => budget.overBudget()),
    privateModules: config.private && privateSource
      ? { patterns: config.private, source: privateSource(config, log) }
      : undefined,
    freshMs: config.freshMs,
    negativeMs: config.negativeMs,
    cacheBytes: Math.floor(config.cacheBytes / config.workers),
    cacheTtlMs: config.cacheTtlMs,
    log,
    prefetch: config.prefetch ? { concurrency: config.prefetchConcurrency } : undefined,
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

  let replicas: Replica[] = [];
  const observer = new Observer({
    collect: async () => [handler.isolateStats(), ...await replicaStats(replicas)],
    databaseSize: () => proxy.databaseSize(),
    // The budget's own count of stored bytes (pages in use) and its ceiling.
    storedBytes: budget && (() => budget.stats().storedBytes),
    budgetBytes: config.maxBytes ?? null,
    // Asked only once serving, so the server and its port (chosen for port 0) are known.
    configuration: () => configurationOf(config, server.addr),
    sampleMs: options.statusSampleMs,
  });
  const replicaCount = config.workers - 1;
  // /healthz says "up" once every isolate listens: the primary listens first.
  let replicasListening = replicaCount === 0;
  const handler = createHandler(
    proxy,
    log,
    undefined,
    () => replicaStats(replicas),
    observer,
    () =>
      replicasListening
        ? undefined
        : `starting: ${replicaCount} of ${config.workers} isolates not listening yet`,
  );
  // The kernel spreads connections evenly over the isolates' sockets; so is the limit.
  const maxConnections = Math.ceil(config.maxConnections / config.workers);
  // Replicas forward what they have not stored to the primary, over loopback.
  const onError = (event: string, error: unknown) =>
    log.error(event, {
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  // With credentials on, the unguarded loopback port must not serve other local processes.
  const forwardToken = access.auth ? crypto.randomUUID() : undefined;
  const internal = replicaCount > 0
    ? serveForwards(handler.forwarded, onError, forwardToken)
    : undefined;
  let server: HttpServer;
  // Replicas share the port, and a new certificate comes with a new listener beside the old.
  const reusePort = replicaCount > 0 || access.tls !== undefined;
  try {
    // With SO_REUSEPORT a second Astera would share the port silently: bind it alone first.
    const port = reusePort ? claimPort(config.hostname, config.port) : config.port;
    // serveHttp binds before it returns (and throws if it cannot), so addr is known here.
    server = listenOrExplain(config.hostname, port, () =>
      serveHttp({
        hostname: config.hostname,
        port,
        reusePort,
        tls: access.tls,
        maxConnections,
        onError,
      }, access.guard(handler)));
  } catch (error) {
    internal?.close();
    clearInterval(sweeper);
    await budget?.stop();
    store.close();
    access.close();
    throw error;
  }
  const addr = server.addr;
  observer.start();
  replicas = await startReplicas(replicaCount, proxy, {
    db: config.db,
    hostname: config.hostname,
    port: addr.port,
    primary: internal ? `http://127.0.0.1:${internal.addr.port}` : "",
    forwardToken,
    freshMs: config.freshMs,
    negativeMs: config.negativeMs,
    // --cache-bytes is the whole budget, shared out among the isolates.
    cacheBytes: Math.floor(config.cacheBytes / config.workers),
    cacheTtlMs: config.cacheTtlMs,
    gcStepBytes: config.gcStepBytes,
    quiet: config.quiet,
    maxConnections,
    tls: access.tls && { cert: access.tls.cert, key: access.tls.key },
    auth: access.auth && {
      users: [...access.auth.users()],
      scope: config.authScope,
      private: config.private,
    },
    budget: budget && { pins: budget.pins.buffer },
    prefetch: config.prefetch,
  }, log);
  replicasListening = true;
  // A replica's batches of hits join the primary's (disk budget), and its asks prefetching's.
  for (const { worker } of replicas) {
    worker.addEventListener("message", (event: MessageEvent<ReplicaMessage>) => {
      if (event.data.type === "served") budget?.merge(event.data.hits);
      else if (event.data.type === "asked") proxy.replicaAsked(event.data.asks);
    });
  }
  if (access.auth) {
    access.auth.onUsers = (users) => tellReplicas(replicas, { type: "users", users: [...users] });
  }
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  log.info("listening", {
    address: `${host}:${addr.port}`,
    db: shownDb(config.db),
    upstream: describeUpstreamList(config.upstream),
    workers: replicas.length + 1,
    tls: access.tls && `certificate valid until ${access.tls.validTo}`,
    auth: access.auth && `${config.authFile} (scope ${config.authScope})`,
  });
  const scheme = access.tls ? "https" : "http";
  return {
    server,
    proxy,
    store,
    budget,
    url: `${scheme}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${addr.port}`,
    reload: () => reload(access, server, replicas, log),
    async close(deadlineMs = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Every isolate drains at once, under one deadline; the replicas may still ask this one
      // (over loopback and their zip ports) meanwhile, so those stay open until the end.
      await Promise.race([
        Promise.all([stopReplicas(replicas), server.shutdown()]),
        new Promise((done) => timer = setTimeout(done, deadlineMs)),
      ]);
      clearTimeout(timer);
      // Whatever did not finish within the deadline is cut off.
      for (const { worker, zips } of replicas) {
        worker.terminate();
        zips.close();
      }
      server.close();
      internal?.close();
      proxy.stopPrefetching();
      await Promise.race([
        proxy.settle(),
        new Promise((done) => timer = setTimeout(done, 1000)),
      ]);
      clearTimeout(timer);
      clearInterval(sweeper);
      observer.stop();
      access.close();
      await budget?.stop();
      store.close();
    },
  };
}

/** SIGHUP: the TLS pair and the auth file again, for this isolate and the replicas. */
async function reload(
  access: Access,
  server: HttpServer,
  replicas: Replica[],
  log: Logger,
): Promise<void> {
  await access.auth?.reload();
  if (!access.tls) return;
  try {
    const pair = await access.readTls();
    if (!pair) return;
    const tls = { cert: pair.cert, key: pair.key };
    server.replaceCertificate(tls);
    tellReplicas(replicas, { type: "tls", tls });
    log.info("tls-reloaded", { valid: `until ${pair.validTo}` });
  } catch (error) {
    log.error("tls-reload-failed", {
      error: error instanceof Error ? error.message : String(error),
      kept: "the certificate in use",
    });
  }
}

function tellReplicas(replicas: Replica[], message: ReplicaMessage): void {
  for (const { worker } of replicas) worker.postMessage(message);
}

/**
 * The primary's loopback server for what the replicas forward. Every forward
 * comes from 127.0.0.1 over pooled connections, so it has no per-address cap:
 * with one, pooled connections idle beyond it would be closed at once, and a
 * forward reusing one just then would fail. Given a `token`, requests
 * without it in {@linkcode FORWARD_TOKEN_HEADER} get 403: the replicas
 * checked credentials, this server does not.
 */
export function serveForwards(
  handler: HttpHandler,
  onError: (event: string, error: unknown) => void,
  token?: string,
): HttpServer {
  const expected = token === undefined ? undefined : new TextEncoder().encode(token);
  const checked: HttpHandler = expected
    ? (request) => {
      const sent = new TextEncoder().encode(request.headers[FORWARD_TOKEN_HEADER] ?? "");
      return sent.byteLength === expected.byteLength && timingSafeEqual(sent, expected)
        ? handler(request)
        : textError(403, "forbidden: this port answers Astera's own isolates only");
    }
    : handler;
  return serveHttp(
    { hostname: "127.0.0.1", port: 0, maxWaitingPerAddress: Infinity, onError },
    checked,
  );
}

/** The port cannot be listened on (held by another process, or not ours to bind); the message is the line to print. */
export class ListenError extends Error {
  override name = "ListenError";
}

/**
 * Binds `hostname:port` without `SO_REUSEPORT`, which fails while any other
 * socket listens there (with or without it), and lets go of it at once; the
 * isolates then bind it with `SO_REUSEPORT`. Returns the port (the one chosen
 * for port 0). Throws {@linkcode ListenError}.
 */
function claimPort(hostname: string, port: number): number {
  const probe = listenOrExplain(hostname, port, () => Deno.listen({ hostname, port }));
  const claimed = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return claimed;
}

/** Runs `listen`, turning a failure into a {@linkcode ListenError} that says which address and why. */
function listenOrExplain<T>(hostname: string, port: number, listen: () => T): T {
  try {
    return listen();
  } catch (error) {
    const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the port is in use by another process"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ListenError(`cannot listen on ${address}: ${reason}`);
  }
}

/** A running replica isolate, and the port on which it asks for zips. */
interface Replica {
  worker: Worker;
  zips: MessagePort;
}

/** Starts `count` replica workers; one that fails is logged and left out. */
async function startReplicas(
  count: number,
  proxy: ModuleProxy,
  settings: ReplicaSettings,
  log: Logger,
): Promise<Replica[]> {
  const module = new URL("./isolates/replica.ts", import.meta.url);
  if (count > 0 && module.protocol === "file:") {
    try {
      Deno.statSync(module);
    } catch {
      // deno task bundle makes one file without it; the compiled binary includes it.
      log.warn("replicas-unavailable", {
        reason: `${module.pathname} not found beside this build`,
        workers: 1,
      });
      return [];
    }
  }
  const started = await Promise.all(Array.from({ length: count }, async () => {
    const worker = new Worker(module.href, { type: "module" });
    const channel = new MessageChannel();
    answerZipQuestions(channel.port1, proxy);
    const outcome = await new Promise<ReplicaMessage | { type: "failed"; error: string }>(
      (resolve) => {
        worker.onmessage = (event: MessageEvent<ReplicaMessage>) => resolve(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          resolve({ type: "failed", error: event.message });
        };
        worker.postMessage(
          { type: "start", settings, zips: channel.port2 } satisfies ReplicaMessage,
          [channel.port2],
        );
      },
    );
    if (outcome.type === "ready") {
      // Later failures too are one line each, not silence.
      worker.onerror = (event) => {
        event.preventDefault();
        log.error("replica-error", { error: event.message });
      };
      return { worker, zips: channel.port1 };
    }
    log.warn("replica-failed", { error: outcome.type === "failed" ? outcome.error : outcome.type });
    worker.terminate();
    channel.port1.close();
    return undefined;
  }));
  return started.filter((replica): replica is Replica => replica !== undefined);
}

let statsRequests = 0;

/** Each replica's counters; one that does not answer within a second is left out. */
function replicaStats(replicas: Replica[]): Promise<IsolateStats[]> {
  return Promise.all(replicas.map(({ worker }) => {
    const id = ++statsRequests;
    return new Promise<IsolateStats | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), 1000);
      const onMessage = (event: MessageEvent<ReplicaMessage>) => {
        if (event.data.type === "stats" && event.data.id === id) done(event.data.stats);
      };
      const done = (stats: IsolateStats | undefined) => {
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        resolve(stats);
      };
      worker.addEventListener("message", onMessage);
      worker.postMessage({ type: "stats-request", id } satisfies ReplicaMessage);
    });
  })).then((all) => all.filter((stats): stats is IsolateStats => stats !== undefined));
}

/** Asks each replica to stop serving, and resolves once all have drained their requests. */
async function stopReplicas(replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map(({ worker }) =>
    new Promise<void>((resolve) => {
      worker.onmessage = (event: MessageEvent<ReplicaMessage>) => {
        if (event.data.type === "stopped") resolve();
      };
      worker.postMessage({ type: "stop" } satisfies ReplicaMessage);
    })
  ));
}
