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
 *   the other. Those of a pruned go.mod are left alone.
 * - **Zips and `.info`.** The go command downloads zips only of selected
 *   versions of modules that provide packages. A go.mod a client asks
 *   itself, at the highest version the walk has named, is in a tidy project
 *   the main module's own requirement at its selected version, which
 *   `go mod download`, `go mod tidy` and builds all download: its zip
 *   follows at once, while the walk still runs and the pool has room. (A
 *   go.mod only the graph needed, read by a prefetch, brings no zip: its
 *   module may provide no package.) A client that asks a canonical `.info`
 *   is about to ask its zip, so the zip follows the `.info`. And once a
 *   client asks the `.info` of a version whose `.mod` was read in this
 *   walk, it is downloading the graph it just read (`go mod download`): the
 *   `.info` and zip of every module whose `.mod` was read in the walk, at
 *   its highest version, follow.
 * - **Superseded before it starts.** A queued zip or `.info` whose module
 *   the walk has named at a higher version since is not fetched
 *   ({@linkcode PrefetchPolicy.wanted}): minimum version selection will not
 *   select it.
 *
 * What this costs: a walk that reads the graph and downloads nothing
 * (`go mod graph`, `go list -m all`) leaves the zips of the go.mods it asked
 * prefetched and unasked, counted as waste after an hour.
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

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A `.mod` came from a source (for a client or a prefetch): the go.mods to fetch next. */
  modFetched(module: string, version: string, goMod: Uint8Array): PrefetchTask[] {
    const tasks = this.#read(module, version, false);
    if (goMod.byteLength > MAX_FOLLOWED_GO_MOD) return tasks;
    const requires = goModRequires(goMod);
    // Graph pruning: the go command does not read the go.mods a `go 1.17`+ go.mod requires.
    if (!requires || isPrunedGoVersion(goModGoVersion(goMod))) return tasks;
    for (const required of requires) {
      this.#raise(required.module, required.version);
      tasks.push({ kind: "mod", ...required });
    }
    return tasks;
  }

  /** A client asked for an artifact of a canonical version: what it will ask next. */
  clientAsked(kind: "mod" | "info" | "zip", module: string, version: string): PrefetchTask[] {
    if (kind === "mod") return this.#read(module, version, true);
    const now = this.#now();
    const tasks: PrefetchTask[] = [];
    // go mod download and go get ask a version's .info right before its zip.
    if (kind === "info") tasks.push({ kind: "zip", module, version });
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
   * the same).
   */
  wanted(task: PrefetchTask): boolean {
    if (task.kind === "mod") return true;
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

  #recent(at: number): boolean {
    return this.#now() - at < WALK_MS;
  }
}
