// Expected values were produced by golang.org/x/mod v0.43.0 (module package)
// and Go 1.26's path.Match unless a case says otherwise.
import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import {
  checkFilePath,
  checkImportPath,
  checkPath,
  checkPathMajor,
  escapePath,
  escapeVersion,
  matchPathMajor,
  matchPathMajorLax,
  matchPrefixPatterns,
  ModPathError,
  pathMajorPrefix,
  pathMatch,
  splitPathVersion,
  unescapePath,
  unescapeVersion,
} from "./module.ts";
import { goQuote } from "./semver.ts";

/** Runs `check` and returns "" if it passed, else the error's message. */
function problem(check: () => void): string {
  try {
    check();
    return "";
  } catch (error) {
    if (!(error instanceof ModPathError)) throw error;
    return error.message;
  }
}

// [path, "" if valid or a part of the expected error message]
const MODULE_PATH_CASES: [string, string][] = [
  ["example.com", ""],
  ["example.com/m", ""],
  ["github.com/BurntSushi/toml", ""],
  ["golang.org/x/text", ""],
  ["example.com/m/v2", ""],
  ["example.com/v2", ""],
  ["example.com/m/v10", ""],
  ["example.com/m/v2/v3", ""],
  ["example.com/m/v1a", ""],
  ["example.com/m/v", ""],
  ["example.com/m/v2x/v2", ""],
  ["ex-ample.com/-a/b-", ""],
  ["1.2.3.4/x", ""],
  ["example.com/a~b", ""],
  ["example.com/~", ""],
  ["example.com/foo~", ""],
  ["example.com/foo~1a", ""],
  ["example.com/a_b.c-d~e", ""],
  ["example.com/com0", ""],
  ["example.com/com10", ""],
  ["example.com/auxiliary", ""],
  ["gopkg.in/yaml.v2", ""],
  ["gopkg.in/yaml.v0", ""],
  ["gopkg.in/yaml.v1", ""],
  ["gopkg.in/check.v1-unstable", ""],
  ["gopkg.in/user/pkg.v3", ""],
  ["", "empty string"],
  ["/example.com", "empty path element"],
  ["example.com/", "trailing slash"],
  ["example.com//m", "double slash"],
  ["example", "missing dot in first path element"],
  ["Example.com/m", "invalid char 'E' in first path element"],
  ["ex_ample.com", "invalid char '_' in first path element"],
  ["exa~mple.com", "invalid char '~' in first path element"],
  ["-example.com", "leading dash"],
  [".example.com", "leading dot in path element"],
  ["example.com./m", "trailing dot in path element"],
  ["example.com/.x", "leading dot in path element"],
  ["example.com/x.", "trailing dot in path element"],
  ["example.com/.", `invalid path element "."`],
  ["example.com/..", `invalid path element ".."`],
  ["example.com/a b", "invalid char ' '"],
  ["example.com/a+b", "invalid char '+'"],
  ["example.com/a@b", "invalid char '@'"],
  ["example.com/a:b", "invalid char ':'"],
  ["example.com/a\\b", "invalid char '\\\\'"],
  ["example.com/a!b", "invalid char '!'"],
  ["example.com/é", "invalid char 'é'"],
  ["example.com/aux", `"aux" disallowed as path element component on Windows`],
  ["example.com/AUX.go", `"AUX" disallowed as path element component on Windows`],
  ["example.com/Com1", `"Com1" disallowed`],
  ["example.com/lpt9.x.y", `"lpt9" disallowed`],
  ["con.example.com/x", `"con" disallowed`],
  ["example.com/foo~1", "trailing tilde and digits in path element"],
  ["example.com/PROGRA~1", "trailing tilde and digits in path element"],
  ["example.com/foo~1.bar", "trailing tilde and digits in path element"],
  ["example.com/m/v1", "invalid version"],
  ["example.com/m/v0", "invalid version"],
  ["example.com/m/v02", "invalid version"],
  ["example.com/m/v1.2", "invalid version"],
  ["example.com/m/v2.0", "invalid version"],
  ["gopkg.in/yaml", "invalid version"],
  ["gopkg.in/yaml.v02", "invalid version"],
  ["gopkg.in/yaml.v", "invalid version"],
  ["gopkg.in/yaml.v0-unstable", "invalid version"],
  ["gopkg.in/yaml.v2-beta", "invalid version"],
];

Deno.test("checkPath accepts valid module paths and says why others are invalid", () => {
  for (const [path, want] of MODULE_PATH_CASES) {
    const got = problem(() => checkPath(path));
    if (want === "") {
      assertEquals(got, "", path);
    } else {
      assertStringIncludes(got, `malformed module path ${goQuote(path)}: `, path);
      assertStringIncludes(got, want, path);
    }
  }
});

Deno.test("checkPath errors carry the rejected input", () => {
  const error = assertThrows(() => checkPath("example.com/m/v1"), ModPathError);
  assertEquals(error instanceof ModPathError && error.input, "example.com/m/v1");
});

Deno.test("checkImportPath allows + and leading dots but keeps the element rules", () => {
  const cases: [string, string][] = [
    ["example.com/m/c++", ""],
    ["fmt", ""],
    ["net/http", ""],
    ["Example/Upper", ""],
    ["example.com/.hidden", ""],
    ["example.com/m/v1", ""],
    ["example.com/m/v02", ""],
    ["-x", "leading dash"],
    ["a//b", "double slash"],
    ["a/", "trailing slash"],
    ["a/b.", "trailing dot in path element"],
    ["a/..", `invalid path element ".."`],
    ["a b", "invalid char ' '"],
    ["a/é", "invalid char 'é'"],
    ["a/nul.go", `"nul" disallowed`],
    ["a/x~12", "trailing tilde and digits"],
  ];
  for (const [path, want] of cases) {
    const got = problem(() => checkImportPath(path));
    if (want === "") {
      assertEquals(got, "", path);
    } else {
      assertStringIncludes(got, `malformed import path ${goQuote(path)}: ${want}`, path);
    }
  }
});

// Zip entry names (spec §3, §7 item 27).
const FILE_PATH_CASES: [string, string][] = [
  ["go.mod", ""],
  ["a/b.go", ""],
  [".github/workflows/ci.yml", ""],
  ["-dash.go", ""],
  ["a/-dash", ""],
  ["a b.go", ""],
  ["x!#$%&()+,-.=@[]^_{}~.go", ""],
  ["ünïcödé.go", ""],
  ["日本語/ファイル.go", ""],
  ["ǅ.go", ""],
  ["ʰ.go", ""],
  ["𝒜.go", ""],
  ["con1.txt", ""],
  ["com10.go", ""],
  ["auxiliary.go", ""],
  ["foo~1.go", ""],
  ["LICENSE", ""],
  ["aux.go", `"aux" disallowed as path element component on Windows`],
  ["CON.txt", `"CON" disallowed`],
  ["dir/con.txt", `"con" disallowed`],
  ["nul", `"nul" disallowed`],
  ["Lpt1.c", `"Lpt1" disallowed`],
  ["com9/x.go", `"com9" disallowed`],
  ["a:b", "invalid char ':'"],
  ["x*", "invalid char '*'"],
  ["a?b", "invalid char '?'"],
  ['a"b', `invalid char '"'`],
  ["a'b", "invalid char '\\''"],
  ["a<b", "invalid char '<'"],
  ["a|b", "invalid char '|'"],
  ["a`b", "invalid char '`'"],
  ["a\\b", "invalid char '\\\\'"],
  ["tab\t.go", "invalid char '\\t'"],
  ["emoji😀.go", "invalid char '😀'"],
  ["e\u0301.go", "invalid char '\u0301'"],
  ["١٢٣.go", "invalid char '١'"],
  ["a\u00a0b", "invalid char"],
  ["\uD800.go", "invalid UTF-8"],
  ["a.", "trailing dot in path element"],
  ["a/b./c", "trailing dot in path element"],
  ["a/./b", `invalid path element "."`],
  ["a/../b", `invalid path element ".."`],
  ["../a", `invalid path element ".."`],
  ["...", `invalid path element "..."`],
  ["/abs", "empty path element"],
  ["a//b", "double slash"],
  ["a/", "trailing slash"],
  ["", "empty string"],
];

Deno.test("checkFilePath applies the zip file-name rules", () => {
  for (const [path, want] of FILE_PATH_CASES) {
    const got = problem(() => checkFilePath(path));
    if (want === "") {
      assertEquals(got, "", path);
    } else {
      assertStringIncludes(got, `malformed file path ${goQuote(path)}: `, path);
      assertStringIncludes(got, want, path);
    }
  }
});

Deno.test("splitPathVersion separates the major suffix", () => {
  const cases: [string, string, string, boolean][] = [
    ["example.com/m", "example.com/m", "", true],
    ["example.com/m/v2", "example.com/m", "/v2", true],
    ["example.com/m/v10", "example.com/m", "/v10", true],
    ["example.com/v2", "example.com", "/v2", true],
    ["example.com/m/v1", "example.com/m/v1", "", false],
    ["example.com/m/v0", "example.com/m/v0", "", false],
    ["example.com/m/v02", "example.com/m/v02", "", false],
    ["example.com/m/v1.2", "example.com/m/v1.2", "", false],
    ["example.com/m/v2.", "example.com/m/v2.", "", false],
    ["example.com/m/v", "example.com/m/v", "", true],
    ["example.com/m/xv2", "example.com/m/xv2", "", true],
    ["example.com/m.v2", "example.com/m.v2", "", true],
    ["v2", "v2", "", true],
    ["/v2", "", "/v2", true],
    ["gopkg.in/yaml.v2", "gopkg.in/yaml", ".v2", true],
    ["gopkg.in/yaml.v0", "gopkg.in/yaml", ".v0", true],
    ["gopkg.in/yaml.v1", "gopkg.in/yaml", ".v1", true],
    ["gopkg.in/user/pkg.v10", "gopkg.in/user/pkg", ".v10", true],
    ["gopkg.in/x.v2-unstable", "gopkg.in/x", ".v2-unstable", true],
    // Go lets a digit-less ".v-unstable" through; it then fits no version.
    ["gopkg.in/x.v-unstable", "gopkg.in/x", ".v-unstable", true],
    ["gopkg.in/x.v0-unstable", "gopkg.in/x.v0-unstable", "", false],
    ["gopkg.in/yaml", "gopkg.in/yaml", "", false],
    ["gopkg.in/yaml.v", "gopkg.in/yaml.v", "", false],
    ["gopkg.in/yaml.v02", "gopkg.in/yaml.v02", "", false],
    ["gopkg.in/yaml/v2", "gopkg.in/yaml/v2", "", false],
  ];
  for (const [path, prefix, pathMajor, ok] of cases) {
    assertEquals(splitPathVersion(path), { prefix, pathMajor, ok }, path);
  }
});

Deno.test("matchPathMajor and checkPathMajor fit versions to path suffixes", () => {
  // [version, pathMajor, fits]
  const cases: [string, string, boolean][] = [
    ["v0.1.0", "", true],
    ["v1.2.3", "", true],
    ["v0.0.0-20200101000000-abcdefabcdef", "", true],
    ["v2.0.0", "", false],
    ["v2.0.0+incompatible", "", true],
    ["v2.0.1-0.20200101000000-abcdefabcdef+incompatible", "", true],
    ["v10.0.0+incompatible", "", true],
    ["v2.0.0+meta", "", false],
    // cmd/go (coderepo) refuses +incompatible unless it is needed; x/mod alone accepts these.
    ["v1.0.0+incompatible", "", false],
    ["v0.1.0+incompatible", "", false],
    ["v2.0.0+incompatible", "/v2", false],
    ["v2.0.0+incompatible", ".v2", false],
    ["v2.0.0", "/v2", true],
    ["v2.3.4-pre", "/v2", true],
    ["v2.0.0-20200101000000-abcdefabcdef", "/v2", true],
    ["v1.2.3", "/v2", false],
    ["v3.0.0", "/v2", false],
    ["v0.0.0-20200101000000-abcdefabcdef", "/v2", false],
    ["v2.0.0", ".v2", true],
    ["v1.0.0", ".v1", true],
    ["v0.3.0", ".v0", true],
    ["v1.0.0", ".v0", false],
    ["v0.3.0", ".v1", false],
    // gopkg.in quirk (§2.2, §7 item 10).
    ["v0.0.0-20200101000000-abcdefabcdef", ".v1", true],
    ["v0.0.0-20200101000000-abcdefabcdef", ".v1-unstable", true],
    ["v0.0.0-20200101000000-abcdefabcdef", ".v2", false],
    ["v2.1.0", ".v2-unstable", true],
    ["v1.1.0", ".v2-unstable", false],
    ["v2.0.0", ".v-unstable", false],
    ["v2.0.0", "v2", false],
    ["junk", "", false],
    ["junk", "/v2", false],
  ];
  for (const [v, pathMajor, fits] of cases) {
    assertEquals(matchPathMajor(v, pathMajor), fits, `${v} ${pathMajor}`);
    assertEquals(problem(() => checkPathMajor(v, pathMajor)) === "", fits, `${v} ${pathMajor}`);
  }
  assertThrows(
    () => checkPathMajor("v1.2.3", "/v2"),
    ModPathError,
    `version "v1.2.3" invalid: should be v2, not v1`,
  );
  assertThrows(() => checkPathMajor("v2.0.0", ""), ModPathError, "should be v0 or v1, not v2");
  assertThrows(
    () => checkPathMajor("v1.0.0+incompatible", ""),
    ModPathError,
    "+incompatible suffix not allowed",
  );
});

Deno.test("matchPathMajorLax differs from matchPathMajor only in letting +incompatible through", () => {
  // [version, pathMajor, fits as x/mod's CheckPathMajor has it]
  const incompatible: [string, string, boolean][] = [
    ["v1.0.0+incompatible", "", true],
    ["v0.1.0+incompatible", "", true],
    ["v2.0.0+incompatible", "", true],
    ["v2.0.0+incompatible", "/v2", true],
    ["v2.0.0+incompatible", ".v2", true],
    ["v3.0.0+incompatible", "/v2", false],
    ["v1.0.0+incompatible", "/v2", false],
  ];
  for (const [v, pathMajor, fits] of incompatible) {
    assertEquals(matchPathMajorLax(v, pathMajor), fits, `${v} ${pathMajor}`);
  }
  const others = [
    ["v0.1.0", ""],
    ["v2.0.0", ""],
    ["v2.0.0+meta", ""],
    ["v2.0.0", "/v2"],
    ["v1.2.3", "/v2"],
    ["v0.0.0-20200101000000-abcdefabcdef", ".v1-unstable"],
    ["v2.1.0", ".v2-unstable"],
    ["v2.0.0", "v2"],
    ["junk", ""],
  ];
  for (const [v, pathMajor] of others) {
    assertEquals(
      matchPathMajorLax(v, pathMajor),
      matchPathMajor(v, pathMajor),
      `${v} ${pathMajor}`,
    );
  }
});

Deno.test("pathMajorPrefix names the major of a suffix and rejects malformed ones", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["/v2", "v2"],
    ["/v10", "v10"],
    [".v1", "v1"],
    [".v0", "v0"],
    [".v2-unstable", "v2"],
  ];
  for (const [pathMajor, want] of cases) assertEquals(pathMajorPrefix(pathMajor), want, pathMajor);
  for (const bad of ["v2", "/v2.1", "/x", ".v", "/v02", "/v2-unstable"]) {
    assertThrows(() => pathMajorPrefix(bad), ModPathError, goQuote(bad));
  }
});

Deno.test("escapePath and unescapePath round-trip the !-case-encoding", () => {
  // §7 items 1 and 2.
  const cases: [string, string][] = [
    ["github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"],
    ["github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"],
    ["example.com/M", "example.com/!m"],
    ["example.com/m", "example.com/m"],
    ["example.com/ABC/v2", "example.com/!a!b!c/v2"],
    ["gopkg.in/Yaml.v2", "gopkg.in/!yaml.v2"],
  ];
  for (const [path, escaped] of cases) {
    assertEquals(escapePath(path), escaped, path);
    assertEquals(unescapePath(escaped), path, escaped);
  }
});

Deno.test("escapePath refuses invalid module paths", () => {
  for (const bad of ["Example.com/m", "example.com/m/v1", "example.com/a!b", "example.com/é", ""]) {
    assertThrows(() => escapePath(bad), ModPathError, "malformed module path");
  }
});

Deno.test("unescapePath rejects bad escapes and paths that fail checkPath", () => {
  // §7 item 4.
  const cases: [string, string][] = [
    ["github.com/BurntSushi/toml", "invalid escaped module path"],
    ["github.com/!Burnt/toml", "invalid escaped module path"],
    ["github.com/!!burnt/toml", "invalid escaped module path"],
    ["github.com/!1/toml", "invalid escaped module path"],
    ["github.com/burnt/toml!", "invalid escaped module path"],
    ["github.com/!/toml", "invalid escaped module path"],
    ["example.com/é", "invalid escaped module path"],
    ["example.com/m/v1", "invalid version"],
    ["example.com/m/v02", "invalid version"],
    ["example.com/.x", "leading dot in path element"],
    ["!example.com/m", "invalid char 'E' in first path element"],
    ["example.com//m", "double slash"],
    ["", "empty string"],
  ];
  for (const [escaped, want] of cases) {
    const error = assertThrows(() => unescapePath(escaped), ModPathError, want);
    assertStringIncludes(error.message, goQuote(escaped));
  }
});

Deno.test("escapeVersion and unescapeVersion round-trip versions and queries", () => {
  const cases: [string, string][] = [
    ["v1.0.0-RC1", "v1.0.0-!r!c1"],
    ["v1.2.3", "v1.2.3"],
    ["v2.0.0+incompatible", "v2.0.0+incompatible"],
    ["v1.2.3+Meta", "v1.2.3+!meta"],
    ["main", "main"],
    ["Feature-X", "!feature-!x"],
    ["abc1234", "abc1234"],
    ["latest", "latest"],
    [".hidden", ".hidden"],
  ];
  for (const [v, escaped] of cases) {
    assertEquals(escapeVersion(v), escaped, v);
    assertEquals(unescapeVersion(escaped), v, escaped);
  }
});

Deno.test("escapeVersion refuses strings that cannot be a single file name", () => {
  for (const bad of ["", "feature/x", "v1!", "a:b", "v1.0.", "..", "aux", "né"]) {
    assertThrows(() => escapeVersion(bad), ModPathError, "disallowed version string");
  }
});

Deno.test("unescapeVersion rejects bad escapes and anything but one file-name element", () => {
  const cases: [string, string][] = [
    ["v1.0.0-RC1", "invalid escaped version"],
    ["v1.0.0-!R", "invalid escaped version"],
    ["v1.0.0-!1", "invalid escaped version"],
    ["v1.0.0!", "invalid escaped version"],
    ["v1.0.0-!!r", "invalid escaped version"],
    ["v1.0.0-é", "invalid escaped version"],
    ["feature/x", "invalid char '/'"],
    ["a/b/c", "invalid char '/'"],
    ["", "empty path element"],
    ["..", `invalid path element ".."`],
    ["v1.0.", "trailing dot in path element"],
    ["con", `"con" disallowed`],
    ["a:b", "invalid char ':'"],
    ["a*", "invalid char '*'"],
  ];
  for (const [escaped, want] of cases) {
    assertThrows(() => unescapeVersion(escaped), ModPathError, want);
  }
});

Deno.test("error messages quote hostile input without control characters", () => {
  const error = assertThrows(() => unescapeVersion("a\x00b\x7f\u0085"), ModPathError);
  assertStringIncludes(error.message, `"a\\x00b\\x7f\\u0085"`);
  assertEquals(/[\p{Cc}]/u.test(error.message), false, error.message);
  const fileError = assertThrows(() => checkFilePath("x\ny"), ModPathError);
  assertEquals(fileError.message, `malformed file path "x\\ny": invalid char '\\n'`);
});

Deno.test("pathMatch follows Go's path.Match", () => {
  // [pattern, name, matches]
  const cases: [string, string, boolean][] = [
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*", "abc", true],
    ["a*", "ab/c", false],
    ["a*/b", "abc/b", true],
    ["a*/b", "a/c/b", false],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
    ["a*b?c*x", "abxbbxdbxebxczzx", true],
    ["a*b?c*x", "abxbbxdbxebxczzy", false],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[e-g]", "abc", false],
    ["ab[^c]", "abc", false],
    ["ab[^b-d]", "abc", false],
    ["ab[^e-g]", "abc", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "ab", false],
    ["a?b", "a☺b", true],
    ["a[^a]b", "a☺b", true],
    ["a???b", "a☺b", false],
    ["a[^a][^a][^a]b", "a☺b", false],
    ["[a-ζ]*", "α", true],
    ["*[a-ζ]", "A", false],
    ["a?b", "a/b", false],
    ["a*b", "a/b", false],
    ["[\\]a]", "]", true],
    ["[\\-]", "-", true],
    ["[x\\-]", "x", true],
    ["[x\\-]", "-", true],
    ["[x\\-]", "z", false],
    ["[\\-x]", "x", true],
    ["[\\-x]", "a", false],
    ["[]a]", "]", false],
    ["[-]", "-", false],
    ["[x-]", "x", false],
    ["[-x]", "x", false],
    ["\\", "a", false],
    ["[a-b-c]", "a", false],
    ["[", "a", false],
    ["[^", "a", false],
    ["[^bc", "a", false],
    ["a[", "a", false],
    ["a[", "ab", false],
    ["a[", "x", false],
    ["a/b[", "x", false],
    ["*x", "xxx", true],
    ["*.corp.com", "git.corp.com", true],
    ["*.corp.com", "corp.com", false],
    ["", "", true],
    ["", "a", false],
    // Go commits to the shortest run before a chunk; a class that can match
    // "/" makes that observable.
    ["*a[^x]*c", "aaa/bc", false],
  ];
  for (const [pattern, name, want] of cases) {
    assertEquals(pathMatch(pattern, name), want, `pathMatch(${pattern}, ${name})`);
  }
});

Deno.test("matchPrefixPatterns matches globs against leading path elements", () => {
  // [globs, target, matches]
  const cases: [string, string, boolean][] = [
    ["*.corp.com", "git.corp.com/x/y", true],
    ["*.corp.com", "corp.com/x", false],
    ["corp.com/a", "corp.com/a", true],
    ["corp.com/a", "corp.com/a/b/c", true],
    ["corp.com/a", "corp.com/ab", false],
    ["corp.com/a", "corp.com", false],
    ["corp.com", "corp.com.evil.org/x", false],
    ["rsc.io/private", "rsc.io/private/quux", true],
    ["github.com/org/*", "github.com/org/repo/sub", true],
    ["github.com/org/*", "github.com/org", false],
    ["github.com/*/repo", "github.com/someone/repo/v2", true],
    ["github.com/org/", "github.com/org/repo", true],
    ["*/org", "github.com/org/repo", true],
    ["*", "anything.com/x", true],
    ["example.com", "example.com", true],
    ["", "example.com", false],
    [",", "example.com", false],
    [",,example.com,", "example.com/m", true],
    ["a.com,b.com", "b.com/m", true],
    ["a.com, b.com", "b.com/m", false],
    ["a.com,b.com", "c.com/m", false],
    ["[", "example.com", false],
    ["[,example.com", "example.com/x", true],
    ["Example.com", "example.com", false],
    ["example.?om", "example.com/x", true],
    ["example.[a-c]om", "example.com/x", true],
  ];
  for (const [globs, target, want] of cases) {
    assertEquals(matchPrefixPatterns(globs, target), want, `${globs} vs ${target}`);
  }
});
