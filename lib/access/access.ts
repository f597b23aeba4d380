/**
 * Who may read what, put together from the configuration: the TLS pair the
 * listeners serve, the htpasswd file and the guard in front of each handler.
 * Everything is read and checked before Astera listens; a bad file there is
 * a {@linkcode ConfigError} (exit 2). Later, SIGHUP reads both again.
 *
 * @module
 */
import { type Config, ConfigError } from "../config.ts";
import type { Handler } from "../http/mod.ts";
import type { Logger } from "../log.ts";
import { AuthFile } from "./auth_file.ts";
import { guardHandler } from "./guard.ts";
import { HtpasswdError } from "./htpasswd.ts";
import { type CheckedPair, readTlsPair, TlsFileError } from "./tls_files.ts";

/**
 * The access settings of a running Astera.
 *
 * @example
 * ```ts ignore
 * import { openAccess } from "./access.ts";
 * const access = await openAccess(config, log);
 * serveHttp({ ...options, tls: access.tls }, access.guard(handler));
 * ```
 */
export interface Access {
  /** The pair to serve, when `--tls-cert` is set. */
  tls?: CheckedPair;
  /** The watched `--auth-file`, when set. */
  auth?: AuthFile;
  /** `handler` behind the credential check, or `handler` itself without `--auth-file`. */
  guard(handler: Handler): Handler;
  /** Reads the TLS pair again; throws {@linkcode TlsFileError} (the old pair stays). */
  readTls(): Promise<CheckedPair | undefined>;
  close(): void;
}

/**
 * Reads and checks `--tls-cert`/`--tls-key` and `--auth-file`. Throws
 * {@linkcode ConfigError} with one line when one cannot be used.
 *
 * @example
 * ```ts ignore
 * import { openAccess } from "./access.ts";
 * const access = await openAccess(config, log);
 * ```
 */
export async function openAccess(config: Config, log: Logger): Promise<Access> {
  const readTls = async () =>
    config.tlsCert ? await readTlsPair(config.tlsCert, config.tlsKey) : undefined;
  let tls: CheckedPair | undefined;
  let auth: AuthFile | undefined;
  try {
    tls = await readTls();
    auth = config.authFile ? await AuthFile.open(config.authFile, log) : undefined;
  } catch (error) {
    if (error instanceof TlsFileError) throw new ConfigError(error.message);
    if (error instanceof HtpasswdError) throw new ConfigError(`--auth-file ${error.message}`);
    throw error;
  }
  if (auth && !tls) {
    log.warn("auth-without-tls", {
      advice:
        "passwords cross the network in clear: add --tls-cert and --tls-key, or put a TLS proxy in front",
    });
  }
  if (auth && config.authScope === "private" && !config.private) {
    log.warn("auth-scope-empty", {
      advice: "--auth-scope private without --private: only the status pages need credentials",
    });
  }
  return {
    tls,
    auth,
    guard: (handler) =>
      auth
        ? guardHandler(handler, {
          checker: auth.checker,
          scope: config.authScope,
          privatePatterns: config.private,
          log,
        })
        : handler,
    readTls,
    close: () => auth?.close(),
  };
}
