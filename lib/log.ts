/**
 * One line per event on stderr: time, level, event, then `key=value` fields.
 * Values are quoted when they contain spaces; URLs lose any credentials.
 *
 * @module
 */

/** Fields of a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Where events go. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/**
 * A logger writing to stderr; `quiet` drops info lines.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const log = createLogger({ quiet: false });
 * log.info("listening", { address: "0.0.0.0:8080" });
 * ```
 */
export function createLogger(
  options: { quiet?: boolean; write?: (line: string) => void } = {},
): Logger {
  const write = options.write ?? ((line: string) => console.error(line));
  const emit = (level: string, event: string, fields: LogFields = {}) => {
    const parts = [new Date().toISOString(), level, event];
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      parts.push(`${key}=${formatValue(String(value))}`);
    }
    write(parts.join(" "));
  };
  return {
    info: (event, fields) => options.quiet ? undefined : emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * Removes `user:password@` (and `token@`) from any URL in free text (git's
 * messages, an error's), so credentials never reach a log line or an answer.
 * Everything from a scheme's `//` to the last `@` before the next `/` or
 * space goes: a password may hold quotes, `@` and the like, and removing a
 * little too much from a message is harmless. Where a URL is known by itself,
 * {@linkcode redactUrl} parses it instead.
 *
 * @example
 * ```ts
 * import { redactCredentials } from "./log.ts";
 * console.log(redactCredentials("fetch 'https://me:to'ken@git.corp.example/x' failed"));
 * // fetch 'https://git.corp.example/x' failed
 * ```
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/]*@/g, "$1");
}

/**
 * `url` without its user information, for naming an upstream or a clone URL
 * in a message: parsed as a URL, so the user name and password go whole
 * whatever characters they hold, and an `@` in the path stays. When the text
 * does not parse, or the parser reads a password with `#`, `?` or `/` as the
 * path (an `@` after a `:` there), everything between the scheme and the last
 * `@` goes.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./log.ts";
 * console.log(redactUrl("http://user:pa'ss@proxy.lan:3000")); // http://proxy.lan:3000
 * ```
 */
export function redactUrl(url: string): string {
  if (!url.includes("@")) return url;
  try {
    const parsed = new URL(url);
    const hadUser = parsed.username !== "" || parsed.password !== "";
    parsed.username = "";
    parsed.password = "";
    // The URL parser adds a "/" to a bare origin; keep the text as it was written.
    const shown = url.endsWith("/") ? parsed.href : parsed.href.replace(/\/$/, "");
    // An `@` after the host is the path's (`/go@v2`), unless no user information was found
    // and a `:` comes before it: then it is a password the parser read as a path
    // (`http://me:pa/ss@host`, `#` or `?` alike).
    const rest = parsed.pathname + parsed.search + parsed.hash;
    if (hadUser || !/:[^@]*@/.test(rest)) return shown;
  } catch {
    // Not a URL: the text rule below.
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(url)?.[0] ?? "";
  return scheme + url.slice(url.lastIndexOf("@") + 1);
}

function formatValue(value: string): string {
  const clean = redactCredentials(value).replace(/[\r\n]+/g, " ");
  return /[\s"=]/.test(clean) || clean === "" ? JSON.stringify(clean) : clean;
}
