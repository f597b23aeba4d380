/**
 * The one point where a request that memory and the store cannot serve
 * would start a fetch, and the one place that tells the primary isolate
 * from a replica (`storedOnly`). The primary fetches. A replica never does,
 * so that single-flight spans every isolate: it reads the stored answer
 * again (the primary may have refreshed it meanwhile), serves it if that is
 * servable now, and otherwise leaves the request to the primary (for a zip,
 * by following the primary's download).
 *
 * @module
 */
import type { StoredAnswer } from "../store/mod.ts";
import type { ProxyMemory } from "./memory.ts";
import { MISS, type Reply } from "./reply.ts";

/**
 * A request memory and the store could not serve: the stored answer it
 * found (stale, or none), and which stored answer would serve it.
 *
 * @example
 * ```ts ignore
 * import type { Unserved } from "./fetch_start.ts";
 * const unserved: Unserved = { kind: "list", module, key: "", stale: stored,
 *   serve: (answer) => memory.isFresh(answer) ? answerReply(answer) : undefined };
 * ```
 */
export interface Unserved {
  kind: string;
  module: string;
  key: string;
  /** The stored answer found, not servable (stale); undefined if none is stored. */
  stale: StoredAnswer | undefined;
  /** The reply a stored answer gives when it is servable; undefined when it is not. */
  serve(answer: StoredAnswer): Reply | undefined;
}

/**
 * Starts a fetch for an unserved request: `fetch` in the primary; in a
 * replica, the stored answer read again or `fromPrimary` (by default a
 * `miss`: the request is forwarded to the primary).
 *
 * @example
 * ```ts ignore
 * import { fetchStart } from "./fetch_start.ts";
 * const start = fetchStart(false, memory);
 * const reply = await start(unserved, () => fetchFromSource());
 * ```
 */
export type FetchStart = (
  unserved: Unserved,
  fetch: () => Promise<Reply>,
  fromPrimary?: () => Promise<Reply>,
) => Promise<Reply>;

/**
 * The fetch start of a primary isolate (`storedOnly` false) or of a replica.
 *
 * @example
 * ```ts ignore
 * import { fetchStart } from "./fetch_start.ts";
 * const start = fetchStart(options.storedOnly ?? false, memory);
 * ```
 */
export function fetchStart(storedOnly: boolean, memory: ProxyMemory): FetchStart {
  if (!storedOnly) return (_unserved, fetch) => fetch();
  return async (unserved, _fetch, fromPrimary = () => Promise.resolve(MISS)) => {
    const { kind, module, key, stale, serve } = unserved;
    // Only a stale answer is read again: one not stored was just looked for.
    const reread = stale && await memory.reread(kind, module, key);
    const reply = reread && serve(reread);
    return reply ? reply : await fromPrimary();
  };
}
