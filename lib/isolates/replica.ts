/**
 * Replica isolates: `--workers N` runs N-1 of them beside the main one, all
 * listening on the same port (`SO_REUSEPORT`: the kernel spreads connections),
 * so that serving uses more than one core. A replica opens its own connection
 * to the database and serves whatever is stored (and fresh) from it and from
 * its own memory cache. A zip not stored yet it streams from the database
 * while the primary downloads it (`sharedzip.ts`); anything else it forwards
 * to the primary isolate over loopback (`forwarder.ts`), which fetches,
 * coalesces and stores as always, so every artifact still leaves the upstream
 * once.
 *
 * @module
 */
import { type AuthScope, CredentialChecker, guardHandler } from "../access/mod.ts";
import { createHandler, type IsolateStats, serveHttp, type TlsKeyPair } from "../http/mod.ts";
import { createLogger } from "../log.ts";
import {
  type Ask,
  AskReport,
  type BatchedHit,
  ModuleProxy,
  ServedLog,
  ZipPins,
} from "../proxy/mod.ts";
import { createForwarder } from "./forwarder.ts";
import { askPrimaryForZips } from "./shared_zip.ts";
import { reclaimer } from "../proxy/reclaim.ts";
import { openStore } from "../store/mod.ts";
import { createUpstream } from "../sources/mod.ts";

/** What the primary tells a replica when it starts it. */
export interface ReplicaSettings {
  db: string;
  hostname: string;
  port: number;
  /** The primary's loopback URL for what the replica has not stored. */
  primary: string;
  /** Sent with each forward: with credentials on, the loopback port answers only the isolates. */
  forwardToken?: string;
  freshMs: number;
  negativeMs: number;
  cacheBytes: number;
  cacheTtlMs: number;
  gcStepBytes: number;
  quiet: boolean;
  /** This isolate's share of `--max-connections`. */
  maxConnections: number;
  /** The primary's certificate and key, when it serves TLS. */
  tls?: TlsKeyPair;
  /** The users of `--auth-file` (the primary reads and watches it) and what they guard. */
  auth?: { users: [string, string][]; scope: AuthScope; private: string };
  /** Whether the primary prefetches: then it hears what clients asked here. */
  prefetch?: boolean;
  /** Disk budget: the pins every isolate shares (see `proxy/pins.ts`). */
  budget?: { pins: SharedArrayBuffer };
}

/** Messages between the primary and a replica. */
export type ReplicaMessage =
  /** `zips`: where to ask the primary for zips not stored (see `sharedzip.ts`). */
  | { type: "start"; settings: ReplicaSettings; zips?: MessagePort }
  | { type: "stop" }
  /** The primary asks for the replica's counters; the replica answers `stats` with the same id. */
  | { type: "stats-request"; id: number }
  | { type: "stats"; id: number; stats: IsolateStats }
  /** SIGHUP: a new certificate for new connections. */
  | { type: "tls"; tls: TlsKeyPair }
  /** The auth file changed: these users from now on. */
  | { type: "users"; users: [string, string][] }
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; error: string }
  /** Disk budget: a batch of zips this replica served, for the primary to write. */
  | { type: "served"; hits: BatchedHit[] }
  /** Client asks the replica answered itself, for the primary's prefetching (see `ask_report.ts`). */
  | { type: "asked"; asks: Ask[] };

/** A replica serving: its counters, and how to stop it. */
export interface RunningReplica {
  stats(): IsolateStats;
  /** Serves new connections with this pair. */
  replaceCertificate(tls: TlsKeyPair): void;
  /** The users of a changed auth file. */
  setUsers(users: [string, string][]): void;
  stop(): Promise<void>;
}

/**
 * Starts serving as a replica.
 *
 * @example
 * ```ts ignore
 * import { startReplica } from "./replica.ts";
 * const replica = await startReplica(settings);
 * await replica.stop();
 * ```
 */
export async function startReplica(
  settings: ReplicaSettings,
  zips?: MessagePort,
  report?: (message: ReplicaMessage) => void,
): Promise<RunningReplica> {
  const log = createLogger({ quiet: settings.quiet });
  reclaimer.stepBytes = settings.gcStepBytes;
  const store = await openStore(settings.db, {
    released: (bytes) => reclaimer.released(bytes),
  });
  // Disk budget: pins shared with every isolate; hits go to the primary in batches.
  const hits = settings.budget &&
    new ServedLog({ flush: (batch) => report?.({ type: "served", hits: batch }) });
  // Prefetching runs in the primary: it hears what this replica served itself.
  const asks = !settings.prefetch ? undefined : new AskReport({
    send: (batch) => report?.({ type: "asked", asks: batch }),
    now: Date.now,
  });
  const proxy = new ModuleProxy({
    store,
    // Never asked: a replica in stored-only mode forwards instead of fetching.
    upstream: createUpstream([{ url: "off", fallThroughOnError: false }], { timeoutMs: 1 }),
    freshMs: settings.freshMs,
    negativeMs: settings.negativeMs,
    cacheBytes: settings.cacheBytes,
    cacheTtlMs: settings.cacheTtlMs,
    log,
    storedOnly: true,
    primaryZip: zips ? askPrimaryForZips(zips) : undefined,
    reportAsk: asks
      ? (kind, module, version, cached) => asks.asked(kind, module, version, cached)
      : undefined,
    budget: settings.budget && hits && {
      pins: new ZipPins(settings.budget.pins, { trustEpoch: !store.leases }),
      served: (module, version) => hits.served(module, version),
    },
  });
  const handler = createHandler(
    proxy,
    log,
    createForwarder(settings.primary, settings.forwardToken),
  );
  const { auth } = settings;
  const checker = auth && new CredentialChecker(new Map(auth.users));
  const server = serveHttp(
    {
      hostname: settings.hostname,
      port: settings.port,
      reusePort: true,
      tls: settings.tls,
      maxConnections: settings.maxConnections,
      onError: (event, error) => log.error(event, { error: describe(error) }),
    },
    // The replica checks credentials itself: what it forwards, the primary answers unchecked.
    auth && checker
      ? guardHandler(handler, { checker, scope: auth.scope, privatePatterns: auth.private, log })
      : handler,
  );
  return {
    stats: handler.isolateStats,
    replaceCertificate(tls) {
      try {
        server.replaceCertificate(tls);
        log.info("tls-reloaded", { isolate: "replica" });
      } catch (error) {
        log.error("tls-reload-failed", { isolate: "replica", error: describe(error) });
      }
    },
    setUsers: (users) => checker?.setUsers(new Map(users)),
    async stop() {
      await server.shutdown();
      await hits?.flush();
      asks?.flush();
      zips?.close();
      store.close();
    },
  };
}

if (import.meta.main) {
  // Running as a worker: the primary sends `start`, later `stop`.
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<ReplicaMessage>) => void) | null;
    postMessage(message: ReplicaMessage): void;
  };
  let running: RunningReplica | undefined;
  scope.onmessage = async (event) => {
    const message = event.data;
    try {
      if (message.type === "start") {
        running = await startReplica(
          message.settings,
          message.zips,
          (report) => scope.postMessage(report),
        );
        scope.postMessage({ type: "ready" });
      } else if (message.type === "stop") {
        await running?.stop();
        scope.postMessage({ type: "stopped" });
      } else if (message.type === "tls") {
        running?.replaceCertificate(message.tls);
      } else if (message.type === "users") {
        running?.setUsers(message.users);
      } else if (message.type === "stats-request" && running) {
        scope.postMessage({ type: "stats", id: message.id, stats: running.stats() });
      }
    } catch (error) {
      scope.postMessage({
        type: "failed",
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
