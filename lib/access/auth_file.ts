/**
 * The `--auth-file` while Astera runs: read at start (where a bad file stops
 * it), then read again whenever it changes, polled by size, time and inode
 * (an editor or `htpasswd` may replace the file rather than write it, which
 * a watch on the old inode would miss), and on SIGHUP. A file that has
 * become bad keeps the users of the last good one, and the log says why.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { errorText } from "../util/errors.ts";
import { CredentialChecker, type CredentialLimits } from "./credentials.ts";
import { readHtpasswd } from "./htpasswd.ts";

/** How often the file is looked at. */
const POLL_MS = 2000;

/**
 * A watched htpasswd file and the checker it feeds.
 *
 * @example
 * ```ts ignore
 * import { AuthFile } from "./auth_file.ts";
 * const auth = await AuthFile.open("/etc/astera/users", log);
 * auth.onUsers = (users) => console.log(users.size);
 * await auth.reload();
 * auth.close();
 * ```
 */
export class AuthFile {
  readonly checker: CredentialChecker;
  /** Told about each good new version of the file (the replicas get it this way). */
  onUsers?: (users: Map<string, string>) => void;
  #users: Map<string, string>;
  #signature: string;
  #timer: ReturnType<typeof setInterval>;
  #reading: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    readonly log: Logger,
    users: Map<string, string>,
    signature: string,
    pollMs: number,
    limits: Partial<CredentialLimits>,
  ) {
    this.checker = new CredentialChecker(users, limits);
    this.#users = users;
    this.#signature = signature;
    this.#timer = setInterval(() => this.#poll(), pollMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Reads the file; throws {@linkcode HtpasswdError} when it cannot be used. */
  static async open(
    path: string,
    log: Logger,
    options: { pollMs?: number; limits?: Partial<CredentialLimits> } = {},
  ): Promise<AuthFile> {
    const signature = await signatureOf(path);
    const users = await readHtpasswd(path);
    return new AuthFile(
      path,
      log,
      users,
      signature,
      options.pollMs ?? POLL_MS,
      options.limits ?? {},
    );
  }

  /** The users and hashes in force: the last good version of the file. */
  users(): ReadonlyMap<string, string> {
    return this.#users;
  }

  /** Reads the file again now, changed or not. */
  reload(): Promise<void> {
    return this.#read(undefined);
  }

  /** Stops watching. */
  close(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    if (this.#reading) return;
    const signature = await signatureOf(this.path);
    if (signature !== this.#signature) await this.#read(signature);
  }

  #read(signature: string | undefined): Promise<void> {
    const read = async () => {
      const seen = signature ?? await signatureOf(this.path);
      // Remembered even when bad: a bad file is reported once, not at every poll.
      this.#signature = seen;
      try {
        const users = await readHtpasswd(this.path);
        this.checker.setUsers(users);
        this.#users = users;
        this.onUsers?.(users);
        this.log.info("auth-file-reloaded", { path: this.path, users: users.size });
      } catch (error) {
        this.log.error("auth-file-rejected", {
          error: errorText(error),
          kept: "the users of the last good version",
        });
      }
    };
    this.#reading = read().finally(() => this.#reading = undefined);
    return this.#reading;
  }
}

/** What changes when the file does; "missing" while it is not there. */
async function signatureOf(path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    return `${info.size}:${info.mtime?.getTime()}:${info.ino}`;
  } catch {
    return "missing";
  }
}
