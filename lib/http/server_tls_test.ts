import { assert, assertEquals } from "../../tests/assert.ts";
import { makeCertificates } from "../../tests/tls_fixtures.ts";
import { serveHttp } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads from `conn` until `text` holds `expected`; null when the peer closed or failed first. */
async function readUntil(conn: Deno.Conn, expected: string): Promise<string | null> {
  let text = "";
  const buffer = new Uint8Array(4096);
  while (!text.includes(expected)) {
    let read: number | null;
    try {
      read = await conn.read(buffer);
    } catch {
      return null;
    }
    if (read === null) return null;
    text += decoder.decode(buffer.subarray(0, read));
  }
  return text;
}

const get = (path: string) => encoder.encode(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);

Deno.test("TLS: keep-alive and pipelining as over TCP; a new certificate reaches new connections while an open one keeps working", async () => {
  const dir = await Deno.makeTempDir({ prefix: "astera-tls-" });
  const first = await makeCertificates(dir, "first");
  const second = await makeCertificates(dir, "second");
  const read = (path: string) => Deno.readTextFileSync(path);
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    reusePort: true,
    tls: { cert: read(first.cert), key: read(first.key) },
  }, (request) => ({ status: 200, headers: {}, body: encoder.encode(`ok ${request.target}\n`) }));
  const port = server.addr.port;
  const connect = (ca: string) =>
    Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [read(ca)] });
  try {
    const old = await connect(first.caCert);
    await old.write(get("/one"));
    assert(await readUntil(old, "ok /one\n"), "answered over TLS");
    await old.write(new Uint8Array([...get("/two"), ...get("/three")]));
    assert(await readUntil(old, "ok /three\n"), "pipelined requests answered");

    // A pair that does not match is refused, and the old one stays.
    let refused = false;
    try {
      server.replaceCertificate({ cert: read(second.cert), key: read(first.key) });
    } catch {
      refused = true;
    }
    assert(refused, "a mismatched pair is refused");

    server.replaceCertificate({ cert: read(second.cert), key: read(second.key) });
    await old.write(get("/after"));
    assert(await readUntil(old, "ok /after\n"), "the open connection keeps working");
    old.close();

    const fresh = await connect(second.caCert);
    await fresh.write(get("/new"));
    assert(await readUntil(fresh, "ok /new\n"), "a new connection gets the new certificate");
    fresh.close();
    const stale = await connect(first.caCert);
    await stale.write(get("/stale")).catch(() => 0);
    assertEquals(await readUntil(stale, "ok /stale\n"), null, "the old certificate is gone");
    stale.close();

    // Plain HTTP is not answered on a TLS port.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    await plain.write(get("/plain"));
    assertEquals(await readUntil(plain, "ok /plain"), null);
    plain.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
