/**
 * Checking HTTP Basic credentials against the bcrypt hashes of an htpasswd
 * file, at a cost a busy LAN can pay. bcrypt is slow on purpose (tens of
 * milliseconds here, more on a Pi), so a success is remembered for a while
 * per user, as the SHA-256 of the whole `Authorization` header, compared in
 * constant time: forty clients sending the same credentials thousands of
 * times cost one bcrypt run, and clients asking at once share it. An address
 * that keeps failing is refused for a while without any bcrypt run at all.
 * Passwords are never kept, only that digest.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import { BoundedMap } from "../util/bounded_map.ts";

/**
 * A valid bcrypt hash of a string nobody sends, at htpasswd's default cost:
 * an unknown user costs a bcrypt run too, so timing does not tell which users exist.
 */
const NO_SUCH_USER = "$2b$05$dIlpU6QZ5qsiXYU18xbQnOCv2PggDWgsZn8RD1DGHD/JFC/K4OtK2";

/**
 * How long things are remembered, and how many failures are allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CredentialLimits } from "./credentials.ts";
 * const limits: CredentialLimits = { verifiedMs: 300_000, maxFailures: 10, failureWindowMs: 300_000, blockMs: 300_000 };
 * assert(limits.maxFailures === 10);
 * ```
 */
export interface CredentialLimits {
  /** A verified header is trusted this long without bcrypt. */
  verifiedMs: number;
  /** Wrong credentials from one address, within `failureWindowMs`, before it is refused. */
  maxFailures: number;
  failureWindowMs: number;
  /** How long such an address gets 429. */
  blockMs: number;
}

const DEFAULT_LIMITS: CredentialLimits = {
  verifiedMs: 5 * 60_000,
  maxFailures: 10,
  failureWindowMs: 5 * 60_000,
  blockMs: 5 * 60_000,
};

/** Addresses whose failures are remembered at most (the oldest go first). */
const FAILURE_ADDRESSES = 4096;

/**
 * What a check found. `user` is the name sent, when one could be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Verdict } from "./credentials.ts";
 * const verdict: Verdict = { ok: false, reason: "wrong-password", user: "alice" };
 * assert(!verdict.ok);
 * ```
 */
export type Verdict =
  | { ok: true; user: string }
  | {
    ok: false;
    reason: "missing" | "malformed" | "unknown-user" | "wrong-password" | "blocked";
    user?: string;
    /** The address has just reached its limit of failures. */
    nowBlocked?: boolean;
    /** For `blocked`: seconds until it is lifted. */
    retryAfterS?: number;
  };

/**
 * Counters, for `/_astera/stats`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CredentialStats } from "./credentials.ts";
 * const stats: CredentialStats = { bcryptRuns: 1, remembered: 99, refused: 0, blocked: 0 };
 * assert(stats.bcryptRuns < stats.remembered);
 * ```
 */
export interface CredentialStats {
  /** Passwords checked with bcrypt. */
  bcryptRuns: number;
  /** Checks answered from a remembered success. */
  remembered: number;
  /** Missing, malformed or wrong credentials. */
  refused: number;
  /** Requests refused with 429 because their address failed too often. */
  blocked: number;
}

interface Verified {
  digest: Uint8Array;
  hash: string;
  until: number;
}

interface Failures {
  count: number;
  since: number;
  blockedUntil: number;
}

/**
 * Checks `Authorization: Basic …` headers against a set of bcrypt hashes.
 *
 * @example
 * ```ts
 * import { CredentialChecker } from "./credentials.ts";
 * const checker = new CredentialChecker(new Map([
 *   ["alice", "$2y$05$WTHHVX8eSn432vu.IQdGlOBDJQSsR5rY6Z/.Tx0XCtG9FZR2a7yoW"],
 * ]));
 * const header = `Basic ${btoa("alice:secret")}`;
 * console.log(await checker.check(header, "10.0.0.5")); // { ok: true, user: "alice" }
 * console.log(checker.check(header, "10.0.0.5")); // { ok: true, user: "alice" }, from memory
 * ```
 */
export class CredentialChecker {
  readonly stats: CredentialStats = { bcryptRuns: 0, remembered: 0, refused: 0, blocked: 0 };
  readonly limits: CredentialLimits;
  #users: Map<string, string>;
  /** The last success of each user (one entry per user: bounded by the file). */
  #verified = new Map<string, Verified>();
  /** bcrypt runs under way, by header digest: clients asking at once share one. */
  #pending = new Map<string, Promise<Verdict>>();
  #failures = new BoundedMap<string, Failures>(FAILURE_ADDRESSES);
  /** What an unknown user's password is checked against: a hash at the users' own cost. */
  #noSuchUser = NO_SUCH_USER;
  #now: () => number;

  constructor(
    users: Map<string, string>,
    limits: Partial<CredentialLimits> = {},
    now: () => number = () => performance.now(),
  ) {
    this.#users = users;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.#now = now;
    this.#matchCost();
  }

  /** Users and hashes from now on (a reloaded file); remembered successes of changed users lapse. */
  setUsers(users: Map<string, string>): void {
    this.#users = users;
    this.#matchCost();
    for (const [user, verified] of this.#verified) {
      if (users.get(user) !== verified.hash) this.#verified.delete(user);
    }
  }

  /**
   * Checks an `Authorization` header from `address`: synchronously when it
   * is missing, malformed, remembered or the address is refused; otherwise
   * through bcrypt.
   */
  check(header: string | undefined, address: string): Verdict | Promise<Verdict> {
    if (header === undefined) return this.#refused({ ok: false, reason: "missing" });
    const now = this.#now();
    const failures = this.#failures.get(address);
    if (failures && failures.blockedUntil > now) {
      this.stats.blocked++;
      const retryAfterS = Math.ceil((failures.blockedUntil - now) / 1000);
      return { ok: false, reason: "blocked", retryAfterS };
    }
    const sent = parseBasic(header);
    if (!sent) return this.#failed(address, { ok: false, reason: "malformed" });
    const digest = createHash("sha256").update(header).digest();
    const hash = this.#users.get(sent.user);
    const verified = this.#verified.get(sent.user);
    if (
      hash !== undefined && verified && verified.hash === hash && verified.until > now &&
      timingSafeEqual(verified.digest, digest)
    ) {
      this.stats.remembered++;
      return { ok: true, user: sent.user };
    }
    const key = digest.toString("hex");
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#verify(sent.user, sent.password, hash, digest)
        .finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending.then((verdict) =>
      verdict.ok ? (this.#failures.delete(address), verdict) : this.#failed(address, verdict)
    );
  }

  /** Makes the unknown users' hash as costly as the first user's (made in the background). */
  #matchCost(): void {
    const first = this.#users.values().next().value;
    const cost = first?.slice(4, 6);
    if (cost === undefined || cost === this.#noSuchUser.slice(4, 6)) return;
    bcrypt.hash(crypto.randomUUID(), Number(cost)).then((hash) => this.#noSuchUser = hash);
  }

  async #verify(
    user: string,
    password: string,
    hash: string | undefined,
    digest: Uint8Array,
  ): Promise<Verdict> {
    this.stats.bcryptRuns++;
    const matches = await bcrypt.compare(password, hash ?? this.#noSuchUser);
    if (hash === undefined) return { ok: false, reason: "unknown-user", user };
    if (!matches) return { ok: false, reason: "wrong-password", user };
    // The file may have changed during the run: remember only what still holds.
    if (this.#users.get(user) === hash) {
      this.#verified.set(user, { digest, hash, until: this.#now() + this.limits.verifiedMs });
    }
    return { ok: true, user };
  }

  /** Counts a failure of `address`; past the limit it is refused for a while. */
  #failed(address: string, verdict: Verdict & { ok: false }): Verdict {
    const now = this.#now();
    let failures = this.#failures.get(address);
    if (!failures || now - failures.since > this.limits.failureWindowMs) {
      failures = { count: 0, since: now, blockedUntil: 0 };
      this.#failures.set(address, failures);
    }
    if (++failures.count >= this.limits.maxFailures && failures.blockedUntil <= now) {
      failures.blockedUntil = now + this.limits.blockMs;
      // A new window starts once the block is over.
      failures.since = failures.blockedUntil;
      failures.count = 0;
      verdict = { ...verdict, nowBlocked: true };
    }
    return this.#refused(verdict);
  }

  #refused(verdict: Verdict): Verdict {
    this.stats.refused++;
    return verdict;
  }
}

const decoder = new TextDecoder();

/**
 * The user and password of a `Basic` header, or null when it is not one
 * (another scheme, bad base64, no colon).
 *
 * @example
 * ```ts
 * import { parseBasic } from "./credentials.ts";
 * console.log(parseBasic(`Basic ${btoa("alice:s3:cret")}`)); // { user: "alice", password: "s3:cret" }
 * console.log(parseBasic("Bearer abc")); // null
 * ```
 */
export function parseBasic(header: string): { user: string; password: string } | null {
  const match = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!match) return null;
  let binary: string;
  try {
    binary = atob(match[1]);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  const text = decoder.decode(bytes);
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
