/**
 * Refreshing a stored answer that may change (`list`, `@latest`, a query
 * `.info`) from its source, once at a time per answer. A `200` the source
 * later forgets is kept: versions, once published, stay fetchable.
 *
 * @module
 */
import { checkInfo, checkList, MAX_INFO, MAX_SMALL_ANSWER } from "../goproxy/answer_check.ts";
import { canonicalModuleVersion } from "../mod/semver.ts";
import { type ArtifactRequest, describeRequest } from "../sources/source.ts";
import type { Store, StoredAnswer } from "../store/mod.ts";
import { type Fetcher, readAll } from "./fetcher.ts";
import { itemKey, type ProxyMemory } from "./memory.ts";
import { encode } from "./reply.ts";
import type { FlightGroup } from "./single_flight.ts";

/**
 * What a refresh needs of the cache policy.
 *
 * @example
 * ```ts ignore
 * const parts: RefreshParts = { store, memory, fetcher, refreshes, now: Date.now,
 *   counts: { keptAnswers: 0 } };
 * ```
 */
export interface RefreshParts {
  store: Store;
  memory: ProxyMemory;
  fetcher: Fetcher;
  /** The single-flight of refreshes, shared with the checksum database's. */
  refreshes: FlightGroup<StoredAnswer>;
  now: () => number;
  /** The proxy's counters: each stored `200` kept over a not-found counts one. */
  counts: { keptAnswers: number };
}

/** The kinds of answer that may change. */
export type ChangeableKind = "list" | "latest" | "query";

/**
 * Asks the source for the answer afresh, checks and stores it; rejects when
 * the source fails.
 *
 * @example
 * ```ts ignore
 * const answer = await refreshAnswer(parts, "list", "example.com/m", "",
 *   { kind: "list", module: "example.com/m" });
 * ```
 */
export function refreshAnswer(
  parts: RefreshParts,
  kind: ChangeableKind,
  module: string,
  key: string,
  request: ArtifactRequest,
): Promise<StoredAnswer> {
  const { memory, fetcher, now } = parts;
  return parts.refreshes.do(itemKey(kind, module, key), async () => {
    // Another instance may have refreshed it while we waited for its lease.
    if (parts.store.leases) {
      const current = await memory.reread(kind, module, key);
      if (current && memory.isFresh(current)) return current;
    }
    const answer = await fetcher.ask(request);
    let body: Uint8Array;
    let status: number;
    if (answer.found) {
      const what = describeRequest(request);
      let version = "";
      body = await fetcher.accept(what, async () => {
        const read = await readAll(answer, kind === "list" ? MAX_SMALL_ANSWER : MAX_INFO, request);
        if (kind === "list") checkList(read, what);
        else version = checkInfo(read, what, null);
        return read;
      });
      status = 200;
      if (kind !== "list" && canonicalModuleVersion(version) === version) {
        await memory.storeInfoQuietly(module, version, body);
      }
    } else {
      const kept = await keepPrevious(parts, kind, module, key);
      if (kept) return kept;
      body = encode(answer.message);
      status = answer.status;
    }
    const stored: StoredAnswer = { kind, module, key, status, body, fetchedAt: now() };
    await memory.putAnswerQuietly(stored);
    return stored;
  });
}

/** The stored `200` kept (and refreshed) over a source's not-found, if there is one. */
async function keepPrevious(
  parts: RefreshParts,
  kind: ChangeableKind,
  module: string,
  key: string,
): Promise<StoredAnswer | undefined> {
  const previous = await parts.memory.storedAnswer(kind, module, key);
  if (previous?.status !== 200) return undefined;
  // Versions, once published, stay fetchable; an upstream that forgot them (or `off`)
  // must not make us forget them too.
  parts.counts.keptAnswers++;
  const kept = { ...previous, fetchedAt: parts.now() };
  await parts.memory.putAnswerQuietly(kept);
  return kept;
}
