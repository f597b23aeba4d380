// Expected values were produced by golang.org/x/mod v0.43.0 (module package)
// unless a case says otherwise.
import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  decDecimal,
  incDecimal,
  isPseudoVersion,
  isZeroPseudoVersion,
  makePseudoVersion,
  pseudoVersionBase,
  pseudoVersionDate,
  pseudoVersionRev,
  pseudoVersionTime,
  pseudoVersionTimestamp,
  zeroPseudoVersion,
} from "./pseudo.ts";
import { goQuote, VersionError } from "./semver.ts";

// [version, isPseudo, time or "" or "ERR", rev, base or "ERR"]
const PSEUDO_CASES: [string, boolean, string, string, string][] = [
  ["v0.0.0-20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", ""],
  ["v2.0.0-20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", ""],
  ["v1.2.4-0.20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", "v1.2.3"],
  ["v1.2.10-0.20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", "v1.2.9"],
  ["v1.2.0-0.20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", "ERR"],
  [
    "v1.3.0-rc.1.0.20191109021931-daa7c04131f5",
    true,
    "20191109021931",
    "daa7c04131f5",
    "v1.3.0-rc.1",
  ],
  [
    "v1.3.0-pre.0.20191109021931-daa7c04131f5",
    true,
    "20191109021931",
    "daa7c04131f5",
    "v1.3.0-pre",
  ],
  [
    "v2.0.1-0.20191109021931-daa7c04131f5+incompatible",
    true,
    "20191109021931",
    "daa7c04131f5",
    "v2.0.0+incompatible",
  ],
  [
    "v2.1.0-rc.1.0.20191109021931-daa7c04131f5+incompatible",
    true,
    "20191109021931",
    "daa7c04131f5",
    "v2.1.0-rc.1+incompatible",
  ],
  // Form 1 with build metadata has no base to carry it: invalid (§7 item 16).
  [
    "v2.0.0-20191109021931-daa7c04131f5+incompatible",
    true,
    "20191109021931",
    "daa7c04131f5",
    "ERR",
  ],
  // Shape-wise fine; the "v1 without a tag" rule needs the module path, not this module.
  ["v1.0.0-20191109021931-daa7c04131f5", true, "20191109021931", "daa7c04131f5", ""],
  // Hash length is only checked against the commit, not here.
  ["v0.0.0-20191109021931-daa7c04131f", true, "20191109021931", "daa7c04131f", ""],
  ["v0.0.0-20191109021931-daa7c04131f5a", true, "20191109021931", "daa7c04131f5a", ""],
  ["v0.0.0-20191309021931-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-20190230021931-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-20200229235959-daa7c04131f5", true, "20200229235959", "daa7c04131f5", ""],
  ["v0.0.0-19000229000000-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-20191109241931-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-20191109026031-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-20191109021960-daa7c04131f5", true, "ERR", "daa7c04131f5", ""],
  ["v0.0.0-00010101000000-000000000000", true, "00010101000000", "000000000000", ""],
  ["v0.0.0-2019110902193-daa7c04131f5", false, "ERR", "ERR", "ERR"],
  ["v0.0.0-201911090219311-daa7c04131f5", false, "ERR", "ERR", "ERR"],
  ["v1.2.3-20191109021931-daa7c04131f5", false, "ERR", "ERR", "ERR"],
  ["v1.2.4-1.20191109021931-daa7c04131f5", false, "ERR", "ERR", "ERR"],
  ["v0.0.0-20191109021931-daa7c04131f5.x", false, "ERR", "ERR", "ERR"],
  ["v0.0.0-20191109021931-", false, "ERR", "ERR", "ERR"],
  ["v0.0.0-20191109021931", false, "ERR", "ERR", "ERR"],
  ["v1.2.3", false, "ERR", "ERR", "ERR"],
  ["v1.2.3-rc.1", false, "ERR", "ERR", "ERR"],
  ["v1.2.3-pre-release-x", false, "ERR", "ERR", "ERR"],
  ["", false, "ERR", "ERR", "ERR"],
];

Deno.test("pseudo-versions are recognised and split into time, revision and base", () => {
  for (const [v, pseudo, time, rev, base] of PSEUDO_CASES) {
    assertEquals(isPseudoVersion(v), pseudo, `isPseudoVersion(${v})`);
    for (
      const [name, fn, want] of [
        ["time", pseudoVersionTime, time],
        ["rev", pseudoVersionRev, rev],
        ["base", pseudoVersionBase, base],
      ] as const
    ) {
      if (want === "ERR") {
        const error = assertThrows(() => fn(v), VersionError, goQuote(v));
        assertEquals(error instanceof VersionError && error.version, v, `${name}(${v})`);
      } else {
        assertEquals(fn(v), want, `${name}(${v})`);
      }
    }
  }
});

Deno.test("pseudoVersionDate gives the UTC time, also for years below 100", () => {
  assertEquals(
    pseudoVersionDate("v0.0.0-20191109021931-daa7c04131f5").toISOString(),
    "2019-11-09T02:19:31.000Z",
  );
  assertEquals(
    pseudoVersionDate("v0.0.0-00010101000000-000000000000").toISOString(),
    "0001-01-01T00:00:00.000Z",
  );
  assertThrows(() => pseudoVersionDate("v1.0.0"), VersionError);
});

Deno.test("zero pseudo-versions are recognised per major", () => {
  const cases: [string, boolean][] = [
    ["v0.0.0-00010101000000-000000000000", true],
    ["v2.0.0-00010101000000-000000000000", true],
    ["v0.0.0-00010101000000-000000000001", false],
    ["v0.0.1-0.00010101000000-000000000000", false],
    ["v0.0.0-00010101000000-000000000000+incompatible", false],
    ["", false],
  ];
  for (const [v, want] of cases) assertEquals(isZeroPseudoVersion(v), want, v);
  assertEquals(zeroPseudoVersion(""), "v0.0.0-00010101000000-000000000000");
  assertEquals(zeroPseudoVersion("v3"), "v3.0.0-00010101000000-000000000000");
});

Deno.test("makePseudoVersion builds the three forms of spec §2.4", () => {
  const t = new Date("2019-11-09T02:19:31.987Z");
  const rev = "daa7c04131f5";
  // [major, older, expected]
  const cases: [string, string, string][] = [
    ["", "", "v0.0.0-20191109021931-daa7c04131f5"],
    ["v0", "", "v0.0.0-20191109021931-daa7c04131f5"],
    ["v2", "", "v2.0.0-20191109021931-daa7c04131f5"],
    ["v3", "not-a-version", "v3.0.0-20191109021931-daa7c04131f5"],
    ["", "v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5"],
    ["", "v1.2.9", "v1.2.10-0.20191109021931-daa7c04131f5"],
    ["", "v1.2.99", "v1.2.100-0.20191109021931-daa7c04131f5"],
    ["", "v1.2", "v1.2.1-0.20191109021931-daa7c04131f5"],
    ["", "v1.2.3+meta", "v1.2.4-0.20191109021931-daa7c04131f5+meta"],
    ["", "v2.0.0+incompatible", "v2.0.1-0.20191109021931-daa7c04131f5+incompatible"],
    ["", "v1.3.0-rc.1", "v1.3.0-rc.1.0.20191109021931-daa7c04131f5"],
    ["", "v2.1.0-rc.1+incompatible", "v2.1.0-rc.1.0.20191109021931-daa7c04131f5+incompatible"],
    ["", "v1.3.0-RC1", "v1.3.0-RC1.0.20191109021931-daa7c04131f5"],
  ];
  for (const [maj, older, want] of cases) {
    const got = makePseudoVersion(maj, older, t, rev);
    assertEquals(got, want, `makePseudoVersion(${maj}, ${older})`);
    assertEquals(isPseudoVersion(got), true, got);
    assertEquals(pseudoVersionRev(got), rev);
    assertEquals(pseudoVersionTime(got), "20191109021931");
  }
});

Deno.test("makePseudoVersion refuses an invalid Date", () => {
  assertThrows(() => makePseudoVersion("", "", new Date("junk"), "abcdefabcdef"), RangeError);
});

Deno.test("makePseudoVersion round-trips through pseudoVersionBase", () => {
  const t = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
  for (const older of ["v1.2.3", "v0.0.9", "v1.3.0-rc.1", "v2.0.0+incompatible", "v1.0.0-0"]) {
    assertEquals(pseudoVersionBase(makePseudoVersion("", older, t, "abcdefabcdef")), older);
  }
});

Deno.test("pseudoVersionTimestamp formats UTC to the second with zero padding", () => {
  assertEquals(pseudoVersionTimestamp(new Date("2001-02-03T04:05:06.999Z")), "20010203040506");
  assertEquals(pseudoVersionTimestamp(new Date("2001-02-03T23:05:06+02:00")), "20010203210506");
  assertEquals(pseudoVersionTimestamp(new Date("0001-01-01T00:00:00Z")), "00010101000000");
});

Deno.test("incDecimal and decDecimal handle carries and any length", () => {
  const inc: [string, string][] = [
    ["0", "1"],
    ["8", "9"],
    ["9", "10"],
    ["19", "20"],
    ["99", "100"],
    ["12345678901234567899", "12345678901234567900"],
  ];
  for (const [s, want] of inc) {
    assertEquals(incDecimal(s), want, `incDecimal(${s})`);
    assertEquals(decDecimal(want), s, `decDecimal(${want})`);
  }
  assertEquals(decDecimal("0"), "");
  assertEquals(decDecimal("00"), "");
});
