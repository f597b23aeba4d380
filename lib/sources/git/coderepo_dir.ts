/**
 * Where a module lives in its repository at a version (cmd/go's
 * codeRepo.findDir): the module's directory, or its major's subdirectory
 * (`v2/`), and the go.mod there, checked to name the module.
 *
 * @module
 */
import { NotFoundError } from "./codehost.ts";
import type { CodeRepo } from "./coderepo.ts";
import { goModModulePath } from "../../mod/modfile.ts";
import { pathMajorPrefix, splitPathVersion } from "../../mod/module.ts";
import { isValid, major } from "../../mod/semver.ts";

/**
 * Where a module lives at a version: its commit, directory and go.mod (null
 * when none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ModuleDir } from "./coderepo_dir.ts";
 * const found: ModuleDir = { hash: "a".repeat(40), dir: "v2", gomod: null };
 * assert(found.dir === "v2");
 * ```
 */
export interface ModuleDir {
  hash: string;
  dir: string;
  gomod: Uint8Array | null;
}

/**
 * Where the module lives at `version` (cmd/go's findDir): its directory and
 * go.mod (null when there is none at the repository root). A module with a
 * major suffix may live in the major's subdirectory (`v2/go.mod`); a go.mod
 * that names another module is refused with the go command's reason.
 * `knownHash` is the version's commit, when the caller has it.
 *
 * @example
 * ```ts ignore
 * import { findDir } from "./coderepo_dir.ts";
 * import type { CodeRepo } from "./coderepo.ts";
 * declare const repo: CodeRepo;
 * const { dir, gomod } = await findDir(repo, "v2.0.0");
 * console.log(dir, gomod !== null);
 * ```
 */
export async function findDir(
  repo: CodeRepo,
  version: string,
  knownHash?: string,
): Promise<ModuleDir> {
  if (!isValid(version)) throw new NotFoundError(`${version}: syntax error`);
  const hash = knownHash ?? (await repo.code.stat(repo.revToRev(version))).name;
  const file1 = [repo.codeDir, "go.mod"].filter(Boolean).join("/");
  const gomod1 = await repo.code.readFile(hash, file1);
  const mpath1 = gomod1 ? goModModulePath(gomod1) : "";
  const found1 = gomod1 !== null &&
    (isMajor(mpath1, repo.pathMajor) ||
      (repo.pathMajor === "" && mpath1.startsWith("gopkg.in/")));
  let file2 = "";
  if (
    repo.pathMajor !== "" && repo.codeRoot !== repo.modPath && !repo.pathMajor.startsWith(".")
  ) {
    const dir2 = [repo.codeDir, repo.pathMajor.slice(1)].filter(Boolean).join("/");
    file2 = `${dir2}/go.mod`;
    const inMajorDir = await findMajorDir(repo, hash, version, dir2, file1, found1);
    if (inMajorDir) return inMajorDir;
  }
  if (found1) return { hash, dir: repo.codeDir, gomod: gomod1 };
  if (gomod1 !== null) throw wrongGoMod(repo, version, file1, mpath1, file2 !== "");
  if (repo.codeDir === "" && (repo.pathMajor === "" || repo.pathMajor.startsWith("."))) {
    return { hash, dir: "", gomod: null };
  }
  if (file2 !== "") {
    throw new NotFoundError(
      `missing ${repo.pathPrefix}/go.mod and ...${repo.pathMajor}/go.mod at revision ${version}`,
      410,
    );
  }
  throw new NotFoundError(`missing ${repo.pathPrefix}/go.mod at revision ${version}`, 410);
}

/**
 * The module in the major's subdirectory `dir2` (`v2/go.mod`), null when
 * there is no go.mod there; refused when that go.mod is not the module's,
 * or when the one in the module's directory (`found1`) claims it too.
 */
async function findMajorDir(
  repo: CodeRepo,
  hash: string,
  version: string,
  dir2: string,
  file1: string,
  found1: boolean,
): Promise<ModuleDir | null> {
  const file2 = `${dir2}/go.mod`;
  const gomod2 = await repo.code.readFile(hash, file2);
  const mpath2 = gomod2 ? goModModulePath(gomod2) : "";
  const found2 = gomod2 !== null && isMajor(mpath2, repo.pathMajor);
  if (found1 && found2) {
    throw new NotFoundError(
      `${repo.pathPrefix}/${file1} and ...${repo.pathMajor}/go.mod both have ...${repo.pathMajor} module paths at revision ${version}`,
      410,
    );
  }
  if (found2) return { hash, dir: dir2, gomod: gomod2 };
  if (gomod2 === null) return null;
  if (mpath2 === "") {
    throw new NotFoundError(
      `${repo.codeRoot}/${file2} is missing module path at revision ${version}`,
      410,
    );
  }
  throw new NotFoundError(
    `${repo.codeRoot}/${file2} has non-...${repo.pathMajor} module path "${mpath2}" at revision ${version}`,
    410,
  );
}

/** Why the go.mod `file1` (module path `mpath1`) is not this module's. */
function wrongGoMod(
  repo: CodeRepo,
  version: string,
  file1: string,
  mpath1: string,
  hasFile2: boolean,
): NotFoundError {
  const suffix = hasFile2 ? ` (and ...${repo.pathMajor}/go.mod does not exist)` : "";
  if (mpath1 === "") {
    return new NotFoundError(
      `${file1} is missing module path${suffix} at revision ${version}`,
      410,
    );
  }
  if (repo.pathMajor !== "") {
    return new NotFoundError(
      `${file1} has non-...${repo.pathMajor} module path "${mpath1}"${suffix} at revision ${version}`,
      410,
    );
  }
  if (!splitPathVersion(mpath1).ok) {
    return new NotFoundError(
      `${file1} has malformed module path "${mpath1}"${suffix} at revision ${version}`,
      410,
    );
  }
  return new NotFoundError(
    `${file1} has post-${major(version)} module path "${mpath1}"${suffix} at revision ${version}`,
    410,
  );
}

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
