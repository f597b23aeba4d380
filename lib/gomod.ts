/**
 * The few facts Astera reads out of a go.mod file without a Go toolchain:
 * the module path, the `go` directive and the `retract` directives. The
 * reader is lax like the go command's `modfile.ParseLax`: unknown directives
 * are skipped; a malformed file yields "no information" rather than an error.
 *
 * @module
 */

/** An inclusive range of retracted versions (`low == high` for a single version). */
export interface Retraction {
  low: string;
  high: string;
  /** The comment beside the directive, if any. */
  rationale: string;
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
  const text = new TextDecoder().decode(data);
  for (let line of text.split("\n")) {
    const comment = line.indexOf("//");
    if (comment >= 0) line = line.slice(0, comment);
    line = line.trim();
    if (!line.startsWith("module")) continue;
    const rest = line.slice("module".length);
    const trimmed = rest.trim();
    // "modulex" is not the module directive; "module" alone has no path.
    if (trimmed.length === rest.length || trimmed === "") continue;
    if (trimmed[0] === '"' || trimmed[0] === "`") return unquote(trimmed) ?? "";
    return trimmed;
  }
  return "";
}

/** A token of go.mod syntax: a word, a quoted string, or punctuation. */
interface Token {
  text: string;
  line: number;
}

/** Splits go.mod text into per-line tokens, keeping the comment of each line. */
function tokenize(text: string): { tokens: Token[]; comments: Map<number, string> } | null {
  const tokens: Token[] = [];
  const comments = new Map<number, string>();
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    let i = 0;
    while (i < line.length) {
      const c = line[i];
      if (c === " " || c === "\t" || c === "\r") {
        i++;
      } else if (line.startsWith("//", i)) {
        comments.set(n, line.slice(i + 2).trim());
        break;
      } else if (c === "(" || c === ")" || c === "[" || c === "]" || c === ",") {
        tokens.push({ text: c, line: n });
        i++;
      } else if (c === '"' || c === "`") {
        let j = i + 1;
        while (j < line.length && line[j] !== c) j += c === '"' && line[j] === "\\" ? 2 : 1;
        if (j >= line.length) return null;
        const unq = unquote(line.slice(i, j + 1));
        if (unq === null) return null;
        tokens.push({ text: unq, line: n });
        i = j + 1;
      } else {
        let j = i;
        while (j < line.length && !' \t\r()[],"`'.includes(line[j]) && !line.startsWith("//", j)) {
          j++;
        }
        tokens.push({ text: line.slice(i, j), line: n });
        i = j;
      }
    }
  }
  return { tokens, comments };
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

/** Groups tokens into statements: one line, or one line of a `verb ( ... )` block. */
function statements(tokens: Token[]): { verb: string; args: Token[] }[] | null {
  const out: { verb: string; args: Token[] }[] = [];
  let i = 0;
  while (i < tokens.length) {
    const verb = tokens[i];
    const line: Token[] = [];
    let j = i + 1;
    while (j < tokens.length && tokens[j].line === verb.line) line.push(tokens[j++]);
    if (line.length === 1 && line[0].text === "(") {
      // A block: each following line until ")" is a statement of this verb.
      let closed = false;
      while (j < tokens.length) {
        if (tokens[j].text === ")") {
          closed = true;
          j++;
          break;
        }
        const row: Token[] = [];
        const ln = tokens[j].line;
        while (j < tokens.length && tokens[j].line === ln && tokens[j].text !== ")") {
          row.push(tokens[j++]);
        }
        out.push({ verb: verb.text, args: row });
      }
      if (!closed) return null;
    } else {
      out.push({ verb: verb.text, args: line });
    }
    i = j;
  }
  return out;
}

/**
 * The `go` directive's version (`"1.24"`), or `""` when absent or malformed.
 *
 * @example
 * ```ts
 * import { goModGoVersion } from "./gomod.ts";
 * goModGoVersion(new TextEncoder().encode("module m\n\ngo 1.24.1\n")); // "1.24.1"
 * ```
 */
export function goModGoVersion(data: Uint8Array): string {
  const parsed = tokenize(new TextDecoder().decode(data));
  if (!parsed) return "";
  const stmts = statements(parsed.tokens);
  if (!stmts) return "";
  let found = "";
  for (const s of stmts) {
    if (s.verb !== "go") continue;
    // A repeated or malformed go directive makes the go command reject the
    // file, and then it sees no version at all.
    if (found !== "" || s.args.length !== 1) return "";
    const v = s.args[0].text;
    if (!/^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$/.test(v)) return "";
    found = v;
  }
  return found;
}

/**
 * The `retract` directives of a go.mod file. Returns `[]` when there are none
 * and `null` when the file cannot be parsed (the go command then applies no
 * retractions).
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
  const parsed = tokenize(new TextDecoder().decode(data));
  if (!parsed) return null;
  const stmts = statements(parsed.tokens);
  if (!stmts) return null;
  const out: Retraction[] = [];
  for (const s of stmts) {
    if (s.verb !== "retract") continue;
    const a = s.args.map((t) => t.text);
    const rationale = s.args.length > 0 ? parsed.comments.get(s.args[0].line) ?? "" : "";
    if (a.length === 1 && a[0] !== "[") {
      if (!isCanonicalSemver(a[0])) return null;
      out.push({ low: a[0], high: a[0], rationale });
    } else if (a.length === 5 && a[0] === "[" && a[2] === "," && a[4] === "]") {
      if (!isCanonicalSemver(a[1]) || !isCanonicalSemver(a[3])) return null;
      out.push({ low: a[1], high: a[3], rationale });
    } else {
      return null;
    }
  }
  return out;
}

/**
 * Whether `v` is a full `vX.Y.Z[-pre]` semantic version without build
 * metadata (what `retract` accepts). Kept local so that this module depends
 * on nothing.
 */
function isCanonicalSemver(v: string): boolean {
  return /^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?$/
    .test(v);
}
