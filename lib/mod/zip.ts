/**
 * Reads and validates module zips without holding them whole in memory: the
 * central directory is parsed from a {@linkcode RandomAccess} source, entries
 * are streamed out one bounded chunk at a time, and
 * {@linkcode checkModuleZip} applies the rules the go command enforces when it
 * unzips a module (golang.org/x/mod/zip `CheckZip` and `Unzip`), so that the
 * proxy never serves a zip the client would refuse.
 *
 * @module
 */
import { constants as zlib, crc32, inflateRawSync } from "node:zlib";
import { checkFilePath, checkPath, checkPathMajor, splitPathVersion } from "./module.ts";
import { canonicalModuleVersion } from "./semver.ts";

/**
 * Bytes that can be read at any offset: a zip in memory, in a file, or in a
 * store. `read` resolves to exactly `length` bytes; it rejects when the range
 * is not inside `[0, size)`.
 *
 * @example
 * ```ts
 * import type { RandomAccess } from "./zip.ts";
 * const bytes = new Uint8Array([1, 2, 3]);
 * const src: RandomAccess = {
 *   size: bytes.length,
 *   read: (offset, length) => Promise.resolve(bytes.slice(offset, offset + length)),
 * };
 * console.log(await src.read(1, 2)); // Uint8Array(2) [ 2, 3 ]
 * ```
 */
export interface RandomAccess {
  /** Total number of bytes. */
  readonly size: number;
  /** Reads `length` bytes starting at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * One entry of a zip's central directory. Sizes and offsets are plain numbers:
 * values beyond `Number.MAX_SAFE_INTEGER` are rejected while reading.
 *
 * @example
 * ```ts
 * import type { ZipEntry } from "./zip.ts";
 * const entry: ZipEntry = {
 *   name: "example.com/m@v1.0.0/go.mod",
 *   method: 8,
 *   crc32: 0,
 *   compressedSize: 0,
 *   uncompressedSize: 0,
 *   localHeaderOffset: 0,
 * };
 * console.log(entry.name);
 * ```
 */
export interface ZipEntry {
  /** The name as stored (UTF-8); directories end in `/`. */
  name: string;
  /** Compression method: 0 stored, 8 deflate. */
  method: number;
  /** CRC-32 (IEEE) of the uncompressed content. */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's local file header starts. */
  localHeaderOffset: number;
}

/**
 * A zip is malformed, or is not a module zip the go command would accept.
 *
 * @example
 * ```ts
 * import { ZipError } from "./zip.ts";
 * const error = new ZipError("zip: truncated central directory");
 * console.log(error.name, error.message);
 * ```
 */
export class ZipError extends Error {
  override name = "ZipError";
}

/**
 * Largest module zip the go command accepts, and largest total of its file sizes.
 *
 * @example
 * ```ts
 * import { MAX_ZIP_FILE } from "./zip.ts";
 * console.log(MAX_ZIP_FILE); // 524288000
 * ```
 */
export const MAX_ZIP_FILE = 500 << 20;
/**
 * Largest root go.mod the go command accepts.
 *
 * @example
 * ```ts
 * import { MAX_GO_MOD } from "./zip.ts";
 * console.log(MAX_GO_MOD); // 16777216
 * ```
 */
export const MAX_GO_MOD = 16 << 20;
/**
 * Largest root LICENSE the go command accepts.
 *
 * @example
 * ```ts
 * import { MAX_LICENSE } from "./zip.ts";
 * console.log(MAX_LICENSE); // 16777216
 * ```
 */
export const MAX_LICENSE = 16 << 20;

/**
 * Limits of {@linkcode readZipEntries}.
 *
 * @example
 * ```ts
 * import type { ReadZipOptions } from "./zip.ts";
 * const options: ReadZipOptions = { maxCentralDirectorySize: 1 << 20, maxEntries: 10_000 };
 * console.log(options);
 * ```
 */
export interface ReadZipOptions {
  /** Largest central directory read, in bytes; 64 MiB unless given. */
  maxCentralDirectorySize?: number;
  /** Most entries accepted; one million unless given. */
  maxEntries?: number;
}

/**
 * Wraps bytes in memory as a {@linkcode RandomAccess}. Reads return views
 * into `bytes`, not copies, so callers must not modify what they get.
 *
 * @example
 * ```ts
 * import { bytesAccess } from "./zip.ts";
 * const src = bytesAccess(new TextEncoder().encode("hello"));
 * console.log(src.size, new TextDecoder().decode(await src.read(1, 3))); // 5 ell
 * ```
 */
export function bytesAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    read(offset, length) {
      try {
        checkRange(offset, length, bytes.length);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

/**
 * Wraps an open file of `size` bytes as a {@linkcode RandomAccess}. Reads are
 * queued, because each is a seek followed by reads on the shared file cursor
 * and two interleaved reads would read each other's bytes. The caller keeps
 * ownership of `file` and closes it.
 *
 * @example
 * ```ts
 * import { fileAccess } from "./zip.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * using file = await Deno.open(path);
 * const src = fileAccess(file, (await file.stat()).size);
 * console.log(new TextDecoder().decode(await src.read(1, 3))); // ell
 * await Deno.remove(path);
 * ```
 */
export function fileAccess(file: Deno.FsFile, size: number): RandomAccess {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    size,
    read(offset, length) {
      const result = queue.then(async () => {
        checkRange(offset, length, size);
        await file.seek(offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const n = await file.read(buf.subarray(filled));
          if (n === null) {
            throw new Deno.errors.UnexpectedEof(
              `file ended at ${offset + filled}, expected ${size} bytes`,
            );
          }
          filled += n;
        }
        return buf;
      });
      // A failed read must not fail the reads queued after it.
      queue = result.catch(() => {});
      return result;
    },
  };
}

function checkRange(offset: number, length: number, size: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > size
  ) {
    throw new RangeError(`read of ${length} bytes at ${offset} outside 0..${size}`);
  }
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const LOCAL_HEADER_LEN = 30;
const CENTRAL_HEADER_LEN = 46;
const EOCD_LEN = 22;
const EOCD64_LEN = 56;
const EOCD64_LOCATOR_LEN = 20;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DATA_DESCRIPTOR = 0x8;

/** Little-endian field reader over a byte view, with a cursor. */
class Fields {
  readonly #view: DataView;
  pos = 0;
  constructor(bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(): number {
    const v = this.#view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    const v = this.#view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`zip: ${what} ${v} too large`);
    return Number(v);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

interface DirectoryEnd {
  /** Where the end record (the ZIP64 one, if used) starts: the directory must end before it. */
  endOffset: number;
  records: number;
  size: number;
  offset: number;
  zip64: boolean;
}

async function readDirectoryEnd(src: RandomAccess): Promise<DirectoryEnd> {
  if (src.size < EOCD_LEN) {
    throw new ZipError(`zip: file of ${src.size} bytes is too short to be a zip`);
  }
  // The record is followed only by a comment of at most 65535 bytes.
  const tailLen = Math.min(src.size, 0xffff + EOCD_LEN);
  const tailStart = src.size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  // The last record whose comment fits wins, as in go's archive/zip.
  for (let i = tailLen - EOCD_LEN; i >= 0; i--) {
    if (
      view.getUint32(i, true) === SIG_EOCD &&
      i + EOCD_LEN + view.getUint16(i + 20, true) <= tailLen
    ) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError("zip: end of central directory record not found");
  const f = new Fields(tail.subarray(at + 4, at + EOCD_LEN));
  f.u16(); // this disk
  f.u16(); // disk with the directory
  f.u16(); // records on this disk
  const end: DirectoryEnd = {
    endOffset: tailStart + at,
    records: f.u16(),
    size: f.u32(),
    offset: f.u32(),
    zip64: false,
  };
  if (end.records === 0xffff || end.size === 0xffffffff || end.offset === 0xffffffff) {
    // As go does, a zip without a locator keeps the 32-bit values.
    await readDirectoryEnd64(src, end);
  }
  return end;
}

async function readDirectoryEnd64(src: RandomAccess, end: DirectoryEnd): Promise<void> {
  const locatorAt = end.endOffset - EOCD64_LOCATOR_LEN;
  if (locatorAt < 0) return;
  const locator = new Fields(await src.read(locatorAt, EOCD64_LOCATOR_LEN));
  if (locator.u32() !== SIG_EOCD64_LOCATOR) return;
  locator.u32(); // disk with the ZIP64 end record
  const recordAt = locator.u64("ZIP64 end record offset");
  if (recordAt + EOCD64_LEN > locatorAt) {
    throw new ZipError(`zip: ZIP64 end record offset ${recordAt} out of range`);
  }
  const f = new Fields(await src.read(recordAt, EOCD64_LEN));
  if (f.u32() !== SIG_EOCD64) throw new ZipError("zip: bad ZIP64 end record signature");
  f.pos += 8 + 2 + 2 + 4 + 4 + 8; // record size, versions, disks, records on this disk
  end.records = f.u64("ZIP64 entry count");
  end.size = f.u64("ZIP64 central directory size");
  end.offset = f.u64("ZIP64 central directory offset");
  end.endOffset = recordAt;
  end.zip64 = true;
}

/**
 * Reads a zip's central directory. Throws {@linkcode ZipError} when the zip is
 * malformed: truncated, no end record, offsets or sizes outside the file, bad
 * signatures, names that are not UTF-8, an entry count that disagrees with the
 * end record, or a directory beyond the limits in `options`.
 *
 * @example
 * ```ts
 * import { bytesAccess, readZipEntries } from "./zip.ts";
 * import { writeZip } from "../archive/zip_writer.ts";
 * const zip = new Uint8Array(
 *   await new Response(writeZip([{ name: "m@v1.0.0/a.go", data: new Uint8Array(3) }])).arrayBuffer(),
 * );
 * const entries = await readZipEntries(bytesAccess(zip));
 * console.log(entries.map((e) => e.name)); // [ "m@v1.0.0/a.go" ]
 * ```
 */
export async function readZipEntries(
  src: RandomAccess,
  options: ReadZipOptions = {},
): Promise<ZipEntry[]> {
  const maxSize = options.maxCentralDirectorySize ?? 64 << 20;
  const maxEntries = options.maxEntries ?? 1_000_000;
  const end = await readDirectoryEnd(src);
  if (end.offset + end.size > end.endOffset) {
    throw new ZipError(
      `zip: central directory at ${end.offset} of ${end.size} bytes overlaps its end record at ${end.endOffset}`,
    );
  }
  if (end.size > maxSize) {
    throw new ZipError(`zip: central directory of ${end.size} bytes exceeds limit ${maxSize}`);
  }
  if (end.records > maxEntries) {
    throw new ZipError(`zip: ${end.records} entries exceed limit ${maxEntries}`);
  }
  // Without ZIP64 the count is 16 bits and some writers let it wrap, so
  // only a ZIP64 count bounds the headers up front.
  if (end.zip64 && end.records * CENTRAL_HEADER_LEN > end.size) {
    throw new ZipError(
      `zip: ${end.records} entries cannot fit a central directory of ${end.size} bytes`,
    );
  }
  const dir = await src.read(end.offset, end.size);
  const entries: ZipEntry[] = [];
  const f = new Fields(dir);
  while (f.pos < dir.length) {
    if (entries.length >= maxEntries) {
      throw new ZipError(`zip: more than ${maxEntries} entries`);
    }
    const at = f.pos;
    if (at + CENTRAL_HEADER_LEN > dir.length) {
      throw new ZipError(`zip: truncated central directory header at ${end.offset + at}`);
    }
    if (f.u32() !== SIG_CENTRAL) {
      throw new ZipError(`zip: bad central directory header signature at ${end.offset + at}`);
    }
    f.pos += 2 + 2 + 2; // versions, flags
    const method = f.u16();
    f.pos += 2 + 2; // time, date
    const crc = f.u32();
    let compressedSize = f.u32();
    let uncompressedSize = f.u32();
    const nameLen = f.u16();
    const extraLen = f.u16();
    const commentLen = f.u16();
    f.pos += 2 + 2 + 4; // disk, internal and external attributes
    let localHeaderOffset = f.u32();
    const nameAt = f.pos;
    const next = nameAt + nameLen + extraLen + commentLen;
    if (next > dir.length) {
      throw new ZipError(`zip: truncated central directory header at ${end.offset + at}`);
    }
    let name: string;
    try {
      name = utf8.decode(dir.subarray(nameAt, nameAt + nameLen));
    } catch {
      throw new ZipError(`zip: entry name at ${end.offset + at} is not valid UTF-8`);
    }
    // ZIP64 values follow in this order, each only when its 32-bit field is saturated.
    let needU = uncompressedSize === 0xffffffff;
    let needC = compressedSize === 0xffffffff;
    let needO = localHeaderOffset === 0xffffffff;
    const extra = dir.subarray(nameAt + nameLen, nameAt + nameLen + extraLen);
    for (let e = 0; e + 4 <= extra.length && (needU || needC || needO);) {
      const ef = new Fields(extra.subarray(e));
      const id = ef.u16();
      const len = ef.u16();
      if (e + 4 + len > extra.length) break;
      if (id === ZIP64_EXTRA_ID) {
        const z = new Fields(extra.subarray(e + 4, e + 4 + len));
        const take = (what: string): number => {
          if (z.pos + 8 > len) throw new ZipError(`zip: ${name}: short ZIP64 extra field`);
          return z.u64(`${name}: ${what}`);
        };
        if (needU) uncompressedSize = take("uncompressed size");
        if (needC) compressedSize = take("compressed size");
        if (needO) localHeaderOffset = take("local header offset");
        needU = needC = needO = false;
      }
      e += 4 + len;
    }
    if (needU || needC || needO) {
      throw new ZipError(`zip: ${name}: missing ZIP64 extra field`);
    }
    // Local headers and data precede the central directory.
    if (localHeaderOffset + LOCAL_HEADER_LEN + compressedSize > end.offset) {
      throw new ZipError(
        `zip: ${name}: data at ${localHeaderOffset} of ${compressedSize} bytes out of range`,
      );
    }
    entries.push({ name, method, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    f.pos = next;
  }
  const countOk = end.zip64
    ? entries.length === end.records
    : entries.length % 0x10000 === end.records;
  if (!countOk) {
    throw new ZipError(
      `zip: end record declares ${end.records} entries, central directory holds ${entries.length}`,
    );
  }
  return entries;
}

/**
 * Checks that the go command would accept the zip as module `modulePath` at
 * `version` (x/mod/zip `CheckZip` plus what `Unzip` needs): a valid path and
 * canonical version; every entry named `modulePath@version/` + a valid file
 * path; no duplicates, no two names equal under case folding, no name both a
 * file and a directory; `go.mod` only at the root and spelled so; stored or
 * deflated data; the zip, the total of its files and the root go.mod and
 * LICENSE within the limits. Directory entries are checked and skipped as go
 * skips them. Returns the file entries in zip order; throws
 * {@linkcode ZipError} naming the module, version and offending entry.
 *
 * Declared sizes are only checked against the content when it is read, by
 * {@linkcode openZipEntry}.
 *
 * @example
 * ```ts
 * import { bytesAccess, checkModuleZip } from "./zip.ts";
 * import { writeZip } from "../archive/zip_writer.ts";
 * const enc = new TextEncoder();
 * const zip = new Uint8Array(
 *   await new Response(writeZip([
 *     { name: "example.com/m@v1.0.0/go.mod", data: enc.encode("module example.com/m\n") },
 *     { name: "example.com/m@v1.0.0/m.go", data: enc.encode("package m\n") },
 *   ])).arrayBuffer(),
 * );
 * const files = await checkModuleZip(bytesAccess(zip), "example.com/m", "v1.0.0");
 * console.log(files.length); // 2
 * ```
 */
export async function checkModuleZip(
  src: RandomAccess,
  modulePath: string,
  version: string,
): Promise<ZipEntry[]> {
  const where = `${modulePath}@${version}`;
  const fail = (reason: string): never => {
    throw new ZipError(`${where}: ${reason}`);
  };
  const canonical = canonicalModuleVersion(version);
  if (canonical !== version) {
    fail(
      `version ${JSON.stringify(version)} is not canonical (should be ${
        JSON.stringify(canonical)
      })`,
    );
  }
  try {
    checkPath(modulePath);
    checkPathMajor(version, splitPathVersion(modulePath).pathMajor);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (src.size > MAX_ZIP_FILE) {
    fail(`module zip file is too large (${src.size} bytes; limit is ${MAX_ZIP_FILE} bytes)`);
  }
  let entries: ZipEntry[];
  try {
    entries = await readZipEntries(src);
  } catch (error) {
    if (error instanceof ZipError) fail(error.message);
    throw error;
  }
  const prefix = `${where}/`;
  const seen = new Map<string, { path: string; isDir: boolean }>();
  // Every parent directory is registered too, which catches a file that is
  // also used as a directory whichever comes first.
  const claim = (path: string, isDir: boolean): string | undefined => {
    for (let p = path, dir = isDir;; dir = true) {
      const key = fold(p);
      const other = seen.get(key);
      if (other === undefined) {
        seen.set(key, { path: p, isDir: dir });
      } else if (other.path !== p) {
        return `case-insensitive file name collision: ${JSON.stringify(other.path)} and ${
          JSON.stringify(p)
        }`;
      } else if (other.isDir !== dir) {
        return `entry ${JSON.stringify(p)} is both a file and a directory`;
      } else if (!dir) {
        return `multiple entries for file ${JSON.stringify(p)}`;
      } else {
        return undefined; // this directory and its parents are known already
      }
      const slash = p.lastIndexOf("/");
      if (slash < 0) return undefined;
      p = p.slice(0, slash);
    }
  };
  const files: ZipEntry[] = [];
  let total = 0;
  for (const entry of entries) {
    const bad = (reason: string): never => fail(`${JSON.stringify(entry.name)}: ${reason}`);
    if (!entry.name.startsWith(prefix)) bad(`path does not have prefix ${JSON.stringify(prefix)}`);
    let name = entry.name.slice(prefix.length);
    if (name === "") continue;
    const isDir = name.endsWith("/");
    if (isDir) name = name.slice(0, -1);
    if (!isClean(name)) bad("file path is not clean");
    try {
      checkFilePath(name);
    } catch (error) {
      bad(error instanceof Error ? error.message : String(error));
    }
    const collision = claim(name, isDir);
    if (collision !== undefined) bad(collision);
    if (isDir) continue;
    const base = name.slice(name.lastIndexOf("/") + 1);
    if (fold(base) === "go.mod") {
      if (base !== name) bad("go.mod file not in module root directory");
      if (name !== "go.mod") bad("go.mod files must have lowercase names");
    }
    if (entry.method !== 0 && entry.method !== 8) {
      bad(`unsupported compression method ${entry.method}`);
    }
    total += entry.uncompressedSize;
    if (total > MAX_ZIP_FILE) {
      bad(
        `total uncompressed size of module contents too large (max size is ${MAX_ZIP_FILE} bytes)`,
      );
    }
    if (name === "go.mod" && entry.uncompressedSize > MAX_GO_MOD) {
      bad(`go.mod file too large (max size is ${MAX_GO_MOD} bytes)`);
    }
    if (name === "LICENSE" && entry.uncompressedSize > MAX_LICENSE) {
      bad(`LICENSE file too large (max size is ${MAX_LICENSE} bytes)`);
    }
    files.push(entry);
  }
  return files;
}

/** Whether `path` equals Go's `path.Clean(path)` for a non-empty relative path. */
function isClean(path: string): boolean {
  return path.split("/").every((e) => e !== "" && e !== "." && e !== "..");
}

/**
 * Case folding for file-name collisions, as x/mod's `strToFold`: each code
 * point becomes a canonical member of its simple case-folding orbit.
 * JavaScript has no SimpleFold, so each code point goes through upper then
 * lower case, and is kept when a mapping is not one code point: whole-string
 * mappings are full, not simple, folding (`ß` would become `ss`) and
 * context-sensitive (a final `Σ`). Checked against Go's `unicode.SimpleFold`
 * over all letters Go knows (file names hold no other cased code points): the
 * one letter this would fold differently is dotless `ı`, whose upper case `I`
 * go does not fold it with.
 *
 * @example
 * ```ts
 * import { fold } from "./zip.ts";
 * console.log(fold("README") === fold("readme"), fold("\u212A") === fold("k"), fold("ı") === fold("i")); // true true false
 * ```
 */
export function fold(s: string): string {
  if (!/[^a-z0-9 !#$%&()+,\-.=@[\]^_{}~/]/.test(s)) return s; // the common case
  let out = "";
  for (const c of s) {
    if (c === "\u0131") {
      out += c;
      continue;
    }
    const upper = single(c.toUpperCase()) ?? c;
    out += single(upper.toLowerCase()) ?? upper;
  }
  return out;
}

function single(s: string): string | undefined {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1) ? s : undefined;
}

/** Bytes of compressed input handed to the inflater at a time; deflate expands at most ~1032×, so this bounds each output chunk to about 8 MiB. */
const INFLATE_INPUT_CHUNK = 8 << 10;
/** Largest chunk read from the source or emitted to the consumer. */
const CHUNK = 64 << 10;

/**
 * Reads the content of every entry through, as the go command does when it
 * extracts a zip: {@linkcode checkModuleZip} reads only the directory, and a
 * zip damaged on the way (a bad deflate stream, a wrong size or CRC-32) must
 * be found before it is kept. Throws {@linkcode ZipError} naming the entry.
 *
 * @example
 * ```ts
 * import { bytesAccess, checkZipContent, readZipEntries } from "./zip.ts";
 * import { writeZip } from "../archive/zip_writer.ts";
 * const zip = new Uint8Array(
 *   await new Response(writeZip([{ name: "m@v1.0.0/a.txt", data: new TextEncoder().encode("hi") }]))
 *     .arrayBuffer(),
 * );
 * const src = bytesAccess(zip);
 * await checkZipContent(src, await readZipEntries(src)); // resolves: nothing is wrong
 * ```
 */
export async function checkZipContent(
  src: RandomAccess,
  entries: ZipEntry[],
  options: {
    /** Told the bytes of each buffer the check lets go of (for prompt reclaiming). */
    released?: (bytes: number) => void;
    /** How long it works before letting other work run (10 ms). */
    yieldAfterMs?: number;
  } = {},
): Promise<void> {
  const yieldAfterMs = options.yieldAfterMs ?? YIELD_AFTER_MS;
  let since = performance.now();
  for (const entry of entries) {
    if (isSmallDeflated(entry)) {
      const released = await checkSmallDeflated(src, entry);
      options.released?.(released);
    } else {
      const reader = openZipEntry(src, entry).getReader();
      while (!(await reader.read()).done) {
        // Reading is the check.
      }
    }
    // Reads from memory or SQLite resolve as microtasks, which never let timers or other
    // connections in: a toolchain zip's 12,000 entries would hold the isolate for seconds.
    if (performance.now() - since >= yieldAfterMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    }
  }
}

/**
 * Deflated entries this small are checked with one synchronous inflate: a stream
 * per entry holds a zlib state until V8 collects it, some 60 MB over a toolchain
 * zip's entries, where one call frees its own at once.
 */
const SMALL_COMPRESSED = 256 << 10;
const SMALL_UNCOMPRESSED = 4 << 20;
/** How long {@linkcode checkZipContent} works before it lets other work run. */
const YIELD_AFTER_MS = 10;

function isSmallDeflated(entry: ZipEntry): boolean {
  return entry.method === 8 && !entry.name.endsWith("/") &&
    entry.compressedSize <= SMALL_COMPRESSED && entry.uncompressedSize <= SMALL_UNCOMPRESSED;
}

/**
 * What {@linkcode openZipEntry} checks, for a small deflated entry, in one inflate.
 * Returns the bytes of the buffer it let go of.
 */
async function checkSmallDeflated(src: RandomAccess, entry: ZipEntry): Promise<number> {
  const fail = (reason: string): never => {
    throw new ZipError(`zip: ${entry.name}: ${reason}`);
  };
  const { dataStart, flags } = await readLocalHeader(src, entry, fail);
  if (flags & FLAG_ENCRYPTED) fail("encrypted entries are not supported");
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > src.size) fail(`data ends at ${dataEnd}, beyond the ${src.size}-byte zip`);
  const compressed = await src.read(dataStart, entry.compressedSize);
  let content: Uint8Array = new Uint8Array(0);
  try {
    // A sync flush gives what a cut stream holds, as the streaming reader does, so a
    // truncated entry is reported by its length; one more byte than declared is a bomb.
    content = inflateRawSync(compressed, {
      finishFlush: zlib.Z_SYNC_FLUSH,
      maxOutputLength: entry.uncompressedSize + 1,
    });
  } catch (error) {
    if (error instanceof RangeError) {
      fail(`content larger than its declared size of ${entry.uncompressedSize} bytes`);
    }
    fail(`bad deflate data: ${error instanceof Error ? error.message : error}`);
  }
  if (content.length > entry.uncompressedSize) {
    fail(`content larger than its declared size of ${entry.uncompressedSize} bytes`);
  }
  if (content.length !== entry.uncompressedSize) {
    fail(`content of ${content.length} bytes, declared ${entry.uncompressedSize}`);
  }
  if ((entry.crc32 !== 0 || flags & FLAG_DATA_DESCRIPTOR) && crc32(content) !== entry.crc32) {
    fail(`CRC-32 mismatch`);
  }
  return content.byteLength;
}

/** Where an entry's data starts, and its flags, from its local header. */
async function readLocalHeader(
  src: RandomAccess,
  entry: ZipEntry,
  fail: (reason: string) => never,
): Promise<{ dataStart: number; flags: number }> {
  if (entry.localHeaderOffset + LOCAL_HEADER_LEN > src.size) fail("local header out of range");
  const h = new Fields(await src.read(entry.localHeaderOffset, LOCAL_HEADER_LEN));
  if (h.u32() !== SIG_LOCAL) fail("bad local header signature");
  h.u16(); // version needed
  const flags = h.u16();
  h.pos = 26;
  return { dataStart: entry.localHeaderOffset + LOCAL_HEADER_LEN + h.u16() + h.u16(), flags };
}

/**
 * Streams the content of `entry`, decompressed. Supports stored (0) and
 * deflated (8) entries. The stream errors with {@linkcode ZipError} when the
 * local header is bad, the data is encrypted or uses another method, the
 * content is longer or shorter than the declared size (checked as it flows,
 * so a zip bomb is stopped at its declared size), or its CRC-32 is wrong. A
 * directory entry yields nothing (and errors if it declares content), as in
 * go's archive/zip.
 *
 * @example
 * ```ts
 * import { bytesAccess, openZipEntry, readZipEntries } from "./zip.ts";
 * import { writeZip } from "../archive/zip_writer.ts";
 * const zip = new Uint8Array(
 *   await new Response(writeZip([{ name: "m@v1.0.0/a.txt", data: new TextEncoder().encode("hi") }]))
 *     .arrayBuffer(),
 * );
 * const src = bytesAccess(zip);
 * const [entry] = await readZipEntries(src);
 * console.log(await new Response(openZipEntry(src, entry)).text()); // hi
 * ```
 */
export function openZipEntry(src: RandomAccess, entry: ZipEntry): ReadableStream<Uint8Array> {
  return ReadableStream.from(entryChunks(src, entry));
}

async function* entryChunks(src: RandomAccess, entry: ZipEntry): AsyncGenerator<Uint8Array> {
  const fail = (reason: string): never => {
    throw new ZipError(`zip: ${entry.name}: ${reason}`);
  };
  const { dataStart, flags } = await readLocalHeader(src, entry, fail);
  if (entry.name.endsWith("/")) {
    if (entry.uncompressedSize !== 0) fail("directory entry has content");
    return;
  }
  if (flags & FLAG_ENCRYPTED) fail("encrypted entries are not supported");
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > src.size) fail(`data ends at ${dataEnd}, beyond the ${src.size}-byte zip`);
  let produced = 0;
  let crc = 0;
  const account = (chunk: Uint8Array): void => {
    produced += chunk.length;
    if (produced > entry.uncompressedSize) {
      fail(`content larger than its declared size of ${entry.uncompressedSize} bytes`);
    }
    crc = crc32(chunk, crc);
  };
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      fail(`stored entry of ${entry.compressedSize} bytes declares ${entry.uncompressedSize}`);
    }
    for (let at = dataStart; at < dataEnd; at += CHUNK) {
      const chunk = await src.read(at, Math.min(CHUNK, dataEnd - at));
      account(chunk);
      yield chunk;
    }
  } else if (entry.method === 8) {
    let next = dataStart;
    // Kept apart so that a failing source is not reported as bad deflate data.
    let sourceError: unknown;
    const compressed = new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        if (next >= dataEnd) return controller.close();
        const n = Math.min(INFLATE_INPUT_CHUNK, dataEnd - next);
        let chunk: Uint8Array;
        try {
          chunk = await src.read(next, n);
        } catch (error) {
          sourceError = error;
          throw error;
        }
        // Copy: the inflater may take ownership of what it is given.
        controller.enqueue(chunk.slice());
        next += n;
      },
    }, { highWaterMark: 0 });
    const reader = compressed.pipeThrough(new DecompressionStream("deflate-raw")).getReader();
    try {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (sourceError !== undefined) throw sourceError;
          return fail(`bad deflate data: ${error instanceof Error ? error.message : error}`);
        }
        if (result.done) break;
        account(result.value);
        for (let at = 0; at < result.value.length; at += CHUNK) {
          yield result.value.subarray(at, at + CHUNK);
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  } else {
    fail(`unsupported compression method ${entry.method}`);
  }
  if (produced !== entry.uncompressedSize) {
    fail(`content of ${produced} bytes, declared ${entry.uncompressedSize}`);
  }
  // Like go, an unset CRC is only trusted to be zero when a data descriptor says so.
  if ((entry.crc32 !== 0 || flags & FLAG_DATA_DESCRIPTOR) && crc !== entry.crc32) {
    fail(`CRC-32 mismatch`);
  }
}
