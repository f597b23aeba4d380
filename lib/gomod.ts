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

/** Go's `strings.TrimSpace`. */
function goTrimSpace(s: string): string {
  const chars = Array.from(s);
  let start = 0;
  let end = chars.length;
  while (start < end && GO_SPACE.test(chars[start])) start++;
  while (end > start && GO_SPACE.test(chars[end - 1])) end--;
  return chars.slice(start, end).join("");
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
  for (let line of decode(data).split("\n")) {
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

function isIdent(c: string | undefined): boolean {
  if (c === undefined || " ()[]{},".includes(c)) return false;
  return !GO_SPACE.test(c) && GO_PRINT.test(c);
}

/** modfile's lexer; null where it reports an error. */
function lex(text: string): Token[] | null {
  const chars = Array.from(text);
  const tokens: Token[] = [];
  let i = 0;
  let lineHasToken = false;
  const push = (kind: Token["kind"], end: number) => {
    tokens.push({ kind, text: chars.slice(i, end).join("") });
    lineHasToken = kind !== "\n";
    i = end;
  };
  for (;;) {
    while (chars[i] === " " || chars[i] === "\t" || chars[i] === "\r") i++;
    if (i >= chars.length) {
      tokens.push({ kind: "eof", text: "" });
      return tokens;
    }
    const c = chars[i];
    if (c === "/" && chars[i + 1] === "/") {
      // A comment runs through its newline.
      let end = i + 2;
      while (end < chars.length && chars[end++] !== "\n");
      const kind = lineHasToken ? "eol-comment" : "comment";
      push(kind, end);
      lineHasToken = false;
      continue;
    }
    if (c === "/" && chars[i + 1] === "*") return null;
    if (PUNCTUATION.includes(c)) {
      push(c as Token["kind"], i + 1);
      continue;
    }
    if (c === '"' || c === "`") {
      let end = i + 1;
      for (;;) {
        if (end >= chars.length || chars[end] === "\n") return null;
        const d = chars[end++];
        if (d === c) break;
        if (d === "\\" && c === '"') {
          if (end >= chars.length) return null;
          end++;
        }
      }
      push("string", end);
      continue;
    }
    if (!isIdent(c)) return null;
    let end = i;
    while (isIdent(chars[end])) {
      if (chars[end] === "/" && chars[end + 1] === "/") break;
      if (chars[end] === "/" && chars[end + 1] === "*") return null;
      end++;
    }
    push("ident", end);
  }
}

/** A line, or a `verb (` block of lines; each line keeps its end-of-line comment. */
type Statement =
  | { type: "line"; tokens: string[]; comment: string }
  | { type: "block"; tokens: string[]; lines: { tokens: string[]; comment: string }[] };

/** modfile's parser over {@linkcode lex}'s tokens; null where it reports an error. */
function parse(tokens: Token[]): Statement[] | null {
  let at = 0;
  const peek = () => tokens[at].kind;
  // The end of file stays the current token however often it is taken.
  const take = () => tokens[at].kind === "eof" ? tokens[at] : tokens[at++];
  const isEol = (kind: Token["kind"]) => kind === "eof" || kind === "eol-comment" || kind === "\n";
  const commentOf = (token: Token) =>
    token.kind === "eol-comment" ? token.text.slice(2).trim() : "";
  /** The rest of a line's tokens, and its comment. */
  const restOfLine = (first: Token) => {
    const line = [first.text];
    for (;;) {
      const token = take();
      if (isEol(token.kind)) return { tokens: line, comment: commentOf(token) };
      line.push(token.text);
    }
  };
  const out: Statement[] = [];
  for (;;) {
    const kind = peek();
    if (kind === "eof") return out;
    if (kind === "\n" || kind === "comment") {
      take();
      continue;
    }
    const line = [take().text];
    for (;;) {
      const token = take();
      if (isEol(token.kind)) {
        out.push({ type: "line", tokens: line, comment: commentOf(token) });
        break;
      }
      if (token.kind === "(" && isEol(peek())) {
        const lines: { tokens: string[]; comment: string }[] = [];
        for (;;) {
          const next = peek();
          if (next === "eof") return null; // an unterminated block
          if (next === ")") {
            take();
            if (!isEol(peek())) return null;
            take();
            break;
          }
          if (next === "\n" || next === "comment" || next === "eol-comment") take();
          else lines.push(restOfLine(take()));
        }
        out.push({ type: "block", tokens: line, lines });
        break;
      }
      if (token.kind === "(" && peek() === ")") {
        const close = take();
        if (isEol(peek())) {
          take();
          out.push({ type: "block", tokens: line, lines: [] });
          break;
        }
        line.push(token.text, close.text);
        continue;
      }
      line.push(token.text);
    }
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

function parseLax(data: Uint8Array): LaxGoMod | null {
  const tokens = lex(decode(data));
  const statements = tokens && parse(tokens);
  if (!statements) return null;
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
  for (const statement of statements) {
    if (statement.type === "line") {
      if (!add(statement.tokens[0], statement.tokens.slice(1), statement.comment)) return null;
    } else if (statement.tokens.length === 1 && BLOCK_VERBS.includes(statement.tokens[0])) {
      for (const line of statement.lines) {
        if (!add(statement.tokens[0], line.tokens, line.comment)) return null;
      }
    }
  }
  return result;
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
