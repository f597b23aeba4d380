/**
 * Reading a request head: where it ends in the bytes received so far, and
 * what it says (method, target, lower-cased headers, whether the connection
 * may be kept and whether a body follows). Anything malformed is an
 * {@linkcode HttpParseError} carrying the status to answer with; the server
 * answers it and closes the connection.
 *
 * @module
 */
import type { HttpRequest } from "./types.ts";

const MAX_HEADERS = 100;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A request head that cannot be served; answered with `status` and the connection closed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpParseError, parseHead } from "./request_head.ts";
 * try {
 *   parseHead("GET / HTTP/1.1\r\n\r\n");
 * } catch (error) {
 *   assert(error instanceof HttpParseError && error.status === 400);
 * }
 * ```
 */
export class HttpParseError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpParseError";
  }
}

/**
 * A parsed request head and what it says about the connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ParsedHead, parseHead } from "./request_head.ts";
 * const head: ParsedHead = parseHead("GET / HTTP/1.0\r\n\r\n");
 * assert(head.http10 && !head.keepAlive && !head.hasBody);
 * ```
 */
export interface ParsedHead extends HttpRequest {
  /** The client asked to keep the connection open (HTTP/1.1 default, or HTTP/1.0 keep-alive). */
  keepAlive: boolean;
  /** HTTP/1.0, which needs `connection: keep-alive` spelled out. */
  http10: boolean;
  /** The request announced a body (`content-length` > 0 or `transfer-encoding`). */
  hasBody: boolean;
}

/**
 * Where the request head starting at `start` ends (just past its empty
 * line), or -1 when it is not all in `buffer[start, end)` yet. Bare LF line
 * ends are accepted as well as CRLF.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "./request_head.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET");
 * console.log(findHeadEnd(bytes, 0, bytes.length)); // 27
 * ```
 */
export function findHeadEnd(buffer: Uint8Array, start: number, end: number): number {
  for (let i = start + 1; i < end; i++) {
    if (buffer[i] !== 10) continue;
    const previous = buffer[i - 1];
    if (previous === 10) return i + 1;
    if (previous === 13 && i - 2 >= start && buffer[i - 2] === 10) return i + 1;
  }
  return -1;
}

/**
 * Parses a request head (request line and header fields, up to and
 * including the empty line). Throws {@linkcode HttpParseError} with the
 * status to answer for anything malformed.
 *
 * @example
 * ```ts
 * import { parseHead } from "./request_head.ts";
 * const head = parseHead("GET /m/@v/list HTTP/1.1\r\nHost: pi\r\nRange: bytes=0-9\r\n\r\n");
 * console.log(head.method, head.target, head.headers["range"], head.keepAlive); // GET /m/@v/list bytes=0-9 true
 * ```
 */
export function parseHead(text: string): ParsedHead {
  const lineEnd = text.indexOf("\n");
  const requestLine = text.slice(
    0,
    lineEnd > 0 && text[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd,
  );
  const firstSpace = requestLine.indexOf(" ");
  const secondSpace = requestLine.indexOf(" ", firstSpace + 1);
  if (firstSpace <= 0 || secondSpace < 0) {
    throw new HttpParseError(400, "bad request: malformed request line");
  }
  const method = requestLine.slice(0, firstSpace);
  const version = requestLine.slice(secondSpace + 1);
  if (method !== "GET" && method !== "HEAD" && !TOKEN.test(method)) {
    throw new HttpParseError(400, "bad request: malformed method");
  }
  let http10 = false;
  if (version !== "HTTP/1.1") {
    if (version === "HTTP/1.0") http10 = true;
    else if (/^HTTP\/\d\.\d$/.test(version)) {
      throw new HttpParseError(505, `HTTP version not supported: ${version}: use HTTP/1.1`);
    } else throw new HttpParseError(400, "bad request: malformed request line");
  }
  const target = originForm(requestLine.slice(firstSpace + 1, secondSpace));
  const headers = parseFields(text, lineEnd + 1);
  if (!http10 && headers["host"] === undefined) {
    // RFC 9112 3.2: an HTTP/1.1 request without Host is answered 400.
    throw new HttpParseError(400, "bad request: an HTTP/1.1 request needs a Host header");
  }
  const connection = headers["connection"]?.toLowerCase();
  const keepAlive = http10
    ? connection !== undefined && hasToken(connection, "keep-alive")
    : connection === undefined || !hasToken(connection, "close");
  const length = headers["content-length"];
  if (length !== undefined && !/^\d+(\s*,\s*\d+)*$/.test(length)) {
    throw new HttpParseError(400, "bad request: malformed content-length");
  }
  const hasBody = headers["transfer-encoding"] !== undefined ||
    (length !== undefined && /[1-9]/.test(length));
  // `address` is the server's to fill in; set here, every head has the same shape.
  return { method, target, headers, address: "", keepAlive, http10, hasBody };
}

/** The target in origin form, checked for bytes it may not have; absolute-form is reduced to its path. */
function originForm(target: string): string {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) {
      throw new HttpParseError(400, "bad request: the request target has a byte it may not have");
    }
  }
  if (target[0] !== "/") {
    // Absolute-form, as sent to a proxy: keep the path and query.
    const match = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!match) throw new HttpParseError(400, "bad request: the request target is not a path");
    return match[1] === "" || match[1][0] === "?" ? `/${match[1]}` : match[1];
  }
  return target;
}

/** The header fields from `position` to the empty line, by lower-case name. */
function parseFields(text: string, position: number): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  let count = 0;
  while (position < text.length) {
    let lineEnd = text.indexOf("\n", position);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(position, text[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd);
    position = lineEnd + 1;
    if (line === "") break;
    if (++count > MAX_HEADERS) {
      throw new HttpParseError(431, `request header fields too large: more than ${MAX_HEADERS}`);
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpParseError(400, "bad request: malformed header field");
    const name = line.slice(0, colon);
    // A name with spaces around it, or a folded line, is refused as RFC 9112 asks.
    if (!TOKEN.test(name)) throw new HttpParseError(400, "bad request: malformed header field");
    const key = name.toLowerCase();
    const value = trimOws(line.slice(colon + 1));
    // A NUL or bare CR would reach whatever reads the value next (a forwarded fetch refuses it).
    if (hasControl(value)) {
      throw new HttpParseError(400, `bad request: header ${name} has a control character`);
    }
    const earlier = headers[key];
    if (earlier !== undefined && key === "host") {
      throw new HttpParseError(400, "bad request: more than one Host header");
    }
    headers[key] = earlier === undefined ? value : `${earlier}, ${value}`;
  }
  return headers;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** A control character a field value may not hold (RFC 9110 5.5 allows HTAB only): NUL, bare CR, DEL… */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function hasToken(list: string, token: string): boolean {
  return list === token || list.split(",").some((part) => part.trim() === token);
}
