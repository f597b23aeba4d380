/**
 * Writes module zips as a stream: each file is deflated (or stored when
 * deflate does not help) and emitted as soon as it is ready, with fixed
 * timestamps so that the same files always give the same bytes. Directory
 * entries are never written, since they would enter the module's h1 hash.
 * ZIP64 records are added when offsets, sizes or the entry count outgrow the
 * classic format. A file given as a stream of pieces is deflated piece by
 * piece as they arrive (sizes and CRC then follow its data, in a data
 * descriptor), so no file needs to be in memory whole.
 *
 * @module
 */
import { crc32 } from "node:zlib";

/**
 * A file to write: its full name inside the zip (for a module,
 * `path@version/relative/path`) and its content, whole or as a stream of
 * pieces (which may throw to abandon the zip).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeZip, type ZipWriteEntry } from "./zip_writer.ts";
 * async function* pieces() {
 *   yield new TextEncoder().encode("package ");
 *   yield new TextEncoder().encode("m\n");
 * }
 * const entries: ZipWriteEntry[] = [
 *   { name: "example.com/m@v1.0.0/go.mod", data: new TextEncoder().encode("module example.com/m\n") },
 *   { name: "example.com/m@v1.0.0/m.go", data: pieces() }, // streamed, never whole in memory
 * ];
 * assert.ok((await new Response(writeZip(entries)).arrayBuffer()).byteLength > 0);
 * ```
 */
export interface ZipWriteEntry {
  name: string;
  data: Uint8Array | AsyncIterable<Uint8Array>;
}

/**
 * Options of {@linkcode writeZip}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type WriteZipOptions, writeZip } from "./zip_writer.ts";
 * const options: WriteZipOptions = { forceZip64: true };
 * const zip = new Uint8Array(await new Response(writeZip([], options)).arrayBuffer());
 * // A ZIP64 end record (PK\x06\x06) comes before the classic one.
 * assert.equal(new DataView(zip.buffer).getUint32(0, true), 0x06064b50);
 * ```
 */
export interface WriteZipOptions {
  /**
   * Write ZIP64 fields and end records even when not needed; for testing
   * readers without writing 4 GiB.
   */
  forceZip64?: boolean;
}

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const VERSION_MADE_BY = (3 << 8) | 20; // Unix, zip 2.0
const VERSION_DEFLATE = 20;
const VERSION_ZIP64 = 45;
const FLAG_UTF8 = 0x800;
const FLAG_DATA_DESCRIPTOR = 0x8;
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1; // 1980-01-01, the earliest a DOS date can say
const FILE_MODE = 0o100644;

/** What the central directory needs to know about a written entry. */
interface Written {
  name: Uint8Array;
  /** Sizes and CRC follow the data (a streamed file). */
  descriptor: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

const utf8 = new TextEncoder();

/**
 * Streams a zip holding `entries` in the order given. Names must not end in
 * `/` (no directory entries) and must fit 65535 UTF-8 bytes; a bad name
 * errors the stream with a `TypeError`. The caller is responsible for the
 * names being a valid module zip's (see `checkModuleZip` in `zip.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeZip } from "./zip_writer.ts";
 * const enc = new TextEncoder();
 * const zip = writeZip([
 *   { name: "example.com/m@v1.0.0/go.mod", data: enc.encode("module example.com/m\n") },
 *   { name: "example.com/m@v1.0.0/m.go", data: enc.encode("package m\n") },
 * ]);
 * const bytes = new Uint8Array(await new Response(zip).arrayBuffer());
 * assert.equal(new DataView(bytes.buffer).getUint32(0, true), 0x04034b50); // a local header
 * ```
 */
export function writeZip(
  entries: AsyncIterable<ZipWriteEntry> | Iterable<ZipWriteEntry>,
  options: WriteZipOptions = {},
): ReadableStream<Uint8Array> {
  return ReadableStream.from(zipChunks(entries, options.forceZip64 ?? false));
}

async function* zipChunks(
  entries: AsyncIterable<ZipWriteEntry> | Iterable<ZipWriteEntry>,
  forceZip64: boolean,
): AsyncGenerator<Uint8Array> {
  const written: Written[] = [];
  let offset = 0;
  for await (const { name, data } of entries) {
    if (name === "" || name.endsWith("/")) {
      throw new TypeError(`zip entry name ${JSON.stringify(name)}: directories are not written`);
    }
    const nameBytes = utf8.encode(name);
    if (nameBytes.length > U16_MAX) {
      throw new TypeError(`zip entry name of ${nameBytes.length} bytes is too long`);
    }
    let entry: Written;
    if (data instanceof Uint8Array) {
      const deflated = await deflate(data);
      const stored = deflated.length >= data.length;
      const body = stored ? data : deflated;
      entry = {
        name: nameBytes,
        descriptor: false,
        method: stored ? 0 : 8,
        crc: crc32(data),
        compressedSize: body.length,
        size: data.length,
        offset,
      };
      const header = localHeader(entry, forceZip64);
      yield header;
      yield body;
      offset += header.length + body.length;
    } else {
      entry = {
        name: nameBytes,
        descriptor: true,
        method: 8,
        crc: 0,
        compressedSize: 0,
        size: 0,
        offset,
      };
      const header = localHeader(entry, forceZip64);
      yield header;
      yield* deflateStream(data, entry);
      const descriptor = dataDescriptor(entry, forceZip64);
      yield descriptor;
      offset += header.length + entry.compressedSize + descriptor.length;
    }
    written.push(entry);
  }
  const directoryOffset = offset;
  let directorySize = 0;
  for (const entry of written) {
    const header = centralHeader(entry, forceZip64);
    yield header;
    directorySize += header.length;
  }
  yield* endRecords(written.length, directoryOffset, directorySize, forceZip64);
}

/**
 * The end of central directory record, after a ZIP64 end record and its
 * locator when the classic fields cannot hold the values (or `forceZip64`).
 */
function endRecords(
  count: number,
  directoryOffset: number,
  directorySize: number,
  forceZip64: boolean,
): Uint8Array[] {
  const records: Uint8Array[] = [];
  const zip64 = forceZip64 || count >= U16_MAX || directoryOffset >= U32_MAX ||
    directorySize >= U32_MAX;
  if (zip64) {
    const end64Offset = directoryOffset + directorySize;
    const end64 = new Builder(56 + 20);
    end64.u32(0x06064b50).u64(56 - 12).u16(VERSION_MADE_BY & 0xff00 | VERSION_ZIP64)
      .u16(VERSION_ZIP64).u32(0).u32(0).u64(count).u64(count)
      .u64(directorySize).u64(directoryOffset);
    end64.u32(0x07064b50).u32(0).u64(end64Offset).u32(1);
    records.push(end64.bytes);
  }
  const end = new Builder(22);
  end.u32(0x06054b50).u16(0).u16(0)
    .u16(zip64 ? U16_MAX : count).u16(zip64 ? U16_MAX : count)
    .u32(zip64 ? U32_MAX : directorySize).u32(zip64 ? U32_MAX : directoryOffset)
    .u16(0);
  records.push(end.bytes);
  return records;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Deflates a stream piece by piece, yielding compressed pieces as they come
 * and filling in `entry`'s CRC and sizes. Pulling output pulls input, so
 * only a piece or two is ever held.
 */
async function* deflateStream(
  pieces: AsyncIterable<Uint8Array>,
  entry: Written,
): AsyncGenerator<Uint8Array> {
  // The compressor ends a deflate block at each piece it is given, so small
  // pieces are gathered into batches first (else the output grows by some
  // bytes per piece).
  async function* tapped(): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    let batch = new Uint8Array(DEFLATE_BATCH);
    let filled = 0;
    for await (const piece of pieces) {
      entry.crc = crc32(piece, entry.crc);
      entry.size += piece.length;
      for (let at = 0; at < piece.length;) {
        const take = Math.min(DEFLATE_BATCH - filled, piece.length - at);
        batch.set(piece.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === DEFLATE_BATCH) {
          yield batch;
          batch = new Uint8Array(DEFLATE_BATCH);
          filled = 0;
        }
      }
    }
    if (filled > 0) yield batch.subarray(0, filled);
  }
  const deflated = ReadableStream.from(tapped()).pipeThrough(new CompressionStream("deflate-raw"));
  for await (const out of deflated) {
    entry.compressedSize += out.length;
    yield out;
  }
}

/** How much of a streamed file is handed to the compressor at once. */
const DEFLATE_BATCH = 1 << 20;

/** The record after a streamed file's data: CRC and sizes (64-bit with ZIP64). */
function dataDescriptor(e: Written, forceZip64: boolean): Uint8Array {
  const zip64 = forceZip64 || e.size >= U32_MAX || e.compressedSize >= U32_MAX;
  const b = new Builder(zip64 ? 24 : 16);
  b.u32(0x08074b50).u32(e.crc);
  if (zip64) b.u64(e.compressedSize).u64(e.size);
  else b.u32(e.compressedSize).u32(e.size);
  return b.bytes;
}

function localHeader(e: Written, forceZip64: boolean): Uint8Array {
  // Whole files: sizes are known before the data is written. Streamed files:
  // CRC and sizes are zero here and come in the data descriptor; a ZIP64
  // extra is written when forced, since their final size is not known yet.
  const zip64 = forceZip64 || e.size >= U32_MAX || e.compressedSize >= U32_MAX;
  const b = new Builder(30 + e.name.length + (zip64 ? 20 : 0));
  b.u32(0x04034b50).u16(zip64 ? VERSION_ZIP64 : VERSION_DEFLATE).u16(flags(e)).u16(e.method)
    .u16(DOS_TIME).u16(DOS_DATE).u32(e.crc)
    .u32(zip64 ? U32_MAX : e.compressedSize).u32(zip64 ? U32_MAX : e.size)
    .u16(e.name.length).u16(zip64 ? 20 : 0).raw(e.name);
  if (zip64) b.u16(0x0001).u16(16).u64(e.size).u64(e.compressedSize);
  return b.bytes;
}

function centralHeader(e: Written, forceZip64: boolean): Uint8Array {
  // Only saturated fields get a ZIP64 value, in the order the format fixes.
  const bigSize = forceZip64 || e.size >= U32_MAX;
  const bigCompressed = forceZip64 || e.compressedSize >= U32_MAX;
  const bigOffset = forceZip64 || e.offset >= U32_MAX;
  const extraLen = 8 * (Number(bigSize) + Number(bigCompressed) + Number(bigOffset));
  const extra = extraLen > 0 ? 4 + extraLen : 0;
  const b = new Builder(46 + e.name.length + extra);
  b.u32(0x02014b50).u16(VERSION_MADE_BY).u16(extra > 0 ? VERSION_ZIP64 : VERSION_DEFLATE)
    .u16(flags(e)).u16(e.method).u16(DOS_TIME).u16(DOS_DATE).u32(e.crc)
    .u32(bigCompressed ? U32_MAX : e.compressedSize).u32(bigSize ? U32_MAX : e.size)
    .u16(e.name.length).u16(extra).u16(0).u16(0).u16(0).u32(FILE_MODE * 0x10000)
    .u32(bigOffset ? U32_MAX : e.offset).raw(e.name);
  if (extra > 0) {
    b.u16(0x0001).u16(extraLen);
    if (bigSize) b.u64(e.size);
    if (bigCompressed) b.u64(e.compressedSize);
    if (bigOffset) b.u64(e.offset);
  }
  return b.bytes;
}

function flags(e: Written): number {
  // Mark UTF-8 only when it matters, so ASCII names read the same in old tools.
  return (e.name.some((c) => c >= 0x80) ? FLAG_UTF8 : 0) |
    (e.descriptor ? FLAG_DATA_DESCRIPTOR : 0);
}

/** Little-endian writer into a buffer of known size. */
class Builder {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  #pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.#view.setUint16(this.#pos, v, true);
    this.#pos += 2;
    return this;
  }
  u32(v: number): this {
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
    return this;
  }
  u64(v: number): this {
    this.#view.setBigUint64(this.#pos, BigInt(v), true);
    this.#pos += 8;
    return this;
  }
  raw(v: Uint8Array): this {
    this.bytes.set(v, this.#pos);
    this.#pos += v.length;
    return this;
  }
}
