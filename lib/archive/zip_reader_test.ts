import { crc32, deflateRawSync } from "node:zlib";
import { bytesAccess, fileAccess, type RandomAccess } from "./random_access.ts";
import { checkZipContent, openZipEntry, readZipEntries, ZipError } from "./zip_reader.ts";
import { writeZip } from "./zip_writer.ts";
import { concatBytes as concat } from "../util/bytes.ts";
import { type RawEntry, rawZip } from "../../tests/raw_zip.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";

const enc = new TextEncoder();

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
