/**
 * Semantic versions as the go command reads them (`vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`):
 * validity, canonical forms, parts and precedence. The rules follow golang.org/x/mod's
 * `semver` package (and `module.CanonicalVersion`), because the go command rejects a proxy
 * whose answers disagree with them. Pseudo-versions are in `pseudo.ts`.
 *
 * @module
 */

/**
 * Thrown when a string is not the (pseudo-)version a function needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pseudoVersionRev } from "./pseudo.ts";
 * import { VersionError } from "./semver.ts";
 * assert.throws(() => pseudoVersionRev("v1.2.3"), VersionError);
 * ```
 */
export class VersionError extends Error {
  /** The version that was rejected. */
  readonly version: string;

  /**
   * Makes an error saying what was wrong with `version`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VersionError } from "./semver.ts";
   * const error = new VersionError("v1.x", "not a semantic version");
   * assert.equal(error.message, 'version "v1.x" invalid: not a semantic version');
   * ```
   */
  constructor(version: string, reason: string, pseudo = false) {
    super(`${pseudo ? "pseudo-version" : "version"} ${goQuote(version)} invalid: ${reason}`);
    this.name = "VersionError";
    this.version = version;
  }
}

const NAMED_ESCAPES: Record<string, string> = {
  "\x07": "a",
  "\b": "b",
  "\f": "f",
  "\n": "n",
  "\r": "r",
  "\t": "t",
  "\v": "v",
};

/**
 * Quotes `s` as Go's `%q` does, escaping everything but printable characters.
 * Error messages then read like the go command's, and stay free of control
 * characters, which the go command would refuse to show from an error body.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goQuote } from "./semver.ts";
 * assert.equal(goQuote("a\tb\u00a0é"), String.raw`"a\tb\u00a0é"`);
 * assert.equal(goQuote("'", "'"), String.raw`'\''`);
 * ```
 */
export function goQuote(s: string, quote: '"' | "'" = '"'): string {
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === "\\") {
      out += "\\" + ch;
    } else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      out += ch;
    } else if (NAMED_ESCAPES[ch] !== undefined) {
      out += "\\" + NAMED_ESCAPES[ch];
    } else {
      const cp = ch.codePointAt(0)!;
      const hex = cp.toString(16);
      out += cp < 0x80
        ? `\\x${hex.padStart(2, "0")}`
        : cp < 0x10000
        ? `\\u${hex.padStart(4, "0")}`
        : `\\U${hex.padStart(8, "0")}`;
    }
  }
  return out + quote;
}

interface Parsed {
  major: string;
  minor: string;
  patch: string;
  /** What {@linkcode canonical} appends to a shorthand: ".0.0", ".0" or "". */
  short: string;
  prerelease: string;
  build: string;
}

// Numbers have no leading zeros; numeric pre-release identifiers neither, but
// alphanumeric ones ("0a") may start with zero. Shorthands (v1, v1.2) take no
// pre-release or build, so those groups only hang off the full triple.
const NUM = "0|[1-9][0-9]*";
const PRE_IDENT = "0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*";
const BUILD_IDENT = "[0-9A-Za-z-]+";
const SEMVER_RE = new RegExp(
  `^v(${NUM})(?:\\.(${NUM})(?:\\.(${NUM})` +
    `(-(?:${PRE_IDENT})(?:\\.(?:${PRE_IDENT}))*)?` +
    `(\\+${BUILD_IDENT}(?:\\.${BUILD_IDENT})*)?)?)?$`,
);

function parse(v: string): Parsed | undefined {
  const m = SEMVER_RE.exec(v);
  if (m === null) return undefined;
  const [, major, minor, patch, prerelease, build] = m;
  return {
    major,
    minor: minor ?? "0",
    patch: patch ?? "0",
    short: minor === undefined ? ".0.0" : patch === undefined ? ".0" : "",
    prerelease: prerelease ?? "",
    build: build ?? "",
  };
}

/**
 * Reports whether `v` is a valid semantic version in Go's sense (leading `v`,
 * shorthands `v1` and `v1.2` allowed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValid } from "./semver.ts";
 * assert.ok(isValid("v1.2.3-rc.1+meta"));
 * assert.ok(!isValid("1.2.3")); // no leading v
 * assert.ok(!isValid("v1.02.3")); // a leading zero
 * ```
 */
export function isValid(v: string): boolean {
  return parse(v) !== undefined;
}

/**
 * The canonical form of `v`: the full `vX.Y.Z[-PRE]` triple without build
 * metadata, or "" when `v` is invalid. See {@linkcode canonicalModuleVersion}
 * for the module flavour that keeps `+incompatible`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonical } from "./semver.ts";
 * assert.equal(canonical("v1.2"), "v1.2.0");
 * assert.equal(canonical("v1.2.3+meta"), "v1.2.3");
 * assert.equal(canonical("v1.2.x"), "");
 * ```
 */
export function canonical(v: string): string {
  const p = parse(v);
  if (p === undefined) return "";
  if (p.build !== "") return v.slice(0, v.length - p.build.length);
  return v + p.short;
}

/**
 * Like {@linkcode canonical}, but keeps a `+incompatible` build suffix, which
 * is part of a module version's identity (go's `module.CanonicalVersion`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalModuleVersion } from "./semver.ts";
 * assert.equal(canonicalModuleVersion("v2.0.0+incompatible"), "v2.0.0+incompatible");
 * assert.equal(canonicalModuleVersion("v2.0.0+meta"), "v2.0.0");
 * ```
 */
export function canonicalModuleVersion(v: string): string {
  const c = canonical(v);
  return c !== "" && build(v) === "+incompatible" ? c + "+incompatible" : c;
}

/**
 * The major version prefix of `v` (`"v2"`), or "" when `v` is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { major } from "./semver.ts";
 * assert.equal(major("v2.1.0"), "v2");
 * assert.equal(major("v0.0.0-20200101000000-abcdefabcdef"), "v0");
 * ```
 */
export function major(v: string): string {
  const p = parse(v);
  return p === undefined ? "" : `v${p.major}`;
}

/**
 * The `vMAJOR.MINOR` prefix of `v` (`"v2.1"`), or "" when `v` is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { majorMinor } from "./semver.ts";
 * assert.equal(majorMinor("v2.1.0"), "v2.1");
 * assert.equal(majorMinor("v3"), "v3.0");
 * ```
 */
export function majorMinor(v: string): string {
  const p = parse(v);
  return p === undefined ? "" : `v${p.major}.${p.minor}`;
}

/**
 * The pre-release suffix of `v` including its `-` (`"-rc.1"`), or "".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prerelease } from "./semver.ts";
 * assert.equal(prerelease("v1.0.0-rc.1+meta"), "-rc.1");
 * ```
 */
export function prerelease(v: string): string {
  return parse(v)?.prerelease ?? "";
}

/**
 * The build suffix of `v` including its `+` (`"+incompatible"`), or "".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { build } from "./semver.ts";
 * assert.equal(build("v2.0.0+incompatible"), "+incompatible");
 * ```
 */
export function build(v: string): string {
  return parse(v)?.build ?? "";
}

// Decimal strings without leading zeros can be of any length (Go allows
// v99999999999999999999.0.0), so compare by length, then lexically.
function compareDecimal(x: string, y: string): -1 | 0 | 1 {
  if (x === y) return 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : 1;
}

const DIGITS_RE = /^[0-9]+$/;

function comparePrerelease(x: string, y: string): -1 | 0 | 1 {
  if (x === y) return 0;
  // A release sorts after all of its pre-releases.
  if (x === "") return 1;
  if (y === "") return -1;
  const xs = x.slice(1).split(".");
  const ys = y.slice(1).split(".");
  for (let i = 0; i < xs.length && i < ys.length; i++) {
    const dx = xs[i];
    const dy = ys[i];
    if (dx === dy) continue;
    const nx = DIGITS_RE.test(dx);
    const ny = DIGITS_RE.test(dy);
    if (nx !== ny) return nx ? -1 : 1;
    if (nx) return compareDecimal(dx, dy);
    return dx < dy ? -1 : 1;
  }
  return xs.length < ys.length ? -1 : 1;
}

/**
 * Compares two versions by semver precedence: -1, 0 or +1. Build metadata is
 * ignored; an invalid version is less than every valid one and equal to any
 * other invalid one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compare } from "./semver.ts";
 * assert.equal(compare("v1.2.3", "v1.10.0"), -1);
 * assert.equal(compare("v1.0.0", "v1.0.0-rc.1"), 1); // a release after its pre-releases
 * assert.equal(compare("x", "v0.0.1"), -1); // invalid versions first
 * ```
 */
export function compare(a: string, b: string): -1 | 0 | 1 {
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined) return pb === undefined ? 0 : -1;
  if (pb === undefined) return 1;
  return compareDecimal(pa.major, pb.major) || compareDecimal(pa.minor, pb.minor) ||
    compareDecimal(pa.patch, pb.patch) || comparePrerelease(pa.prerelease, pb.prerelease);
}

/**
 * Returns a new array with `list` sorted by semver ascending; versions of equal
 * precedence (`v1.0.0`, `v1.0.0+meta`, `v1`) are ordered by their strings so the
 * result does not depend on the input order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortVersions } from "./semver.ts";
 * assert.deepEqual(sortVersions(["v1.10.0", "v1.2.0", "v1.2.0-rc.1"]), [
 *   "v1.2.0-rc.1",
 *   "v1.2.0",
 *   "v1.10.0",
 * ]);
 * ```
 */
export function sortVersions(list: readonly string[]): string[] {
  return [...list].sort((a, b) => compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}
