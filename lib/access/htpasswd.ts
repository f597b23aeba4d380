/**
 * Reading an htpasswd file as `htpasswd -B` (Debian's `apache2-utils`)
 * writes it: one `user:hash` line per user, bcrypt hashes only. The weaker
 * schemes the same tool can write (MD5 `$apr1$`, crypt, SHA-1 `{SHA}`,
 * plain text) fall to a GPU in hours, so a file holding one is refused as a
 * whole, naming each such user and its scheme: a half-loaded file would lock
 * those users out with no word why.
 *
 * @module
 */

/** A bcrypt hash as `htpasswd -B` writes it (`$2y$`), or other bcrypt tools (`$2a$`, `$2b$`). */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * An htpasswd file that cannot be used; the message is one line naming the
 * file and what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HtpasswdError, parseHtpasswd } from "./htpasswd.ts";
 * try {
 *   parseHtpasswd("carol:$apr1$TNjlTuub$U4saJ2TPNcN7ANJZwm/Za/\n", "users");
 * } catch (error) {
 *   assert(error instanceof HtpasswdError && error.message.includes("carol"));
 * }
 * ```
 */
export class HtpasswdError extends Error {
  override name = "HtpasswdError";
}

/**
 * Parses htpasswd text into bcrypt hashes by user name. Blank lines and
 * lines starting with `#` are skipped. Throws {@linkcode HtpasswdError} for a
 * malformed line, a user named twice, an entry in a weaker scheme, or a file
 * without users; `source` names the file in the message.
 *
 * @example
 * ```ts
 * import { parseHtpasswd } from "./htpasswd.ts";
 * const users = parseHtpasswd(
 *   "alice:$2y$05$WTHHVX8eSn432vu.IQdGlOBDJQSsR5rY6Z/.Tx0XCtG9FZR2a7yoW\n",
 *   "/etc/astera/users",
 * );
 * console.log([...users.keys()]); // ["alice"]
 * ```
 */
export function parseHtpasswd(text: string, source: string): Map<string, string> {
  const users = new Map<string, string>();
  const weak: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new HtpasswdError(`${source} line ${i + 1}: expected user:hash, as htpasswd -B writes`);
    }
    const user = line.slice(0, colon);
    // htpasswd may append a comment field after a second colon; the hash ends there.
    const hash = line.slice(colon + 1).split(":")[0];
    if (users.has(user)) {
      throw new HtpasswdError(`${source} line ${i + 1}: user ${user} appears twice`);
    }
    if (BCRYPT.test(hash)) users.set(user, hash);
    else weak.push(`${user} (${schemeOf(hash)})`);
  }
  if (weak.length > 0) {
    throw new HtpasswdError(
      `${source}: only bcrypt entries are accepted; recreate with htpasswd -B: ${weak.join(", ")}`,
    );
  }
  if (users.size === 0) throw new HtpasswdError(`${source}: no users in it`);
  return users;
}

/** What a refused hash is, in the words an operator knows. */
function schemeOf(hash: string): string {
  if (hash.startsWith("$apr1$")) return "MD5 $apr1$ is too weak";
  if (hash.startsWith("{SHA}")) return "SHA-1 {SHA} is too weak";
  if (/^\$[156]\$/.test(hash)) return "crypt(3) MD5 or SHA-2 is too weak";
  if (/^\$2[aby]\$/.test(hash)) return "a malformed bcrypt hash";
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return "crypt DES is too weak, or a plain-text password";
  return "a plain-text password, or an unknown scheme";
}

/**
 * Reads and parses the htpasswd file at `path`. Throws
 * {@linkcode HtpasswdError} when it cannot be read or used.
 *
 * @example
 * ```ts ignore
 * import { readHtpasswd } from "./htpasswd.ts";
 * const users = await readHtpasswd("/etc/astera/users");
 * ```
 */
export async function readHtpasswd(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : String(error);
    throw new HtpasswdError(`${path}: cannot read: ${reason}`);
  }
  return parseHtpasswd(text, path);
}
