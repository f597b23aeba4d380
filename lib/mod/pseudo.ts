/**
 * Pseudo-versions, the synthetic versions Go gives untagged commits
 * (`vX.0.0-T-H`, `vX.Y.(Z+1)-0.T-H`, `vX.Y.Z-PRE.0.T-H`): recognising them,
 * taking them apart and making them, as golang.org/x/mod's `module/pseudo.go`
 * does, because the go command checks a proxy's pseudo-versions by its rules.
 *
 * @module
 */
import { build, canonical, goQuote, isValid, major, prerelease, VersionError } from "./semver.ts";

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
 * import assert from "node:assert/strict";
 * import { isPseudoVersion } from "./pseudo.ts";
 * assert.ok(isPseudoVersion("v1.2.4-0.20200101000000-abcdefabcdef"));
 * assert.ok(!isPseudoVersion("v1.2.4-rc.1"));
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
 * import assert from "node:assert/strict";
 * import { zeroPseudoVersion } from "./pseudo.ts";
 * assert.equal(zeroPseudoVersion("v2"), "v2.0.0-00010101000000-000000000000");
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
 * import assert from "node:assert/strict";
 * import { isZeroPseudoVersion } from "./pseudo.ts";
 * assert.ok(isZeroPseudoVersion("v0.0.0-00010101000000-000000000000"));
 * assert.ok(!isZeroPseudoVersion("v0.0.0-20200101000000-abcdefabcdef"));
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
 * import assert from "node:assert/strict";
 * import { pseudoVersionTime } from "./pseudo.ts";
 * assert.equal(pseudoVersionTime("v0.0.0-20191109021931-daa7c04131f5"), "20191109021931");
 * assert.throws(() => pseudoVersionTime("v0.0.0-20190230000000-daa7c04131f5")); // February 30
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
 * import assert from "node:assert/strict";
 * import { pseudoVersionDate } from "./pseudo.ts";
 * const date = pseudoVersionDate("v0.0.0-20191109021931-daa7c04131f5");
 * assert.equal(date.toISOString(), "2019-11-09T02:19:31.000Z");
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
 * import assert from "node:assert/strict";
 * import { pseudoVersionRev } from "./pseudo.ts";
 * assert.equal(pseudoVersionRev("v1.2.4-0.20200101000000-abcdefabcdef+incompatible"), "abcdefabcdef");
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
 * import assert from "node:assert/strict";
 * import { pseudoVersionBase } from "./pseudo.ts";
 * assert.equal(pseudoVersionBase("v1.2.4-0.20200101000000-abcdefabcdef"), "v1.2.3");
 * assert.equal(pseudoVersionBase("v0.0.0-20200101000000-abcdefabcdef"), "");
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
 * import assert from "node:assert/strict";
 * import { incDecimal } from "./pseudo.ts";
 * assert.equal(incDecimal("199"), "200");
 * assert.equal(incDecimal("99999999999999999999"), "100000000000000000000");
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
 * import assert from "node:assert/strict";
 * import { decDecimal } from "./pseudo.ts";
 * assert.equal(decDecimal("100"), "99");
 * assert.equal(decDecimal("0"), "");
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
 * import assert from "node:assert/strict";
 * import { pseudoVersionTimestamp } from "./pseudo.ts";
 * assert.equal(pseudoVersionTimestamp(new Date("2019-11-09T02:19:31.900Z")), "20191109021931");
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
 * import assert from "node:assert/strict";
 * import { makePseudoVersion } from "./pseudo.ts";
 * const t = new Date("2020-01-02T03:04:05Z");
 * const rev = "abcdefabcdef";
 * assert.equal(makePseudoVersion("v2", "", t, rev), "v2.0.0-20200102030405-abcdefabcdef");
 * assert.equal(makePseudoVersion("", "v1.2.3", t, rev), "v1.2.4-0.20200102030405-abcdefabcdef");
 * assert.equal(
 *   makePseudoVersion("", "v1.3.0-rc.1", t, rev),
 *   "v1.3.0-rc.1.0.20200102030405-abcdefabcdef",
 * );
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
