/**
 * Copies one store into another through the {@linkcode Store} interface:
 * `deno task migrate` moves a Pi's SQLite cache into PostgreSQL with it.
 * Idempotent and resumable: an artifact the target holds is skipped (what
 * was served once never changes), an answer is copied unless the target's
 * is as new or newer, so a copy stopped half-way (or run twice, or run
 * while instances on the target serve) goes on where it stopped. Every
 * artifact is checked as it is read, and a zip is committed only whole and
 * matching its ETag.
 *
 * @module
 */
import type { ArtifactMeta, Store } from "./store.ts";

/**
 * What a copy did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CopySummary } from "./copy.ts";
 * const summary: CopySummary = { copied: 1, skipped: 0, failed: [], answers: 2, bytes: 10 };
 * assert(summary.failed.length === 0);
 * ```
 */
export interface CopySummary {
  /** Artifacts stored in the target now. */
  copied: number;
  /** Artifacts the target held already. */
  skipped: number;
  /** Artifacts that could not be read intact, or stored: `module@version.kind: why`. */
  failed: string[];
  /** Answers copied (newer than the target's, or missing there). */
  answers: number;
  /** Bytes of the artifacts copied. */
  bytes: number;
}

/**
 * How far a copy is, in bytes and artifacts of the source (the shape `scripts/progress.ts` draws).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CopyProgress } from "./copy.ts";
 * const p: CopyProgress = { doneBytes: 0, totalBytes: 1, doneItems: 0, totalItems: 1, label: "m@v1.0.0.zip" };
 * assert(p.totalItems === 1);
 * ```
 */
export interface CopyProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  label: string;
}

/**
 * Copies every artifact and answer of `from` into `to` (see the module's comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyStore } from "./copy.ts";
 * import { MemoryStore } from "./memory.ts";
 * const from = new MemoryStore();
 * await from.putInline("example.com/m", "v1.0.0", "mod", new TextEncoder().encode("module m\n"));
 * const to = new MemoryStore();
 * assert((await copyStore(from, to)).copied === 1);
 * assert((await copyStore(from, to)).skipped === 1);
 * ```
 */
export async function copyStore(
  from: Store,
  to: Store,
  options: { onProgress?: (progress: CopyProgress) => void; signal?: AbortSignal } = {},
): Promise<CopySummary> {
  const summary: CopySummary = { copied: 0, skipped: 0, failed: [], answers: 0, bytes: 0 };
  for (const { kind, module, key } of await from.answerKeys()) {
    options.signal?.throwIfAborted();
    const answer = await from.answer(kind, module, key).catch(() => undefined);
    if (!answer) continue;
    const theirs = await to.answer(kind, module, key).catch(() => undefined);
    if (theirs && theirs.fetchedAt >= answer.fetchedAt) continue;
    await to.putAnswer(answer);
    summary.answers++;
  }
  const all = await from.listArtifacts();
  const totalBytes = all.reduce((sum, meta) => sum + meta.size, 0);
  let doneBytes = 0;
  for (const [done, meta] of all.entries()) {
    options.signal?.throwIfAborted();
    const name = `${meta.module}@${meta.version}.${meta.kind}`;
    if (await to.artifact(meta.module, meta.version, meta.kind)) summary.skipped++;
    else {
      const why = await copyArtifact(from, to, meta);
      if (why === undefined) {
        summary.copied++;
        summary.bytes += meta.size;
      } else summary.failed.push(`${name}: ${why}`);
    }
    doneBytes += meta.size;
    options.onProgress?.({
      doneBytes,
      totalBytes,
      doneItems: done + 1,
      totalItems: all.length,
      label: name,
    });
  }
  return summary;
}

/** Copies one artifact, checked as it is read; why it could not, or undefined. */
async function copyArtifact(
  from: Store,
  to: Store,
  meta: ArtifactMeta,
): Promise<string | undefined> {
  if (meta.blobId === null) {
    try {
      const data = await from.inlineData(meta.module, meta.version, meta.kind);
      if (!data) return "its content is missing";
      await to.putInline(meta.module, meta.version, meta.kind, data, meta.etag);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
  const writer = await to.writeBlob();
  try {
    for await (const chunk of from.readRange(meta, 0, meta.size)) await writer.write(chunk);
    await writer.finish();
    if (writer.size !== meta.size || writer.etag !== meta.etag) {
      await writer.abort();
      return `it reads back as ${writer.etag} (${writer.size} bytes), not ${meta.etag}`;
    }
    await writer.commit(meta.module, meta.version, meta.kind);
    return undefined;
  } catch (error) {
    await writer.abort().catch(() => {});
    return error instanceof Error ? error.message : String(error);
  }
}
