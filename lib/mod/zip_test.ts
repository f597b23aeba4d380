import { crc32, deflateRawSync } from "node:zlib";
import {
  bytesAccess,
  checkModuleZip,
  checkZipContent,
  fileAccess,
  MAX_GO_MOD,
  openZipEntry,
  type RandomAccess,
  readZipEntries,
  ZipError,
} from "./zip.ts";
import { writeZip } from "../archive/zip_writer.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";

const enc = new TextEncoder();

/** An entry for {@linkcode rawZip}: whatever bytes and headers a test needs, valid or not. */
interface RawEntry {
  name: string | Uint8Array;
  /** The bytes stored in the zip (already compressed when `method` is 8). */
  body?: Uint8Array;
  method?: number;
  /** Declared uncompressed size; the body's length unless given. */
  size?: number;
  /** Declared CRC-32; that of the body unless given. */
  crc?: number;
  flags?: number;
  localSignature?: number;
}

/**
 * Builds a zip by hand, independently of zipwrite.ts, so that tests can both
 * cross-check the reader and make malformed zips.
 */
function rawZip(
  entries: RawEntry[],
  options: { comment?: string; declaredCount?: number } = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === "string" ? enc.encode(e.name) : e.name;
    const body = e.body ?? new Uint8Array();
    const crc = e.crc ?? crc32(body);
    const size = e.size ?? body.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, e.localSignature ?? 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, e.flags ?? 0, true);
    lv.setUint16(8, e.method ?? 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, e.flags ?? 0, true);
    cv.setUint16(10, e.method ?? 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const comment = enc.encode(options.comment ?? "");
  const end = new Uint8Array(22 + comment.length);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  const count = options.declaredCount ?? entries.length;
  ev.setUint16(8, count, true);
  ev.setUint16(10, count, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  ev.setUint16(20, comment.length, true);
  end.set(comment, 22);
  return concat([...parts, ...central, end]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function written(entries: { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  return new Uint8Array(await new Response(writeZip(entries)).arrayBuffer());
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Where the central directory of a zip without a comment starts. */
function centralOffset(zip: Uint8Array): number {
  return new DataView(zip.buffer, zip.byteOffset).getUint32(zip.length - 22 + 16, true);
}

/** Counts the bytes read through a source. */
function counting(src: RandomAccess): RandomAccess & { bytesRead: number } {
  const counted = {
    size: src.size,
    bytesRead: 0,
    read(offset: number, length: number) {
      counted.bytesRead += length;
      return src.read(offset, length);
    },
  };
  return counted;
}

const P = "example.com/m@v1.0.0/";

Deno.test("bytesAccess returns views and rejects reads outside the bytes", async () => {
  const src = bytesAccess(enc.encode("hello"));
  assertEquals(src.size, 5);
  assertEquals(await src.read(1, 3), enc.encode("ell"));
  assertEquals(await src.read(5, 0), new Uint8Array());
  for (const [offset, length] of [[4, 2], [-1, 1], [0, -1], [0.5, 1]]) {
    await assertRejects(() => src.read(offset, length), RangeError);
  }
});

Deno.test("fileAccess serves concurrent reads each with its own bytes", async () => {
  const path = await Deno.makeTempFile();
  try {
    const data = new Uint8Array(100_000).map((_, i) => i * 7);
    await Deno.writeFile(path, data);
    using file = await Deno.open(path);
    const src = fileAccess(file, data.length);
    const ranges = Array.from({ length: 50 }, (_, i) => [i * 1999, 1000 + i] as const);
    const got = await Promise.all(ranges.map(([o, n]) => src.read(o, n)));
    ranges.forEach(([o, n], i) => assertEquals(got[i], data.slice(o, o + n)));
    await assertRejects(() => src.read(99_999, 2), RangeError);
    // A file shorter than its declared size fails the read, not later ones.
    const longer = fileAccess(file, data.length + 10);
    await assertRejects(() => longer.read(data.length, 10), Deno.errors.UnexpectedEof);
    assertEquals(await longer.read(0, 3), data.slice(0, 3));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readZipEntries lists entries of a hand-built zip, with and without a comment", async () => {
  const content = enc.encode("hello, hello, hello, hello\n");
  for (const comment of ["", "a comment PK\x05\x06 mentioning the signature", "x".repeat(65535)]) {
    const zip = rawZip([
      { name: P + "a.txt", body: content },
      { name: P + "d/", body: new Uint8Array() },
      {
        name: P + "d/b.txt",
        body: deflateRawSync(content),
        method: 8,
        size: content.length,
        crc: crc32(content),
      },
    ], { comment });
    const src = bytesAccess(zip);
    const entries = await readZipEntries(src);
    assertEquals(entries.map((e) => [e.name, e.method, e.uncompressedSize]), [
      [P + "a.txt", 0, content.length],
      [P + "d/", 0, 0],
      [P + "d/b.txt", 8, content.length],
    ]);
    assertEquals(entries[1].localHeaderOffset, 30 + (P + "a.txt").length + content.length);
    assertEquals(await readAll(openZipEntry(src, entries[0])), content);
    assertEquals(await readAll(openZipEntry(src, entries[1])), new Uint8Array());
    assertEquals(await readAll(openZipEntry(src, entries[2])), content);
  }
});

Deno.test("readZipEntries reads an empty zip", async () => {
  assertEquals(await readZipEntries(bytesAccess(rawZip([]))), []);
});

Deno.test("readZipEntries rejects malformed zips with a reason", async () => {
  const good = rawZip([{ name: P + "a.go", body: enc.encode("package a\n") }, {
    name: P + "b.go",
    body: enc.encode("package a\n"),
  }]);
  const cd = centralOffset(good);
  const patched = (at: number, bytes: number[]): Uint8Array => {
    const copy = good.slice();
    copy.set(bytes, at);
    return copy;
  };
  const cases: [string, Uint8Array, string][] = [
    ["empty file", new Uint8Array(), "too short"],
    ["no end record", new Uint8Array(1000), "end of central directory record not found"],
    ["truncated tail", good.subarray(0, good.length - 10), "not found"],
    ["truncated head", good.subarray(40), "overlaps its end record"],
    ["bad central signature", patched(cd, [0, 0, 0, 0]), "bad central directory header signature"],
    ["directory past its end record", patched(good.length - 6, [0xff, 0, 0, 0]), "overlaps"],
    ["count too high", rawZip([{ name: P + "a" }], { declaredCount: 2 }), "declares 2 entries"],
    [
      "count too low",
      rawZip([{ name: P + "a" }, { name: P + "b" }], { declaredCount: 1 }),
      "holds 2",
    ],
    [
      "name past the directory",
      patched(cd + 28, [0xff, 0x00]),
      "truncated central directory header",
    ],
    ["local header out of range", patched(cd + 42, [0, 0, 0, 0x10]), "out of range"],
    [
      "compressed size out of range",
      patched(cd + 20, [0xff, 0xff, 0, 0]),
      "out of range",
    ],
    [
      "ZIP64 marker without extra field",
      patched(cd + 24, [0xff, 0xff, 0xff, 0xff]),
      "missing ZIP64 extra field",
    ],
    [
      "name not UTF-8",
      rawZip([{ name: new Uint8Array([0x61, 0xff, 0x62]) }]),
      "not valid UTF-8",
    ],
  ];
  for (const [what, zip, reason] of cases) {
    const error = await assertRejects(() => readZipEntries(bytesAccess(zip)), ZipError);
    assertStringIncludes(error.message, reason, `${what}: ${error.message}`);
  }
});

Deno.test("readZipEntries caps the central directory and the entry count", async () => {
  const zip = rawZip(Array.from({ length: 10 }, (_, i) => ({ name: `${P}f${i}` })));
  await assertRejects(
    () => readZipEntries(bytesAccess(zip), { maxCentralDirectorySize: 100 }),
    ZipError,
    "exceeds limit 100",
  );
  await assertRejects(
    () => readZipEntries(bytesAccess(zip), { maxEntries: 9 }),
    ZipError,
    "exceed limit 9",
  );
  assertEquals((await readZipEntries(bytesAccess(zip), { maxEntries: 10 })).length, 10);
});

Deno.test("readZipEntries reads ZIP64 records and extra fields", async () => {
  const data = enc.encode("package a\n");
  const zip = new Uint8Array(
    await new Response(writeZip([{ name: P + "a.go", data }, { name: P + "b.go", data }], {
      forceZip64: true,
    })).arrayBuffer(),
  );
  const src = bytesAccess(zip);
  const entries = await readZipEntries(src);
  assertEquals(entries.map((e) => e.name), [P + "a.go", P + "b.go"]);
  assertEquals(await readAll(openZipEntry(src, entries[1])), data);
  // A ZIP64 locator pointing outside the file is an error, not a fallback.
  const bad = zip.slice();
  const locator = bad.length - 22 - 20;
  bad.set([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0], locator + 8);
  await assertRejects(() => readZipEntries(bytesAccess(bad)), ZipError, "out of range");
});

Deno.test("readZipEntries reads a zip written by Info-ZIP", {
  ignore: !(await hasCommand("zip")),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/m/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/m/a.go`, "package m\n".repeat(50));
    await Deno.writeTextFile(`${dir}/m/sub/b.go`, "package sub\n");
    const out = await new Deno.Command("zip", {
      args: ["-q", "-r", "-X", `${dir}/out.zip`, "m"],
      cwd: dir,
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const src = bytesAccess(await Deno.readFile(`${dir}/out.zip`));
    const entries = await readZipEntries(src);
    assertEquals(entries.map((e) => e.name).sort(), ["m/", "m/a.go", "m/sub/", "m/sub/b.go"]);
    const a = entries.find((e) => e.name === "m/a.go")!;
    assertEquals(
      new TextDecoder().decode(await readAll(openZipEntry(src, a))),
      "package m\n".repeat(50),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function hasCommand(name: string): Promise<boolean> {
  try {
    return (await new Deno.Command(name, { args: ["-v"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

Deno.test("openZipEntry streams large content in bounded chunks", async () => {
  const random = crypto.getRandomValues(new Uint8Array(60_000));
  const big = concat(Array.from({ length: 20 }, () => random)); // 1.2 MB, deflates ~20×
  const zeros = new Uint8Array(5 << 20);
  const zip = await written([{ name: P + "big", data: big }, { name: P + "zeros", data: zeros }]);
  const src = bytesAccess(zip);
  for (
    const [entry, want] of (await readZipEntries(src)).map((e, i) => [e, [big, zeros][i]] as const)
  ) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of openZipEntry(src, entry)) chunks.push(chunk);
    assert(chunks.every((c) => c.length <= 64 << 10), "chunks of at most 64 KiB");
    assertEquals(concat(chunks), want);
  }
});

Deno.test("openZipEntry stops a zip bomb at its declared size", async () => {
  const content = new Uint8Array(64 << 20);
  const body = deflateRawSync(content);
  const zip = rawZip([{ name: P + "bomb", body, method: 8, size: 1024, crc: crc32(content) }]);
  const src = counting(bytesAccess(zip));
  const [entry] = await readZipEntries(src);
  const before = src.bytesRead;
  await assertRejects(
    () => readAll(openZipEntry(src, entry)),
    ZipError,
    "larger than its declared size of 1024 bytes",
  );
  // Only the first few input chunks of the ~64 KB of deflate data were read.
  assert(src.bytesRead - before < 40_000, `read ${src.bytesRead - before} bytes`);
});

Deno.test("openZipEntry rejects content that disagrees with its headers", async () => {
  const content = enc.encode("package a\n".repeat(20));
  const deflated = deflateRawSync(content);
  const crc = crc32(content);
  const cases: [string, RawEntry, string][] = [
    ["deflated shorter than declared", {
      name: P + "a",
      body: deflated,
      method: 8,
      size: content.length + 1,
      crc,
    }, `content of ${content.length} bytes, declared ${content.length + 1}`],
    ["truncated deflate data", {
      name: P + "a",
      body: deflated.subarray(0, deflated.length - 4),
      method: 8,
      size: content.length,
      crc,
    }, "declared"],
    [
      "stored size mismatch",
      { name: P + "a", body: content, size: content.length - 1 },
      "declares",
    ],
    ["wrong CRC", { name: P + "a", body: content, crc: crc ^ 1 }, "CRC-32 mismatch"],
    ["zero CRC with a data descriptor", { name: P + "a", body: content, crc: 0, flags: 8 }, "CRC"],
    ["unknown method", { name: P + "a", body: content, method: 12 }, "unsupported compression"],
    ["encrypted", { name: P + "a", body: content, flags: 1 }, "encrypted"],
    ["bad local signature", { name: P + "a", body: content, localSignature: 0 }, "local header"],
    ["directory with content", { name: P + "d/", body: content }, "directory entry has content"],
    ["corrupt deflate data", {
      name: P + "a",
      body: new Uint8Array([0xff, 0xff, 0xff]),
      method: 8,
      size: 3,
    }, "bad deflate data"],
  ];
  for (const [what, raw, reason] of cases) {
    const src = bytesAccess(rawZip([raw]));
    const [entry] = await readZipEntries(src);
    const error = await assertRejects(() => readAll(openZipEntry(src, entry)), ZipError);
    assertStringIncludes(error.message, reason, `${what}: ${error.message}`);
  }
});

Deno.test("openZipEntry trusts a zero CRC without a data descriptor, as go does", async () => {
  const src = bytesAccess(rawZip([{ name: P + "a", body: enc.encode("x"), crc: 0 }]));
  const [entry] = await readZipEntries(src);
  assertEquals(await readAll(openZipEntry(src, entry)), enc.encode("x"));
});

Deno.test("openZipEntry reads a zip through fileAccess", async () => {
  const path = await Deno.makeTempFile();
  try {
    const data = enc.encode("package m\n".repeat(10_000));
    await Deno.writeFile(path, await written([{ name: P + "m.go", data }]));
    using file = await Deno.open(path);
    const src = fileAccess(file, (await file.stat()).size);
    const [entry] = await readZipEntries(src);
    assertEquals(await readAll(openZipEntry(src, entry)), data);
  } finally {
    await Deno.remove(path);
  }
});

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

Deno.test("checkZipContent checks small deflated entries as openZipEntry does, and lets timers run", async () => {
  const content = enc.encode("package a\n".repeat(20));
  const deflated = deflateRawSync(content);
  const crc = crc32(content);
  const cases: [string, RawEntry, string][] = [
    ["shorter than declared", {
      name: P + "a",
      body: deflated,
      method: 8,
      size: content.length + 1,
      crc,
    }, `content of ${content.length} bytes, declared ${content.length + 1}`],
    ["longer than declared", { name: P + "a", body: deflated, method: 8, size: 10, crc }, "larger"],
    ["truncated", {
      name: P + "a",
      body: deflated.subarray(0, deflated.length - 4),
      method: 8,
      size: content.length,
      crc,
    }, "declared"],
    [
      "wrong CRC",
      { name: P + "a", body: deflated, method: 8, size: content.length, crc: crc ^ 1 },
      "CRC-32 mismatch",
    ],
    [
      "corrupt",
      { name: P + "a", body: new Uint8Array([0xff, 0xff, 0xff]), method: 8, size: 3 },
      "bad deflate data",
    ],
    [
      "encrypted",
      { name: P + "a", body: deflated, method: 8, size: content.length, crc, flags: 1 },
      "encrypted",
    ],
  ];
  for (const [what, raw, reason] of cases) {
    const src = bytesAccess(rawZip([raw]));
    const entries = await readZipEntries(src);
    const error = await assertRejects(() =>
      checkZipContent(src, entries).catch((e) => {
        throw e;
      }).then(() => {
        throw new Error(`${what}: accepted`);
      }), ZipError);
    assertStringIncludes(error.message, reason, `${what}: ${error.message}`);
  }
  // Many entries read from memory resolve as microtasks only: without letting go, no timer
  // would run until the whole zip was checked.
  const files = Array.from({ length: 200 }, (_, i) => ({ name: `${P}f${i}.go`, data: content }));
  const src = bytesAccess(await written(files));
  const entries = await readZipEntries(src);
  let timerRan = false;
  const timer = setTimeout(() => timerRan = true, 0);
  let ranBeforeEnd = false;
  await checkZipContent(src, entries, {
    yieldAfterMs: 0,
    released: () => ranBeforeEnd ||= timerRan,
  });
  clearTimeout(timer);
  assert(ranBeforeEnd, "a timer ran while the zip was checked");
});
