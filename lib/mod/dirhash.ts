/**
 * The `h1:` hash that go.sum and the checksum database record for a module
 * (golang.org/x/mod/sumdb/dirhash `Hash1`): SHA-256 over a sorted listing of
 * `<sha256 hex>  <name>\n` lines, one per file, as base64. A module zip's hash
 * covers every entry under its stored name; a go.mod's covers one file named
 * `go.mod`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { openZipEntry, type RandomAccess, readZipEntries, type ZipEntry } from "../archive/mod.ts";

/**
 * A file to hash: its name and the lowercase hex SHA-256 of its content.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HashedFile, hashFiles, hashGoMod } from "./dirhash.ts";
 * // The SHA-256 of an empty file.
 * const file: HashedFile = {
 *   name: "go.mod",
 *   sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * };
 * assert.equal(await hashFiles([file]), await hashGoMod(new Uint8Array()));
 * ```
 */
export interface HashedFile {
  name: string;
  sha256: string;
}

const utf8 = new TextEncoder();
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The h1 hash of a set of files. Names are sorted by their UTF-8 bytes, as go
 * sorts strings; a duplicate name is listed twice, as go lists it. Throws a
 * `TypeError` for a name containing a newline (it would forge a line) or a
 * digest that is not 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashFiles } from "./dirhash.ts";
 * const h1 = await hashFiles([{
 *   name: "go.mod",
 *   sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * }]);
 * assert.equal(h1, "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=");
 * ```
 */
export function hashFiles(files: Iterable<HashedFile>): Promise<string> {
  const lines: { name: Uint8Array; sha256: string }[] = [];
  for (const { name, sha256 } of files) {
    if (name.includes("\n")) {
      return Promise.reject(new TypeError(`h1: file name with a newline: ${JSON.stringify(name)}`));
    }
    if (!SHA256_HEX.test(sha256)) {
      return Promise.reject(
        new TypeError(`h1: ${JSON.stringify(name)}: not a lowercase hex SHA-256: ${sha256}`),
      );
    }
    lines.push({ name: utf8.encode(name), sha256 });
  }
  // JS compares strings by UTF-16 code units, which puts U+10000 and above
  // before U+E000–U+FFFF; UTF-8 bytes order by code point, as go does.
  lines.sort((a, b) => compareBytes(a.name, b.name));
  const h = createHash("sha256");
  for (const line of lines) {
    h.update(`${line.sha256}  `);
    h.update(line.name);
    h.update("\n");
  }
  return Promise.resolve(`h1:${h.digest("base64")}`);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * The h1 hash of a module's `.mod` file, as in the `/go.mod` lines of go.sum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashGoMod } from "./dirhash.ts";
 * const h1 = await hashGoMod(new TextEncoder().encode("module golang.org/x/text\n"));
 * assert.equal(h1, "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=");
 * ```
 */
export function hashGoMod(bytes: Uint8Array): Promise<string> {
  return hashFiles([{ name: "go.mod", sha256: createHash("sha256").update(bytes).digest("hex") }]);
}

/**
 * The h1 hash of a module zip, as in go.sum and a module cache's `.ziphash`:
 * every entry, directory entries included, under its stored name. Entries
 * are streamed through the hash one at a time, so a large zip is never held
 * in memory. Where a name occurs twice, go hashes the last entry's content for
 * both lines, and so does this. Rejects with `ZipError` (lib/archive/zip_reader.ts) for a
 * malformed zip or an entry whose content does not match its declared size or
 * CRC, and with a `TypeError` for a name containing a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, writeZip } from "../archive/mod.ts";
 * import { hashZip } from "./dirhash.ts";
 * const enc = new TextEncoder();
 * const zip = new Uint8Array(
 *   await new Response(writeZip([
 *     { name: "example.com/m@v1.0.0/go.mod", data: enc.encode("module example.com/m\n\ngo 1.21\n") },
 *     { name: "example.com/m@v1.0.0/m.go", data: enc.encode("package m\n") },
 *   ])).arrayBuffer(),
 * );
 * assert.equal(await hashZip(bytesAccess(zip)), "h1:fMmDKxylWHrLDMBXPo7zB62VLWneCU9/dHwc0CJrWDU=");
 * ```
 */
export async function hashZip(src: RandomAccess): Promise<string> {
  const entries = await readZipEntries(src);
  const last = new Map<string, ZipEntry>();
  for (const entry of entries) {
    if (entry.name.includes("\n")) {
      throw new TypeError(`h1: file name with a newline: ${JSON.stringify(entry.name)}`);
    }
    last.set(entry.name, entry);
  }
  const digests = new Map<string, string>();
  for (const [name, entry] of last) {
    const h = createHash("sha256");
    for await (const chunk of openZipEntry(src, entry)) h.update(chunk);
    digests.set(name, h.digest("hex"));
  }
  return hashFiles(entries.map(({ name }) => ({ name, sha256: digests.get(name)! })));
}
