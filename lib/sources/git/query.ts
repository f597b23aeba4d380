/**
 * Version queries as `go mod download mod@query` answers them in direct mode
 * (cmd/go's `modload` query): `latest`, `upgrade`, version prefixes like
 * `v1.2`, ranges like `<v1.3.0`, and revisions (a branch, tag or commit
 * hash), over a module's {@linkcode CodeRepo}.
 *
 * @module
 */
import { bytesEqual } from "../../util/bytes.ts";
import { NotFoundError } from "./codehost.ts";
import { type CodeRepo, legacyGoMod, retractionPredicate, type RevInfo } from "./coderepo.ts";
import { goModRetractions } from "../../mod/modfile.ts";
import { matchPathMajor, splitPathVersion } from "../../mod/module.ts";
import {
  canonical,
  canonicalModuleVersion,
  compare,
  isValid,
  prerelease,
} from "../../mod/semver.ts";

/**
 * How a query chooses among the module's versions (cmd/go's
 * modload.newQueryMatcher): the versions it allows, whether it may name a
 * revision to look up directly, and which end of the allowed ones it takes.
 */
interface QueryPlan {
  /** Only versions starting with this are listed ("" for all). */
  prefix: string;
  filter: (v: string) => boolean;
  /** The query may name one version or revision: look it up before listing. */
  canStat: boolean;
  /** Take the lowest allowed version rather than the highest. */
  preferLower: boolean;
  /** When no tagged version fits, the default branch's tip may. */
  mayUseLatest: boolean;
  /** The query's version does not fit the path's major: `+incompatible` ones count from the start. */
  preferIncompatible: boolean;
}

/**
 * Answers version queries as `go mod download mod@query` does in direct mode
 * (cmd/go's modload.queryProxy): exact revisions are looked up; `latest`,
 * prefixes like `v1.2` and ranges choose among tagged versions, skipping
 * retracted ones.
 *
 * @example
 * ```ts ignore
 * import { Query } from "./query.ts";
 * import type { CodeRepo } from "./coderepo.ts";
 * declare const repo: CodeRepo;
 * console.log((await new Query(repo).answer("v1.5")).version);
 * ```
 */
export class Query {
  readonly repo: CodeRepo;
  constructor(repo: CodeRepo) {
    this.repo = repo;
  }

  /** Whether `query` names one revision (as opposed to choosing among versions). */
  static isRevision(query: string): boolean {
    if (query === "latest" || query === "upgrade" || query === "patch") return false;
    if (query.startsWith("<") || query.startsWith(">")) return false;
    return !(isValid(query) && isPrefixVersion(query));
  }

  /** Latest ignoring retractions, then its go.mod's retractions (modload's CheckRetractions). */
  async #retractedByLatest(): Promise<(v: string) => boolean> {
    let latest: RevInfo;
    try {
      latest = await this.resolve("latest", () => true);
    } catch (err) {
      if (err instanceof NotFoundError) return () => false;
      throw err;
    }
    let gomod: Uint8Array;
    try {
      gomod = await this.repo.goMod(latest.version);
    } catch (err) {
      if (err instanceof NotFoundError) return () => false;
      throw err;
    }
    return retractionPredicate(goModRetractions(gomod) ?? []);
  }

  /** The version `query` resolves to; versions chosen among skip retracted ones. */
  async answer(query: string): Promise<RevInfo> {
    if (Query.isRevision(query)) return await this.resolve(query, () => true);
    const retracted = await this.#retractedByLatest();
    return await this.resolve(query, (v) => !retracted(v));
  }

  /** The version `query` resolves to among the versions `allowed` lets through. */
  async resolve(query: string, allowed: (v: string) => boolean): Promise<RevInfo> {
    const path = this.repo.modPath;
    const plan = queryPlan(path, query);
    if (plan.canStat) return await this.#stat(query);
    const allows = (v: string) =>
      (plan.prefix === "" || v.startsWith(plan.prefix)) && plan.filter(v) && allowed(v);
    const pick = await this.#pick(plan, allows);
    if (pick !== undefined) return await this.repo.stat(pick);
    if (plan.mayUseLatest) {
      let latest: RevInfo | null = null;
      try {
        latest = await this.repo.latest();
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (latest && allows(latest.version)) return await this.repo.stat(latest.version);
    }
    throw new NotFoundError(`${path}@${query}: no matching versions for query "${query}"`);
  }

  /** Looks `query` up as one version or revision, then as its canonical spelling. */
  async #stat(query: string): Promise<RevInfo> {
    try {
      return await this.repo.stat(query);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      const cq = canonicalModuleVersion(query);
      if (cq !== "" && cq !== query) {
        try {
          return await this.repo.stat(cq);
        } catch (err2) {
          if (!(err2 instanceof NotFoundError)) throw err2;
        }
      }
      throw err;
    }
  }

  /**
   * The tagged version the query takes among those `allows` lets through:
   * releases before pre-releases; `+incompatible` ones only when the query
   * asked for them or the last compatible version's go.mod is the go
   * command's synthesized one (cmd/go's queryProxy filterVersions).
   */
  async #pick(plan: QueryPlan, allows: (v: string) => boolean): Promise<string | undefined> {
    const releases: string[] = [];
    const prereleases: string[] = [];
    let needIncompatible = plan.preferIncompatible;
    let lastCompatible = "";
    for (const v of await this.repo.versions(plan.prefix)) {
      if (!allows(v)) continue;
      if (!needIncompatible) {
        if (!v.endsWith("+incompatible")) {
          lastCompatible = v;
        } else if (lastCompatible !== "") {
          const gomod = await this.repo.goMod(lastCompatible).catch((err) => {
            if (err instanceof NotFoundError) return null;
            throw err;
          });
          if (gomod === null || !bytesEqual(gomod, legacyGoMod(this.repo.modPath))) break;
          needIncompatible = true;
        }
      }
      (prerelease(v) !== "" ? prereleases : releases).push(v);
    }
    return plan.preferLower
      ? releases[0] ?? prereleases[0]
      : releases[releases.length - 1] ?? prereleases[prereleases.length - 1];
  }
}

const COMPARISONS: Record<string, (c: number) => boolean> = {
  "<=": (c) => c <= 0,
  "<": (c) => c < 0,
  ">=": (c) => c >= 0,
  ">": (c) => c > 0,
};

/** How `query` chooses among the versions of module `path` (see {@linkcode QueryPlan}). */
function queryPlan(path: string, query: string): QueryPlan {
  const plan: QueryPlan = {
    prefix: "",
    filter: () => true,
    canStat: false,
    preferLower: false,
    mayUseLatest: false,
    preferIncompatible: false,
  };
  const { pathMajor } = splitPathVersion(path);
  const bad = (why: string) => new NotFoundError(`${path}@${query}: ${why}`);
  const range = /^(<=|<|>=|>)(.*)$/s.exec(query);
  if (query === "latest" || query === "upgrade") {
    plan.mayUseLatest = true;
  } else if (query === "patch") {
    throw bad('can\'t query version "patch" of module: no existing version is required');
  } else if (range) {
    const [, op, v] = range;
    if (!isValid(v)) {
      throw bad(`invalid semantic version ${JSON.stringify(v)} in range ${JSON.stringify(query)}`);
    }
    if ((op === "<=" || op === ">") && isPrefixVersion(v)) {
      throw bad(`ambiguous semantic version "${v}" in range "${query}"`);
    }
    plan.filter = (mv) => COMPARISONS[op](compare(mv, v));
    plan.preferLower = op.startsWith(">");
    plan.preferIncompatible = !matchPathMajor(v, pathMajor);
  } else if (isValid(query)) {
    if (isPrefixVersion(query)) {
      plan.prefix = query + ".";
      plan.filter = (mv) => compare(mv, query) >= 0;
    } else {
      plan.canStat = true;
      plan.filter = (mv) => compare(mv, query) === 0;
      plan.prefix = canonical(query);
    }
    plan.preferIncompatible = !matchPathMajor(query, pathMajor);
  } else {
    plan.canStat = true; // a revision: branch, tag, hash
  }
  return plan;
}

/** Whether a valid semantic version is a prefix form (`v1`, `v1.2`). */
function isPrefixVersion(v: string): boolean {
  return /^v[0-9]+(\.[0-9]+)?$/.test(v);
}
