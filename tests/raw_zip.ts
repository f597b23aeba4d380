/**
 * Zips built byte by byte for the zip reader's and the module zip rules'
 * tests: any header value a test needs, valid or not, independently of the
 * zip writer under test.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { concatBytes } from "../lib/util/bytes.ts";

const enc = new TextEncoder();

/**
 * An entry for {@linkcode rawZip}: whatever bytes and headers a test needs, valid or not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RawEntry, rawZip } from "./raw_zip.ts";
 * const bad: RawEntry = { name: "a.txt", body: new Uint8Array([1]), crc: 0xdeadbeef };
 * assert.ok(rawZip([bad]).length > 0);
 * ```
 */
export interface RawEntry {
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
 * Builds a zip by hand, independently of lib/archive/zip_writer.ts, so that
 * tests can both cross-check the reader and make malformed zips.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rawZip } from "./raw_zip.ts";
 * const zip = rawZip([{ name: "a.txt", body: new TextEncoder().encode("hi") }]);
 * assert.equal(new DataView(zip.buffer).getUint32(0, true), 0x04034b50); // a local header
 * ```
 */
export function rawZip(
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
  return concatBytes([...parts, ...central, end]);
}
