import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { selectZipEntries, type TreeEntry, ZipRulesError } from "./zip_files.ts";

const file = (path: string, text = "x\n"): TreeEntry => ({
  path,
  type: "file",
  size: new TextEncoder().encode(text).byteLength,
});

/** The kept names; `goVersion` is the root go.mod's `go` line, as the caller reads it. */
const names = (files: TreeEntry[], goVersion = "") =>
  selectZipEntries(files, goVersion).map((f) => f.path);

Deno.test("nested modules, vendored packages, symlinks and .hg_archival.txt are left out", () => {
  assertEquals(
    names([
      file("go.mod", "module m\n\ngo 1.21\n"),
      file("a.go"),
      file("sub/go.mod"),
      file("sub/b.go"),
      file("x/GO.MOD"),
      file("x/c.go"),
      file("vendor/v.go"),
      file("vendor/modules.txt"),
      file("vendor/dep/d.go"),
      file("p/vendor/w.go"),
      file(".hg_archival.txt"),
      file("q/.hg_archival.txt"),
      { path: "link", type: "symlink", size: 4 },
      { path: "y/go.mod", type: "symlink", size: 9 },
      file("y/kept.go"),
    ], "1.21"),
    ["go.mod", "a.go", "vendor/v.go", "vendor/modules.txt", "q/.hg_archival.txt", "y/kept.go"],
  );
});

Deno.test("go 1.24 drops vendor/modules.txt and fixes the nested vendor offset", () => {
  assertEquals(
    names([
      file("go.mod", "module m\n\ngo 1.24\n"),
      file("vendor/modules.txt"),
      file("p/vendor/w.go"),
      file("p/vendor/dep/x.go"),
    ], "1.24"),
    ["go.mod", "p/vendor/w.go"],
  );
});

Deno.test("names that fold together only outside Go's simple folding do not collide", () => {
  // Dotless ı upper-cases to I, but Go's SimpleFold keeps it apart from i.
  assertEquals(names([file("i.go"), file("\u0131.go")]), ["i.go", "\u0131.go"]);
});

Deno.test("bad names, collisions, misspelled go.mod and oversize files make the tree unzippable", () => {
  const cases: [TreeEntry[], string][] = [
    [[file("aux.go")], "aux"],
    [[file("README"), file("readme")], "collision"],
    [[file("Dir/a"), file("dir")], "collision"],
    [[file("k.go"), file("\u212A.go")], "collision"], // KELVIN SIGN folds with k
    [[file("GO.MOD")], "lower-case go.mod"],
    [
      [{ path: "go.mod", type: "file", size: (16 << 20) + 1 }],
      "go.mod: go.mod file too large (max size is 16777216 bytes)",
    ],
    [
      [{ path: "LICENSE", type: "file", size: (16 << 20) + 1 }],
      "LICENSE: LICENSE file too large (max size is 16777216 bytes)",
    ],
  ];
  for (const [files, why] of cases) {
    const err = assertThrows(() => selectZipEntries(files, ""), ZipRulesError);
    assertStringIncludes(err.message, why);
  }
});

Deno.test("a tree over 500 MiB is refused from sizes alone, with x/mod/zip's reason first", () => {
  const err = assertThrows(
    () =>
      selectZipEntries([
        { path: "go.mod", type: "file", size: (16 << 20) + 1 },
        { path: "big.bin", type: "file", size: 500 << 20 },
      ], ""),
    ZipRulesError,
  );
  assertEquals(err.message, "module source tree too large (max size is 524288000 bytes)");
});

Deno.test("every path under a colliding directory is reported, not only the first", () => {
  const error = assertThrows(
    () => selectZipEntries([file("a"), file("A/b/c"), file("A/b/d"), file("e")], ""),
    ZipRulesError,
  );
  assertEquals((error as ZipRulesError).problems, [
    'case-insensitive file name collision: "a" and "A"',
    'case-insensitive file name collision: "a" and "A"',
  ]);
});
