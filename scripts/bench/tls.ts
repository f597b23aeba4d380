/**
 * The benchmark's TLS row: the small hot-path requests (`.info`, `.mod`,
 * `list`, answered from memory) over HTTPS, Astera against nginx with the
 * same certificate (ECDSA P-256, from a CA the run makes with openssl), so
 * the ratio says what TLS costs Astera's hot path beside what it costs a C
 * server. wrk keeps its connections alive, as the go command does: the
 * figure is the record layer's cost per request, the handshakes are few.
 *
 * @module
 */
import { join } from "node:path";
import { makeCertificates } from "../../tests/tls_fixtures.ts";
import { type LoadResult, runWrk } from "./measure.ts";
import { type BenchTls, startAstera, startNginx, type System } from "./systems.ts";

/** The hot kinds measured over TLS: the small ones (a 1 MB zip measures bandwidth, not TLS). */
export const TLS_KINDS = ["info", "mod", "list"] as const;
/** One of {@linkcode TLS_KINDS}. */
export type TlsKind = typeof TLS_KINDS[number];

/**
 * What the TLS row needs from the run.
 *
 * @example
 * ```ts ignore
 * import type { TlsBenchInput } from "./tls.ts";
 * const input: TlsBenchInput = { work, root, hot, upstream, nginx: "/usr/sbin/nginx", wrk, clients: 40, seconds: 5, rounds: 3, asteraArgs: [] };
 * ```
 */
export interface TlsBenchInput {
  work: string;
  /** The universe (GOPROXY layout) nginx serves. */
  root: string;
  /** The hot paths, below the proxy root. */
  hot: Record<TlsKind, string>;
  /** The upstream Astera fills its cache from. */
  upstream: string;
  nginx: string;
  wrk: string;
  clients: number;
  seconds: number;
  /** wrk rounds per system and kind; the best counts. */
  rounds: number;
  asteraArgs: string[];
}

/**
 * Requests per second over TLS, per system and kind.
 *
 * @example
 * ```ts ignore
 * import { measureTlsHot } from "./tls.ts";
 * const { astera, nginx } = await measureTlsHot(input);
 * console.log(astera.info?.rps, nginx.info?.rps);
 * ```
 */
export async function measureTlsHot(
  input: TlsBenchInput,
): Promise<Record<"astera" | "nginx", Partial<Record<TlsKind, LoadResult>>>> {
  const dir = join(input.work, "tls");
  await Deno.mkdir(dir, { recursive: true });
  const tls: BenchTls = await makeCertificates(dir, "bench");
  const systems: [key: "astera" | "nginx", System][] = [];
  try {
    const astera = await startAstera({
      db: join(dir, "astera.db"),
      upstream: input.upstream,
      log: join(dir, "astera.log"),
      extraArgs: input.asteraArgs,
      tls,
    });
    systems.push(["astera", astera]);
    systems.push(["nginx", await startNginx(input.nginx, input.root, join(dir, "nginx"), tls)]);
    // Astera answers from memory once it has fetched each path: ask twice before measuring.
    using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(tls.caCert)] });
    for (let i = 0; i < 2; i++) {
      for (const kind of TLS_KINDS) {
        const response = await fetch(astera.url + input.hot[kind], { client });
        await response.body?.cancel();
        if (response.status !== 200) {
          throw new Error(`${input.hot[kind]} over TLS answered ${response.status}`);
        }
      }
    }
    const results = { astera: {}, nginx: {} } as Record<
      "astera" | "nginx",
      Partial<Record<TlsKind, LoadResult>>
    >;
    // Interleaved, as the plain hot path: a noisy moment does not fall on one system only.
    for (let round = 0; round < input.rounds; round++) {
      for (const kind of TLS_KINDS) {
        for (const [key, system] of systems) {
          const url = system.url + input.hot[kind];
          const measured = await runWrk(input.wrk, url, input.clients, input.seconds);
          const best = results[key][kind];
          if (!best || measured.rps > best.rps) results[key][kind] = measured;
        }
      }
    }
    return results;
  } finally {
    for (const [, system] of systems) await system.stop();
  }
}
