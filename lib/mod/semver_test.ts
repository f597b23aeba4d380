// Expected values were produced by golang.org/x/mod v0.43.0 (semver package)
// unless a case says otherwise.
import { assertEquals } from "../../tests/assert.ts";
import {
  build,
  canonical,
  canonicalModuleVersion,
  compare,
  goQuote,
  isValid,
  major,
  majorMinor,
  prerelease,
  sortVersions,
} from "./semver.ts";

// [input, canonical, major, majorMinor, prerelease, build]; canonical "" = invalid.
const PARSE_CASES: [string, string, string, string, string, string][] = [
  ["v0.0.0", "v0.0.0", "v0", "v0.0", "", ""],
  ["v1", "v1.0.0", "v1", "v1.0", "", ""],
  ["v1.2", "v1.2.0", "v1", "v1.2", "", ""],
  ["v1.2.3", "v1.2.3", "v1", "v1.2", "", ""],
  ["v10.20.30", "v10.20.30", "v10", "v10.20", "", ""],
  ["v1.2.3-rc.1", "v1.2.3-rc.1", "v1", "v1.2", "-rc.1", ""],
  ["v1.2.3-RC1", "v1.2.3-RC1", "v1", "v1.2", "-RC1", ""],
  ["v1.2.3-0", "v1.2.3-0", "v1", "v1.2", "-0", ""],
  ["v1.2.3-0a", "v1.2.3-0a", "v1", "v1.2", "-0a", ""],
  ["v1.2.3--", "v1.2.3--", "v1", "v1.2", "--", ""],
  ["v1.2.3-a-b.c-d", "v1.2.3-a-b.c-d", "v1", "v1.2", "-a-b.c-d", ""],
  ["v1.2.3+meta", "v1.2.3", "v1", "v1.2", "", "+meta"],
  ["v1.2.3+meta.01", "v1.2.3", "v1", "v1.2", "", "+meta.01"],
  ["v1.2.3-pre+meta", "v1.2.3-pre", "v1", "v1.2", "-pre", "+meta"],
  ["v2.0.0+incompatible", "v2.0.0", "v2", "v2.0", "", "+incompatible"],
  [
    "v1.2.4-0.20200101000000-abcdefabcdef",
    "v1.2.4-0.20200101000000-abcdefabcdef",
    "v1",
    "v1.2",
    "-0.20200101000000-abcdefabcdef",
    "",
  ],
  [
    "v99999999999999999999.0.0",
    "v99999999999999999999.0.0",
    "v99999999999999999999",
    "v99999999999999999999.0",
    "",
    "",
  ],
  ["", "", "", "", "", ""],
  ["v", "", "", "", "", ""],
  ["1.2.3", "", "", "", "", ""],
  ["V1.2.3", "", "", "", "", ""],
  ["v01.2.3", "", "", "", "", ""],
  ["v1.02.3", "", "", "", "", ""],
  ["v1.2.03", "", "", "", "", ""],
  ["v1.2.3.4", "", "", "", "", ""],
  ["v1.2-pre", "", "", "", "", ""],
  ["v1-pre", "", "", "", "", ""],
  ["v1.2+meta", "", "", "", "", ""],
  ["v1.2.3-", "", "", "", "", ""],
  ["v1.2.3-01", "", "", "", "", ""],
  ["v1.2.3-rc..1", "", "", "", "", ""],
  ["v1.2.3-rc.", "", "", "", "", ""],
  ["v1.2.3+", "", "", "", "", ""],
  ["v1.2.3+a..b", "", "", "", "", ""],
  ["v1.2.3-rc_1", "", "", "", "", ""],
  ["v1.2.3-é", "", "", "", "", ""],
  ["v1.2.3 ", "", "", "", "", ""],
  ["v1.2.x", "", "", "", "", ""],
  ["main", "", "", "", "", ""],
];

Deno.test("version parsing gives canonical form and parts, or empty strings when invalid", () => {
  for (const [v, canon, maj, mm, pre, b] of PARSE_CASES) {
    assertEquals(isValid(v), canon !== "", `isValid(${v})`);
    assertEquals(canonical(v), canon, `canonical(${v})`);
    assertEquals(major(v), maj, `major(${v})`);
    assertEquals(majorMinor(v), mm, `majorMinor(${v})`);
    assertEquals(prerelease(v), pre, `prerelease(${v})`);
    assertEquals(build(v), b, `build(${v})`);
  }
});

Deno.test("canonicalModuleVersion keeps +incompatible and drops other build metadata", () => {
  const cases: [string, string][] = [
    ["v2.0.0+incompatible", "v2.0.0+incompatible"],
    [
      "v2.0.1-0.20200101000000-abcdefabcdef+incompatible",
      "v2.0.1-0.20200101000000-abcdefabcdef+incompatible",
    ],
    ["v2.0.0+meta", "v2.0.0"],
    ["v2.0.0+incompatible.x", "v2.0.0"],
    ["v2+incompatible", ""],
    ["v2", "v2.0.0"],
    ["v1.2.3", "v1.2.3"],
    ["junk+incompatible", ""],
  ];
  for (const [v, want] of cases) assertEquals(canonicalModuleVersion(v), want, v);
});

Deno.test("compare orders by semver precedence with invalid versions lowest", () => {
  const cases: [string, string, -1 | 0 | 1][] = [
    ["v1.0.0", "v1.0.0", 0],
    ["v1", "v1.0.0", 0],
    ["v1.2", "v1.2.0", 0],
    ["v1.0.0+a", "v1.0.0+b", 0],
    ["v1.0.0", "v2.0.0", -1],
    ["v1.2.0", "v1.10.0", -1],
    ["v1.0.9", "v1.0.10", -1],
    ["v9.0.0", "v10.0.0", -1],
    ["v99999999999999999998.0.0", "v99999999999999999999.0.0", -1],
    ["v1.0.0-rc.1", "v1.0.0", -1],
    ["v1.0.0-alpha", "v1.0.0-alpha.1", -1],
    ["v1.0.0-alpha.1", "v1.0.0-alpha.beta", -1],
    ["v1.0.0-alpha.beta", "v1.0.0-beta", -1],
    ["v1.0.0-beta", "v1.0.0-beta.2", -1],
    ["v1.0.0-beta.2", "v1.0.0-beta.11", -1],
    ["v1.0.0-beta.11", "v1.0.0-rc.1", -1],
    ["v1.0.0-1", "v1.0.0-a", -1],
    ["v1.0.0-9", "v1.0.0-10", -1],
    ["v1.0.0-A", "v1.0.0-a", -1],
    ["v1.0.0-a-", "v1.0.0-a-b", -1],
    ["v1.2.3", "v1.2.4-0.20200101000000-abcdefabcdef", -1],
    ["v1.2.4-0.20200101000000-abcdefabcdef", "v1.2.4", -1],
    ["v1.3.0-rc.1", "v1.3.0-rc.1.0.20200101000000-abcdefabcdef", -1],
    ["v0.0.0-20190101000000-abcdefabcdef", "v0.0.0-20200101000000-000000000000", -1],
    ["bad", "v0.0.0", -1],
    ["bad", "worse", 0],
    ["", "", 0],
  ];
  for (const [a, b, want] of cases) {
    assertEquals(compare(a, b), want, `compare(${a}, ${b})`);
    assertEquals(compare(b, a), (want === 0 ? 0 : -want) as -1 | 0 | 1, `compare(${b}, ${a})`);
  }
});

Deno.test("sortVersions sorts ascending into a new array, ties broken by string", () => {
  const input = [
    "v1.10.0",
    "v1.2.0",
    "v1.2.0-rc.1",
    "v1.2",
    "bad",
    "v1.2.0+meta",
    "v0.0.0-20200101000000-abcdefabcdef",
    "v2.0.0+incompatible",
    "v1.2.1-0.20200101000000-abcdefabcdef",
  ];
  const copy = [...input];
  assertEquals(sortVersions(input), [
    "bad",
    "v0.0.0-20200101000000-abcdefabcdef",
    "v1.2.0-rc.1",
    "v1.2",
    "v1.2.0",
    "v1.2.0+meta",
    "v1.2.1-0.20200101000000-abcdefabcdef",
    "v1.10.0",
    "v2.0.0+incompatible",
  ]);
  assertEquals(input, copy, "input untouched");
});

Deno.test("goQuote quotes like Go's %q, leaving no control characters", () => {
  const cases: [string, string][] = [
    ["abc", `"abc"`],
    ["", `""`],
    ['a"b', `"a\\"b"`],
    ["a'b", `"a'b"`],
    ["a\\b", `"a\\\\b"`],
    ["tab\there", `"tab\\there"`],
    ["nl\n", `"nl\\n"`],
    ["nul\0", `"nul\\x00"`],
    ["del\x7f", `"del\\x7f"`],
    ["c1\x85", `"c1\\u0085"`],
    ["nbsp\u00a0", `"nbsp\\u00a0"`],
    ["bidi\u202e", `"bidi\\u202e"`],
    ["é日本😀", `"é日本😀"`],
    ["e\u0301", `"e\u0301"`],
    ["\u{e0001}", `"\\U000e0001"`],
  ];
  for (const [s, want] of cases) assertEquals(goQuote(s), want, want);
  assertEquals(goQuote("'", "'"), `'\\''`);
  assertEquals(goQuote('"', "'"), `'"'`);
});
