/**
 * What to prefetch, decided from what Astera sees of the go command's walk
 * over the module graph: the `go.mod` files it fetches from sources, and what
 * clients ask. Pure: no I/O, no timers (the clock is given), so each rule is
 * a unit test.
 *
 * The go command's walk, and the rules that follow it:
 *
 * - **go.mod of requirements.** Minimum version selection reads the go.mod
 *   of every version in the graph, but a module at `go 1.17` or later is
 *   *pruned*: the go command does not load its requirements' go.mod files
 *   (it reads those of the main module's own requirements, which a tidy
 *   go.mod lists in full, and Astera cannot see). So the requirements of an
 *   unpruned go.mod (older `go`, or none) are prefetched at once, every one,
 *   superseded versions too: the go command will read them, one level after
 *   the other. Those of a pruned go.mod are not fetched, but the versions it
 *   names count all the same: they take part in minimum version selection.
 * - **Zips and `.info`.** The go command downloads zips only of selected
 *   versions of modules that provide packages. A go.mod a client asks
 *   itself, at the highest version the walk has named, is in a tidy `go 1.17`+
 *   project one of the main module's own requirements at its selected
 *   version, which `go mod download` and `go mod tidy` download, and a build
 *   too unless only tests or other systems need it: its zip follows at once,
 *   while the walk still runs. (In an unpruned graph the client reads every
 *   go.mod itself, so zips of modules that provide no package can follow.
 *   A go.mod only a prefetch read brings no zip.) A client that asks a
 *   canonical `.info` is about to ask its zip, so the zip follows the
 *   `.info`, whatever versions the walk names later. And once a client asks
 *   the `.info` of a version whose `.mod` was read in this walk, it is
 *   downloading the graph it just read (`go mod download`): the `.info` and
 *   zip of every module whose `.mod` was read in the walk, at its highest
 *   version, follow.
 * - **Superseded before it starts.** A queued zip or `.info` whose module
 *   the walk has named at a higher version since is not fetched
 *   ({@linkcode PrefetchPolicy.wanted}): minimum version selection will not
 *   select it.
 * - **Version checks.** After a client asks a module's `list` or `@latest`
 *   (`go get`, `go list -m -u`), a go.mod it asks of that module is likely
 *   the latest one, read for its retractions and outside the graph: it
 *   brings nothing and supersedes nothing.
 *
 * What this costs: a walk that reads the graph and downloads nothing
 * (`go mod graph`, `go list -m all`) leaves the zips of the go.mods it asked
 * prefetched and unasked, counted as waste after an hour. And a zip on its
 * way is not called back: the go command asks go.mods several at a time, so
 * the go.mod that names a higher version can arrive after the client has read
 * an older one in an unpruned corner and that one's zip has begun.
 *
 * A walk is what happened in the last {@linkcode WALK_MS}: Astera does not
 * tell clients apart, and needs not to (concurrent builds of one project
 * walk the same graph).
 *
 * @module
 */
import { goModGoVersion, goModRequires } from "../mod/modfile.ts";
import { compare } from "../mod/semver.ts";
import { BoundedMap } from "../util/bounded_map.ts";

/**
 * How long what a walk showed is remembered (ms).
 *
 * @example
 * ```ts
 * import { WALK_MS } from "./prefetch_policy.ts";
 * console.log(WALK_MS / 60_000); // 10
 * ```
 */
export const WALK_MS = 10 * 60_000;

/** Modules (or edges) remembered at most: a hostile client must not grow memory without end. */
const CAPACITY = 50_000;

/**
 * The largest go.mod whose requirements are followed. Real ones are tens of
 * KiB (Kubernetes' is about 20); reading a hostile 16 MiB one would hold the
 * isolate while its client waits for the answer.
 */
export const MAX_FOLLOWED_GO_MOD = 1 << 20;

/**
 * An artifact to prefetch.
 *
 * @example
 * ```ts
 * import type { PrefetchTask } from "./prefetch_policy.ts";
 * const task: PrefetchTask = { kind: "zip", module: "golang.org/x/text", version: "v0.14.0" };
 * ```
 */
export interface PrefetchTask {
  kind: "mod" | "info" | "zip";
  module: string;
  version: string;
  /** A client asked for this very version (its `.info`): fetched even if the walk names a higher one. */
  asked?: true;
}

interface Seen {
  version: string;
  at: number;
}

/**
 * Whether a go.mod's `go` version prunes its module's graph (`go 1.17` or
 * later: the go command does not read its requirements' go.mod files).
 *
 * @example
 * ```ts
 * import { isPrunedGoVersion } from "./prefetch_policy.ts";
 * console.log(isPrunedGoVersion("1.21"), isPrunedGoVersion("1.16"), isPrunedGoVersion("")); // true false false
 * ```
 */
export function isPrunedGoVersion(go: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(go);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 1 || (major === 1 && minor >= 17);
}

/**
 * Decides prefetches from go.mod files fetched and client requests.
 *
 * @example
 * ```ts
 * import { PrefetchPolicy } from "./prefetch_policy.ts";
 * const policy = new PrefetchPolicy(() => 0);
 * const goMod = new TextEncoder().encode("module a\n\ngo 1.16\n\nrequire b.example/b v1.0.0\n");
 * console.log(policy.modFetched("a.example/a", "v1.0.0", goMod));
 * // [{ kind: "mod", module: "b.example/b", version: "v1.0.0" }]
 * ```
 */
export class PrefetchPolicy {
  #now: () => number;
  /** The highest version of each module named in the walk (asked by a client, or required). */
  #highest = new BoundedMap<string, Seen>(CAPACITY);
  /** The highest version of each module whose `.mod` was read in the walk, and whether by a client. */
  #walkMods = new BoundedMap<string, Seen & { byClient: boolean }>(CAPACITY);
  #infoAt = -Infinity;
  /** Modules whose `list` or `@latest` a client asked in the walk: when. */
  #listed = new BoundedMap<string, number>(CAPACITY);

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A `.mod` came from a source (for a client or a prefetch): the go.mods to fetch next. */
  modFetched(module: string, version: string, goMod: Uint8Array): PrefetchTask[] {
    // A version check's go.mod (the latest, for retractions) names no version of the graph.
    if (this.#checking(module)) return [];
    const tasks = this.#read(module, version, false);
    if (goMod.byteLength > MAX_FOLLOWED_GO_MOD) return tasks;
    const requires = goModRequires(goMod);
    if (!requires) return tasks;
    // Graph pruning: the go command does not read the go.mods a `go 1.17`+ go.mod requires,
    // but the versions it names still take part in minimum version selection.
    const pruned = isPrunedGoVersion(goModGoVersion(goMod));
    for (const required of requires) {
      this.#raise(required.module, required.version);
      if (!pruned) tasks.push({ kind: "mod", ...required });
    }
    return tasks;
  }

  /**
   * A client asked a module's `list` or `@latest`: it is checking versions
   * (`go get`, `go list -m -u` read the latest go.mod for retractions), so a
   * go.mod it asks of that module in this walk may lie outside the graph.
   */
  clientListed(module: string): void {
    const now = this.#now();
    const at = this.#listed.get(module);
    // Once a minute at most: a busy `list` path must not pay for a map write per request.
    if (at === undefined || now - at >= 60_000) this.#listed.set(module, now);
  }

  /** A client asked for an artifact of a canonical version: what it will ask next. */
  clientAsked(kind: "mod" | "info" | "zip", module: string, version: string): PrefetchTask[] {
    if (kind === "mod") return this.#read(module, version, true);
    const now = this.#now();
    const tasks: PrefetchTask[] = [];
    // go mod download and go get ask a version's .info right before its zip.
    if (kind === "info") tasks.push({ kind: "zip", module, version, asked: true });
    // A zip: the build has begun, and its zips came with the go.mods asked (see #downloads).
    if (kind === "zip") return tasks;
    const read = this.#walkMods.get(module);
    const walked = read !== undefined && read.version === version && this.#recent(read.at);
    if (!walked) return tasks;
    const starting = !this.#recent(this.#infoAt);
    this.#infoAt = now;
    if (!starting) return tasks;
    // The client is downloading the graph it has read: every module's selected version follows.
    for (const [other, seen] of this.#walkMods.entries()) {
      if (!this.#recent(seen.at) || this.#highest.get(other)?.version !== seen.version) continue;
      tasks.push(...this.#downloads(other, seen.version, seen.byClient));
    }
    // What the client is asking for now is its own fetch, not a prefetch; each task once.
    const keys = new Set([`${kind} ${module}@${version}`]);
    return tasks.filter((task) => {
      const key = `${task.kind} ${task.module}@${task.version}`;
      return !keys.has(key) && keys.add(key) !== undefined;
    });
  }

  /** A go.mod read in the walk (by a client, or fetched for one): its downloads may follow. */
  #read(module: string, version: string, byClient: boolean): PrefetchTask[] {
    if (this.#checking(module)) return [];
    const now = this.#now();
    const highest = this.#raise(module, version);
    const read = this.#walkMods.get(module);
    if (!read || !this.#recent(read.at) || compare(version, read.version) > 0) {
      this.#walkMods.set(module, { version, at: now, byClient });
    } else if (read.version === version) {
      this.#walkMods.set(module, { version, at: now, byClient: byClient || read.byClient });
    }
    return highest ? this.#downloads(module, version, byClient) : [];
  }

  /**
   * What a client will ask of `module@version`, the highest version named in
   * the walk: `go mod download` (it asked an `.info`) the `.info` and zip of
   * every module in the graph; otherwise the zip of a module whose go.mod it
   * asked itself (a module named only deep in an unpruned graph may provide
   * no package).
   */
  #downloads(module: string, version: string, byClient: boolean): PrefetchTask[] {
    if (this.#recent(this.#infoAt)) {
      return [{ kind: "info", module, version }, { kind: "zip", module, version }];
    }
    return byClient ? [{ kind: "zip", module, version }] : [];
  }

  /**
   * Whether a queued task is still worth fetching: not a zip or `.info` of a
   * version the walk has named a higher one of since (its go.mod is read all
   * the same), unless a client asked for that version itself.
   */
  wanted(task: PrefetchTask): boolean {
    if (task.kind === "mod" || task.asked) return true;
    const seen = this.#highest.get(task.module);
    return !seen || !this.#recent(seen.at) || compare(task.version, seen.version) >= 0;
  }

  /** Notes `version` of `module` as seen; whether it is the highest seen in the walk. */
  #raise(module: string, version: string): boolean {
    const seen = this.#highest.get(module);
    if (seen && this.#recent(seen.at) && compare(version, seen.version) < 0) return false;
    this.#highest.set(module, { version, at: this.#now() });
    return true;
  }

  /** Whether a client is checking this module's versions (see {@linkcode clientListed}). */
  #checking(module: string): boolean {
    const listed = this.#listed.get(module);
    return listed !== undefined && this.#recent(listed);
  }

  #recent(at: number): boolean {
    return this.#now() - at < WALK_MS;
  }
}
