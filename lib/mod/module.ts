/**
 * Module paths, import paths and zip file paths: which are valid, how they
 * are case-escaped in proxy URLs and cache file names (`!`-encoding), how a
 * path's major-version suffix relates to versions, and the GOPRIVATE-style
 * glob lists. The rules follow golang.org/x/mod's `module` package, because
 * the go command rejects answers that break them.
 *
 * @module
 */

import { build, goQuote, major } from "./semver.ts";

/**
 * Thrown when a module path, import path, file path or escaped string is not
 * valid. The message names the input and says what was wrong with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPath, ModPathError } from "./module.ts";
 * assert.throws(() => checkPath("example.com/m/v1"), ModPathError);
 * ```
 */
export class ModPathError extends Error {
  /** The string that was rejected. */
  readonly input: string;

  /**
   * Makes an error whose message is `message`, about `input`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ModPathError } from "./module.ts";
   * const error = new ModPathError("a//b", 'malformed module path "a//b": double slash');
   * assert.equal(error.input, "a//b");
   * ```
   */
  constructor(input: string, message: string) {
    super(message);
    this.name = "ModPathError";
    this.input = input;
  }
}

type PathKind = "module" | "import" | "file";

/** The reason a path is invalid, or undefined when it is valid. */
type Problem = string | undefined;

// Device names Windows reserves regardless of extension: a file named aux.go
// cannot be created there, so Go refuses such names everywhere.
const WINDOWS_NAMES = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((n) => [`COM${n}`, `LPT${n}`]),
]);

const MODULE_CHAR = /^[A-Za-z0-9._~-]$/;
const IMPORT_CHAR = /^[A-Za-z0-9._~+-]$/;
// Non-ASCII is limited to letters: marks, symbols and foreign digits are
// visually ambiguous or unsafe on some file systems.
const FILE_CHAR = /^(?:[A-Za-z0-9 !#$%&()+,\-.=@[\]^_{}~]|\p{L})$/u;
const FIRST_ELEM_CHAR = /^[a-z0-9.-]$/;
const CHAR_RE: Record<PathKind, RegExp> = {
  module: MODULE_CHAR,
  import: IMPORT_CHAR,
  file: FILE_CHAR,
};

/** Quotes a character the way Go's `%q` shows a rune. */
function quoteChar(ch: string): string {
  return goQuote(ch, "'");
}

function elemProblem(elem: string, kind: PathKind): Problem {
  if (elem === "") return "empty path element";
  if (/^\.+$/.test(elem)) return `invalid path element ${goQuote(elem)}`;
  if (elem.startsWith(".") && kind === "module") return "leading dot in path element";
  if (elem.endsWith(".")) return "trailing dot in path element";
  for (const ch of elem) {
    if (!CHAR_RE[kind].test(ch)) return `invalid char ${quoteChar(ch)}`;
  }
  const dot = elem.indexOf(".");
  const short = dot < 0 ? elem : elem.slice(0, dot);
  if (WINDOWS_NAMES.has(short.toUpperCase())) {
    return `${goQuote(short)} disallowed as path element component on Windows`;
  }
  // Windows short names look like PROGRA~1; a module element shaped like one
  // could collide with another directory in the module cache.
  if (kind !== "file" && /~[0-9]+$/.test(short)) {
    return "trailing tilde and digits in path element";
  }
  return undefined;
}

function pathProblem(path: string, kind: PathKind): Problem {
  // Lone surrogates are the JS counterpart of invalid UTF-8.
  if (!path.isWellFormed()) return "invalid UTF-8";
  if (path === "") return "empty string";
  if (path.startsWith("-") && kind !== "file") return "leading dash";
  if (path.includes("//")) return "double slash";
  if (path.endsWith("/")) return "trailing slash";
  for (const elem of path.split("/")) {
    const problem = elemProblem(elem, kind);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function modulePathProblem(path: string): Problem {
  const problem = pathProblem(path, "module");
  if (problem !== undefined) return problem;
  const slash = path.indexOf("/");
  const first = slash < 0 ? path : path.slice(0, slash);
  if (first === "") return "leading slash";
  if (!first.includes(".")) return "missing dot in first path element";
  if (first.startsWith("-")) return "leading dash in first path element";
  for (const ch of first) {
    if (!FIRST_ELEM_CHAR.test(ch)) return `invalid char ${quoteChar(ch)} in first path element`;
  }
  if (!splitPathVersion(path).ok) return "invalid version";
  return undefined;
}

function malformed(kind: PathKind, path: string, problem: string): ModPathError {
  return new ModPathError(path, `malformed ${kind} path ${goQuote(path)}: ${problem}`);
}

/**
 * Checks that `path` is a valid module path (Go's `module.CheckPath`):
 * non-empty `/`-separated elements of `A-Za-z0-9-._~`, no element all dots or
 * with a leading or trailing dot, no Windows device names, no `~digits`
 * suffix; a lowercase first element with a dot and no leading `-`; a valid
 * major suffix (`/v2`, but not `/v1`, `/v0`, `/v02`). Throws
 * {@linkcode ModPathError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPath } from "./module.ts";
 * checkPath("github.com/BurntSushi/toml"); // fine
 * assert.throws(() => checkPath("github.com/user/repo/v1"), {
 *   message: 'malformed module path "github.com/user/repo/v1": invalid version',
 * });
 * ```
 */
export function checkPath(path: string): void {
  const problem = modulePathProblem(path);
  if (problem !== undefined) throw malformed("module", path, problem);
}

/**
 * Checks that `path` is a valid import path (Go's `module.CheckImportPath`):
 * like a module path's elements, also allowing `+`, and without the rules for
 * the first element and the major suffix. Throws {@linkcode ModPathError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImportPath } from "./module.ts";
 * checkImportPath("example.com/m/internal/c++"); // fine
 * assert.throws(() => checkImportPath("example.com/m/a:b"));
 * ```
 */
export function checkImportPath(path: string): void {
  const problem = pathProblem(path, "import");
  if (problem !== undefined) throw malformed("import", path, problem);
}

/**
 * Checks that `path` may name a file inside a module zip (Go's
 * `module.CheckFilePath`): relative, clean, `/`-separated; elements not all
 * dots and without a trailing dot; ASCII letters, digits, space and
 * ``!#$%&()+,-.=@[]^_{}~`` or Unicode letters; no Windows device names such as
 * `aux.go` or `con.txt`. Throws {@linkcode ModPathError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFilePath } from "./module.ts";
 * checkFilePath(".github/ünïcode (1).go"); // fine
 * assert.throws(() => checkFilePath("internal/aux.go"), {
 *   message:
 *     'malformed file path "internal/aux.go": "aux" disallowed as path element component on Windows',
 * });
 * ```
 */
export function checkFilePath(path: string): void {
  const problem = pathProblem(path, "file");
  if (problem !== undefined) throw malformed("file", path, problem);
}

/**
 * Splits a module path into the prefix and the major-version suffix:
 * `example.com/m/v2` → `{ prefix: "example.com/m", pathMajor: "/v2" }`,
 * `gopkg.in/yaml.v2` → `.v2`, `gopkg.in/x.v2-unstable` → `.v2-unstable`,
 * no suffix → `pathMajor: ""`. `ok` is false when the suffix is malformed
 * (`/v1`, `/v0`, `/v02`, `/v1.2`, gopkg.in paths without `.vN`); the prefix is
 * then the whole path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitPathVersion } from "./module.ts";
 * assert.deepEqual(splitPathVersion("example.com/m/v2"), {
 *   prefix: "example.com/m",
 *   pathMajor: "/v2",
 *   ok: true,
 * });
 * ```
 */
export function splitPathVersion(
  path: string,
): { prefix: string; pathMajor: string; ok: boolean } {
  if (path.startsWith("gopkg.in/")) return splitGopkgIn(path);
  // Take the longest tail of digits and dots; it is a suffix only after "/v".
  const tail = /[0-9.]*$/.exec(path)![0];
  const i = path.length - tail.length;
  if (i <= 1 || tail === "" || path[i - 1] !== "v" || path[i - 2] !== "/") {
    return { prefix: path, pathMajor: "", ok: true };
  }
  const pathMajor = path.slice(i - 2);
  if (tail.includes(".") || tail.startsWith("0") || pathMajor === "/v1") {
    return { prefix: path, pathMajor: "", ok: false };
  }
  return { prefix: path.slice(0, i - 2), pathMajor, ok: true };
}

function splitGopkgIn(path: string): { prefix: string; pathMajor: string; ok: boolean } {
  let end = path.length;
  if (path.endsWith("-unstable")) end -= "-unstable".length;
  let i = end;
  while (i > 0 && path[i - 1] >= "0" && path[i - 1] <= "9") i--;
  if (i <= 1 || path[i - 1] !== "v" || path[i - 2] !== ".") {
    return { prefix: path, pathMajor: "", ok: false };
  }
  const pathMajor = path.slice(i - 2);
  // gopkg.in allows .v0 but no other leading zero (so not .v0-unstable either).
  // Like Go, a bare ".v-unstable" passes here and then fits no version.
  if (pathMajor.length <= 2 || (pathMajor[2] === "0" && pathMajor !== ".v0")) {
    return { prefix: path, pathMajor: "", ok: false };
  }
  return { prefix: path.slice(0, i - 2), pathMajor, ok: true };
}

/**
 * Why `version` does not fit `pathMajor`, or undefined when it does. `lax` is
 * x/mod's `CheckPathMajor`, which lets `+incompatible` through; strict is
 * cmd/go's rule when it resolves a version.
 */
function pathMajorProblem(version: string, pathMajor: string, lax = false): Problem {
  let suffix = pathMajor;
  if (suffix.startsWith(".v") && suffix.endsWith("-unstable")) {
    suffix = suffix.slice(0, -"-unstable".length);
  }
  const m = major(version);
  const incompatible = build(version) === "+incompatible";
  // x/mod's CheckPathMajor would accept v1.0.0+incompatible, or
  // v2.0.0+incompatible for /v2; cmd/go refuses both when resolving versions,
  // so a proxy must not serve them.
  if (incompatible && !lax) {
    if (suffix !== "") {
      return `+incompatible suffix not allowed: module path has major version suffix ${pathMajor}`;
    }
    if (m === "v0" || m === "v1") {
      return `+incompatible suffix not allowed: major version ${m} is compatible`;
    }
    return undefined;
  }
  // gopkg.in quirk kept by Go for compatibility: untagged commits of a .v1
  // package got v0.0.0- pseudo-versions before .v1 meant v1.
  if (version.startsWith("v0.0.0-") && suffix === ".v1") return undefined;
  if (suffix === "") {
    if (m === "v0" || m === "v1" || incompatible) return undefined;
    return `should be v0 or v1, not ${m}`;
  }
  // A suffix without its separator is a caller bug; Go rejects it too.
  if (!suffix.startsWith("/") && !suffix.startsWith(".")) return `should be ${suffix}, not ${m}`;
  const want = suffix.slice(1);
  if (m === want) return undefined;
  return `should be ${want}, not ${m}`;
}

/**
 * Reports whether `version` fits a path with major suffix `pathMajor` (as
 * returned by {@linkcode splitPathVersion}). See {@linkcode checkPathMajor}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchPathMajor } from "./module.ts";
 * assert.ok(matchPathMajor("v2.0.0", "/v2"));
 * assert.ok(!matchPathMajor("v2.0.0", ""));
 * assert.ok(matchPathMajor("v2.0.0+incompatible", ""));
 * ```
 */
export function matchPathMajor(version: string, pathMajor: string): boolean {
  return pathMajorProblem(version, pathMajor) === undefined;
}

/**
 * Reports whether `version` fits a path with major suffix `pathMajor` as
 * x/mod's `CheckPathMajor` has it, which is what go.mod reading applies: like
 * {@linkcode matchPathMajor}, except that `+incompatible` passes on any major
 * without a suffix and on the suffix's own major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchPathMajor, matchPathMajorLax } from "./module.ts";
 * assert.ok(matchPathMajorLax("v1.0.0+incompatible", ""));
 * assert.ok(!matchPathMajor("v1.0.0+incompatible", ""));
 * assert.ok(!matchPathMajorLax("v2.0.0", ""));
 * ```
 */
export function matchPathMajorLax(version: string, pathMajor: string): boolean {
  return pathMajorProblem(version, pathMajor, true) === undefined;
}

/**
 * Checks that `version` fits a path with major suffix `pathMajor`: no suffix
 * takes v0, v1, or v2 and up with `+incompatible`; `/vN` and `.vN` take only
 * vN without `+incompatible`; `.v1` also takes `v0.0.0-` versions. Stricter
 * than x/mod's `CheckPathMajor` about `+incompatible` (refused on v0/v1 and
 * with a suffix), as cmd/go is when it resolves a version. Throws
 * {@linkcode ModPathError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPathMajor } from "./module.ts";
 * assert.throws(() => checkPathMajor("v1.2.3", "/v2"), {
 *   message: 'version "v1.2.3" invalid: should be v2, not v1',
 * });
 * ```
 */
export function checkPathMajor(version: string, pathMajor: string): void {
  const problem = pathMajorProblem(version, pathMajor);
  if (problem !== undefined) {
    throw new ModPathError(version, `version ${goQuote(version)} invalid: ${problem}`);
  }
}

/**
 * The major version a path suffix stands for: `/v2` → `v2`, `.v1-unstable` →
 * `v1`, "" → "". Throws {@linkcode ModPathError} for a suffix that
 * {@linkcode splitPathVersion} would not produce.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathMajorPrefix } from "./module.ts";
 * assert.equal(pathMajorPrefix("/v2"), "v2");
 * assert.equal(pathMajorPrefix(".v1-unstable"), "v1");
 * ```
 */
export function pathMajorPrefix(pathMajor: string): string {
  if (pathMajor === "") return "";
  let suffix = pathMajor;
  if (suffix.startsWith(".v") && suffix.endsWith("-unstable")) {
    suffix = suffix.slice(0, -"-unstable".length);
  }
  const m = suffix.slice(1);
  if ((!suffix.startsWith("/") && !suffix.startsWith(".")) || m !== major(m)) {
    throw new ModPathError(pathMajor, `invalid path major suffix ${goQuote(pathMajor)}`);
  }
  return m;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

// `!` is never valid in a path or version, so `!x` can stand for `X` without
// ambiguity; it keeps paths distinct on case-insensitive file systems.
function escapeString(s: string): string {
  return s.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
}

function unescapeString(escaped: string): string | undefined {
  let out = "";
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    if (c > "\x7f" || (c >= "A" && c <= "Z")) return undefined;
    if (c === "!") {
      const next = escaped[++i];
      if (next === undefined || next < "a" || next > "z") return undefined;
      out += next.toUpperCase();
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Case-encodes a module path for URLs and cache file names: every uppercase
 * letter becomes `!` plus its lowercase (`github.com/BurntSushi/toml` →
 * `github.com/!burnt!sushi/toml`). Throws {@linkcode ModPathError} if `path`
 * is not a valid module path, as Go does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapePath } from "./module.ts";
 * assert.equal(escapePath("github.com/BurntSushi/toml"), "github.com/!burnt!sushi/toml");
 * ```
 */
export function escapePath(path: string): string {
  checkPath(path);
  return escapeString(path);
}

/**
 * Case-encodes a version (`v1.0.0-RC1` → `v1.0.0-!r!c1`). Throws
 * {@linkcode ModPathError} if `v` could not be a single file name (it holds
 * `/`, `!` or other disallowed characters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeVersion } from "./module.ts";
 * assert.equal(escapeVersion("v1.0.0-RC1"), "v1.0.0-!r!c1");
 * ```
 */
export function escapeVersion(v: string): string {
  const problem = elemProblem(v, "file");
  if (problem !== undefined || v.includes("!") || !isAscii(v)) {
    throw new ModPathError(v, `version ${goQuote(v)} invalid: disallowed version string`);
  }
  return escapeString(v);
}

/**
 * Decodes an escaped module path (`github.com/!burnt!sushi/toml` →
 * `github.com/BurntSushi/toml`) and checks the result with
 * {@linkcode checkPath}. Throws {@linkcode ModPathError} on raw uppercase,
 * `!` not followed by `a`-`z`, a trailing `!`, non-ASCII, or an invalid path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unescapePath } from "./module.ts";
 * assert.equal(unescapePath("github.com/!burnt!sushi/toml"), "github.com/BurntSushi/toml");
 * ```
 */
export function unescapePath(escaped: string): string {
  const path = unescapeString(escaped);
  if (path === undefined) {
    throw new ModPathError(escaped, `invalid escaped module path ${goQuote(escaped)}`);
  }
  const problem = modulePathProblem(path);
  if (problem !== undefined) {
    throw new ModPathError(
      escaped,
      `invalid escaped module path ${goQuote(escaped)}: ${
        malformed("module", path, problem).message
      }`,
    );
  }
  return path;
}

/**
 * Decodes an escaped version (`v1.0.0-!r!c1` → `v1.0.0-RC1`) and checks that
 * it is a single valid file-name element, so a query such as a branch name
 * with `/` can never be requested. Whether it is semver is not checked here:
 * `.info` accepts queries like `main`. Throws {@linkcode ModPathError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unescapeVersion } from "./module.ts";
 * assert.equal(unescapeVersion("v1.0.0-!r!c1"), "v1.0.0-RC1");
 * ```
 */
export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped);
  if (v === undefined) {
    throw new ModPathError(escaped, `invalid escaped version ${goQuote(escaped)}`);
  }
  const problem = elemProblem(v, "file");
  if (problem !== undefined) {
    throw new ModPathError(
      escaped,
      `invalid escaped version ${goQuote(v)}: ${problem}`,
    );
  }
  return v;
}

type GlobToken =
  | { kind: "char"; ch: string }
  | { kind: "any" }
  | { kind: "class"; negated: boolean; ranges: [string, string][] };

/** A run of fixed-width tokens, preceded by a `*` when `star` is set. */
interface GlobChunk {
  star: boolean;
  tokens: GlobToken[];
}

/** Parses a `path.Match` pattern; undefined if it is malformed. */
function parseGlob(pattern: string): GlobChunk[] | undefined {
  const chars = [...pattern];
  const chunks: GlobChunk[] = [{ star: false, tokens: [] }];
  let i = 0;
  // Reads one possibly escaped character of a class; `-` and `]` must be escaped there.
  const classChar = (): string | undefined => {
    let ch = chars[i];
    if (ch === undefined || ch === "-" || ch === "]") return undefined;
    if (ch === "\\") ch = chars[++i];
    if (ch === undefined) return undefined;
    i++;
    return i < chars.length ? ch : undefined;
  };
  while (i < chars.length) {
    const ch = chars[i];
    const current = chunks[chunks.length - 1];
    if (ch === "*") {
      // Consecutive stars are one star.
      if (current.star && current.tokens.length === 0) {
        i++;
        continue;
      }
      chunks.push({ star: true, tokens: [] });
      i++;
    } else if (ch === "?") {
      current.tokens.push({ kind: "any" });
      i++;
    } else if (ch === "\\") {
      if (i + 1 >= chars.length) return undefined;
      current.tokens.push({ kind: "char", ch: chars[i + 1] });
      i += 2;
    } else if (ch === "[") {
      i++;
      const negated = chars[i] === "^";
      if (negated) i++;
      const ranges: [string, string][] = [];
      while (!(chars[i] === "]" && ranges.length > 0)) {
        const lo = classChar();
        if (lo === undefined) return undefined;
        let hi = lo;
        if (chars[i] === "-") {
          i++;
          const h = classChar();
          if (h === undefined) return undefined;
          hi = h;
        }
        ranges.push([lo, hi]);
      }
      i++;
      current.tokens.push({ kind: "class", negated, ranges });
    } else {
      current.tokens.push({ kind: "char", ch });
      i++;
    }
  }
  return chunks;
}

function tokenMatches(token: GlobToken, ch: string): boolean {
  switch (token.kind) {
    case "char":
      return token.ch === ch;
    case "any":
      return ch !== "/";
    case "class": {
      const cp = ch.codePointAt(0)!;
      const inside = token.ranges.some(([lo, hi]) =>
        lo.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!
      );
      return inside !== token.negated;
    }
  }
}

/** Matches `tokens` at the start of `name` from `at`; the end index, or -1. */
function matchTokens(tokens: GlobToken[], name: string[], at: number): number {
  if (at + tokens.length > name.length) return -1;
  for (let k = 0; k < tokens.length; k++) {
    if (!tokenMatches(tokens[k], name[at + k])) return -1;
  }
  return at + tokens.length;
}

/**
 * Reports whether `name` matches the shell pattern `pattern` as Go's
 * `path.Match` decides: `*` matches any run of non-`/` characters, `?` one
 * non-`/` character, `[abc]`, `[a-z]` and `[^a-z]` a character class, `\`
 * escapes the next character. A malformed pattern matches nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathMatch } from "./module.ts";
 * assert.ok(pathMatch("*.corp.com", "git.corp.com"));
 * assert.ok(!pathMatch("a/*", "a/b/c")); // * does not cross a slash
 * ```
 */
export function pathMatch(pattern: string, target: string): boolean {
  const chunks = parseGlob(pattern);
  if (chunks === undefined) return false;
  const name = [...target];
  let at = 0;
  for (let c = 0; c < chunks.length; c++) {
    const { star, tokens } = chunks[c];
    const last = c === chunks.length - 1;
    if (star && tokens.length === 0) {
      // A trailing star takes the rest of the element, which must be the last one.
      return !name.slice(at).includes("/");
    }
    // Like Go, a star takes the shortest run that lets its chunk match and
    // does not reconsider that choice later, except that the final chunk must
    // end exactly at the end of the name.
    let matched = -1;
    for (let start = at; start <= name.length; start++) {
      const end = matchTokens(tokens, name, start);
      if (end >= 0 && (!last || end === name.length)) {
        matched = end;
        break;
      }
      if (!star || name[start] === "/") break;
    }
    if (matched < 0) return false;
    at = matched;
  }
  return at === name.length;
}

/**
 * Reports whether any glob in the comma-separated list `globs` matches a
 * prefix of `target` made of whole path elements (the GOPRIVATE, GONOPROXY
 * and GONOSUMDB rules): `*.corp.com` matches `git.corp.com/x/y`, `corp.com/a`
 * does not match `corp.com/ab`. Each glob uses Go's `path.Match` syntax, where
 * `*` never crosses a `/`; empty entries and malformed globs match nothing; a
 * trailing `/` on a glob is ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchPrefixPatterns } from "./module.ts";
 * assert.ok(matchPrefixPatterns("*.corp.com,rsc.io/private", "git.corp.com/x/y"));
 * assert.ok(!matchPrefixPatterns("corp.com/a", "corp.com/ab"));
 * ```
 */
export function matchPrefixPatterns(globs: string, target: string): boolean {
  for (const entry of globs.split(",")) {
    const glob = entry.endsWith("/") ? entry.slice(0, -1) : entry;
    if (glob === "") continue;
    // Compare the glob with as many leading elements of target as it has.
    const elems = glob.split("/").length;
    const parts = target.split("/");
    if (parts.length < elems) continue;
    if (pathMatch(glob, parts.slice(0, elems).join("/"))) return true;
  }
  return false;
}
