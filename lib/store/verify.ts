/**
 * The check of a whole store (`deno task verify`): SQLite's integrity check,
 * then every artifact read back and compared with its SHA-256, as the server
 * does on each read. With `repair`, damaged artifacts are removed (the server
 * fetches them again), and a file SQLite finds malformed is rebuilt from
 * what can still be read and checked.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { errorText } from "../util/errors.ts";
import { etagFromDigest, sha256 } from "./digest.ts";
import { SqliteStore } from "./sqlite.ts";
import type { AnswerKey, ArtifactMeta, StoredAnswer } from "./store.ts";

/**
 * What a check of the store found.
 *
 * @example
 * ```ts ignore
 * import { verifyDatabase } from "./verify.ts";
 * const summary = await verifyDatabase({ db: "astera.db", repair: false });
 * console.log(summary.integrity, summary.damaged);
 * ```
 */
export interface VerifySummary {
  /** SQLite's integrity check: `["ok"]`, or its problems. */
  integrity: string[];
  artifacts: number;
  bytes: number;
  /** Damaged artifacts, as `module@version.kind: why`. */
  damaged: string[];
  /** Damaged artifacts and answers removed, or found gone (with `repair`). */
  removed: number;
  /** Zips stored before chunks had digests, found intact and given them. */
  digestsRecorded: number;
  /** With `repair` on a malformed file: what the rebuilt database kept and lost. */
  rebuilt?: {
    artifacts: number;
    answers: number;
    /** Artifacts (or the answers table) that could not be read back intact. */
    lost: number;
    /** Whether the artifacts could not even be listed (then all are fetched again). */
    unlisted: boolean;
    damagedCopy: string;
  };
  interrupted: boolean;
}

/**
 * Options of {@linkcode verifyDatabase}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { VerifyOptions } from "./verify.ts";
 * const options: VerifyOptions = { db: "astera.db", repair: true, onDamage: (what) => console.log(what) };
 * assert(options.repair);
 * ```
 */
export interface VerifyOptions {
  /** The database file. */
  db: string;
  repair: boolean;
  onProgress?: (state: VerifyProgress) => void;
  /** Told of each damaged artifact as it is found. */
  onDamage?: (what: string, why: string) => void;
  signal?: AbortSignal;
}

/** The outcome of reading one artifact back. */
type Checked =
  | { ok: true; digests?: Uint8Array[] }
  | { ok: false; why: string };

/**
 * Checks (and with `repair`, mends) the database at `options.db`. Throws
 * when it cannot be opened, or when a rebuild is needed while another
 * process has it open.
 *
 * @example
 * ```ts ignore
 * import { verifyDatabase } from "./verify.ts";
 * const summary = await verifyDatabase({ db: "astera.db", repair: false });
 * console.log(summary.damaged.length);
 * ```
 */
export async function verifyDatabase(options: VerifyOptions): Promise<VerifySummary> {
  const store = SqliteStore.open(options.db);
  let summary: VerifySummary;
  try {
    summary = await checkStore(store, options);
  } finally {
    store.close();
  }
  const malformed = summary.integrity.length !== 1 || summary.integrity[0] !== "ok";
  if (options.repair && malformed && !summary.interrupted) {
    summary.rebuilt = await rebuild(options.db, options);
  }
  return summary;
}

/**
 * Checks an open SQLite store: its integrity check (SQLite's own tool), then
 * every artifact and answer read back through the store interface.
 */
async function checkStore(store: SqliteStore, options: VerifyOptions): Promise<VerifySummary> {
  const summary: VerifySummary = {
    integrity: store.integrityCheck(),
    artifacts: 0,
    bytes: 0,
    damaged: [],
    removed: 0,
    digestsRecorded: 0,
    interrupted: false,
  };
  let all: ArtifactMeta[];
  try {
    all = await store.listArtifacts();
  } catch (error) {
    summary.integrity.push(`artifacts cannot be listed: ${message(error)}`);
    return summary;
  }
  const totalBytes = all.reduce((sum, meta) => sum + meta.size, 0);
  for (const meta of all) {
    if (options.signal?.aborted) {
      summary.interrupted = true;
      break;
    }
    const what = `${meta.module}@${meta.version}.${meta.kind}`;
    const checked = await readBack(store, meta);
    summary.artifacts++;
    summary.bytes += meta.size;
    if (!checked.ok) {
      summary.damaged.push(`${what}: ${checked.why}`);
      options.onDamage?.(what, checked.why);
      // Gone either way, removed now or meanwhile (by a running server): only a failure stays.
      if (
        options.repair &&
        await store.removeArtifact(meta, checked.why).then(() => true, () => false)
      ) {
        summary.removed++;
      }
    } else if (checked.digests) {
      await store.recordChunkDigests(meta.blobId!, checked.digests);
      summary.digestsRecorded++;
    }
    options.onProgress?.({
      doneBytes: summary.bytes,
      totalBytes,
      doneItems: summary.artifacts,
      totalItems: all.length,
      label: what,
    });
  }
  if (!summary.interrupted) await checkAnswers(store, options, summary);
  return summary;
}

/** Reads every stored answer back (lists, not-founds, checksum-database files). */
async function checkAnswers(store: SqliteStore, options: VerifyOptions, summary: VerifySummary) {
  let keys: AnswerKey[];
  try {
    keys = await store.answerKeys();
  } catch (error) {
    summary.integrity.push(`answers cannot be listed: ${message(error)}`);
    return;
  }
  for (const { kind, module, key } of keys) {
    try {
      await store.answer(kind, module, key);
    } catch (error) {
      const what = `${kind} answer ${module}${key ? ` ${key}` : ""}`;
      summary.damaged.push(`${what}: ${message(error)}`);
      options.onDamage?.(what, message(error));
      if (options.repair) {
        await store.deleteAnswer(kind, module, key);
        summary.removed++;
      }
    }
  }
}

/**
 * Reads an artifact back and compares it with its SHA-256. For a zip whose
 * chunks have no digests yet, their digests are returned, to be recorded.
 */
async function readBack(store: SqliteStore, meta: ArtifactMeta): Promise<Checked> {
  try {
    if (meta.blobId === null) {
      const data = await store.inlineData(meta.module, meta.version, meta.kind);
      return data ? { ok: true } : { ok: false, why: "content missing" };
    }
    const hash = createHash("sha256");
    const digests: Uint8Array[] = [];
    // Whole chunks, each of the length its place asks (a short one is damage too).
    for await (const chunk of store.readRange(meta, 0, meta.size)) {
      hash.update(chunk);
      if (!meta.chunkDigests) digests.push(sha256(chunk));
    }
    const etag = etagFromDigest(hash.digest());
    if (etag !== meta.etag) return { ok: false, why: `hashes to ${etag}, not ${meta.etag}` };
    return { ok: true, digests: meta.chunkDigests ? undefined : digests };
  } catch (error) {
    return { ok: false, why: message(error) };
  }
}

/**
 * Rebuilds a malformed database: everything that can still be read and
 * checked is copied into a new file, which takes the old one's place; the
 * old one is kept beside it (`.damaged`) for the user to delete. Whatever is
 * lost is fetched again by the server.
 */
async function rebuild(
  db: string,
  options: VerifyOptions,
): Promise<NonNullable<VerifySummary["rebuilt"]>> {
  // SQLite removes the write-ahead log when the last connection closes: one left means a server.
  if (await exists(`${db}-wal`)) {
    throw new Error(
      `${db} is open in another process: stop Astera, then run verify --repair again`,
    );
  }
  const fresh = `${db}.rebuild`;
  for (const path of [fresh, `${fresh}-wal`, `${fresh}-shm`]) {
    await Deno.remove(path).catch(() => {});
  }
  const from = SqliteStore.open(db);
  const to = SqliteStore.open(fresh);
  const result = {
    artifacts: 0,
    answers: 0,
    lost: 0,
    unlisted: false,
    damagedCopy: `${db}.damaged`,
  };
  try {
    const answers: StoredAnswer[] = [];
    try {
      for (const { kind, module, key } of await from.answerKeys()) {
        try {
          const answer = await from.answer(kind, module, key);
          if (answer) answers.push(answer);
        } catch {
          result.lost++;
        }
      }
    } catch {
      result.lost++;
    }
    await to.batch((batch) => answers.forEach((answer) => batch.putAnswer(answer)));
    result.answers = answers.length;
    let all: ArtifactMeta[] = [];
    try {
      all = await from.listArtifacts();
    } catch (error) {
      result.unlisted = true;
      options.onDamage?.("the artifacts table", message(error));
    }
    for (const [done, meta] of all.entries()) {
      if (await copyArtifact(from, to, meta)) result.artifacts++;
      else result.lost++;
      options.onProgress?.({
        doneBytes: done + 1,
        totalBytes: all.length,
        doneItems: done + 1,
        totalItems: all.length,
        label: `rebuilding: ${meta.module}@${meta.version}.${meta.kind}`,
      });
    }
  } finally {
    from.close();
    to.close();
  }
  await Deno.rename(db, result.damagedCopy);
  await Deno.remove(`${db}-shm`).catch(() => {});
  await Deno.rename(fresh, db);
  return result;
}

/** Copies one artifact, checked as it is read; false when it is damaged or unreadable. */
async function copyArtifact(
  from: SqliteStore,
  to: SqliteStore,
  meta: ArtifactMeta,
): Promise<boolean> {
  if (meta.blobId === null) {
    try {
      const data = await from.inlineData(meta.module, meta.version, meta.kind);
      if (!data) return false;
      await to.putInline(meta.module, meta.version, meta.kind, data);
      return true;
    } catch {
      return false;
    }
  }
  const writer = await to.writeBlob().catch(() => undefined);
  if (!writer) return false;
  try {
    for await (const chunk of from.readRange(meta, 0, meta.size)) await writer.write(chunk);
    await writer.finish();
    if (writer.size !== meta.size || writer.etag !== meta.etag) {
      await writer.abort();
      return false;
    }
    await writer.commit(meta.module, meta.version, meta.kind);
    return true;
  } catch {
    await writer.abort().catch(() => {});
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const message = errorText;

/**
 * Progress of a verify run, in bytes and artifacts of the store; the shape
 * `scripts/progress.ts` draws.
 *
 * @example
 * ```ts
 * import type { VerifyProgress } from "./verify.ts";
 * const p: VerifyProgress = { doneBytes: 0, totalBytes: 10, doneItems: 0, totalItems: 1, label: "" };
 * console.log(p.totalItems);
 * ```
 */
export interface VerifyProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
  /** The artifact being read now. */
  label: string;
}
