/**
 * The git side of a module's repository: its tags and branches, and what a
 * revision names (cmd/go's `modfetch/codehost`, the git repo). Knows nothing
 * of modules: the module-level view over it is `coderepo.ts`.
 *
 * @module
 */
import { GitError } from "./run.ts";
import type { CommitInfo, GitMirror } from "./mirror.ts";
import { compare } from "../../mod/semver.ts";
import { MAX_GO_MOD } from "../../mod/zip.ts";

/**
 * The request names something that does not exist or cannot be served
 * (unknown module, revision or version, invalid pseudo-version, unzippable
 * tree). `status` is 404 for "not there", 410 for "there but refused".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError } from "./codehost.ts";
 * const err = new NotFoundError("example.com/m@v9.9.9: invalid version: unknown revision v9.9.9");
 * assert(err.status === 404);
 * assert(new NotFoundError("go.mod too large", 410).status === 410);
 * ```
 */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  readonly status: 404 | 410;
  constructor(message: string, status: 404 | 410 = 404) {
    super(message);
    this.status = status;
  }
}

/**
 * What the code host knows about a commit (cmd/go's codehost.RevInfo).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CodeRev } from "./codehost.ts";
 * const rev: CodeRev = {
 *   name: "a".repeat(40),
 *   short: "a".repeat(12),
 *   time: 1_600_000_000,
 *   version: "v1.0.0",
 *   tags: ["v1.0.0"],
 * };
 * assert(rev.short === rev.name.slice(0, 12));
 * ```
 */
export interface CodeRev {
  /** Full hash. */
  name: string;
  /** 12-hex short hash, as pseudo-versions carry. */
  short: string;
  /** Committer time in seconds. */
  time: number;
  /** The requested name if it is a tag on this commit, else the full hash. */
  version: string;
  /** Tags on this commit, sorted. */
  tags: string[];
}

const HEX = /^[0-9a-f]+$/;

/**
 * The git side of a repository: refs and commit lookups (cmd/go's codehost
 * git repo), over a fetched {@linkcode GitMirror}.
 *
 * @example
 * ```ts ignore
 * import { GitMirrors } from "./mirror.ts";
 * import { CodeHost } from "./codehost.ts";
 * const mirrors = new GitMirrors({ dir: "/tmp/astera-git", fetchTtlMs: 60_000 });
 * const code = new CodeHost(await mirrors.open("https://github.com/rsc/quote"));
 * console.log((await code.stat("v1.5.2")).name);
 * ```
 */
export class CodeHost {
  readonly mirror: GitMirror;
  constructor(mirror: GitMirror) {
    this.mirror = mirror;
  }

  /** Tags (names and commits) starting with `prefix`, sorted by name. */
  async tags(prefix: string): Promise<{ name: string; hash: string }[]> {
    const refs = await this.mirror.refs();
    const out: { name: string; hash: string }[] = [];
    for (const [ref, hash] of refs) {
      if (!ref.startsWith("refs/tags/")) continue;
      const name = ref.slice("refs/tags/".length);
      if (name.startsWith(prefix)) out.push({ name, hash });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Resolves a revision the way the go command does against a fresh remote:
   * tag, branch, HEAD, then a hex hash prefix (of a ref tip, or of any commit
   * reachable from the fetched branches and tags).
   */
  async stat(rev: string): Promise<CodeRev> {
    const refs = await this.mirror.refs();
    const named = refTarget(refs, rev);
    const commit = await this.#commit(named.hash !== "" ? named.hash : rev, rev);
    let version = named.version;
    if (commit.hash.startsWith(version)) version = commit.hash;
    const tags: string[] = [];
    for (const [ref, h] of refs) {
      if (h === commit.hash && ref.startsWith("refs/tags/")) {
        tags.push(ref.slice("refs/tags/".length));
      }
    }
    tags.sort();
    if (!tags.includes(version)) version = commit.hash;
    return {
      name: commit.hash,
      short: commit.hash.slice(0, 12),
      time: commit.time,
      version,
      tags,
    };
  }

  /** The commit `lookup` names; a revision git does not know is not found as `rev`. */
  async #commit(lookup: string, rev: string): Promise<CommitInfo> {
    let commit: CommitInfo | null = null;
    try {
      commit = await this.mirror.commit(lookup);
    } catch (err) {
      if (err instanceof GitError && err.exitCode === null && !err.timedOut) {
        throw new NotFoundError(`unknown revision ${rev}`);
      }
      throw err;
    }
    if (!commit) throw new NotFoundError(`unknown revision ${rev}`);
    return commit;
  }

  /** The commit HEAD names. */
  async latest(): Promise<CodeRev> {
    const head = (await this.mirror.refs()).get("HEAD");
    if (!head) throw new NotFoundError("no commits");
    return await this.stat(head);
  }

  /** A file at a commit, or null. */
  readFile(hash: string, file: string, max = MAX_GO_MOD): Promise<Uint8Array | null> {
    return this.mirror.readFile(hash, file, max + 1).then((d) => {
      if (d && d.byteLength > max) throw new NotFoundError(`${file} too large at ${hash}`, 410);
      return d;
    });
  }

  /** The highest allowed tag (with prefix) reachable from commit `hash`, or "". */
  async recentTag(
    hash: string,
    prefix: string,
    allowed: (tag: string) => Promise<boolean>,
  ): Promise<string> {
    let highest = "";
    for (const tag of await this.mirror.mergedTags(hash)) {
      if (!tag.startsWith(prefix)) continue;
      if (!(await allowed(tag))) continue;
      const sem = tag.slice(prefix.length);
      if (compare(sem, highest) > 0) highest = sem;
    }
    return highest === "" ? "" : prefix + highest;
  }
}

/**
 * What `rev` names among the refs: a tag, a branch, HEAD or a hash prefix of
 * a ref tip (`hash` "" when no tip has it: git is then asked for any commit).
 * `version` is `rev` for a tag, the hash for the rest.
 */
function refTarget(refs: Map<string, string>, rev: string): { hash: string; version: string } {
  if (refs.has(`refs/tags/${rev}`)) return { hash: refs.get(`refs/tags/${rev}`)!, version: rev };
  const tip = refs.get(`refs/heads/${rev}`) ?? (rev === "HEAD" ? refs.get("HEAD") : undefined);
  if (tip !== undefined) return { hash: tip, version: tip };
  if (rev.length < 7 || rev.length > 40 || !HEX.test(rev)) {
    throw new NotFoundError(`unknown revision ${rev}`);
  }
  let hash = "";
  for (const h of refs.values()) {
    if (!h.startsWith(rev)) continue;
    if (hash !== "" && hash !== h) throw new NotFoundError(`ambiguous revision ${rev}`);
    hash = h;
  }
  return { hash, version: hash !== "" ? hash : rev };
}
