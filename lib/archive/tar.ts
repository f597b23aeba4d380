/**
 * A reader for the tar archives `git archive --format=tar` writes (ustar with
 * pax extended headers for long names). Git builds tar and zip archives from
 * the same tree walk and the same checkout filters (eol, ident), so a tar
 * carries exactly the bytes the go command's zip carries; tar is simply
 * easier to read without a zip library.
 *
 * @module
 */

/**
 * What a member is; git writes only these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TarEntryType } from "./tar.ts";
 * const zipped: TarEntryType[] = ["file"]; // a module zip holds regular files only
 * assert.ok(!zipped.includes("symlink"));
 * ```
 */
export type TarEntryType = "file" | "symlink" | "directory" | "other";

/**
 * A tar archive is malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTarStream, TarError } from "./tar.ts";
 * async function* chunks() {
 *   yield new Uint8Array(100); // less than one 512-byte header
 * }
 * await assert.rejects(async () => {
 *   for await (const _ of readTarStream(chunks())) {
 *     // nothing to read
 *   }
 * }, TarError);
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

/** A member header as read from its 512-byte block. */
interface Header {
  size: number;
  flag: string;
  name: string;
  linkTarget: string;
}

function parseHeader(header: Uint8Array, pax: Map<string, string>): Header {
  const size = numeric(header, 124, 12);
  const flag = String.fromCharCode(header[156]);
  let name = field(header, 0, 100);
  if (field(header, 257, 6) === "ustar") {
    const prefix = field(header, 345, 155);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  name = pax.get("path") ?? name;
  if (name.endsWith("/")) name = name.slice(0, -1);
  const linkTarget = pax.get("linkpath") ?? field(header, 157, 100);
  return { size, flag, name, linkTarget };
}

function entryType(flag: string): TarEntryType {
  if (flag === "0" || flag === "\0" || flag === "7") return "file";
  if (flag === "2") return "symlink";
  if (flag === "5") return "directory";
  return "other";
}

/**
 * One member of a tar read as a stream: its header now, its content through
 * {@linkcode TarStreamEntry.body} (read it, or not, before asking for the
 * next member).
 *
 * @example Reading the files of what `git archive` writes (run in a git repository)
 * ```ts ignore
 * import { readTarStream, type TarStreamEntry } from "./tar.ts";
 * const git = new Deno.Command("git", { args: ["archive", "--format=tar", "HEAD"], stdout: "piped" });
 * const entries: AsyncIterable<TarStreamEntry> = readTarStream(git.spawn().stdout);
 * for await (const entry of entries) {
 *   if (entry.type !== "file") continue; // its body is skipped when the next member is asked for
 *   let bytes = 0;
 *   for await (const piece of entry.body()) bytes += piece.length;
 *   if (bytes !== entry.size) throw new Error(`${entry.name}: short`);
 * }
 * ```
 */
export interface TarStreamEntry {
  /** The member's path, `/`-separated, without a trailing slash for directories. */
  name: string;
  type: TarEntryType;
  /** Content size in bytes, from the header: known before any byte is read. */
  size: number;
  /** For a symlink, its target. */
  linkTarget: string;
  /** The content, in pieces as they arrive (each at most the size of one input chunk). */
  body(): AsyncGenerator<Uint8Array>;
}

/** Largest pax extended header read (git's hold a path or a commit id). */
const MAX_PAX = 1 << 20;

/** Pulls exact byte counts out of a stream of chunks of any size. */
class ChunkReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #rest: Uint8Array = new Uint8Array(0);
  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least one), or null at the end of the input. */
  async some(max: number): Promise<Uint8Array | null> {
    while (this.#rest.byteLength === 0) {
      const next = await this.#source.next();
      if (next.done) return null;
      this.#rest = next.value;
    }
    const piece = this.#rest.subarray(0, max);
    this.#rest = this.#rest.subarray(piece.byteLength);
    return piece;
  }

  /** Exactly `n` bytes (copied), or null when the input ends first. */
  async exactly(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n;) {
      const piece = await this.some(n - filled);
      if (piece === null) return null;
      out.set(piece, filled);
      filled += piece.byteLength;
    }
    return out;
  }

  /** Stops the input (for a process, kills it). */
  async close(): Promise<void> {
    await this.#source.return?.();
  }
}

/**
 * Reads a tar archive from a stream of chunks, one member at a time, without
 * holding more than one input chunk (and one header) in memory. Stopping
 * early, or an error, stops the input.
 *
 * @example Listing what `git archive` writes (run in a git repository)
 * ```ts ignore
 * import { streamGit } from "../sources/git/run.ts";
 * import { readTarStream } from "./tar.ts";
 * for await (const e of readTarStream(streamGit(["archive", "--format=tar", "HEAD"]))) {
 *   console.log(e.type, e.name, e.size);
 * }
 * ```
 */
export async function* readTarStream(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<TarStreamEntry> {
  const input = new ChunkReader(chunks);
  try {
    let pax = new Map<string, string>();
    for (;;) {
      const block = await input.exactly(BLOCK);
      if (block === null) throw new TarError("truncated archive");
      if (block.every((b) => b === 0)) {
        // Read the end padding, so that a process writing the archive exits by itself.
        for (let n = 0; n < MAX_PAX && await input.some(BLOCK) !== null; n += BLOCK);
        break;
      }
      const header = parseHeader(block, pax);
      const padded = Math.ceil(header.size / BLOCK) * BLOCK;
      if (header.flag === "g" || header.flag === "x") {
        if (header.size > MAX_PAX) throw new TarError(`pax header of ${header.size} bytes`);
        const data = await input.exactly(padded);
        if (data === null) throw new TarError("truncated archive");
        if (header.flag === "x") pax = paxRecords(data.subarray(0, header.size));
        continue;
      }
      pax = new Map();
      let left = padded;
      let content = header.size;
      const body = async function* (): AsyncGenerator<Uint8Array> {
        while (content > 0) {
          const piece = await input.some(content);
          if (piece === null) throw new TarError("truncated archive");
          content -= piece.byteLength;
          left -= piece.byteLength;
          yield piece;
        }
      };
      const { name, size, linkTarget } = header;
      yield { name, type: entryType(header.flag), size, linkTarget, body };
      // Whatever the caller left unread (and the padding) is skipped.
      while (left > 0) {
        const piece = await input.some(left);
        if (piece === null) throw new TarError("truncated archive");
        left -= piece.byteLength;
      }
    }
  } finally {
    await input.close();
  }
}
