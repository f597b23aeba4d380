/**
 * Checking what the module cache holds before it is imported. A stored
 * `.mod` or `.zip` is served forever, so what gets in must be what the go
 * command would accept: versions canonical and fitting their module path's
 * major, `.info` and `.mod` files passing the checks the server makes on an
 * upstream's answers, zips passing the zip rules and hashing to their
 * `.ziphash` (the go.sum hash the go command checked when it downloaded
 * them), a `.mod` equal to the verified zip's go.mod and to the checksum
 * database's record, and checksum-database files whole.
 *
 * Every check answers with a problem, "" when there is none: a problem is a
 * skipped file, not an error.
 *
 * @module
 */
import { bytesEqual } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { checkGoMod, checkInfo, checkSumdb, MAX_SMALL_ANSWER } from "../goproxy/answer_check.ts";
import { infoBody } from "../goproxy/answers.ts";
import { hashGoMod, hashZip } from "../mod/dirhash.ts";
import { checkPathMajor, splitPathVersion, unescapeVersion } from "../mod/module.ts";
import { canonicalModuleVersion, compare, isValid } from "../mod/semver.ts";
import { isPseudoVersion, pseudoVersionDate, pseudoVersionTime } from "../mod/pseudo.ts";
import { checkModuleZip } from "../mod/zip.ts";
import { fileAccess } from "../archive/random_access.ts";
import { openZipEntry, ZipError } from "../archive/zip_reader.ts";
import type { CacheFile, SumdbFile } from "./scan.ts";

/**
 * Largest `.ziphash` read: it holds one `h1:` hash, under 60 bytes; anything
 * much bigger is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_ZIPHASH } from "./verify.ts";
 * assert(MAX_ZIPHASH >= "h1:".length + 44);
 * ```
 */
export const MAX_ZIPHASH = 256;

/**
 * The version an escaped file name stands for, and why it is not one go
 * would store for `module` ("" when it is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionOf } from "./verify.ts";
 * assert(versionOf("example.com/m", "v1.0.0").problem === "");
 * assert(versionOf("example.com/m", "v1.0").problem === "not a canonical version");
 * assert(versionOf("example.com/m", "v2.0.0").problem !== "");
 * assert(versionOf("example.com/m", "v0.0.0-20191309021931-daa7c04131f5").problem !== "");
 * ```
 */
export function versionOf(module: string, escaped: string): { version: string; problem: string } {
  let version = "";
  try {
    version = unescapeVersion(escaped);
    if (!isValid(version) || canonicalModuleVersion(version) !== version) {
      return { version, problem: "not a canonical version" };
    }
    checkPathMajor(version, splitPathVersion(module).pathMajor);
    // A pseudo-version's shape can hold an impossible time (month 13); it would
    // fail later, when the seed makes up an `@latest` from it.
    if (isPseudoVersion(version)) pseudoVersionTime(version);
    return { version, problem: "" };
  } catch (error) {
    return { version, problem: errorText(error) };
  }
}

/**
 * Why an `.info` or `.mod` file cannot be served for `version`, or "" when it
 * can: the server's checks on what an upstream answers, that is what the go
 * command could not use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { smallProblem } from "./verify.ts";
 * const info = new TextEncoder().encode('{"Version":"v1.0.0"}');
 * assert(smallProblem("info", info, "v1.0.0", "example.com/m@v1.0.0.info") === "");
 * assert(smallProblem("info", info, "v1.1.0", "example.com/m@v1.1.0.info") !== "");
 * ```
 */
export function smallProblem(
  kind: "info" | "mod",
  data: Uint8Array,
  version: string,
  what: string,
): string {
  try {
    if (kind === "info") checkInfo(data, what, version);
    else checkGoMod(data, what);
    return "";
  } catch (error) {
    return errorText(error);
  }
}

/**
 * What checking a cached zip found: its problem ("" when it is sound) and,
 * when sound, the go.mod inside it (if it has one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ZipCheck } from "./verify.ts";
 * const check: ZipCheck = { problem: "" };
 * assert(check.goMod === undefined);
 * ```
 */
export interface ZipCheck {
  problem: string;
  goMod?: Uint8Array;
}

/**
 * Checks the zip open as `handle` (`size` bytes) against the zip rules for
 * `module@version` and the `h1:` hash `expected` (its `.ziphash`), and reads
 * its go.mod. A damaged zip is a problem; failing to read is thrown.
 *
 * @example
 * ```ts ignore
 * import { verifyZip } from "./verify.ts";
 * using handle = await Deno.open("v1.0.0.zip");
 * const size = (await handle.stat()).size;
 * const check = await verifyZip(handle, size, "example.com/m", "v1.0.0", "h1:…", "example.com/m@v1.0.0.zip");
 * console.log(check.problem || "sound");
 * ```
 */
export async function verifyZip(
  handle: Deno.FsFile,
  size: number,
  module: string,
  version: string,
  expected: string,
  what: string,
): Promise<ZipCheck> {
  const src = fileAccess(handle, size);
  try {
    const entries = await checkModuleZip(src, module, version);
    const actual = await hashZip(src);
    if (actual !== expected) {
      return { problem: `${what}: hash ${actual} does not match .ziphash ${expected}` };
    }
    const entry = entries.find((e) => e.name === `${module}@${version}/go.mod`);
    if (!entry) return { problem: "" };
    return {
      problem: "",
      goMod: new Uint8Array(await new Response(openZipEntry(src, entry)).arrayBuffer()),
    };
  } catch (error) {
    if (error instanceof ZipError || error instanceof Deno.errors.UnexpectedEof) {
      return { problem: errorText(error) };
    }
    throw error;
  }
}

/**
 * Why a cached `.mod` is not what go.sum would accept, or "": it must equal
 * the go.mod of the verified zip (`zipGoMod`), and hash to the cache's
 * checksum-database record (`lookup`) when there is one. A `.mod` nothing
 * vouches for is taken as is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModProblem } from "./verify.ts";
 * const mod = new TextEncoder().encode("module example.com/m\n");
 * assert(await goModProblem("example.com/m", "v1.0.0", mod, mod, undefined) === "");
 * const other = new TextEncoder().encode("module example.com/other\n");
 * assert(await goModProblem("example.com/m", "v1.0.0", mod, other, undefined) !== "");
 * ```
 */
export async function goModProblem(
  module: string,
  version: string,
  data: Uint8Array,
  zipGoMod: Uint8Array | undefined,
  lookup: SumdbFile | undefined,
): Promise<string> {
  if (zipGoMod && !bytesEqual(zipGoMod, data)) {
    return "differs from the go.mod in the verified zip";
  }
  if (!lookup || lookup.size > MAX_SMALL_ANSWER) return "";
  const record = await Deno.readTextFile(lookup.path).catch(() => "");
  const line = record.split("\n").find((l) => l.startsWith(`${module} ${version}/go.mod h1:`));
  if (!line) return "";
  const want = line.split(" ")[2];
  const got = await hashGoMod(data);
  return got === want ? "" : `hash ${got} does not match the checksum database's ${want}`;
}

/**
 * Whether a checksum-database path below its database has an empty, `.` or
 * `..` element: one that must not be stored under that key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { badSumdbKey } from "./verify.ts";
 * assert(!badSumdbKey("tile/8/0/000"));
 * assert(badSumdbKey("tile/../000"));
 * ```
 */
export function badSumdbKey(key: string): boolean {
  return key.split("/").some((element) => element === "" || /^\.+$/.test(element));
}

/**
 * Why a checksum-database file cannot be stored under `key`, or "". The
 * server keeps these forever: one cut short by a crash must not get in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sumdbProblem } from "./verify.ts";
 * assert(sumdbProblem("tile/8/0/000", new Uint8Array(256 * 32), "tile") === "");
 * assert(sumdbProblem("tile/8/0/000", new Uint8Array(100), "tile") !== "");
 * ```
 */
export function sumdbProblem(key: string, body: Uint8Array, what: string): string {
  try {
    checkSumdb(key, body, what);
    return "";
  } catch (error) {
    return errorText(error);
  }
}

/**
 * The `@latest` answer of a module the cache knows only by pseudo-versions:
 * the `.info` of the newest one, read from the cache when it is there and
 * sound, else made up from the pseudo-version's own time (`Version` and
 * `Time` only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { untaggedLatest } from "./verify.ts";
 * const body = await untaggedLatest("example.com/m", [
 *   { version: "v0.0.0-20190101000000-aaaaaaaaaaaa" },
 *   { version: "v0.0.0-20200101000000-bbbbbbbbbbbb" },
 * ]);
 * assert(
 *   new TextDecoder().decode(body) ===
 *     '{"Version":"v0.0.0-20200101000000-bbbbbbbbbbbb","Time":"2020-01-01T00:00:00Z"}',
 * );
 * ```
 */
export async function untaggedLatest(
  module: string,
  versions: { version: string; info?: CacheFile }[],
): Promise<Uint8Array> {
  const newest = versions.reduce((a, b) =>
    pseudoVersionTime(b.version) > pseudoVersionTime(a.version) ||
      (pseudoVersionTime(b.version) === pseudoVersionTime(a.version) &&
        compare(b.version, a.version) > 0)
      ? b
      : a
  );
  if (newest.info && newest.info.size <= MAX_SMALL_ANSWER) {
    const data = await Deno.readFile(newest.info.path).catch(() => undefined);
    if (data && !smallProblem("info", data, newest.version, module)) return data;
  }
  return infoBody(newest.version, pseudoVersionDate(newest.version));
}
