import { assert, assertEquals } from "../../tests/assert.ts";
import { findHeadEnd } from "./request_head.ts";
import { type HttpServer, type HttpServerOptions, serveHttp } from "./server.ts";
import type { HttpHandler, HttpResponse } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server on a free port for one test. */
async function withServer(
  handler: HttpHandler,
  run: (port: number, errors: string[], server: HttpServer) => Promise<void>,
  options: Partial<HttpServerOptions> = {},
): Promise<void> {
  const errors: string[] = [];
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    onError: (event, error) => errors.push(`${event}: ${error}`),
    ...options,
  }, handler);
  try {
    await run(server.addr.port, errors, server);
  } finally {
    await server.shutdown();
  }
}

/** A raw client: sends bytes, reads responses one by one or until the server closes. */
class RawClient {
  #buffer = new Uint8Array(0);
  private constructor(readonly conn: Deno.TcpConn) {}

  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname, port }));
  }

  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Reads more; false when the server closed (or reset) the connection. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let read: number | null;
    try {
      read = await this.conn.read(chunk);
    } catch {
      read = null;
    }
    if (read === null) return false;
    const joined = new Uint8Array(this.#buffer.length + read);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, read), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  /** One response; for HEAD pass `head` so the declared length is not read as a body. */
  async response(head = false): Promise<{ status: number; headers: Headers; body: string }> {
    let end: number;
    while ((end = findHeadEnd(this.#buffer, 0, this.#buffer.length)) < 0) {
      if (!await this.#fill()) throw new Error("connection closed before a response head");
    }
    const lines = decoder.decode(this.#buffer.subarray(0, end)).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const length = head || status === 304 ? 0 : Number(headers.get("content-length") ?? "0");
    while (this.#buffer.length < end + length) {
      if (!await this.#fill()) throw new Error("connection closed inside a response body");
    }
    const body = decoder.decode(this.#buffer.subarray(end, end + length));
    this.#buffer = this.#buffer.slice(end + length);
    return { status, headers, body };
  }

  /** Everything until the server closes the connection. */
  async rest(): Promise<string> {
    while (await this.#fill()) { /* until the server closes */ }
    const text = decoder.decode(this.#buffer);
    this.#buffer = new Uint8Array(0);
    return text;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed by the server.
    }
  }
}

/** Sends `request` on a new connection: the one response, and what follows it before the server closes. */
async function answerOnce(port: number, request: string) {
  const client = await RawClient.connect(port);
  try {
    await client.send(request);
    const response = await client.response();
    return { response, rest: await client.rest() };
  } finally {
    client.close();
  }
}

const echo: HttpHandler = (request) => ({
  status: 200,
  headers: { "content-type": "text/plain" },
  body: encoder.encode(`${request.method} ${request.target}`),
});

Deno.test("pipelined requests are answered in order on one connection", async () => {
  await withServer(echo, async (port) => {
    const client = await RawClient.connect(port);
    await client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await client.response()).body, "GET /a");
    assertEquals((await client.response()).body, "GET /b");
    await client.send("\r\nHEAD /c HTTP/1.1\r\nHost: x\r\n\r\n");
    const head = await client.response(true);
    assertEquals(head.status, 200);
    assertEquals(head.headers.get("content-length"), "7");
    await client.send("GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    const last = await client.response();
    assertEquals(last.body, "GET /d");
    assertEquals(last.headers.get("connection"), null);
    assert(last.headers.get("date") !== null, "a Date header");
    client.close();
  });
});

Deno.test("connection: close, HTTP/1.0 and request bodies end the connection after the answer", async () => {
  await withServer(echo, async (port) => {
    const cases: [string, number][] = [
      [
        "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n",
        200,
      ],
      ["GET /a HTTP/1.0\r\n\r\n", 200],
      [
        "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
      ],
      ["GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
      ["POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 200],
    ];
    for (const [request, status] of cases) {
      const { response, rest } = await answerOnce(port, request);
      assertEquals(response.status, status, request);
      assertEquals(response.headers.get("connection"), "close", request);
      assertEquals(rest, "", request);
    }
    const client = await RawClient.connect(port);
    await client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assertEquals((await client.response()).headers.get("connection"), "keep-alive");
    await client.send("GET /b HTTP/1.0\r\n\r\n");
    assertEquals((await client.response()).body, "GET /b");
    assertEquals(await client.rest(), "");
    client.close();
  });
});

Deno.test("malformed, oversized and unsupported requests get a 4xx/505 and the server stays up", async () => {
  await withServer(echo, async (port) => {
    const cases: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      ["GET / HTTP/2.0\r\n\r\n", 505],
      ["GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n", 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX: ${"y".repeat(20_000)}\r\n\r\n`, 431],
      [`GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n`, 431],
      ["\u0000\u0001\u0002\r\n\r\n", 400],
    ];
    for (const [request, status] of cases) {
      const { response } = await answerOnce(port, request);
      assertEquals(response.status, status, request.slice(0, 40));
      assert(response.body.length > 0, "the reason is in the body");
    }
    const response = await fetch(`http://127.0.0.1:${port}/still/up`);
    assertEquals(await response.text(), "GET /still/up");
  }, { maxHeadBytes: 16 * 1024 });
});

Deno.test("a handler that throws gets a 500, reported once, and the connection goes on", async () => {
  const handler: HttpHandler = (request) => {
    if (request.target === "/boom") throw new Error("boom");
    return echo(request);
  };
  await withServer(handler, async (port, errors) => {
    const client = await RawClient.connect(port);
    await client.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /fine HTTP/1.1\r\nHost: x\r\n\r\n");
    const failed = await client.response();
    assertEquals(failed.status, 500);
    assertEquals(failed.body, "internal error\n");
    assertEquals((await client.response()).body, "GET /fine");
    assertEquals(errors, ["handler-error: Error: boom"]);
    client.close();
  });
});

/** A stream body of `chunks` chunks of `size` bytes, telling when it was cancelled. */
function countingStream(chunks: number, size: number, failAt = -1) {
  let sent = 0;
  let cancelled!: () => void;
  const cancelledPromise = new Promise<void>((resolve) => cancelled = resolve);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === failAt) {
        controller.error(new Error("source failed"));
        return;
      }
      if (sent === chunks) {
        controller.close();
        return;
      }
      sent++;
      controller.enqueue(new Uint8Array(size).fill(97));
    },
    cancel() {
      cancelled();
    },
  });
  return { stream, cancelled: cancelledPromise };
}

Deno.test("stream bodies arrive whole with their declared length, or the connection ends short", async () => {
  let body = countingStream(4, 1000);
  let declared = "4000";
  const handler: HttpHandler = () => ({
    status: 200,
    headers: { "content-type": "application/zip", "content-length": declared },
    body: body.stream,
  });
  await withServer(handler, async (port) => {
    const whole = await RawClient.connect(port);
    await whole.send("GET /z HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await whole.response()).body, "a".repeat(4000));
    // Still usable after a complete stream.
    body = countingStream(1, 10);
    declared = "10";
    await whole.send("GET /z HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await whole.response()).body, "a".repeat(10));
    whole.close();

    body = countingStream(4, 1000, 2);
    declared = "4000";
    const failing = await RawClient.connect(port);
    await failing.send("GET /z HTTP/1.1\r\nHost: x\r\n\r\n");
    const text = await failing.rest();
    assert(text.startsWith("HTTP/1.1 200 OK\r\n"), text.slice(0, 40));
    assertEquals(text.slice(text.indexOf("\r\n\r\n") + 4), "a".repeat(2000));
    failing.close();

    body = countingStream(4, 1000);
    declared = "2500";
    const longer = await RawClient.connect(port);
    await longer.send("GET /z HTTP/1.1\r\nHost: x\r\n\r\nGET /z HTTP/1.1\r\nHost: x\r\n\r\n");
    const cut = await longer.rest();
    assertEquals(cut.slice(cut.indexOf("\r\n\r\n") + 4), "a".repeat(2500));
    await body.cancelled;
    longer.close();

    body = countingStream(4, 1000);
    declared = "4000";
    const head = await RawClient.connect(port);
    await head.send("HEAD /z HTTP/1.1\r\nHost: x\r\n\r\n");
    const response = await head.response(true);
    assertEquals(response.headers.get("content-length"), "4000");
    head.close();
  });
});

Deno.test("a client that hangs up or stops reading mid-body cancels the stream", async () => {
  let body = countingStream(1_000_000, 65536);
  const handler: HttpHandler = () => ({
    status: 200,
    headers: { "content-length": String(1_000_000 * 65536) },
    body: body.stream,
  });
  await withServer(handler, async (port) => {
    const hangsUp = await RawClient.connect(port);
    await hangsUp.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await hangsUp.response(true);
    hangsUp.close();
    await body.cancelled;

    body = countingStream(1_000_000, 65536);
    const stalls = await RawClient.connect(port);
    await stalls.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // Never reads: the socket buffers fill, the write makes no progress, the server gives up.
    await body.cancelled;
    stalls.close();
  }, { writeTimeoutMs: 200 });
});

Deno.test("a request head that never completes, and an idle connection, are closed", async () => {
  await withServer(echo, async (port) => {
    const slow = await RawClient.connect(port);
    await slow.send("GET /slowloris HTTP/1.1\r\nHost: x\r\nX-A: ");
    assertEquals(await slow.rest(), "");
    slow.close();
    const idle = await RawClient.connect(port);
    await idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await idle.response()).body, "GET /a");
    assertEquals(await idle.rest(), "");
    idle.close();
  }, { headTimeoutMs: 100, idleTimeoutMs: 100 });
});

Deno.test("a request head trickled a byte at a time is closed at its deadline all the same", async () => {
  await withServer(echo, async (port) => {
    const slow = await RawClient.connect(port);
    await slow.send("GET /trickle HTTP/1.1\r\nHost: x\r\nX-A: ");
    let closed = false;
    const ended = slow.rest().then(() => closed = true);
    // A byte every 30 ms, each well within the 200 ms the head has, for up to 3 s.
    for (let i = 0; i < 100 && !closed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await slow.send("a").catch(() => closed = true);
    }
    assert(closed, "a head trickled over 3 s was still being read");
    await ended;
    slow.close();
  }, { headTimeoutMs: 200, idleTimeoutMs: 1000 });
});

Deno.test("a wall clock stepped forward (NTP at boot) drops no connection", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const handler: HttpHandler = (request): HttpResponse => {
    if (request.target !== "/slow") return { status: 200, headers: {}, body: new Uint8Array(1) };
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 1) await released;
        controller.enqueue(new TextEncoder().encode(sent++ === 0 ? "first " : "second"));
        if (sent === 2) controller.close();
      },
    });
    return { status: 200, headers: { "content-length": "12" }, body };
  };
  const realNow = Date.now;
  await withServer(handler, async (port) => {
    const slow = await RawClient.connect(port);
    await slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    const idle = await RawClient.connect(port);
    await idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    await idle.response();
    const day = 24 * 60 * 60 * 1000;
    const stepped = new Date(realNow() + day).toUTCString().slice(0, 16); // e.g. "Thu, 26 Nov 2026"
    Date.now = () => realNow() + day;
    try {
      // The Date header shows when the server's clock tick has seen the step.
      const probe = await RawClient.connect(port);
      let seen = false;
      for (let i = 0; i < 100_000 && !seen; i++) {
        await probe.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        seen = (await probe.response()).headers.get("date")?.startsWith(stepped) ?? false;
      }
      probe.close();
      assert(seen, "the server's clock never saw the step");
    } finally {
      Date.now = realNow;
    }
    await idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await idle.response()).status, 200, "the idle connection is still open");
    release();
    const response = await slow.response();
    assertEquals(response.body, "first second", "the response in progress is whole");
    slow.close();
    idle.close();
  }, { headTimeoutMs: 100, idleTimeoutMs: 1000, writeTimeoutMs: 1000 });
});

Deno.test("shutdown closes idle connections and lets a request in progress finish", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let arrived!: () => void;
  const inHandler = new Promise<void>((resolve) => arrived = resolve);
  const server = serveHttp({ hostname: "127.0.0.1", port: 0 }, async (request) => {
    if (request.target === "/slow") {
      arrived();
      await released;
    }
    return echo(request);
  });
  const port = server.addr.port;
  const idle = await RawClient.connect(port);
  await idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  await idle.response();
  const busy = await RawClient.connect(port);
  await busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await inHandler;
  const stopped = server.shutdown();
  assertEquals(await idle.rest(), "");
  let connectError: unknown;
  await Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => conn.close(), (error) => {
    connectError = error;
  });
  assert(connectError instanceof Deno.errors.ConnectionRefused, "no longer accepting");
  release();
  const response = await busy.response();
  assertEquals(response.body, "GET /slow");
  assertEquals(response.headers.get("connection"), "close");
  assertEquals(await busy.rest(), "");
  await stopped;
  assertEquals(server.connections(), 0);
  idle.close();
  busy.close();
});

Deno.test("fetch reuses connections and gets every body intact", async () => {
  const large = new Uint8Array(300_000).map((_, i) => i % 251);
  const handler: HttpHandler = (request) =>
    request.target === "/large"
      ? { status: 200, headers: {}, body: large }
      : { status: 404, headers: {}, body: encoder.encode("not found\n") };
  await withServer(handler, async (port) => {
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/large`);
      assertEquals(new Uint8Array(await response.arrayBuffer()), large);
      const missing = await fetch(`http://127.0.0.1:${port}/x`);
      assertEquals([missing.status, await missing.text()], [404, "not found\n"]);
    }
    assertEquals(large[1], 1, "the served buffer is left as it was");
  });
});

/** A handler whose `/slow` requests wait for `release()`; `arrived(n)` resolves once n are waiting. */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let waiting = 0;
  const watchers: [number, () => void][] = [];
  const handler: HttpHandler = async (request) => {
    if (request.target.startsWith("/slow")) {
      waiting++;
      for (const [count, resolve] of watchers) if (waiting >= count) resolve();
      await released;
    }
    return echo(request);
  };
  const arrived = (count: number) =>
    new Promise<void>((resolve) => {
      if (waiting >= count) resolve();
      else watchers.push([count, resolve]);
    });
  return { handler, release, arrived };
}

Deno.test("when every connection has a request in progress, a client waits until one is free", async () => {
  const { handler, release, arrived } = gate();
  await withServer(handler, async (port, _errors, server) => {
    const first = await RawClient.connect(port);
    await first.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await arrived(1);
    const second = await RawClient.connect(port);
    await second.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(server.connections(), 1, "the second connection is not taken yet");
    release();
    assertEquals((await first.response()).body, "GET /slow", "the request in progress is whole");
    // Once idle, the first connection makes room for the second.
    assertEquals((await second.response()).body, "GET /2");
    assertEquals(await first.rest(), "");
    second.close();
    first.close();
  }, { maxConnections: 1 });
});

Deno.test("idle connections hoarded by one address lock no one out, and no request in progress is cut", async () => {
  const { handler, release, arrived } = gate();
  await withServer(handler, async (port, _errors, server) => {
    const busy: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      busy.push(await RawClient.connect(port));
      await busy[i].send(`GET /slow/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await arrived(i + 1);
    }
    // Far more connections than slots, none sending a byte, all from 127.0.0.1.
    const idle: RawClient[] = [];
    for (let i = 0; i < 60; i++) idle.push(await RawClient.connect(port));
    const response = await fetch(`http://127.0.0.1:${port}/new`);
    assertEquals(await response.text(), "GET /new", "a new client is served");
    assertEquals(await idle[0].rest(), "", "the longest-idle connection made room");
    assert(server.connections() <= 8, `${server.connections()} connections open`);
    release();
    for (let i = 0; i < busy.length; i++) {
      assertEquals((await busy[i].response()).body, `GET /slow/${i}`);
    }
    for (const client of [...busy, ...idle]) client.close();
  }, {
    maxConnections: 8,
    maxWaitingPerAddress: 1000,
    firstByteTimeoutMs: 60_000,
    freshGraceMs: 0,
  });
});

Deno.test("one address keeps only so many connections waiting; those being answered do not count", async () => {
  const { handler, release, arrived } = gate();
  await withServer(handler, async (port) => {
    // Ten clients behind one address (a build host, a NAT), all mid-request: none is refused.
    const busy: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      busy.push(await RawClient.connect(port));
      await busy[i].send(`GET /slow/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    }
    await arrived(10);
    const idle: RawClient[] = [];
    for (let i = 0; i < 20; i++) idle.push(await RawClient.connect(port));
    // Past their grace (none here), all but the four newest waiting ones are closed, oldest first.
    for (const client of idle.slice(0, 16)) assertEquals(await client.rest(), "");
    for (const [i, client] of idle.slice(16).entries()) {
      await client.send(`GET /kept/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assertEquals((await client.response()).body, `GET /kept/${i}`);
    }
    release();
    for (let i = 0; i < busy.length; i++) {
      assertEquals((await busy[i].response()).body, `GET /slow/${i}`);
    }
    for (const client of [...busy, ...idle]) client.close();
  }, { maxWaitingPerAddress: 4, firstByteTimeoutMs: 60_000, freshGraceMs: 0 });
});

Deno.test("an address at its cap with nothing it may give up gets no more connections", async () => {
  await withServer(echo, async (port) => {
    const first: RawClient[] = [];
    for (let i = 0; i < 4; i++) first.push(await RawClient.connect(port));
    // All four are in their grace: a fifth would have to push one out, so it is closed at once.
    const fifth = await RawClient.connect(port);
    assertEquals(await fifth.rest(), "", "closed without an answer");
    for (const [i, client] of first.entries()) {
      await client.send(`GET /kept/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assertEquals((await client.response()).body, `GET /kept/${i}`);
    }
    // Answered, they may be closed idle (clients retry on those): a new one takes the oldest's place.
    const sixth = await RawClient.connect(port);
    assertEquals(await first[0].rest(), "");
    await sixth.send("GET /sixth HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await sixth.response()).body, "GET /sixth");
    for (const client of [...first, fifth, sixth]) client.close();
  }, { maxWaitingPerAddress: 4, firstByteTimeoutMs: 60_000, freshGraceMs: 60_000 });
});

Deno.test("one byte sent on each connection holds no more than an address's cap of slots", async () => {
  await withServer(echo, async (port, _errors, server) => {
    // One address tries every slot, each connection holding the first byte of a request head.
    const hoarded: RawClient[] = [];
    for (let i = 0; i < 8; i++) {
      hoarded.push(await RawClient.connect(port));
      await hoarded[i].send("G");
    }
    // Past its cap its connections are closed at once, not at the head deadline.
    for (const client of hoarded.slice(2)) assertEquals(await client.rest(), "");
    assertEquals(server.connections(), 2);
    // Another address finds a free slot.
    const other = await RawClient.connect(port, "::1");
    await other.send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await other.response()).body, "GET /other");
    // The heads within the cap were never cut off.
    for (const [i, client] of hoarded.slice(0, 2).entries()) {
      await client.send(`ET /held/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assertEquals((await client.response()).body, `GET /held/${i}`);
    }
    for (const client of [...hoarded, other]) client.close();
  }, {
    hostname: "::",
    maxConnections: 8,
    maxWaitingPerAddress: 2,
    headTimeoutMs: 20_000,
    freshGraceMs: 60_000,
  });
});

Deno.test("a new connection that sends nothing is closed sooner than an idle keep-alive one", async () => {
  await withServer(echo, async (port) => {
    const kept = await RawClient.connect(port);
    await kept.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await kept.response()).body, "GET /a");
    const silent = await RawClient.connect(port);
    assertEquals(await silent.rest(), "", "closed at its first-byte deadline");
    // Opened before the silent one, yet still open: its deadline is the idle timeout.
    await kept.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals((await kept.response()).body, "GET /b");
    silent.close();
    kept.close();
  }, { firstByteTimeoutMs: 100, idleTimeoutMs: 30_000 });
});
