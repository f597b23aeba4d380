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
 * Removes `user:password@` (and `token@`) from any URL in `text`, so
 * credentials never reach a log line or an answer.
 *
 * @example
 * ```ts
 * import { redactCredentials } from "./log.ts";
 * console.log(redactCredentials("fetch https://me:token@git.corp.example/x failed"));
 * // fetch https://git.corp.example/x failed
 * ```
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/\s@'"]*@/g, "$1");
}

function formatValue(value: string): string {
  const clean = redactCredentials(value).replace(/[\r\n]+/g, " ");
  return /[\s"=]/.test(clean) || clean === "" ? JSON.stringify(clean) : clean;
}
