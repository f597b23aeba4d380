/**
 * The client of upstream proxies: a GOPROXY-style list of base URLs asked in
 * order, falling through after `,` only on 404/410 and after `|` on any error,
 * exactly as the go command does (GOPROXY-SPEC §1.4).
 *
 * A zip whose connection breaks or stalls part-way is resumed where it broke
 * with a `Range` request to the same upstream (see `resume.ts`), so a flaky
 * link costs the missing bytes, not the whole zip, and clients never notice.
 * Request paths are written by `lib/goproxy/paths.ts`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { readPrefix } from "../util/bytes.ts";
import { redactCredentials, redactUrl } from "../log.ts";
import { errorTextWithCauses } from "../util/errors.ts";
import { proxyPath } from "../goproxy/paths.ts";
import { rangeHeaders, restOfZip, resuming } from "./resume.ts";
import {
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
  const client = new UpstreamClient(entries, options);
  return {
    fetch: (request, signal) =>
      client.askAll(proxyPath(request), describeRequest(request), signal, request.kind === "zip"),
    fetchPath: (path, what, signal) => client.askAll(encodeURI(path), what, signal),
  };
}

/** The requests to an upstream list, and what their answers are worth. */
class UpstreamClient {
  readonly #entries: UpstreamEntry[];
  readonly #options: UpstreamOptions;
  readonly #fetch: typeof fetch;
  readonly #idleTimeoutMs: number;
  readonly #smallDeadlineMs: number;

  constructor(entries: UpstreamEntry[], options: UpstreamOptions) {
    this.#entries = entries;
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? Math.max(options.timeoutMs, 30_000);
    this.#smallDeadlineMs = options.smallDeadlineMs ?? options.timeoutMs;
  }

  /** Asks the entries in order, falling through as the go command does. */
  async askAll(
    path: string,
    description: string,
    signal?: AbortSignal,
    resumable = false,
  ): Promise<SourceAnswer> {
    let notFound: SourceAnswer | undefined;
    let failure: unknown;
    for (const entry of this.#entries) {
      try {
        const answer = await this.#ask(entry, path, description, signal, resumable);
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

  /**
   * GETs `url`, waiting at most `timeoutMs` for the response headers. The
   * body is not bound by it (a slow link may take longer): a body that stalls
   * is {@linkcode withIdleTimeout}'s to end.
   */
  async #get(
    url: string,
    what: string,
    signal?: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const timeoutMs = this.#options.timeoutMs;
    const headerWait = new AbortController();
    const timer = setTimeout(() => headerWait.abort(), timeoutMs);
    try {
      return await this.#fetch(url, {
        signal: signal ? AbortSignal.any([signal, headerWait.signal]) : headerWait.signal,
        headers: { "user-agent": "astera", ...headers },
      });
    } catch (error) {
      const reason = headerWait.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : errorTextWithCauses(error);
      throw new SourceError(`${what}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async #ask(
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
    const response = await this.#get(
      url,
      what,
      signal,
      resumable ? { "accept-encoding": "identity" } : {},
    );
    if (response.status === 200) return this.#found(response, url, what, resumable, signal);
    return await this.#notFound(response, what);
  }

  /** A 200: its body bounded in time, and a zip's resumed should it break. */
  #found(
    response: Response,
    url: string,
    what: string,
    resumable: boolean,
    signal?: AbortSignal,
  ): SourceAnswer {
    const length = response.headers.get("content-length");
    // fetch decodes a compressed body, whose length is then not the Content-Length.
    const size = length !== null && /^\d+$/.test(length) &&
        !response.headers.has("content-encoding")
      ? Number(length)
      : null;
    let body = withIdleTimeout(response.body ?? emptyStream(), this.#idleTimeoutMs, what);
    // A small answer trickled a byte at a time would hold its clients for as long as it lasts.
    if (!resumable) body = withDeadline(body, this.#smallDeadlineMs, what);
    if (!resumable || size === null) {
      const unframed = size === null && !response.headers.has("content-encoding") &&
        !/chunked/i.test(response.headers.get("transfer-encoding") ?? "");
      return { found: true, size, body, unframed };
    }
    const reopen = (offset: number) => this.#askRange(url, offset, size, what, signal);
    const onResume = (offset: number, reason: string) =>
      this.#options.onResume?.(what, offset, size, reason.replace(`${what}: `, ""));
    return { found: true, size, body: resuming(body, size, reopen, { onResume }) };
  }

  /** Any other status: a not-found answer for 404 and 410, else a failure or refusal. */
  async #notFound(response: Response, what: string): Promise<SourceAnswer> {
    // The text of a refusal or failure is bounded in time as a small answer is: an
    // upstream that sends the headers and then stalls must not hold the request.
    const text = response.body &&
      withDeadline(
        withIdleTimeout(response.body, this.#idleTimeoutMs, what),
        this.#smallDeadlineMs,
        what,
      );
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

  /** The rest of a zip from `offset` (see {@linkcode restOfZip}). */
  async #askRange(
    url: string,
    offset: number,
    size: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const asking = `${what}: resuming at byte ${offset}`;
    const response = await this.#get(url, asking, signal, rangeHeaders(offset));
    return await restOfZip(
      response,
      offset,
      size,
      what,
      (body) => withIdleTimeout(body ?? emptyStream(), this.#idleTimeoutMs, what),
    );
  }
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
    throw new SourceError(`${what}: ${errorTextWithCauses(error)}`);
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
    throw new SourceError(`${what}: ${errorTextWithCauses(error)}`);
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
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
          error instanceof SourceError
            ? error
            : new SourceError(`${what}: ${errorTextWithCauses(error)}`),
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
