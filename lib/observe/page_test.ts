import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import type { HttpRequest } from "../http/types.ts";
import { assetResponse, statusPageResponse } from "./page.ts";

const request = (target: string, accept?: string): HttpRequest => ({
  method: "GET",
  target,
  headers: accept ? { accept } : {},
});

Deno.test("the page goes to browsers only; anyone else gets the 404 they always got", () => {
  const page = statusPageResponse(request("/", "text/html,application/xhtml+xml,*/*;q=0.8"));
  assertEquals(page.status, 200);
  assertEquals(page.headers["content-type"], "text/html; charset=utf-8");
  assertStringIncludes(page.headers["content-security-policy"], "default-src 'none'");
  const html = new TextDecoder().decode(page.body as Uint8Array);
  // Everything it loads is Astera's own.
  for (const src of html.matchAll(/(?:src|href)="([^"]*)"/g)) {
    assert(src[1].startsWith("/_astera/assets/") || src[1] === "data:,", src[1]);
  }
  for (const accept of [undefined, "*/*", "application/json"]) {
    const refused = statusPageResponse(request("/", accept));
    assertEquals(refused.status, 404, String(accept));
    assertStringIncludes(new TextDecoder().decode(refused.body as Uint8Array), "not found");
  }
});

Deno.test("the page's assets are served with their types, uPlot from the pinned package", () => {
  const uplot = assetResponse(request("/_astera/assets/uplot.js"), "uplot.js");
  assertEquals(uplot.status, 200);
  assertStringIncludes(new TextDecoder().decode(uplot.body as Uint8Array), "uPlot");
  assertEquals(
    assetResponse(request("/_astera/assets/status.css"), "status.css").headers["content-type"],
    "text/css; charset=utf-8",
  );
  const etag = uplot.headers["etag"];
  const again = assetResponse(
    { ...request("/_astera/assets/uplot.js"), headers: { "if-none-match": etag } },
    "uplot.js",
  );
  assertEquals(again.status, 304);
  assertEquals(assetResponse(request("/_astera/assets/nope.js"), "nope.js").status, 404);
  assertEquals(assetResponse(request("/_astera/assets/constructor"), "constructor").status, 404);
});
