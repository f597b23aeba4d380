/**
 * The client of upstream proxies: a GOPROXY-style list of base URLs asked in
 * order, falling through after `,` only on 404/410 and after `|` on any error,
 * exactly as the go command does (GOPROXY-SPEC §1.4).
 *
 * A zip whose connection breaks or stalls part-way is resumed where it broke
 * with a `Range` request to the same upstream (a zip never changes once
 * served, and its CRC-32s are checked once it is whole), so a flaky link
 * costs the missing bytes, not the whole zip, and clients never notice.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { readPrefix } from "../util/bytes.ts";
import { redactCredentials, redactUrl } from "../log.ts";
import { escapePath, escapeVersion } from "../mod/module.ts";
import {
  type ArtifactRequest,
  describeRequest,
  isRefusalStatus,
  type ModuleSource,
  RefusedError,
  type SourceAnswer,
  SourceError,
} from "./source.ts";

/** One entry of an upstream list. */
export interface UpstreamEntry {
  /** Base URL without a trailing slash, or `off` (answers not-found for everything). */
  url: string;
  /** The separator after this entry was `|`: fall through on any error, not only 404/410. */
  fallThroughOnError: boolean;
}

/** Options of {@linkcode createUpstream}. */
export interface UpstreamOptions {
  /** How long to wait for response headers (ms). */
  timeoutMs: number;
  /** How long a body may stall between chunks before the download is abandoned (ms). */
  idleTimeoutMs?: number;
  /**
   * How long the body of a small answer (all but a zip: a few hundred bytes,
   * mostly) may take to arrive whole once its headers are in (ms); `timeoutMs`
   * unless given. A zip's is bounded by `idleTimeoutMs` only.
   */
  smallDeadlineMs?: number;
  fetch?: typeof fetch;
  /** Called when a broken zip download goes on from `offset` (for the log). */
  onResume?: (what: string, offset: number, size: number, reason: string) => void;
}

/** The upstream answered a range request, but not with that range: asking again will not help. */
export class CannotResumeError extends SourceError {
  override name = "CannotResumeError";
}

/** A broken zip download is given up after this many resumptions in a row that bring no byte. */
export const MAX_FRUITLESS_RESUMES = 3;
/** …or after this many in all, however many bytes each brought. */
export const MAX_RESUMES = 50;

/** An invalid upstream list. */
export class UpstreamConfigError extends Error {
  override name = "UpstreamConfigError";
  constructor(message: string) {
    super(redactCredentials(message));
  }
}

/**
 * Parses a GOPROXY-style list (`https://a,https://b|https://c`).
 *
 * @example
 * ```ts
 * import { parseUpstreamList } from "./upstream.ts";
 * console.log(parseUpstreamList("https://proxy.golang.org/,http://mirror.lan|off"));
 * // [{ url: "https://proxy.golang.org", fallThroughOnError: false },
 * //  { url: "http://mirror.lan", fallThroughOnError: true }, { url: "off", fallThroughOnError: false }]
 * ```
 */
export function parseUpstreamList(list: string): UpstreamEntry[] {
  const entries: UpstreamEntry[] = [];
  for (const match of list.matchAll(/([^,|]*)([,|]?)/g)) {
    const raw = match[1].trim();
    if (raw === "") {
      if (match[0] === "") break;
      continue;
    }
    entries.push({ url: normalizeEntry(raw), fallThroughOnError: match[2] === "|" });
    if (raw === "off") break;
  }
  if (entries.length === 0) {
    throw new UpstreamConfigError(`upstream list ${JSON.stringify(list)} is empty`);
  }
  return entries;
}

/**
 * An upstream list as it may be shown (in the log): each URL without its user
 * information, separators as they were.
 *
 * @example
 * ```ts
 * import { describeUpstreamList, parseUpstreamList } from "./upstream.ts";
 * console.log(describeUpstreamList(parseUpstreamList("http://me:pa'ss@proxy.lan|off")));
 * // http://proxy.lan|off
 * ```
 */
export function describeUpstreamList(entries: UpstreamEntry[]): string {
  return entries.map((entry, i) =>
    redactUrl(entry.url) + (i === entries.length - 1 ? "" : entry.fallThroughOnError ? "|" : ",")
  ).join("");
}

function normalizeEntry(raw: string): string {
  if (raw === "off") return raw;
  if (raw === "direct") {
    throw new UpstreamConfigError(
      'upstream "direct" is not supported: list proxies only, and serve private git modules with --private',
    );
  }
  // The go command's rule: a bare host (with a dot, colon or slash, no scheme) means https.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UpstreamConfigError(`upstream ${JSON.stringify(redactUrl(raw))} is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:" && url.protocol !== "file:") {
    throw new UpstreamConfigError(
      `upstream ${JSON.stringify(redactUrl(raw))}: only http, https and file are supported`,
    );
  }
  if (url.protocol === "file:" && (url.host !== "" || !url.pathname.startsWith("/"))) {
    throw new UpstreamConfigError(
      `upstream ${JSON.stringify(redactUrl(raw))}: a file upstream is file:///absolute/path`,
    );
  }
  if (url.search || url.hash) {
    throw new UpstreamConfigError(
      `upstream ${JSON.stringify(redactUrl(raw))} must not have a query or fragment`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * The path of a GOPROXY endpoint below a base URL.
 *
 * @example
 * ```ts
 * import { proxyPath } from "./upstream.ts";
 * console.log(proxyPath({ kind: "zip", module: "github.com/BurntSushi/toml", version: "v1.0.0" }));
 * // /github.com/!burnt!sushi/toml/@v/v1.0.0.zip
 * ```
 */
export function proxyPath(request: ArtifactRequest): string {
  const module = encodeURI(escapePath(request.module));
  switch (request.kind) {
    case "list":
      return `/${module}/@v/list`;
    case "latest":
      return `/${module}/@latest`;
    default:
      return `/${module}/@v/${encodeURIComponent(escapeVersion(request.version))}.${request.kind}`;
  }
}

/** A {@linkcode ModuleSource} that can also forward any path, for the checksum database. */
export interface Upstream extends ModuleSource {
  /** GETs `path` (decoded, starting with `/`) from the upstream list, with the list's fallback rules. */
  fetchPath(path: string, what: string, signal?: AbortSignal): Promise<SourceAnswer>;
}

/**
 * A {@linkcode ModuleSource} over an upstream list.
 *
 * @example
 * ```ts
 * import { createUpstream, parseUpstreamList } from "./upstream.ts";
 * const upstream = createUpstream(parseUpstreamList("https://proxy.golang.org"), { timeoutMs: 30_000 });
 * const answer = await upstream.fetch({ kind: "list", module: "golang.org/x/text" });
 * if (answer.found) await answer.body.cancel();
 * ```
 */
export function createUpstream(entries: UpstreamEntry[], options: UpstreamOptions): Upstream {
  const doFetch = options.fetch ?? fetch;
  const idleTimeoutMs = options.idleTimeoutMs ?? Math.max(options.timeoutMs, 30_000);
  const smallDeadlineMs = options.smallDeadlineMs ?? options.timeoutMs;

  /**
   * GETs `url`, waiting at most `timeoutMs` for the response headers. The
   * body is not bound by it (a slow link may take longer): a body that stalls
   * is {@linkcode withIdleTimeout}'s to end.
   */
  async function get(
    url: string,
    what: string,
    signal?: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const headerWait = new AbortController();
    const timer = setTimeout(() => headerWait.abort(), options.timeoutMs);
    try {
      return await doFetch(url, {
        signal: signal ? AbortSignal.any([signal, headerWait.signal]) : headerWait.signal,
        headers: { "user-agent": "astera", ...headers },
      });
    } catch (error) {
      const reason = headerWait.signal.aborted
        ? `no answer within ${options.timeoutMs} ms`
        : errorText(error);
      throw new SourceError(`${what}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async function ask(
    entry: UpstreamEntry,
    path: string,
    description: string,
    signal?: AbortSignal,
    resumable = false,
  ): Promise<SourceAnswer> {
    if (entry.url === "off") {
      return { found: false, status: 404, message: "upstream is off" };
    }
    const url = entry.url + path;
    const what = `upstream ${redactUrl(entry.url)}: ${description}`;
    if (url.startsWith("file:")) return await askFile(url, what);
    // A zip is sent as it is: its length is then known, and a broken one can be resumed.
    const response = await get(
      url,
      what,
      signal,
      resumable ? { "accept-encoding": "identity" } : {},
    );
    if (response.status === 200) {
      const length = response.headers.get("content-length");
      // fetch decodes a compressed body, whose length is then not the Content-Length.
      const size = length !== null && /^\d+$/.test(length) &&
          !response.headers.has("content-encoding")
        ? Number(length)
        : null;
      let body = withIdleTimeout(response.body ?? emptyStream(), idleTimeoutMs, what);
      // A small answer trickled a byte at a time would hold its clients for as long as it lasts.
      if (!resumable) body = withDeadline(body, smallDeadlineMs, what);
      if (!resumable || size === null) {
        const unframed = size === null && !response.headers.has("content-encoding") &&
          !/chunked/i.test(response.headers.get("transfer-encoding") ?? "");
        return { found: true, size, body, unframed };
      }
      const reopen = (offset: number) => askRange(url, offset, size, what, signal);
      const onResume = (offset: number, reason: string) =>
        options.onResume?.(what, offset, size, reason.replace(`${what}: `, ""));
      return { found: true, size, body: resuming(body, size, reopen, { onResume }) };
    }
    // The text of a refusal or failure is bounded in time as a small answer is: an
    // upstream that sends the headers and then stalls must not hold the request.
    const text = response.body &&
      withDeadline(withIdleTimeout(response.body, idleTimeoutMs, what), smallDeadlineMs, what);
    const prefix = await readPrefix(text, 1024);
    const message = new TextDecoder().decode(prefix).trim();
    if (response.status === 404 || response.status === 410) {
      return { found: false, status: response.status, message: message || "not found" };
    }
    const failure = `${what}: status ${response.status}${message ? `: ${firstLine(message)}` : ""}`;
    if (isRefusalStatus(response.status)) {
      throw new RefusedError(response.status, refusalDetail(response, prefix), failure);
    }
    throw new SourceError(failure);
  }

  /**
   * The rest of a zip from `offset`: a 206 for exactly that range, or, from an
   * upstream that ignores ranges, the whole zip again (a 200 of the same
   * length) with its first `offset` bytes dropped.
   */
  async function askRange(
    url: string,
    offset: number,
    size: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await get(url, `${what}: resuming at byte ${offset}`, signal, {
      "range": `bytes=${offset}-`,
      "accept-encoding": "identity",
    });
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
    if (
      response.status === 200 && response.headers.get("content-length") === String(size) &&
      !response.headers.has("content-encoding")
    ) {
      const body = withIdleTimeout(response.body ?? emptyStream(), idleTimeoutMs, what);
      return skipping(body, offset);
    }
    if (
      response.status !== 206 || !range || Number(range[1]) !== offset ||
      Number(range[2]) !== size - 1 || Number(range[3]) !== size ||
      response.headers.has("content-encoding")
    ) {
      await response.body?.cancel().catch(() => {});
      throw new CannotResumeError(
        `${what}: cannot resume at byte ${offset} of ${size}: the upstream answered ${response.status}${
          range ? ` for ${range[0]}` : " without the range"
        }`,
      );
    }
    return withIdleTimeout(response.body ?? emptyStream(), idleTimeoutMs, what);
  }

  async function askAll(
    path: string,
    description: string,
    signal?: AbortSignal,
    resumable = false,
  ): Promise<SourceAnswer> {
    let notFound: SourceAnswer | undefined;
    let failure: unknown;
    for (const entry of entries) {
      try {
        const answer = await ask(entry, path, description, signal, resumable);
        if (answer.found) return answer;
        notFound = answer;
      } catch (error) {
        if (!entry.fallThroughOnError) throw error;
        failure = error;
      }
    }
    // As the go command ranks them: the last failure wins over any not-found.
    if (failure) throw failure;
    return notFound!;
  }

  return {
    fetch: (request, signal) =>
      askAll(proxyPath(request), describeRequest(request), signal, request.kind === "zip"),
    fetchPath: (path, what, signal) => askAll(encodeURI(path), what, signal),
  };
}

/**
 * A `file://` upstream: a directory in GOPROXY layout, such as a module
 * cache's `cache/download`, as the go command reads one.
 */
async function askFile(url: string, what: string): Promise<SourceAnswer> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(fileURLToPath(url));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return { found: false, status: 404, message: `not found: ${what}` };
    }
    throw new SourceError(`${what}: ${errorText(error)}`);
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      file.close();
      return { found: false, status: 404, message: `not found: ${what}` };
    }
    return { found: true, size: info.size, body: file.readable };
  } catch (error) {
    file.close();
    throw new SourceError(`${what}: ${errorText(error)}`);
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/**
 * `first`, and when it fails before `size` bytes, the rest from `reopen` at
 * the byte where it broke, for as long as each reopened stream brings bytes
 * (see {@linkcode MAX_FRUITLESS_RESUMES}, {@linkcode MAX_RESUMES}); a {@linkcode CannotResumeError}
 * from `reopen` ends it at once.
 *
 * @example
 * ```ts
 * import { resuming } from "./upstream.ts";
 * const bytes = new Uint8Array([1, 2, 3, 4]);
 * let first = true;
 * const part = (offset: number) =>
 *   new ReadableStream<Uint8Array>({
 *     pull(controller) {
 *       if (first) {
 *         first = false;
 *         controller.enqueue(bytes.slice(0, 2));
 *       } else if (offset === 0) controller.error(new Error("connection reset"));
 *       else {
 *         controller.enqueue(bytes.slice(offset));
 *         controller.close();
 *       }
 *     },
 *   });
 * const whole = resuming(part(0), 4, (offset) => Promise.resolve(part(offset)));
 * console.log(new Uint8Array(await new Response(whole).arrayBuffer())); // Uint8Array(4) [ 1, 2, 3, 4 ]
 * ```
 */
export function resuming(
  first: ReadableStream<Uint8Array>,
  size: number,
  reopen: (offset: number) => Promise<ReadableStream<Uint8Array>>,
  options: {
    onResume?: (offset: number, reason: string) => void;
    /** The pause before the n-th resumption in a row that brought nothing is n times this. */
    pauseMs?: number;
  } = {},
): ReadableStream<Uint8Array> {
  const pauseMs = options.pauseMs ?? 1000;
  let reader = first.getReader();
  let delivered = 0;
  let fruitless = 0;
  let resumes = 0;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let failure: unknown;
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          if (value.byteLength === 0) continue;
          delivered += value.byteLength;
          fruitless = 0;
          controller.enqueue(value);
          return;
        } catch (error) {
          failure = error;
        }
        reader.cancel(failure).catch(() => {});
        let reopened: ReadableStream<Uint8Array> | undefined;
        while (!reopened) {
          if (delivered >= size || fruitless >= MAX_FRUITLESS_RESUMES || resumes >= MAX_RESUMES) {
            controller.error(failure);
            return;
          }
          // At once the first time (a dropped connection), then with a pause (a link gone flaky).
          if (fruitless > 0) {
            await new Promise((resolve) => setTimeout(resolve, pauseMs * fruitless));
          }
          fruitless++;
          resumes++;
          try {
            reopened = await reopen(delivered);
          } catch (error) {
            const why = `${errorText(error)} (after: ${errorText(failure)})`;
            if (error instanceof CannotResumeError) {
              controller.error(new SourceError(why));
              return;
            }
            failure = new SourceError(why);
          }
        }
        if (cancelled) {
          // The reader went away while we were reconnecting.
          await reopened.cancel().catch(() => {});
          return;
        }
        reader = reopened.getReader();
        options.onResume?.(delivered, errorText(failure));
      }
    },
    cancel(reason) {
      cancelled = true;
      // The current reader may be the one that failed: nothing left to cancel then.
      return reader.cancel(reason).catch(() => {});
    },
  });
}

/** `body` without its first `count` bytes. */
function skipping(body: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let left = count;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          if (left > 0) {
            throw new SourceError(`the body ended ${left} bytes short of the resumption point`);
          }
          controller.close();
          return;
        }
        if (value.byteLength <= left) {
          left -= value.byteLength;
          continue;
        }
        controller.enqueue(left > 0 ? value.subarray(left) : value);
        left = 0;
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Errors the stream if it delivers nothing for `ms`, so a stalled link cannot hold a download forever. */
function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  what: string,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SourceError(`${what}: body stalled for ${ms} ms`)),
          ms,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        reader.cancel(error).catch(() => {});
        controller.error(
          error instanceof SourceError ? error : new SourceError(`${what}: ${errorText(error)}`),
        );
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Errors the stream unless it ends within `ms` of now, however steadily its bytes come. */
function withDeadline(
  body: ReadableStream<Uint8Array>,
  ms: number,
  what: string,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SourceError(`${what}: the answer did not arrive whole within ${ms} ms`)),
      ms,
    );
  });
  late.catch(() => {}); // a body read to its end in time never looks at it
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await Promise.race([reader.read(), late]);
        if (done) {
          clearTimeout(timer);
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        clearTimeout(timer);
        reader.cancel(error).catch(() => {});
        controller.error(error);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
}

/**
 * The text of a refusal as the go command would show it (web.HTTPError's
 * detail): a text/plain body in valid UTF-8, byte for byte; nothing otherwise.
 */
function refusalDetail(response: Response, prefix: Uint8Array): string {
  const type = response.headers.get("content-type") ?? "";
  if (type.split(";")[0].trim().toLowerCase() !== "text/plain") return "";
  try {
    // Streaming, so a character cut by the 1024-byte prefix is dropped, not an error.
    return new TextDecoder("utf-8", { fatal: true }).decode(prefix, { stream: true });
  } catch {
    return "";
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0].slice(0, 200);
}

/** An error's message with those of its causes: fetch's own is only "fetch failed". */
function errorText(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause === undefined || cause === null || depth >= 3
    ? error.message
    : `${error.message}: ${errorText(cause, depth + 1)}`;
}
