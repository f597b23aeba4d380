/**
 * The checksum database through the upstream (GOPROXY-SPEC's `/sumdb/`
 * pass-through): `lookup` and `tile` answers never change and are kept
 * forever; `supported` and `latest` follow the freshness TTL, and once found
 * they are kept over a later not-found (an upstream gone `off` must not make
 * the go command leave for a database it cannot reach). When the upstream
 * cannot be asked and nothing is stored, `supported` answers 404 so that the
 * go command talks to the database itself rather than failing every lookup.
 * A private module is never looked up upstream.
 *
 * @module
 */
import { checkSumdb, MAX_SMALL_ANSWER } from "../goproxy/answer_check.ts";
import { matchPrefixPatterns } from "../mod/module.ts";
import type { ModuleSource } from "../sources/source.ts";
import type { Upstream } from "../sources/upstream.ts";
import type { StoredAnswer } from "../store/mod.ts";
import { errorText } from "../util/errors.ts";
import { type Fetcher, readAll } from "./fetcher.ts";
import { answerKey, type ProxyMemory } from "./memory.ts";
import { encode, errorReply, type Reply, sumdbReply } from "./reply.ts";
import type { FetchStart } from "./fetch_start.ts";
import type { FlightGroup } from "./single_flight.ts";

/**
 * What the checksum-database pass-through works with.
 *
 * @example
 * ```ts ignore
 * import type { SumdbOptions } from "./sumdb.ts";
 * const options: SumdbOptions = { upstream, memory, fetcher, refreshes, start, now: Date.now,
 *   counts: { sourceFetches: 0, keptAnswers: 0 } };
 * ```
 */
export interface SumdbOptions {
  upstream: Upstream;
  privateModules?: { patterns: string; source: ModuleSource };
  memory: ProxyMemory;
  fetcher: Fetcher;
  /** Shared with the policy's other refreshes of stored answers. */
  refreshes: FlightGroup<StoredAnswer>;
  /** Where a fetch would start (see `fetch_start.ts`). */
  start: FetchStart;
  now: () => number;
  /** The proxy's counters. */
  counts: { sourceFetches: number; keptAnswers: number };
}

/**
 * Answers `GET /sumdb/<name>/<key>` from the store or the upstream.
 *
 * @example
 * ```ts ignore
 * import { SumdbPassThrough } from "./sumdb.ts";
 * const sumdb = new SumdbPassThrough(options);
 * const reply = await sumdb.answer("sum.golang.org", "supported");
 * ```
 */
export class SumdbPassThrough {
  #options: SumdbOptions;

  constructor(options: SumdbOptions) {
    this.#options = options;
  }

  /** The answer to `key` (as `route.ts` parsed it) of checksum database `name`. */
  async answer(name: string, key: string, module?: string): Promise<Reply> {
    const { privateModules, memory } = this.#options;
    if (
      module !== undefined && privateModules && matchPrefixPatterns(privateModules.patterns, module)
    ) {
      return {
        type: "not-found",
        status: 404,
        message: `not found: ${module} is private (--private): not in the public checksum database`,
      };
    }
    const immutable = key.startsWith("lookup/") || key.startsWith("tile/");
    const serve = (answer: StoredAnswer) =>
      (immutable && answer.status === 200) || memory.isFresh(answer)
        ? sumdbReply(answer)
        : undefined;
    const stored = await memory.answer("sumdb", name, key);
    const reply = stored && serve(stored);
    if (reply) return reply;
    return this.#options.start(
      { kind: "sumdb", module: name, key, stale: stored, serve },
      () => this.#fetchOrStored(name, key, stored),
    );
  }

  /** Fetches an answer; when that fails, a stored one (even stale) serves. */
  async #fetchOrStored(
    name: string,
    key: string,
    stored: StoredAnswer | undefined,
  ): Promise<Reply> {
    try {
      return sumdbReply(
        await this.#options.refreshes.do(
          answerKey("sumdb", name, key),
          () => this.#fetch(name, key),
        ),
      );
    } catch (error) {
      if (stored) return sumdbReply(stored);
      if (key === "supported") {
        return {
          type: "not-found",
          status: 404,
          message: `not found: checksum database ${name} not reachable through the upstream: ${
            errorText(error)
          }`,
        };
      }
      return errorReply(error);
    }
  }

  /** Asks the upstream for a checksum-database answer and stores it. */
  async #fetch(name: string, key: string): Promise<StoredAnswer> {
    const { memory, fetcher, counts } = this.#options;
    counts.sourceFetches++;
    const what = `sumdb ${name}/${key}`;
    const answer = await fetcher.watched(
      what,
      () => this.#options.upstream.fetchPath(`/sumdb/${name}/${key}`, what),
    );
    const now = this.#options.now();
    let fetched: StoredAnswer;
    if (answer.found) {
      const body = await fetcher.accept(
        what,
        async () => checkSumdb(key, await readAll(answer, MAX_SMALL_ANSWER, what), what),
      );
      fetched = { kind: "sumdb", module: name, key, status: 200, body, fetchedAt: now };
    } else {
      const previous = await memory.storedAnswer("sumdb", name, key);
      if (previous?.status === 200) {
        // As for lists: a database once served stays served, even from an upstream gone `off`.
        counts.keptAnswers++;
        fetched = { ...previous, fetchedAt: now };
      } else {
        const body = encode(answer.message);
        fetched = { kind: "sumdb", module: name, key, status: answer.status, body, fetchedAt: now };
      }
    }
    await memory.putAnswerQuietly(fetched);
    return fetched;
  }
}
