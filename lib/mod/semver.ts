/**
 * Semantic versions as the go command reads them (`vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`)
 * and pseudo-versions, the synthetic versions Go gives untagged commits. The rules follow
 * golang.org/x/mod's `semver` package and `module/pseudo.go`, because the go command rejects
 * a proxy whose answers disagree with them.
 *
 * @module
 */

/**
 * Thrown when a string is not the (pseudo-)version a function needs.
 *
 * @example
 * ```ts
 * import { pseudoVersionRev, VersionError } from "./semver.ts";
 * try {
 *   pseudoVersionRev("v1.2.3");
 * } catch (error) {
 *   console.log(error instanceof VersionError); // true
 * }
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
   * import { VersionError } from "./semver.ts";
   * const error = new VersionError("v1.x", "not a semantic version");
   * console.log(error.message); // version "v1.x" invalid: not a semantic version
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
 * import { goQuote } from "./semver.ts";
 * console.log(goQuote("a\tb\u00a0é")); // "a\tb\u00a0é"
 * console.log(goQuote("'", "'")); // '\''
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
 * import { isValid } from "./semver.ts";
 * console.log(isValid("v1.2.3-rc.1+meta"), isValid("1.2.3"), isValid("v1.02.3")); // true false false
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
 * import { canonical } from "./semver.ts";
 * console.log(canonical("v1.2"), canonical("v1.2.3+meta"), canonical("v1.2.x")); // v1.2.0 v1.2.3 ""
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
 * import { canonicalModuleVersion } from "./semver.ts";
 * console.log(canonicalModuleVersion("v2.0.0+incompatible")); // v2.0.0+incompatible
 * console.log(canonicalModuleVersion("v2.0.0+meta")); // v2.0.0
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
 * import { major } from "./semver.ts";
 * console.log(major("v2.1.0"), major("v0.0.0-20200101000000-abcdefabcdef")); // v2 v0
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
 * import { majorMinor } from "./semver.ts";
 * console.log(majorMinor("v2.1.0"), majorMinor("v3")); // v2.1 v3.0
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
 * import { prerelease } from "./semver.ts";
 * console.log(prerelease("v1.0.0-rc.1+meta")); // -rc.1
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
 * import { build } from "./semver.ts";
 * console.log(build("v2.0.0+incompatible")); // +incompatible
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
 * import { compare } from "./semver.ts";
 * console.log(compare("v1.2.3", "v1.10.0"), compare("v1.0.0", "v1.0.0-rc.1"), compare("x", "v0.0.1")); // -1 1 -1
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
 * import { sortVersions } from "./semver.ts";
 * console.log(sortVersions(["v1.10.0", "v1.2.0", "v1.2.0-rc.1"])); // ["v1.2.0-rc.1", "v1.2.0", "v1.10.0"]
 * ```
 */
export function sortVersions(list: readonly string[]): string[] {
  return [...list].sort((a, b) => compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Layout of the time stamp inside a pseudo-version (Go: "20060102150405"). */
const PSEUDO_RE =
  /^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/**
 * Reports whether `v` has the shape of a pseudo-version (`vX.0.0-T-H`,
 * `vX.Y.Z-0.T-H` or `vX.Y.Z-PRE.0.T-H`, optionally with a build suffix).
 * It says nothing about whether the commit exists.
 *
 * @example
 * ```ts
 * import { isPseudoVersion } from "./semver.ts";
 * console.log(isPseudoVersion("v1.2.4-0.20200101000000-abcdefabcdef")); // true
 * console.log(isPseudoVersion("v1.2.4-rc.1")); // false
 * ```
 */
export function isPseudoVersion(v: string): boolean {
  return v.split("-").length > 2 && isValid(v) && PSEUDO_RE.test(v);
}

/**
 * The zero pseudo-version of a major (`v0.0.0-00010101000000-000000000000`),
 * which Go uses as a placeholder in `replace`d requirements.
 *
 * @example
 * ```ts
 * import { zeroPseudoVersion } from "./semver.ts";
 * console.log(zeroPseudoVersion("v2")); // v2.0.0-00010101000000-000000000000
 * ```
 */
export function zeroPseudoVersion(majorPrefix: string): string {
  return `${majorPrefix === "" ? "v0" : majorPrefix}.0.0-00010101000000-000000000000`;
}

/**
 * Reports whether `v` is the zero pseudo-version of its major.
 *
 * @example
 * ```ts
 * import { isZeroPseudoVersion } from "./semver.ts";
 * console.log(isZeroPseudoVersion("v0.0.0-00010101000000-000000000000")); // true
 * ```
 */
export function isZeroPseudoVersion(v: string): boolean {
  return v === zeroPseudoVersion(major(v));
}

interface PseudoParts {
  /** `vX.0.0`, `vX.Y.(Z+1)-0` or `vX.Y.Z-PRE.0`. */
  base: string;
  timestamp: string;
  rev: string;
  build: string;
}

function parsePseudo(v: string): PseudoParts {
  if (!isPseudoVersion(v)) throw new VersionError(v, "syntax error", true);
  const b = build(v);
  const rest = v.slice(0, v.length - b.length);
  const revDash = rest.lastIndexOf("-");
  const rev = rest.slice(revDash + 1);
  const head = rest.slice(0, revDash);
  const dash = head.lastIndexOf("-");
  const dot = head.lastIndexOf(".");
  // Forms 2 and 3 put a "." before the time stamp; form 1 a "-".
  const cut = dot > dash ? dot : dash;
  return { base: head.slice(0, cut), timestamp: head.slice(cut + 1), rev, build: b };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * The 14-digit UTC time stamp (`yyyymmddhhmmss`) of pseudo-version `v`.
 * Throws {@linkcode VersionError} if `v` is not a pseudo-version or the stamp is
 * not a real time (month 13, February 30, second 60), as Go's `time.Parse` would.
 *
 * @example
 * ```ts
 * import { pseudoVersionTime } from "./semver.ts";
 * console.log(pseudoVersionTime("v0.0.0-20191109021931-daa7c04131f5")); // 20191109021931
 * ```
 */
export function pseudoVersionTime(v: string): string {
  const { timestamp } = parsePseudo(v);
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((i, k) =>
    Number(timestamp.slice(i, k === 0 ? 4 : i + 2))
  );
  const days = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (
    month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59
  ) {
    throw new VersionError(v, `malformed time ${goQuote(timestamp)}`, true);
  }
  return timestamp;
}

/**
 * The time of pseudo-version `v` as a `Date` (UTC), for example to fill the
 * `Time` of an `.info` answer synthesized from a cached version.
 *
 * @example
 * ```ts
 * import { pseudoVersionDate } from "./semver.ts";
 * console.log(pseudoVersionDate("v0.0.0-20191109021931-daa7c04131f5").toISOString()); // 2019-11-09T02:19:31.000Z
 * ```
 */
export function pseudoVersionDate(v: string): Date {
  const t = pseudoVersionTime(v);
  const date = new Date(0);
  // Date.UTC maps years 0-99 to 1900-1999, so set the year separately.
  date.setUTCFullYear(Number(t.slice(0, 4)), Number(t.slice(4, 6)) - 1, Number(t.slice(6, 8)));
  date.setUTCHours(Number(t.slice(8, 10)), Number(t.slice(10, 12)), Number(t.slice(12, 14)));
  return date;
}

/**
 * The revision part (normally a 12-hex-digit commit hash prefix) of
 * pseudo-version `v`. Throws {@linkcode VersionError} if `v` is not one.
 *
 * @example
 * ```ts
 * import { pseudoVersionRev } from "./semver.ts";
 * console.log(pseudoVersionRev("v1.2.4-0.20200101000000-abcdefabcdef+incompatible")); // abcdefabcdef
 * ```
 */
export function pseudoVersionRev(v: string): string {
  return parsePseudo(v).rev;
}

/**
 * The tag version a pseudo-version was derived from: `v1.2.3` for
 * `v1.2.4-0.T-H`, `v1.3.0-rc.1` for `v1.3.0-rc.1.0.T-H`, "" for the
 * `vX.0.0-T-H` form. A build suffix such as `+incompatible` is carried over.
 * Throws {@linkcode VersionError} if `v` is not a pseudo-version, if a
 * `vX.0.0-T-H` form has build metadata, or if `vX.Y.0-0.T-H` would need a
 * negative patch number.
 *
 * @example
 * ```ts
 * import { pseudoVersionBase } from "./semver.ts";
 * console.log(pseudoVersionBase("v1.2.4-0.20200101000000-abcdefabcdef")); // v1.2.3
 * console.log(pseudoVersionBase("v0.0.0-20200101000000-abcdefabcdef")); // ""
 * ```
 */
export function pseudoVersionBase(v: string): string {
  const { base, build: b } = parsePseudo(v);
  const pre = prerelease(base);
  if (pre === "") {
    if (b !== "") {
      throw new VersionError(
        v,
        `lacks base version, but has build metadata ${goQuote(b)}`,
        true,
      );
    }
    return "";
  }
  if (pre === "-0") {
    const release = base.slice(0, base.length - pre.length);
    const dot = release.lastIndexOf(".");
    const patch = decDecimal(release.slice(dot + 1));
    if (patch === "") {
      throw new VersionError(v, `version before ${release} would have negative patch number`, true);
    }
    return release.slice(0, dot + 1) + patch + b;
  }
  // "vX.Y.Z-PRE.0": the ".0" was appended to the base pre-release.
  return base.slice(0, base.length - ".0".length) + b;
}

/**
 * Adds one to a decimal string of any length (`"9"` → `"10"`), without
 * going through floating point.
 *
 * @example
 * ```ts
 * import { incDecimal } from "./semver.ts";
 * console.log(incDecimal("199")); // 200
 * ```
 */
export function incDecimal(s: string): string {
  const digits = [...s];
  let i = digits.length - 1;
  for (; i >= 0 && digits[i] === "9"; i--) digits[i] = "0";
  if (i < 0) return "1" + digits.join("");
  digits[i] = String(Number(digits[i]) + 1);
  return digits.join("");
}

/**
 * Subtracts one from a decimal string (`"10"` → `"9"`); "" for `"0"`.
 *
 * @example
 * ```ts
 * import { decDecimal } from "./semver.ts";
 * console.log(decDecimal("100"), decDecimal("0")); // 99 ""
 * ```
 */
export function decDecimal(s: string): string {
  const digits = [...s];
  let i = digits.length - 1;
  for (; i >= 0 && digits[i] === "0"; i--) digits[i] = "9";
  if (i < 0) return "";
  digits[i] = String(Number(digits[i]) - 1);
  // Drop the leading zero "10" - 1 would leave, but keep a lone "0".
  if (i === 0 && digits[0] === "0" && digits.length > 1) digits.shift();
  return digits.join("");
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats `time` in UTC as a pseudo-version time stamp (`yyyymmddhhmmss`).
 *
 * @example
 * ```ts
 * import { pseudoVersionTimestamp } from "./semver.ts";
 * console.log(pseudoVersionTimestamp(new Date("2019-11-09T02:19:31.900Z"))); // 20191109021931
 * ```
 */
export function pseudoVersionTimestamp(time: Date): string {
  return pad(time.getUTCFullYear(), 4) + pad(time.getUTCMonth() + 1, 2) +
    pad(time.getUTCDate(), 2) + pad(time.getUTCHours(), 2) + pad(time.getUTCMinutes(), 2) +
    pad(time.getUTCSeconds(), 2);
}

/**
 * Builds the pseudo-version for a commit (spec §2.4, Go's `module.PseudoVersion`):
 *
 * 1. `older` is "" (or invalid): `MAJOR.0.0-T-H` (`major` "" means `v0`);
 * 2. `older` is a release `vX.Y.Z`: `vX.Y.(Z+1)-0.T-H`;
 * 3. `older` is a pre-release `vX.Y.Z-PRE`: `vX.Y.Z-PRE.0.T-H`.
 *
 * A build suffix on `older` (`+incompatible`) is kept at the end. `time` is
 * the committer time, formatted in UTC to the second. `rev` is used verbatim:
 * the caller passes the 12-character lowercase short hash that the go command
 * will check the version against. Throws `RangeError` for an invalid `Date`.
 *
 * @example
 * ```ts
 * import { makePseudoVersion } from "./semver.ts";
 * const t = new Date("2020-01-02T03:04:05Z");
 * console.log(makePseudoVersion("v2", "", t, "abcdefabcdef")); // v2.0.0-20200102030405-abcdefabcdef
 * console.log(makePseudoVersion("", "v1.2.3", t, "abcdefabcdef")); // v1.2.4-0.20200102030405-abcdefabcdef
 * console.log(makePseudoVersion("", "v1.3.0-rc.1", t, "abcdefabcdef")); // v1.3.0-rc.1.0.20200102030405-abcdefabcdef
 * ```
 */
export function makePseudoVersion(
  majorPrefix: string,
  older: string,
  time: Date,
  rev: string,
): string {
  if (Number.isNaN(time.getTime())) throw new RangeError("makePseudoVersion: invalid time");
  const segment = `${pseudoVersionTimestamp(time)}-${rev}`;
  const b = build(older);
  const base = canonical(older);
  if (base === "") return `${majorPrefix === "" ? "v0" : majorPrefix}.0.0-${segment}`;
  if (prerelease(base) !== "") return `${base}.0.${segment}${b}`;
  const dot = base.lastIndexOf(".");
  return `${base.slice(0, dot + 1)}${incDecimal(base.slice(dot + 1))}-0.${segment}${b}`;
}
