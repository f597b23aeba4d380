/**
 * The few facts Astera reads out of a go.mod file without a Go toolchain:
 * the module path (`modfile.ModulePath`), and the `go` and `retract`
 * directives as the go command's `modfile.ParseLax` reads a dependency's
 * go.mod: the same lexer and block grammar, only the directives it keeps
 * (`go`, `module`, `require`, `retract`, `ignore`) checked, a bad `retract`
 * skipped, and any other error making the whole file say nothing.
 *
 * @module
 */
import { matchPathMajorLax, splitPathVersion } from "./module.ts";
import { canonicalModuleVersion } from "./semver.ts";

/**
 * One `require` directive: a module path and the (canonical) version required.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModRequires, type Requirement } from "./modfile.ts";
 * const [first]: Requirement[] = goModRequires(new TextEncoder().encode("module m\nrequire x.example/y v1.2.0\n")) ?? [];
 * assert.deepEqual(first, { module: "x.example/y", version: "v1.2.0" });
 * ```
 */
export interface Requirement {
  module: string;
  version: string;
}

/**
 * An inclusive range of retracted versions (`low == high` for a single version).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModRetractions, type Retraction } from "./modfile.ts";
 * const text = "module m\nretract [v1.0.0, v1.1] // broken\n";
 * const [range]: Retraction[] = goModRetractions(new TextEncoder().encode(text)) ?? [];
 * assert.deepEqual(range, { low: "v1.0.0", high: "v1.1", rationale: "broken" });
 * ```
 */
export interface Retraction {
  /** As written: the go command compares bounds such as `v1.1` by semver precedence. */
  low: string;
  high: string;
  /** The comment beside the directive, if any. */
  rationale: string;
}

/** Go's `unicode.IsSpace`. */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/;
/** Go's `unicode.IsPrint`, less the ASCII space. */
const GO_PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/**
 * Bytes decoded at a time: a go.mod (up to 16 MiB from an upstream) is decoded
 * as it is read, so no step decodes more than this (a token longer than it aside).
 */
const CHUNK_BYTES = 64 * 1024;

/** Decodes as Go reads bytes: a byte order mark is a character, not skipped. */
const goDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

/**
 * Where to end a chunk of `data` that starts at `start`, at `end` or a few
 * bytes off but after `after`: where no UTF-8 sequence is under way (a byte
 * that does not continue one, or one after three that do), so that chunks
 * decoded one by one read as the whole decoded at once.
 */
function chunkEnd(data: Uint8Array, start: number, after: number, end: number): number {
  const fresh = (at: number) => {
    if (!isContinuation(data[at])) return true;
    for (let before = Math.max(start, at - 3); before < at; before++) {
      if (!isContinuation(data[before])) return false;
    }
    return true;
  };
  if (end >= data.length) return data.length;
  for (let at = end; at > after && at >= end - 3; at--) if (fresh(at)) return at;
  for (let at = end + 1; at < data.length; at++) if (fresh(at)) return at; // three bytes on at most
  return data.length;
}

/** Go's `strings.TrimSpace` (its spaces are all single UTF-16 units, so no surrogate is one). */
function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && GO_SPACE.test(s[start])) start++;
  while (end > start && GO_SPACE.test(s[end - 1])) end--;
  return s.slice(start, end);
}

/**
 * The module path declared by a go.mod file, or `""` when there is none or it
 * is malformed (the rules of the go command's `modfile.ModulePath`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModModulePath } from "./modfile.ts";
 * assert.equal(goModModulePath(new TextEncoder().encode("module example.com/m // c\n")), "example.com/m");
 * ```
 */
export function goModModulePath(data: Uint8Array): string {
  // Line by line, decoded as reached: the module line is usually the first.
  for (const raw of lines(data)) {
    let line = raw;
    const comment = line.indexOf("//");
    if (comment >= 0) line = line.slice(0, comment);
    line = goTrimSpace(line);
    if (!line.startsWith("module")) continue;
    const rest = line.slice("module".length);
    const trimmed = goTrimSpace(rest);
    // "modulex" is not the module directive; "module" alone has no path.
    if (trimmed.length === rest.length || trimmed === "") continue;
    if (trimmed[0] === '"' || trimmed[0] === "`") return unquote(trimmed) ?? "";
    return trimmed;
  }
  return "";
}

/** The lines of `data` without their newlines, decoded a chunk at a time as they are reached. */
function* lines(data: Uint8Array): Generator<string> {
  let head: string[] = []; // the start of a line longer than what is decoded
  for (let at = 0; at < data.length;) {
    const end = chunkEnd(data, at, at, at + CHUNK_BYTES);
    const text = goDecoder.decode(data.subarray(at, end));
    at = end;
    let start = 0;
    for (let newline = text.indexOf("\n"); newline >= 0; newline = text.indexOf("\n", start)) {
      yield head.join("") + text.slice(start, newline);
      head = [];
      start = newline + 1;
    }
    head.push(text.slice(start));
  }
  yield head.join("");
}

/** A token of modfile's lexer. */
interface Token {
  kind:
    | "\n"
    | "("
    | ")"
    | "["
    | "]"
    | "{"
    | "}"
    | ","
    | "string"
    | "ident"
    | "comment"
    | "eol-comment"
    | "eof";
  text: string;
}

const PUNCTUATION = "\n()[]{},";

/** ASCII characters that may be in an identifier: printable, not space, not `()[]{},`. */
const IDENT_ASCII = new Uint8Array(128).map((_, c) =>
  c > 0x20 && c < 0x7f && !"()[]{},".includes(String.fromCharCode(c)) ? 1 : 0
);

/** The UTF-16 length of the identifier character at `i` of `text`, 0 for none. */
function identLength(text: string, i: number): number {
  if (i >= text.length) return 0;
  const c = text.charCodeAt(i);
  if (c < 0x80) return IDENT_ASCII[c];
  const char = String.fromCodePoint(text.codePointAt(i)!);
  return !GO_SPACE.test(char) && GO_PRINT.test(char) ? char.length : 0;
}

/** Where modfile's lexer or parser reports an error. */
class Malformed extends Error {}

/**
 * modfile's lexer: {@linkcode Lexer.next} returns the next token each time it
 * is called (the end of file for ever after), or throws {@linkcode Malformed}.
 * One pass over the bytes, decoded a chunk at a time into a window that keeps
 * only the token being read: its cost is linear in the size of the file,
 * which may be 16 MiB from a hostile upstream, and no step of it is long.
 */
class Lexer {
  readonly #data: Uint8Array;
  /** The window: `#text` is the decoding of these bytes. */
  #start = 0;
  #end = 0;
  #text = "";
  #i = 0;
  #lineHasToken = false;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  next(): Token {
    for (;;) {
      const token = this.#scan(this.#end < this.#data.length);
      if (token !== null) return token;
      this.#decodeMore();
    }
  }

  /**
   * Drops the window's lines before the token being read (a newline byte
   * starts a fresh decoding) and decodes it with at least one more chunk, in
   * one piece: a line longer than a chunk doubles the window at each step.
   */
  #decodeMore(): void {
    const text = this.#text;
    const newline = this.#i > 0 ? text.lastIndexOf("\n", this.#i - 1) : -1;
    if (newline >= 0) {
      // That newline's byte: as many newline bytes back from the end as newlines after it, and one.
      let at = this.#end;
      for (let n = newline; n >= 0; n = text.indexOf("\n", n + 1)) {
        at = this.#data.lastIndexOf(0x0a, at - 1);
      }
      this.#start = at + 1;
      this.#i -= newline + 1;
    }
    const size = Math.max(CHUNK_BYTES, 2 * (this.#end - this.#start));
    this.#end = chunkEnd(this.#data, this.#start, this.#end, this.#start + size);
    this.#text = goDecoder.decode(this.#data.subarray(this.#start, this.#end));
  }

  #token(kind: Token["kind"], start: number, end: number): Token {
    this.#lineHasToken = kind !== "\n";
    this.#i = end;
    return { kind, text: this.#text.slice(start, end) };
  }

  /** The next token, or null when it may run past the window and `more` text follows. */
  #scan(more: boolean): Token | null {
    const text = this.#text;
    let i = this.#i;
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0d;) {
      c = text.charCodeAt(++i);
    }
    this.#i = i;
    // Two characters tell a comment ("//") from an identifier.
    if (more && i + 1 >= text.length) return null;
    if (i >= text.length) return { kind: "eof", text: "" };
    const c = text[i];
    if (c === "/" && text[i + 1] === "/") {
      // A comment runs through its newline.
      const newline = text.indexOf("\n", i + 2);
      if (newline < 0 && more) return null;
      const kind = this.#lineHasToken ? "eol-comment" : "comment";
      const comment = this.#token(kind, i, newline < 0 ? text.length : newline + 1);
      this.#lineHasToken = false;
      return comment;
    }
    if (c === "/" && text[i + 1] === "*") throw new Malformed();
    if (PUNCTUATION.includes(c)) return this.#token(c as Token["kind"], i, i + 1);
    const quoted = c === '"' || c === "`";
    const end = quoted ? stringEnd(text, i, more) : identEnd(text, i, more);
    return end < 0 ? null : this.#token(quoted ? "string" : "ident", i, end);
  }
}

/** Where the string literal at `start` ends; -1 when it may run past `text` and `more` follows. */
function stringEnd(text: string, start: number, more: boolean): number {
  const quote = text[start];
  let end = start + 1;
  for (;;) {
    if (end >= text.length) {
      if (more) return -1;
      throw new Malformed();
    }
    if (text[end] === "\n") throw new Malformed();
    const d = text[end++];
    if (d === quote) return end;
    if (d === "\\" && quote === '"') {
      if (end >= text.length) {
        if (more) return -1;
        throw new Malformed();
      }
      end++;
    }
  }
}

/** Where the identifier at `start` ends; -1 when it may run past `text` and `more` follows. */
function identEnd(text: string, start: number, more: boolean): number {
  let end = start;
  for (let n = identLength(text, end); n > 0; n = identLength(text, end)) {
    if (text.charCodeAt(end) === 0x2f) {
      if (more && end + 1 >= text.length) return -1;
      const after = text.charCodeAt(end + 1);
      if (after === 0x2f) break; // "//"
      if (after === 0x2a) throw new Malformed(); // "/*"
    }
    end += n;
  }
  if (more && end >= text.length) return -1;
  if (end === start) throw new Malformed();
  return end;
}

/**
 * A line keeps at most this many tokens: every directive read takes five at
 * most, and one with more is refused (or skipped) alike whatever the rest.
 */
const MAX_LINE_TOKENS = 16;

/** Verbs whose `verb ( … )` blocks hold lines of that verb. */
const BLOCK_VERBS = [
  "module",
  "godebug",
  "require",
  "exclude",
  "replace",
  "retract",
  "tool",
  "ignore",
];

/**
 * How long the parse runs between two pauses of {@linkcode goModParsesYielding}:
 * a few milliseconds, so a big go.mod delays other requests by no more.
 */
const SLICE_MS = 4;

/**
 * Work between two looks at the clock, some microseconds' of it: a token
 * counts one, and one more per 64 characters, so long tokens are counted too.
 */
const WORK_PER_LOOK = 256;

/** {@linkcode Lexer}'s tokens with one of lookahead, timed so the parser can pause. */
class Tokens {
  readonly #lexer: Lexer;
  #ahead: Token;
  #untilLook = WORK_PER_LOOK;
  /** When the current slice of work ends. */
  #sliceEnd = performance.now() + SLICE_MS;
  /** Whether the parser paused after {@linkcode due}: the next slice starts with its next token. */
  #paused = false;

  constructor(data: Uint8Array) {
    this.#lexer = new Lexer(data);
    this.#ahead = this.#lexer.next();
  }

  peek(): Token["kind"] {
    return this.#ahead.kind;
  }

  /** The next token; the end of file stays the current token however often it is taken. */
  take(): Token {
    if (this.#paused) {
      this.#paused = false;
      this.#sliceEnd = performance.now() + SLICE_MS;
    }
    const token = this.#ahead;
    if (token.kind !== "eof") {
      this.#ahead = this.#lexer.next();
      this.#untilLook -= 1 + (this.#ahead.text.length >> 6);
    }
    return token;
  }

  /** Whether a slice of work is done ({@linkcode SLICE_MS} since it began): the parser pauses. */
  due(): boolean {
    if (this.#untilLook > 0) return false;
    this.#untilLook = WORK_PER_LOOK;
    this.#paused = performance.now() >= this.#sliceEnd;
    return this.#paused;
  }
}

function isEol(kind: Token["kind"]): boolean {
  return kind === "eof" || kind === "eol-comment" || kind === "\n";
}

function commentOf(token: Token): string {
  return token.kind === "eol-comment" ? token.text.slice(2).trim() : "";
}

function keep(line: string[], token: string): void {
  if (line.length < MAX_LINE_TOKENS) line.push(token);
}

/** The rest of a line's tokens, and its comment. */
function* restOfLine(
  tokens: Tokens,
  first: Token,
): Generator<void, { tokens: string[]; comment: string }> {
  const line = [first.text];
  for (;;) {
    if (tokens.due()) yield;
    const token = tokens.take();
    if (isEol(token.kind)) return { tokens: line, comment: commentOf(token) };
    keep(line, token.text);
  }
}

/** A `verb (` block's lines, its `(` taken, each handed to `visit` when its verb is read. */
function* block(
  tokens: Tokens,
  verb: string | null,
  visit: (verb: string, args: string[], comment: string) => boolean,
): Generator<void, boolean> {
  for (;;) {
    if (tokens.due()) yield;
    const next = tokens.peek();
    if (next === "eof") return false; // an unterminated block
    if (next === ")") {
      tokens.take();
      if (!isEol(tokens.peek())) return false;
      tokens.take();
      return true;
    }
    if (next === "\n" || next === "comment" || next === "eol-comment") tokens.take();
    else {
      const line = yield* restOfLine(tokens, tokens.take());
      if (verb !== null && !visit(verb, line.tokens, line.comment)) return false;
    }
  }
}

/**
 * modfile's parser over {@linkcode lexer}'s tokens, handing each line (a block's
 * lines under their block's verb) to `visit` as it goes; false where the
 * parser reports an error or `visit` returns false. It pauses (yields) after
 * every slice of work, so a caller may let other work run in between.
 */
function* parse(
  data: Uint8Array,
  visit: (verb: string, args: string[], comment: string) => boolean,
): Generator<void, boolean> {
  try {
    const tokens = new Tokens(data);
    for (;;) {
      if (tokens.due()) yield;
      const kind = tokens.peek();
      if (kind === "eof") return true;
      if (kind === "\n" || kind === "comment") {
        tokens.take();
        continue;
      }
      const line = [tokens.take().text];
      for (;;) {
        if (tokens.due()) yield;
        const token = tokens.take();
        if (isEol(token.kind)) {
          if (!visit(line[0], line.slice(1), commentOf(token))) return false;
          break;
        }
        if (token.kind === "(" && isEol(tokens.peek())) {
          const verb = line.length === 1 && BLOCK_VERBS.includes(line[0]) ? line[0] : null;
          if (!(yield* block(tokens, verb, visit))) return false;
          break;
        }
        if (token.kind === "(" && tokens.peek() === ")") {
          const close = tokens.take();
          if (isEol(tokens.peek())) {
            tokens.take();
            break; // an empty block
          }
          keep(line, token.text);
          keep(line, close.text);
          continue;
        }
        keep(line, token.text);
      }
    }
  } catch (error) {
    if (error instanceof Malformed) return false;
    throw error;
  }
}

/** Runs `steps` to its end at once. */
function run<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** modfile's `parseString`; null for a malformed one. */
function parseString(token: string): string | null {
  if (token.startsWith('"')) return unquote(token);
  return /["'`]/.test(token) ? null : token;
}

/** modfile's `parseVersion` without a fixer: any version `module.CanonicalVersion` accepts. */
function parseVersion(token: string): string | null {
  const text = parseString(token);
  if (text === null) return null;
  const canonical = canonicalModuleVersion(text);
  return canonical === "" ? null : canonical;
}

/** modfile's `parseVersionInterval` for `retract` (bounds as written); null when malformed. */
function retraction(args: string[], rationale: string): Retraction | null {
  if (args.length === 0 || args[0] === "(") return null;
  if (args[0] !== "[") {
    const version = parseString(args[0]);
    return version === null ? null : { low: version, high: version, rationale };
  }
  if (args.length < 5 || args[2] !== "," || args[4] !== "]") return null;
  const low = parseString(args[1]);
  const high = parseString(args[3]);
  return low === null || high === null ? null : { low, high, rationale };
}

const GO_VERSION = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$/;
const LAX_GO_VERSION = /^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$/s;

/** What `modfile.ParseLax` keeps of a go.mod that Astera needs; null when it fails. */
interface LaxGoMod {
  goVersion: string;
  retractions: Retraction[];
  requires: Requirement[];
}

function* parseLaxSteps(data: Uint8Array): Generator<void, LaxGoMod | null> {
  const result: LaxGoMod = { goVersion: "", retractions: [], requires: [] };
  let seenGo = false;
  let seenModule = false;
  /** modfile's `add` in lax mode: false for an error. */
  const add = (verb: string, args: string[], comment: string): boolean => {
    switch (verb) {
      case "go": {
        if (seenGo || args.length !== 1) return false;
        let version = args[0];
        if (!GO_VERSION.test(version)) {
          const lax = LAX_GO_VERSION.exec(version);
          if (!lax) return false;
          version = lax[1];
        }
        seenGo = true;
        result.goVersion = version;
        return true;
      }
      case "module": {
        if (seenModule) return false;
        seenModule = true;
        return args.length === 1 && parseString(args[0]) !== null;
      }
      case "require": {
        if (args.length !== 2) return false;
        const path = parseString(args[0]);
        const version = parseVersion(args[1]);
        if (path === null || version === null) return false;
        const split = splitPathVersion(path);
        if (!split.ok || !matchPathMajorLax(version, split.pathMajor)) return false;
        result.requires.push({ module: path, version });
        return true;
      }
      case "retract": {
        // A bad retract is skipped, not an error, in a dependency's go.mod.
        const found = retraction(args, comment);
        if (found) result.retractions.push(found);
        return true;
      }
      case "ignore":
        return args.length === 1 && parseString(args[0]) !== null;
      default:
        return true; // not read in a dependency's go.mod
    }
  };
  return (yield* parse(data, add)) ? result : null;
}

function parseLax(data: Uint8Array): LaxGoMod | null {
  return run(parseLaxSteps(data));
}

/** Unquotes a Go string literal (interpreted or raw); null when malformed. */
function unquote(s: string): string | null {
  if (s.length >= 2 && s[0] === "`" && s.at(-1) === "`") return s.slice(1, -1);
  if (s.length >= 2 && s[0] === '"' && s.at(-1) === '"') {
    try {
      const v: unknown = JSON.parse(s);
      return typeof v === "string" ? v : null;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Whether the go command could read the file as a dependency's go.mod
 * (`modfile.ParseLax` succeeds): a go.mod cut short mostly cannot. For a
 * go.mod of up to 16 MiB from an upstream, on an isolate that serves
 * requests: the file is decoded as the parse reaches it, and the parse gives
 * way to other work after every slice of some milliseconds, so a big file
 * delays nobody else by more than that.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModParsesYielding } from "./modfile.ts";
 * const enc = new TextEncoder();
 * assert.ok(await goModParsesYielding(enc.encode("module m\n")));
 * assert.ok(!(await goModParsesYielding(enc.encode("module m\nrequire (\n\tx.example/y v1"))));
 * ```
 */
export async function goModParsesYielding(data: Uint8Array): Promise<boolean> {
  const steps = parseLaxSteps(data);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value !== null;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * The `go` directive's version as the go command reads a dependency's go.mod
 * (`"1.24"`; `go 1.24.x` reads as `1.24`), or `""` when there is none or the
 * file does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModGoVersion } from "./modfile.ts";
 * assert.equal(goModGoVersion(new TextEncoder().encode("module m\n\ngo 1.24.1\n")), "1.24.1");
 * ```
 */
export function goModGoVersion(data: Uint8Array): string {
  return parseLax(data)?.goVersion ?? "";
}

/**
 * The `retract` directives of a go.mod file, bounds as written. Returns `[]`
 * when there are none and `null` when the file does not parse (the go
 * command then applies no retractions).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModRetractions } from "./modfile.ts";
 * const text = "module m\nretract (\n  v1.0.1 // broken\n  [v1.2.0, v1.2.3]\n)\n";
 * assert.deepEqual(goModRetractions(new TextEncoder().encode(text)), [
 *   { low: "v1.0.1", high: "v1.0.1", rationale: "broken" },
 *   { low: "v1.2.0", high: "v1.2.3", rationale: "" },
 * ]);
 * ```
 */
export function goModRetractions(data: Uint8Array): Retraction[] | null {
  return parseLax(data)?.retractions ?? null;
}

/**
 * The `require` directives of a go.mod file as the go command reads a
 * dependency's go.mod (`modfile.ParseLax`), versions made canonical
 * (`v1.2` reads as `v1.2.0`). Returns `[]` when there are none and `null`
 * when the file does not parse (the go command then fails to load it, so
 * there is nothing it would ask for next).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goModRequires } from "./modfile.ts";
 * const text = "module m\n\nrequire (\n\tx.example/a v1.2.0 // indirect\n\tx.example/b/v2 v2.0.1\n)\n";
 * assert.deepEqual(goModRequires(new TextEncoder().encode(text)), [
 *   { module: "x.example/a", version: "v1.2.0" },
 *   { module: "x.example/b/v2", version: "v2.0.1" },
 * ]);
 * ```
 */
export function goModRequires(data: Uint8Array): Requirement[] | null {
  return parseLax(data)?.requires ?? null;
}
