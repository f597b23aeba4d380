/**
 * Where a PostgreSQL store is: `postgres://USER@HOST:PORT/DBNAME` (or
 * `postgresql://`), and its password, taken as libpq takes it: from the URL,
 * else `PGPASSWORD`, else the passfile (`PGPASSFILE`, or `~/.pgpass`). The
 * password never leaves this module but in the connection settings: the URL
 * Astera shows (logs, stats, the status page) is {@linkcode shownUrl}.
 *
 * @module
 */

/**
 * Whether `db` (the `--db` flag) names a PostgreSQL database rather than an SQLite file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPostgresUrl } from "./postgres_url.ts";
 * assert(isPostgresUrl("postgres://astera@db.lan/astera"));
 * assert(!isPostgresUrl("./astera.db"));
 * ```
 */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * The connection settings of a PostgreSQL URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PostgresTarget } from "./postgres_url.ts";
 * const target: PostgresTarget = { host: "db.lan", port: 5432, database: "astera", user: "astera" };
 * assert(target.password === undefined);
 * ```
 */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
}

/**
 * The environment the password lookup reads (a parameter, so tests need no real one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PasswordSources } from "./postgres_url.ts";
 * const none: PasswordSources = { env: () => undefined, readFile: () => undefined };
 * assert(none.env("PGPASSWORD") === undefined);
 * ```
 */
export interface PasswordSources {
  env(name: string): string | undefined;
  readFile(path: string): string | undefined;
}

const processSources: PasswordSources = {
  env: (name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  },
  readFile: (path) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  },
};

/**
 * Parses `url` and finds its password. Throws a `TypeError` for a URL that
 * is not a PostgreSQL one (the message never holds the password).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { postgresTarget } from "./postgres_url.ts";
 * const target = postgresTarget("postgres://me:s3cret@db.lan:6432/cache");
 * assert(target.port === 6432 && target.database === "cache" && target.password === "s3cret");
 * ```
 */
export function postgresTarget(
  url: string,
  sources: PasswordSources = processSources,
): PostgresTarget {
  let parsed: URL;
  try {
    // The URL parser knows no postgres scheme; as http it reads the same parts.
    parsed = new URL(url.replace(/^postgres(ql)?:/i, "http:"));
  } catch {
    throw new TypeError(`not a PostgreSQL URL: ${shownUrl(url)}`);
  }
  if (!isPostgresUrl(url)) throw new TypeError(`not a PostgreSQL URL: ${shownUrl(url)}`);
  const host = decodeURIComponent(parsed.hostname) || "localhost";
  const port = parsed.port ? Number(parsed.port) : 5432;
  const user = decodeURIComponent(parsed.username) || sources.env("PGUSER") || "postgres";
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user;
  const target: PostgresTarget = { host, port, database, user };
  const password = parsed.password
    ? decodeURIComponent(parsed.password)
    : sources.env("PGPASSWORD") ?? passfilePassword(target, sources);
  if (password !== undefined) target.password = password;
  return target;
}

/**
 * The URL as Astera shows it: without user information, so never with the password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shownUrl } from "./postgres_url.ts";
 * assert(shownUrl("postgres://me:s3cret@db.lan/cache") === "postgres://db.lan/cache");
 * ```
 */
export function shownUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, "$1");
}

/** The password for `target` in the passfile, as libpq reads it (first match wins). */
function passfilePassword(target: PostgresTarget, sources: PasswordSources): string | undefined {
  const home = sources.env("HOME");
  const path = sources.env("PGPASSFILE") ?? (home ? `${home}/.pgpass` : undefined);
  const text = path === undefined ? undefined : sources.readFile(path);
  if (text === undefined) return undefined;
  const wanted = [target.host, String(target.port), target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = passfileFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === "*" || fields[i] === value)) {
      return fields.slice(4).join(":");
    }
  }
  return undefined;
}

/** A passfile line's fields: `:` separates, `\:` and `\\` escape. */
function passfileFields(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\\" && i + 1 < line.length) field += line[++i];
    else if (line[i] === ":" && fields.length < 4) {
      fields.push(field);
      field = "";
    } else field += line[i];
  }
  fields.push(field);
  return fields;
}
