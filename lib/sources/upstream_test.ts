import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { RefusedError, SourceError } from "./source.ts";
import { createUpstream, parseUpstreamList } from "./upstream.ts";

/** Upstreams answering every request with a fixed status, counting requests. */
function servers(statuses: number[]) {
  const hits = statuses.map(() => 0);
  const running = statuses.map((status, i) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      hits[i]++;
      return new Response(status === 200 ? "v1.0.0\n" : `status ${status} from ${i}\n`, { status });
    })
  );
  return {
    urls: running.map((s) => `http://127.0.0.1:${s.addr.port}`),
    hits,
    close: () => Promise.all(running.map((s) => s.shutdown())),
  };
}

const list = { kind: "list", module: "example.com/m" } as const;

Deno.test("after a comma only 404 and 410 fall through to the next upstream", async () => {
  const s = servers([404, 410, 200]);
  try {
    const upstream = createUpstream(parseUpstreamList(s.urls.join(",")), { timeoutMs: 5000 });
    const answer = await upstream.fetch(list);
    assertEquals(answer.found, true);
    if (answer.found) assertEquals(await new Response(answer.body).text(), "v1.0.0\n");
    assertEquals(s.hits, [1, 1, 1]);
  } finally {
    await s.close();
  }
});

Deno.test("after a comma any other failure stops, with the status and reason in the error", async () => {
  const s = servers([503, 200]);
  try {
    const upstream = createUpstream(parseUpstreamList(s.urls.join(",")), { timeoutMs: 5000 });
    const error = await assertRejects(() => upstream.fetch(list), SourceError);
    assertStringIncludes(error.message, "status 503");
    assertStringIncludes(error.message, "status 503 from 0");
    assertEquals(s.hits, [1, 0]);
  } finally {
    await s.close();
  }
});

Deno.test("after a pipe any failure falls through", async () => {
  const s = servers([500, 200]);
  try {
    const upstream = createUpstream(parseUpstreamList(s.urls.join("|")), { timeoutMs: 5000 });
    const answer = await upstream.fetch(list);
    assertEquals(answer.found, true);
    if (answer.found) await answer.body.cancel();
  } finally {
    await s.close();
  }
});

Deno.test("after a pipe, a failure and then a not-found is the failure, as the go command has it", async () => {
  const s = servers([500, 404]);
  try {
    const upstream = createUpstream(parseUpstreamList(s.urls.join("|")), { timeoutMs: 5000 });
    const error = await assertRejects(() => upstream.fetch(list), SourceError);
    assertStringIncludes(error.message, "status 500 from 0");
    assertEquals(s.hits, [1, 1]);
  } finally {
    await s.close();
  }
});

Deno.test("a zip slower than the timeout is read whole; a small answer that slow is given up", async () => {
  const bytes = new TextEncoder().encode("module example.com/m\n\ngo 1.21\n");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // A byte every 20 ms: the body takes about 0.6 s, three times the timeout.
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(bytes.slice(sent, sent + 1));
        if (++sent === bytes.length) controller.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(bytes.length) } });
  });
  try {
    const upstream = createUpstream(parseUpstreamList(`http://127.0.0.1:${server.addr.port}`), {
      timeoutMs: 200,
    });
    // A zip may be big, and the link slow: only a stall ends it.
    const zip = await upstream.fetch({ kind: "zip", module: "example.com/m", version: "v1.0.0" });
    assert(zip.found);
    assertEquals(new Uint8Array(await new Response(zip.body).arrayBuffer()), bytes);
    // A .mod, .info or list is small: it must arrive whole within the timeout of its headers.
    const mod = await upstream.fetch({ kind: "mod", module: "example.com/m", version: "v1.0.0" });
    assert(mod.found);
    await assertRejects(
      () => new Response(mod.body).arrayBuffer(),
      SourceError,
      "example.com/m@v1.0.0 .mod: the answer did not arrive whole within 200 ms",
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("a compressed answer is decoded and its length left unknown; a zip is asked for uncompressed", async () => {
  const gomod = new TextEncoder().encode("module example.com/m\n\ngo 1.21\n".repeat(20));
  const gzipped = new Uint8Array(
    await new Response(
      new Blob([gomod]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const encodings: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    encodings.push(request.headers.get("accept-encoding"));
    // A static server with pre-compressed files: the Content-Length is the compressed one.
    return new Response(gzipped, {
      headers: { "content-encoding": "gzip", "content-length": String(gzipped.length) },
    });
  });
  try {
    const upstream = createUpstream(parseUpstreamList(`http://127.0.0.1:${server.addr.port}`), {
      timeoutMs: 5000,
    });
    const answer = await upstream.fetch({
      kind: "mod",
      module: "example.com/m",
      version: "v1.0.0",
    });
    assert(answer.found);
    assertEquals(answer.size, null);
    assertEquals(new Uint8Array(await new Response(answer.body).arrayBuffer()), gomod);
    const zip = await upstream.fetch({ kind: "zip", module: "example.com/m", version: "v1.0.0" });
    if (zip.found) await zip.body.cancel();
    assertEquals(encodings[1], "identity");
  } finally {
    await server.shutdown();
  }
});

Deno.test("the last not-found answer is returned with its reason; off answers not-found", async () => {
  const s = servers([404]);
  try {
    const upstream = createUpstream(parseUpstreamList(`${s.urls[0]},off`), { timeoutMs: 5000 });
    assertEquals(await upstream.fetch(list), {
      found: false,
      status: 404,
      message: "upstream is off",
    });
    const only = createUpstream(parseUpstreamList(s.urls[0]), { timeoutMs: 5000 });
    assertEquals(await only.fetch(list), {
      found: false,
      status: 404,
      message: "status 404 from 0",
    });
  } finally {
    await s.close();
  }
});

Deno.test("an upstream that never answers times out with a clear error", async () => {
  // A listener that accepts connections and never writes a byte.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const upstream = createUpstream(
      parseUpstreamList(`http://127.0.0.1:${listener.addr.port}`),
      { timeoutMs: 200 },
    );
    const error = await assertRejects(() => upstream.fetch(list), SourceError);
    assertStringIncludes(error.message, "no answer within 200 ms");
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("an unreachable upstream fails with a SourceError naming it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const upstream = createUpstream(parseUpstreamList(`http://127.0.0.1:${port}`), {
    timeoutMs: 2000,
  });
  const error = await assertRejects(() => upstream.fetch(list), SourceError);
  assertStringIncludes(error.message, `127.0.0.1:${port}`);
});

Deno.test("a body that stalls is abandoned after the idle timeout", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("partial"));
        // and then nothing, ever
      },
    });
    return new Response(body, { headers: { "content-length": "100" } });
  });
  try {
    const upstream = createUpstream(
      parseUpstreamList(`http://127.0.0.1:${server.addr.port}`),
      { timeoutMs: 2000, idleTimeoutMs: 200 },
    );
    const answer = await upstream.fetch(list);
    assertEquals(answer.found && answer.size, 100);
    if (!answer.found) return;
    const error = await assertRejects(() => new Response(answer.body).arrayBuffer(), SourceError);
    assertStringIncludes(error.message, "stalled");
  } finally {
    await server.shutdown().catch(() => {});
  }
});

Deno.test("a file:// upstream reads a GOPROXY-layout directory, escaped names and all", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-fileproxy-" });
  try {
    await Deno.mkdir(`${dir}/example.com/!m/@v`, { recursive: true });
    await Deno.writeTextFile(`${dir}/example.com/!m/@v/list`, "v2.0.0+incompatible\n");
    await Deno.writeTextFile(
      `${dir}/example.com/!m/@v/v2.0.0+incompatible.mod`,
      "module example.com/M\n",
    );
    const upstream = createUpstream(parseUpstreamList(`file://${dir}`), { timeoutMs: 1000 });
    const listed = await upstream.fetch({ kind: "list", module: "example.com/M" });
    assertEquals(listed.found && listed.size, 20);
    if (listed.found) assertEquals(await new Response(listed.body).text(), "v2.0.0+incompatible\n");
    const mod = await upstream.fetch({
      kind: "mod",
      module: "example.com/M",
      version: "v2.0.0+incompatible",
    });
    if (!mod.found) throw new Error("expected the .mod");
    assertEquals(await new Response(mod.body).text(), "module example.com/M\n");
    const missing = await upstream.fetch({ kind: "latest", module: "example.com/M" });
    assertEquals(missing.found, false);
    if (!missing.found) assertEquals(missing.status, 404);
    const notAModule = await upstream.fetch({ kind: "list", module: "example.com/M/sub" });
    assertEquals(notAModule.found, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a zip whose body stalls part-way is resumed from the upstream with a range", async () => {
  const zip = new Uint8Array(200_000).map((_, i) => i % 251);
  const ranges: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const range = request.headers.get("range");
    ranges.push(range);
    if (range === null) {
      // Half the zip, then nothing: a connection that hangs without closing.
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller): Promise<void> {
          if (sent) return new Promise<void>(() => {});
          sent = true;
          controller.enqueue(zip.slice(0, 100_000));
          return Promise.resolve();
        },
      });
      return new Response(body, { headers: { "content-length": String(zip.length) } });
    }
    const from = Number(/^bytes=(\d+)-$/.exec(range)![1]);
    return new Response(zip.slice(from), {
      status: 206,
      headers: { "content-range": `bytes ${from}-${zip.length - 1}/${zip.length}` },
    });
  });
  const resumed: number[] = [];
  const upstream = createUpstream(parseUpstreamList(`http://127.0.0.1:${server.addr.port}`), {
    timeoutMs: 5000,
    idleTimeoutMs: 200,
    onResume: (_what, offset) => resumed.push(offset),
  });
  try {
    const answer = await upstream.fetch({
      kind: "zip",
      module: "example.com/m",
      version: "v1.0.0",
    });
    assert(answer.found);
    assertEquals(answer.size, zip.length);
    assertEquals(new Uint8Array(await new Response(answer.body).arrayBuffer()), zip);
    assertEquals(ranges, [null, "bytes=100000-"]);
    assertEquals(resumed, [100_000]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a broken zip is resumed from a 206 for its range, or from the whole zip again when the range is ignored, and from nothing else", async () => {
  const zip = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
  const whole = { "content-length": String(zip.length) };
  /** What the upstream answers to `Range: bytes=<from>-`, and whether that can finish the zip. */
  const cases: { name: string; answer: (from: number) => Response; resumes: boolean }[] = [
    {
      name: "206 for the range",
      answer: (from) =>
        new Response(zip.slice(from), {
          status: 206,
          headers: { "content-range": `bytes ${from}-${zip.length - 1}/${zip.length}` },
        }),
      resumes: true,
    },
    {
      name: "range ignored: 200, whole",
      answer: () => new Response(zip, { headers: whole }),
      resumes: true,
    },
    {
      name: "range ignored: 200 of another length",
      answer: () =>
        new Response(zip.slice(1), { headers: { "content-length": String(zip.length - 1) } }),
      resumes: false,
    },
    {
      name: "206 for another range",
      answer: (from) =>
        new Response(zip.slice(from + 1), {
          status: 206,
          headers: { "content-range": `bytes ${from + 1}-${zip.length - 1}/${zip.length}` },
        }),
      resumes: false,
    },
    { name: "500", answer: () => new Response("busy\n", { status: 500 }), resumes: false },
  ];
  for (const { name, answer, resumes } of cases) {
    let first = true;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const range = request.headers.get("range");
      if (range === null && first) {
        first = false;
        // 100 000 bytes, then the link stalls.
        let sent = false;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent) return new Promise<void>(() => {});
            sent = true;
            controller.enqueue(zip.slice(0, 100_000));
            return Promise.resolve();
          },
        });
        return new Response(body, { headers: whole });
      }
      return answer(Number(/^bytes=(\d+)-$/.exec(range ?? "")?.[1] ?? 0));
    });
    const upstream = createUpstream(parseUpstreamList(`http://127.0.0.1:${server.addr.port}`), {
      timeoutMs: 5000,
      idleTimeoutMs: 200,
    });
    try {
      const got = await upstream.fetch({ kind: "zip", module: "example.com/m", version: "v1.0.0" });
      assert(got.found, name);
      const bytes = new Response(got.body).arrayBuffer();
      if (resumes) assertEquals(new Uint8Array(await bytes), zip, name);
      else assertStringIncludes((await assertRejects(() => bytes)).message, "cannot resume", name);
    } finally {
      await server.shutdown();
    }
  }
});

Deno.test("a refusal (400, 403, 451) is a RefusedError carrying the upstream's text/plain message as is", async () => {
  const answers: [number, string, string][] = [
    [403, "text/plain; charset=utf-8", "blocked by policy\n\tsee https://corp.example/policy\n"],
    [400, "text/plain", "bad module path"],
    [451, "text/plain", "unavailable here\n"],
    [403, "text/html", "<html>blocked</html>"], // the go command shows no detail for HTML
    [403, "text/plain", "\xff"], // …nor for text that is not UTF-8
  ];
  let next = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const [status, type, text] = answers[next++];
    const body = text === "\xff" ? new Uint8Array([0xff]) : text;
    return new Response(body, { status, headers: { "content-type": type } });
  });
  try {
    const upstream = createUpstream(
      parseUpstreamList(`http://127.0.0.1:${server.addr.port}`),
      { timeoutMs: 5000 },
    );
    for (const [status, type, text] of answers) {
      const error = await assertRejects(() => upstream.fetch(list), RefusedError) as RefusedError;
      assertEquals(error.status, status);
      assertEquals(error.detail, type.startsWith("text/plain") && text !== "\xff" ? text : "");
      assertStringIncludes(error.message, `status ${status}`);
    }
  } finally {
    await server.shutdown();
  }
  const s = servers([401, 429]);
  try {
    for (const url of s.urls) {
      const upstream = createUpstream(parseUpstreamList(url), { timeoutMs: 5000 });
      const error = await assertRejects(() => upstream.fetch(list), SourceError);
      assert(!(error instanceof RefusedError), `${url}: not a refusal but a failure`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("a refusal or not-found whose text stalls after the headers is answered with what arrived", async () => {
  const statuses = [403, 404, 500];
  let next = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("blocked"));
        // and then nothing, ever: the connection stays open
      },
    });
    return new Response(body, {
      status: statuses[next++],
      headers: { "content-type": "text/plain" },
    });
  });
  try {
    const upstream = createUpstream(
      parseUpstreamList(`http://127.0.0.1:${server.addr.port}`),
      { timeoutMs: 300 },
    );
    const refusal = await assertRejects(() => upstream.fetch(list), RefusedError) as RefusedError;
    assertEquals([refusal.status, refusal.detail], [403, "blocked"]);
    assertEquals(await upstream.fetch(list), { found: false, status: 404, message: "blocked" });
    const failure = await assertRejects(() => upstream.fetch(list), SourceError);
    assertStringIncludes(failure.message, "status 500: blocked");
  } finally {
    await server.shutdown().catch(() => {});
  }
});
