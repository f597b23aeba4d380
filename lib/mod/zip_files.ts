/**
 * Which files of a module's source tree go into its module zip, by the rules
 * of golang.org/x/mod/zip's `Create` (the go command builds zips from VCS
 * trees with them): nested modules, vendored packages, `.hg_archival.txt`,
 * symlinks and irregular files are left out silently; an invalid file name,
 * a case-insensitive collision, a misspelled `go.mod` or a size beyond the
 * limits makes the whole version unzippable.
 *
 * @module
 */
import { checkFilePath } from "./module.ts";
import { CollisionChecker, isCleanPath, MAX_ZIP_FILE, oversizeProblem } from "./zip.ts";
import { errorText } from "../util/errors.ts";

/**
 * An entry of the source tree as a listing gives it: path relative to the module root, size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectZipEntries, type TreeEntry } from "./zip_files.ts";
 * const tree: TreeEntry[] = [
 *   { path: "go.mod", type: "file", size: 9 },
 *   { path: "link", type: "symlink", size: 0 }, // symlinks are left out
 * ];
 * assert.deepEqual(selectZipEntries(tree, "1.24").map((e) => e.path), ["go.mod"]);
 * ```
 */
export interface TreeEntry {
  path: string;
  type: "file" | "symlink" | "other";
  /** Content size in bytes (for a symlink, whatever; it is never zipped). */
  size: number;
}

/**
 * The reason the go command gives for a tree whose files add up to more than a zip may hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectZipEntries, TREE_TOO_LARGE, ZipRulesError } from "./zip_files.ts";
 * const big = { type: "file" as const, size: 300 << 20 };
 * const tree = [{ path: "a", ...big }, { path: "b", ...big }];
 * assert.throws(() => selectZipEntries(tree, "1.24"), ZipRulesError, TREE_TOO_LARGE);
 * ```
 */
export const TREE_TOO_LARGE = `module source tree too large (max size is ${MAX_ZIP_FILE} bytes)`;

/**
 * The go command's reason for one file over its own limit (go.mod, LICENSE),
 * or undefined. Like x/mod/zip's FileError, it starts with the file's path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileSizeProblem } from "./zip_files.ts";
 * assert.equal(
 *   fileSizeProblem("LICENSE", 17 << 20),
 *   "LICENSE: LICENSE file too large (max size is 16777216 bytes)",
 * );
 * assert.equal(fileSizeProblem("README", 17 << 20), undefined);
 * ```
 */
export function fileSizeProblem(path: string, size: number): string | undefined {
  const problem = oversizeProblem(path, size);
  return problem === undefined ? undefined : `${path}: ${problem}`;
}

/**
 * The tree cannot become a module zip; `message` says why (the server answers
 * 410 with it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZipRulesError } from "./zip_files.ts";
 * const one = new ZipRulesError(['malformed file path "aux.go"']);
 * assert.equal(one.message, 'malformed file path "aux.go"');
 * assert.equal(new ZipRulesError(["a", "b"]).message, "2 problems: a; b");
 * ```
 */
export class ZipRulesError extends Error {
  override name = "ZipRulesError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `${problems.length} problems: ${problems.slice(0, 5).join("; ")}`,
    );
    this.problems = problems;
  }
}

/** Whether a go version (`"1.24.1"`) is at least go1.24, where the vendor rules changed. */
function atLeastGo124(goVersion: string): boolean {
  const m = /^([0-9]+)\.([0-9]+)/.exec(goVersion);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > 1 || (maj === 1 && min >= 24);
}

/**
 * Whether `name` is inside a vendored package. Modules declaring go < 1.24
 * keep the historical offset bug (`p/vendor/x.go` counts as vendored) because
 * fixing it would change their checksums.
 */
function isVendored(name: string, goVersion: string): boolean {
  const modern = atLeastGo124(goVersion);
  if (modern && name === "vendor/modules.txt") return true;
  let rest: string;
  if (name.startsWith("vendor/")) {
    rest = name.slice("vendor/".length);
  } else {
    const j = name.indexOf("/vendor/");
    if (j < 0) return false;
    rest = modern ? name.slice(j + "/vendor/".length) : name.slice("/vendor/".length);
  }
  return rest.includes("/");
}

/**
 * Selects the entries for a module zip from `files` (the tree in archive
 * order, by names, types and sizes only) and returns those kept, in order.
 * `goVersion` is the `go` line of the module's go.mod (vendor rules depend on
 * it). Throws {@linkcode ZipRulesError} when the tree cannot be zipped, so a
 * tree over the size limits is refused before any content is read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectZipEntries } from "./zip_files.ts";
 * const kept = selectZipEntries([
 *   { path: "go.mod", type: "file", size: 9 },
 *   { path: "vendor/x/x.go", type: "file", size: 10 },
 * ], "1.24");
 * assert.deepEqual(kept.map((f) => f.path), ["go.mod"]);
 * ```
 */
export function selectZipEntries<T extends TreeEntry>(files: T[], goVersion: string): T[] {
  const inNestedModule = nestedModuleTest(files);
  // The first problem of each path, in the order they were found.
  const problems = new Map<string, string>();
  const problem = (p: string, why: string) => {
    if (!problems.has(p)) problems.set(p, why);
  };
  const names = new CollisionChecker();
  const kept: T[] = [];
  let budget = MAX_ZIP_FILE;
  let tooLarge = false;
  for (const f of files) {
    const p = f.path;
    const verdict = pathVerdict(p, goVersion, inNestedModule, names);
    if (verdict === OMIT) continue;
    if (verdict !== undefined) {
      problem(p, verdict);
      continue;
    }
    if (f.type !== "file") continue; // symlinks and irregular files are omitted
    if (f.size <= budget) budget -= f.size;
    else tooLarge = true;
    const sizeProblem = fileSizeProblem(p, f.size);
    if (sizeProblem) {
      problem(p, sizeProblem);
      continue;
    }
    kept.push(f);
  }
  // As in x/mod/zip, the tree's size is the reason given when there are others too.
  if (tooLarge) throw new ZipRulesError([TREE_TOO_LARGE]);
  if (problems.size > 0) throw new ZipRulesError([...problems.values()]);
  return kept;
}

/** A path left out of the zip silently. */
const OMIT = Symbol("omit");

/**
 * Whether path `p` of the tree goes into the zip: {@linkcode OMIT} when it is
 * left out silently (vendored, in a nested module, `.hg_archival.txt`), the
 * reason when it makes the version unzippable, undefined when its name is fine.
 */
function pathVerdict(
  p: string,
  goVersion: string,
  inNestedModule: (p: string) => boolean,
  names: CollisionChecker,
): string | typeof OMIT | undefined {
  if (!isCleanPath(p)) return `file path ${JSON.stringify(p)} is not clean and relative`;
  if (isVendored(p, goVersion) || inNestedModule(p) || p === ".hg_archival.txt") return OMIT;
  try {
    checkFilePath(p);
  } catch (error) {
    return errorText(error);
  }
  if (p.toLowerCase() === "go.mod" && p !== "go.mod") {
    return `found file named ${p}, want all lower-case go.mod`;
  }
  return names.check(p, false);
}

/** Whether a path is inside a nested module: a directory below the root with a go.mod (any case, regular file). */
function nestedModuleTest(files: TreeEntry[]): (p: string) => boolean {
  const moduleDirs = new Set<string>();
  for (const f of files) {
    const slash = f.path.lastIndexOf("/");
    const base = f.path.slice(slash + 1);
    if (base.toLowerCase() === "go.mod" && f.type === "file") {
      moduleDirs.add(f.path.slice(0, slash + 1));
    }
  }
  return (p: string): boolean => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) {
      if (moduleDirs.has(p.slice(0, i + 1))) return true;
    }
    return false;
  };
}
