/**
 * One module in one git repository (cmd/go's `modfetch` codeRepo): which
 * tags are its versions, what version a commit is, where the module's go.mod
 * is at a version, and which versions its author retracted. The zip of a
 * version is `coderepo_zip.ts`'s; the git side below is `codehost.ts`'s.
 *
 * @module
 */
import { type CodeHost, type CodeRev, NotFoundError } from "./codehost.ts";
import type { RepoLocation } from "./locate.ts";
import { findDir, type ModuleDir } from "./coderepo_dir.ts";
import { goModRetractions, type Retraction } from "../../mod/modfile.ts";
import { matchPathMajor, pathMajorPrefix, splitPathVersion } from "../../mod/module.ts";
import {
  build,
  canonical,
  canonicalModuleVersion,
  compare,
  isValid,
  major,
  prerelease,
  sortVersions,
  VersionError,
} from "../../mod/semver.ts";
import {
  isPseudoVersion,
  makePseudoVersion,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
  pseudoVersionTimestamp,
} from "../../mod/pseudo.ts";

/**
 * A resolved module version (cmd/go's modfetch.RevInfo): `time` in seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RevInfo } from "./coderepo.ts";
 * const rev: RevInfo = { version: "v1.0.0", time: 1_600_000_000, hash: "a".repeat(40) };
 * assert(rev.version === "v1.0.0");
 * ```
 */
export interface RevInfo {
  version: string;
  time: number;
  hash: string;
  ref?: string;
}

/**
 * The go command's synthesized go.mod for a module without one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { legacyGoMod } from "./coderepo.ts";
 * assert(new TextDecoder().decode(legacyGoMod("example.com/m")) === "module example.com/m\n");
 * ```
 */
export function legacyGoMod(path: string): Uint8Array {
  // modfile.AutoQuote: quote only paths that need it (never valid module paths).
  const needsQuote = /[\s"'`(),\[\]{}]|\/\/|\/\*/.test(path) || path === "";
  return new TextEncoder().encode(`module ${needsQuote ? JSON.stringify(path) : path}\n`);
}

/**
 * The predicate of a go.mod's `retract` directives: whether a version falls
 * in one of the retracted intervals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { retractionPredicate } from "./coderepo.ts";
 * const retracted = retractionPredicate([{ low: "v1.0.0", high: "v1.0.2", rationale: "" }]);
 * assert(retracted("v1.0.1") && !retracted("v1.0.3"));
 * ```
 */
export function retractionPredicate(retractions: Retraction[]): (v: string) => boolean {
  return (v) => retractions.some((r) => compare(r.low, v) <= 0 && compare(v, r.high) <= 0);
}

/** Whether a version may be served as `+incompatible` (see {@linkcode CodeRepo.convert}). */
type IncompatibleCheck = (v: string) => Promise<boolean>;

/**
 * One module in one repository (cmd/go's modfetch codeRepo).
 *
 * @example
 * ```ts ignore
 * import { GitMirrors } from "./mirror.ts";
 * import { CodeHost } from "./codehost.ts";
 * import { CodeRepo } from "./coderepo.ts";
 * const mirrors = new GitMirrors({ dir: "/tmp/astera-git", fetchTtlMs: 60_000 });
 * const location = { root: "rsc.io/quote", url: "https://github.com/rsc/quote", subdir: "" };
 * const repo = new CodeRepo(new CodeHost(await mirrors.open(location.url)), location, "rsc.io/quote/v3");
 * console.log(await repo.versions(""));
 * ```
 */
export class CodeRepo {
  readonly code: CodeHost;
  readonly modPath: string;
  readonly codeRoot: string;
  readonly codeDir: string;
  readonly pathPrefix: string;
  readonly pathMajor: string;
  readonly pseudoMajor: string;
  #retracted: Promise<(v: string) => boolean> | null = null;

  constructor(code: CodeHost, location: RepoLocation, modPath: string) {
    this.code = code;
    this.modPath = modPath;
    this.codeRoot = location.root;
    if (!(modPath === location.root || modPath.startsWith(location.root + "/"))) {
      throw new NotFoundError(`mismatched repo: found ${location.root} for ${modPath}`);
    }
    const split = splitPathVersion(modPath);
    if (!split.ok) throw new NotFoundError(`invalid module path ${JSON.stringify(modPath)}`);
    this.pathPrefix = modPath === location.root ? modPath : split.prefix;
    this.pathMajor = split.pathMajor;
    this.pseudoMajor = pathMajorPrefix(split.pathMajor);
    let dir = "";
    if (location.root !== modPath) {
      if (!(this.pathPrefix === location.root || this.pathPrefix.startsWith(location.root + "/"))) {
        throw new NotFoundError(
          `repository rooted at ${location.root} cannot contain module ${modPath}`,
        );
      }
      dir = this.pathPrefix.slice(location.root.length).replace(/^\/+|\/+$/g, "");
    }
    if (location.subdir !== "") dir = [dir, location.subdir].filter(Boolean).join("/");
    this.codeDir = dir;
  }

  /** What the module's tags start with: its directory in the repository. */
  get tagPrefix(): string {
    return this.codeDir === "" ? "" : this.codeDir + "/";
  }

  /** Tagged versions of this module (cmd/go's codeRepo.Versions). */
  async versions(prefix: string): Promise<string[]> {
    if (this.modPath.startsWith("gopkg.in/") && this.modPath.endsWith("-unstable")) return [];
    const list: string[] = [];
    const incompatible: string[] = [];
    for (const tag of await this.code.tags(this.tagPrefix + prefix)) {
      const v = tag.name.slice(this.tagPrefix.length);
      if (v === "" || v !== canonical(v) || isPseudoVersion(v)) continue;
      if (!matchPathMajor(v, this.pathMajor)) {
        if (this.codeDir === "" && this.pathMajor === "" && compare(major(v), "v1") > 0) {
          incompatible.push(v);
        }
        continue;
      }
      list.push(v);
    }
    const sorted = sortVersions(list);
    const incompat = sortVersions(incompatible);
    if (incompat.length === 0 || this.pathMajor !== "") return sorted;
    if (sorted.length > 0 && await this.#hasGoMod(sorted[sorted.length - 1])) return sorted;
    return sorted.concat(await this.#incompatibleVersions(incompat));
  }

  /** Whether the repository root has a go.mod at tagged version `v`. */
  async #hasGoMod(v: string): Promise<boolean> {
    const rev = await this.code.stat(this.revToRev(v));
    return (await this.code.readFile(rev.name, "go.mod")) !== null;
  }

  /**
   * Of the (sorted) tags above v1, those listed with `+incompatible`: the go
   * command skips a major whose highest tag has a go.mod.
   */
  async #incompatibleVersions(incompat: string[]): Promise<string[]> {
    const listed: string[] = [];
    let lastMajor = "";
    let lastMajorHasGoMod = false;
    for (let i = 0; i < incompat.length; i++) {
      const v = incompat[i];
      const m = major(v);
      if (m !== lastMajor) {
        let j = i;
        while (j + 1 < incompat.length && major(incompat[j + 1]) === m) j++;
        lastMajor = m;
        lastMajorHasGoMod = await this.#hasGoMod(incompat[j]);
      }
      if (!lastMajorHasGoMod) listed.push(v + "+incompatible");
    }
    return listed;
  }

  /** The git revision a module version or revision stands for (cmd/go's revToRev). */
  revToRev(rev: string): string {
    if (!isValid(rev)) return rev;
    if (isPseudoVersion(rev)) return pseudoVersionRev(rev);
    if (build(rev) === "+incompatible") rev = rev.slice(0, -"+incompatible".length);
    return this.tagPrefix + rev;
  }

  /** The module version a version or revision resolves to (cmd/go's codeRepo.Stat). */
  async stat(rev: string): Promise<RevInfo> {
    if (rev === "latest") return await this.latest();
    let info: CodeRev;
    try {
      info = await this.code.stat(this.revToRev(rev));
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`${this.modPath}@${rev}: invalid version: ${err.message}`);
      }
      throw err;
    }
    return await this.convert(info, rev);
  }

  /** The module version of the default branch's tip (cmd/go's codeRepo.Latest). */
  async latest(): Promise<RevInfo> {
    return await this.convert(await this.code.latest(), "");
  }

  #invalid(v: string, why: string, status: 404 | 410 = 404): NotFoundError {
    return new NotFoundError(`${this.modPath}@${v}: invalid version: ${why}`, status);
  }

  /**
   * Turns a commit into a module version (cmd/go's codeRepo.convert):
   * `statVers`, the version asked for ("" for latest), when the commit has
   * it; else its highest canonical tag; else a pseudo-version on the most
   * recent tag it descends from.
   */
  async convert(info: CodeRev, statVers: string): Promise<RevInfo> {
    const canUseIncompatible = this.#incompatibleCheck(info, statVers);
    const checkCanonical = (v: string) =>
      this.#checkCanonical(info, statVers, v, canUseIncompatible);
    if (isPseudoVersion(statVers)) {
      const rev = await checkCanonical(statVers);
      await this.validatePseudoVersion(info, statVers);
      return rev;
    }
    const isRetracted = await this.retractedVersions().catch(() => (_: string) => false);
    const direct = this.#tagToVersion(info.version);
    if (direct.canonical) {
      try {
        return await checkCanonical(direct.v);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    let highestCanonical = "";
    let pseudoBase = "";
    for (const pathTag of info.tags) {
      const { v, canonical: tagIsCanonical } = this.#tagToVersion(pathTag);
      if (statVers !== "" && compare(v, statVers) === 0) {
        if (tagIsCanonical) return await checkCanonical(v);
        pseudoBase = v;
      }
      if (tagIsCanonical && compare(highestCanonical, v) < 0 && !isRetracted(v)) {
        if (matchPathMajor(v, this.pathMajor) || await canUseIncompatible(v)) highestCanonical = v;
      }
    }
    if (highestCanonical !== "") return await checkCanonical(highestCanonical);
    if (pseudoBase === "") {
      const tag = await this.code.recentTag(info.name, this.tagPrefix, async (t) => {
        const { v } = this.#tagToVersion(t);
        if (v === "") return false;
        if (!matchPathMajor(v, this.pathMajor) && !(await canUseIncompatible(v))) return false;
        return !isRetracted(v);
      });
      if (tag !== "") pseudoBase = this.#tagToVersion(tag).v;
    }
    return await checkCanonical(
      makePseudoVersion(this.pseudoMajor, pseudoBase, new Date(info.time * 1000), info.short),
    );
  }

  /** The version a tag of this module stands for ("" if none), and whether it is spelled canonically. */
  #tagToVersion(tag: string): { v: string; canonical: boolean } {
    if (!tag.startsWith(this.tagPrefix)) return { v: "", canonical: false };
    const trimmed = tag.slice(this.tagPrefix.length);
    if (isPseudoVersion(tag)) return { v: "", canonical: false };
    const v = canonical(trimmed);
    if (v === "" || !trimmed.startsWith(v)) return { v: "", canonical: false };
    return { v, canonical: v === trimmed };
  }

  /**
   * Whether a version of the commit `info` may be `+incompatible`: the module
   * is at the repository root without a major suffix, has no go.mod, and
   * (unless `+incompatible` was asked for) has no go.mod in the major's
   * subdirectory either. The go.mod lookups are made once per commit.
   */
  #incompatibleCheck(info: CodeRev, statVers: string): IncompatibleCheck {
    const incompatibleOk = new Map<string, boolean>();
    return async (v: string): Promise<boolean> => {
      if (this.codeDir !== "" || this.pathMajor !== "") return false;
      if (!incompatibleOk.has("")) {
        incompatibleOk.set("", (await this.code.readFile(info.name, "go.mod")) === null);
      }
      if (!incompatibleOk.get("")) return false;
      if (v !== "" && !statVers.endsWith("+incompatible")) {
        const m = major(v);
        if (!incompatibleOk.has(m)) {
          incompatibleOk.set(m, (await this.code.readFile(info.name, `${m}/go.mod`)) === null);
        }
        if (!incompatibleOk.get(m)) return false;
      }
      return true;
    };
  }

  /** `version` of commit `info` as served, or why it cannot be (cmd/go's convert.checkCanonical). */
  async #checkCanonical(
    info: CodeRev,
    statVers: string,
    version: string,
    canUseIncompatible: IncompatibleCheck,
  ): Promise<RevInfo> {
    let v = version;
    try {
      await this.findDir(v, info.name);
    } catch (err) {
      if (err instanceof NotFoundError) throw this.#invalid(v, err.message, err.status);
      throw err;
    }
    if (v === statVers.replace(/\+incompatible$/, "")) v = statVers;
    const base = v.replace(/\+incompatible$/, "");
    let errIncompatible: NotFoundError | null = null;
    if (!matchPathMajor(base, this.pathMajor)) {
      if (await canUseIncompatible(base)) {
        v = base + "+incompatible";
      } else {
        errIncompatible = this.#invalid(v, this.#majorMismatch(v));
      }
    } else if (v.endsWith("+incompatible")) {
      errIncompatible = this.#invalid(
        v,
        `+incompatible suffix not allowed: major version ${major(v)} is compatible`,
      );
    }
    if (statVers !== "" && statVers === canonicalModuleVersion(statVers)) {
      const statBase = statVers.replace(/\+incompatible$/, "");
      if (statBase !== base) {
        throw this.#invalid(statVers, `resolves to version ${v} (${statBase} is not a tag)`);
      }
    }
    if (errIncompatible) throw errIncompatible;
    return { version: v, time: info.time, hash: info.name };
  }

  /** Why version `v`, whose major does not fit the path, cannot be served `+incompatible`. */
  #majorMismatch(v: string): string {
    if (this.pathMajor !== "") {
      return "module path includes a major version suffix, so major version must match";
    }
    return `module contains a go.mod file, so module path must match major version ("${this.pathPrefix}/${
      major(v)
    }")`;
  }

  /** Checks a requested pseudo-version against the commit (cmd/go's validatePseudoVersion). */
  async validatePseudoVersion(info: CodeRev, version: string): Promise<void> {
    const fail = (why: string) =>
      new NotFoundError(`${this.modPath}@${version}: invalid pseudo-version: ${why}`, 410);
    let rev: string, stamp: string, base: string;
    try {
      rev = pseudoVersionRev(version);
      stamp = pseudoVersionTime(version);
      base = pseudoVersionBase(version.replace(/\+incompatible$/, ""));
    } catch (err) {
      if (err instanceof VersionError) throw fail(err.message);
      throw err;
    }
    if (rev !== info.short) {
      if (rev.startsWith(info.short)) {
        throw fail(`revision is longer than canonical (expected ${info.short})`);
      }
      if (info.short.startsWith(rev)) {
        throw fail(`revision is shorter than canonical (expected ${info.short})`);
      }
      throw fail(`does not match short name of revision (expected ${info.short})`);
    }
    const want = pseudoVersionTimestamp(new Date(info.time * 1000));
    if (stamp !== want) throw fail(`does not match version-control timestamp (expected ${want})`);
    if (base === "") {
      if (this.pseudoMajor === "" && major(version) === "v1") {
        throw fail("major version without preceding tag must be v0, not v1");
      }
      return;
    }
    for (const tag of info.tags) {
      if (tag.slice(tag.startsWith(this.tagPrefix) ? this.tagPrefix.length : 0) === base) {
        throw fail(
          `tag (${tag}) found on revision ${rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag`,
        );
      }
    }
    const problem = await this.#baseTagProblem(info, rev, base);
    if (problem) throw fail(problem);
  }

  /** Unless the pseudo-version's base is a tag the commit descends from, why not. */
  async #baseTagProblem(info: CodeRev, rev: string, base: string): Promise<string | null> {
    let lastTag = "";
    for (const tag of await this.code.tags(this.tagPrefix + base)) {
      const only = tag.name.startsWith(this.tagPrefix)
        ? tag.name.slice(this.tagPrefix.length)
        : tag.name;
      if (compare(only, base) !== 0) continue;
      lastTag = tag.name;
      if (await this.code.mirror.isAncestor(`refs/tags/${tag.name}`, info.name)) return null;
    }
    if (lastTag === "") return `preceding tag (${base}) not found`;
    return `revision ${rev} is not a descendent of preceding tag (${lastTag})`;
  }

  /**
   * Where the module lives at `version` (cmd/go's findDir): its directory and
   * go.mod (null when there is none at the repository root). See
   * {@linkcode findDir}.
   */
  findDir(version: string, knownHash?: string): Promise<ModuleDir> {
    return findDir(this, version, knownHash);
  }

  /** The go.mod of an exact version (cmd/go's codeRepo.GoMod). */
  async goMod(version: string): Promise<Uint8Array> {
    if (version !== canonicalModuleVersion(version)) {
      throw new NotFoundError(`version ${version} is not canonical`);
    }
    if (isPseudoVersion(version)) await this.stat(version);
    const { hash, dir, gomod } = await this.findDir(version);
    if (gomod) return gomod;
    const data = await this.code.readFile(hash, [dir, "go.mod"].filter(Boolean).join("/"));
    return data ?? legacyGoMod(this.modPath);
  }

  /** Which versions the module's author retracted (cmd/go's codeRepo.retractedVersions). */
  retractedVersions(): Promise<(v: string) => boolean> {
    if (!this.#retracted) {
      this.#retracted = (async () => {
        let versions = await this.versions("");
        const firstIncompatible = versions.findIndex((v) => v.endsWith("+incompatible"));
        if (firstIncompatible >= 0) versions = versions.slice(0, firstIncompatible);
        if (versions.length === 0) return () => false;
        let highest = "";
        for (let i = versions.length - 1; i >= 0; i--) {
          if (prerelease(versions[i]) === "") {
            highest = versions[i];
            break;
          }
        }
        if (highest === "") highest = versions[versions.length - 1];
        return retractionPredicate(goModRetractions(await this.goMod(highest)) ?? []);
      })();
    }
    return this.#retracted;
  }
}
