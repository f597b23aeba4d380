import { serveForwards } from "./app.ts";
import { assertEquals } from "../tests/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One request on `conn`: the body answered, or `closed` when the server closed the connection. */
async function ask(conn: Deno.Conn, target: string): Promise<string> {
  await conn.write(encoder.encode(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
  let text = "";
  const chunk = new Uint8Array(4096);
  for (;;) {
    const headEnd = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text);
    if (headEnd >= 0 && length && text.length >= headEnd + 4 + Number(length[1])) {
      return text.slice(headEnd + 4);
    }
    const read = await conn.read(chunk).catch(() => null);
    if (read === null) return "closed";
    text += decoder.decode(chunk.subarray(0, read));
  }
}

Deno.test("the primary keeps every connection the replicas pool, though all come from loopback", async () => {
  const errors: string[] = [];
  const server = serveForwards(
    (request) => ({ status: 200, headers: {}, body: encoder.encode(request.target) }),
    (event, error) => errors.push(`${event}: ${error}`),
  );
  const pooled: Deno.Conn[] = [];
  try {
    // More idle pooled connections than a per-address cap would leave (256 of the default 4096).
    for (let i = 0; i < 300; i++) {
      pooled.push(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
      assertEquals(await ask(pooled[i], `/first/${i}`), `/first/${i}`);
    }
    // Each forward reusing one is answered: none was closed for being one too many.
    for (const [i, conn] of pooled.entries()) {
      assertEquals(await ask(conn, `/again/${i}`), `/again/${i}`);
    }
    assertEquals(errors, []);
  } finally {
    for (const conn of pooled) conn.close();
    await server.shutdown();
  }
});

Deno.test("with a token, the loopback port answers only requests that carry it", async () => {
  const server = serveForwards(
    (request) => ({ status: 200, headers: {}, body: encoder.encode(request.target) }),
    () => {},
    "the-token",
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/git.corp.example/x/@v/list`;
    const guesses: Record<string, string>[] = [{}, { "x-astera-forward": "a-guess" }];
    for (const headers of guesses) {
      const refused = await fetch(url, { headers });
      await refused.body?.cancel();
      assertEquals(refused.status, 403);
    }
    const answered = await fetch(url, { headers: { "x-astera-forward": "the-token" } });
    assertEquals(await answered.text(), "/git.corp.example/x/@v/list");
  } finally {
    await server.shutdown();
  }
});
