/**
 * The command line and environment of `deno task serve`: every flag, its
 * environment variable and its default, in one table, with validation that
 * fails before anything listens.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { parseUpstreamList, UpstreamConfigError, type UpstreamEntry } from "./sources/mod.ts";
import { DEFAULT_RECLAIM_STEP } from "./proxy/reclaim.ts";
import { MIN_BUDGET_BYTES } from "./proxy/budget.ts";
import { isPostgresUrl } from "./store/mod.ts";

/** The server's configuration. */
export interface Config {
  hostname: string;
  port: number;
  db: string;
  upstream: UpstreamEntry[];
  freshMs: number;
  negativeMs: number;
  upstreamTimeoutMs: number;
  cacheBytes: number;
  /** Bytes of zip buffers an isolate lets go of between two requested collections; 0: V8 decides. */
  gcStepBytes: number;
  cacheTtlMs: number;
  /** With a PostgreSQL `--db`: how long a fetch lease outlives an instance that crashed (ms). */
  leaseTtlMs: number;
  private: string;
  gitDir: string;
  gitTtlMs: number;
  quiet: boolean;
  workers: number;
  /** Client connections open at once, over all isolates. */
  maxConnections: number;
  /** Prefetch along the module graph what the go command will ask next. */
  prefetch: boolean;
  /** Prefetches at once at most (below client fetches). */
  prefetchConcurrency: number;
  /** PEM certificate chain and key files: serve HTTPS; both set or both "". */
  tlsCert: string;
  tlsKey: string;
  /** htpasswd file of bcrypt entries; "" for no credentials. */
  authFile: string;
  /** Which requests need credentials when `authFile` is set. */
  authScope: "private" | "all";
  /** The disk budget (`--max-bytes`), or undefined for none. */
  maxBytes?: number;
}

/** A bad flag or environment value; the message is the one line to print. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** One flag: its environment variable, default, and meaning (the README's table is this). */
export interface FlagSpec {
  env: string;
  default: string;
  help: string;
}

/** Every flag of `deno task serve`. */
export const FLAGS: Record<string, FlagSpec> = {
  listen: {
    env: "ASTERA_LISTEN",
    default: "0.0.0.0:8080",
    help: "address to listen on, HOST:PORT",
  },
  db: {
    env: "ASTERA_DB",
    default: "./astera.db",
    help:
      "SQLite database file, created on first start, or postgres://USER@HOST:PORT/DBNAME shared by several instances",
  },
  upstream: {
    env: "ASTERA_UPSTREAM",
    default: "https://proxy.golang.org",
    help:
      "GOPROXY-style list of upstream proxies (`,` falls through on 404/410, `|` on any error; `off` = none)",
  },
  ttl: {
    env: "ASTERA_TTL",
    default: "5m",
    help: "freshness of list, @latest and query .info answers",
  },
  "negative-ttl": {
    env: "ASTERA_NEGATIVE_TTL",
    default: "1m",
    help: "how long a 404/410 answer is remembered",
  },
  "upstream-timeout": {
    env: "ASTERA_UPSTREAM_TIMEOUT",
    default: "30s",
    help:
      "wait for an upstream's response headers, and at most between two body chunks; an answer other than a zip must arrive whole within it",
  },
  "cache-bytes": {
    env: "ASTERA_CACHE_BYTES",
    default: "32MiB",
    help: "memory cache held strongly at most",
  },
  "gc-step": {
    env: "ASTERA_GC_STEP",
    default: `${DEFAULT_RECLAIM_STEP / 2 ** 20}MiB`,
    help:
      "collect garbage after each isolate let go of this many bytes of zip buffers (needs --expose-gc, as the serve task passes); 0 leaves it to V8: less CPU, a higher peak",
  },
  "cache-ttl": {
    env: "ASTERA_CACHE_TTL",
    default: "60s",
    help: "how long cached content stays strongly held",
  },
  "lease-ttl": {
    env: "ASTERA_LEASE_TTL",
    default: "30s",
    help:
      "with a PostgreSQL --db: how long another instance waits for the fetches of one that crashed",
  },
  private: {
    env: "ASTERA_PRIVATE",
    default: "",
    help: "GOPRIVATE-style patterns of modules served from git, never from the upstream",
  },
  "git-dir": { env: "ASTERA_GIT_DIR", default: "<db>-git", help: "directory of bare git mirrors" },
  "git-ttl": {
    env: "ASTERA_GIT_TTL",
    default: "<ttl, at most 1m>",
    help: "how long a git mirror is used before it is fetched again",
  },
  quiet: { env: "ASTERA_QUIET", default: "false", help: "log warnings and errors only" },
  workers: {
    env: "ASTERA_WORKERS",
    default: "auto",
    help:
      "isolates serving on the port; auto: 2 on a machine with 2 cores or more, else 1; each has its own memory cache",
  },
  "max-connections": {
    env: "ASTERA_MAX_CONNECTIONS",
    default: "4096",
    help:
      "client connections open at once, shared out among the isolates; when all are taken the longest-idle one is closed",
  },
  "max-bytes": {
    env: "ASTERA_MAX_BYTES",
    default: "none",
    help:
      "disk budget for the database's content, at least 16MiB: past it the least recently served zips are removed, down to 90%",
  },
  prefetch: {
    env: "ASTERA_PREFETCH",
    default: "on",
    help:
      "on: fetch in the background what the go command will ask next (required go.mods, then the zips of the graph being downloaded); off: only what clients ask",
  },
  "prefetch-concurrency": {
    env: "ASTERA_PREFETCH_CONCURRENCY",
    default: "8",
    help:
      "prefetches at once at most; a prefetch starts only while prefetches plus client fetches waiting for a source stay below it",
  },
  "tls-cert": {
    env: "ASTERA_TLS_CERT",
    default: "",
    help: "PEM certificate chain: serve HTTPS on --listen (with --tls-key); read again on SIGHUP",
  },
  "tls-key": { env: "ASTERA_TLS_KEY", default: "", help: "PEM private key of --tls-cert" },
  "auth-file": {
    env: "ASTERA_AUTH_FILE",
    default: "",
    help:
      "htpasswd file of bcrypt entries (htpasswd -B): users who may read what --auth-scope guards; read again when it changes",
  },
  "auth-scope": {
    env: "ASTERA_AUTH_SCOPE",
    default: "private",
    help:
      "private: --private modules and the status pages need credentials; all: everything but /healthz",
  },
};

/**
 * Parses flags, falling back to environment variables, then defaults.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig(["--listen", "127.0.0.1:9090", "--ttl", "30s"], {});
 * console.log(config.port, config.freshMs); // 9090 30000
 * ```
 */
export function parseConfig(args: string[], env: Record<string, string | undefined>): Config {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.keys(FLAGS).map((name) => [name, { type: name === "quiet" ? "boolean" : "string" }]),
      ) as Record<string, { type: "string" | "boolean" }>,
    }).values;
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message.split("\n")[0] : String(error));
  }
  const get = (name: string): string => {
    const value = values[name];
    if (typeof value === "string") return value;
    if (value === true) return "true";
    return env[FLAGS[name].env] ?? FLAGS[name].default;
  };
  const [hostname, port] = parseListen(get("listen"));
  const db = get("db");
  if (db === "") throw new ConfigError("--db must not be empty");
  let upstream: UpstreamEntry[];
  try {
    upstream = parseUpstreamList(get("upstream"));
  } catch (error) {
    throw new ConfigError(error instanceof UpstreamConfigError ? error.message : String(error));
  }
  const gitDirFlag = get("git-dir");
  const gitDir = gitDirFlag === "<db>-git"
    // Each instance on a shared PostgreSQL database keeps its own mirrors, in its directory.
    ? (db === ":memory:" || isPostgresUrl(db)
      ? join(Deno.cwd(), "astera-git")
      : join(dirname(db), `${basename(db)}-git`))
    : gitDirFlag;
  const quiet = get("quiet");
  if (quiet !== "true" && quiet !== "false") {
    throw new ConfigError(`--quiet: expected true or false, got ${quiet}`);
  }
  return {
    hostname,
    port,
    db,
    upstream,
    freshMs: parseDuration("ttl", get("ttl")),
    negativeMs: parseDuration("negative-ttl", get("negative-ttl")),
    upstreamTimeoutMs: parseDuration("upstream-timeout", get("upstream-timeout"), 1),
    cacheBytes: parseBytes("cache-bytes", get("cache-bytes")),
    gcStepBytes: parseBytes("gc-step", get("gc-step")),
    cacheTtlMs: parseDuration("cache-ttl", get("cache-ttl")),
    leaseTtlMs: parseDuration("lease-ttl", get("lease-ttl")),
    private: get("private"),
    gitDir,
    // A branch must not look older than --ttl promises, so the mirror is not kept longer by default.
    gitTtlMs: get("git-ttl") === FLAGS["git-ttl"].default
      ? Math.min(60_000, parseDuration("ttl", get("ttl")))
      : parseDuration("git-ttl", get("git-ttl")),
    quiet: quiet === "true",
    workers: parseWorkers(get("workers")),
    maxConnections: parseMaxConnections(get("max-connections")),
    prefetch: parseOnOff("prefetch", get("prefetch")),
    prefetchConcurrency: parsePrefetchConcurrency(get("prefetch-concurrency")),
    ...parseAccess(get),
    maxBytes: parseMaxBytes(get("max-bytes")),
  };
}

/**
 * `--max-bytes`: `none` (or empty) for no budget, else a size of at least
 * 16 MiB (see `proxy/budget.ts`). Throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { parseMaxBytes } from "./config.ts";
 * console.log(parseMaxBytes("1GiB"), parseMaxBytes("none")); // 1073741824 undefined
 * ```
 */
export function parseMaxBytes(text: string): number | undefined {
  if (text === "none" || text === "") return undefined;
  const bytes = parseBytes("max-bytes", text);
  if (bytes < MIN_BUDGET_BYTES) {
    throw new ConfigError(`--max-bytes ${JSON.stringify(text)}: must be at least 16MiB`);
  }
  return bytes;
}

function parseAccess(
  get: (name: string) => string,
): Pick<Config, "tlsCert" | "tlsKey" | "authFile" | "authScope"> {
  const tlsCert = get("tls-cert");
  const tlsKey = get("tls-key");
  if ((tlsCert === "") !== (tlsKey === "")) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  }
  const authFile = get("auth-file");
  const authScope = get("auth-scope");
  if (authScope !== "private" && authScope !== "all") {
    throw new ConfigError(`--auth-scope ${JSON.stringify(authScope)}: expected private or all`);
  }
  if (authScope === "all" && authFile === "") {
    throw new ConfigError("--auth-scope all needs --auth-file");
  }
  return { tlsCert, tlsKey, authFile, authScope };
}

/** What `--workers auto` means: a second isolate where there is a second core. */
const AUTO_WORKERS = 2;

function parseWorkers(text: string): number {
  if (text === "auto") return Math.max(1, Math.min(AUTO_WORKERS, navigator.hardwareConcurrency));
  if (!/^\d{1,2}$/.test(text) || Number(text) < 1 || Number(text) > 64) {
    throw new ConfigError(
      `--workers ${JSON.stringify(text)}: expected auto or a number from 1 to 64`,
    );
  }
  return Number(text);
}

function parseMaxConnections(text: string): number {
  // At least a few per isolate; at most what a file-descriptor table could hold.
  if (!/^\d{1,7}$/.test(text) || Number(text) < 16 || Number(text) > 1_000_000) {
    throw new ConfigError(
      `--max-connections ${JSON.stringify(text)}: expected a number from 16 to 1000000`,
    );
  }
  return Number(text);
}

function parseOnOff(flag: string, text: string): boolean {
  if (text !== "on" && text !== "off") {
    throw new ConfigError(`--${flag} ${JSON.stringify(text)}: expected on or off`);
  }
  return text === "on";
}

function parsePrefetchConcurrency(text: string): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 256) {
    throw new ConfigError(
      `--prefetch-concurrency ${JSON.stringify(text)}: expected a number from 1 to 256`,
    );
  }
  return Number(text);
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * Parses `HOST:PORT`, `:PORT` or `[v6]:PORT`.
 *
 * @example
 * ```ts
 * import { parseListen } from "./config.ts";
 * console.log(parseListen("[::1]:8080")); // ["::1", 8080]
 * ```
 */
export function parseListen(text: string): [string, number] {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(
      `--listen ${JSON.stringify(text)}: expected HOST:PORT, e.g. 0.0.0.0:8080`,
    );
  }
  return [match[1] ?? (match[2] || "0.0.0.0"), port];
}

/**
 * Parses a duration: `500ms`, `30s`, `5m`, `1h`, `1d`, or plain seconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./config.ts";
 * console.log(parseDuration("ttl", "5m")); // 300000
 * ```
 */
export function parseDuration(flag: string, text: string, minimumMs = 0): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    throw new ConfigError(
      `--${flag} ${JSON.stringify(text)}: expected a duration like 30s, 5m, 1h`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "s"]!;
  const ms = Math.round(Number(match[1]) * unit);
  if (ms < minimumMs) {
    throw new ConfigError(`--${flag} ${JSON.stringify(text)}: must be at least ${minimumMs} ms`);
  }
  return ms;
}

/**
 * Parses a size: `1048576`, `512KiB`, `64MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
 *
 * @example
 * ```ts
 * import { parseBytes } from "./config.ts";
 * console.log(parseBytes("cache-bytes", "64MiB")); // 67108864
 * ```
 */
export function parseBytes(flag: string, text: string): number {
  const match = /^(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!match) {
    throw new ConfigError(`--${flag} ${JSON.stringify(text)}: expected a size like 64MiB`);
  }
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
  };
  return Number(match[1]) * units[(match[2] ?? "b").toLowerCase()];
}

/** The `--help` text. */
export function usage(): string {
  const lines = [
    "usage: deno task serve [flags]",
    "",
    "flags (each also read from its environment variable):",
  ];
  for (const [name, spec] of Object.entries(FLAGS)) {
    lines.push(`  --${name.padEnd(17)} ${spec.env.padEnd(24)} default ${spec.default || '""'}`);
    lines.push(`      ${spec.help}`);
  }
  return lines.join("\n");
}
