import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { hashFiles, hashGoMod, hashZip } from "./dirhash.ts";
import { bytesAccess, fileAccess, writeZip, ZipError, type ZipWriteEntry } from "../archive/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

const enc = new TextEncoder();

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

async function zipOf(entries: ZipWriteEntry[]): Promise<Uint8Array> {
  return new Uint8Array(await new Response(writeZip(entries)).arrayBuffer());
}

/**
 * A stored-only zip built by hand, for entries zipwrite.ts never writes
 * (directories).
 */
function storedZip(entries: { name: string; data?: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data = new Uint8Array() } of entries) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    const cd = new Uint8Array(46 + n.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    cd.set(n, 46);
    parts.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, central.reduce((s, c) => s + c.length, 0), true);
  ev.setUint32(16, offset, true);
  return new Uint8Array(
    [...parts, ...central, end].flatMap((p) => [...p]),
  );
}

Deno.test("hashGoMod matches published go.sum values", async () => {
  const cases: [string, string][] = [
    ["", "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY="],
    ["module golang.org/x/text\n", "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ="],
    [
      'module "rsc.io/quote"\n\nrequire "rsc.io/sampler" v1.3.0\n',
      "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=",
    ],
  ];
  for (const [mod, want] of cases) {
    assertEquals(await hashGoMod(enc.encode(mod)), want, JSON.stringify(mod));
  }
});

const specGoMod = "module example.com/m\n\ngo 1.21\n";
const specGo = "package m\n";
const specH1 = "h1:fMmDKxylWHrLDMBXPo7zB62VLWneCU9/dHwc0CJrWDU=";

Deno.test("hashFiles gives the spec's two-file vector", async () => {
  const h1 = await hashFiles([
    { name: "example.com/m@v1.0.0/m.go", sha256: sha256(specGo) },
    { name: "example.com/m@v1.0.0/go.mod", sha256: sha256(specGoMod) },
  ]);
  assertEquals(h1, specH1);
});

Deno.test("hashZip gives the spec's two-file vector, from memory and from a file", async () => {
  const zip = await zipOf([
    { name: "example.com/m@v1.0.0/m.go", data: enc.encode(specGo) },
    { name: "example.com/m@v1.0.0/go.mod", data: enc.encode(specGoMod) },
  ]);
  assertEquals(await hashZip(bytesAccess(zip)), specH1);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, zip);
    using file = await Deno.open(path);
    assertEquals(await hashZip(fileAccess(file, zip.length)), specH1);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("hashFiles gives the published h1 of rsc.io/quote v1.5.2 from its file digests", async () => {
  // Names and content digests of the files in proxy.golang.org's zip.
  const files: [string, string][] = [
    ["LICENSE", "2d36597f7117c38b006835ae7f537487207d8ec407aa9d9980794b2030cbc067"],
    ["README.md", "8c3f49ee83461901b5112c0633f99e7d053e2f5d05400334833af741f135c91f"],
    ["buggy/buggy_test.go", "3c6c72d48433d96659a2ac56e7d744b3ea42d333b1875e27683c02b045435306"],
    ["go.mod", "b167e79090d79e4b5738995c62a2186548fc33c919d6b4da1d36cc8c7c1e40c1"],
    ["quote.go", "bacafde5f561ddeaf6884f760f10379d6af8dc44a6c22b378ce90925345c1a02"],
    ["quote_test.go", "1f0a53a9a0bd7be5ac0e6e7a77cb1b691e17b5f1115c52a0341cb60620b3fbbb"],
  ];
  const h1 = await hashFiles(
    files.reverse().map(([name, sha]) => ({ name: `rsc.io/quote@v1.5.2/${name}`, sha256: sha })),
  );
  assertEquals(h1, "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=");
  // The go.mod digest is that of the published .mod file.
  assertEquals(
    files.find(([n]) => n === "go.mod")?.[1],
    sha256('module "rsc.io/quote"\n\nrequire "rsc.io/sampler" v1.3.0\n'),
  );
});

Deno.test("hashFiles sorts names by UTF-8 bytes, not UTF-16 code units", async () => {
  const d = sha256("x");
  // U+1D49C (𝒜) sorts before U+FF21 (Ａ) in UTF-16 but after it in UTF-8.
  const names = ["p/𝒜.go", "p/Ａ.go", "p/z.go", "p/é.go", "p/A.go"];
  const byBytes = ["p/A.go", "p/z.go", "p/é.go", "p/Ａ.go", "p/𝒜.go"];
  const byJs = [...names].sort();
  assert(byJs.indexOf("p/𝒜.go") < byJs.indexOf("p/Ａ.go"), "the two orders differ");
  const listing = (order: string[]) => order.map((n) => `${d}  ${n}\n`).join("");
  const digest = async (text: string) =>
    "h1:" +
    btoa(String.fromCharCode(
      ...new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text))),
    ));
  const h1 = await hashFiles(names.map((name) => ({ name, sha256: d })));
  assertEquals(h1, await digest(listing(byBytes)));
  assert(h1 !== await digest(listing(byJs)), "UTF-16 order gives another hash");
});

Deno.test("hashFiles does not depend on input order and keeps duplicates", async () => {
  const a = { name: "a", sha256: sha256("1") };
  const b = { name: "b", sha256: sha256("2") };
  assertEquals(await hashFiles([a, b]), await hashFiles([b, a]));
  assert(await hashFiles([a, b]) !== await hashFiles([a, b, b]), "a duplicate is a second line");
  assertEquals(await hashFiles([]), `h1:${createHash("sha256").digest("base64")}`);
});

Deno.test("hashFiles rejects names with newlines and malformed digests", async () => {
  const cases: [string, string, string][] = [
    ["a\nb", sha256(""), "newline"],
    ["a", sha256("").toUpperCase(), "lowercase hex"],
    ["a", sha256("").slice(1), "lowercase hex"],
    ["a", "", "lowercase hex"],
  ];
  for (const [name, digest, reason] of cases) {
    await assertRejects(() => hashFiles([{ name, sha256: digest }]), TypeError, reason);
  }
});

Deno.test("hashZip hashes directory entries as empty files", async () => {
  const p = "example.com/m@v1.0.0/";
  const zip = storedZip([
    { name: p },
    { name: p + "d/" },
    { name: p + "d/a.go", data: enc.encode("package d\n") },
  ]);
  const want = await hashFiles([
    { name: p, sha256: sha256("") },
    { name: p + "d/", sha256: sha256("") },
    { name: p + "d/a.go", sha256: sha256("package d\n") },
  ]);
  assertEquals(await hashZip(bytesAccess(zip)), want);
});

Deno.test("hashZip hashes a duplicated name's last content twice, as go does", async () => {
  const zip = await zipOf([
    { name: "m@v1.0.0/a", data: enc.encode("first") },
    { name: "m@v1.0.0/b", data: enc.encode("b") },
    { name: "m@v1.0.0/a", data: enc.encode("last") },
  ]);
  const want = await hashFiles([
    { name: "m@v1.0.0/a", sha256: sha256("last") },
    { name: "m@v1.0.0/a", sha256: sha256("last") },
    { name: "m@v1.0.0/b", sha256: sha256("b") },
  ]);
  assertEquals(await hashZip(bytesAccess(zip)), want);
});

Deno.test("hashZip rejects corrupt zips and names with newlines", async () => {
  const zip = storedZip([{ name: "m@v1.0.0/a", data: enc.encode("content") }]);
  const corrupt = zip.slice();
  corrupt[30 + "m@v1.0.0/a".length] ^= 1; // flips a content bit: the CRC no longer matches
  await assertRejects(() => hashZip(bytesAccess(corrupt)), ZipError, "CRC-32 mismatch");
  await assertRejects(() => hashZip(bytesAccess(zip.subarray(1))), ZipError);
  const newline = storedZip([{ name: "m@v1.0.0/a\nb" }]);
  await assertRejects(() => hashZip(bytesAccess(newline)), TypeError, "newline");
});
