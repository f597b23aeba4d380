/**
 * The configuration as the status page shows it: what a person checking the
 * server wants to confirm, never a credential (the upstream list is shown as
 * `describeUpstreamList` redacts it).
 *
 * @module
 */
import type { Config } from "../config.ts";
import { describeUpstreamList } from "../sources/upstream.ts";
import { shownDb } from "../store/mod.ts";

/**
 * The shown settings, in the order the page lists them, as text; `bound` is
 * the address listened on (with the port chosen for port 0), when known.
 *
 * @example
 * ```ts
 * import { configurationOf } from "./configuration.ts";
 * import { parseConfig } from "../config.ts";
 * const shown = configurationOf(parseConfig(["--upstream", "https://me:secret@proxy.lan"], {}));
 * console.log(shown.upstream); // https://proxy.lan
 * ```
 */
export function configurationOf(config: Config, bound?: Deno.NetAddr): Record<string, string> {
  const hostname = bound?.hostname ?? config.hostname;
  return {
    listen: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${bound?.port ?? config.port}`,
    upstream: describeUpstreamList(config.upstream),
    private: config.private || "(none)",
    database: shownDb(config.db),
    workers: String(config.workers),
    "fresh for": duration(config.freshMs),
    "not-found kept": duration(config.negativeMs),
    "upstream timeout": duration(config.upstreamTimeoutMs),
    "memory cache": `${Math.round(config.cacheBytes / 2 ** 20)} MiB`,
    "disk budget": config.maxBytes === undefined
      ? "none"
      : `${Math.round(config.maxBytes / 2 ** 20)} MiB`,
    ...(config.private
      ? { "git mirrors": config.gitDir, "git fetch every": duration(config.gitTtlMs) }
      : {}),
  };
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
