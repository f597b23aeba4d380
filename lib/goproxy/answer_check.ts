/**
 * Checks that a body a source answered with 200 can be what was asked for,
 * before Astera stores it. `.mod`, `.info` and checksum-database lookups and
 * tiles are kept forever, so a captive portal's or a filtering proxy's page
 * stored in their place would break every build that needs them until
 * someone repairs the database. Each check turns away only what the go
 * command could make no use of:
 *
 * - `.info`, `@latest`, query `.info`: at most 64 KiB of JSON that the go
 *   command's decoder reads (its nesting depth, `Time` and `Origin` types)
 *   with a valid `Version` (the one asked for, for a canonical version).
 * - `.mod`: a go.mod with a module line (without one the go command stops
 *   with "parsing go.mod: missing module line").
 * - `list`: empty, or at least one line that starts with a valid version (the
 *   go command skips the other lines, so a body of nothing else lists nothing;
 *   refusing it keeps the list stored before).
 * - `.zip`: its first bytes are a zip signature (`PK`); whether the zip follows
 *   the module rules is `zip.ts`'s business, once it is whole.
 * - checksum database: a lookup is a record id, go.sum lines and a signed
 *   note; a hash tile is exactly 32 bytes per hash; `latest` is a signed note.
 *
 * Each check throws a {@linkcode SourceError} saying what was wrong.
 *
 * @module
 */
import { goModModulePath, goModParsesYielding } from "../mod/modfile.ts";
import { SourceError } from "../sources/source.ts";
import { parseTilePath } from "./sumdb_path.ts";
import { isValid } from "../mod/semver.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(body: Uint8Array, what: string, kind: string): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new SourceError(`${what}: not ${kind} (not UTF-8 text)`);
  }
}

/** The start of a body for an error message: enough to recognise a login page. */
function sample(text: string): string {
  const line = text.trim().split("\n")[0].slice(0, 60);
  return JSON.stringify(line);
}

/**
 * The largest `.info`/`@latest` answer accepted. The go command's is a few
 * hundred bytes (`Version`, `Time`, an `Origin` of a few short strings); 64 KiB
 * leaves a hundred times that for fields yet to come, and keeps the parse of
 * a hostile answer short.
 */
export const MAX_INFO = 64 * 1024;

/**
 * The largest `list` or checksum-database answer accepted (an `.info`:
 * {@linkcode MAX_INFO}), and so the largest such file the seed imports. A
 * `list` of every version of a busy module, or a full data tile, is far
 * smaller; 4 MiB bounds what one answer may hold in memory.
 *
 * @example
 * ```ts
 * import { MAX_SMALL_BYTES } from "./answer_check.ts";
 * console.assert(MAX_SMALL_BYTES === 4 * 1024 * 1024);
 * ```
 */
export const MAX_SMALL_BYTES = 4 * 1024 * 1024;

/** The deepest nesting the go command's JSON decoder (`encoding/json`) reads. */
const MAX_JSON_DEPTH = 10_000;

/** The string fields of the go command's `Origin` (`codehost.Origin`), lower-cased. */
const ORIGIN_FIELDS = ["vcs", "url", "subdir", "hash", "tagprefix", "tagsum", "ref", "reposum"];

/** Go's `time.Time.UnmarshalJSON`: RFC 3339 with an upper-case `T`, and `Z` or an offset. */
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** How deep `text` (JSON) nests, counted in one pass before anything is parsed. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** What the go command's `json.Unmarshal` into its `RevInfo` would refuse in `info`, or "". */
function revInfoProblem(info: Record<string, unknown>): string {
  for (const [key, value] of Object.entries(info)) {
    // encoding/json matches field names without regard to case.
    const field = key.toLowerCase();
    if (value === null) continue;
    if (field === "time" && (typeof value !== "string" || !RFC3339.test(value))) {
      return `its Time ${JSON.stringify(value).slice(0, 60)} is not an RFC 3339 time`;
    }
    if (field !== "origin") continue;
    if (typeof value !== "object" || Array.isArray(value)) return "its Origin is not an object";
    for (const [name, part] of Object.entries(value)) {
      if (ORIGIN_FIELDS.includes(name.toLowerCase()) && part !== null && typeof part !== "string") {
        return `its Origin.${name} is not a string`;
      }
    }
  }
  return "";
}

/**
 * Checks an `.info`/`@latest` body: at most {@linkcode MAX_INFO} bytes of
 * JSON the go command decodes (no deeper than its decoder goes, a `Time` it
 * parses, an `Origin` of strings) naming a valid version, `expected` when a
 * canonical version was asked for. Returns the version. The size and depth
 * are checked before parsing, so a hostile answer costs one short pass.
 *
 * @example
 * ```ts
 * import { checkInfo } from "./answer_check.ts";
 * const body = new TextEncoder().encode('{"Version":"v1.0.0"}');
 * console.log(checkInfo(body, "example.com/m@v1.0.0 .info", "v1.0.0")); // "v1.0.0"
 * ```
 */
export function checkInfo(body: Uint8Array, what: string, expected: string | null): string {
  if (body.length > MAX_INFO) {
    throw new SourceError(
      `${what}: ${body.length} bytes is more than an .info may be (${MAX_INFO})`,
    );
  }
  const text = decode(body, what, "valid JSON");
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new SourceError(`${what}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SourceError(`${what}: not valid JSON`);
  }
  const version = (parsed as { Version?: unknown } | null)?.Version;
  if (typeof version !== "string" || !isValid(version)) {
    throw new SourceError(`${what}: no valid Version`);
  }
  const problem = revInfoProblem(parsed as Record<string, unknown>);
  if (problem) throw new SourceError(`${what}: the go command cannot read it: ${problem}`);
  if (expected !== null && version !== expected) {
    throw new SourceError(`${what}: is for version ${version}`);
  }
  return version;
}

/**
 * Checks a `.mod` body: a go.mod file with a module line.
 *
 * @example
 * ```ts
 * import { checkGoMod } from "./answer_check.ts";
 * checkGoMod(new TextEncoder().encode("module example.com/m\n"), "example.com/m@v1.0.0 .mod");
 * ```
 */
export function checkGoMod(body: Uint8Array, what: string): void {
  // A byte order mark makes the go command refuse the file, but it is what the source holds:
  // relayed as it is, like any other go.mod the client may refuse.
  const bom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  if (goModModulePath(bom ? body.subarray(3) : body) !== "") return;
  const text = new TextDecoder().decode(body.subarray(0, 4096));
  throw new SourceError(
    `${what}: not a go.mod file (no module line${
      text.trim() === "" ? "; empty" : `; it begins ${sample(text)}`
    })`,
  );
}

/**
 * {@linkcode checkGoMod} for a server. An answer whose end nothing vouches for
 * (`unframed`: no length, no chunking) must also parse as the go command
 * parses a dependency's go.mod, or it may have been cut short; that parse (up
 * to 16 MiB) gives way to other requests after every slice of it.
 *
 * @example
 * ```ts
 * import { checkGoModYielding } from "./answer_check.ts";
 * await checkGoModYielding(new TextEncoder().encode("module m\n"), "m@v1.0.0 .mod", true);
 * ```
 */
export async function checkGoModYielding(
  body: Uint8Array,
  what: string,
  unframed: boolean,
): Promise<void> {
  if (unframed && !(await goModParsesYielding(body))) {
    throw new SourceError(
      `${what}: the answer had no length and does not parse as a go.mod: cut short?`,
    );
  }
  checkGoMod(body, what);
}

/**
 * Checks a `list` body: empty, or with at least one line starting with a valid version.
 *
 * @example
 * ```ts
 * import { checkList } from "./answer_check.ts";
 * checkList(new TextEncoder().encode("v1.0.0\nv1.1.0\n"), "example.com/m @v/list");
 * ```
 */
export function checkList(body: Uint8Array, what: string): void {
  const text = decode(body, what, "a version list");
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  if (lines.length === 0) return;
  if (lines.some((line) => isValid(line.split(/\s+/)[0]))) return;
  throw new SourceError(`${what}: not a version list (it begins ${sample(text)})`);
}

/**
 * Checks the first bytes of a `.zip` answer (at least two, unless the body is
 * shorter): a zip begins with a `PK` signature, a login page does not.
 *
 * @example
 * ```ts
 * import { checkZipStart } from "./answer_check.ts";
 * checkZipStart(new Uint8Array([0x50, 0x4b, 3, 4]), "example.com/m@v1.0.0 .zip");
 * ```
 */
export function checkZipStart(head: Uint8Array, what: string): void {
  if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) return;
  const text = new TextDecoder().decode(head.subarray(0, 256));
  throw new SourceError(
    `${what}: not a zip file (${head.length === 0 ? "empty" : `it begins ${sample(text)}`})`,
  );
}

const GO_SUM_LINE = /^\S+ \S+ h1:[A-Za-z0-9+/]+=*$/;

/**
 * A signed note as x/mod's `note.Open` reads one: after the last blank line,
 * signature lines `— <name> <base64>`, each ending with a newline, each
 * signature at least 5 bytes (a note cut short mostly fails this).
 */
function checkSignedNote(text: string, what: string): void {
  const split = text.lastIndexOf("\n\n");
  const block = split < 0 ? "" : text.slice(split + 2);
  const signatures = block.split("\n").slice(0, -1);
  const good = block.endsWith("\n") && signatures.every((line) => {
    const base64 = /^\u2014 \S+ ([A-Za-z0-9+/]+={0,2})$/.exec(line)?.[1];
    if (base64 === undefined || base64.length % 4 !== 0) return false;
    const padding = base64.length - base64.replace(/=+$/, "").length;
    return base64.length / 4 * 3 - padding >= 5; // decoded bytes
  });
  if (!good) throw new SourceError(`${what}: not a signed note (it begins ${sample(text)})`);
}

/**
 * Checks a checksum-database answer for `key` (`lookup/…`, `tile/…`,
 * `latest`, `supported`), as the go command would parse it. Returns the body.
 *
 * @example
 * ```ts
 * import { checkSumdb } from "./answer_check.ts";
 * checkSumdb("tile/8/0/000.p/1", new Uint8Array(32), "sumdb sum.golang.org/tile/8/0/000.p/1");
 * ```
 */
export function checkSumdb(key: string, body: Uint8Array, what: string): Uint8Array {
  if (key.startsWith("lookup/")) {
    const text = decode(body, what, "a checksum-database record");
    const split = text.indexOf("\n\n");
    const lines = text.slice(0, Math.max(0, split)).split("\n");
    if (split < 0 || !/^\d+$/.test(lines[0]) || lines.length < 2) {
      throw new SourceError(
        `${what}: not a checksum-database record (it begins ${sample(text)})`,
      );
    }
    if (!lines.slice(1).every((line) => GO_SUM_LINE.test(line))) {
      throw new SourceError(`${what}: the record holds a line that is not a go.sum line`);
    }
    checkSignedNote(text.slice(split + 2), what);
    return body;
  }
  if (key === "latest") {
    checkSignedNote(decode(body, what, "a signed tree head"), what);
    return body;
  }
  // The go command reads only the status of `supported`, never its body.
  if (key === "supported") return body;
  const tile = parseTilePath(key);
  if (!tile) {
    // Whatever is kept forever is checked first: an unknown key is not kept at all.
    throw new SourceError(`${what}: not a checksum-database path`);
  }
  if (tile.data) {
    checkDataTile(decode(body, what, "a data tile"), tile.width, what);
  } else if (body.length !== tile.width * 32) {
    throw new SourceError(
      `${what}: a tile of ${tile.width} hashes is ${tile.width * 32} bytes, not ${body.length}`,
    );
  }
  return body;
}

/**
 * A data tile as x/mod's `sumdb.Server` writes one: `width` records, each
 * its go.sum lines and a blank line (a record's text never holds one).
 */
function checkDataTile(text: string, width: number, what: string): void {
  const records = text.endsWith("\n\n") ? text.slice(0, -2).split("\n\n") : [];
  if (records.length !== width) {
    throw new SourceError(
      `${what}: not a data tile of ${width} records (it begins ${sample(text)})`,
    );
  }
  if (!records.every((record) => record.split("\n").every((line) => GO_SUM_LINE.test(line)))) {
    throw new SourceError(`${what}: the data tile holds a line that is not a go.sum line`);
  }
}
