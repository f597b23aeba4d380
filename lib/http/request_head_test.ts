import { assert, assertEquals } from "../../tests/assert.ts";
import { findHeadEnd, HttpParseError, parseHead } from "./request_head.ts";

const encoder = new TextEncoder();

Deno.test("a request head ends at its first empty line, CRLF or bare LF", () => {
  const cases: [string, number][] = [
    ["GET / HTTP/1.1\r\n\r\n", 18],
    ["GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1", 27],
    ["GET / HTTP/1.1\n\n", 16],
    ["GET / HTTP/1.1\nHost: a\n\n", 24],
    ["GET / HTTP/1.1\r\nHost: a\r\n", -1],
    ["GET / HTTP/1.1\r\n\r", -1],
    ["", -1],
  ];
  for (const [text, expected] of cases) {
    const bytes = encoder.encode(text);
    assertEquals(findHeadEnd(bytes, 0, bytes.length), expected, JSON.stringify(text));
  }
});

Deno.test("request heads parse into method, target, headers and connection intent", () => {
  const cases: [string, Partial<ReturnType<typeof parseHead>>][] = [
    ["GET /m/@v/list HTTP/1.1\r\nHost: pi\r\n\r\n", {
      method: "GET",
      target: "/m/@v/list",
      keepAlive: true,
      http10: false,
      hasBody: false,
    }],
    ["HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {
      method: "HEAD",
      keepAlive: false,
    }],
    ["GET /x HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", { keepAlive: false }],
    ["GET /x HTTP/1.0\r\n\r\n", { keepAlive: false, http10: true }],
    ["GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\tb \u00e9\r\n\r\n", { target: "/x" }],
    ["GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", { keepAlive: true, http10: true }],
    ["GET http://pi.lan:8080/m/@v/list HTTP/1.1\r\nHost: x\r\n\r\n", { target: "/m/@v/list" }],
    ["GET http://pi.lan HTTP/1.1\r\nHost: x\r\n\r\n", { target: "/" }],
    ["GET /x?y=1 HTTP/1.1\nHost: x\n\n", { target: "/x?y=1" }],
    ["POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", { method: "POST", hasBody: true }],
    ["POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", { hasBody: false }],
    ["GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", { hasBody: true }],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseHead(text);
    for (const [key, value] of Object.entries(expected)) {
      assertEquals(parsed[key as keyof typeof parsed], value, `${JSON.stringify(text)}: ${key}`);
    }
  }
  const headers = parseHead(
    'GET / HTTP/1.1\r\nHost: x\r\nRange:  bytes=0-1 \r\nIF-NONE-MATCH: "a"\r\nif-none-match: "b"\r\n\r\n',
  ).headers;
  assertEquals(headers["range"], "bytes=0-1");
  assertEquals(headers["if-none-match"], '"a", "b"');
  assertEquals(headers["host"], "x");
});

Deno.test("malformed request heads are refused with the status they deserve", () => {
  const many = Array.from({ length: 101 }, (_, i) => `X-${i}: y\r\n`).join("");
  const cases: [string, number][] = [
    ["GET /\r\n\r\n", 400],
    ["GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\n\r\n", 505],
    ["GET / FTP/1.1\r\n\r\n", 400],
    ["G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET /a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET ftp://x/y HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400],
    [`GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`, 431],
    // RFC 9112: control characters in a field value, and a missing or repeated Host, are 400.
    ["GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\u00001\r\n\r\n", 400],
    ['GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: "a\rb"\r\n\r\n', 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u007fb\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\u0001y\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400],
  ];
  for (const [text, status] of cases) {
    let caught: unknown;
    try {
      parseHead(text);
    } catch (error) {
      caught = error;
    }
    assert(caught instanceof HttpParseError, `${JSON.stringify(text)} was accepted`);
    assertEquals(caught.status, status, JSON.stringify(text));
  }
});
