/**
 * The status page and what it loads, all served by Astera itself: the HTML,
 * its script and style, and the uPlot chart library, read from the pinned npm
 * package at build time (text imports, so `deno bundle` and `deno compile`
 * carry it) and never from the network at run time. The page works with the
 * link down and loads nothing from elsewhere (its Content-Security-Policy
 * says so to the browser).
 *
 * @module
 */
import uplotScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import pageHtml from "./page/status.html" with { type: "text" };
import pageScript from "./page/status.js" with { type: "text" };
import pageStyle from "./page/status.css" with { type: "text" };
import { bytesResponse, textError } from "../http/response.ts";
import type { HttpRequest, HttpResponse } from "../http/types.ts";

/** A file the page loads. */
interface Asset {
  body: Uint8Array;
  contentType: string;
  etag: string;
}

const SOURCES: Record<string, [string, string]> = {
  "uplot.js": [uplotScript, "text/javascript; charset=utf-8"],
  "uplot.css": [uplotStyle, "text/css; charset=utf-8"],
  "status.js": [pageScript, "text/javascript; charset=utf-8"],
  "status.css": [pageStyle, "text/css; charset=utf-8"],
};

/** Everything from this server, nothing inline but uPlot's element styles, nothing framed. */
const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

let assets: Map<string, Asset> | undefined;
let page: Asset | undefined;

/**
 * `GET /`: the status page for a browser (a request whose `Accept` names
 * `text/html`); anyone else gets the 404 a path outside the protocol gets.
 *
 * @example
 * ```ts
 * import { statusPageResponse } from "./page.ts";
 * const browser = { method: "GET", target: "/", headers: { accept: "text/html,*\/*" } };
 * console.log(statusPageResponse(browser).status); // 200
 * console.log(statusPageResponse({ method: "GET", target: "/", headers: {} }).status); // 404
 * ```
 */
export function statusPageResponse(request: HttpRequest): HttpResponse {
  if (!(request.headers["accept"] ?? "").includes("text/html")) {
    return textError(404, "not found: / is not a module proxy path");
  }
  page ??= asset(pageHtml, "text/html; charset=utf-8");
  return withPageHeaders(respond(request, page));
}

/**
 * `GET /_astera/assets/<name>`: the page's script and style and uPlot's.
 *
 * @example
 * ```ts
 * import { assetResponse } from "./page.ts";
 * const request = { method: "GET", target: "/_astera/assets/uplot.js", headers: {} };
 * console.log(assetResponse(request, "uplot.js").headers["content-type"]);
 * // text/javascript; charset=utf-8
 * ```
 */
export function assetResponse(request: HttpRequest, name: string): HttpResponse {
  assets ??= new Map(
    Object.entries(SOURCES).map(([file, [text, type]]) => [file, asset(text, type)]),
  );
  const found = Object.hasOwn(SOURCES, name) ? assets.get(name) : undefined;
  if (!found) return textError(404, `not found: no asset ${name.slice(0, 100)}`);
  return withPageHeaders(respond(request, found));
}

function respond(request: HttpRequest, file: Asset): HttpResponse {
  // Revalidated each time (a 304 while unchanged), so a new build's page is never mixed with an old script.
  return bytesResponse(request, file.body, {
    contentType: file.contentType,
    cacheControl: "no-cache",
    etag: file.etag,
  });
}

function withPageHeaders(response: HttpResponse): HttpResponse {
  Object.assign(response.headers, PAGE_HEADERS);
  return response;
}

function asset(text: string, contentType: string): Asset {
  const body = new TextEncoder().encode(text);
  return { body, contentType, etag: `"${fnv1a(body).toString(16)}"` };
}

/** FNV-1a, 32 bits: enough to tell two builds' files apart. */
function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}
