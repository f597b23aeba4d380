/**
 * A tiny upstream for tests and the benchmark: an HTTP server over a
 * directory in GOPROXY layout (what `go mod download` leaves in
 * `cache/download`, or what `universe.ts` writes). It counts the requests
 * for each path and can be switched to fail, so tests can see how often
 * Astera asked and what it does when the upstream is down.
 * {@linkcode serveUniverse} sets one up over a synthetic universe in a fresh
 * temporary directory, as most end-to-end tests begin.
 *
 * @module
 */
import { join } from "node:path";
import { removeTree } from "./go_tool.ts";
import { type SyntheticVersion, writeUniverse } from "./universe.ts";

/** Options of {@linkcode startFileProxy}. */
export interface FileProxyOptions {
  /** Directory in GOPROXY layout (escaped module paths). */
  root: string;
  /**
   * Delay before each answer (ms), to imitate a slow link. Read at each request, like
   * `bytesPerSecond`: a caller may change either while the proxy runs (the benchmark does).
   */
  delayMs?: number;
  /** Bytes per second at most for each response body; 0 for no cap. */
  bytesPerSecond?: number;
  port?: number;
  /**
   * A `Range: bytes=N-` gets a 206, as from proxy.golang.org (`"honour"`, the
   * default), the whole file (`"ignore"`), or a 403 (`"refuse"`).
   */
  ranges?: "honour" | "ignore" | "refuse";
  /** The first answer for each `.zip` path breaks off after this many bytes. */
  breakZipsAfter?: number;
}

/** A running file proxy. */
export interface FileProxy {
  url: string;
  /** Requests per decoded request path. */
  counts: Map<string, number>;
  /**
   * When each decoded path was first asked (`performance.now()`) since the
   * map was last cleared: the benchmark reads where a client's walk ended.
   */
  firstAsked: Map<string, number>;
  /** The `Range` headers received, per decoded request path. */
  ranges: Map<string, string[]>;
  /** While set, every request gets this status (e.g. 503) instead of content. */
  failWith: number | null;
  /**
   * Requests for these decoded paths get this status and text/plain message
   * instead of content, as a corporate proxy refuses a blocked module.
   */
  refusals: Map<string, { status: number; message: string }>;
  close(): Promise<void>;
}

/**
 * Starts serving `root` on a free loopback port.
 *
 * @example
 * ```ts ignore
 * import { startFileProxy } from "./file_proxy.ts";
 * const upstream = await startFileProxy({ root: "/tmp/universe" });
 * console.log(upstream.url);
 * await upstream.close();
 * ```
 */
export function startFileProxy(options: FileProxyOptions): Promise<FileProxy> {
  const counts = new Map<string, number>();
  const firstAsked = new Map<string, number>();
  const ranges = new Map<string, string[]>();
  const broken = new Set<string>();
  const state: FileProxy = {
    url: "",
    counts,
    firstAsked,
    ranges,
    failWith: null,
    refusals: new Map(),
    close: () => server.shutdown(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      counts.set(path, (counts.get(path) ?? 0) + 1);
      if (!firstAsked.has(path)) firstAsked.set(path, performance.now());
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (state.failWith !== null) {
        return new Response("upstream failing on purpose\n", { status: state.failWith });
      }
      const refusal = state.refusals.get(path);
      if (refusal) {
        return new Response(refusal.message, {
          status: refusal.status,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      // Module paths may hold ".." inside an element (example..com); only a whole one climbs.
      if (path.split("/").includes("..")) return new Response("bad path\n", { status: 400 });
      let file: Deno.FsFile;
      let size: number;
      try {
        file = await Deno.open(join(options.root, path));
        const info = await file.stat();
        if (!info.isFile) {
          file.close();
          throw new Deno.errors.NotFound();
        }
        size = info.size;
      } catch {
        return new Response(`not found: ${path}\n`, { status: 404 });
      }
      const type = path.endsWith(".zip")
        ? "application/zip"
        : path.endsWith(".info") || path.endsWith("@latest")
        ? "application/json"
        : "text/plain; charset=utf-8";
      const range = request.headers.get("range");
      if (range !== null) ranges.set(path, [...(ranges.get(path) ?? []), range]);
      if (range !== null && options.ranges === "refuse") {
        file.close();
        return new Response("ranges refused\n", { status: 403 });
      }
      const from = options.ranges === "ignore" ? null : /^bytes=(\d+)-$/.exec(range ?? "");
      if (from && Number(from[1]) >= size) {
        file.close();
        return new Response("range not satisfiable\n", {
          status: 416,
          headers: { "content-range": `bytes */${size}` },
        });
      }
      const start = from ? Number(from[1]) : 0;
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      let body = options.bytesPerSecond
        ? throttle(file.readable, options.bytesPerSecond)
        : file.readable;
      if (options.breakZipsAfter !== undefined && path.endsWith(".zip") && !broken.has(path)) {
        broken.add(path);
        body = breakOff(body, options.breakZipsAfter);
      }
      const headers: Record<string, string> = {
        "content-type": type,
        "content-length": String(size - start),
      };
      if (!from) return new Response(body, { headers });
      headers["content-range"] = `bytes ${start}-${size - 1}/${size}`;
      return new Response(body, { status: 206, headers });
    },
  );
  state.url = `http://127.0.0.1:${server.addr.port}`;
  return Promise.resolve(state);
}

/**
 * A synthetic universe in a fresh temporary directory, and a file proxy serving it.
 *
 * @example
 * ```ts ignore
 * import { type ServedUniverse, serveUniverse } from "./file_proxy.ts";
 * import { standardUniverse } from "./universe.ts";
 * const served: ServedUniverse = await serveUniverse("astera-demo-", standardUniverse(1024));
 * console.log(served.universe.startsWith(served.work)); // true
 * await served.remove();
 * ```
 */
export interface ServedUniverse {
  /** The temporary directory: the universe is its `universe` folder; tests add their own files. */
  work: string;
  /** The universe's root, in GOPROXY layout. */
  universe: string;
  /** The file proxy over `universe`. */
  upstream: FileProxy;
  /** Stops the proxy and removes `work`. */
  remove(): Promise<void>;
}

/**
 * Writes `versions` into a fresh temporary directory (named from `prefix`)
 * and starts a file proxy over them with `options`.
 *
 * @example
 * ```ts ignore
 * import { serveUniverse } from "./file_proxy.ts";
 * import { standardUniverse } from "./universe.ts";
 * const { upstream, remove } = await serveUniverse("astera-demo-", standardUniverse(64 * 1024), {
 *   delayMs: 50,
 * });
 * try {
 *   console.log(upstream.url, upstream.counts.size); // http://127.0.0.1:… 0
 * } finally {
 *   await remove();
 * }
 * ```
 */
export async function serveUniverse(
  prefix: string,
  versions: SyntheticVersion[],
  options: Omit<FileProxyOptions, "root"> = {},
): Promise<ServedUniverse> {
  const work = await Deno.makeTempDir({ prefix });
  const universe = join(work, "universe");
  let upstream: FileProxy;
  try {
    await writeUniverse(universe, versions);
    upstream = await startFileProxy({ ...options, root: universe });
  } catch (error) {
    await removeTree(work);
    throw error;
  }
  const remove = async () => {
    await upstream.close();
    await removeTree(work);
  };
  return { work, universe, upstream, remove };
}

/** Passes `limit` bytes of a stream, then ends it, so the connection drops mid-body. */
function breakOff(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let passed = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      const take = value.subarray(0, Math.max(0, limit - passed));
      passed += take.byteLength;
      if (take.byteLength > 0) controller.enqueue(take.slice());
      if (passed >= limit) {
        // Ending short of the Content-Length makes the server drop the connection.
        reader.cancel().catch(() => {});
        controller.close();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Paces a stream to `bytesPerSecond`, in slices of at most 64 KiB. */
function throttle(
  body: ReadableStream<Uint8Array>,
  bytesPerSecond: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let pending: Uint8Array | null = null;
  const started = performance.now();
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!pending || pending.byteLength === 0) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        pending = value;
      }
      const slice = pending.subarray(0, 64 * 1024);
      pending = pending.subarray(slice.byteLength);
      sent += slice.byteLength;
      const due = started + (sent / bytesPerSecond) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      controller.enqueue(slice.slice());
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
