/**
 * HTTP responses (for {@linkcode serveHttp}) as the go command and caches expect them: exact
 * `Content-Length`, strong ETags with `If-None-Match` (304), single `Range`
 * requests with `If-Range` (206/416), HEAD without a body, and plain-text
 * errors that the go command shows to its user.
 *
 * @module
 */
import type { HttpRequest, HttpResponse } from "./types.ts";

/** `Cache-Control` for content that never changes once served. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** `Cache-Control` for answers that may change (`list`, `@latest`, query `.info`). */
export const SHORT_LIVED = "public, max-age=60";

/** Headers of a successful response. */
export interface ContentHeaders {
  contentType: string;
  cacheControl: string;
  etag?: string;
}

/**
 * A plain-text error response. The go command prints the first lines of it,
 * so the message says what failed and why.
 *
 * @example
 * ```ts
 * import { textError } from "./response.ts";
 * const response = textError(404, "not found: example.com/m@v9.9.9: unknown revision");
 * console.log(response.status); // 404
 * ```
 */
export function textError(status: number, message: string): HttpResponse {
  const body = encoder.encode(message.endsWith("\n") ? message : `${message}\n`);
  return {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-length": String(body.byteLength),
      "cache-control": "no-store",
    },
    body,
  };
}

const encoder = new TextEncoder();

/**
 * A response over bytes held in memory. The bytes are not copied or
 * transferred, so a cached buffer can be answered many times over.
 *
 * @example
 * ```ts
 * import { bytesResponse, IMMUTABLE } from "./response.ts";
 * const request = { method: "GET", target: "/example.com/m/@v/v1.0.0.mod", headers: {} };
 * const response = bytesResponse(request, new TextEncoder().encode("module example.com/m\n"), {
 *   contentType: "text/plain; charset=utf-8",
 *   cacheControl: IMMUTABLE,
 *   etag: '"abc"',
 * });
 * console.log(response.headers["content-length"]); // 21
 * ```
 */
export function bytesResponse(
  request: HttpRequest,
  bytes: Uint8Array,
  headers: ContentHeaders,
): HttpResponse {
  return rangedResponse(
    request,
    bytes.byteLength,
    headers,
    (start, end) => start === 0 && end === bytes.byteLength ? bytes : bytes.subarray(start, end),
  );
}

/**
 * A response of `size` bytes whose body (or the requested range of it) is
 * produced by `open(start, end)` (a stream, or bytes that are sent as they
 * are, never copied) only when a body is sent.
 *
 * @example
 * ```ts
 * import { IMMUTABLE, rangedResponse } from "./response.ts";
 * const request = { method: "GET", target: "/x.zip", headers: { range: "bytes=2-" } };
 * const response = rangedResponse(request, 5, {
 *   contentType: "application/zip", cacheControl: IMMUTABLE, etag: '"e"',
 * }, (start, end) => new Uint8Array([1, 2, 3, 4, 5]).subarray(start, end));
 * console.log(response.status, response.headers["content-range"]); // 206 bytes 2-4/5
 * ```
 */
export function rangedResponse(
  request: HttpRequest,
  size: number,
  content: ContentHeaders,
  open: (start: number, end: number) => ReadableStream<Uint8Array> | Uint8Array,
): HttpResponse {
  const headers: Record<string, string> = {
    "content-type": content.contentType,
    "cache-control": content.cacheControl,
    "accept-ranges": content.etag ? "bytes" : "none",
  };
  if (content.etag) headers["etag"] = content.etag;
  if (content.etag && etagMatches(request.headers["if-none-match"], content.etag)) {
    return { status: 304, headers };
  }
  let status = 200;
  let start = 0;
  let end = size;
  // RFC 9110 14.2: Range is defined for GET only; a HEAD gets the head of the whole answer.
  const range = request.method === "GET" ? request.headers["range"] : undefined;
  const ifRange = request.headers["if-range"];
  if (range && content.etag && (ifRange === undefined || ifRange === content.etag)) {
    const parsed = parseRange(range, size);
    if (parsed === "unsatisfiable") {
      // An error, as text like every other error: not the content's type, which it is not.
      const answer = textError(
        416,
        `range ${range} is not satisfiable: the content is ${size} bytes`,
      );
      answer.headers["content-range"] = `bytes */${size}`;
      return answer;
    }
    if (parsed) {
      [start, end] = parsed;
      status = 206;
      headers["content-range"] = `bytes ${start}-${end - 1}/${size}`;
    }
  }
  headers["content-length"] = String(end - start);
  if (request.method === "HEAD") return { status, headers };
  return { status, headers, body: open(start, end) };
}

/**
 * Parses a single-range `Range` header into a half-open `[start, end)`; null
 * for a header we do not honour (multiple ranges, other units, malformed), in
 * which case the whole body is sent.
 *
 * @example
 * ```ts
 * import { parseRange } from "./response.ts";
 * console.log(parseRange("bytes=100-", 1000)); // [100, 1000]
 * console.log(parseRange("bytes=-10", 1000)); // [990, 1000]
 * console.log(parseRange("bytes=2000-", 1000)); // "unsatisfiable"
 * ```
 */
export function parseRange(
  header: string,
  size: number,
): [number, number] | "unsatisfiable" | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(match[1]);
  const last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  if (last < start) return null;
  return [start, last + 1];
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed === etag || trimmed === `W/${etag}`;
  });
}
