/**
 * Who may read what: HTTPS with a certificate Astera reads again on SIGHUP
 * (`tls_files.ts`), users from an htpasswd file of bcrypt entries
 * (`htpasswd.ts`, watched by `auth_file.ts`), Basic credentials checked at a
 * cost a LAN can pay (`credentials.ts`), and the guard that decides which
 * requests need them (`guard.ts`). `access.ts` puts them together from the
 * configuration. Code outside `lib/access/` imports from here.
 *
 * @example
 * ```ts
 * import { needsCredentials, parseBasic } from "./mod.ts";
 * console.log(needsCredentials("/_astera/stats", "private", "git.corp.example")); // true
 * console.log(parseBasic(`Basic ${btoa("alice:secret")}`)?.user); // alice
 * ```
 *
 * @module
 */
export { type Access, openAccess } from "./access.ts";
export { AuthFile } from "./auth_file.ts";
export {
  CredentialChecker,
  type CredentialLimits,
  type CredentialStats,
  parseBasic,
  type Verdict,
} from "./credentials.ts";
export { type AuthScope, guardHandler, type GuardOptions, needsCredentials } from "./guard.ts";
export { HtpasswdError, parseHtpasswd, readHtpasswd } from "./htpasswd.ts";
export { type CheckedPair, readTlsPair, TlsFileError } from "./tls_files.ts";
