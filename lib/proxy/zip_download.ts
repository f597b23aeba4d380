/**
 * A zip from its source into the store: the first bytes are checked to be a
 * zip before any client hears "200", the body is stored chunk by chunk (so
 * memory stays bounded by the chunk size, whatever the zip size) while
 * clients read the chunks already stored through a {@linkcode LiveDownload},
 * and the whole is checked against the module zip rules before it is
 * committed and its last chunk is released.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Logger } from "../log.ts";
import { checkZipStart } from "../goproxy/answer_check.ts";
import { checkModuleZip, checkZipContent, MAX_ZIP_FILE, ZipError } from "../mod/zip.ts";
import { describeRequest, type SourceAnswer, SourceError } from "../sources/source.ts";
import { etagFromDigest, type Store } from "../store/sqlite.ts";
import { concatBytes } from "../util/bytes.ts";
import { errorText } from "../util/errors.ts";
import { blobAccess, ChunkBuffer } from "./chunks.ts";
import type { Fetcher } from "./fetcher.ts";
import type { LiveDownload } from "./live_download.ts";
import type { ProxyMemory } from "./memory.ts";
import { reclaimer } from "./reclaim.ts";

/** The source request of a zip. */
type ZipRequest = { kind: "zip"; module: string; version: string };

/**
 * What a zip download works with.
 *
 * @example
 * ```ts ignore
 * import type { ZipDownloadParts } from "./zip_download.ts";
 * const parts: ZipDownloadParts = { store, memory, fetcher, log };
 * ```
 */
export interface ZipDownloadParts {
  store: Store;
  memory: ProxyMemory;
  fetcher: Fetcher;
  log: Logger;
}

/**
 * Downloads `module@version.zip` from its source into the store, telling
 * `download` (and so every client following it) each step. A zip that breaks
 * the zip rules is remembered as a 410; any other failure fails the download
 * and is asked for again next time.
 *
 * @example
 * ```ts ignore
 * import { downloadZip } from "./zip_download.ts";
 * import { LiveDownload } from "./live_download.ts";
 * const download = new LiveDownload((blobId, seq) => memory.readChunk(blobId, seq));
 * await downloadZip({ store, memory, fetcher, log }, download, "golang.org/x/text", "v0.3.0");
 * ```
 */
export async function downloadZip(
  parts: ZipDownloadParts,
  download: LiveDownload,
  module: string,
  version: string,
): Promise<void> {
  const { store, memory, log } = parts;
  const request: ZipRequest = { kind: "zip", module, version };
  let blobId: number | undefined;
  try {
    const answer = await parts.fetcher.ask(request);
    if (!answer.found) {
      download.start({
        type: "not-found",
        reply: await memory.rememberNotFound("zip", module, version, answer),
      });
      return;
    }
    const pieces = await zipPieces(answer, request);
    const id = blobId = await store.createBlob();
    // Clients hear "200" once a first chunk is stored (they read none before the second), so
    // a database that cannot take the zip (disk full, locked) is a clear 502/503 instead of
    // a broken transfer; a zip under one chunk is checked before anyone hears of it.
    let begun = false;
    const begin = () => {
      if (!begun) download.begin(id, store.chunkSize, answer.size);
      begun = true;
    };
    const written = await storeChunks(store, id, pieces, answer.size, request, (chunks) => {
      begin();
      download.wrote(chunks);
    });
    await checkStored(store, id, written.total, request);
    const etag = etagFromDigest(written.digest);
    const meta = await store.commitBlob(module, version, "zip", id, written.total, etag);
    begin();
    if (meta.blobId !== id) {
      // Another process (the seed task) stored it meanwhile. The same bytes in the same
      // chunking: readers move on to its blob. Otherwise they break.
      if (meta.size !== written.total || meta.etag !== etag || meta.chunkSize !== store.chunkSize) {
        throw new SourceError(
          `${module}@${version}.zip was stored by another process meanwhile; retry`,
        );
      }
      download.blobId = meta.blobId!;
      // A replica may read ours until it hears of the move: the sweep takes it later.
      store.abandonBlob(id);
    }
    blobId = undefined;
    memory.keepArtifact("zip", module, version, { meta, data: null });
    if (memory.storedAnswer("zip", module, version)) {
      await memory.forgetAnswer("zip", module, version);
    }
    download.finish(meta, written.chunks);
    log.info("stored", { module, version, kind: "zip", bytes: written.total });
  } catch (error) {
    if (blobId !== undefined) await store.discardBlob(blobId).catch(() => {});
    if (error instanceof ZipError) {
      log.warn("zip-refused", { module, version, error: error.message });
      const reply = await memory.rememberNotFound("zip", module, version, {
        status: 410,
        message: `not found: ${error.message}`,
      });
      download.refuse(reply);
      download.fail(error);
      return;
    }
    log.warn("download-failed", { module, version, error: errorText(error) });
    download.start({ type: "error", error });
    download.fail(error);
  }
}

/**
 * The body of a found zip as pieces, once its size is within the limit and
 * its first bytes tell a zip from a login page (before any client is told "200").
 */
async function zipPieces(
  answer: Extract<SourceAnswer, { found: true }>,
  request: ZipRequest,
): Promise<AsyncGenerator<Uint8Array>> {
  if (answer.size !== null && answer.size > MAX_ZIP_FILE) {
    await answer.body.cancel();
    throw new ZipError(
      `${request.module}@${request.version}: zip of ${answer.size} bytes exceeds the 500 MiB limit`,
    );
  }
  const reader = answer.body.getReader();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const read = await reader.read();
    if (read.done) break;
    head.push(read.value);
    headBytes += read.value.byteLength;
  }
  try {
    checkZipStart(concatBytes(head), describeRequest(request));
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  return readOn(head, reader);
}

/**
 * Stores `pieces` in chunks of the store's size, hashing them on the way;
 * `onChunk` hears the number of full chunks stored after each. The last,
 * shorter chunk is stored without a word: it is released by the commit.
 */
async function storeChunks(
  store: Store,
  blobId: number,
  pieces: AsyncIterable<Uint8Array>,
  size: number | null,
  request: ZipRequest,
  onChunk: (chunks: number) => void,
): Promise<{ total: number; chunks: number; digest: Uint8Array }> {
  const limit = size ?? MAX_ZIP_FILE;
  const hash = createHash("sha256");
  const buffer = new ChunkBuffer(store.chunkSize);
  let total = 0;
  let seq = 0;
  for await (const piece of pieces) {
    total += piece.byteLength;
    // The piece, and the chunk buffer it is copied into, are garbage once stored.
    reclaimer.released(2 * piece.byteLength);
    if (total > limit) {
      throw size === null
        ? new ZipError(`${request.module}@${request.version}: zip exceeds the 500 MiB limit`)
        : new SourceError(
          `${describeRequest(request)}: more bytes than the Content-Length ${size}`,
        );
    }
    hash.update(piece);
    for (const chunk of buffer.add(piece)) {
      await store.putChunk(blobId, seq++, chunk);
      onChunk(seq);
    }
  }
  const rest = buffer.rest();
  if (rest) await store.putChunk(blobId, seq++, rest);
  if (size !== null && total !== size) {
    throw new SourceError(
      `${describeRequest(request)}: truncated: ${total} of ${size} bytes arrived`,
    );
  }
  return { total, chunks: seq, digest: hash.digest() };
}

/** Checks a stored zip against the module zip rules; damage on the way is a source failure. */
async function checkStored(
  store: Store,
  blobId: number,
  total: number,
  request: ZipRequest,
): Promise<void> {
  const stored = blobAccess(store, blobId, total, store.chunkSize);
  const files = await checkModuleZip(stored, request.module, request.version);
  try {
    await checkZipContent(stored, files, { released: (bytes) => reclaimer.released(bytes) });
  } catch (error) {
    // Damaged on the way, most likely: not remembered as gone, asked for again next time.
    if (error instanceof ZipError) {
      throw new SourceError(`${describeRequest(request)}: damaged: ${error.message}`);
    }
    throw error;
  }
}

/** The pieces already read, then the rest of the stream; stopping early cancels it. */
async function* readOn(
  first: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let done = false;
  try {
    yield* first;
    for (;;) {
      const read = await reader.read();
      if (read.done) {
        done = true;
        return;
      }
      yield read.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
  }
}
