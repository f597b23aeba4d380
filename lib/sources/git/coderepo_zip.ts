/**
 * The zip of a module version made from its git tree (cmd/go's
 * codeRepo.Zip with x/mod/zip's rules): first a plan from the tree listing,
 * names and sizes only, so that a tree the go command refuses is refused
 * before any content is read; then the files as `git archive` streams them.
 *
 * @module
 */
import { concatBytes } from "../../util/bytes.ts";
import { GitError } from "./run.ts";
import { NotFoundError } from "./codehost.ts";
import type { CodeRepo } from "./coderepo.ts";
import { SourceError } from "../source.ts";
import { reclaimer } from "../../proxy/reclaim.ts";
import { readTarStream, TarError } from "../../archive/tar.ts";
import { ZipError } from "../../archive/zip_reader.ts";
import type { ZipWriteEntry } from "../../archive/zip_writer.ts";
import { goModGoVersion } from "../../mod/modfile.ts";
import { canonicalModuleVersion } from "../../mod/semver.ts";
import { isPseudoVersion } from "../../mod/pseudo.ts";
import { MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE } from "../../mod/zip.ts";
import {
  fileSizeProblem,
  selectZipEntries,
  TREE_TOO_LARGE,
  type TreeEntry,
  ZipRulesError,
} from "../../mod/zip_files.ts";

/**
 * What a version's zip holds, decided before its content is read (see
 * {@linkcode zipPlan}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ZipPlan } from "./coderepo_zip.ts";
 * const plan: ZipPlan = {
 *   version: "v1.0.0",
 *   hash: "a".repeat(40),
 *   dir: "",
 *   keep: new Set(["go.mod", "m.go"]),
 *   license: null,
 * };
 * assert(plan.keep.has("go.mod"));
 * ```
 */
export interface ZipPlan {
  version: string;
  /** Commit and directory of the module in the repository. */
  hash: string;
  dir: string;
  /** Paths (relative to the module root) of the files from the archive that go in the zip. */
  keep: Set<string>;
  /** The root LICENSE a subdirectory module gets, if any. */
  license: Uint8Array | null;
}

/** Files up to this size are read whole before deflating, the rest piece by piece. */
const WHOLE_FILE_MAX = 1 << 20;

/**
 * Decides what the zip of an exact version holds (cmd/go's codeRepo.Zip
 * with x/mod/zip's rules) from the tree listing, names and sizes only, so
 * that a tree the go command refuses (too large, bad names) is refused
 * before any content is read.
 *
 * @example
 * ```ts ignore
 * import { zipPlan } from "./coderepo_zip.ts";
 * import type { CodeRepo } from "./coderepo.ts";
 * declare const repo: CodeRepo;
 * console.log((await zipPlan(repo, "v1.5.2")).keep.size);
 * ```
 */
export async function zipPlan(repo: CodeRepo, version: string): Promise<ZipPlan> {
  if (version !== canonicalModuleVersion(version)) {
    throw new NotFoundError(`version ${version} is not canonical`);
  }
  if (isPseudoVersion(version)) await repo.stat(version);
  const { hash, dir } = await repo.findDir(version);
  const listing = await repo.code.mirror.listTree(hash, dir);
  if (dir !== "" && listing.length === 0) {
    throw new NotFoundError(`${repo.modPath}@${version}: no files in ${dir}`, 410);
  }
  const subdir = dir === "" ? "" : dir + "/";
  const files: TreeEntry[] = [];
  for (const e of listing) {
    if (!e.path.startsWith(subdir) || e.path === subdir) continue;
    files.push({ ...e, path: e.path.slice(subdir.length) });
  }
  let license: Uint8Array | null = null;
  if (subdir !== "" && !files.some((f) => f.path === "LICENSE")) {
    license = await rootLicense(repo, hash);
    if (license) files.push({ path: "LICENSE", type: "file", size: license.byteLength });
  }
  const gomod = files.find((f) => f.path === "go.mod" && f.type === "file");
  let goVersion = "";
  if (gomod && gomod.size <= MAX_GO_MOD) {
    goVersion = goModGoVersion(
      (await repo.code.readFile(hash, subdir + "go.mod")) ?? new Uint8Array(),
    );
  }
  try {
    const kept = selectZipEntries(files, goVersion);
    return { version, hash, dir, keep: new Set(kept.map((f) => f.path)), license };
  } catch (err) {
    if (err instanceof ZipRulesError) {
      throw new NotFoundError(`${repo.modPath}@${version}: create zip: ${err.message}`, 410);
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
async function rootLicense(repo: CodeRepo, hash: string): Promise<Uint8Array | null> {
  return await repo.code.mirror.readFile(hash, "LICENSE", MAX_LICENSE + 1).catch((err) => {
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
 *
 * @example
 * ```ts ignore
 * import { zipEntries, zipPlan } from "./coderepo_zip.ts";
 * import { writeZip } from "../../archive/zip_writer.ts";
 * import type { CodeRepo } from "./coderepo.ts";
 * declare const repo: CodeRepo;
 * const plan = await zipPlan(repo, "v1.5.2");
 * const zip = writeZip(zipEntries(repo, plan, "rsc.io/quote@v1.5.2/"));
 * ```
 */
export async function* zipEntries(
  repo: CodeRepo,
  plan: ZipPlan,
  prefix: string,
): AsyncGenerator<ZipWriteEntry> {
  const refuse = (why: string) =>
    new ZipError(`${repo.modPath}@${plan.version}: create zip: ${why}`);
  const subdir = plan.dir === "" ? "" : plan.dir + "/";
  let total = 0;
  try {
    for await (const e of readTarStream(repo.code.mirror.archiveStream(plan.hash, plan.dir))) {
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
      throw new SourceError(`${repo.modPath}@${plan.version} .zip: git archive: ${err.message}`);
    }
    throw err;
  }
  if (plan.license) {
    total += plan.license.byteLength;
    if (total > MAX_ZIP_FILE) throw refuse(TREE_TOO_LARGE);
    yield { name: prefix + "LICENSE", data: plan.license };
  }
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
