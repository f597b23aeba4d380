import assert from "node:assert/strict";
import type { HttpResponse } from "../http/mod.ts";
import { createForwarder, FORWARD_TOKEN_HEADER, SHARED_ANSWER_MAX } from "./forwarder.ts";

/** A stand-in primary that answers `body` to every request once released, counting them. */
function startPrimary(body: Uint8Array<ArrayBuffer>) {
  const seen: { path: string; token: string | null; range: string | null }[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    seen.push({
      path: new URL(request.url).pathname,
      token: request.headers.get(FORWARD_TOKEN_HEADER),
      range: request.headers.get("range"),
    });
    await released;
    return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    release,
    close: () => server.shutdown(),
  };
}

async function bodyOf(response: HttpResponse): Promise<Uint8Array> {
  const body = response.body;
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body ?? null).arrayBuffer());
}

const GO_MOD = new TextEncoder().encode("module example.com/m\n\ngo 1.21\n");
const get = (target: string, headers: Record<string, string> = {}) => ({
  method: "GET",
  target,
  headers,
});

Deno.test("asks for the same small answer made together share one request to the primary", async () => {
  const primary = startPrimary(GO_MOD);
  try {
    const forward = createForwarder(primary.url, "secret");
    const asks = Array.from({ length: 5 }, () => forward(get("/example.com/m/@v/v1.0.0.mod")));
    primary.release();
    const responses = await Promise.all(asks);
    assert.equal(primary.seen.length, 1);
    assert.deepEqual(primary.seen[0], {
      path: "/example.com/m/@v/v1.0.0.mod",
      token: "secret",
      range: null,
    });
    for (const response of responses) {
      assert.equal(response.status, 200);
      assert.equal(response.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(response.headers["content-length"], String(GO_MOD.byteLength));
      assert.deepEqual(await bodyOf(response), GO_MOD);
    }
  } finally {
    await primary.close();
  }
});

Deno.test("asks made one after another each reach the primary: sharing is not caching", async () => {
  const primary = startPrimary(GO_MOD);
  primary.release();
  try {
    const forward = createForwarder(primary.url);
    await bodyOf(await forward(get("/example.com/m/@v/v1.0.0.mod")));
    await bodyOf(await forward(get("/example.com/m/@v/v1.0.0.mod")));
    assert.equal(primary.seen.length, 2);
  } finally {
    await primary.close();
  }
});

Deno.test("an answer too large to share streams to one asker, and the others ask on their own", async () => {
  const large = new Uint8Array(SHARED_ANSWER_MAX + 1).fill(7);
  const primary = startPrimary(large);
  try {
    const forward = createForwarder(primary.url);
    const asks = Array.from({ length: 3 }, () => forward(get("/example.com/m/@v/v1.0.0.mod")));
    primary.release();
    const bodies = await Promise.all(asks.map(async (ask) => await bodyOf(await ask)));
    assert.equal(primary.seen.length, 3);
    for (const body of bodies) assert.deepEqual(body, large);
  } finally {
    await primary.close();
  }
});

Deno.test("a partial or conditional request is never shared", async () => {
  const primary = startPrimary(GO_MOD);
  try {
    const forward = createForwarder(primary.url);
    const asks = [
      forward(get("/example.com/m/@v/v1.0.0.zip", { range: "bytes=0-9" })),
      forward(get("/example.com/m/@v/v1.0.0.zip", { range: "bytes=0-9" })),
      forward(get("/example.com/m/@v/v1.0.0.zip")),
    ];
    primary.release();
    await Promise.all(asks.map(async (ask) => await bodyOf(await ask)));
    // Each on its own connection: they may arrive in any order.
    assert.deepEqual(primary.seen.map((seen) => String(seen.range)).sort(), [
      "bytes=0-9",
      "bytes=0-9",
      "null",
    ]);
  } finally {
    await primary.close();
  }
});

Deno.test("a primary out of reach is a 502 that says so, for every ask that shared it", async () => {
  const primary = startPrimary(GO_MOD);
  await primary.close();
  const forward = createForwarder(primary.url);
  const responses = await Promise.all([
    forward(get("/example.com/m/@v/list")),
    forward(get("/example.com/m/@v/list")),
  ]);
  for (const response of responses) {
    assert.equal(response.status, 502);
    assert.match(new TextDecoder().decode(await bodyOf(response)), /primary isolate unreachable/);
  }
});
