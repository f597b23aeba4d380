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
import { splitPathVersion } from "./modpath.ts";
import { build, canonicalModuleVersion, major } from "./version.ts";

/** An inclusive range of retracted versions (`low == high` for a single version). */
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

/** Decodes as Go reads bytes: a byte order mark is a character, not skipped. */
function decode(data: Uint8Array): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(data);
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
 * import { goModModulePath } from "./gomod.ts";
 * goModModulePath(new TextEncoder().encode("module example.com/m // c\n")); // "example.com/m"
 * ```
 */
export function goModModulePath(data: Uint8Array): string {
  const text = decode(data);
  // Line by line without splitting the whole file: the module line is usually the first.
  for (let start = 0; start <= text.length;) {
    const newline = text.indexOf("\n", start);
    const end = newline < 0 ? text.length : newline;
    let line = text.slice(start, end);
    start = end + 1;
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
 * modfile's lexer: a function that returns the next token each time it is
 * called (the end of file for ever after), or throws {@linkcode Malformed}.
 * One pass over the text, and no token kept: its cost is linear in the size
 * of the file, which may be 16 MiB from a hostile upstream.
 */
function lexer(text: string): () => Token {
  let i = 0;
  let lineHasToken = false;
  const token = (kind: Token["kind"], start: number, end: number): Token => {
    lineHasToken = kind !== "\n";
    i = end;
    return { kind, text: text.slice(start, end) };
  };
  return () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0d;) {
      c = text.charCodeAt(++i);
    }
    if (i >= text.length) return { kind: "eof", text: "" };
    const start = i;
    const c = text[i];
    if (c === "/" && text[i + 1] === "/") {
      // A comment runs through its newline.
      const newline = text.indexOf("\n", i + 2);
      const kind = lineHasToken ? "eol-comment" : "comment";
      const comment = token(kind, start, newline < 0 ? text.length : newline + 1);
      lineHasToken = false;
      return comment;
    }
    if (c === "/" && text[i + 1] === "*") throw new Malformed();
    if (PUNCTUATION.includes(c)) return token(c as Token["kind"], start, i + 1);
    if (c === '"' || c === "`") {
      let end = i + 1;
      for (;;) {
        if (end >= text.length || text[end] === "\n") throw new Malformed();
        const d = text[end++];
        if (d === c) break;
        if (d === "\\" && c === '"') {
          if (end >= text.length) throw new Malformed();
          end++;
        }
      }
      return token("string", start, end);
    }
    let end = i;
    for (let n = identLength(text, end); n > 0; n = identLength(text, end)) {
      if (text.charCodeAt(end) === 0x2f) {
        const after = text.charCodeAt(end + 1);
        if (after === 0x2f) break; // "//"
        if (after === 0x2a) throw new Malformed(); // "/*"
      }
      end += n;
    }
    if (end === start) throw new Malformed();
    return token("ident", start, end);
  };
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

/** Tokens parsed between two pauses of {@linkcode goModParsesYielding}: some milliseconds' work. */
const SLICE_TOKENS = 50_000;

/** {@linkcode lexer}'s tokens with one of lookahead, counted so the parser can pause. */
class Tokens {
  readonly #next: () => Token;
  #ahead: Token;
  #taken = 0;
  #pauseAt = SLICE_TOKENS;

  constructor(text: string) {
    this.#next = lexer(text);
    this.#ahead = this.#next();
  }

  peek(): Token["kind"] {
    return this.#ahead.kind;
  }

  /** The next token; the end of file stays the current token however often it is taken. */
  take(): Token {
    const token = this.#ahead;
    if (token.kind !== "eof") {
      this.#ahead = this.#next();
      this.#taken++;
    }
    return token;
  }

  /** Whether a slice of work is done: true once every {@linkcode SLICE_TOKENS} tokens. */
  due(): boolean {
    if (this.#taken < this.#pauseAt) return false;
    this.#pauseAt = this.#taken + SLICE_TOKENS;
    return true;
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
  text: string,
  visit: (verb: string, args: string[], comment: string) => boolean,
): Generator<void, boolean> {
  try {
    const tokens = new Tokens(text);
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

/** x/mod's `module.CheckPathMajor`. */
function fitsPathMajor(version: string, pathMajor: string): boolean {
  if (pathMajor.startsWith(".v") && pathMajor.endsWith("-unstable")) {
    pathMajor = pathMajor.slice(0, -"-unstable".length);
  }
  if (version.startsWith("v0.0.0-") && pathMajor === ".v1") return true;
  const m = major(version);
  if (pathMajor === "") return m === "v0" || m === "v1" || build(version) === "+incompatible";
  return (pathMajor[0] === "/" || pathMajor[0] === ".") && m === pathMajor.slice(1);
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
}

function* parseLaxSteps(data: Uint8Array): Generator<void, LaxGoMod | null> {
  const result: LaxGoMod = { goVersion: "", retractions: [] };
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
        return split.ok && fitsPathMajor(version, split.pathMajor);
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
  return (yield* parse(decode(data), add)) ? result : null;
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
 * (`modfile.ParseLax` succeeds): a go.mod cut short mostly cannot.
 *
 * @example
 * ```ts
 * import { goModParses } from "./gomod.ts";
 * goModParses(new TextEncoder().encode("module m\nrequire (\n\tx.example/y v1")); // false
 * ```
 */
export function goModParses(data: Uint8Array): boolean {
  return parseLax(data) !== null;
}

/**
 * {@linkcode goModParses} for a go.mod of up to 16 MiB from an upstream, on an
 * isolate that serves requests: the parse gives way to other work after every
 * slice of it, so a big file delays nobody else by more than a slice.
 *
 * @example
 * ```ts
 * import { goModParsesYielding } from "./gomod.ts";
 * console.log(await goModParsesYielding(new TextEncoder().encode("module m\n"))); // true
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
 * import { goModGoVersion } from "./gomod.ts";
 * goModGoVersion(new TextEncoder().encode("module m\n\ngo 1.24.1\n")); // "1.24.1"
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
 * import { goModRetractions } from "./gomod.ts";
 * const text = "module m\nretract (\n  v1.0.1 // broken\n  [v1.2.0, v1.2.3]\n)\n";
 * goModRetractions(new TextEncoder().encode(text));
 * // [{low:"v1.0.1",high:"v1.0.1",rationale:"broken"}, {low:"v1.2.0",high:"v1.2.3",rationale:""}]
 * ```
 */
export function goModRetractions(data: Uint8Array): Retraction[] | null {
  return parseLax(data)?.retractions ?? null;
}
