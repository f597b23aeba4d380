/**
 * `Store.batch` over a networked database. The batch's body is synchronous
 * (it was made for SQLite, which answers without a round trip), so it cannot
 * read the database while it runs: it runs on what was fetched before, each
 * read it makes of something not fetched yet is noted, fetched, and the body
 * runs again, until a run reads nothing new. Its writes are then stored in
 * one transaction. A body that throws stores nothing.
 *
 * @module
 */
import type { AnswerKey, ArtifactKind, StoreBatch, StoredAnswer } from "./store.ts";

/**
 * One write a batch asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BatchWrite } from "./postgres_batch.ts";
 * const write: BatchWrite = {
 *   type: "answer",
 *   answer: { kind: "list", module: "m", key: "", status: 200, body: new Uint8Array(), fetchedAt: 0 },
 * };
 * assert(write.type === "answer");
 * ```
 */
export type BatchWrite =
  | { type: "answer"; answer: StoredAnswer }
  | {
    type: "inline";
    module: string;
    version: string;
    kind: ArtifactKind;
    data: Uint8Array;
    etag: string;
  };

/**
 * What a {@linkcode PostgresBatch} asks of the database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BatchDatabase } from "./postgres_batch.ts";
 * const empty: BatchDatabase = {
 *   answers: () => Promise.resolve(new Map()),
 *   inlineStored: () => Promise.resolve(new Set()),
 *   apply: () => Promise.resolve(0),
 * };
 * assert(typeof empty.apply === "function");
 * ```
 */
export interface BatchDatabase {
  /** The stored answers among `keys`, by `kind\0module\0key` (a damaged one as none). */
  answers(keys: AnswerKey[]): Promise<Map<string, StoredAnswer>>;
  /** Which inline artifacts (`module\0version\0kind`) among `keys` are stored. */
  inlineStored(keys: string[]): Promise<Set<string>>;
  /** Stores `writes` in one transaction. */
  apply(writes: BatchWrite[]): Promise<number>;
}

/** Runs of the body before a body that keeps reading new things is given up on. */
const MAX_RUNS = 16;

/**
 * One batch: the body, and what it read so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PostgresBatch } from "./postgres_batch.ts";
 * const writes: unknown[] = [];
 * const result = await new PostgresBatch((batch) => batch.answer("list", "m", "") === undefined).run({
 *   answers: () => Promise.resolve(new Map()),
 *   inlineStored: () => Promise.resolve(new Set()),
 *   apply: (w) => Promise.resolve(writes.push(...w)),
 * });
 * assert(result === true && writes.length === 0);
 * ```
 */
export class PostgresBatch<T> {
  #body: (batch: StoreBatch) => T;
  /** Answers fetched so far; null: not stored. */
  #answers = new Map<string, StoredAnswer | null>();
  /** Inline artifacts looked up so far: whether stored. */
  #inline = new Map<string, boolean>();

  constructor(body: (batch: StoreBatch) => T) {
    this.#body = body;
  }

  /** Runs the body until it reads nothing new, then stores what it wrote. */
  async run(database: BatchDatabase): Promise<T> {
    for (let run = 1;; run++) {
      const missedAnswers: AnswerKey[] = [];
      const missedInline: string[] = [];
      const writes: BatchWrite[] = [];
      const result = this.#body(this.#view(writes, missedAnswers, missedInline));
      if (missedAnswers.length === 0 && missedInline.length === 0) {
        if (writes.length > 0) await database.apply(writes);
        return result;
      }
      if (run >= MAX_RUNS) throw new Error(`a batch kept reading new rows for ${run} runs`);
      const answers = await database.answers(missedAnswers);
      for (const { kind, module, key } of missedAnswers) {
        const id = `${kind}\0${module}\0${key}`;
        this.#answers.set(id, answers.get(id) ?? null);
      }
      const stored = await database.inlineStored(missedInline);
      for (const id of missedInline) this.#inline.set(id, stored.has(id));
    }
  }

  /** The batch the body sees in one run, noting what it wrote and what it read unfetched. */
  #view(writes: BatchWrite[], missedAnswers: AnswerKey[], missedInline: string[]): StoreBatch {
    const putAnswers = new Map<string, StoredAnswer>();
    const putInline = new Set<string>();
    return {
      putInline: (module, version, kind, data, etag) => {
        const id = `${module}\0${version}\0${kind}`;
        if (putInline.has(id)) return false;
        putInline.add(id);
        const stored = this.#inline.get(id);
        if (stored === undefined) missedInline.push(id);
        if (stored !== false) return false;
        writes.push({ type: "inline", module, version, kind, data, etag });
        return true;
      },
      answer: (kind, module, key) => {
        const id = `${kind}\0${module}\0${key}`;
        const put = putAnswers.get(id);
        if (put) return put;
        const known = this.#answers.get(id);
        if (known === undefined) missedAnswers.push({ kind, module, key });
        return known ?? undefined;
      },
      putAnswer: (answer) => {
        putAnswers.set(`${answer.kind}\0${answer.module}\0${answer.key}`, answer);
        writes.push({ type: "answer", answer });
      },
    };
  }
}
