import { assertEquals } from "../../tests/assert.ts";
import { bytesResponse, IMMUTABLE, parseRange } from "./response.ts";
import type { HttpResponse } from "./types.ts";

const content = { contentType: "application/zip", cacheControl: IMMUTABLE, etag: '"abc"' };
const body = new TextEncoder().encode("0123456789");

function get(headers: Record<string, string> = {}, method = "GET") {
  return bytesResponse({ method, target: "/x.zip", headers }, body, content);
}

function text(response: HttpResponse): string {
  const body = response.body;
  if (body === undefined || body === null) return "";
  if (!(body instanceof Uint8Array)) throw new Error("expected bytes");
  return new TextDecoder().decode(body);
}

Deno.test("range headers parse to half-open intervals", () => {
  const cases: [string, number, ReturnType<typeof parseRange>][] = [
    ["bytes=0-", 10, [0, 10]],
    ["bytes=2-4", 10, [2, 5]],
    ["bytes=2-100", 10, [2, 10]],
    ["bytes=-3", 10, [7, 10]],
    ["bytes=-30", 10, [0, 10]],
    ["bytes=10-", 10, "unsatisfiable"],
    ["bytes=-0", 10, "unsatisfiable"],
    ["bytes=5-2", 10, null],
    ["bytes=0-1,3-4", 10, null],
    ["items=0-1", 10, null],
    ["bytes=-", 10, null],
  ];
  for (const [header, size, expected] of cases) {
    assertEquals(parseRange(header, size), expected, header);
  }
});

Deno.test("a full response carries length, type, cache headers and a strong ETag", () => {
  const response = get();
  assertEquals(response.status, 200);
  assertEquals(response.headers["content-length"], "10");
  assertEquals(response.headers["etag"], '"abc"');
  assertEquals(response.headers["cache-control"], IMMUTABLE);
  assertEquals(text(response), "0123456789");
});

Deno.test("a matching If-None-Match gets 304 without a body", () => {
  const response = get({ "if-none-match": '"other", "abc"' });
  assertEquals(response.status, 304);
  assertEquals(text(response), "");
});

Deno.test("a range gets 206 with Content-Range; a stale If-Range gets the whole body", () => {
  const partial = get({ range: "bytes=4-" });
  assertEquals(partial.status, 206);
  assertEquals(partial.headers["content-range"], "bytes 4-9/10");
  assertEquals(partial.headers["content-length"], "6");
  assertEquals(text(partial), "456789");
  const stale = get({ range: "bytes=4-", "if-range": '"old"' });
  assertEquals(stale.status, 200);
  assertEquals(text(stale), "0123456789");
  const beyond = get({ range: "bytes=99-" });
  assertEquals(beyond.status, 416);
  assertEquals(beyond.headers["content-range"], "bytes */10");
  assertEquals(beyond.headers["content-type"], "text/plain; charset=utf-8");
  assertEquals(text(beyond), "range bytes=99- is not satisfiable: the content is 10 bytes\n");
});

Deno.test("HEAD gets the headers of GET and no body", () => {
  const response = get({}, "HEAD");
  assertEquals(response.status, 200);
  assertEquals(response.headers["content-length"], "10");
  assertEquals(response.body, undefined);
});

Deno.test("HEAD ignores Range, which RFC 9110 defines for GET only", () => {
  const response = get({ range: "bytes=4-" }, "HEAD");
  assertEquals(response.status, 200);
  assertEquals(response.headers["content-length"], "10");
  assertEquals(response.headers["content-range"], undefined);
});

Deno.test("serving a buffer leaves it intact for the next response", () => {
  text(get());
  text(get({ range: "bytes=1-2" }));
  assertEquals(body.byteLength, 10);
  assertEquals(new TextDecoder().decode(body), "0123456789");
});
