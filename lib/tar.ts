/**
 * A reader for the tar archives `git archive --format=tar` writes (ustar with
 * pax extended headers for long names). Git builds tar and zip archives from
 * the same tree walk and the same checkout filters (eol, ident), so a tar
 * carries exactly the bytes the go command's zip carries; tar is simply
 * easier to read without a zip library.
 *
 * @module
 */

/** One archive member. */
export interface TarEntry {
  /** The member's path, `/`-separated, without a trailing slash for directories. */
  name: string;
  /** What the member is; git writes only these. */
  type: "file" | "symlink" | "directory" | "other";
  /** File contents; for a symlink, its target. */
  data: Uint8Array;
}

/**
 * A tar archive is malformed.
 *
 * @example
 * ```ts
 * import { TarError } from "./tar.ts";
 * console.log(new TarError("truncated").message);
 * ```
 */
export class TarError extends Error {
  override name = "TarError";
}

const BLOCK = 512;

/** Reads a NUL-terminated field as text (UTF-8: git writes raw path bytes). */
function field(block: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && block[end] !== 0) end++;
  return new TextDecoder().decode(block.subarray(at, end));
}

/** Reads an octal (or base-256) numeric field. */
function numeric(block: Uint8Array, at: number, len: number): number {
  if (block[at] & 0x80) {
    let n = block[at] & 0x7f;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + block[i];
    return n;
  }
  const text = field(block, at, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad numeric field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** Parses pax extended header records (`"%d %s=%s\n"`). */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    let sp = at;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const len = parseInt(new TextDecoder().decode(data.subarray(at, sp)), 10);
    if (!(len > 0) || at + len > data.length) throw new TarError("bad pax record");
    const record = new TextDecoder().decode(data.subarray(sp + 1, at + len - 1));
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/**
 * Lists the members of a tar archive held in memory.
 *
 * @example
 * ```ts
 * import { readTar } from "./tar.ts";
 * const p = new Deno.Command("git", { args: ["archive", "--format=tar", "HEAD"] }).outputSync();
 * for (const e of readTar(p.stdout)) console.log(e.type, e.name);
 * ```
 */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let pax = new Map<string, string>();
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = numeric(header, 124, 12);
    const flag = String.fromCharCode(header[156]);
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) throw new TarError("truncated archive");
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === "g") continue; // git's global header carries the commit id
    if (flag === "x") {
      pax = paxRecords(data);
      continue;
    }
    let name = field(header, 0, 100);
    const magic = field(header, 257, 6);
    if (magic === "ustar") {
      const prefix = field(header, 345, 155);
      if (prefix !== "") name = `${prefix}/${name}`;
    }
    name = pax.get("path") ?? name;
    const linkTarget = pax.get("linkpath") ?? field(header, 157, 100);
    pax = new Map();
    let type: TarEntry["type"];
    if (flag === "0" || flag === "\0" || flag === "7") type = "file";
    else if (flag === "2") type = "symlink";
    else if (flag === "5") type = "directory";
    else type = "other";
    if (name.endsWith("/")) name = name.slice(0, -1);
    entries.push({
      name,
      type,
      data: type === "symlink" ? new TextEncoder().encode(linkTarget) : data,
    });
  }
  return entries;
}
