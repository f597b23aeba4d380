/**
 * Bare git mirrors of remote repositories, one directory per clone URL. A
 * mirror holds every branch and tag of its remote (and the commit its HEAD
 * names), is refreshed with `git fetch` when older than a TTL, and answers
 * the questions the go command asks of a repository — refs, commit info,
 * file blobs, ancestry, archives — from local data.
 *
 * Only `refs/heads/*` and `refs/tags/*` are fetched, never pull-request or
 * other refs, so a commit that is not on a branch or tag cannot be named.
 *
 * @module
 */
import { counters } from "../../observe/counters.ts";
import { isYoung } from "../../util/age.ts";
import { BoundedMap } from "../../util/bounded_map.ts";
import { SingleFlight } from "../../proxy/single_flight.ts";
import {
  checkGitArg,
  GitError,
  gitReason,
  type GitRunOptions,
  redactUrl,
  runGit,
  streamGit,
} from "./run.ts";

/** One file of a tree listing (see {@linkcode GitMirror.listTree}). */
export interface TreeListing {
  /** Path from the repository root. */
  path: string;
  type: "file" | "symlink" | "other";
  /** Blob size in bytes, before any checkout filter (eol) that an archive applies. */
  size: number;
}

/** Commit facts: what `git log -n1 --format=%H %ct` tells. */
export interface CommitInfo {
  /** Full commit hash. */
  hash: string;
  /** Committer time, whole seconds since the epoch. */
  time: number;
}

/**
 * The remote repository does not exist (or hides itself, as hosts do for
 * private repositories without credentials).
 *
 * @example
 * ```ts
 * import { RepoMissingError } from "./mirror.ts";
 * console.log(new RepoMissingError("repository not found").message);
 * ```
 */
export class RepoMissingError extends Error {
  override name = "RepoMissingError";
}

/** git's ways of saying "there is no such repository". */
const MISSING =
  /repository .* not found|not found|does not appear to be a git repository|does not exist|could not read Username|No such file or directory|not a git repository/i;

/** How long a failed first fetch is remembered, to absorb bursts of requests. */
const FAILURE_MEMORY_MS = 10_000;

/** Options for {@linkcode GitMirrors}. */
export interface GitMirrorsOptions {
  /** Directory that holds the mirrors. */
  dir: string;
  /** Refetch a mirror when its last fetch is older than this. */
  fetchTtlMs: number;
  /** Timeout for each git command. */
  timeoutMs?: number;
  /** Extra environment for git, on top of the process's own (tests use it). */
  env?: Record<string, string>;
}

/**
 * The set of mirrors under one directory, with fetches coalesced per URL.
 *
 * @example
 * ```ts ignore
 * import { GitMirrors } from "./mirror.ts";
 * const mirrors = new GitMirrors({ dir: "/var/lib/astera/git", fetchTtlMs: 60_000 });
 * const mirror = await mirrors.open("https://git.corp.example/team/lib");
 * console.log((await mirror.refs()).get("HEAD"));
 * ```
 */
export class GitMirrors {
  readonly #options: GitMirrorsOptions;
  readonly #mirrors = new Map<string, GitMirror>();
  readonly #fetches = new SingleFlight<void>();

  constructor(options: GitMirrorsOptions) {
    this.#options = options;
  }

  /** Fetch counters (executions vs. coalesced callers), for metrics and tests. */
  fetchStats(): { executions: number; coalesced: number; inFlight: number } {
    return this.#fetches.stats();
  }

  /**
   * The mirror of `url`, fetched if it is missing or stale. Throws
   * {@linkcode RepoMissingError} when the remote does not exist and there is
   * no earlier copy, {@linkcode GitError} when git fails otherwise.
   */
  async open(url: string, signal?: AbortSignal): Promise<GitMirror> {
    checkGitArg(url, "repository URL");
    let mirror = this.#mirrors.get(url);
    if (!mirror) {
      mirror = new GitMirror(url, `${this.#options.dir}/${await urlKey(url)}`, {
        timeoutMs: this.#options.timeoutMs,
        env: this.#options.env,
      });
      this.#mirrors.set(url, mirror);
    }
    const m = mirror;
    if (!m.isFresh(this.#options.fetchTtlMs)) {
      await this.#fetches.do(url, () => m.refresh(this.#options.fetchTtlMs, signal));
    }
    m.throwIfUnusable();
    return m;
  }
}

/** The mirror directory name for a URL: a hash, so no URL text reaches the file system. */
async function urlKey(url: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(url));
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * One bare mirror. Obtain through {@linkcode GitMirrors.open}, which keeps it
 * fresh; the read methods below never touch the network.
 *
 * @example
 * ```ts ignore
 * import { GitMirrors } from "./mirror.ts";
 * const mirror = await new GitMirrors({ dir: "/tmp/m", fetchTtlMs: 1000 }).open("https://git.example/r");
 * const head = (await mirror.refs()).get("HEAD");
 * if (head) console.log(await mirror.commit(head));
 * ```
 */
export class GitMirror {
  readonly url: string;
  readonly dir: string;
  readonly #timeoutMs: number | undefined;
  readonly #env: Record<string, string> | undefined;
  #fetchedAt = 0;
  #hasData = false;
  #failure: { at: number; error: Error } | null = null;
  #generation = 0;
  #refs: Promise<Map<string, string>> | null = null;
  // Per-generation caches: answers about names (refs, tag lists) may change
  // with a fetch; answers about hashes never do. Requests can name arbitrary
  // hash prefixes: the bounds keep them from growing these without end.
  readonly #commits = new BoundedMap<string, Promise<CommitInfo | null>>(10_000);
  readonly #merged = new BoundedMap<string, Promise<string[]>>(10_000);
  // Only small blobs (go.mod files, answers of "no such file") are kept: about 64 MiB at most.
  readonly #blobs = new BoundedMap<string, Uint8Array | null>(1024);

  constructor(
    url: string,
    dir: string,
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ) {
    this.url = url;
    this.dir = dir;
    this.#timeoutMs = options.timeoutMs;
    this.#env = options.env;
  }

  #git(args: string[], extra: Partial<GitRunOptions> = {}) {
    return runGit(args, { gitDir: this.dir, timeoutMs: this.#timeoutMs, env: this.#env, ...extra });
  }

  /** Whether the last fetch is recent enough (a recent failure counts, to avoid hammering). */
  isFresh(ttlMs: number): boolean {
    const now = Date.now();
    if (this.#failure && isYoung(this.#failure.at, Math.min(ttlMs, FAILURE_MEMORY_MS), now)) {
      return true;
    }
    return this.#fetchedAt > 0 && isYoung(this.#fetchedAt, ttlMs, now);
  }

  /** Throws the remembered failure when there is no earlier copy to serve from. */
  throwIfUnusable(): void {
    if (!this.#hasData && this.#failure) throw this.#failure.error;
  }

  /** Creates the bare repository if needed, then fetches all branches and tags. */
  async refresh(ttlMs: number, signal?: AbortSignal): Promise<void> {
    if (this.isFresh(ttlMs) && !this.#failure) return;
    try {
      await this.#ensureRepo();
      if (!this.#hasData) {
        // A mirror left by an earlier process: its marker's age is the age of its data.
        const mtime = await this.#fetchedMarkerTime();
        this.#hasData = mtime !== null;
        if (mtime !== null && isYoung(mtime, ttlMs, Date.now())) {
          this.#fetchedAt = mtime;
          return;
        }
      }
      try {
        await this.#fetch(signal);
      } catch (error) {
        counters.git.fetchesFailed++;
        throw error;
      }
      counters.git.fetchesOk++;
      this.#fetchedAt = Date.now();
      this.#hasData = true;
      this.#failure = null;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#failure = { at: Date.now(), error };
      // A stale mirror still answers; a failed first fetch is the caller's error.
      if (!this.#hasData) throw error;
    } finally {
      this.#invalidate();
    }
  }

  #invalidate(): void {
    this.#generation++;
    this.#refs = null;
    this.#commits.clear();
    this.#merged.clear();
  }

  async #ensureRepo(): Promise<void> {
    try {
      await Deno.stat(`${this.dir}/HEAD`);
      return;
    } catch {
      // fall through: create it
    }
    const parent = this.dir.slice(0, this.dir.lastIndexOf("/"));
    await Deno.mkdir(parent, { recursive: true });
    const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".init-" });
    await runGit(["init", "--bare", "-q", tmp], { timeoutMs: this.#timeoutMs, env: this.#env });
    // The go command's archive rules: `export-ignore` and `export-subst`
    // attributes in the tree are overridden, so archives contain every file
    // verbatim (golang.org/issue/27153). Tree eol/ident filters still apply.
    await Deno.writeTextFile(`${tmp}/info/attributes`, "\n* -export-subst -export-ignore\n", {
      append: true,
    });
    try {
      await Deno.rename(tmp, this.dir);
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      // Another process created it first: fine.
      try {
        await Deno.stat(`${this.dir}/HEAD`);
      } catch {
        throw err;
      }
    }
  }

  /** When an earlier fetch into this mirror finished, or null if none did. */
  async #fetchedMarkerTime(): Promise<number | null> {
    try {
      return (await Deno.stat(`${this.dir}/astera-fetched`)).mtime?.getTime() ?? 0;
    } catch {
      return null;
    }
  }

  async #fetch(signal?: AbortSignal): Promise<void> {
    let listing: string;
    try {
      const out = await this.#git(["ls-remote", "-q", "--end-of-options", this.url], { signal });
      listing = new TextDecoder().decode(out.stdout);
    } catch (err) {
      if (err instanceof GitError && err.exitCode !== null && MISSING.test(err.stderr)) {
        throw new RepoMissingError(
          `repository ${redactUrl(this.url)} not found: ${gitReason(err.stderr)}`,
        );
      }
      throw err;
    }
    let head = "";
    for (const line of listing.split("\n")) {
      const [hash, ref] = line.split("\t");
      if (ref === "HEAD" && hash) head = hash;
    }
    const refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
    if (head) refspecs.push("+HEAD:refs/astera/HEAD");
    if (listing.trim() !== "") {
      await this.#git(
        ["fetch", "-q", "-f", "--prune", "--no-tags", "--end-of-options", this.url, ...refspecs],
        { signal },
      );
    } else {
      // An empty repository: no refs at all. Drop what an earlier fetch left.
      const out = await this.#git(["for-each-ref", "--format=%(refname)"]);
      for (const ref of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
        await this.#git(["update-ref", "-d", ref]);
      }
    }
    if (!head && listing.trim() !== "") {
      await this.#git(["update-ref", "-d", "refs/astera/HEAD"], { okExitCodes: [0, 1] });
    }
    await Deno.writeTextFile(`${this.dir}/astera-fetched`, new Date().toISOString() + "\n");
  }

  /**
   * Refs as the remote advertised them at the last fetch: `HEAD`,
   * `refs/heads/…`, `refs/tags/…`, each mapped to a commit hash (annotated
   * tags peeled).
   */
  refs(): Promise<Map<string, string>> {
    if (!this.#refs) {
      this.#refs = (async () => {
        const out = await this.#git([
          "for-each-ref",
          "--format=%(objectname) %(*objectname) %(*objecttype) %(refname)",
          "refs/heads/",
          "refs/tags/",
          "refs/astera/HEAD",
        ]);
        const refs = new Map<string, string>();
        // `%(*objectname)` peels one level only; a tag of a tag is peeled to its end below.
        const nested: string[] = [];
        for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
          const parts = line.split(" ");
          if (parts.length < 4) continue;
          const [object, peeled, peeledType] = parts;
          const name = parts.slice(3).join(" ");
          refs.set(name === "refs/astera/HEAD" ? "HEAD" : name, peeled || object);
          if (peeledType === "tag") nested.push(name);
        }
        if (nested.length > 0) {
          const peeled = await this.#git(["rev-parse", ...nested.map((name) => `${name}^{}`)]);
          const hashes = new TextDecoder().decode(peeled.stdout).trim().split("\n");
          nested.forEach((name, i) => refs.set(name, hashes[i]));
        }
        return refs;
      })();
      const gen = this.#generation;
      this.#refs.catch(() => {
        if (gen === this.#generation) this.#refs = null;
      });
    }
    return this.#refs;
  }

  /**
   * The commit a revision names (a full or abbreviated hash, or a ref), or
   * null when the mirror has no such commit.
   */
  commit(rev: string): Promise<CommitInfo | null> {
    checkGitArg(rev, "revision");
    let hit = this.#commits.get(rev);
    if (!hit) {
      hit = (async () => {
        const out = await this.#git([
          "-c",
          "log.showsignature=false",
          "log",
          "--no-decorate",
          "-n1",
          "--format=format:%H %ct",
          "--end-of-options",
          rev,
          "--",
        ], { okExitCodes: [0, 128] });
        if (out.exitCode !== 0) return null;
        const [hash, time] = new TextDecoder().decode(out.stdout).trim().split(" ");
        if (!/^[0-9a-f]{40,64}$/.test(hash ?? "") || !/^-?[0-9]+$/.test(time ?? "")) return null;
        return { hash, time: Number(time) };
      })();
      this.#commits.set(rev, hit);
    }
    return hit;
  }

  /**
   * The bytes of `path` at commit `hash` (as `git cat-file blob` gives them:
   * a symlink yields its target), or null when there is no such file. Throws
   * when the file is larger than `maxSize`.
   */
  async readFile(hash: string, path: string, maxSize: number): Promise<Uint8Array | null> {
    checkGitArg(hash, "revision");
    const key = `${hash}:${path}`;
    if (this.#blobs.has(key)) return this.#blobs.get(key) ?? null;
    const out = await this.#git(["cat-file", "blob", key], {
      okExitCodes: [0, 128],
      maxOutput: maxSize,
    });
    const data = out.exitCode === 0 ? out.stdout : null;
    if (data === null || data.byteLength <= 64 * 1024) this.#blobs.set(key, data);
    return data;
  }

  /** Names (without `refs/tags/`) of the tags reachable from commit `hash`. */
  mergedTags(hash: string): Promise<string[]> {
    checkGitArg(hash, "revision");
    let hit = this.#merged.get(hash);
    if (!hit) {
      hit = (async () => {
        const out = await this.#git([
          "for-each-ref",
          "--format=%(refname)",
          `--merged=${hash}`,
          "refs/tags/",
        ]);
        return new TextDecoder().decode(out.stdout).split("\n")
          .filter((l) => l.startsWith("refs/tags/"))
          .map((l) => l.slice("refs/tags/".length));
      })();
      this.#merged.set(hash, hit);
    }
    return hit;
  }

  /** Whether `ancestor` (a full ref name or hash) is an ancestor of commit `hash`. */
  async isAncestor(ancestor: string, hash: string): Promise<boolean> {
    checkGitArg(ancestor, "revision");
    checkGitArg(hash, "revision");
    const out = await this.#git(["merge-base", "--is-ancestor", ancestor, hash], {
      okExitCodes: [0, 1],
    });
    return out.exitCode === 0;
  }

  /**
   * The files under `subdir` (all when "") at commit `hash`, as `git ls-tree
   * -r -l` lists them: paths from the repository root in archive order,
   * types and blob sizes, submodules left out (archives carry no content
   * for them). Sizes are known without reading any content.
   */
  async listTree(hash: string, subdir: string): Promise<TreeListing[]> {
    checkGitArg(hash, "revision");
    if (subdir !== "") checkGitArg(subdir, "path");
    const args = ["--literal-pathspecs", "ls-tree", "-r", "-l", "-z", "--end-of-options", hash];
    if (subdir !== "") args.push("--", subdir);
    const out = await this.#git(args);
    const listing: TreeListing[] = [];
    for (const record of new TextDecoder().decode(out.stdout).split("\0")) {
      const m = /^([0-7]+) ([a-z]+) [0-9a-f]+ +([0-9]+|-)\t(.*)$/s.exec(record);
      if (!m) continue;
      const [, mode, type, size, path] = m;
      if (type !== "blob") continue;
      const kind = mode === "120000" ? "symlink" : mode.startsWith("100") ? "file" : "other";
      listing.push({ path, type: kind, size: Number(size) });
    }
    return listing;
  }

  /**
   * `git archive` of commit `hash` (limited to `subdir` when given) as a tar
   * stream, with the go command's line-ending settings: files leave git
   * exactly as committed unless the tree's own `.gitattributes` asks for
   * conversion. git runs only as fast as the stream is read and is killed
   * when the reader stops, or when it prints nothing for the timeout while
   * being read (the reader's own time does not count).
   */
  archiveStream(hash: string, subdir: string): AsyncGenerator<Uint8Array> {
    checkGitArg(hash, "revision");
    if (subdir !== "") checkGitArg(subdir, "path");
    const args = [
      "--literal-pathspecs",
      "-c",
      "core.autocrlf=input",
      "-c",
      "core.eol=lf",
      "archive",
      "--format=tar",
      "--prefix=prefix/",
      "--end-of-options",
      hash,
    ];
    if (subdir !== "") args.push(subdir);
    return streamGit(args, { gitDir: this.dir, timeoutMs: this.#timeoutMs, env: this.#env });
  }
}
