/**
 * Replica isolates: `--workers N` runs N-1 of them beside the main one, all
 * listening on the same port (`SO_REUSEPORT`: the kernel spreads connections),
 * so that serving uses more than one core. A replica opens its own connection
 * to the database and serves whatever is stored (and fresh) from it and from
 * its own memory cache; anything else it forwards to the primary isolate over
 * loopback, which fetches, coalesces and stores as always, so every artifact
 * still leaves the upstream once.
 *
 * @module
 */
import { textError } from "./http.ts";
import { createLogger } from "./log.ts";
import { ModuleProxy } from "./proxy.ts";
import { createHandler } from "./server.ts";
import { Store } from "./store.ts";
import { createUpstream } from "./upstream.ts";

/** What the primary tells a replica when it starts it. */
export interface ReplicaSettings {
  db: string;
  hostname: string;
  port: number;
  /** The primary's loopback URL for what the replica has not stored. */
  primary: string;
  freshMs: number;
  negativeMs: number;
  cacheBytes: number;
  cacheTtlMs: number;
  quiet: boolean;
}

/** Messages between the primary and a replica. */
export type ReplicaMessage =
  | { type: "start"; settings: ReplicaSettings }
  | { type: "stop" }
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; error: string };

/** Request headers that change what the primary answers; nothing else is passed on. */
const FORWARDED_HEADERS = ["range", "if-range", "if-none-match"];

/**
 * Makes the function a replica's handler calls for what it has not stored:
 * the same request to the primary, the answer streamed back as it comes.
 *
 * @example
 * ```ts ignore
 * import { createForwarder } from "./replica.ts";
 * const forward = createForwarder("http://127.0.0.1:40123");
 * const response = await forward(new Request("http://pi.lan:8080/golang.org/x/text/@v/list"));
 * ```
 */
export function createForwarder(primary: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    try {
      const response = await fetch(primary + url.pathname, { method: request.method, headers });
      return new Response(response.body, { status: response.status, headers: response.headers });
    } catch (error) {
      return textError(
        502,
        `primary isolate unreachable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
}

/**
 * Starts serving as a replica; resolves with a function that stops it.
 *
 * @example
 * ```ts ignore
 * import { startReplica } from "./replica.ts";
 * const stop = await startReplica(settings);
 * await stop();
 * ```
 */
export function startReplica(settings: ReplicaSettings): Promise<() => Promise<void>> {
  const log = createLogger({ quiet: settings.quiet });
  const store = Store.open(settings.db);
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
  });
  const handler = createHandler(proxy, log, createForwarder(settings.primary));
  const server = Deno.serve({
    hostname: settings.hostname,
    port: settings.port,
    reusePort: true,
    onListen() {},
  }, handler);
  return Promise.resolve(async () => {
    await server.shutdown();
    store.close();
  });
}

if (import.meta.main) {
  // Running as a worker: the primary sends `start`, later `stop`.
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<ReplicaMessage>) => void) | null;
    postMessage(message: ReplicaMessage): void;
  };
  let stop: (() => Promise<void>) | undefined;
  scope.onmessage = async (event) => {
    const message = event.data;
    try {
      if (message.type === "start") {
        stop = await startReplica(message.settings);
        scope.postMessage({ type: "ready" });
      } else if (message.type === "stop") {
        await stop?.();
        scope.postMessage({ type: "stopped" });
      }
    } catch (error) {
      scope.postMessage({
        type: "failed",
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
}
