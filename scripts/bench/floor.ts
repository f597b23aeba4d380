/**
 * The hot path on Deno's built-in server: a bare `Deno.serve` that answers
 * every request for a file below the root from memory, loaded at start, with
 * the same headers Astera sends, and does nothing else. Started with the same
 * Deno flags as `deno task serve`, it shows what Astera would reach if it
 * served through `Deno.serve` (it has its own HTTP/1.1 server,
 * `lib/http/server.ts`, because this figure was too low).
 *
 * ```sh
 * deno run -P=serve scripts/bench/floor.ts --listen 127.0.0.1:9000 --root /tmp/universe /a/@v/list …
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";

/**
 * Serves `paths` (loaded from `root`) on `hostname:port` until killed.
 *
 * @example
 * ```ts ignore
 * import { serveFloor } from "./floor.ts";
 * await serveFloor("127.0.0.1", 9000, "/tmp/universe", ["/m/@v/list"]);
 * ```
 */
export async function serveFloor(
  hostname: string,
  port: number,
  root: string,
  paths: string[],
): Promise<Deno.HttpServer> {
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const path of paths) files.set(path, await Deno.readFile(join(root, path)));
  return Deno.serve({ hostname, port, onListen() {} }, (request) => {
    const url = request.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    const body = files.get(path);
    if (!body) return new Response("not found\n", { status: 404 });
    return new Response(body, {
      headers: {
        "content-type": "application/octet-stream",
        "cache-control": "public, max-age=31536000, immutable",
        "accept-ranges": "bytes",
        "etag": '"0123456789abcdef0123456789abcdef"',
        "content-length": String(body.byteLength),
      },
    });
  });
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { listen: { type: "string" }, root: { type: "string" } },
    allowPositionals: true,
  });
  const [hostname, port] = (values.listen ?? "127.0.0.1:0").split(":");
  await serveFloor(hostname, Number(port), values.root ?? ".", positionals);
}
