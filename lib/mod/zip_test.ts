import { bytesAccess, type RandomAccess, ZipError } from "../archive/mod.ts";
import { checkModuleZip, MAX_GO_MOD } from "./zip.ts";
import { type RawEntry, rawZip } from "../../tests/raw_zip.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";

const enc = new TextEncoder();
const P = "example.com/m@v1.0.0/";

Deno.test("checkModuleZip accepts a module zip and returns its files", async () => {
  const zip = rawZip([
    { name: "example.com/m@v1.0.0/" },
    { name: P + "go.mod", body: enc.encode("module example.com/m\n") },
    { name: P + "LICENSE", body: enc.encode("license") },
    { name: P + "sub/" },
    { name: P + "sub/" }, // go tolerates a repeated directory
    { name: P + "sub/x.go", body: enc.encode("package sub\n") },
    { name: P + "sub/GO.MOD.txt" },
    { name: P + ".github/ünïcode (1).go" },
    { name: P + "𝒜/Ａ.go" },
  ]);
  const files = await checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0");
  assertEquals(files.map((f) => f.name), [
    P + "go.mod",
    P + "LICENSE",
    P + "sub/x.go",
    P + "sub/GO.MOD.txt",
    P + ".github/ünïcode (1).go",
    P + "𝒜/Ａ.go",
  ]);
});

Deno.test("checkModuleZip accepts major-version and +incompatible modules", async () => {
  const cases: [string, string][] = [
    ["example.com/m/v2", "v2.1.0"],
    ["example.com/m", "v3.0.0+incompatible"],
    ["gopkg.in/yaml.v2", "v2.4.0"],
    ["example.com/m", "v0.0.0-20200101000000-abcdefabcdef"],
  ];
  for (const [path, version] of cases) {
    const zip = rawZip([{ name: `${path}@${version}/x.go` }]);
    assertEquals((await checkModuleZip(bytesAccess(zip), path, version)).length, 1);
  }
});

Deno.test("checkModuleZip rejects what the go command would refuse to unzip", async () => {
  const cases: [string, RawEntry[], string][] = [
    ["missing prefix", [{ name: "a.go" }], "path does not have prefix"],
    ["other version", [{ name: "example.com/m@v1.0.1/a.go" }], "path does not have prefix"],
    ["other module", [{ name: "example.com/mm@v1.0.0/a.go" }], "path does not have prefix"],
    ["Windows device name", [{ name: P + "aux.go" }], "aux"],
    ["nested device name", [{ name: P + "sub/con.txt" }], "con"],
    ["invalid character", [{ name: P + "a:b.go" }], "malformed file path"],
    ["trailing dot", [{ name: P + "a." }], "malformed file path"],
    ["dot dot", [{ name: P + "../a.go" }], "not clean"],
    ["double slash", [{ name: P + "a//b.go" }], "not clean"],
    ["bare slash", [{ name: P + "/" }], "not clean"],
    ["case collision", [{ name: P + "README" }, { name: P + "readme" }], "collision"],
    ["case collision of directories", [{ name: P + "Sub/a" }, { name: P + "sub/b" }], "collision"],
    ["non-ASCII case collision", [{ name: P + "Ä.go" }, { name: P + "ä.go" }], "collision"],
    ["duplicate file", [{ name: P + "a.go" }, { name: P + "a.go" }], "multiple entries"],
    [
      "file then directory",
      [{ name: P + "a" }, { name: P + "a/b.go" }],
      "both a file and a directory",
    ],
    [
      "directory then file",
      [{ name: P + "a/b.go" }, { name: P + "a" }],
      "both a file and a directory",
    ],
    ["directory entry then file", [{ name: P + "a/" }, { name: P + "a" }], "both"],
    ["nested go.mod", [{ name: P + "sub/go.mod" }], "go.mod file not in module root directory"],
    ["nested GO.MOD", [{ name: P + "sub/GO.MOD" }], "not in module root"],
    ["root GO.MOD", [{ name: P + "GO.MOD" }], "lowercase"],
    ["unsupported method", [{ name: P + "a.go", method: 14 }], "compression method 14"],
    ["oversize go.mod", [{ name: P + "go.mod", size: MAX_GO_MOD + 1 }], "go.mod file too large"],
    ["oversize LICENSE", [{ name: P + "LICENSE", size: (16 << 20) + 1 }], "LICENSE file too large"],
    [
      "oversize total",
      [{ name: P + "a", size: 300 << 20 }, { name: P + "b", size: 300 << 20 }],
      "total uncompressed size",
    ],
  ];
  for (const [what, entries, reason] of cases) {
    const error = await assertRejects(
      () => checkModuleZip(bytesAccess(rawZip(entries)), "example.com/m", "v1.0.0"),
      ZipError,
    );
    assertStringIncludes(error.message, reason, `${what}: ${error.message}`);
    assertStringIncludes(error.message, "example.com/m@v1.0.0: ", what);
  }
});

Deno.test("checkModuleZip names the offending entry", async () => {
  const zip = rawZip([{ name: P + "ok.go" }, { name: P + "internal/aux.go" }]);
  await assertRejects(
    () => checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0"),
    ZipError,
    `"${P}internal/aux.go"`,
  );
});

Deno.test("checkModuleZip accepts go.mod and LICENSE at exactly the limits", async () => {
  const zip = rawZip([
    { name: P + "go.mod", size: MAX_GO_MOD },
    { name: P + "LICENSE", size: 16 << 20 },
    { name: P + "sub/LICENSE", size: 32 << 20 }, // the limit is for the root LICENSE only
  ]);
  assertEquals((await checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0")).length, 3);
});

Deno.test("checkModuleZip rejects bad module paths, versions and oversize zips", async () => {
  const zip = bytesAccess(rawZip([{ name: P + "a.go" }]));
  const cases: [string, string, RandomAccess, string][] = [
    ["example.com/m", "v1.0", zip, "not canonical"],
    ["example.com/m", "v1.0.0+meta", zip, "not canonical"],
    ["example.com/m", "latest", zip, "not canonical"],
    ["Example..com/m", "v1.0.0", zip, "malformed module path"],
    ["example.com/m/v2", "v1.0.0", zip, "should be v2"],
    ["example.com/m", "v2.0.0", zip, "v2"],
    ["example.com/m", "v1.0.0", {
      size: (500 << 20) + 1,
      read: () => Promise.reject(new Error("must not be read")),
    }, "module zip file is too large"],
    ["example.com/m", "v1.0.0", bytesAccess(new Uint8Array(10)), "too short"],
  ];
  for (const [path, version, src, reason] of cases) {
    const error = await assertRejects(() => checkModuleZip(src, path, version), ZipError);
    assertStringIncludes(error.message, reason, `${path}@${version}: ${error.message}`);
  }
});
