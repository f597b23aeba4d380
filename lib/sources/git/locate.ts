/**
 * Where a module's git repository is: module path → clone URL, the import
 * path of the repository root, and an optional subdirectory. The rules are
 * the go command's (`cmd/go/internal/vcs`): known hosts by path layout, a
 * `.git` qualifier in the path, otherwise `<meta name="go-import">` discovery
 * over HTTPS with `?go-get=1`.
 *
 * Clone URLs are always `https://…`; operators map them to ssh or add
 * credentials in their own git configuration (`url.<base>.insteadOf`).
 *
 * @module
 */
import { readPrefix } from "../../util/bytes.ts";
import { BoundedMap } from "../../util/bounded_map.ts";
import { errorText } from "../../util/errors.ts";
import { redactUrl } from "../../log.ts";

/** A located repository. */
export interface RepoLocation {
  /** The import path of the repository root, e.g. `github.com/acme/lib`. */
  root: string;
  /** The clone URL, e.g. `https://github.com/acme/lib`. */
  url: string;
  /** A subdirectory named by a go-import meta tag's fourth field, else `""`. */
  subdir: string;
}

/**
 * The module path cannot be mapped to a git repository (unknown layout, no
 * usable meta tag, another VCS). The server answers 404 for it.
 *
 * @example
 * ```ts
 * import { RepoNotFoundError } from "./locate.ts";
 * console.log(new RepoNotFoundError("no go-import meta tag").message);
 * ```
 */
export class RepoNotFoundError extends Error {
  override name = "RepoNotFoundError";
}

/** One `<meta name="go-import">` entry. */
export interface GoImport {
  prefix: string;
  vcs: string;
  url: string;
  subdir: string;
}

/** Known hosting sites, matched before any network access. */
const STATIC_HOSTS: { prefix: string; re: RegExp }[] = [
  { prefix: "github.com/", re: /^(github\.com\/[\w.-]+\/[\w.-]+)(\/[\w.-]+)*$/ },
  { prefix: "bitbucket.org/", re: /^(bitbucket\.org\/[\w.-]+\/[\w.-]+)(\/[\w.-]+)*$/ },
];

/** GitLab serves go-import tags; its three-element layout is only the fallback. */
const GITLAB = /^(gitlab\.com\/[\w.-]+\/[\w.-]+)(\/[\w.-]+)*$/;

/** A path with a VCS qualifier: `host/path/repo.git/more` (the go command's last static rule). */
const QUALIFIED =
  /(([a-z0-9.-]+\.)+[a-z0-9.-]+(:[0-9]+)?(\/~?[\w.-]+)+?)\.(bzr|fossil|git|hg|svn)(\/~?[\w.-]+)*$/;

/**
 * Locates a module path by rules alone (no network): known hosts and `.git`
 * qualifiers. Returns null when only meta-tag discovery can tell.
 *
 * @example
 * ```ts
 * import { locateStatic } from "./locate.ts";
 * locateStatic("github.com/acme/lib/v2"); // {root:"github.com/acme/lib", url:"https://github.com/acme/lib", subdir:""}
 * locateStatic("git.corp.example/team/lib.git/sub"); // url "https://git.corp.example/team/lib"
 * ```
 */
export function locateStatic(path: string): RepoLocation | null {
  for (const host of STATIC_HOSTS) {
    if (!path.startsWith(host.prefix)) continue;
    const m = host.re.exec(path);
    if (!m) throw new RepoNotFoundError(`invalid ${host.prefix.slice(0, -1)} import path ${path}`);
    if (/\.(bzr|fossil|git|hg|svn)$/.test(m[1])) {
      throw new RepoNotFoundError(`invalid version control suffix in ${host.prefix} path ${path}`);
    }
    return { root: m[1], url: `https://${m[1]}`, subdir: "" };
  }
  // The go command searches for this pattern anywhere in the path, unanchored
  // at the start; a match must still begin at the first element to be useful.
  const q = QUALIFIED.exec(path);
  if (q && q.index === 0) {
    if (q[5] !== "git") {
      throw new RepoNotFoundError(`${path}: version control system ${q[5]} is not supported`);
    }
    // The root keeps ".git"; the clone URL drops it, as the go command does.
    return { root: `${q[1]}.git`, url: `https://${q[1]}`, subdir: "" };
  }
  return null;
}

/**
 * Parses the go-import meta tags in an HTML page, as the go command does:
 * only in the head (stops at `<body>` or `</head>`), attribute values
 * HTML-unescaped, three or four space-separated fields.
 *
 * @example
 * ```ts
 * import { parseGoImports } from "./locate.ts";
 * parseGoImports('<meta name="go-import" content="example.com/r git https://git.example/r">');
 * // [{prefix:"example.com/r", vcs:"git", url:"https://git.example/r", subdir:""}]
 * ```
 */
export function parseGoImports(html: string): GoImport[] {
  const out: GoImport[] = [];
  const tagRe = /<\s*(\/?)\s*([a-zA-Z]+)([^>]*)>/g;
  for (let m = tagRe.exec(html); m; m = tagRe.exec(html)) {
    const closing = m[1] === "/";
    const name = m[2].toLowerCase();
    if ((name === "body" && !closing) || (name === "head" && closing)) break;
    if (name !== "meta" || closing) continue;
    const attrs = parseAttributes(m[3]);
    if (attrs.get("name") !== "go-import") continue;
    const fields = (attrs.get("content") ?? "").trim().split(/\s+/);
    if (fields.length !== 3 && fields.length !== 4) continue;
    out.push({ prefix: fields[0], vcs: fields[1], url: fields[2], subdir: fields[3] ?? "" });
  }
  return out;
}

/** Parses `a="x" b='y' c=z` attributes, lower-casing names and unescaping values. */
function parseAttributes(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    attrs.set(m[1].toLowerCase(), unescapeHtml(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return attrs;
}

/** Decodes the few HTML entities that appear in meta tags. */
function unescapeHtml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] ?? "";
  });
}

/**
 * Chooses the go-import entry for `path`: entries whose prefix is a
 * path-element prefix of `path`, `mod` entries ignored (Astera serves these
 * modules from git itself); more than one candidate is an error.
 *
 * @example
 * ```ts
 * import { matchGoImport } from "./locate.ts";
 * matchGoImport([{ prefix: "a.example/r", vcs: "git", url: "https://a.example/r", subdir: "" }], "a.example/r/sub");
 * ```
 */
export function matchGoImport(imports: GoImport[], path: string): GoImport {
  const matches = imports.filter((im) =>
    im.vcs !== "mod" && (path === im.prefix || path.startsWith(im.prefix + "/"))
  );
  if (matches.length === 0) throw new RepoNotFoundError(`no go-import meta tag for ${path}`);
  if (matches.length > 1) {
    throw new RepoNotFoundError(`multiple go-import meta tags match ${path}`);
  }
  const m = matches[0];
  if (m.vcs !== "git") {
    throw new RepoNotFoundError(`${path}: go-import names vcs ${m.vcs}, not git`);
  }
  if (!/^https?:\/\/|^ssh:\/\/|^git\+ssh:\/\//.test(m.url)) {
    throw new RepoNotFoundError(
      `${path}: go-import repository URL ${redactUrl(m.url)} has no usable scheme`,
    );
  }
  return m;
}

/** Options for {@linkcode createRepoLocator}. */
export interface RepoLocatorOptions {
  /** How long discovery answers (including failures) are remembered. Default 5 minutes. */
  cacheMs?: number;
  /** The HTTP client; tests inject one. Default: global `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Per-request timeout for discovery. Default 30 s. */
  timeoutMs?: number;
}

/** The redirects an HTTP client follows (Go's `http.Client`, as the go command uses it). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Go's `http.Client` stops after this many. */
const MAX_REDIRECTS = 10;

/**
 * GETs `url`, following redirects as the go command's client does
 * (`cmd/go/internal/web`): at most ten, and never from an `https` page to a
 * plain one, whose answer anyone on the way could have written.
 */
async function fetchFollowing(
  doFetch: NonNullable<RepoLocatorOptions["fetch"]>,
  url: string,
  signal: AbortSignal,
): Promise<Response> {
  const secure = url.startsWith("https:");
  let current = url;
  for (let hops = 0;; hops++) {
    const res = await doFetch(current, { signal, redirect: "manual" });
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || location === null) return res;
    await res.body?.cancel();
    if (hops >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
    let next: string;
    try {
      next = new URL(location, current).href;
    } catch {
      throw new Error(
        `redirected from ${current} to an invalid URL ${JSON.stringify(redactUrl(location))}`,
      );
    }
    if (secure && !next.startsWith("https:")) {
      throw new Error(
        `redirected from secure URL ${redactUrl(current)} to insecure URL ${redactUrl(next)}`,
      );
    }
    current = next;
  }
}

/**
 * The go-import meta tags of `https://<prefix>?go-get=1`, each page asked
 * once per `cacheMs` (a failure sooner again), for at most 10 000 prefixes.
 */
function metaImportsRemembered(
  options: RepoLocatorOptions,
): (prefix: string) => Promise<GoImport[]> {
  const cacheMs = options.cacheMs ?? 5 * 60_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const cache = new BoundedMap<string, { at: number; answer: Promise<GoImport[]> }>(10_000);

  return (prefix: string): Promise<GoImport[]> => {
    // The cache lives in memory only: its ages are on the monotonic clock, whatever NTP does.
    const now = performance.now();
    const hit = cache.get(prefix);
    if (hit && now - hit.at < cacheMs) return hit.answer;
    const answer = (async () => {
      const url = `https://${prefix}?go-get=1`;
      let res: Response;
      try {
        res = await fetchFollowing(doFetch, url, AbortSignal.timeout(timeoutMs));
      } catch (err) {
        throw new RepoNotFoundError(`discovering ${prefix}: ${errorText(err)}`);
      }
      // The go command reads meta tags from error pages too (some hosts
      // answer 404 with valid tags for private repositories).
      // The go command stops reading at <body>; a page that never ends must not fill memory.
      return parseGoImports(new TextDecoder().decode(await readPrefix(res.body, 1 << 20)));
    })();
    cache.set(prefix, { at: now, answer });
    // A failed discovery (network trouble) is retried sooner than an answer is.
    answer.catch(() => {
      const entry = cache.get(prefix);
      if (entry?.answer === answer) {
        entry.at = Math.min(entry.at, performance.now() - cacheMs + 30_000);
      }
    });
    return answer;
  };
}

/**
 * Makes a locator that resolves module paths to repositories, doing meta-tag
 * discovery when the path alone does not tell and remembering the answers
 * briefly (so a burst of requests makes one discovery request).
 *
 * @example
 * ```ts
 * import { createRepoLocator } from "./locate.ts";
 * const locate = createRepoLocator();
 * const loc = await locate("github.com/acme/lib/sub");
 * console.log(loc.url, loc.root);
 * ```
 */
export function createRepoLocator(
  options: RepoLocatorOptions = {},
): (path: string) => Promise<RepoLocation> {
  const metaImports = metaImportsRemembered(options);
  return async (path: string): Promise<RepoLocation> => {
    const known = locateStatic(path);
    if (known) return known;
    let imports: GoImport[];
    try {
      imports = await metaImports(path);
    } catch (err) {
      const gl = GITLAB.exec(path);
      if (gl) return { root: gl[1], url: `https://${gl[1]}`, subdir: "" };
      throw err;
    }
    let chosen: GoImport;
    try {
      chosen = matchGoImport(imports, path);
    } catch (err) {
      const gl = GITLAB.exec(path);
      if (gl && imports.length === 0) return { root: gl[1], url: `https://${gl[1]}`, subdir: "" };
      throw err;
    }
    if (chosen.prefix !== path) {
      // Like the go command: the root's own page must agree, so a page deep
      // in one site cannot claim a prefix it does not control.
      const rootImports = await metaImports(chosen.prefix);
      const again = matchGoImport(rootImports, chosen.prefix);
      if (again.prefix !== chosen.prefix || again.url !== chosen.url || again.vcs !== chosen.vcs) {
        throw new RepoNotFoundError(
          `${path} and ${chosen.prefix} disagree about go-import for ${chosen.prefix}`,
        );
      }
    }
    return { root: chosen.prefix, url: chosen.url, subdir: chosen.subdir };
  };
}
