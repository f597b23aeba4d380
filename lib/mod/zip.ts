/**
 * The rules a module zip must follow, as the go command enforces them when it
 * unzips a module (golang.org/x/mod/zip `CheckZip` and `Unzip`): file names,
 * size limits, where go.mod may be. {@linkcode checkModuleZip} applies them to
 * a zip read by `lib/archive/zip_reader.ts` (as x/mod's zip rules sit on Go's
 * `archive/zip`), so that the proxy never serves a zip the client would refuse.
 *
 * @module
 */
import { type RandomAccess, readZipEntries, type ZipEntry, ZipError } from "../archive/mod.ts";
import { errorText } from "../util/errors.ts";
import { checkFilePath, checkPath, checkPathMajor, splitPathVersion } from "./module.ts";
import { canonicalModuleVersion } from "./semver.ts";

/**
 * Largest module zip the go command accepts, and largest total of its file sizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_ZIP_FILE } from "./zip.ts";
 * assert.equal(MAX_ZIP_FILE, 500 * 1024 * 1024);
 * ```
 */
export const MAX_ZIP_FILE = 500 << 20;
/**
 * Largest root go.mod the go command accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_GO_MOD } from "./zip.ts";
 * assert.equal(MAX_GO_MOD, 16 * 1024 * 1024);
 * ```
 */
export const MAX_GO_MOD = 16 << 20;
/**
 * Largest root LICENSE the go command accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_LICENSE } from "./zip.ts";
 * assert.equal(MAX_LICENSE, 16 * 1024 * 1024);
 * ```
 */
export const MAX_LICENSE = 16 << 20;

/**
 * Checks that the go command would accept the zip as module `modulePath` at
 * `version` (x/mod/zip `CheckZip` plus what `Unzip` needs): a valid path and
 * canonical version; every entry named `modulePath@version/` + a valid file
 * path; no duplicates, no two names equal under case folding, no name both a
 * file and a directory; `go.mod` only at the root and spelled so; stored or
 * deflated data; the zip, the total of its files and the root go.mod and
 * LICENSE within the limits. Directory entries are checked and skipped as go
 * skips them. Returns the file entries in zip order; throws
 * {@linkcode ZipError} naming the module, version and offending entry.
 *
 * Declared sizes are only checked against the content when it is read, by
 * `openZipEntry` or `checkZipContent` (lib/archive/zip_reader.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, writeZip, ZipError } from "../archive/mod.ts";
 * import { checkModuleZip } from "./zip.ts";
 * const enc = new TextEncoder();
 * const zip = new Uint8Array(
 *   await new Response(writeZip([
 *     { name: "example.com/m@v1.0.0/go.mod", data: enc.encode("module example.com/m\n") },
 *     { name: "example.com/m@v1.0.0/m.go", data: enc.encode("package m\n") },
 *   ])).arrayBuffer(),
 * );
 * const files = await checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0");
 * assert.equal(files.length, 2);
 * // The same zip is not module example.com/m at v1.0.1.
 * await assert.rejects(checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.1"), ZipError);
 * ```
 */
export async function checkModuleZip(
  src: RandomAccess,
  modulePath: string,
  version: string,
): Promise<ZipEntry[]> {
  const where = `${modulePath}@${version}`;
  const fail = (reason: string): never => {
    throw new ZipError(`${where}: ${reason}`);
  };
  const canonical = canonicalModuleVersion(version);
  if (canonical !== version) {
    fail(
      `version ${JSON.stringify(version)} is not canonical (should be ${
        JSON.stringify(canonical)
      })`,
    );
  }
  try {
    checkPath(modulePath);
    checkPathMajor(version, splitPathVersion(modulePath).pathMajor);
  } catch (error) {
    fail(errorText(error));
  }
  if (src.size > MAX_ZIP_FILE) {
    fail(`module zip file is too large (${src.size} bytes; limit is ${MAX_ZIP_FILE} bytes)`);
  }
  let entries: ZipEntry[];
  try {
    entries = await readZipEntries(src);
  } catch (error) {
    if (error instanceof ZipError) fail(error.message);
    throw error;
  }
  const prefix = `${where}/`;
  const names = new CollisionChecker();
  const files: ZipEntry[] = [];
  let total = 0;
  for (const entry of entries) {
    const bad = (reason: string): never => fail(`${JSON.stringify(entry.name)}: ${reason}`);
    if (!entry.name.startsWith(prefix)) bad(`path does not have prefix ${JSON.stringify(prefix)}`);
    let name = entry.name.slice(prefix.length);
    if (name === "") continue;
    const isDir = name.endsWith("/");
    if (isDir) name = name.slice(0, -1);
    const problem = nameProblem(name) ?? names.check(name, isDir);
    if (problem !== undefined) bad(problem);
    if (isDir) continue;
    total += entry.uncompressedSize;
    const fileProblem = entryProblem(name, entry, total);
    if (fileProblem !== undefined) bad(fileProblem);
    files.push(entry);
  }
  return files;
}

/** What is wrong with the file or directory name `name` of a module zip, if anything. */
function nameProblem(name: string): string | undefined {
  if (!isCleanPath(name)) return "file path is not clean";
  try {
    checkFilePath(name);
  } catch (error) {
    return errorText(error);
  }
  return undefined;
}

/**
 * What is wrong with file `name` of a module zip, if anything: a go.mod out of
 * place, a compression method go cannot read, or a size over its limit
 * (`total` is the size of the files so far, this one included).
 */
function entryProblem(name: string, entry: ZipEntry, total: number): string | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1);
  if (fold(base) === "go.mod") {
    if (base !== name) return "go.mod file not in module root directory";
    if (name !== "go.mod") return "go.mod files must have lowercase names";
  }
  if (entry.method !== 0 && entry.method !== 8) {
    return `unsupported compression method ${entry.method}`;
  }
  if (total > MAX_ZIP_FILE) {
    return `total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`;
  }
  return oversizeProblem(name, entry.uncompressedSize);
}

/**
 * The go command's reason for a root go.mod or LICENSE over its limit
 * ({@linkcode MAX_GO_MOD}, {@linkcode MAX_LICENSE}), or undefined. `name` is
 * relative to the module root; the limits are for the root files only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_GO_MOD, oversizeProblem } from "./zip.ts";
 * assert.equal(oversizeProblem("go.mod", MAX_GO_MOD), undefined);
 * assert.equal(
 *   oversizeProblem("go.mod", MAX_GO_MOD + 1),
 *   "go.mod file too large (max size is 16777216 bytes)",
 * );
 * assert.equal(oversizeProblem("sub/go.mod", MAX_GO_MOD + 1), undefined);
 * ```
 */
export function oversizeProblem(name: string, size: number): string | undefined {
  if (name === "go.mod" && size > MAX_GO_MOD) {
    return `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`;
  }
  if (name === "LICENSE" && size > MAX_LICENSE) {
    return `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`;
  }
  return undefined;
}

/**
 * The file and directory names of a module seen so far, under case folding
 * (x/mod/zip's `collisionChecker`): says when a name collides with one seen
 * before. Every parent directory is registered too, which catches a file that
 * is also used as a directory whichever comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CollisionChecker } from "./zip.ts";
 * const names = new CollisionChecker();
 * assert.equal(names.check("README", false), undefined);
 * assert.equal(names.check("docs/a.md", false), undefined);
 * assert.equal(
 *   names.check("readme", false),
 *   'case-insensitive file name collision: "README" and "readme"',
 * );
 * assert.equal(names.check("docs", false), 'entry "docs" is both a file and a directory');
 * ```
 */
export class CollisionChecker {
  readonly #seen = new Map<string, { path: string; isDir: boolean }>();
  /** No check has failed, so every known directory's parents are known too. */
  #whole = true;

  /**
   * Registers `path` (a file, or a directory when `isDir`) and its parent
   * directories; says what it collides with, if anything.
   */
  check(path: string, isDir: boolean): string | undefined {
    const problem = this.#claim(path, isDir);
    if (problem !== undefined) this.#whole = false;
    return problem;
  }

  #claim(path: string, isDir: boolean): string | undefined {
    for (let p = path, dir = isDir;; dir = true) {
      const key = fold(p);
      const other = this.#seen.get(key);
      if (other === undefined) {
        this.#seen.set(key, { path: p, isDir: dir });
      } else if (other.path !== p) {
        return `case-insensitive file name collision: ${JSON.stringify(other.path)} and ${
          JSON.stringify(p)
        }`;
      } else if (other.isDir !== dir) {
        return `entry ${JSON.stringify(p)} is both a file and a directory`;
      } else if (!dir) {
        return `multiple entries for file ${JSON.stringify(p)}`;
      } else if (this.#whole) {
        return undefined; // this directory and its parents are known already
      }
      const slash = p.lastIndexOf("/");
      if (slash < 0) return undefined;
      p = p.slice(0, slash);
    }
  }
}

/**
 * Whether `path` is relative and equals Go's `path.Clean(path)`: not empty,
 * no leading or doubled slash, no `.` or `..` element. A module zip's and a
 * module tree's file names must be.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCleanPath } from "./zip.ts";
 * assert.ok(isCleanPath("sub/a.go"));
 * assert.ok(!isCleanPath("/a.go"));
 * assert.ok(!isCleanPath("sub/../a.go"));
 * assert.ok(!isCleanPath("a//b.go"));
 * ```
 */
export function isCleanPath(path: string): boolean {
  return path.split("/").every((e) => e !== "" && e !== "." && e !== "..");
}

/**
 * Case folding for file-name collisions, as x/mod's `strToFold`: each code
 * point becomes a canonical member of its simple case-folding orbit.
 * JavaScript has no SimpleFold, so each code point goes through upper then
 * lower case, and is kept when a mapping is not one code point: whole-string
 * mappings are full, not simple, folding (`ß` would become `ss`) and
 * context-sensitive (a final `Σ`). Checked against Go's `unicode.SimpleFold`
 * over all letters Go knows (file names hold no other cased code points): the
 * one letter this would fold differently is dotless `ı`, whose upper case `I`
 * go does not fold it with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fold } from "./zip.ts";
 * assert.equal(fold("README"), fold("readme"));
 * assert.equal(fold("\u212A"), fold("k")); // the Kelvin sign folds with k
 * assert.notEqual(fold("ı"), fold("i"));
 * ```
 */
export function fold(s: string): string {
  if (!/[^a-z0-9 !#$%&()+,\-.=@[\]^_{}~/]/.test(s)) return s; // the common case
  let out = "";
  for (const c of s) {
    if (c === "\u0131") {
      out += c;
      continue;
    }
    const upper = single(c.toUpperCase()) ?? c;
    out += single(upper.toLowerCase()) ?? upper;
  }
  return out;
}

function single(s: string): string | undefined {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1) ? s : undefined;
}
