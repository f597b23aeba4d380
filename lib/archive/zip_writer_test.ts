import { crc32 } from "node:zlib";
import { writeZip, type ZipWriteEntry } from "./zip_writer.ts";
import { bytesAccess } from "./random_access.ts";
import { openZipEntry, readZipEntries, ZipError } from "./zip_reader.ts";
import { checkModuleZip, escapePath, escapeVersion, hashGoMod, hashZip } from "../mod/mod.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";

const enc = new TextEncoder();
const GO = "/usr/local/go/bin/go";

async function zipOf(
  entries: AsyncIterable<ZipWriteEntry> | Iterable<ZipWriteEntry>,
  forceZip64 = false,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(writeZip(entries, { forceZip64 })).arrayBuffer());
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const hasGo = await exists(GO);
const hasUnzip = await exists("/usr/bin/unzip");

/** Files of a module with names that exercise sorting and case: non-BMP letters, upper case, nesting. */
function sampleFiles(prefix: string): ZipWriteEntry[] {
  const text = (s: string) => enc.encode(s);
  return [
    { name: prefix + "go.mod", data: text("module example.com/m\n\ngo 1.21\n") },
    { name: prefix + "m.go", data: text("package m\n") },
    { name: prefix + "README", data: text("read me\n".repeat(200)) },
    { name: prefix + "LICENSE", data: text("") },
    { name: prefix + "Ａ/Ａ.go", data: text("package a\n") },
    { name: prefix + "𝒜/𝒜.go", data: text("package a\n") },
    { name: prefix + "é/ü/ö.go", data: text("package o\n") },
    {
      name: prefix + "deep/er/and/deeper/x.go",
      data: crypto.getRandomValues(new Uint8Array(5000)),
    },
    { name: prefix + "Upper/Case.go", data: text("package upper\n") },
    { name: prefix + ".github/workflows/ci.yml", data: text("on: push\n") },
  ];
}

Deno.test("writeZip round-trips through readZipEntries and openZipEntry", async () => {
  const entries = sampleFiles("example.com/m@v1.0.0/");
  for (const forceZip64 of [false, true]) {
    const src = bytesAccess(await zipOf(entries, forceZip64));
    const read = await readZipEntries(src);
    assertEquals(read.map((e) => e.name), entries.map((e) => e.name));
    for (const [i, entry] of read.entries()) {
      const data = new Uint8Array(await new Response(openZipEntry(src, entry)).arrayBuffer());
      assertEquals(data, entries[i].data, entry.name);
      assertEquals(entry.crc32, crc32(data));
      assertEquals(entry.uncompressedSize, data.length);
    }
    assertEquals(
      (await checkModuleZip(src, "example.com/m", "v1.0.0")).length,
      entries.length,
    );
  }
});

Deno.test("writeZip deflates what compresses and stores what does not", async () => {
  const random = crypto.getRandomValues(new Uint8Array(1000));
  const src = bytesAccess(
    await zipOf([
      { name: "m@v1.0.0/text", data: enc.encode("go ".repeat(1000)) },
      { name: "m@v1.0.0/random", data: random },
      { name: "m@v1.0.0/empty", data: new Uint8Array() },
    ]),
  );
  const [text, rand, empty] = await readZipEntries(src);
  assertEquals([text.method, rand.method, empty.method], [8, 0, 0]);
  assert(text.compressedSize < 100, `deflated to ${text.compressedSize}`);
  assertEquals(rand.compressedSize, 1000);
});

Deno.test("writeZip is deterministic and takes async iterables", async () => {
  const entries = sampleFiles("example.com/m@v1.0.0/");
  async function* one_by_one() {
    for (const e of entries) {
      await Promise.resolve();
      yield e;
    }
  }
  assertEquals(await zipOf(entries), await zipOf(one_by_one()));
});

Deno.test("writeZip writes an empty zip", async () => {
  const zip = await zipOf([]);
  assertEquals(zip.length, 22);
  assertEquals(await readZipEntries(bytesAccess(zip)), []);
});

Deno.test("writeZip refuses directory entries and unnamed files", async () => {
  for (const name of ["m@v1.0.0/dir/", "m@v1.0.0/", ""]) {
    await assertRejects(
      () => zipOf([{ name, data: new Uint8Array() }]),
      TypeError,
      "directories are not written",
    );
  }
  await assertRejects(
    () => zipOf([{ name: "x".repeat(70_000), data: new Uint8Array() }]),
    TypeError,
    "too long",
  );
});

Deno.test("writeZip output passes unzip -t", { ignore: !hasUnzip }, async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const forceZip64 of [false, true]) {
      const path = `${dir}/m-${forceZip64}.zip`;
      await Deno.writeFile(path, await zipOf(sampleFiles("example.com/m@v1.0.0/"), forceZip64));
      const out = await new Deno.Command("/usr/bin/unzip", { args: ["-t", path] }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert(out.success, text + new TextDecoder().decode(out.stderr));
      assertStringIncludes(text, "No errors detected");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface GoDownload {
  Sum?: string;
  GoModSum?: string;
  Error?: string;
}

/**
 * Serves one module version from a GOPROXY file tree and lets the go command
 * download it into a fresh module cache, which verifies and unzips the zip
 * and prints its h1 sums.
 */
async function goDownload(
  path: string,
  version: string,
  mod: Uint8Array,
  zip: Uint8Array,
): Promise<GoDownload> {
  const tmp = await Deno.makeTempDir({ prefix: "astera-go-" });
  const env = {
    GOPROXY: `file://${tmp}/proxy`,
    GOSUMDB: "off",
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: "local",
    GOMODCACHE: `${tmp}/modcache`,
    GOPATH: `${tmp}/gopath`,
    GOCACHE: `${tmp}/gocache`,
    GOENV: "off",
    GOWORK: "off",
    GONOSUMDB: "",
    GOPRIVATE: "",
    GOINSECURE: "",
    // Not under tmp: go may spawn a telemetry process that writes there after tmp is removed.
    HOME: "/dev/null",
  };
  try {
    const v = `${tmp}/proxy/${escapePath(path)}/@v`;
    await Deno.mkdir(v, { recursive: true });
    await Deno.mkdir(`${tmp}/work`);
    const base = `${v}/${escapeVersion(version)}`;
    await Deno.writeTextFile(`${v}/list`, `${version}\n`);
    await Deno.writeTextFile(
      `${base}.info`,
      JSON.stringify({ Version: version, Time: "2024-01-01T00:00:00Z" }),
    );
    await Deno.writeFile(`${base}.mod`, mod);
    await Deno.writeFile(`${base}.zip`, zip);
    const out = await new Deno.Command(GO, {
      args: ["mod", "download", "-json", `${path}@${version}`],
      cwd: `${tmp}/work`,
      env,
      clearEnv: true,
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (stdout.trim() === "") {
      throw new Error(`go mod download printed nothing: ${new TextDecoder().decode(out.stderr)}`);
    }
    return JSON.parse(stdout) as GoDownload;
  } finally {
    // The module cache is read-only; go knows how to remove it.
    await new Deno.Command(GO, { args: ["clean", "-modcache"], env, clearEnv: true }).output();
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("go accepts writeZip's module zips and computes the same h1 sums", {
  ignore: !hasGo,
}, async () => {
  const cases: [string, string, boolean][] = [
    ["example.com/m", "v1.0.0", false],
    ["example.com/m", "v1.0.0", true],
    ["example.com/Upper/Mod", "v0.1.0-pre", false],
  ];
  for (const [path, version, forceZip64] of cases) {
    const prefix = `${path}@${version}/`;
    const files = sampleFiles(prefix);
    const mod = enc.encode(`module ${path}\n\ngo 1.21\n`);
    files[0] = { name: prefix + "go.mod", data: mod };
    const zip = await zipOf(files, forceZip64);
    const got = await goDownload(path, version, mod, zip);
    const what = `${path}@${version}${forceZip64 ? " (ZIP64)" : ""}`;
    assertEquals(got.Error, undefined, what);
    assertEquals(got.Sum, await hashZip(bytesAccess(zip)), what);
    assertEquals(got.GoModSum, await hashGoMod(mod), what);
  }
});

Deno.test("checkModuleZip agrees with go about which zips are valid", {
  ignore: !hasGo,
}, async () => {
  const p = "example.com/m@v1.0.0/";
  const mod = enc.encode("module example.com/m\n");
  const file = (name: string, text = "package m\n") => ({ name, data: enc.encode(text) });
  const cases: [string, ZipWriteEntry[]][] = [
    ["valid", [file(p + "go.mod", "module example.com/m\n"), file(p + "a.go")]],
    ["no go.mod", [file(p + "a.go")]],
    ["Windows name", [file(p + "aux.go")]],
    ["case collision", [file(p + "README"), file(p + "readme")]],
    ["non-ASCII case collision", [file(p + "Ä/a.go"), file(p + "ä/b.go")]],
    ["file/dir clash", [file(p + "a"), file(p + "a/b.go")]],
    ["nested go.mod", [file(p + "sub/go.mod", "module example.com/m/sub\n")]],
    ["root GO.MOD", [file(p + "GO.MOD", "module example.com/m\n")]],
    ["bad prefix", [file("example.com/m@v1.0.1/a.go")]],
    ["duplicate", [file(p + "a.go"), file(p + "a.go")]],
    ["symbol in name", [file(p + "a☺.go")]],
    ["long s folds with s", [file(p + "ſ.go"), file(p + "s.go")]],
    ["Kelvin sign folds with k", [file(p + "\u212a.go"), file(p + "k.go")]],
    ["final sigma folds with sigma", [file(p + "ς.go"), file(p + "σ.go")]],
    ["title case folds", [file(p + "ǅ.go"), file(p + "ǆ.go")]],
    ["dotless i does not fold with i", [file(p + "ı.go"), file(p + "I.go")]],
    ["sharp s does not fold with ss", [file(p + "ß.go"), file(p + "ss.go")]],
  ];
  for (const [what, entries] of cases) {
    const zip = await zipOf(entries);
    const got = await goDownload("example.com/m", "v1.0.0", mod, zip);
    let ours: string | undefined;
    try {
      await checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0");
    } catch (error) {
      if (!(error instanceof ZipError)) throw error;
      ours = error.message;
    }
    assertEquals(
      ours === undefined,
      got.Error === undefined,
      `${what}: go says ${got.Error ?? "ok"}, checkModuleZip says ${ours ?? "ok"}`,
    );
  }
});

/** The same files with every other one given as a stream of small pieces. */
function streamed(entries: ZipWriteEntry[]): ZipWriteEntry[] {
  return entries.map((e, i) => {
    if (i % 2 === 1 || !(e.data instanceof Uint8Array)) return e;
    const data = e.data;
    return {
      name: e.name,
      data: (async function* () {
        for (let at = 0; at < data.length; at += 333) yield data.slice(at, at + 333);
      })(),
    };
  });
}

Deno.test("streamed files round-trip, pass unzip -t and go, with and without ZIP64", {
  ignore: !hasGo || !hasUnzip,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const forceZip64 of [false, true]) {
      const prefix = "example.com/m@v1.0.0/";
      // One file spans several of the compressor's batches.
      const big = new Uint8Array(2_500_000).map((_, i) => (i * 7919) % 253);
      const whole = [...sampleFiles(prefix), { name: prefix + "big.bin", data: big }];
      const zip = await zipOf(streamed(whole), forceZip64);
      const src = bytesAccess(zip);
      const read = await readZipEntries(src);
      assertEquals(read.map((e) => e.name), whole.map((e) => e.name));
      for (const [i, entry] of read.entries()) {
        const data = new Uint8Array(await new Response(openZipEntry(src, entry)).arrayBuffer());
        assertEquals(data, whole[i].data, entry.name);
      }
      await checkModuleZip(src, "example.com/m", "v1.0.0");
      const path = `${dir}/m-${forceZip64}.zip`;
      await Deno.writeFile(path, zip);
      const out = await new Deno.Command("/usr/bin/unzip", { args: ["-t", path] }).output();
      assert(out.success, new TextDecoder().decode(out.stdout));
      const mod = whole[0].data as Uint8Array;
      const got = await goDownload("example.com/m", "v1.0.0", mod, zip);
      assertEquals(got.Error, undefined);
      assertEquals(got.Sum, await hashZip(bytesAccess(await zipOf(whole))));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an error from a streamed file ends the zip with that error", async () => {
  const failure = new RangeError("file too large");
  const entries: ZipWriteEntry[] = [{
    name: "m@v1.0.0/big",
    data: (async function* () {
      yield new Uint8Array(10);
      throw failure;
    })(),
  }];
  const err = await assertRejects(() => zipOf(entries), RangeError);
  assertEquals(err, failure);
});
