/**
 * A {@linkcode ModuleSource} that serves modules straight from their git
 * repositories, answering every GOPROXY request exactly as the go command
 * would resolve it with `GOPROXY=direct`: the same versions, times, go.mod
 * bytes and zips (so the same go.sum hashes). The resolution rules follow
 * cmd/go's `modfetch` (code repositories) and `modload` (queries).
 *
 * Repositories are kept as bare mirrors under `gitDir` (see
 * {@linkcode GitMirrors}); answers are not cached here, the server does that.
 *
 * @module
 */
import { bytesEqual, concatBytes } from "../../util/bytes.ts";
import { GitError } from "./run.ts";
import { type CommitInfo, type GitMirror, GitMirrors, RepoMissingError } from "./mirror.ts";
import {
  goModGoVersion,
  goModModulePath,
  goModRetractions,
  type Retraction,
} from "../../mod/modfile.ts";
import {
  checkPath,
  checkPathMajor,
  matchPathMajor,
  ModPathError,
  pathMajorPrefix,
  splitPathVersion,
} from "../../mod/module.ts";
import { createRepoLocator, type RepoLocation, RepoNotFoundError } from "./locate.ts";
import {
  type ArtifactRequest,
  describeRequest,
  foundBytes,
  type ModuleSource,
  type SourceAnswer,
  SourceError,
} from "../source.ts";
import { reclaimer } from "../../proxy/reclaim.ts";
import { readTarStream, TarError } from "../../archive/tar.ts";
import { ZipError } from "../../archive/mod.ts";
import { writeZip, type ZipWriteEntry } from "../../archive/zip_writer.ts";
import {
  build,
  canonical,
  canonicalModuleVersion,
  compare,
  isPseudoVersion,
  isValid,
  major,
  makePseudoVersion,
  prerelease,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
  sortVersions,
  VersionError,
} from "../../mod/mod.ts";
import {
  fileSizeProblem,
  MAX_GO_MOD,
  MAX_LICENSE,
  MAX_ZIP_FILE,
  selectZipEntries,
  TREE_TOO_LARGE,
  type TreeEntry,
  ZipRulesError,
} from "../../mod/mod.ts";

/**
 * The request names something that does not exist or cannot be served
 * (unknown module, revision or version, invalid pseudo-version, unzippable
 * tree). `status` is 404 for "not there", 410 for "there but refused".
 */
class NotFound extends Error {
  override name = "NotFound";
  readonly status: 404 | 410;
  constructor(message: string, status: 404 | 410 = 404) {
    super(message);
    this.status = status;
  }
}

/** What the code host knows about a commit (cmd/go's codehost.RevInfo). */
interface CodeRev {
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

/** A resolved module version (cmd/go's modfetch.RevInfo). */
interface RevInfo {
  version: string;
  time: number;
  hash: string;
  ref?: string;
}

const HEX = /^[0-9a-f]+$/;

/** Formats seconds since the epoch as Go's JSON encoding of a UTC time.Time does. */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The go command's synthesized go.mod for a module without one. */
function legacyGoMod(path: string): Uint8Array {
  // modfile.AutoQuote: quote only paths that need it (never valid module paths).
  const needsQuote = /[\s"'`(),\[\]{}]|\/\/|\/\*/.test(path) || path === "";
  return new TextEncoder().encode(`module ${needsQuote ? JSON.stringify(path) : path}\n`);
}

/** The git side of a repository: refs and commit lookups (cmd/go's codehost git repo). */
class CodeHost {
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
    let hash = "";
    let lookup = rev;
    let version = rev;
    if (refs.has(`refs/tags/${rev}`)) {
      hash = refs.get(`refs/tags/${rev}`)!;
    } else if (refs.has(`refs/heads/${rev}`)) {
      hash = refs.get(`refs/heads/${rev}`)!;
      version = hash;
    } else if (rev === "HEAD" && refs.has("HEAD")) {
      hash = refs.get("HEAD")!;
      version = hash;
    } else if (rev.length >= 7 && rev.length <= 40 && HEX.test(rev)) {
      for (const h of refs.values()) {
        if (!h.startsWith(rev)) continue;
        if (hash !== "" && hash !== h) throw new NotFound(`ambiguous revision ${rev}`);
        hash = h;
      }
      if (hash !== "") version = hash;
    } else {
      throw new NotFound(`unknown revision ${rev}`);
    }
    if (hash !== "") lookup = hash;
    let commit: CommitInfo | null = null;
    try {
      commit = await this.mirror.commit(lookup);
    } catch (err) {
      if (err instanceof GitError && err.exitCode === null && !err.timedOut) {
        throw new NotFound(`unknown revision ${rev}`);
      }
      throw err;
    }
    if (!commit) throw new NotFound(`unknown revision ${rev}`);
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

  async latest(): Promise<CodeRev> {
    const head = (await this.mirror.refs()).get("HEAD");
    if (!head) throw new NotFound("no commits");
    return await this.stat(head);
  }

  /** A file at a commit, or null. */
  readFile(hash: string, file: string, max = MAX_GO_MOD): Promise<Uint8Array | null> {
    return this.mirror.readFile(hash, file, max + 1).then((d) => {
      if (d && d.byteLength > max) throw new NotFound(`${file} too large at ${hash}`, 410);
      return d;
    });
  }

  /** The highest allowed tag (with prefix) reachable from commit `hash`, or "". */
  async recentTag(hash: string, prefix: string, allowed: (tag: string) => Promise<boolean>) {
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

/** One module in one repository (cmd/go's modfetch codeRepo). */
class CodeRepo {
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
      throw new NotFound(`mismatched repo: found ${location.root} for ${modPath}`);
    }
    const split = splitPathVersion(modPath);
    if (!split.ok) throw new NotFound(`invalid module path ${JSON.stringify(modPath)}`);
    this.pathPrefix = modPath === location.root ? modPath : split.prefix;
    this.pathMajor = split.pathMajor;
    this.pseudoMajor = pathMajorPrefix(split.pathMajor);
    let dir = "";
    if (location.root !== modPath) {
      if (!(this.pathPrefix === location.root || this.pathPrefix.startsWith(location.root + "/"))) {
        throw new NotFound(
          `repository rooted at ${location.root} cannot contain module ${modPath}`,
        );
      }
      dir = this.pathPrefix.slice(location.root.length).replace(/^\/+|\/+$/g, "");
    }
    if (location.subdir !== "") dir = [dir, location.subdir].filter(Boolean).join("/");
    this.codeDir = dir;
  }

  get tagPrefix(): string {
    return this.codeDir === "" ? "" : this.codeDir + "/";
  }

  /** Tagged versions of this module (cmd/go's codeRepo.Versions). */
  async versions(prefix: string): Promise<string[]> {
    if (this.modPath.startsWith("gopkg.in/") && this.modPath.endsWith("-unstable")) return [];
    const p = this.tagPrefix + prefix;
    const list: string[] = [];
    const incompatible: string[] = [];
    for (const tag of await this.code.tags(p)) {
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
    const hasGoMod = async (v: string) => {
      const rev = await this.code.stat(this.revToRev(v));
      return (await this.code.readFile(rev.name, "go.mod")) !== null;
    };
    if (sorted.length > 0 && await hasGoMod(sorted[sorted.length - 1])) return sorted;
    let lastMajor = "";
    let lastMajorHasGoMod = false;
    for (let i = 0; i < incompat.length; i++) {
      const v = incompat[i];
      const m = major(v);
      if (m !== lastMajor) {
        let j = i;
        while (j + 1 < incompat.length && major(incompat[j + 1]) === m) j++;
        lastMajor = m;
        lastMajorHasGoMod = await hasGoMod(incompat[j]);
      }
      if (!lastMajorHasGoMod) sorted.push(v + "+incompatible");
    }
    return sorted;
  }

  revToRev(rev: string): string {
    if (!isValid(rev)) return rev;
    if (isPseudoVersion(rev)) return pseudoVersionRev(rev);
    if (build(rev) === "+incompatible") rev = rev.slice(0, -"+incompatible".length);
    return this.tagPrefix + rev;
  }

  async stat(rev: string): Promise<RevInfo> {
    if (rev === "latest") return await this.latest();
    let info: CodeRev;
    try {
      info = await this.code.stat(this.revToRev(rev));
    } catch (err) {
      if (err instanceof NotFound) {
        throw new NotFound(`${this.modPath}@${rev}: invalid version: ${err.message}`);
      }
      throw err;
    }
    return await this.convert(info, rev);
  }

  async latest(): Promise<RevInfo> {
    return await this.convert(await this.code.latest(), "");
  }

  /** Turns a commit into a module version (cmd/go's codeRepo.convert). */
  async convert(info: CodeRev, statVers: string): Promise<RevInfo> {
    const fail = (v: string, why: string, status: 404 | 410 = 404) =>
      new NotFound(`${this.modPath}@${v}: invalid version: ${why}`, status);
    const incompatibleOk = new Map<string, boolean>();
    const canUseIncompatible = async (v: string): Promise<boolean> => {
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

    const checkCanonical = async (version: string): Promise<RevInfo> => {
      let v = version;
      try {
        await this.findDir(v, info.name);
      } catch (err) {
        if (err instanceof NotFound) throw fail(v, err.message, err.status);
        throw err;
      }
      if (v === statVers.replace(/\+incompatible$/, "")) v = statVers;
      const base = v.replace(/\+incompatible$/, "");
      let errIncompatible: NotFound | null = null;
      if (!matchPathMajor(base, this.pathMajor)) {
        if (await canUseIncompatible(base)) {
          v = base + "+incompatible";
        } else if (this.pathMajor !== "") {
          errIncompatible = fail(
            v,
            "module path includes a major version suffix, so major version must match",
          );
        } else {
          errIncompatible = fail(
            v,
            `module contains a go.mod file, so module path must match major version ("${this.pathPrefix}/${
              major(v)
            }")`,
          );
        }
      } else if (v.endsWith("+incompatible")) {
        errIncompatible = fail(
          v,
          `+incompatible suffix not allowed: major version ${major(v)} is compatible`,
        );
      }
      if (statVers !== "" && statVers === canonicalModuleVersion(statVers)) {
        const statBase = statVers.replace(/\+incompatible$/, "");
        if (statBase !== base) {
          throw fail(statVers, `resolves to version ${v} (${statBase} is not a tag)`);
        }
      }
      if (errIncompatible) throw errIncompatible;
      return { version: v, time: info.time, hash: info.name };
    };

    if (isPseudoVersion(statVers)) {
      const rev = await checkCanonical(statVers);
      await this.validatePseudoVersion(info, statVers);
      return rev;
    }

    const isRetracted = await this.retractedVersions().catch(() => (_: string) => false);
    const tagToVersion = (tag: string): { v: string; canonical: boolean } => {
      if (!tag.startsWith(this.tagPrefix)) return { v: "", canonical: false };
      const trimmed = tag.slice(this.tagPrefix.length);
      if (isPseudoVersion(tag)) return { v: "", canonical: false };
      const v = canonical(trimmed);
      if (v === "" || !trimmed.startsWith(v)) return { v: "", canonical: false };
      return { v, canonical: v === trimmed };
    };

    const direct = tagToVersion(info.version);
    if (direct.canonical) {
      try {
        return await checkCanonical(direct.v);
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
      }
    }

    let highestCanonical = "";
    let pseudoBase = "";
    for (const pathTag of info.tags) {
      const { v, canonical: tagIsCanonical } = tagToVersion(pathTag);
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
        const { v } = tagToVersion(t);
        if (v === "") return false;
        if (!matchPathMajor(v, this.pathMajor) && !(await canUseIncompatible(v))) return false;
        return !isRetracted(v);
      });
      if (tag !== "") pseudoBase = tagToVersion(tag).v;
    }
    return await checkCanonical(
      makePseudoVersion(this.pseudoMajor, pseudoBase, new Date(info.time * 1000), info.short),
    );
  }

  /** Checks a requested pseudo-version against the commit (cmd/go's validatePseudoVersion). */
  async validatePseudoVersion(info: CodeRev, version: string): Promise<void> {
    const fail = (why: string) =>
      new NotFound(`${this.modPath}@${version}: invalid pseudo-version: ${why}`, 410);
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
    const want = new Date(info.time * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 14);
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
    let lastTag = "";
    let ancestorFound = false;
    for (const tag of await this.code.tags(this.tagPrefix + base)) {
      const only = tag.name.startsWith(this.tagPrefix)
        ? tag.name.slice(this.tagPrefix.length)
        : tag.name;
      if (compare(only, base) !== 0) continue;
      lastTag = tag.name;
      ancestorFound = await this.code.mirror.isAncestor(`refs/tags/${tag.name}`, info.name);
      if (ancestorFound) break;
    }
    if (lastTag === "") throw fail(`preceding tag (${base}) not found`);
    if (!ancestorFound) {
      throw fail(`revision ${rev} is not a descendent of preceding tag (${lastTag})`);
    }
  }

  /**
   * Where the module lives at `version` (cmd/go's findDir): its directory and
   * go.mod (null when there is none at the repository root).
   */
  async findDir(
    version: string,
    knownHash?: string,
  ): Promise<{ hash: string; dir: string; gomod: Uint8Array | null }> {
    if (!isValid(version)) throw new NotFound(`${version}: syntax error`);
    const hash = knownHash ?? (await this.code.stat(this.revToRev(version))).name;
    const file1 = [this.codeDir, "go.mod"].filter(Boolean).join("/");
    const gomod1 = await this.code.readFile(hash, file1);
    const mpath1 = gomod1 ? goModModulePath(gomod1) : "";
    const found1 = gomod1 !== null &&
      (isMajor(mpath1, this.pathMajor) ||
        (this.pathMajor === "" && mpath1.startsWith("gopkg.in/")));
    let file2 = "";
    if (
      this.pathMajor !== "" && this.codeRoot !== this.modPath && !this.pathMajor.startsWith(".")
    ) {
      const dir2 = [this.codeDir, this.pathMajor.slice(1)].filter(Boolean).join("/");
      file2 = `${dir2}/go.mod`;
      const gomod2 = await this.code.readFile(hash, file2);
      const mpath2 = gomod2 ? goModModulePath(gomod2) : "";
      const found2 = gomod2 !== null && isMajor(mpath2, this.pathMajor);
      if (found1 && found2) {
        throw new NotFound(
          `${this.pathPrefix}/${file1} and ...${this.pathMajor}/go.mod both have ...${this.pathMajor} module paths at revision ${version}`,
          410,
        );
      }
      if (found2) return { hash, dir: dir2, gomod: gomod2 };
      if (gomod2 !== null) {
        if (mpath2 === "") {
          throw new NotFound(
            `${this.codeRoot}/${file2} is missing module path at revision ${version}`,
            410,
          );
        }
        throw new NotFound(
          `${this.codeRoot}/${file2} has non-...${this.pathMajor} module path "${mpath2}" at revision ${version}`,
          410,
        );
      }
    }
    if (found1) return { hash, dir: this.codeDir, gomod: gomod1 };
    if (gomod1 !== null) {
      const suffix = file2 !== "" ? ` (and ...${this.pathMajor}/go.mod does not exist)` : "";
      if (mpath1 === "") {
        throw new NotFound(`${file1} is missing module path${suffix} at revision ${version}`, 410);
      }
      if (this.pathMajor !== "") {
        throw new NotFound(
          `${file1} has non-...${this.pathMajor} module path "${mpath1}"${suffix} at revision ${version}`,
          410,
        );
      }
      if (!splitPathVersion(mpath1).ok) {
        throw new NotFound(
          `${file1} has malformed module path "${mpath1}"${suffix} at revision ${version}`,
          410,
        );
      }
      throw new NotFound(
        `${file1} has post-${
          major(version)
        } module path "${mpath1}"${suffix} at revision ${version}`,
        410,
      );
    }
    if (this.codeDir === "" && (this.pathMajor === "" || this.pathMajor.startsWith("."))) {
      return { hash, dir: "", gomod: null };
    }
    if (file2 !== "") {
      throw new NotFound(
        `missing ${this.pathPrefix}/go.mod and ...${this.pathMajor}/go.mod at revision ${version}`,
        410,
      );
    }
    throw new NotFound(`missing ${this.pathPrefix}/go.mod at revision ${version}`, 410);
  }

  /** The go.mod of an exact version (cmd/go's codeRepo.GoMod). */
  async goMod(version: string): Promise<Uint8Array> {
    if (version !== canonicalModuleVersion(version)) {
      throw new NotFound(`version ${version} is not canonical`);
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

  /**
   * Decides what the zip of an exact version holds (cmd/go's codeRepo.Zip
   * with x/mod/zip's rules) from the tree listing, names and sizes only, so
   * that a tree the go command refuses (too large, bad names) is refused
   * before any content is read.
   */
  async zipPlan(version: string): Promise<ZipPlan> {
    if (version !== canonicalModuleVersion(version)) {
      throw new NotFound(`version ${version} is not canonical`);
    }
    if (isPseudoVersion(version)) await this.stat(version);
    const { hash, dir } = await this.findDir(version);
    const listing = await this.code.mirror.listTree(hash, dir);
    if (dir !== "" && listing.length === 0) {
      throw new NotFound(`${this.modPath}@${version}: no files in ${dir}`, 410);
    }
    const subdir = dir === "" ? "" : dir + "/";
    const files: TreeEntry[] = [];
    for (const e of listing) {
      if (!e.path.startsWith(subdir) || e.path === subdir) continue;
      files.push({ ...e, path: e.path.slice(subdir.length) });
    }
    let license: Uint8Array | null = null;
    if (subdir !== "" && !files.some((f) => f.path === "LICENSE")) {
      license = await this.#rootLicense(hash);
      if (license) files.push({ path: "LICENSE", type: "file", size: license.byteLength });
    }
    const gomod = files.find((f) => f.path === "go.mod" && f.type === "file");
    let goVersion = "";
    if (gomod && gomod.size <= MAX_GO_MOD) {
      goVersion = goModGoVersion(
        (await this.code.readFile(hash, subdir + "go.mod")) ?? new Uint8Array(),
      );
    }
    try {
      const kept = selectZipEntries(files, goVersion);
      return { version, hash, dir, keep: new Set(kept.map((f) => f.path)), license };
    } catch (err) {
      if (err instanceof ZipRulesError) {
        throw new NotFound(`${this.modPath}@${version}: create zip: ${err.message}`, 410);
      }
      throw err;
    }
  }

  /**
   * Like the go command, a subdirectory module without a LICENSE gets the
   * root's: the blob as git stores it (a symlinked root LICENSE contributes
   * its target text), with no size cap here; the zip rules then refuse one
   * over 16 MiB (a stand-in of that size is all they need to see).
   */
  async #rootLicense(hash: string): Promise<Uint8Array | null> {
    return await this.code.mirror.readFile(hash, "LICENSE", MAX_LICENSE + 1).catch((err) => {
      if (err instanceof GitError && err.exitCode === null) return new Uint8Array(MAX_LICENSE + 1);
      throw err;
    });
  }

  /**
   * The zip's files as `git archive` streams them: each kept file is handed
   * on as its bytes arrive (whole when small), so neither a file nor the
   * archive is ever in memory whole. The limits are checked again on each
   * file's size as the archive gives it (checkout filters may have grown it
   * since the listing): passing one stops git at once with a
   * {@linkcode ZipError} carrying the go command's reason.
   */
  async *zipEntries(plan: ZipPlan, prefix: string): AsyncGenerator<ZipWriteEntry> {
    const refuse = (why: string) =>
      new ZipError(`${this.modPath}@${plan.version}: create zip: ${why}`);
    const subdir = plan.dir === "" ? "" : plan.dir + "/";
    let total = 0;
    try {
      for await (const e of readTarStream(this.code.mirror.archiveStream(plan.hash, plan.dir))) {
        if (e.type === "directory") continue;
        if (!e.name.startsWith("prefix/")) {
          throw new SourceError("git archive: entry outside prefix");
        }
        const name = e.name.slice("prefix/".length + subdir.length);
        if (!e.name.startsWith("prefix/" + subdir) || !plan.keep.has(name)) continue;
        if (e.type !== "file") continue;
        total += e.size;
        const problem = fileSizeProblem(name, e.size) ??
          (total > MAX_ZIP_FILE ? TREE_TOO_LARGE : "");
        if (problem) throw refuse(problem);
        const data = e.size <= WHOLE_FILE_MAX
          ? concatBytes(await Array.fromAsync(e.body()))
          : reclaimed(e.body());
        yield { name: prefix + name, data };
      }
    } catch (err) {
      if (err instanceof TarError || err instanceof GitError) {
        throw new SourceError(`${this.modPath}@${plan.version} .zip: git archive: ${err.message}`);
      }
      throw err;
    }
    if (plan.license) {
      total += plan.license.byteLength;
      if (total > MAX_ZIP_FILE) throw refuse(TREE_TOO_LARGE);
      yield { name: prefix + "LICENSE", data: plan.license };
    }
  }
}

/** What a version's zip holds, decided before its content is read (see {@linkcode CodeRepo.zipPlan}). */
interface ZipPlan {
  version: string;
  /** Commit and directory of the module in the repository. */
  hash: string;
  dir: string;
  /** Paths (relative to the module root) of the files from the archive that go in the zip. */
  keep: Set<string>;
  /** The root LICENSE a subdirectory module gets, if any. */
  license: Uint8Array | null;
}

/**
 * Passes pieces on, counting them as garbage once taken: git's output is
 * buffers outside V8's heap, which are otherwise freed late (see `reclaim.ts`).
 */
async function* reclaimed(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) {
    yield piece;
    reclaimer.released(piece.byteLength);
  }
}

/** Files up to this size are read whole before deflating, the rest piece by piece. */
const WHOLE_FILE_MAX = 1 << 20;

/** Whether the versions allowed for `mpath` fit `pathMajor` (cmd/go's isMajor). */
function isMajor(mpath: string, pathMajor: string): boolean {
  if (mpath === "") return false;
  const split = splitPathVersion(mpath);
  if (!split.ok) return false;
  if (pathMajor === "") {
    const p = pathMajorPrefix(split.pathMajor);
    return p === "" || p === "v0" || p === "v1";
  }
  if (split.pathMajor === "") return false;
  return pathMajor.slice(1) === split.pathMajor.slice(1);
}

function retractionPredicate(retractions: Retraction[]): (v: string) => boolean {
  return (v) => retractions.some((r) => compare(r.low, v) <= 0 && compare(v, r.high) <= 0);
}

/**
 * Answers version queries as `go mod download mod@query` does in direct mode
 * (cmd/go's modload.queryProxy): exact revisions are looked up; `latest`,
 * prefixes like `v1.2` and ranges choose among tagged versions, skipping
 * retracted ones.
 */
class Query {
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
      if (err instanceof NotFound) return () => false;
      throw err;
    }
    let gomod: Uint8Array;
    try {
      gomod = await this.repo.goMod(latest.version);
    } catch (err) {
      if (err instanceof NotFound) return () => false;
      throw err;
    }
    return retractionPredicate(goModRetractions(gomod) ?? []);
  }

  async answer(query: string): Promise<RevInfo> {
    if (Query.isRevision(query)) return await this.resolve(query, () => true);
    const retracted = await this.#retractedByLatest();
    return await this.resolve(query, (v) => !retracted(v));
  }

  async resolve(query: string, allowed: (v: string) => boolean): Promise<RevInfo> {
    const path = this.repo.modPath;
    const { pathMajor } = splitPathVersion(path);
    const matchesMajor = (v: string) => {
      try {
        checkPathMajor(v, pathMajor);
        return true;
      } catch {
        return false;
      }
    };
    let prefix = "";
    let filter: (v: string) => boolean = () => true;
    let canStat = false;
    let preferLower = false;
    let mayUseLatest = false;
    let preferIncompatible = false;
    const bad = (why: string) => new NotFound(`${path}@${query}: ${why}`);
    const needValid = (v: string) => {
      if (!isValid(v)) {
        throw bad(
          `invalid semantic version ${JSON.stringify(v)} in range ${JSON.stringify(query)}`,
        );
      }
    };
    if (query === "latest" || query === "upgrade") {
      mayUseLatest = true;
    } else if (query === "patch") {
      throw bad('can\'t query version "patch" of module: no existing version is required');
    } else if (query.startsWith("<=")) {
      const v = query.slice(2);
      needValid(v);
      if (isPrefixVersion(v)) throw bad(`ambiguous semantic version "${v}" in range "${query}"`);
      filter = (mv) => compare(mv, v) <= 0;
      if (!matchesMajor(v)) preferIncompatible = true;
    } else if (query.startsWith("<")) {
      const v = query.slice(1);
      needValid(v);
      filter = (mv) => compare(mv, v) < 0;
      if (!matchesMajor(v)) preferIncompatible = true;
    } else if (query.startsWith(">=")) {
      const v = query.slice(2);
      needValid(v);
      filter = (mv) => compare(mv, v) >= 0;
      preferLower = true;
      if (!matchesMajor(v)) preferIncompatible = true;
    } else if (query.startsWith(">")) {
      const v = query.slice(1);
      needValid(v);
      if (isPrefixVersion(v)) throw bad(`ambiguous semantic version "${v}" in range "${query}"`);
      filter = (mv) => compare(mv, v) > 0;
      preferLower = true;
      if (!matchesMajor(v)) preferIncompatible = true;
    } else if (isValid(query)) {
      if (isPrefixVersion(query)) {
        prefix = query + ".";
        filter = (mv) => compare(mv, query) >= 0;
      } else {
        canStat = true;
        filter = (mv) => compare(mv, query) === 0;
        prefix = canonical(query);
      }
      if (!matchesMajor(query)) preferIncompatible = true;
    } else {
      canStat = true; // a revision: branch, tag, hash
    }

    if (canStat) {
      try {
        return await this.repo.stat(query);
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
        const cq = canonicalModuleVersion(query);
        if (cq !== "" && cq !== query) {
          try {
            return await this.repo.stat(cq);
          } catch (err2) {
            if (!(err2 instanceof NotFound)) throw err2;
          }
        }
        throw err;
      }
    }

    const allows = (v: string) =>
      (prefix === "" || v.startsWith(prefix)) && filter(v) && allowed(v);
    const releases: string[] = [];
    const prereleases: string[] = [];
    let needIncompatible = preferIncompatible;
    let lastCompatible = "";
    for (const v of await this.repo.versions(prefix)) {
      if (!allows(v)) continue;
      if (!needIncompatible) {
        if (!v.endsWith("+incompatible")) {
          lastCompatible = v;
        } else if (lastCompatible !== "") {
          const gomod = await this.repo.goMod(lastCompatible).catch((err) => {
            if (err instanceof NotFound) return null;
            throw err;
          });
          if (gomod === null || !bytesEqual(gomod, legacyGoMod(path))) break;
          needIncompatible = true;
        }
      }
      (prerelease(v) !== "" ? prereleases : releases).push(v);
    }
    const pick = preferLower
      ? releases[0] ?? prereleases[0]
      : releases[releases.length - 1] ?? prereleases[prereleases.length - 1];
    if (pick !== undefined) return await this.repo.stat(pick);
    if (mayUseLatest) {
      let latest: RevInfo | null = null;
      try {
        latest = await this.repo.latest();
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
      }
      if (latest && allows(latest.version)) return await this.repo.stat(latest.version);
    }
    throw new NotFound(`${path}@${query}: no matching versions for query "${query}"`);
  }
}

/** Whether a valid semantic version is a prefix form (`v1`, `v1.2`). */
function isPrefixVersion(v: string): boolean {
  return /^v[0-9]+(\.[0-9]+)?$/.test(v);
}

/** Options for {@linkcode createGitSource}. */
export interface GitSourceOptions {
  /** Directory for the bare mirrors (created if missing). */
  gitDir: string;
  /** Refetch a mirror when its last fetch is older than this. */
  fetchTtlMs: number;
  /** Timeout for each git command (default 120 s). */
  timeoutMs?: number;
  /**
   * Extra environment for git on top of the process's own. Operators
   * configure git the usual way (the server inherits their environment and
   * git config); tests use this to point git at a temporary configuration.
   */
  env?: Record<string, string>;
  /** How module paths map to repositories (default: the go command's rules, see `repolocate.ts`). */
  locate?: (path: string) => Promise<RepoLocation>;
}

/**
 * Creates a source that serves modules from their git repositories.
 *
 * @example
 * ```ts
 * import { createGitSource } from "./source.ts";
 * const source = createGitSource({ gitDir: "/var/lib/astera/git", fetchTtlMs: 60_000 });
 * const answer = await source.fetch({ kind: "list", module: "git.corp.example/team/lib.git" });
 * console.log(answer.found);
 * ```
 */
export function createGitSource(
  options: GitSourceOptions,
): ModuleSource & { close(): void; mirrors: GitMirrors } {
  const mirrors = new GitMirrors({
    dir: options.gitDir,
    fetchTtlMs: options.fetchTtlMs,
    timeoutMs: options.timeoutMs,
    env: options.env,
  });
  const locate = options.locate ?? createRepoLocator();

  const openRepo = async (module: string, signal?: AbortSignal): Promise<CodeRepo> => {
    try {
      checkPath(module);
    } catch (err) {
      if (err instanceof ModPathError) throw new NotFound(err.message);
      throw err;
    }
    let location: RepoLocation;
    try {
      location = await locate(module);
    } catch (err) {
      if (err instanceof RepoNotFoundError) throw new NotFound(`${module}: ${err.message}`);
      throw err;
    }
    let mirror: GitMirror;
    try {
      mirror = await mirrors.open(location.url, signal);
    } catch (err) {
      if (err instanceof RepoMissingError) throw new NotFound(`${module}: ${err.message}`);
      throw err;
    }
    return new CodeRepo(new CodeHost(mirror), location, module);
  };

  const infoJson = (repo: CodeRepo, rev: RevInfo): Uint8Array => {
    const origin: Record<string, string> = { VCS: "git", URL: repo.code.mirror.url };
    if (repo.codeDir !== "") origin.Subdir = repo.codeDir;
    origin.Hash = rev.hash;
    return new TextEncoder().encode(
      JSON.stringify({ Version: rev.version, Time: rfc3339(rev.time), Origin: origin }) + "\n",
    );
  };

  /** An exact version for .mod/.zip: it must resolve to itself, or it is not served. */
  const exact = async (repo: CodeRepo, version: string): Promise<void> => {
    if (version !== canonicalModuleVersion(version)) {
      throw new NotFound(`${repo.modPath}@${version}: version is not canonical`);
    }
    const rev = await repo.stat(version);
    if (rev.version !== version) {
      throw new NotFound(`${repo.modPath}@${version}: resolves to ${rev.version}`);
    }
  };

  const answer = async (request: ArtifactRequest, signal?: AbortSignal): Promise<SourceAnswer> => {
    const repo = await openRepo(request.module, signal);
    switch (request.kind) {
      case "list": {
        const list = await repo.versions("");
        return foundBytes(new TextEncoder().encode(list.map((v) => v + "\n").join("")));
      }
      case "latest":
        return foundBytes(infoJson(repo, await new Query(repo).answer("latest")));
      case "info":
        return foundBytes(infoJson(repo, await new Query(repo).answer(request.version)));
      case "mod":
        await exact(repo, request.version);
        return foundBytes(await repo.goMod(request.version));
      case "zip": {
        await exact(repo, request.version);
        const plan = await repo.zipPlan(request.version);
        const body = writeZip(repo.zipEntries(plan, `${request.module}@${request.version}/`));
        return { found: true, body, size: null };
      }
    }
  };

  return {
    mirrors,
    async fetch(request: ArtifactRequest, signal?: AbortSignal): Promise<SourceAnswer> {
      try {
        return await answer(request, signal);
      } catch (err) {
        if (err instanceof NotFound) {
          return { found: false, status: err.status, message: err.message };
        }
        if (err instanceof SourceError) throw err;
        if (err instanceof GitError) {
          throw new SourceError(`${describeRequest(request)}: ${err.message}`);
        }
        throw err;
      }
    },
    close() {},
  };
}
