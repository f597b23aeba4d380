/**
 * Asking sources, for the cache policy: which source serves a module (the
 * upstream, or the private source for GOPRIVATE-style patterns), the log
 * lines of each fetch, outages told once (see {@linkcode UpstreamWatch}), and
 * found bodies read whole within a limit.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { matchPrefixPatterns } from "../mod/module.ts";
import {
  type ArtifactRequest,
  describeRequest,
  type ModuleSource,
  RefusedError,
  type SourceAnswer,
  SourceError,
} from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import { concatBytes } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { isPrefetching } from "./prefetch.ts";
import { UpstreamWatch, type UpstreamWatchStats } from "./upstream_watch.ts";

/**
 * Options of a {@linkcode Fetcher}.
 *
 * @example
 * ```ts ignore
 * import type { FetcherOptions } from "./fetcher.ts";
 * const options: FetcherOptions = { upstream, log, now: Date.now, counts: { sourceFetches: 0 } };
 * ```
 */
export interface FetcherOptions {
  upstream: Upstream;
  /** Modules matching `patterns` (GOPRIVATE syntax) come from `source`, never from the upstream. */
  privateModules?: { patterns: string; source: ModuleSource };
  log: Logger;
  now: () => number;
  /** The proxy's counters: each fetch from a source counts one. */
  counts: { sourceFetches: number };
}

/**
 * Asks sources, logging and counting each fetch.
 *
 * @example
 * ```ts ignore
 * import { Fetcher } from "./fetcher.ts";
 * const fetcher = new Fetcher({ upstream, log, now: Date.now, counts: { sourceFetches: 0 } });
 * const answer = await fetcher.ask({ kind: "list", module: "golang.org/x/text" });
 * ```
 */
export class Fetcher {
  #options: FetcherOptions;
  #upstreamWatch: UpstreamWatch;
  /** Errors a log line has already told (so a refresh that failed with one adds none). */
  #told = new WeakSet<object>();
  #clientAsks = 0;

  constructor(options: FetcherOptions) {
    this.#options = options;
    this.#upstreamWatch = new UpstreamWatch(options.log, options.now);
  }

  /** Whether a log line already told `error` (so the caller need not). */
  told(error: unknown): boolean {
    return isObject(error) && this.#told.has(error);
  }

  /** Asks for clients (not prefetches) waiting for a source's answer now. */
  get clientAsks(): number {
    return this.#clientAsks;
  }

  /** Whether the upstream's last outcome was a failure. */
  get upstreamDown(): boolean {
    return this.#upstreamWatch.down;
  }

  /** The upstream's outage counters, for `/_astera/stats`. */
  upstreamStats(): UpstreamWatchStats {
    return this.#upstreamWatch.stats();
  }

  #source(module: string): ModuleSource {
    const privateModules = this.#options.privateModules;
    if (privateModules && matchPrefixPatterns(privateModules.patterns, module)) {
      return privateModules.source;
    }
    return this.#options.upstream;
  }

  /** Reads and checks a found answer; one refused (cut short, not what was asked) is logged. */
  async accept<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.#options.log.warn("answer-refused", { request: what, error: errorText(error) });
      if (isObject(error)) this.#told.add(error);
      throw error;
    }
  }

  /**
   * Asks the upstream, telling its outages once (see {@linkcode UpstreamWatch}) and a
   * refusal (400, 403, 451: a module blocked by a corporate proxy) once per request.
   */
  async watched<T>(what: string, ask: () => Promise<T>): Promise<T> {
    try {
      const answer = await ask();
      this.#upstreamWatch.answered();
      return answer;
    } catch (error) {
      if (error instanceof RefusedError) {
        this.#upstreamWatch.answered();
        this.#options.log.warn("upstream-refused", { request: what, status: error.status });
      } else this.#upstreamWatch.failed(what, errorText(error));
      if (isObject(error)) this.#told.add(error);
      throw error;
    }
  }

  /** Asks the module's source for an artifact or answer, and logs what came back. */
  async ask(request: ArtifactRequest): Promise<SourceAnswer> {
    // Prefetches wait while clients wait for sources (see prefetch.ts).
    const client = !isPrefetching();
    if (client) this.#clientAsks++;
    try {
      return await this.#ask(request);
    } finally {
      if (client) this.#clientAsks--;
    }
  }

  async #ask(request: ArtifactRequest): Promise<SourceAnswer> {
    this.#options.counts.sourceFetches++;
    const started = this.#options.now();
    const source = this.#source(request.module);
    const what = describeRequest(request);
    let answer: SourceAnswer;
    if (source === this.#options.upstream) {
      answer = await this.watched(what, () => source.fetch(request));
    } else {
      try {
        answer = await source.fetch(request);
      } catch (error) {
        this.#options.log.warn("fetch-failed", { request: what, error: errorText(error) });
        if (isObject(error)) this.#told.add(error);
        throw error;
      }
    }
    this.#options.log.info("fetched", {
      request: what,
      status: answer.found ? 200 : answer.status,
      ms: this.#options.now() - started,
    });
    return answer;
  }
}

/**
 * Reads a small body whole, refusing more than `limit` or fewer bytes than announced.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readAll } from "./fetcher.ts";
 * const body = new Response("v1.0.0\n").body!;
 * const bytes = await readAll({ found: true, body, size: 7 }, 100, "list m");
 * assert(bytes.byteLength === 7);
 * ```
 */
export async function readAll(
  answer: Extract<SourceAnswer, { found: true }>,
  limit: number,
  request: ArtifactRequest | string,
): Promise<Uint8Array> {
  const what = typeof request === "string" ? request : describeRequest(request);
  if (answer.size !== null && answer.size > limit) {
    await answer.body.cancel();
    throw new SourceError(
      `${what}: ${answer.size} bytes exceeds the limit of ${limit}`,
    );
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of answer.body) {
    total += part.byteLength;
    if (total > limit) {
      throw new SourceError(`${what}: body exceeds the limit of ${limit}`);
    }
    parts.push(part);
  }
  if (answer.size !== null && total !== answer.size) {
    throw new SourceError(
      `${what}: truncated: ${total} of ${answer.size} bytes arrived`,
    );
  }
  return concatBytes(parts);
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
