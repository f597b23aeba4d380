/**
 * Reads zip archives without holding them whole in memory: the central
 * directory is parsed from a {@linkcode RandomAccess} source, and entries are
 * streamed out one bounded chunk at a time, stored or inflated, with their
 * sizes and CRC-32 checked as they flow. This is the container only, as Go's
 * `archive/zip` is; the rules a module zip must follow sit on it in
 * `lib/mod/zip.ts`.
 *
 * @module
 */
import { constants as zlib, crc32, inflateRawSync } from "node:zlib";
import { errorText } from "../util/errors.ts";
import type { RandomAccess } from "./random_access.ts";

/**
 * One entry of a zip's central directory. Sizes and offsets are plain numbers:
 * values beyond `Number.MAX_SAFE_INTEGER` are rejected while reading.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, readZipEntries, writeZip, type ZipEntry } from "./mod.ts";
 * const data = new TextEncoder().encode("module example.com/m\n");
 * const zip = await new Response(writeZip([{ name: "example.com/m@v1.0.0/go.mod", data }]))
 *   .arrayBuffer();
 * const [entry]: ZipEntry[] = await readZipEntries(bytesAccess(new Uint8Array(zip)));
 * assert.equal(entry.name, "example.com/m@v1.0.0/go.mod");
 * assert.equal(entry.uncompressedSize, data.length);
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
 * A zip is malformed, or (thrown by `checkModuleZip` in `lib/mod/zip.ts`) is
 * not a module zip the go command would accept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, readZipEntries, ZipError } from "./mod.ts";
 * await assert.rejects(readZipEntries(bytesAccess(new Uint8Array(10))), ZipError);
 * ```
 */
export class ZipError extends Error {
  override name = "ZipError";
}

/**
 * Limits of {@linkcode readZipEntries}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, type ReadZipOptions, readZipEntries, writeZip, ZipError } from "./mod.ts";
 * const files = ["a", "b"].map((name) => ({ name, data: new Uint8Array() }));
 * const zip = new Uint8Array(await new Response(writeZip(files)).arrayBuffer());
 * const options: ReadZipOptions = { maxCentralDirectorySize: 1 << 20, maxEntries: 1 };
 * await assert.rejects(readZipEntries(bytesAccess(zip), options), ZipError);
 * ```
 */
export interface ReadZipOptions {
  /** Largest central directory read, in bytes; 64 MiB unless given. */
  maxCentralDirectorySize?: number;
  /** Most entries accepted; one million unless given. */
  maxEntries?: number;
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
 * import assert from "node:assert/strict";
 * import { bytesAccess, readZipEntries, writeZip } from "./mod.ts";
 * const zip = new Uint8Array(
 *   await new Response(writeZip([{ name: "m@v1.0.0/a.go", data: new Uint8Array(3) }])).arrayBuffer(),
 * );
 * const entries = await readZipEntries(bytesAccess(zip));
 * assert.deepEqual(entries.map((e) => e.name), ["m@v1.0.0/a.go"]);
 * ```
 */
export async function readZipEntries(
  src: RandomAccess,
  options: ReadZipOptions = {},
): Promise<ZipEntry[]> {
  const maxSize = options.maxCentralDirectorySize ?? 64 << 20;
  const maxEntries = options.maxEntries ?? 1_000_000;
  const end = await readDirectoryEnd(src);
  checkDirectoryEnd(end, maxSize, maxEntries);
  const dir = await src.read(end.offset, end.size);
  const entries: ZipEntry[] = [];
  const f = new Fields(dir);
  while (f.pos < dir.length) {
    if (entries.length >= maxEntries) {
      throw new ZipError(`zip: more than ${maxEntries} entries`);
    }
    entries.push(readCentralHeader(dir, f, end.offset));
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

/** Checks what the end record says of the directory before the directory is read. */
function checkDirectoryEnd(end: DirectoryEnd, maxSize: number, maxEntries: number): void {
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
}

/**
 * Reads the central directory header at `f.pos` of `dir` (which starts at
 * `dirOffset` in the zip) and leaves `f.pos` on the next one.
 */
function readCentralHeader(dir: Uint8Array, f: Fields, dirOffset: number): ZipEntry {
  const at = f.pos;
  if (at + CENTRAL_HEADER_LEN > dir.length) {
    throw new ZipError(`zip: truncated central directory header at ${dirOffset + at}`);
  }
  if (f.u32() !== SIG_CENTRAL) {
    throw new ZipError(`zip: bad central directory header signature at ${dirOffset + at}`);
  }
  f.pos += 2 + 2 + 2; // versions, flags
  const method = f.u16();
  f.pos += 2 + 2; // time, date
  const crc = f.u32();
  const sizes = { compressed: f.u32(), uncompressed: f.u32(), offset: 0 };
  const nameLen = f.u16();
  const extraLen = f.u16();
  const commentLen = f.u16();
  f.pos += 2 + 2 + 4; // disk, internal and external attributes
  sizes.offset = f.u32();
  const nameAt = f.pos;
  const next = nameAt + nameLen + extraLen + commentLen;
  if (next > dir.length) {
    throw new ZipError(`zip: truncated central directory header at ${dirOffset + at}`);
  }
  let name: string;
  try {
    name = utf8.decode(dir.subarray(nameAt, nameAt + nameLen));
  } catch {
    throw new ZipError(`zip: entry name at ${dirOffset + at} is not valid UTF-8`);
  }
  readZip64Extra(dir.subarray(nameAt + nameLen, nameAt + nameLen + extraLen), name, sizes);
  // Local headers and data precede the central directory.
  if (sizes.offset + LOCAL_HEADER_LEN + sizes.compressed > dirOffset) {
    throw new ZipError(
      `zip: ${name}: data at ${sizes.offset} of ${sizes.compressed} bytes out of range`,
    );
  }
  f.pos = next;
  return {
    name,
    method,
    crc32: crc,
    compressedSize: sizes.compressed,
    uncompressedSize: sizes.uncompressed,
    localHeaderOffset: sizes.offset,
  };
}

/**
 * Replaces the saturated 32-bit values in `sizes` with the 64-bit ones of the
 * ZIP64 extra field, which holds them in this order, each only when its
 * 32-bit field is saturated.
 */
function readZip64Extra(
  extra: Uint8Array,
  name: string,
  sizes: { compressed: number; uncompressed: number; offset: number },
): void {
  let needU = sizes.uncompressed === 0xffffffff;
  let needC = sizes.compressed === 0xffffffff;
  let needO = sizes.offset === 0xffffffff;
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
      if (needU) sizes.uncompressed = take("uncompressed size");
      if (needC) sizes.compressed = take("compressed size");
      if (needO) sizes.offset = take("local header offset");
      needU = needC = needO = false;
    }
    e += 4 + len;
  }
  if (needU || needC || needO) {
    throw new ZipError(`zip: ${name}: missing ZIP64 extra field`);
  }
}

/** Bytes of compressed input handed to the inflater at a time; deflate expands at most ~1032×, so this bounds each output chunk to about 8 MiB. */
const INFLATE_INPUT_CHUNK = 8 << 10;
/** Largest chunk read from the source or emitted to the consumer. */
const CHUNK = 64 << 10;

/**
 * Reads the content of every entry through, as the go command does when it
 * extracts a zip: `checkModuleZip` (lib/mod/zip.ts) reads only the directory, and a
 * zip damaged on the way (a bad deflate stream, a wrong size or CRC-32) must
 * be found before it is kept. Throws {@linkcode ZipError} naming the entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesAccess, checkZipContent, readZipEntries, writeZip, ZipError } from "./mod.ts";
 * const data = new TextEncoder().encode("hi");
 * const zip = new Uint8Array(await new Response(writeZip([{ name: "a.txt", data }])).arrayBuffer());
 * const src = bytesAccess(zip);
 * await checkZipContent(src, await readZipEntries(src)); // nothing is wrong
 * zip[zip.indexOf(0x68)] ^= 1; // damage the stored "h"
 * await assert.rejects(checkZipContent(src, await readZipEntries(src)), ZipError);
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
    fail(`bad deflate data: ${errorText(error)}`);
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
 * import assert from "node:assert/strict";
 * import { bytesAccess, openZipEntry, readZipEntries, writeZip } from "./mod.ts";
 * const zip = new Uint8Array(
 *   await new Response(writeZip([{ name: "m@v1.0.0/a.txt", data: new TextEncoder().encode("hi") }]))
 *     .arrayBuffer(),
 * );
 * const src = bytesAccess(zip);
 * const [entry] = await readZipEntries(src);
 * assert.equal(await new Response(openZipEntry(src, entry)).text(), "hi");
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
  let chunks: AsyncGenerator<Uint8Array>;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      fail(`stored entry of ${entry.compressedSize} bytes declares ${entry.uncompressedSize}`);
    }
    chunks = storedChunks(src, dataStart, dataEnd);
  } else if (entry.method === 8) {
    chunks = inflatedChunks(src, dataStart, dataEnd, fail);
  } else {
    return fail(`unsupported compression method ${entry.method}`);
  }
  let produced = 0;
  let crc = 0;
  for await (const chunk of chunks) {
    produced += chunk.length;
    if (produced > entry.uncompressedSize) {
      fail(`content larger than its declared size of ${entry.uncompressedSize} bytes`);
    }
    crc = crc32(chunk, crc);
    for (let at = 0; at < chunk.length; at += CHUNK) yield chunk.subarray(at, at + CHUNK);
  }
  if (produced !== entry.uncompressedSize) {
    fail(`content of ${produced} bytes, declared ${entry.uncompressedSize}`);
  }
  // Like go, an unset CRC is only trusted to be zero when a data descriptor says so.
  if ((entry.crc32 !== 0 || flags & FLAG_DATA_DESCRIPTOR) && crc !== entry.crc32) {
    fail(`CRC-32 mismatch`);
  }
}

/** The stored bytes in `[dataStart, dataEnd)`, a chunk of at most {@linkcode CHUNK} at a time. */
async function* storedChunks(
  src: RandomAccess,
  dataStart: number,
  dataEnd: number,
): AsyncGenerator<Uint8Array> {
  for (let at = dataStart; at < dataEnd; at += CHUNK) {
    yield await src.read(at, Math.min(CHUNK, dataEnd - at));
  }
}

/** The deflate data in `[dataStart, dataEnd)` inflated, as the inflater gives it out. */
async function* inflatedChunks(
  src: RandomAccess,
  dataStart: number,
  dataEnd: number,
  fail: (reason: string) => never,
): AsyncGenerator<Uint8Array> {
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
        return fail(`bad deflate data: ${errorText(error)}`);
      }
      if (result.done) break;
      yield result.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
